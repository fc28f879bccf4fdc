"""The host <-> controller wire codec and link state machine (MicroPython subset, sans-I/O).

Theory of operation
-------------------
A frame on the wire is ``COBS(header | payload | crc32) 0x00``:

    offset size field
    0      1    version   (VERSION = 1)
    1      1    type      (T_* below)
    2      1    flags     (F_* below)
    3      1    seq       (0-255, wraps)
    4      n    payload   (n <= max_payload)
    4+n    4    crc32     (binascii.crc32 of bytes 0..4+n-1, little-endian)

Types below 0x10 are link control and are never acknowledged: ACK(seq = next expected,
nothing held past it), NAK(seq = next expected, payload = a bitmap of the frames held past
the gap: bit i of byte i // 8, least significant first, is seq + 1 + i) and RESET
(resynchronise sequence numbers after a reconnect; the answer carries F_REPLY and echoes the
4-byte nonce). Types from 0x10 up are reliable: a window of `window` frames, cumulative
ACKs and selective repeat. The receiver holds frames that arrive past a gap (up to
WINDOW_MAX), delivers in order, and answers every read that brought a reliable frame with
one control frame: a NAK with its bitmap while it holds frames, an ACK otherwise.

A serial line keeps order, so a NAK is evidence: a frame the receiver holds that was first
sent after our latest sending of a missing frame proves that sending was lost. The sender
resends exactly those missing frames, at once, each once per proof (no timer, no duplicate);
a NAK without a bitmap (an older peer) resends the NAKed frame. After the retransmit timeout
without progress every frame the receiver has not reported holding is resent (every frame,
after a second timeout in a row: a peer that reported wrongly cannot stall the link), and
the link goes DOWN after `max_retries` timeouts in a row. The timeout is `rto_ms`, or, with `min_rto_ms` set,
adapts to the measured round trip (RFC 6298: srtt + 4 rttvar, Karn's rule, doubled after
each timeout) between `min_rto_ms` and `rto_ms`. Given the line's `baud`, the link also
knows when what it wrote will have left the wire: it queues no new frame while more than
QUEUE_MS of line time waits (so a resent frame is not stuck behind a window of new ones,
and frames sent after it can prove its loss), a round trip counts from when a frame has
left, and the timeout waits for the queue to drain first.

`Link` is a pure object. Feed it bytes with `receive_data(data)`, collect events with
`next_event()`, queue frames with `send(type, payload)` (False when the window is full),
pass time in with `tick(now_ms)`, and write out whatever `data_to_send()` returns.
Nothing here reads a clock or touches a port. Buffers are bounded (RP2040 RAM): a frame
longer than `max_payload` is dropped and counted, never buffered.
"""

import binascii
import struct

try:
    from firmware import cobs  # on the host, firmware/ is a package
except ImportError:  # on the board every file sits in /
    import cobs  # type: ignore

VERSION = 1
HEADER_LEN = 4
CRC_LEN = 4
OVERHEAD = HEADER_LEN + CRC_LEN  # before COBS and the delimiter

# link control (unreliable)
T_ACK = 0x01
T_NAK = 0x02
T_RESET = 0x03
# reliable
T_REQ = 0x10
T_RSP = 0x11
T_EVT = 0x12
T_BULK_DATA = 0x20
T_BULK_OFFER = 0x21
T_BULK_FETCH = 0x22
T_BULK_ABORT = 0x23

F_REPLY = 0x01  # RESET answer
F_RETX = 0x02  # this frame is a retransmission (informational)

# events from next_event(): tuples whose first item is one of these
EV_FRAME = 1  # (EV_FRAME, type, flags, payload)
EV_PEER_RESET = 2  # (EV_PEER_RESET,) the peer restarted the link; our queue was dropped
EV_UP = 3  # (EV_UP,) our RESET was answered
EV_DOWN = 4  # (EV_DOWN,) retries exhausted; unacknowledged frames were dropped

DEFAULT_MAX_PAYLOAD = 1100
WINDOW_MAX = 64  # frames in flight, and frames held past a gap (sequence space is 256)
QUEUE_MS = 20  # with the baud known: no new frame while more than this waits to leave
QUEUE_FAR_US = 60000000  # more than a minute queued cannot be: the clock went back


class FrameError(ValueError):
    pass


