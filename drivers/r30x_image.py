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
double flip in sixteen inside a packet. When the measured damage makes such a miss likely
anywhere in the image, a slot needs two identical good copies (`votes_needed`).
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
        self.votes_needed = 2 if self.expected_undetected() > UNDETECTED_BUDGET else 1

    def byte_error_rate(self) -> float:
        """Per-byte damage estimated from the share of packets that failed."""
        seen = self.passes * self.slots
        if not seen or not self.damaged:
            return 0.0
        share = min(self.damaged / seen, 0.999)
        return -math.log(1 - share) / (11 + self.packet_size)

    def expected_undetected(self) -> float:
        """Packets per image expected to pass the sum check while damaged (two flips)."""
        p = self.byte_error_rate()
        covered = self.packet_size + 5  # pid, length, payload, checksum
        return self.slots * math.comb(covered, 2) * p * p * UNDETECTED_PER_DOUBLE_FLIP

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
