"""Wire codec test vectors, in the MicroPython subset: run by pytest under CPython and, as a
script, under the real `micropython` binary (tests/peripherals/test_wire_micropython.py).

Each check returns None or raises AssertionError-like `Fail`. Byte strings are written as hex
with a comment deriving them; see firmware/WIRE.md for the layout.
"""

import binascii

from firmware import bulk, cobs, wire


class Fail(Exception):
    pass


def eq(got, want, what):
    if got != want:
        raise Fail(f"{what}: got {got!r} want {want!r}")


def h(text):
    return binascii.unhexlify(text.replace(" ", ""))


# -- COBS (Wikipedia's examples) -----------------------------------------------------------


def check_cobs_examples():
    eq(cobs.encode(b""), h("01"), "empty")
    eq(cobs.encode(h("00")), h("01 01"), "one zero")
    eq(cobs.encode(h("00 00")), h("01 01 01"), "two zeros")
    eq(cobs.encode(h("00 11 00")), h("01 02 11 01"), "zero 11 zero")
    eq(cobs.encode(h("11 22 00 33")), h("03 11 22 02 33"), "11 22 00 33")
    eq(cobs.encode(h("11 22 33 44")), h("05 11 22 33 44"), "no zeros")
    eq(cobs.encode(h("11 00 00 00")), h("02 11 01 01 01"), "trailing zeros")
    run = bytes(range(1, 255))  # 01..FE: a full 254-byte block, code FF, no implied zero
    eq(cobs.encode(run), b"\xff" + run, "254 non-zero")
    eq(cobs.encode(b"\x00" + run), b"\x01\xff" + run, "00 then 254")
    run2 = bytes(range(1, 256))  # 01..FF: 254 then one more
    eq(cobs.encode(run2), b"\xff" + run2[:254] + b"\x02\xff", "255 non-zero")
    for data in (b"", b"\x00", run, run2, b"\x00" * 600, bytes(range(256)) * 3):
        eq(cobs.decode(cobs.encode(data)), data, "round trip")


def check_cobs_rejects():
    for bad in (b"", b"\x00", b"\x05\x11", b"\x03\x11\x00"):
        try:
            cobs.decode(bad)
        except cobs.CobsError:
            continue
        raise Fail(f"decoded bad COBS {bad!r}")


# -- frames --------------------------------------------------------------------------------


def check_frame_bytes():
    # REQ seq 0, payload 01: raw = 01 10 00 00 | 01 | crc32(01 10 00 00 01)=0xdc5cb9a4 LE
    # COBS: [01 10] 0 -> 03 01 10; [] 0 -> 01; [01 a4 b9 5c dc] -> 06 ...; then delimiter 00
    eq(wire.encode_frame(wire.T_REQ, 0, h("01")), h("03 01 10 01 06 01 a4 b9 5c dc 00"), "REQ")
    # ACK seq 1: raw = 01 01 00 01 | crc 0xef3de2d8 LE
    eq(wire.encode_frame(wire.T_ACK, 1), h("03 01 01 06 01 d8 e2 3d ef 00"), "ACK")
    eq(wire.encode_frame(wire.T_NAK, 5), h("03 01 02 06 05 98 98 16 ea 00"), "NAK")
    eq(
        wire.encode_frame(wire.T_RESET, 0, h("de ad be ef"), wire.F_REPLY),
        h("04 01 03 01 09 de ad be ef 89 6a e4 0e 00"),
        "RESET reply",
    )
    # DATA obj 7 offset 0 bytes 00 01 02: payload 07 00 00 00 00 00 00 01 02
    payload = h("07 00 00 00 00 00 00 01 02")
    eq(
        wire.encode_frame(wire.T_BULK_DATA, 2, payload),
        h("03 01 20 03 02 07 01 01 01 01 01 07 01 02 66 a9 52 5d 00"),
        "DATA",
    )
    # OFFER obj 7 size 3 crc32(00 01 02)=0x0854897f
    eq(
        bulk.pack_offer(7, 3, binascii.crc32(h("00 01 02"))),
        h("07 00 03 00 00 00 7f 89 54 08"),
        "OFFER",
    )
    eq(bulk.pack_fetch(7, 0x10203), h("07 00 03 02 01 00"), "FETCH")


