"""HAL for the MicroPython unix port: the host link is a pty (or any tty path) in raw mode,
LEDs/buzzer are recorded, sensors are set by the host through CMD_SIM_INPUT."""

import select
import time

try:
    import termios
except ImportError:  # not every unix build has it
    termios = None


class FakeUart:
    """machine.UART-like: non-blocking read of what is there, write, any()."""

    def __init__(self, path):
        self._f = open(path, "r+b")
        if termios is not None:
            try:
                attr = termios.tcgetattr(self._f.fileno())
                attr[6][termios.VMIN] = 0  # read returns what is there
                attr[6][termios.VTIME] = 0
                termios.tcsetattr(self._f.fileno(), termios.TCSANOW, attr)
            except Exception:  # a plain file or socket path: fine without
                pass
        self._poll = select.poll()
        self._poll.register(self._f, select.POLLIN)

    def wait(self, ms):
        return bool(self._poll.poll(ms))

    def read(self, n):
        if not self._poll.poll(0):
            return None
        return self._f.read(n) or None

    def write(self, data):
        return self._f.write(data)


class Hal:
    SIMULATED = True
    RXBUF = 4096

    def __init__(self, uart_path, baud=0, module_path=None):
        self.uart = FakeUart(uart_path)
        # the fingerprint bridge's second UART, to its R30x module (firmware/fpbridge.py)
        self.module = FakeUart(module_path) if module_path else None
        self.baud = baud  # the simulated line's rate, when the simulator says it (0: unknown)
        self.leds = 0
        self.inputs = [0, 0]  # presence, tamper
        self.beeps = 0
        self.watchdog_feeds = 0

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def unique_id(self):
        return "SIM-0001"

    def set_leds(self, mask):
        self.leds = mask

    def beep(self, ms):
        self.beeps += 1

    def presence(self):
        return self.inputs[0]

    def tamper(self):
        return self.inputs[1]

    def sim_input(self, sensor, value):
        self.inputs[sensor] = 1 if value else 0

    def feed_watchdog(self):
        self.watchdog_feeds += 1

    def free_mem(self):
        import gc

        return gc.mem_free()

    def idle(self, ms):
        self.uart.wait(ms)
