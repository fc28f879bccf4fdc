from __future__ import annotations

import time

import pytest

from provisioning.bundle import complete, load_bundle, request
from provisioning.fleet import init_fleet

# The foundation tests' "now": the session's fleet is issued as of this moment, so a test that
# runs long after collection (the whole suite takes minutes) still finds its certificates valid.
NOW = time.time()


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    f = init_fleet(root / "fleet", broker_port=0, now=NOW)
    for kid in ("kiosk-a", "kiosk-b"):
        request(root / kid, kid)
        complete(f, root / kid, now=NOW)
    return f


@pytest.fixture(scope="session")
def bundle_a(fleet):
    return load_bundle(fleet.root.parent / "kiosk-a")


@pytest.fixture(scope="session")
def bundle_b(fleet):
    return load_bundle(fleet.root.parent / "kiosk-b")
