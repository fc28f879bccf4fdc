"""Host side of a device that speaks the shared wire codec (controller, cameras, pad).

A thin shell: `firmware.wire.Link` and `firmware.bulk.BulkReceiver` decide everything; this
class moves bytes between them and a `SerialTransport`, keeps time, and turns outcomes into
our exceptions. Unplug mid-transfer: reconnect with backoff, RESET the link, resume the
object by offset. A device that comes back without the object answers ABORT -> TransferFailed.

A bulk transfer adapts on the holder's side (firmware/bulk.py: smaller frames on a noisy
line, larger again when it is clean); this side reports progress (`progress`, and an
optional callback) and gives up only at the transfer's deadline, with a TransferFailed that
names the device, how far it got and the share of frames it saw arrive damaged. A transfer
that makes no progress for `stall_s` is re-synchronised (link RESET, FETCH from the offset):
frames queued at full size before the line got noisy are dropped, and the holder goes on in
the smaller chunks it has adapted to.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from drivers.errors import DeviceTimeout, DeviceUnavailable, LinkProtocolError, TransferFailed
from drivers.transport import SerialTransport
from firmware import bulk, wire
from firmware.app import MIN_RTO_MS


class _Stalled(Exception):
    """No bulk progress for a while: frames queued before the line got noisy may be too long
    ever to pass (a frame keeps its size when resent); a link RESET drops them."""


def stall_s(baud: int, window: int) -> float:
    """How long a transfer may go without a new chunk before the link is re-synchronised:
    eight full windows of the largest frames on the line, at least a second."""
    window_s = window * wire.max_encoded_len(wire.DEFAULT_MAX_PAYLOAD) * 10 / baud
    return max(1.0, 8 * window_s)


def rto_for(baud: int, window: int, max_payload: int) -> int:
    """Retransmit timeout: time for a full window on the line, twice, plus slack."""
    frame_s = wire.max_encoded_len(max_payload) * 10 / baud
    return int(1000 * (2 * window * frame_s) + 150)


class LinkClient:
    def __init__(self, transport: SerialTransport, *, window: int = 4, timeout_s: float = 5.0,
                 reconnect_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.transport = transport
        self.device = transport.device
        self.timeout_s = timeout_s
        self.reconnect_s = reconnect_s
        self._clock = clock
        self.window = window
        self.link = self._new_link()
        self.events: list[tuple[int, int]] = []  # EVT frames (event, value) for the owner
        self._inbox: list[tuple[Any, ...]] = []  # link events not consumed yet, in order
        self.state = "closed"
        self.stats = {"objects": 0, "corrupted_objects_rejected": 0, "resumes": 0,
                      "reconnects": 0, "bytes": 0, "retransmits": 0, "rx_errors": 0,
                      "frames_in": 0, "chunk_bytes": 0, "resyncs": 0}
        self.progress = (0, 0)  # (bytes received, object size) of the transfer under way

    def _new_link(self) -> wire.Link:
        # the timeout starts at rto_for and follows the measured round trip down to the
        # firmware's floor: a lost request costs a round trip or two, not a second
        baud = self.transport.baud
        return wire.Link(window=self.window, rto_ms=rto_for(baud, self.window,
                                                           wire.DEFAULT_MAX_PAYLOAD),
                         min_rto_ms=MIN_RTO_MS, baud=baud)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # --- connection ----------------------------------------------------------------------

    def connect(self) -> None:
        if not self.transport.is_open:
            self.transport.open()
        self._handshake(self._clock() + self.timeout_s)
        self.state = "ok"

    def _handshake(self, deadline: float) -> None:
        self._fold_stats()
        self.link = self._new_link()
        self.link.tick(self._now_ms())
        self.link.reset(os.urandom(4))
        while not self.link.up:
            self._io(deadline, "no answer to link RESET")

    def _reconnect(self) -> None:
        self.state = "unplugged"
        deadline = self._clock() + self.reconnect_s
        self.transport.reopen(deadline=deadline)
        self.stats["reconnects"] += 1
        self._handshake(deadline)
        self.state = "ok"

    def close(self) -> None:
        self.transport.close()
        self.state = "closed"

    def _fold_stats(self) -> None:
        self.stats["retransmits"] += self.link.stats["retransmits"]
        self.stats["rx_errors"] += sum(self.link.decode_errors.values())
        self.stats["frames_in"] += self.link.stats["frames_in"]

    def _frames_seen(self) -> tuple[int, int]:
        """(frames decoded, frames damaged) on this device's line so far."""
        good = self.stats["frames_in"] + self.link.stats["frames_in"]
        return good, self.stats["rx_errors"] + sum(self.link.decode_errors.values())

    # --- pumping -------------------------------------------------------------------------

    def _io(self, deadline: float, what: str) -> None:
        """One round: write pending, read, tick; link events go to the inbox."""
        if self._clock() > deadline:
            raise DeviceTimeout(what, device=self.device)
        out = self.link.data_to_send()
        if out:
            self.transport.write(out)
        data = self.transport.read()
        if data:
            self.link.receive_data(data)
        self.link.tick(self._now_ms())
        out = self.link.data_to_send()
        if out:
            self.transport.write(out)
        ev = self.link.next_event()
        while ev is not None:
            if ev[0] == wire.EV_DOWN:
                raise DeviceUnavailable("link down: no acknowledgement", device=self.device)
            if ev[0] == wire.EV_PEER_RESET:
                self._inbox.clear()
                raise DeviceUnavailable("device restarted the link", device=self.device)
            if ev[0] == wire.EV_FRAME and ev[1] == wire.T_EVT and len(ev[3]) >= 2:
                self.events.append((ev[3][0], ev[3][1]))
            elif ev[0] == wire.EV_FRAME:
                self._inbox.append(ev)
            ev = self.link.next_event()

    def _send(self, ftype: int, payload: bytes, deadline: float) -> None:
        while not self.link.send(ftype, payload):
            self._io(deadline, "send window stayed full")

    def request(self, cmd: int, args: bytes = b"", *, timeout_s: float | None = None,
                retry_on_unplug: bool = True) -> tuple[int, bytes]:
        """Send REQ, wait for its RSP -> (status, data). Reconnects once after an unplug."""
        deadline = self._clock() + (timeout_s or self.timeout_s)
        try:
            return self._request(cmd, args, deadline)
        except DeviceUnavailable:
            if not retry_on_unplug:
                raise
            self._reconnect()
            return self._request(cmd, args, self._clock() + (timeout_s or self.timeout_s))

    def _request(self, cmd: int, args: bytes, deadline: float) -> tuple[int, bytes]:
        self._inbox.clear()  # nothing from before this request is still wanted
        self._send(wire.T_REQ, bytes((cmd,)) + args, deadline)
        while True:
            self._io(deadline, f"no answer to command 0x{cmd:02x}")
            for i, ev in enumerate(self._inbox):
                if ev[1] == wire.T_RSP:
                    del self._inbox[i]
                    payload = ev[3]
                    if len(payload) < 2:
                        raise LinkProtocolError("short response", device=self.device)
                    if payload[0] == cmd:
                        return payload[1], bytes(payload[2:])
                    break

    # --- bulk ------------------------------------------------------------------------------

    def receive_object(self, *, timeout_s: float,
                       progress: Callable[[int, int], None] | None = None) -> tuple[bytes, bytes]:
        """Wait for an OFFER, fetch the object (resuming after unplugs and link resets)
        -> (data, meta). Fails at `timeout_s` from now, not before (see the module doc)."""
        recv = bulk.BulkReceiver()
        started = self._clock()
        deadline = started + timeout_s
        seen = self._frames_seen()
        self.progress = (0, 0)
        while True:
            try:
                offered = recv.obj >= 0  # set by the OFFER; after a reconnect, resume
                if offered:
                    self._send(wire.T_BULK_FETCH, recv.fetch_payload(), deadline)
                result = self._pump_object(recv, deadline, offered, progress)
                if result == bulk.COMPLETE:
                    self.stats["objects"] += 1
                    self.stats["bytes"] += recv.size
                    return recv.take(), recv.meta
                self.stats["corrupted_objects_rejected"] += 1
                raise TransferFailed("object failed its CRC-32 and was discarded",
                                     device=self.device)
            except _Stalled:
                self.stats["resyncs"] += 1
                try:  # the holder keeps its (now smaller) chunk; FETCH resumes by offset
                    self._handshake(deadline)
                except DeviceTimeout as exc:
                    raise self._incomplete(recv, started, seen) from exc
            except DeviceTimeout as exc:
                raise self._incomplete(recv, started, seen) from exc
            except DeviceUnavailable:
                if recv.obj < 0:
                    raise
                if self._clock() > deadline:
                    raise self._incomplete(recv, started, seen) from None
                self.stats["resumes"] += 1
                self._reconnect()  # a device that stays away raises DeviceUnavailable

    def _incomplete(self, recv: bulk.BulkReceiver, started: float,
                    seen: tuple[int, int]) -> TransferFailed:
        good, bad = (now - before for now, before in zip(self._frames_seen(), seen, strict=True))
        rate = bad / (good + bad) if good + bad else 0.0
        got = f"{recv.offset} of {recv.size} B" if recv.obj >= 0 else "no offer"
        return TransferFailed(
            f"bulk transfer incomplete at its deadline: {got} after "
            f"{self._clock() - started:.1f} s; {bad} of {good + bad} frames arrived damaged "
            f"(error rate {rate:.1%})", device=self.device,
        )

    def _pump_object(self, recv: bulk.BulkReceiver, deadline: float, offered: bool,
                     progress: Callable[[int, int], None] | None) -> int:
        patience = stall_s(self.transport.baud, self.window)
        moved = self._clock()
        while True:
            inbox, self._inbox = self._inbox, []
            if not inbox:
                self._io(deadline, "bulk transfer stalled")
                if offered and self._clock() - moved > patience:
                    raise _Stalled()
            for ev in inbox:
                ftype, payload = ev[1], ev[3]
                try:
                    if ftype == wire.T_BULK_OFFER and not offered:
                        self._send(wire.T_BULK_FETCH, recv.on_offer(payload), deadline)
                        offered = True
                    elif ftype == wire.T_BULK_DATA and offered:
                        result = recv.on_data(payload)
                        moved = self._clock()
                        self.stats["chunk_bytes"] = len(payload) - bulk.DATA_HEADER
                        self.progress = (recv.offset, recv.size)
                        if progress is not None:
                            progress(recv.offset, recv.size)
                        if result != bulk.IN_PROGRESS:
                            return result
                    elif ftype == wire.T_BULK_ABORT:
                        obj, reason = bulk.unpack_abort(payload)
                        raise TransferFailed(f"device aborted object {obj} (reason {reason})",
                                             device=self.device)
                except bulk.BulkError as exc:
                    raise LinkProtocolError(str(exc), device=self.device) from exc

    def health(self) -> dict[str, Any]:
        decode = self.link.decode_errors
        return {
            "state": self.state,
            "retransmits": self.stats["retransmits"] + self.link.stats["retransmits"],
            "rx_errors": self.stats["rx_errors"] + sum(decode.values()),
            "frames_in": self.stats["frames_in"] + self.link.stats["frames_in"],
            **{
                k: v
                for k, v in self.stats.items()
                if k not in ("retransmits", "rx_errors", "frames_in")
            },
        }