def encode_frame(ftype, seq, payload=b"", flags=0):
    n = len(payload)
    body = bytearray(HEADER_LEN + n + CRC_LEN)
    body[0] = VERSION
    body[1] = ftype
    body[2] = flags
    body[3] = seq & 0xFF
    body[HEADER_LEN : HEADER_LEN + n] = payload
    crc = binascii.crc32(memoryview(body)[: HEADER_LEN + n])
    struct.pack_into("<I", body, HEADER_LEN + n, crc)
    return cobs.encode(body) + b"\x00"


def decode_frame(block):
    """One COBS block (no delimiter) -> (type, flags, seq, payload); FrameError if bad."""
    try:
        body = cobs.decode(block)
    except cobs.CobsError:
        raise FrameError("cobs") from None
    if len(body) < OVERHEAD:
        raise FrameError("short")
    (crc,) = struct.unpack_from("<I", body, len(body) - CRC_LEN)
    if binascii.crc32(memoryview(body)[: len(body) - CRC_LEN]) != crc:
        raise FrameError("crc")
    if body[0] != VERSION:
        raise FrameError("version")
    return body[1], body[2], body[3], body[HEADER_LEN : len(body) - CRC_LEN]


def max_encoded_len(max_payload):
    raw = max_payload + OVERHEAD
    return raw + raw // 254 + 2  # COBS code bytes + delimiter


class FrameDecoder:
    """Splits a byte stream on 0x00 and decodes frames; garbage is counted and skipped."""

    def __init__(self, max_payload=DEFAULT_MAX_PAYLOAD):
        self._limit = max_encoded_len(max_payload)
        self._buf = bytearray()
        self._overflow = False
        self.errors = {"cobs": 0, "short": 0, "crc": 0, "version": 0, "too_long": 0}

    def feed(self, data):
        frames = []
        start = 0
        n = len(data)
        while start < n:
            zero = data.find(b"\x00", start)
            end = n if zero < 0 else zero
            if not self._overflow:
                if len(self._buf) + end - start > self._limit:
                    self._overflow = True
                    self._buf = bytearray()
                else:
                    self._buf += data[start:end]
            if zero < 0:
                break
            if self._overflow:
                self.errors["too_long"] += 1
            elif self._buf:
                try:
                    frames.append(decode_frame(bytes(self._buf)))
                except FrameError as exc:
                    self.errors[exc.args[0]] += 1
            self._buf = bytearray()
            self._overflow = False
            start = zero + 1
        return frames


