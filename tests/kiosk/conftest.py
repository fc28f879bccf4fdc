"""Fixtures: a throwaway fleet with one enrolled kiosk (real certificates and HPKE keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.submit import SealingKeys
from provisioning import bundle as kb
from provisioning.bundle import KioskBundle, load_bundle
from provisioning.fleet import init_fleet, open_fleet

from .helpers import NOW


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet")
    # issued a day before the tests' fixed clock (helpers.NOW), so valid at it and at now
    init_fleet(root / "fleet", broker_port=1, now=NOW - 86400)  # tests bring their own broker
    return root / "fleet"


@pytest.fixture(scope="session")
def bundle(fleet_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> KioskBundle:
    out = tmp_path_factory.mktemp("bundle") / "kiosk-01"
    kb.request(out, "kiosk-01")
    kb.complete(open_fleet(fleet_dir), out, office="Denpasar", now=NOW - 86400)
    return load_bundle(out)


@pytest.fixture(scope="session")
def keys(bundle: KioskBundle) -> SealingKeys:
    return SealingKeys(identity=bundle.identity, gateway_public_key=bundle.gateway_public_key,
                       suite=bundle.suite)
