"""The root of every exception tree in the project.

Each component derives its own small tree from `AnjunganError`; the CLI turns any of them
into one line on stderr and a non-zero exit. Messages never carry biometrics, keys or a
full NIK (use `anjungan.nik.mask`).
"""


class AnjunganError(Exception):
    """A failure with a message fit to show a user as-is."""

    exit_code = 1


class UsageError(AnjunganError):
    """Bad command-line input."""

    exit_code = 2