class Link:
    """Reliable, ordered frames over a lossy byte stream (see the module docstring)."""

    def __init__(self, window=4, max_payload=DEFAULT_MAX_PAYLOAD, rto_ms=300, max_retries=8,
                 min_rto_ms=0, baud=0):
        if not 1 <= window <= WINDOW_MAX:
            raise ValueError("window must be 1-64")
        self.window = window
        self.baud = baud  # > 0: the line's rate, so queued frames are not mistaken for lost
        self.max_payload = max_payload
        self.rto_ms = rto_ms  # the retransmit timeout: fixed, or where an adaptive one starts
        self.min_rto_ms = min_rto_ms  # > 0: adapt between this and rto_ms from measured RTT
        self.rto = rto_ms
        self._srtt = -1
        self._rttvar = 0
        self.max_retries = max_retries
        self._decoder = FrameDecoder(max_payload)
        self._out = bytearray()
        self._events = []
        self._now = 0
        self._reset_state()
        self._reset_nonce = None
        self._reset_sent_ms = 0
        self._wire_free_us = 0  # with the baud known: when what we wrote has left the wire
        self.stats = {
            "frames_out": 0, "frames_in": 0, "retransmits": 0, "duplicates": 0,
            "out_of_order": 0, "naks_sent": 0, "bytes_out": 0, "bytes_in": 0, "downs": 0,
            "acked": 0, "timeouts": 0,
        }

    def _reset_state(self):
        self._tx_seq = 0  # next sequence number to assign
        self._tx_count = 0  # sendings of reliable frames so far: orders them on the line
        # [seq, encoded frame, sent_ms (-1 once resent), first sending, latest sending,
        #  held by the receiver], oldest first
        self._unacked = []
        self._timer_ms = None  # when the oldest unacked frame's timer started
        self._retries = 0
        self._rx_expected = 0
        self._held = {}  # seq -> (type, flags, payload): arrived past a gap, not delivered yet

    # --- sending -----------------------------------------------------------------------

    def can_send(self):
        return (self._reset_nonce is None and len(self._unacked) < self.window
                and self._queued_ms() <= QUEUE_MS)

    def send(self, ftype, payload=b"", flags=0):
        """Queue one reliable frame. False (nothing queued) when the window is full."""
        if ftype < T_REQ:
            raise ValueError("link control frames are not sent with send()")
        if len(payload) > self.max_payload:
            raise ValueError("payload too large")
        if not self.can_send():
            return False
        frame = encode_frame(ftype, self._tx_seq, payload, flags)
        count = self._tx_count
        self._tx_count += 1
        self._unacked.append([self._tx_seq, frame, self._now, count, count, False])
        self._tx_seq = (self._tx_seq + 1) & 0xFF
        if self._timer_ms is None:
            self._timer_ms = self._now
        self._emit(frame)
        if self.baud:  # a round trip counts from when the frame has left the wire
            self._unacked[-1][2] = self._wire_free_us // 1000
        return True

    def reset(self, nonce):
        """Start (or restart) the link: drop our queue, ask the peer to do the same."""
        self._reset_state()
        self._reset_nonce = bytes(nonce)
        self._reset_sent_ms = self._now
        self._emit(encode_frame(T_RESET, 0, self._reset_nonce))

    @property
    def up(self):
        return self._reset_nonce is None

    @property
    def idle(self):
        """Nothing waits for an acknowledgement."""
        return not self._unacked

    def _emit(self, frame):
        if self.baud:  # 8N1: 10 bits a byte, sent after what is queued
            start = self._now * 1000
            if self._wire_free_us > start:
                start = self._wire_free_us
            self._wire_free_us = start + len(frame) * 10000000 // self.baud
        self._out += frame
        self.stats["frames_out"] += 1
        self.stats["bytes_out"] += len(frame)

    def data_to_send(self):
        out = bytes(self._out)
        self._out = bytearray()
        return out

    def tick(self, now_ms):
        if now_ms < self._now:  # the clock went back (ticks_ms wraps): timers restart now
            self._reset_sent_ms = now_ms
            if self._timer_ms is not None:
                self._timer_ms = now_ms
        self._now = now_ms
        if self._reset_nonce is not None:
            if now_ms - self._reset_sent_ms >= self.rto_ms:
                self._reset_sent_ms = now_ms
                self._emit(encode_frame(T_RESET, 0, self._reset_nonce))
            return
        if self._timer_ms is None or now_ms - self._timer_ms < self.rto:
            return
        if self._queued_ms() or now_ms - self._wire_free_us // 1000 < self.rto:
            return  # what we wrote is still leaving the wire, or has only just left
        if self.min_rto_ms:
            self.rto = min(self.rto * 2, self.rto_ms)  # back off until a fresh sample
        self._retries += 1
        self.stats["timeouts"] += 1
        if self._retries > self.max_retries:
            self.stats["downs"] += 1
            self._unacked = []
            self._timer_ms = None
            self._retries = 0
            self._events.append((EV_DOWN,))
            return
        for entry in self._unacked:
            if self._retries > 1:
                entry[5] = False  # a second timeout in a row: trust no report of holding
            if not entry[5]:  # what the receiver holds needs no second copy
                self._resend(entry)
        self._timer_ms = self._now

    def _resend(self, entry):
        # resend with F_RETX set: re-encode (cheap) rather than patch inside COBS
        ftype, flags, seq, payload = decode_frame(entry[1][:-1])
        self._emit(encode_frame(ftype, seq, payload, flags | F_RETX))
        self.stats["retransmits"] += 1
        entry[2] = -1  # its ACK would not time one sending (Karn)
        entry[4] = self._tx_count
        self._tx_count += 1

    def _queued_ms(self):
        """How long what we wrote takes to leave the wire (0 when the baud is unknown)."""
        left = self._wire_free_us - self._now * 1000
        if left > QUEUE_FAR_US:  # the clock went back (ticks_ms wraps on the board)
            self._wire_free_us = self._now * 1000
            return 0
        return left // 1000 if left > 0 else 0

    def _sample_rtt(self, rtt):
        """RFC 6298's estimator in integers: rto = srtt + 4 rttvar, within the bounds."""
        if self._srtt < 0:
            self._srtt, self._rttvar = rtt, rtt // 2
        else:
            self._rttvar += (abs(self._srtt - rtt) - self._rttvar) // 4
            self._srtt += (rtt - self._srtt) // 8
        rto = self._srtt + 4 * self._rttvar
        self.rto = self.min_rto_ms if rto < self.min_rto_ms else min(rto, self.rto_ms)

    def _on_ack(self, next_expected):
        if not self._unacked:
            return
        base = self._unacked[0][0]
        acked = (next_expected - base) & 0xFF
        if acked == 0 or acked > len(self._unacked):
            return  # nothing new, or stale
        sent_ms = self._unacked[acked - 1][2]
        if self.min_rto_ms and sent_ms >= 0:  # the round trip past the frame's time on the wire
            self._sample_rtt(self._now - sent_ms if self._now > sent_ms else 0)
        self._unacked = self._unacked[acked:]
        self.stats["acked"] += acked
        self._retries = 0
        self._timer_ms = self._now if self._unacked else None

    def _on_nak(self, base, bitmap):
        """Resend each missing frame whose latest sending is proved lost (module doc)."""
        unacked = self._unacked
        if not unacked or unacked[0][0] != base:
            return  # stale: a later ACK already moved past it
        if not bitmap:  # an older peer: "seq is missing", nothing more
            self._resend(unacked[0])
            self._timer_ms = self._now
            return
        proof = -1  # first sending of the newest frame the receiver holds
        for entry in unacked[1:]:
            i = ((entry[0] - base) & 0xFF) - 1
            if i >> 3 < len(bitmap) and bitmap[i >> 3] >> (i & 7) & 1:
                entry[5] = True
                proof = entry[3]
        if unacked[0][4] < proof:
            self._timer_ms = self._now  # the oldest goes out again: its timer restarts
        for entry in unacked:
            if not entry[5] and entry[4] < proof:
                self._resend(entry)

    # --- receiving ---------------------------------------------------------------------

    def receive_data(self, data):
        self.stats["bytes_in"] += len(data)
        answer_due = False
        for ftype, flags, seq, payload in self._decoder.feed(data):
            self.stats["frames_in"] += 1
            if ftype == T_ACK:
                self._on_ack(seq)
            elif ftype == T_NAK:
                self._on_ack(seq)
                self._on_nak(seq, payload)
            elif ftype == T_RESET:
                self._on_reset(flags, payload)
            elif ftype >= T_REQ:
                if self._reset_nonce is not None:
                    continue  # until the peer answers our RESET, old frames are noise
                self._on_reliable(ftype, flags, seq, payload)
                answer_due = True
            # unknown control types are ignored: a newer peer may add some
        if answer_due:
            if self._held:
                self.stats["naks_sent"] += 1
                self._emit(encode_frame(T_NAK, self._rx_expected, self._held_bitmap()))
            else:
                self._emit(encode_frame(T_ACK, self._rx_expected))

    def _on_reset(self, flags, payload):
        if flags & F_REPLY:
            if self._reset_nonce is not None and payload == self._reset_nonce:
                self._reset_nonce = None
                self._events.append((EV_UP,))
            return
        self._reset_state()
        self._reset_nonce = None
        self._emit(encode_frame(T_RESET, 0, payload, F_REPLY))
        self._events.append((EV_PEER_RESET,))

    def _on_reliable(self, ftype, flags, seq, payload):
        held = self._held
        if seq == self._rx_expected:
            self._deliver(ftype, flags, payload)
            while self._rx_expected in held:
                self._deliver(*held.pop(self._rx_expected))
            return
        behind = (self._rx_expected - seq) & 0xFF
        if 1 <= behind <= 128:
            self.stats["duplicates"] += 1  # our answer was lost: it goes again
            return
        self.stats["out_of_order"] += 1
        if seq not in held and len(held) < WINDOW_MAX:
            held[seq] = (ftype, flags, payload)

    def _held_bitmap(self):
        bits = bytearray(WINDOW_MAX // 8)
        top = 0
        for seq in self._held:
            i = ((seq - self._rx_expected) & 0xFF) - 1
            if i < WINDOW_MAX:
                bits[i >> 3] |= 1 << (i & 7)
                if (i >> 3) + 1 > top:
                    top = (i >> 3) + 1
        return bytes(bits[:top])

    def _deliver(self, ftype, flags, payload):
        self._rx_expected = (self._rx_expected + 1) & 0xFF
        self._events.append((EV_FRAME, ftype, flags, payload))

    def next_event(self):
        if self._events:
            return self._events.pop(0)
        return None

    @property
    def decode_errors(self):
        return self._decoder.errors
