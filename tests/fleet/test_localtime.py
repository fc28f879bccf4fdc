"""Staff see the site's local time (WITA unless configured), labelled, never bare UTC."""

from __future__ import annotations

import json
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from broker.fleet.dashboard.app import create_app
from broker.fleet.dashboard.plots import Series, line_chart
from broker.fleet.errors import FleetConfigError
from broker.fleet.localtime import SiteTime
from broker.fleet.server import load_config
from broker.fleet.service import FleetService, FleetSettings
from broker.fleet.store import open_store

from .kit import Clock, health, status
from .test_dashboard import TOKEN, sign_in

T = 1_764_547_200.0  # 2025-12-01 00:00:00 UTC


@pytest.mark.parametrize(("name", "shown"), [
    ("Asia/Makassar", "2025-12-01 08:00:00 WITA"), ("WITA", "2025-12-01 08:00:00 WITA"),
    ("WIB", "2025-12-01 07:00:00 WIB"), ("Asia/Jayapura", "2025-12-01 09:00:00 WIT"),
    ("UTC", "2025-12-01 00:00:00 UTC"),
])
def test_stamps_in_the_sites_zone(name, shown):
    assert SiteTime(name).stamp(T) == shown
    assert SiteTime(name).stamp(None) == "—"


def test_the_default_is_wita_and_the_config_chooses(tmp_path):
    assert SiteTime().stamp(T) == "2025-12-01 08:00:00 WITA"
    assert load_config(None)[0].local_time == SiteTime("Asia/Makassar")
    cfg = tmp_path / "fleet.json"
    cfg.write_text(json.dumps({"timezone": "Asia/Jakarta"}))
    assert load_config(str(cfg))[0].local_time.stamp(T) == "2025-12-01 07:00:00 WIB"
    for bad in ('{"timezone": "Mars/Olympus"}', '{"timezone": 7}', '{"timezone": "../../etc/passwd"}'):
        cfg.write_text(bad)
        with pytest.raises(FleetConfigError, match="time ?zone"):
            load_config(str(cfg))


def test_plot_axes_are_labelled_in_the_zone():
    svg = line_chart("x", [Series(label="a", points=[(T, 1.0), (T + 3600, 2.0)])], local=SiteTime("WITA"))
    assert "01 Dec 08:00 WITA" in svg and "01 Dec 09:00 WITA" in svg and "UTC" not in svg


def test_the_kiosk_page_shows_wita(tmp_path, password_hash):
    store = open_store(f"sqlite://{tmp_path / 'fleet.db'}")
    store.set_staff("ayu", password_hash, at=0.0)
    service = FleetService(store, clock=Clock(T), settings=FleetSettings(history_every_s=0))
    for topic, payload in (status("dps-01", "online", "s1"),
                           health("dps-01", cert_expires_at=T + 86400, link_failures=3,
                                  link_error="TLS refused: <b>x</b>")):
        assert service.handle(topic, payload)
    service.flush()
    with TestClient(create_app(service, api_token=TOKEN), follow_redirects=False) as client:
        assert sign_in(client) == 303
        page = client.get("/kiosk/dps-01").text
    assert "2025-12-01 08:00:00 WITA" in page and "2025-12-02 08:00:00 WITA" in page  # last seen, cert expiry
    assert "UTC" not in page
    assert '<td colspan="3" id="link-failures">3 (TLS refused: &lt;b&gt;x&lt;/b&gt;)</td>' in page  # escaped
    store.close()
