from __future__ import annotations

import time

import pytest

from provisioning.bundle import complete, load_bundle, request
from provisioning.fleet import init_fleet

NOW = time.time()


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    f = init_fleet(root / "fleet", broker_port=0)
    for kid in ("kiosk-a", "kiosk-b"):
        request(root / kid, kid)
        complete(f, root / kid)
    return f


@pytest.fixture(scope="session")
def bundle_a(fleet):
    return load_bundle(fleet.root.parent / "kiosk-a")


@pytest.fixture(scope="session")
def bundle_b(fleet):
    return load_bundle(fleet.root.parent / "kiosk-b")