def check_frame_decode_and_errors():
    frame = wire.encode_frame(wire.T_RSP, 9, b"hello", 0)
    eq(wire.decode_frame(frame[:-1]), (wire.T_RSP, 0, 9, b"hello"), "decode")
    dec = wire.FrameDecoder(64)
    # garbage, a good frame, a frame with one flipped bit, an over-long run, a good frame
    bad = bytearray(frame)
    bad[4] ^= 0x01
    stream = b"\x13\x37\x00" + frame + bytes(bad) + b"\x55" * 300 + b"\x00" + frame
    got = dec.feed(stream)
    eq(got, [(wire.T_RSP, 0, 9, b"hello"), (wire.T_RSP, 0, 9, b"hello")], "resync")
    eq(dec.errors["too_long"], 1, "too long counted")
    eq(dec.errors["crc"] + dec.errors["cobs"] + dec.errors["short"], 2, "garbage counted")
    # the same stream fed one byte at a time gives the same frames
    dec2 = wire.FrameDecoder(64)
    out = []
    for i in range(len(stream)):
        out += dec2.feed(stream[i : i + 1])
    eq(len(out), 2, "bytewise")


# -- link ----------------------------------------------------------------------------------


def pair(window=4):
    return wire.Link(window=window, max_payload=64, rto_ms=100), wire.Link(
        window=window, max_payload=64, rto_ms=100
    )


def shuttle(a, b, drop_a_to_b=()):
    """Move bytes both ways until quiet; drop the a->b frames whose index is listed."""
    sent = 0
    for _ in range(20):
        out = a.data_to_send()
        frames = [f + b"\x00" for f in out.split(b"\x00")[:-1]]
        keep = b""
        for f in frames:
            if sent not in drop_a_to_b:
                keep += f
            sent += 1
        if keep:
            b.receive_data(keep)
        back = b.data_to_send()
        if back:
            a.receive_data(back)
        if not out and not back:
            return


def events(link):
    out = []
    ev = link.next_event()
    while ev is not None:
        out.append(ev)
        ev = link.next_event()
    return out


def check_link_in_order_and_acks():
    a, b = pair()
    for i in range(3):
        eq(a.send(wire.T_REQ, bytes([i])), True, "send")
    # 3 frames in one read -> one cumulative ACK(3)
    b.receive_data(a.data_to_send())
    eq(b.data_to_send(), wire.encode_frame(wire.T_ACK, 3), "cumulative ack")
    eq([e[3] for e in events(b)], [b"\x00", b"\x01", b"\x02"], "delivered in order")


def check_link_window_full():
    a, b = pair(window=2)
    eq(a.send(wire.T_REQ, b"x"), True, "1")
    eq(a.send(wire.T_REQ, b"y"), True, "2")
    eq(a.send(wire.T_REQ, b"z"), False, "window full")
    shuttle(a, b)
    eq(a.idle, True, "acked")
    eq(a.send(wire.T_REQ, b"z"), True, "room again")


def check_link_loss_nak_and_timeout():
    a, b = pair()
    for i in range(4):
        a.send(wire.T_REQ, bytes([i]))
    shuttle(a, b, drop_a_to_b=(1,))  # frame seq 1 lost -> NAK(1) -> only seq 1 resent
    eq([e[3] for e in events(b)], [b"\x00", b"\x01", b"\x02", b"\x03"], "recovered by NAK")
    eq(b.stats["naks_sent"], 1, "one NAK per gap")
    eq(a.stats["retransmits"], 1, "selective: seqs 2 and 3 were held, not resent")
    eq(a.idle, True, "all acked")
    # last frame lost: no later frame to reveal the gap, the timer resends it
    a.send(wire.T_REQ, b"\x04")
    a.data_to_send()
    a.tick(50)
    eq(a.data_to_send(), b"", "not yet")
    a.tick(100)
    b.receive_data(a.data_to_send())
    eq([e[3] for e in events(b)], [b"\x04"], "recovered by timeout")
    eq(a.stats["retransmits"], 2, "1 selective + 1 timeout")


def check_link_duplicates_and_down():
    a, b = pair()
    a.send(wire.T_REQ, b"q")
    frame = a.data_to_send()
    b.receive_data(frame)
    b.receive_data(frame)  # duplicate (our ACK was lost): delivered once, re-ACKed
    eq(len(events(b)), 1, "delivered once")
    eq(b.stats["duplicates"], 1, "dup counted")
    eq(b.data_to_send(), wire.encode_frame(wire.T_ACK, 1) * 2, "re-ack")
    lonely = wire.Link(rto_ms=10, max_retries=2)
    lonely.send(wire.T_REQ, b"?")
    for t in (10, 20, 30):
        lonely.tick(t)
    eq(events(lonely), [(wire.EV_DOWN,)], "down after retries")


