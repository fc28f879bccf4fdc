"""Hypothesis properties of the wire codec: round trips, no crash on any bytes, and a lossy
channel that never makes the link deliver out of order or bulk accept a corrupt object."""

import binascii
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import bulk, cobs, wire


@settings(deadline=None)
@given(st.binary(max_size=3000))
def test_cobs_round_trip_and_no_zero(data):
    enc = cobs.encode(data)
    assert b"\x00" not in enc
    assert cobs.decode(enc) == data
    assert len(enc) <= len(data) + len(data) // 254 + 1


@settings(deadline=None)
@given(st.integers(0x10, 0xFF), st.integers(0, 255), st.integers(0, 255), st.binary(max_size=1100))
def test_frame_round_trip(ftype, seq, flags, payload):
    frame = wire.encode_frame(ftype, seq, payload, flags)
    assert frame.endswith(b"\x00") and frame.count(0) == 1
    assert wire.FrameDecoder().feed(frame) == [(ftype, flags, seq, payload)]


@settings(deadline=None)
@given(st.binary(max_size=4000))
def test_decoder_never_crashes(data):
    dec = wire.FrameDecoder(256)
    for _ftype, _flags, _seq, payload in dec.feed(data):
        assert len(payload) <= 256 + 8
    link = wire.Link(max_payload=256)
    link.receive_data(data)  # never raises
    while link.next_event():
        pass


@settings(deadline=None)
@given(st.binary(max_size=600), st.integers(0, 8 * 600 - 1))
def test_any_single_bit_flip_is_rejected(payload, bit):
    frame = bytearray(wire.encode_frame(wire.T_BULK_DATA, 1, payload))
    pos = bit // 8 % (len(frame) - 1)  # never the delimiter
    frame[pos] ^= 1 << (bit % 8)
    got = wire.FrameDecoder().feed(bytes(frame))
    assert got == []  # CRC-32 catches every single-bit error


def _lossy(data: bytes, rng: random.Random, rate: float) -> bytes:
    out = bytearray()
    for b in data:
        r = rng.random()
        if r < rate / 3:
            continue  # dropped
        if r < 2 * rate / 3:
            out.append(b ^ (1 << rng.randrange(8)))  # flipped bit
        elif r < rate:
            out += bytes([b, b])  # duplicated
        else:
            out.append(b)
    return bytes(out)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.0005, 0.002, 0.005]), st.integers(1, 6000)
)
def test_bulk_over_noisy_channel_never_accepts_corruption(seed, rate, size):
    rng = random.Random(seed)
    blob = rng.randbytes(size)
    a = wire.Link(window=4, max_payload=128, rto_ms=5, max_retries=1000)
    b = wire.Link(window=4, max_payload=128, rto_ms=5, max_retries=1000)
    sender, recv = bulk.BulkSender(a), bulk.BulkReceiver()
    sender.offer(1, size, binascii.crc32(blob), lambda o, n: blob[o : o + n])
    result, now = bulk.IN_PROGRESS, 0
    for _ in range(5000):
        now += 1
        a.tick(now)
        b.tick(now)
        sender.pump()
        b.receive_data(_lossy(a.data_to_send(), rng, rate))
        a.receive_data(_lossy(b.data_to_send(), rng, rate))
        for link, side in ((a, "a"), (b, "b")):
            ev = link.next_event()
            while ev:
                if ev[0] == wire.EV_FRAME and side == "b":
                    if ev[1] == wire.T_BULK_OFFER:
                        b.send(wire.T_BULK_FETCH, recv.on_offer(ev[3]))
                    elif ev[1] == wire.T_BULK_DATA:
                        result = recv.on_data(ev[3])
                elif ev[0] == wire.EV_FRAME and ev[1] == wire.T_BULK_FETCH:
                    sender.on_fetch(ev[3])
                ev = link.next_event()
        if result != bulk.IN_PROGRESS:
            break
    assert result == bulk.COMPLETE  # CORRUPT would mean CRC-32 let damage through twice
    assert recv.take() == blob


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255).filter(lambda s: s == 0 or s > 6),
                          st.binary(max_size=1100)), max_size=20))
def test_any_nak_bitmap_from_a_peer_is_harmless(naks):
    """A NAK's bitmap comes from the peer: garbage, oversized, naming frames never sent or
    not held. The sender never raises, resends only frames it holds, and the frames still
    reach an honest receiver in order afterwards. (A peer that acknowledges frames it never
    got, seq 1-6 here, loses them for any ARQ; the bulk layer's offset resume covers that.)"""
    a, b = wire.Link(window=8, max_payload=64), wire.Link(window=8, max_payload=64)
    for i in range(6):
        a.send(wire.T_REQ, bytes([i]))
    a.data_to_send()  # all lost
    for seq, bitmap in naks:
        a.receive_data(wire.encode_frame(wire.T_NAK, seq, bitmap))
        for frame in a.data_to_send().split(b"\x00")[:-1]:
            assert wire.decode_frame(frame)[2] in range(6)
    got = []
    for now in range(0, 20_000, 100):  # timeouts resend what b lacks; b answers
        a.tick(now)
        b.receive_data(a.data_to_send())
        a.receive_data(b.data_to_send())
        ev = b.next_event()
        while ev is not None:
            got.append(ev[3])
            ev = b.next_event()
        if a.idle:
            break
    assert got == [bytes([i]) for i in range(6)]
