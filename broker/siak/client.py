"""The gateway's SIAK client (httpx). Every library error is mapped here, at the boundary,
to the most specific `broker.errors.SiakError`: the relay decides retry or dead letter
from the type alone."""

from __future__ import annotations

import json

import httpx

from anjungan.nik import redact
from broker.errors import (
    SiakError,
    SiakProtocolError,
    SiakRejected,
    SiakThrottled,
    SiakUnavailable,
)
from broker.siak.contract import (
    IDEMPOTENCY_HEADER,
    STATUS_PATH,
    SUBMIT_PATH,
    ContractError,
    EnrollmentView,
    parse_view,
)

TRANSIENT_4XX = {408, 409, 425, 429}


class SiakClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        max_connections: int = 16,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0)),
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            transport=transport,
        )  # fmt: skip

    def submit(self, key: str, document: bytes) -> EnrollmentView:
        """POST one enrollment with its idempotency key (the packet id)."""
        response = self._call("POST", SUBMIT_PATH, content=document,
                              headers={IDEMPOTENCY_HEADER: key,
                                       "Content-Type": "application/json"})  # fmt: skip
        return _view(response)

    def status(self, key: str) -> EnrollmentView | None:
        response = self._call("GET", STATUS_PATH.format(key=key), allow_404=True)
        return None if response.status_code == 404 else _view(response)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, *, allow_404: bool = False, **kw: object) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kw)  # type: ignore[arg-type]
        except httpx.TimeoutException as exc:
            raise SiakUnavailable(f"SIAK timed out ({exc.__class__.__name__})") from exc
        except httpx.TransportError as exc:
            raise SiakUnavailable(f"SIAK unreachable ({exc.__class__.__name__})") from exc
        except httpx.HTTPError as exc:
            raise SiakProtocolError(f"SIAK exchange failed ({exc.__class__.__name__})") from exc
        status = response.status_code
        if status < 300 or (allow_404 and status == 404):
            return response
        reason = _reason(response)
        if status == 429:
            raise SiakThrottled(f"SIAK throttled: {reason}", _retry_after(response))
        if status >= 500 or status in TRANSIENT_4XX:
            raise SiakUnavailable(f"SIAK {status}: {reason}")
        if 400 <= status < 500:
            raise SiakRejected(f"SIAK {status}: {reason}", status)
        raise SiakProtocolError(f"unexpected SIAK status {status}")


def _view(response: httpx.Response) -> EnrollmentView:
    try:
        return parse_view(response.json())
    except (ValueError, ContractError) as exc:
        raise SiakProtocolError(f"SIAK answered outside the contract: {exc}") from exc


def _reason(response: httpx.Response) -> str:
    try:
        data = response.json()
        text = data.get("error", "") if isinstance(data, dict) else ""
    except (ValueError, json.JSONDecodeError):
        text = ""
    # SIAK's own words go to logs and dead-letter reasons: never a NIK from them
    return redact(str(text)[:200]) or response.reason_phrase


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, min(60.0, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


__all__ = ["SiakClient", "SiakError"]