def check_link_reset():
    a, b = pair()
    a.send(wire.T_REQ, b"old")
    a.data_to_send()  # lost in the unplug
    a.reset(b"\x01\x02\x03\x04")
    eq(a.up, False, "waiting for reply")
    eq(a.send(wire.T_REQ, b"new"), False, "no sends until up")
    shuttle(a, b)
    eq(events(b), [(wire.EV_PEER_RESET,)], "peer reset")
    eq(events(a), [(wire.EV_UP,)], "up")
    a.send(wire.T_REQ, b"new")
    shuttle(a, b)
    eq(events(b), [(wire.EV_FRAME, wire.T_REQ, 0, b"new")], "seq restarted at 0")


def check_link_rto_adapts():
    a, b = wire.Link(rto_ms=400, min_rto_ms=50), wire.Link()
    eq(a.rto, 400, "starts at rto_ms")
    rtos = []
    for start in (1000, 1100):  # two exchanges, each acknowledged 20 ms after sending
        a.tick(start)
        a.send(wire.T_REQ, b"x")
        b.receive_data(a.data_to_send())
        a.tick(start + 20)
        a.receive_data(b.data_to_send())
        rtos.append(a.rto)
    # 1st sample: srtt 20, rttvar 10 -> 20 + 4 * 10 = 60; 2nd: rttvar 10 + (0 - 10) // 4 = 7,
    # srtt 20 -> 48, below the floor -> 50
    eq(rtos, [60, 50], "srtt + 4 rttvar, not below min_rto_ms")
    a.tick(2000)
    a.send(wire.T_REQ, b"y")
    a.data_to_send()  # lost
    a.tick(2049)
    eq(a.stats["retransmits"], 0, "not yet")
    a.tick(2050)
    eq((a.stats["retransmits"], a.rto), (1, 100), "timeout: resent, timeout doubled")
    b.receive_data(a.data_to_send())
    a.tick(2060)
    a.receive_data(b.data_to_send())
    eq((a.idle, a.rto), (True, 100), "no sample from a resent frame (Karn)")


def check_link_holds_frames_past_two_gaps():
    a, b = pair(window=8)
    for i in range(6):
        a.send(wire.T_REQ, bytes([i]))
    frames = a.data_to_send().split(b"\x00")[:-1]
    # seqs 1 and 3 lost: 2, 4 and 5 are held; NAK(1) once
    b.receive_data(b"".join(frames[i] + b"\x00" for i in (0, 2, 4, 5)))
    eq([e[3] for e in events(b)], [b"\x00"], "only seq 0 delivered")
    eq(b.data_to_send(), wire.encode_frame(wire.T_NAK, 1) + wire.encode_frame(wire.T_ACK, 1),
       "NAK(1) as the gap shows, then the read's ACK(1)")
    b.receive_data(frames[1] + b"\x00")  # seq 1 resent: 1, 2 delivered, NAK(3) at once
    eq([e[3] for e in events(b)], [b"\x01", b"\x02"], "1 and the held 2")
    eq(b.data_to_send(), wire.encode_frame(wire.T_NAK, 3) + wire.encode_frame(wire.T_ACK, 3),
       "the next gap asked for at once")
    b.receive_data(frames[3] + b"\x00")
    eq([e[3] for e in events(b)], [b"\x03", b"\x04", b"\x05"], "the rest, in order")
    eq(b.data_to_send(), wire.encode_frame(wire.T_ACK, 6), "cumulative ACK(6)")


# -- bulk ----------------------------------------------------------------------------------


