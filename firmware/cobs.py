"""COBS (Consistent Overhead Byte Stuffing): frames without 0x00, so 0x00 delimits them.

Shared by the firmware and the host (MicroPython subset). Overhead: one code byte per 254
data bytes (at least one), plus the 0x00 delimiter added by the framer.

    encode(b"\\x11\\x00\\x22") == b"\\x02\\x11\\x02\\x22"
"""


class CobsError(ValueError):
    pass


def encode(data):
    out = bytearray()
    n = len(data)
    pos = 0
    while True:
        limit = pos + 254
        if limit > n:
            limit = n
        zero = data.find(b"\x00", pos, limit)
        if zero >= 0:
            out.append(zero - pos + 1)
            out += data[pos:zero]
            pos = zero + 1
        else:
            out.append(limit - pos + 1)
            out += data[pos:limit]
            pos = limit
            if limit == n:
                break
    return bytes(out)


def decode(enc):
    """Inverse of `encode`; raises CobsError on anything `encode` cannot produce."""
    n = len(enc)
    if n == 0:
        raise CobsError("empty COBS block")
    out = bytearray()
    pos = 0
    while pos < n:
        code = enc[pos]
        end = pos + code
        if code == 0 or end > n:
            raise CobsError("bad COBS code")
        block = enc[pos + 1 : end]
        if block.find(b"\x00") >= 0:
            raise CobsError("zero inside a COBS block")
        out += block
        pos = end
        if code != 0xFF and pos < n:
            out.append(0)
    return bytes(out)
