"""Reassembling an R30x image upload from several passes (pure: bytes in, image out).

An R30x cannot resend one data packet: asked again (UpImage), it sends the whole image held
in its ImageBuffer, which stays until the next GenImg. So on a noisy line the driver keeps
every packet that passed its checksum, from every pass, in its slot, and asks again only
until every slot is filled.

A slot is found from where a packet sits in the stream, not from counting packets (a packet
whose header was damaged is not seen at all): after the acknowledge (12 bytes) the module
sends `slots` packets of `stride` = 11 + packet size bytes each, so a good packet's slot is
the previous good packet's slot plus the distance between them in strides, rounded (a
dropped or doubled byte moves a packet by one byte, not by half a stride). The last packet
(pid 08) must land in the last slot, else the pass is not trusted at all.

The R30x checksum is a 16-bit sum: it catches every single flipped bit but misses about one
double flip in sixteen inside a packet (the same bit of two bytes, flipped opposite ways).
A packet of s data bytes has s + 5 bytes under the sum, so at a per-byte damage rate p it
passes damaged with about C(s + 5, 2) p² / 16, and an image of n packets accepted one copy
each holds an undetected damaged packet with n C(s + 5, 2) p² / 16 (`undetected_per_image`).
While that exceeds UNDETECTED_BUDGET (1e-3 per image) a slot needs two identical good copies
(`votes_needed`); two copies damaged the same way are about p⁴-rare, so an image accepted
then is wrong with far less than 1e-9. Examples for the 36 864-byte image:
128-byte packets: 1e-4 -> 1.6e-3 (two copies), 1e-5 -> 1.6e-5 (one copy);
64-byte packets: 1e-4 -> 8.4e-4 (one copy); any size at 1e-3: 5e-2 or more (two copies).

Each pass costs the whole image, so the upload's time is the number of passes it takes until
every slot has its copies: `expected_passes` (independent damage per packet), and
`best_packet_size` picks the module's packet size (SetSysPara) that needs the fewest line
bytes at the measured rate: 256 on a clean line, 64 at 1e-4 (2.0 passes instead of 3.2 at
128, which needs two copies there), 64 at 1e-3 (4.6 passes; every size needs four to six).
So against one clean pass, no rule that refuses undetected damage reaches half the clean
throughput at 1e-4 (best 0.46) or at 1e-3 (best 0.20): the module cannot resend one packet.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from drivers import r30x_codec as r30x

ACK_LEN = 12  # EF01 | address 4 | pid | length 2 | confirmation | sum 2
UNDETECTED_PER_DOUBLE_FLIP = 1 / 16  # same bit, opposite directions, in two bytes
UNDETECTED_BUDGET = 1e-3  # expected missed-damage packets per image we accept with one copy


@dataclass(frozen=True, kw_only=True)
class UploadPass:
    """What one UpImage stream held: the acknowledge's confirmation code (None when the
    acknowledge was lost), the good packets by slot, and whether the slots are trusted."""

    confirmation: int | None
    packets: dict[int, bytes] = field(repr=False)
    aligned: bool
    ended: bool  # the last packet (pid 08) arrived intact


def undetected_per_image(slots: int, packet_size: int, p: float) -> float:
    """Packets of an image accepted on one copy expected to be damaged yet pass the sum."""
    covered = packet_size + 5  # pid, length, payload, checksum
    return slots * math.comb(covered, 2) * p * p * UNDETECTED_PER_DOUBLE_FLIP


def votes_for(undetected: float) -> int:
    """Identical good copies a slot needs: two while one copy risks more than the budget."""
    return 2 if undetected > UNDETECTED_BUDGET else 1


def expected_passes(image_bytes: int, packet_size: int, p: float, *, limit: int = 10) -> float:
    """Mean UpImage passes until every slot has its copies, damage independent per packet
    at `p` per byte (each of the first `limit` passes counted while it is needed)."""
    slots = image_bytes // packet_size
    q = 1 - (1 - p) ** (11 + packet_size)  # a packet arrives damaged
    votes = votes_for(undetected_per_image(slots, packet_size, p))
    total = 0.0
    for n in range(limit):  # P(not done after n passes), summed: the mean of a count
        settled = sum(math.comb(n, k) * (1 - q) ** k * q ** (n - k) for k in range(votes, n + 1))
        total += 1 - settled ** slots
    return total


def best_packet_size(image_bytes: int, p: float, sizes: tuple[int, ...]) -> int:
    """The packet size whose expected passes cost the fewest line bytes at rate `p`."""
    if not 0.0 <= p <= 0.5:  # not a rate (NaN too): assume the worst
        p = 0.5
    def cost(size: int) -> float:
        line = ACK_LEN + image_bytes // size * (11 + size)
        return expected_passes(image_bytes, size, p) * line
    return min(sorted(sizes, reverse=True), key=cost)


def _packet_at(stream: bytes, pos: int, packet_size: int) -> tuple[int, bytes] | None:
    """(pid, payload) of a well-formed packet starting at `pos`, else None."""
    if len(stream) < pos + 9:
        return None
    pid, length = struct.unpack_from(">BH", stream, pos + 6)
    if pid not in (r30x.PID_ACK, r30x.PID_DATA, r30x.PID_END) or length > r30x.MAX_PAYLOAD + 2:
        return None
    if length < 3 or (pid != r30x.PID_ACK and length != packet_size + 2):
        return None
    end = pos + 9 + length
    if len(stream) < end:
        return None
    body = stream[pos + 6 : end - 2]
    if sum(body) & 0xFFFF != struct.unpack_from(">H", stream, end - 2)[0]:
        return None
    return pid, bytes(body[3:])


def split_upload(stream: bytes, packet_size: int, slots: int) -> UploadPass:
    """Good packets of one UpImage answer, by slot. `stream` starts where the answer does
    (the line was quiet when UpImage went out)."""
    stride = 11 + packet_size
    confirmation: int | None = None
    packets: dict[int, bytes] = {}
    aligned, ended = True, False
    anchor_pos, anchor_slot = ACK_LEN, 0  # where slot 0 should start, if the ack was lost
    pos = stream.find(r30x.HEADER)
    while 0 <= pos < len(stream):
        found = _packet_at(stream, pos, packet_size)
        if found is None:
            pos = stream.find(r30x.HEADER, pos + 1)
            continue
        pid, payload = found
        if pid == r30x.PID_ACK:
            if confirmation is None and not packets:
                confirmation = payload[0]
                anchor_pos, anchor_slot = pos + ACK_LEN, 0
            pos = stream.find(r30x.HEADER, pos + ACK_LEN)
            continue
        slot = anchor_slot + round((pos - anchor_pos) / stride)
        last = pid == r30x.PID_END
        if not 0 <= slot < slots or slot in packets or last != (slot == slots - 1):
            aligned = False
            break
        packets[slot] = payload
        anchor_pos, anchor_slot = pos + stride, slot + 1
        ended = ended or last
        pos = stream.find(r30x.HEADER, pos + stride)
    return UploadPass(confirmation=confirmation, packets=packets if aligned else {},
                      aligned=aligned, ended=ended)


class ImageAssembler:
    """Keeps every good copy of every slot across passes; `image()` once `complete()`."""

    def __init__(self, slots: int, packet_size: int) -> None:
        self.slots = slots
        self.packet_size = packet_size
        self._copies: list[dict[bytes, int]] = [{} for _ in range(slots)]
        self.passes = 0
        self.damaged = 0  # slots a pass did not deliver clean
        self.votes_needed = 1

    def add(self, upload: UploadPass) -> None:
        self.passes += 1
        self.damaged += self.slots - len(upload.packets)
        for slot, payload in upload.packets.items():
            copies = self._copies[slot]
            copies[payload] = copies.get(payload, 0) + 1
        self.votes_needed = votes_for(self.expected_undetected())

    def byte_error_rate(self) -> float:
        """Per-byte damage estimated from the share of packets that failed."""
        seen = self.passes * self.slots
        if not seen or not self.damaged:
            return 0.0
        share = min(self.damaged / seen, 0.999)
        return -math.log(1 - share) / (11 + self.packet_size)

    def expected_undetected(self) -> float:
        """Packets per image expected to pass the sum check while damaged (two flips)."""
        return undetected_per_image(self.slots, self.packet_size, self.byte_error_rate())

    def _settled(self, slot: int) -> bytes | None:
        """The slot's payload once it has `votes_needed` identical copies and more than any
        differing copy (two good copies that differ mean one was damaged undetected)."""
        counts = sorted(self._copies[slot].items(), key=lambda kv: kv[1], reverse=True)
        if not counts or counts[0][1] < self.votes_needed:
            return None
        if len(counts) > 1 and counts[1][1] >= counts[0][1]:
            return None
        return counts[0][0]

    def missing(self) -> int:
        return sum(1 for s in range(self.slots) if self._settled(s) is None)

    def complete(self) -> bool:
        return self.missing() == 0

    def image(self) -> bytes:
        if not self.complete():
            raise ValueError("image is not complete")
        return b"".join(self._settled(s) or b"" for s in range(self.slots))