def check_bulk_transfer_and_resume():
    a, b = pair()
    blob = bytes((i * 7 + 3) & 0xFF for i in range(1000))
    sender = bulk.BulkSender(a)
    recv = bulk.BulkReceiver()
    crc = bulk.object_crc(lambda o, n: blob[o : o + n], len(blob))
    sender.offer(3, len(blob), crc, lambda o, n: blob[o : o + n], b"meta")
    shuttle(a, b)
    ev = events(b)[0]
    eq(ev[1], wire.T_BULK_OFFER, "offer")
    fetch = recv.on_offer(ev[3])
    eq(recv.meta, b"meta", "meta")
    b.send(wire.T_BULK_FETCH, fetch)
    shuttle(b, a)
    sender.on_fetch(events(a)[0][3])
    # stream three chunks, then "unplug": both links reset, the rest of the data is lost
    sender.pump()
    shuttle(a, b)
    for e in events(b):
        eq(recv.on_data(e[3]), bulk.IN_PROGRESS, "partial")
    got = recv.offset
    eq(got, 4 * (64 - 6), "four chunks before the unplug")
    a.reset(b"\x00\x00\x00\x01")
    shuttle(a, b)
    events(a)
    events(b)
    b.send(wire.T_BULK_FETCH, recv.fetch_payload())
    shuttle(b, a)
    sender.on_fetch(events(a)[0][3])
    result = bulk.IN_PROGRESS
    for _ in range(100):
        sender.pump()
        shuttle(a, b)
        for e in events(b):
            result = recv.on_data(e[3])
        if result != bulk.IN_PROGRESS:
            break
    eq(result, bulk.COMPLETE, "complete")
    eq(recv.take(), blob, "same bytes")


def check_bulk_rejects_corrupt_object():
    recv = bulk.BulkReceiver()
    recv.on_offer(bulk.pack_offer(1, 4, binascii.crc32(b"abcd")))
    eq(recv.on_data(b"\x01\x00\x00\x00\x00\x00ab"), bulk.IN_PROGRESS, "first half")
    eq(recv.on_data(b"\x01\x00\x00\x00\x00\x00ab"), bulk.IN_PROGRESS, "stale offset ignored")
    eq(recv.on_data(b"\x01\x00\x02\x00\x00\x00cX"), bulk.CORRUPT, "whole-object CRC")
    eq(recv.stats["corrupt_objects"], 1, "counted")
    eq(recv.obj, -1, "discarded")
    try:
        recv.on_offer(bulk.pack_offer(2, bulk.MAX_OBJECT + 1, 0))
    except bulk.BulkError:
        return
    raise Fail("accepted an object over 1 MiB")


def check_bulk_chunk_adapts():
    # max_payload 1100 -> chunks of 1094 (1100 - 6-byte DATA header), window 4
    link = wire.Link(window=4)
    sender = bulk.BulkSender(link)
    eq((sender.chunk, link.window), (1094, 4), "starts at the largest chunk")
    steps = []
    for _ in range(6):
        link.stats["retransmits"] += 4  # a go-back-N round resends the window
        sender.adapt()
        steps.append((sender.chunk, link.window))
    # halving down to MIN_CHUNK 64; window 4 * 1094 // chunk frames, at most MAX_WINDOW 8
    want = [(547, 8), (273, 8), (136, 8), (68, 8), (64, 8), (64, 8)]
    eq(steps, want, "shrinks on each retransmission round")
    link.stats["acked"] += 31
    sender.adapt()
    eq(sender.chunk, 64, "31 clean frames: not yet")
    link.stats["acked"] += 1
    sender.adapt()
    steps = [(sender.chunk, link.window)]
    for _ in range(4):
        link.stats["acked"] += 32  # GROW_AFTER frames acknowledged, no retransmission
        sender.adapt()
        steps.append((sender.chunk, link.window))
    # 31 + 1 frames reach 32: 128, then 256, 512, 1024 and the 1094 ceiling (4 * 1094 // 1024)
    eq(steps, [(128, 8), (256, 8), (512, 8), (1024, 4), (1094, 4)], "grows back when clean")
    eq((sender.shrinks, sender.grows), (5, 5), "counted")
    small = bulk.BulkSender(wire.Link(max_payload=64))
    small.link.stats["retransmits"] += 1
    small.adapt()
    eq(small.chunk, 58, "never above what the link carries (64 - 6)")


CHECKS = [
    (name, fn) for name, fn in sorted(globals().items()) if name.startswith("check_")
]


def run():
    passed = failed = 0
    for name, fn in CHECKS:
        try:
            fn()
            passed += 1
        except Exception as exc:  # report every failure, keep going
            failed += 1
            print("FAIL", name, repr(exc))
    print(f"{passed} passed, {failed} failed")
    return failed


if __name__ == "__main__":
    import sys

    sys.exit(1 if run() else 0)
