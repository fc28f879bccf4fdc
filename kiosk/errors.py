"""The kiosk component's exception tree (all derive from `anjungan.errors.AnjunganError`)."""

from anjungan.errors import AnjunganError, UsageError


class KioskError(AnjunganError):
    """Any failure of the kiosk app fit to show as one line."""


class FlowError(KioskError):
    """An event the flow's transition table has no entry for in the current screen."""


class OutboxError(KioskError):
    """The durable outbox cannot be opened or written."""


class PublishError(KioskError):
    """The MQTT connection cannot be set up (bad TLS files, bad address)."""


class ScriptError(UsageError, KioskError):
    """A headless script that does not parse or asks for something the screen lacks."""


class OfficerFileError(KioskError):
    """The officer PIN file is missing or malformed."""
