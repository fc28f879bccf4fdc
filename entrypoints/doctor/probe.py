"""Is the broker reachable over TLS with this host's identity? One bounded attempt: TCP,
the TLS handshake with the identity's certificate (the broker checks it against the fleet's
CA and CRL), then an MQTT 3.1.1 CONNECT and its CONNACK, then DISCONNECT.

The broker takes client ids from certificates, so a CONNECT while the service runs would
take over its session: `mqtt=False` stops after TLS (waiting briefly for a late refusal,
which TLS 1.3 sends after the handshake)."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

from kiosk.transport import failure_reason
from provisioning.centres import TlsFiles

CONNACK_CODES = {
    1: "unacceptable protocol version", 2: "client id rejected", 3: "server unavailable",
    4: "bad user name or password", 5: "not authorised",
}
SETTLE = 1.0  # seconds to wait for a refusal after the handshake, when not connecting


@dataclass(frozen=True, kw_only=True)
class ProbeResult:
    ok: bool
    detail: str


def connect_packet(client_id: str, keepalive: int = 10) -> bytes:
    """MQTT 3.1.1 CONNECT, clean session, no will, no user name (the certificate is the name)."""
    cid = client_id.encode()
    variable = b"\x00\x04MQTT\x04\x02" + keepalive.to_bytes(2, "big")
    body = variable + len(cid).to_bytes(2, "big") + cid
    return b"\x10" + _remaining_length(len(body)) + body


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_connack(data: bytes) -> int:
    """The CONNACK's return code; ValueError for anything else."""
    if len(data) != 4 or data[0] != 0x20 or data[1] != 0x02:
        raise ValueError(f"not a CONNACK: {data[:4].hex()}")
    return data[3]


def _recv_exact(sock: ssl.SSLSocket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def probe(host: str, port: int, tls: TlsFiles, *, client_id: str, timeout: float = 5.0,
          mqtt: bool = True) -> ProbeResult:
    where = f"{host}:{port}"
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(tls.ca_file)
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return ProbeResult(ok=False, detail=f"TLS files unusable: {failure_reason(exc)}")
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                ctx.wrap_socket(raw, server_hostname=host) as sock:
            if not mqtt:
                sock.settimeout(min(SETTLE, timeout))
                try:
                    if not sock.recv(1):
                        return ProbeResult(ok=False, detail=f"{where} closed the connection after TLS")
                except TimeoutError:  # nothing to say before our CONNECT: accepted
                    pass
                return ProbeResult(ok=True, detail=f"{where} accepts this identity over TLS "
                                                   "(MQTT not tried: the service holds the session)")
            sock.sendall(connect_packet(client_id))
            code = read_connack(_recv_exact(sock, 4))
            if code:
                return ProbeResult(ok=False, detail=f"{where} refused the MQTT connect: "
                                                    f"{CONNACK_CODES.get(code, f'code {code}')}")
            sock.sendall(b"\xe0\x00")  # DISCONNECT: no Last Will
            return ProbeResult(ok=True, detail=f"{where} accepts this identity over TLS and MQTT")
    except TimeoutError:
        return ProbeResult(ok=False, detail=f"{where} did not answer within {timeout:g} s")
    except ValueError as exc:
        return ProbeResult(ok=False, detail=f"{where} is not an MQTT broker ({exc})")
    except OSError as exc:  # refused, unreachable, TLS alerts (ssl.SSLError is an OSError)
        return ProbeResult(ok=False, detail=f"cannot connect to {where}: {failure_reason(exc)}")
