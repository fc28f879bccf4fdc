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
    # seqs 1 and 3 lost: 2, 4 and 5 are held; the read is answered by one NAK(1) whose bitmap
    # says which: bit i is seq 1 + 1 + i -> bits 0 (2), 2 (4), 3 (5) = 0x0d.
    # raw 01 02 00 01 0d + crc32 0x36e15bda; COBS [01 02] 0 -> 03 01 02; [01 0d da 5b e1 36]
    nak = h("03 01 02 07 01 0d da 5b e1 36 00")
    eq(wire.encode_frame(wire.T_NAK, 1, h("0d")), nak, "NAK bytes")
    b.receive_data(b"".join(frames[i] + b"\x00" for i in (0, 2, 4, 5)))
    eq([e[3] for e in events(b)], [b"\x00"], "only seq 0 delivered")
    eq(b.data_to_send(), nak, "NAK(1) with what is held")
    # the sender: 5 (held) was first sent after 1 and 3 were -> both proved lost, both resent
    a.receive_data(nak)
    eq(a.stats["retransmits"], 2, "the two missing frames, at once")
    resent = a.data_to_send().split(b"\x00")[:-1]
    eq([wire.decode_frame(f)[2] for f in resent], [1, 3], "seqs 1 and 3, nothing held")
    a.receive_data(nak)  # the same NAK again (say, a duplicate): no new proof, nothing sent
    eq(a.data_to_send(), b"", "no proof, no resend")
    b.receive_data(resent[0] + b"\x00")  # seq 1: 1, 2 delivered; 3 still missing
    eq([e[3] for e in events(b)], [b"\x01", b"\x02"], "1 and the held 2")
    eq(b.data_to_send(), h("03 01 02 07 03 03 5f 14 6f e3 00"), "NAK(3), 4 and 5 held: 0x03")
    b.receive_data(resent[1] + b"\x00")
    eq([e[3] for e in events(b)], [b"\x03", b"\x04", b"\x05"], "the rest, in order")
    eq(b.data_to_send(), wire.encode_frame(wire.T_ACK, 6), "cumulative ACK(6)")


def check_link_resend_lost_again():
    a, b = pair(window=8)
    for i in range(3):
        a.send(wire.T_REQ, bytes([i]))
    frames = a.data_to_send().split(b"\x00")[:-1]
    b.receive_data(frames[0] + b"\x00" + frames[2] + b"\x00")  # seq 1 lost
    a.receive_data(b.data_to_send())
    a.data_to_send()  # the resent seq 1 is lost again
    eq(a.stats["retransmits"], 1, "resent once")
    a.send(wire.T_REQ, b"\x03")  # a frame sent after the resend arrives: proof it was lost
    b.receive_data(a.data_to_send())
    a.receive_data(b.data_to_send())
    eq(a.stats["retransmits"], 2, "resent again without waiting for the timer")
    b.receive_data(a.data_to_send())
    eq([e[3] for e in events(b)], [b"\x00", b"\x01", b"\x02", b"\x03"], "all, in order")
    # a timeout resends only what the receiver has not reported holding
    c, d = pair(window=8)
    for i in range(4):
        c.send(wire.T_REQ, bytes([i]))
    frames = c.data_to_send().split(b"\x00")[:-1]
    d.receive_data(frames[2] + b"\x00" + frames[3] + b"\x00")  # 0 and 1 lost
    c.receive_data(d.data_to_send())  # NAK(0) holding 2, 3: proof for 0 and 1
    c.data_to_send()  # both resends lost
    c.tick(100)
    eq(c.stats["timeouts"], 1, "timed out")
    eq([wire.decode_frame(f)[2] for f in c.data_to_send().split(b"\x00")[:-1]], [0, 1],
       "the held 2 and 3 are not resent")


def check_link_paces_by_baud():
    # 115 200 baud: 11.52 bytes a ms. A REQ of 64 zero bytes is 74 on the wire (6.42 ms);
    # a frame is queued while at most QUEUE_MS = 20 ms waits: the 4th at 19 ms, not a 5th
    a = wire.Link(window=8, max_payload=64, rto_ms=100, baud=115200)
    a.tick(1000)
    sent = 0
    while a.send(wire.T_REQ, bytes(64)):
        sent += 1
    eq(sent, 4, "no more than QUEUE_MS of line time waits")
    eq(len(a.data_to_send()), 4 * 74, "74 bytes each")
    a.tick(1010)
    eq(a.send(wire.T_REQ, bytes(64)), True, "room once part has left")
    # the 5th leaves the wire at 1032 ms; the timeout counts from there, not from 1000
    a.tick(1131)
    eq(a.stats["timeouts"], 0, "not late before 1132")
    a.tick(1132)
    eq(a.stats["timeouts"], 1, "late now")
    # the board's ticks_ms wraps at 2^30 ms: what was queued is not waited for forever
    b = wire.Link(window=8, max_payload=64, baud=115200)
    b.tick((1 << 30) - 5)
    while b.send(wire.T_REQ, bytes(64)):
        pass
    b.tick(3)
    eq((b._queued_ms(), b.can_send()), (0, True), "the clock went back: nothing queued")
    b.tick(3 + b.rto_ms + 1000)  # and the retransmit timer restarted at the wrap, not lost
    eq(b.stats["timeouts"], 1, "times out after the wrap")


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
    # max_payload 1100 -> chunks of at most 1094 (1100 - 6-byte DATA header), window 4
    link = wire.Link(window=4)
    sender = bulk.BulkSender(link)

    def line(frames, size, lost):
        link.stats["frames_out"] += frames
        link.stats["bytes_out"] += frames * size
        link.stats["retransmits"] += lost
        sender.adapt()
        return sender.chunk, link.window

    # the prior, 1 loss in 8 frames of 300 bytes: p = 1 - (7/8)^(8 / 2400) = 4.45e-4,
    # chunk sqrt(16 / p) = 189.6 -> 189
    eq(sender.chunk, 189, "starts at a middling chunk")
    # 56 clean frames of 200 bytes: 1 in 64, 13 600 bytes: p = 7.41e-5 -> 464.6;
    # window 4 * 1094 // 464 = 9 frames
    eq(line(56, 200, 0), (464, 9), "grows as the line proves clean")
    # the 65th frame passes the horizon: counts halved, the prior's loss is gone -> largest
    eq(line(1, 200, 0), (1094, 4), "clean: the largest chunk")
    # 32 frames of 1110 bytes, 20 resent: 20 in 64, 42 420 bytes: p = 5.65e-4 -> 168.2;
    # window 4 * 1094 // 168 = 26
    eq(line(32, 1110, 20), (168, 26), "noise: sqrt(16 / p)")
    # 30 frames of 180 bytes, 29 resent: 94 frames pass the horizon, halved to 24 lost in
    # 47 and 23 910 bytes: p = 1 - (23 / 47)^(47 / 23 910) = 1.40e-3 -> 106.7
    eq(line(30, 180, 29), (106, 32), "more noise: smaller still, window at most MAX_WINDOW")
    # 40 of 90 bytes, all resent: 32 in 43, 13 755 bytes: p = 4.26e-3 -> 61, below 64
    eq(line(40, 90, 40), (64, 32), "never below MIN_CHUNK")
    eq((sender.shrinks, sender.grows), (3, 2), "counted")
    small = bulk.BulkSender(wire.Link(max_payload=64))
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
