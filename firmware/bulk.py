"""Chunked bulk transfer over `wire.Link`: objects up to 1 MB, resume by offset, whole CRC.

Theory of operation
-------------------
The side that holds an object (a camera, the controller) OFFERs it; the side that wants it
FETCHes from an offset; the holder streams DATA chunks in order from that offset as the
link's window allows. The receiver checks every chunk's object id and offset, keeps a
running CRC-32, and at the last byte compares it with the CRC announced in the OFFER: a
mismatch discards the whole object (never accepted). After an unplug the receiver keeps
what it has and FETCHes again from its offset; a holder that no longer has the object
answers ABORT. Payloads (little-endian):

    OFFER  obj u16 | size u32 | crc32 u32 | meta...      (T_BULK_OFFER)
    FETCH  obj u16 | offset u32                          (T_BULK_FETCH)
    DATA   obj u16 | offset u32 | bytes                  (T_BULK_DATA)
    ABORT  obj u16 | reason u8                           (T_BULK_ABORT)

The holder's chunk size follows the line. The link counts what it sent and what it had to
send again; from the share of frames lost, f, and their mean length on the wire, n, the
sender estimates the chance that a byte is damaged, 1 - (1 - f)^(1/n), and picks the chunk
that carries most data per byte of line: a frame of c data bytes and h bytes of framing
(FRAME_COST) arrives whole with probability (1 - p)^(c + h), so the useful share
c / (c + h) * (1 - p)^(c + h) peaks near c = sqrt(h / p) (p = 1e-3: 126 bytes, 0.78 of the
line; 1e-4: 400 bytes, 0.92; clean: the largest chunk, 0.98). The counts are halved every
HORIZON frames, so the estimate follows a line that changes. The window grows as the chunk
shrinks, so about the same bytes stay in flight (at most MAX_WINDOW frames). The receiver
needs nothing: DATA frames carry their offset and may be any size.
"""

import binascii
import struct

try:
    from firmware import wire
except ImportError:
    import wire  # type: ignore

MAX_OBJECT = 1 << 20  # 1 MiB
DATA_HEADER = 6  # obj u16 + offset u32
MIN_CHUNK = 64  # a frame of 64 data bytes is 80 on the line: past this, overhead wins
FRAME_COST = 16  # line bytes a DATA frame adds: header, CRC, chunk header, COBS, delimiter
HORIZON = 64  # frames: the loss counts are halved past this, so old history fades
MAX_WINDOW = 32  # frames in flight at most (the receiver holds up to wire.WINDOW_MAX)
PRIOR_FRAMES = 8  # the estimate starts as one loss in 8 frames of PRIOR_BYTES: p = 4e-4,
PRIOR_BYTES = 300  # a 190-byte chunk

ABORT_UNKNOWN = 1  # no such object (any more)
ABORT_TOO_LARGE = 2
ABORT_CANCELLED = 3

# results of BulkReceiver.on_data
IN_PROGRESS = 0
COMPLETE = 1
CORRUPT = 2


class BulkError(ValueError):
    pass


def pack_offer(obj, size, crc, meta=b""):
    return struct.pack("<HII", obj, size, crc) + meta


def unpack_offer(payload):
    if len(payload) < 10:
        raise BulkError("short OFFER")
    obj, size, crc = struct.unpack_from("<HII", payload, 0)
    return obj, size, crc, bytes(payload[10:])


def pack_fetch(obj, offset):
    return struct.pack("<HI", obj, offset)


def unpack_fetch(payload):
    if len(payload) != 6:
        raise BulkError("bad FETCH")
    return struct.unpack("<HI", payload)


def pack_abort(obj, reason):
    return struct.pack("<HB", obj, reason)


def unpack_abort(payload):
    if len(payload) != 3:
        raise BulkError("bad ABORT")
    return struct.unpack("<HB", payload)


def object_crc(read, size, step=1024):
    crc = 0
    pos = 0
    while pos < size:
        n = step if size - pos > step else size - pos
        crc = binascii.crc32(read(pos, n), crc)
        pos += n
    return crc


