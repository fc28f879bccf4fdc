"""The bulk sender's adaptive chunk (firmware/bulk.py) over a simulated channel: a burst of
noise shrinks the chunk, a clean line grows it back to the largest, and no object is ever
accepted damaged. The exact step rule is a wire vector (run under MicroPython too)."""

import binascii
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import bulk, wire
from tests.peripherals.test_wire_properties import _lossy


def _transfer(sender, b, rng, blob, obj, noise_until, rate, chunks):
    """Send `blob` from the sender's link to link b; noise both ways while step < noise_until."""
    a, recv = sender.link, bulk.BulkReceiver()
    sender.offer(obj, len(blob), binascii.crc32(blob), lambda o, n: blob[o : o + n])
    result, now = bulk.IN_PROGRESS, 0
    while result == bulk.IN_PROGRESS and now < 40_000:
        now += 1
        r = rate if now < noise_until else 0.0
        a.tick(now)
        b.tick(now)
        sender.pump()
        chunks.add(sender.chunk)
        b.receive_data(_lossy(a.data_to_send(), rng, r))
        a.receive_data(_lossy(b.data_to_send(), rng, r))
        for link in (a, b):
            ev = link.next_event()
            while ev:
                if ev[0] == wire.EV_FRAME and ev[1] == wire.T_BULK_OFFER:
                    b.send(wire.T_BULK_FETCH, recv.on_offer(ev[3]))
                elif ev[0] == wire.EV_FRAME and ev[1] == wire.T_BULK_DATA:
                    result = recv.on_data(ev[3])
                elif ev[0] == wire.EV_FRAME and ev[1] == wire.T_BULK_FETCH:
                    sender.on_fetch(ev[3])
                ev = link.next_event()
    return result, recv


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.001, 0.003, 0.01]), st.integers(50, 400))
def test_burst_shrinks_the_chunk_and_a_clean_line_grows_it_back(seed, rate, burst_steps):
    rng = random.Random(seed)
    a = wire.Link(window=4, max_payload=1100, rto_ms=20, max_retries=10_000)
    b = wire.Link(window=4, max_payload=1100, rto_ms=20, max_retries=10_000)
    blob = rng.randbytes(80_000)
    chunks: set[int] = set()
    sender = bulk.BulkSender(a)  # one per link, as in the firmware: it owns the link's window
    result, recv = _transfer(sender, b, rng, blob, 1, burst_steps, rate, chunks)
    assert result == bulk.COMPLETE and recv.take() == blob  # never a damaged object
    assert chunks <= set(range(bulk.MIN_CHUNK, 1095))
    if a.stats["retransmits"]:
        assert sender.shrinks >= 1 and min(chunks) < 1094
    # the line is clean now: the next object ends at the largest chunk again
    result, recv = _transfer(sender, b, rng, blob[:80_000], 2, 0, 0.0, chunks)
    assert result == bulk.COMPLETE and recv.take() == blob[:80_000]
    assert (sender.chunk, a.window) == (1094, 4)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([0.002, 0.01, 0.03]),
    st.integers(1, 600),  # past 256: sequence numbers wrap
    st.sampled_from([1, 4, 16, 64]),
)
def test_selective_repeat_delivers_every_frame_once_in_order(seed, rate, count, window):
    """Frames held past a gap are delivered once, in order, whatever is lost, flipped or
    doubled on either direction."""
    rng = random.Random(seed)
    a = wire.Link(window=window, max_payload=64, rto_ms=8, max_retries=100_000, min_rto_ms=2)
    b = wire.Link(window=window, max_payload=64, rto_ms=8, max_retries=100_000)
    sent, got, now = 0, [], 0
    while len(got) < count and now < 200_000:
        now += 1
        a.tick(now)
        b.tick(now)
        while sent < count and a.send(wire.T_REQ, sent.to_bytes(2, "little") * 8):
            sent += 1
        b.receive_data(_lossy(a.data_to_send(), rng, rate))
        a.receive_data(_lossy(b.data_to_send(), rng, rate))
        ev = b.next_event()
        while ev:
            got.append(int.from_bytes(ev[3][:2], "little"))
            ev = b.next_event()
    assert got == list(range(count))
