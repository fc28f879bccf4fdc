"""Boot entry: on the RP2040 `main.py` runs at power-up; under the unix port run
`micropython firmware/main.py /dev/pts/N [BAUD]` (the path of the fake UART, and the
simulated line's baud rate)."""

import sys

try:
    from firmware import app
except ImportError:
    import app  # type: ignore


def make_hal():
    if sys.platform == "rp2":
        try:
            from firmware import hal_rp2
        except ImportError:
            import hal_rp2  # type: ignore
        return hal_rp2.Hal()
    try:
        from firmware import hal_unix
    except ImportError:
        import hal_unix  # type: ignore
    if len(sys.argv) < 2:
        print("usage: micropython main.py UART_PATH [BAUD]")
        sys.exit(2)
    return hal_unix.Hal(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0)


if __name__ == "__main__":
    print("anjungan controller firmware starting")
    app.run(make_hal())