class BulkSender:
    """Holder side. `read(offset, n) -> bytes` supplies the object without holding it whole.
    One sender per link, made before any transfer: it owns the link's window from then on."""

    def __init__(self, link):
        self.link = link
        self.max_chunk = link.max_payload - DATA_HEADER
        self.min_chunk = MIN_CHUNK if MIN_CHUNK < self.max_chunk else self.max_chunk
        self.base_window = link.window
        self._seen = (link.stats["frames_out"], link.stats["retransmits"], link.stats["bytes_out"])
        # frames sent, lost and line bytes within the horizon (decaying), from a prior of
        # one loss in PRIOR_FRAMES frames: a fresh sender starts at a middling chunk (a frame
        # keeps its size when resent, so a first frame too long for a noisy line is costly)
        # and reaches the largest once the line proves clean
        self._frames = PRIOR_FRAMES
        self._lost = 1
        self._bytes = PRIOR_FRAMES * PRIOR_BYTES
        self.chunk = self.best_chunk()
        self.shrinks = 0
        self.grows = 0
        self.obj = -1
        self.size = 0
        self._read = None
        self._cursor = 0
        self._streaming = False
        self.chunks_sent = 0

    def offer(self, obj, size, crc, read, meta=b""):
        if size > MAX_OBJECT:
            raise BulkError("object larger than 1 MiB")
        self.obj, self.size, self._read = obj, size, read
        self._streaming = False
        return self.link.send(wire.T_BULK_OFFER, pack_offer(obj, size, crc, meta))

    def pause(self):
        """Stop streaming (the link was reset); a FETCH resumes from the receiver's offset."""
        self._streaming = False

    def forget(self):
        self.obj = -1
        self._read = None
        self._streaming = False

    def on_fetch(self, payload):
        obj, offset = unpack_fetch(payload)
        if obj != self.obj or offset > self.size or self._read is None:
            self._streaming = False
            return self.link.send(wire.T_BULK_ABORT, pack_abort(obj, ABORT_UNKNOWN))
        self._cursor = offset
        self._streaming = True
        return True

    @property
    def done(self):
        return not self._streaming

    def adapt(self):
        """Resize the chunk (and window) from what the link saw since the last call."""
        stats = self.link.stats
        frames, lost, sent = stats["frames_out"], stats["retransmits"], stats["bytes_out"]
        self._frames += frames - self._seen[0]
        self._lost += lost - self._seen[1]
        self._bytes += sent - self._seen[2]
        self._seen = (frames, lost, sent)
        if self._frames > HORIZON:
            self._frames //= 2
            self._lost //= 2
            self._bytes //= 2
        chunk = self.best_chunk()
        if chunk < self.chunk:
            self.shrinks += 1
        elif chunk > self.chunk:
            self.grows += 1
        self.chunk = chunk
        window = self.base_window * self.max_chunk // chunk
        self.link.window = min(max(window, self.base_window), MAX_WINDOW)

    def best_chunk(self):
        """sqrt(FRAME_COST / p) for the estimated damage rate per byte p (module doc)."""
        if self._lost <= 0 or self._frames <= 0:
            return self.max_chunk
        share = self._lost / self._frames
        if share >= 0.95:
            return self.min_chunk
        # a frame of n bytes arrives whole with (1 - p)^n = 1 - share (no math module: the
        # RP2040 build's stubs lack it, and ** does the work)
        per_byte = 1.0 - (1.0 - share) ** (self._frames / self._bytes)
        chunk = int((FRAME_COST / per_byte) ** 0.5)
        if chunk < self.min_chunk:
            return self.min_chunk
        return chunk if chunk < self.max_chunk else self.max_chunk

    def pump(self):
        """Queue as many DATA frames as the window takes; returns how many."""
        self.adapt()
        sent = 0
        while self._streaming and self._cursor < self.size and self.link.can_send():
            n = self.size - self._cursor
            if n > self.chunk:
                n = self.chunk
            data = self._read(self._cursor, n)  # type: ignore[misc]
            self.link.send(wire.T_BULK_DATA, struct.pack("<HI", self.obj, self._cursor) + data)
            self._cursor += n
            sent += 1
        if self._streaming and self._cursor >= self.size:
            self._streaming = False
        self.chunks_sent += sent
        return sent


class BulkReceiver:
    """Wanting side: assembles one object, verifies its CRC, keeps partial data to resume."""

    def __init__(self, max_object=MAX_OBJECT):
        self.max_object = max_object
        self.obj = -1
        self.size = 0
        self.crc = 0
        self.meta = b""
        self.data = bytearray()
        self._running = 0
        self.stats = {"chunks": 0, "stale_chunks": 0, "corrupt_objects": 0, "resumes": 0}

    def on_offer(self, payload):
        """Start assembling; returns the FETCH payload to send."""
        obj, size, crc, meta = unpack_offer(payload)
        if size > self.max_object:
            raise BulkError("offered object is larger than the limit")
        self.obj, self.size, self.crc, self.meta = obj, size, crc, meta
        self.data = bytearray()
        self._running = 0
        return pack_fetch(obj, 0)

    @property
    def offset(self):
        return len(self.data)

    def fetch_payload(self):
        """FETCH from where we are: used to resume after a reconnect."""
        self.stats["resumes"] += 1
        return pack_fetch(self.obj, len(self.data))

    def on_data(self, payload):
        if len(payload) < DATA_HEADER:
            raise BulkError("short DATA")
        obj, offset = struct.unpack_from("<HI", payload, 0)
        if obj != self.obj or offset != len(self.data):
            self.stats["stale_chunks"] += 1  # from before a resume; harmless
            return IN_PROGRESS
        chunk = payload[DATA_HEADER:]
        if offset + len(chunk) > self.size:
            return self._reject()
        self.data += chunk
        self._running = binascii.crc32(chunk, self._running)
        self.stats["chunks"] += 1
        if len(self.data) < self.size:
            return IN_PROGRESS
        if self._running != self.crc:
            return self._reject()
        return COMPLETE

    def _reject(self):
        self.stats["corrupt_objects"] += 1
        self.data = bytearray()
        self._running = 0
        self.obj = -1
        return CORRUPT

    def take(self):
        """The completed object's bytes (only valid right after COMPLETE)."""
        out = bytes(self.data)
        self.data = bytearray()
        self.obj = -1
        return out
