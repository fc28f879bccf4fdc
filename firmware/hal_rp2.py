"""HAL for the RP2040 board: UART0 on GP0/GP1 to the host's USB-serial bridge, guide LEDs on
GP2-GP7, presence sensor GP8, tamper switch GP9 (closed = 0), buzzer PWM on GP10, hardware
watchdog (8 s) fed from the main loop."""

import binascii
import time

import machine

LED_PINS = (2, 3, 4, 5, 6, 7)
PRESENCE_PIN = 8
TAMPER_PIN = 9
BUZZER_PIN = 10
WATCHDOG_MS = 8000


class Hal:
    SIMULATED = False
    RXBUF = 4096

    def __init__(self, baud=921600):
        self.baud = baud  # the link paces itself and times out by it
        self.uart = machine.UART(
            0, baudrate=baud, tx=machine.Pin(0), rx=machine.Pin(1), rxbuf=self.RXBUF, txbuf=2048
        )
        self._leds = [machine.Pin(p, machine.Pin.OUT, value=0) for p in LED_PINS]
        self._presence = machine.Pin(PRESENCE_PIN, machine.Pin.IN, machine.Pin.PULL_DOWN)
        self._tamper = machine.Pin(TAMPER_PIN, machine.Pin.IN, machine.Pin.PULL_UP)
        self._buzzer = machine.PWM(machine.Pin(BUZZER_PIN))
        self._buzzer.freq(2700)
        self._beep_until = time.ticks_ms()
        self._beeping = False
        self._wdt = machine.WDT(timeout=WATCHDOG_MS)
        self.leds = 0
        self.watchdog_feeds = 0

    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def unique_id(self):
        return binascii.hexlify(machine.unique_id()).decode()

    def set_leds(self, mask):
        self.leds = mask
        for i, pin in enumerate(self._leds):
            pin.value((mask >> i) & 1)

    def beep(self, ms):
        self._buzzer.duty_u16(32768)
        self._beep_until = time.ticks_add(time.ticks_ms(), ms)
        self._beeping = True

    def presence(self):
        return self._presence.value()

    def tamper(self):
        return 0 if self._tamper.value() == 0 else 1  # switch opens when the case opens

    def sim_input(self, sensor, value):
        raise OSError("no simulated inputs on hardware")

    def feed_watchdog(self):
        self._wdt.feed()
        self.watchdog_feeds += 1
        if self._beep_until and time.ticks_diff(time.ticks_ms(), self._beep_until) >= 0:
            self._buzzer.duty_u16(0)
            self._beep_until = time.ticks_ms()
        self._beeping = False

    def free_mem(self):
        import gc

        return gc.mem_free()

    def idle(self, ms):
        time.sleep_ms(1 if ms > 1 else ms)
