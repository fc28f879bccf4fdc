"""The drivers component's exception tree. Messages never carry biometric bytes."""

from anjungan.errors import AnjunganError


class PeripheralError(AnjunganError):
    """Any failure talking to a peripheral. `device` names the device when known."""

    def __init__(self, message: str, *, device: str = "") -> None:
        super().__init__(f"{device}: {message}" if device else message)
        self.device = device


class DeviceUnavailable(PeripheralError):
    """The port cannot be opened (unplugged, busy, wrong path) or went away."""


class DeviceTimeout(PeripheralError):
    """The device did not answer in time."""


class LinkProtocolError(PeripheralError):
    """The device answered with bytes that break its protocol (bad checksum, wrong type)."""


class TransferFailed(PeripheralError):
    """A bulk transfer could not complete; no (possibly corrupted) object was accepted."""


class CaptureError(PeripheralError):
    """The device reported that it could not capture (no finger, eyes closed, ...)."""


class PeripheralConfigError(PeripheralError):
    """A peripheral configuration that cannot be used."""
