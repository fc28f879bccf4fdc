"""The installer's exception tree."""

from anjungan.errors import AnjunganError


class InstallError(AnjunganError):
    """The host cannot be brought to the wanted state (bad source, no release to roll back to)."""
