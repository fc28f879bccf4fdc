"""The central service's exception tree (one line each, fit to show an operator)."""

from __future__ import annotations

from anjungan.errors import AnjunganError


class BrokerError(AnjunganError):
    """Any failure of the central service."""


class QueueError(BrokerError):
    """The durable queue could not be opened or used (bad URL, unreachable database)."""


class ConfigError(BrokerError):
    """A bad option or fleet directory."""

    exit_code = 2


class SiakError(BrokerError):
    """SIAK did not accept a submission; subclasses say whether to retry."""

    transient = True


class SiakUnavailable(SiakError):
    """Connection refused, timeout, 5xx: SIAK is down or congested. Retry later."""


class SiakAbandoned(SiakUnavailable):
    """The call was abandoned at shutdown (`SiakClient.abandon`): SIAK may or may not have the
    submission; the packet keeps its lease and is sent again, under the same key, when it
    lapses."""


class SiakTlsError(SiakUnavailable):
    """TLS with SIAK failed: its certificate is not from the pinned CA, or it refused ours.
    Retried (packets wait in the queue) while an operator fixes the certificates."""


class SiakThrottled(SiakError):
    """429: over SIAK's rate or concurrency limit. Retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SiakProtocolError(SiakError):
    """A response outside the contract (bad JSON, unknown state). Retried: it is SIAK's fault."""


class SiakTooLarge(SiakProtocolError):
    """An answer over the client's byte cap (a SIAK answer is a small JSON object): the rest
    is never read. Retried like any answer outside the contract."""


class SiakRejected(SiakError):
    """4xx other than 408/409/429: SIAK refuses this submission for good -> dead letter."""

    transient = False

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
