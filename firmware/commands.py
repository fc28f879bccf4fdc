"""The controller's command set, carried in REQ/RSP/EVT frames (shared with the host driver).

    REQ  cmd u8 | args...
    RSP  cmd u8 | status u8 | results...
    EVT  event u8 | value u8

Commands (args -> results):
    IDENTIFY      -                    -> model, serial, version as "\\n"-joined UTF-8
    STATUS        -                    -> presence u8, tamper u8, leds u8, uptime_ms u32,
                                          watchdog_feeds u32, rx_errors u16, free_mem u32
    SET_LEDS      mask u8, value u8    -> leds u8 (LED_* bits below)
    BEEP          ms u16               -> -
    TEST_OBJECT   size u32, seed u32   -> (then BULK_OFFER of a deterministic test pattern)
    SIM_INPUT     sensor u8, value u8  -> -   (unix HAL only: presence 0 / tamper 1)
"""

try:
    from micropython import const
except ImportError:  # CPython (host)

    def const(x):  # type: ignore
        return x


FIRMWARE_VERSION = "1.0.0"
MODEL = "anjungan-ctl-rp2040"

CMD_IDENTIFY = const(0x01)
CMD_STATUS = const(0x02)
CMD_SET_LEDS = const(0x03)
CMD_BEEP = const(0x04)
CMD_TEST_OBJECT = const(0x05)
CMD_SIM_INPUT = const(0x06)

ST_OK = const(0)
ST_BAD_REQUEST = const(1)
ST_UNKNOWN_COMMAND = const(2)
ST_BUSY = const(3)
ST_UNSUPPORTED = const(4)

EVT_PRESENCE = const(0x01)
EVT_TAMPER = const(0x02)

SENSOR_PRESENCE = const(0)
SENSOR_TAMPER = const(1)

LED_FINGER = const(0x01)
LED_IRIS = const(0x02)
LED_FACE = const(0x04)
LED_SIGNATURE = const(0x08)
LED_OK = const(0x10)
LED_ERROR = const(0x20)
LED_NAMES = ("finger", "iris", "face", "signature", "ok", "error")

STATUS_FORMAT = "<BBBIIHI"

PATTERN_LEN = 1021  # prime, so no two 1 KiB chunks of a test object are alike


def pattern_base(seed):
    """The repeating unit of a test object: 1021 bytes from a 32-bit LCG seeded by `seed`."""
    out = bytearray(PATTERN_LEN)
    x = seed & 0xFFFFFFFF
    for i in range(PATTERN_LEN):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out[i] = (x >> 16) & 0xFF
    return bytes(out)


def pattern_read(base, offset, n):
    """Bytes [offset, offset+n) of the infinite repetition of `base`."""
    out = bytearray()
    start = offset % PATTERN_LEN
    while len(out) < n:
        take = PATTERN_LEN - start
        if take > n - len(out):
            take = n - len(out)
        out += base[start : start + take]
        start = 0
    return bytes(out)
