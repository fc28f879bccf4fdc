"""The fingerprint bridge's boot entry. Under the unix port:
`micropython firmware/fpbridge_main.py CABLE_PATH BAUD MODULE_PATH` (the fake UARTs' paths:
the long cable to the host, the R30x module's local link; the cable's baud rate)."""

import sys

try:
    from firmware import fpbridge, hal_unix
except ImportError:
    import fpbridge  # type: ignore
    import hal_unix  # type: ignore


if __name__ == "__main__":
    if len(sys.argv) < 4:
        print("usage: micropython fpbridge_main.py CABLE_PATH BAUD MODULE_PATH")
        sys.exit(2)
    print("anjungan fingerprint bridge firmware starting")
    fpbridge.run(hal_unix.Hal(sys.argv[1], int(sys.argv[2]), module_path=sys.argv[3]))
