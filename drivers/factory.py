"""The kiosk's one door to its hardware: `open_peripherals(...) -> Peripherals`.

    from drivers.factory import open_peripherals
    with open_peripherals("sim") as p:              # in-process twin, instant

"sim" is the in-memory twin (no pacing, for fast tests and benchmarks), "sim-pty" the
byte-level simulators on ptys, "sim-controller" the real controller firmware under
`micropython` (either with ":noise=RATE"), and a `PeripheralConfig` (or its JSON mapping)
real serial devices. The interface (`drivers.peripherals`) knows none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drivers.errors import PeripheralConfigError
from drivers.peripherals import PeripheralConfig, Peripherals


def _noise_rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 0.1:
        raise PeripheralConfigError(f"noise must be a probability per byte between 0 and 0.1, not {text!r}")
    return rate


def open_peripherals(
    config: str | PeripheralConfig | Mapping[str, Any] = "sim", *, seed: int = 0
) -> Peripherals:
    """The composition point: pick the twin, the pty simulators, or real serial devices."""
    if isinstance(config, str):
        if config == "sim":
            from drivers.twin import InMemoryPeripherals

            return InMemoryPeripherals(seed=seed)
        mode, _, option = config.partition(":")
        if mode in ("sim-pty", "sim-controller") and (not option or option.startswith("noise=")):
            from drivers.simulators.line import Impairments
            from drivers.simulators.rig import ControllerOnPty, open_simulated

            noise = _noise_rate(option.partition("=")[2]) if option else 0.0
            impairments = Impairments(noise=noise, seed=seed)
            if mode == "sim-controller":
                return ControllerOnPty(seed=seed, impairments=impairments)
            return open_simulated(seed=seed, impairments=impairments)
        raise PeripheralConfigError(f"unknown peripheral mode {config!r} (use 'sim', 'sim-pty', "
                          "'sim-controller', optionally ':noise=RATE', or a config)")
    if isinstance(config, Mapping):
        config = PeripheralConfig.from_mapping(config)
    from drivers.serial_peripherals import SerialPeripherals

    return SerialPeripherals(config)
