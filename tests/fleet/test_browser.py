"""The dashboard in headless Chromium against `anjungan fleet serve`, fed by simulated
kiosks over a real TLS Mosquitto: sign in, a kiosk goes offline and its alert appears, it
comes back and the alert clears, a feedback item is answered; `fleet status` finds the
service. Saves the README's screenshots."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from broker.fleet.model import CentreSample, ClassBacklog
from broker.fleet.simkiosk import SimKiosk
from broker.fleet.store import Batch, HealthPoint, open_store
from entrypoints.cli import main
from tests.waiting import wait_until

from .live import live_fleet

ROOT = Path(__file__).resolve().parents[2]
# the README's copies are refreshed only on request, so a test run leaves the tree clean
SHOTS = ROOT / ("docs" if os.environ.get("ANJUNGAN_UPDATE_DOCS") else "artifacts") / "screenshots"
PASSWORD = "kata-sandi-staf-42"

pytestmark = pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                                reason="needs Debian's chromium and chromium-driver")


def browser(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                f"--user-data-dir={profile}", "--window-size=1280,1000", "--lang=id"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=opts)


def seed_history(db_url: str, now: float) -> None:
    """Six hours of relay/SIAK samples, captures and one kiosk's health before the service
    starts (they come from the relay, which this standalone run does not include)."""
    store = open_store(db_url)
    batch = Batch()
    for i in range(73):
        t = now - 6 * 3600 + i * 300
        outage = 90 <= i % 72 * 5 <= 150
        depth = (i % 72 * 5 - 85) * 3 if outage else max(0, 12 - i % 12)
        batch.samples.append(CentreSample(at=t, siak_circuit="open" if outage else "closed", backlog=(
            ClassBacklog(priority=0, depth=depth // 4, oldest_age_s=60.0),
            ClassBacklog(priority=1, depth=depth // 2, oldest_age_s=60.0),
            ClassBacklog(priority=2, depth=depth, oldest_age_s=60.0))))
        batch.health.append(HealthPoint(kiosk_id="dps-01", at=t, online=True, outbox_depth=depth // 6,
                                        outbox_oldest_s=30.0, disk_free_pct=72.0 - i * 0.05,
                                        temperature_c=44.0 + (i % 12) / 3, faults=0))
        if i % 12 == 0:
            batch.captures += [(t, p) for p in (0,) * 3 + (1,) * 7 + (2,) * 11]
    store.commit(batch)
    store.close()


def test_dashboard_in_chromium(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANJUNGAN_RUNTIME_DIR", str(tmp_path / "run"))
    db = f"sqlite://{tmp_path / 'fleet.db'}"
    with live_fleet(tmp_path, ("dps-01", "mal-02")) as fleet:
        monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
        assert main(["fleet", "add-staff", "ayu", "--db", db, "--password-stdin"]) == 0
        assert main(["fleet", "set-site", "dps-01", "--db", db, "--office", "Dukcapil Kota Denpasar",
                     "--kecamatan", "Denpasar Barat"]) == 0
        assert main(["fleet", "set-site", "mal-02", "--db", db, "--office", "Mal Bali Galeria",
                     "--kecamatan", "Kuta"]) == 0
        seed_history(db, time.time())
        capsys.readouterr()
        config = tmp_path / "fleet.json"
        config.write_text(json.dumps({"thresholds": {"offline_after_s": 2}, "history_every_s": 0,
                                      "flush_every_s": 0.1, "tick_every_s": 0.2}))
        server = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "fleet", "serve", "--fleet", str(fleet.root),
             "--db", db, "--http", "127.0.0.1:0", "--config", str(config)],
            stdout=subprocess.PIPE, text=True, env=os.environ.copy(),
        )
        driver = None
        kiosks: dict[str, SimKiosk] = {}
        stop = threading.Event()

        def heartbeat() -> None:  # real kiosks send health periodically
            while not stop.wait(0.4):
                for k in list(kiosks.values()):
                    try:
                        k.send_health(at=time.time(), **extra.get(k.kiosk_id, {}))
                    except (AssertionError, OSError, RuntimeError, ValueError):
                        pass  # dropped on purpose just now

        extra = {"dps-01": {"outbox_depth": 2, "outbox_oldest_s": 40.0},
                 "mal-02": {"peripherals": {"printer": {"ok": False, "detail": "kertas habis"},
                                            "finger": {"ok": True}}}}
        beat = threading.Thread(target=heartbeat, daemon=True)
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip().removeprefix("fleet dashboard: ")
            assert url.startswith("http://127.0.0.1:")
            for kid in ("dps-01", "mal-02"):
                kiosks[kid] = SimKiosk(fleet.bundles[kid], fleet.port).connect(at=time.time())
            beat.start()

            # the terminal view finds the running service by itself
            def fleet_status() -> dict:
                assert main(["fleet", "status", "--json"]) == 0
                return json.loads(capsys.readouterr().out)

            expected = [("dps-01", True, []), ("mal-02", True, ["peripheral"])]
            assert wait_until(lambda: [(k["kiosk_id"], k["online"], [a["kind"] for a in k["open_alerts"]])
                                       for k in fleet_status()["kiosks"]] == expected)
            status = fleet_status()
            # the service is subscribed now (feedback is not retained: it must be listening)
            kiosks["dps-01"].send_feedback("fb-7", "Layar sentuh kurang peka, NIK 5171010101900001",
                                           at=time.time())
            assert all(isinstance(k["last_seen"], float) for k in status["kiosks"])

            from selenium.webdriver.common.by import By

            driver = browser(tmp_path / "chromium-profile")
            driver.get(url + "/")
            assert driver.current_url.startswith(url + "/login")
            assert "dps-01" not in driver.page_source
            driver.find_element(By.ID, "username").send_keys("ayu")
            driver.find_element(By.ID, "password").send_keys(PASSWORD)
            driver.find_element(By.ID, "sign-in").click()
            assert wait_until(lambda: driver.find_elements(By.ID, "kiosk-dps-01"))

            from selenium.common.exceptions import WebDriverException

            def row_state(kid: str) -> tuple[str, list[str]]:
                try:
                    driver.get(url + "/")
                    row = driver.find_element(By.ID, f"kiosk-{kid}")
                    badges = row.find_elements(By.CSS_SELECTOR, ".alert")
                    return (row.get_attribute("data-state") or "",
                            [b.get_attribute("data-kind") or "" for b in badges])
                except WebDriverException:  # the page changed under us: look again
                    return "", []

            def row_text(kid: str) -> str:
                try:
                    return str(driver.find_element(By.ID, f"kiosk-{kid}").text)
                except WebDriverException:
                    return ""

            assert row_state("dps-01") == ("online", [])
            kiosks["dps-01"].drop()
            assert wait_until(lambda: row_state("dps-01") == ("offline", ["offline"]), every=0.3)
            driver.find_element(By.ID, "lang-en").click()
            assert wait_until(lambda: "Offline" in row_text("dps-01"))
            SHOTS.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(SHOTS / "dashboard-overview.png"))
            kiosks["dps-01"].connect(at=time.time())
            kiosks["dps-01"].send_health(at=time.time())
            assert wait_until(lambda: row_state("dps-01") == ("online", []), every=0.3)

            driver.get(url + "/kiosk/dps-01?hours=7")
            assert driver.find_element(By.ID, "kiosk-state").text == "Online"
            assert "5171010101900001" not in driver.page_source
            driver.set_window_size(1280, 1500)
            driver.save_screenshot(str(SHOTS / "dashboard-kiosk.png"))

            driver.get(url + "/feedback")
            item = driver.find_element(By.ID, "fb-fb-7")
            assert "517101********01" in item.text and "5171010101900001" not in driver.page_source
            item.find_element(By.CSS_SELECTOR, "button.answer").click()
            assert wait_until(lambda: "fb-fb-7" not in driver.page_source)  # gone from the open list
            driver.get(url + "/feedback?show=answered")
            assert "ayu" in driver.find_element(By.ID, "fb-fb-7").text
        finally:
            stop.set()
            if beat.is_alive():
                beat.join()
            if driver is not None:
                driver.quit()
            for k in kiosks.values():
                k.close()
            server.terminate()
            server.wait(timeout=10)
    assert not list((tmp_path / "run").glob("fleet-*.json"))  # withdrawn on shutdown
