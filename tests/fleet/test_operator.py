"""The operator's commands against the centre as installed: `broker run --fleet CENTRE`
(the centre's own folder, no --db, no --fleet-db) and `fleet add-staff|set-site|status
--fleet CENTRE` find the same store and the same service; the office and kecamatan given at
`provision sign` reach the dashboard."""

from __future__ import annotations

import io
import json
import os
import ssl
import subprocess
import sys

import httpx
import paho.mqtt.client as mqtt
import pytest

from anjungan import topics
from anjungan.messages import KioskStatus
from anjungan.stores import STORES_FILE, Store, render
from broker.fleet import runtime
from broker.fleet.errors import ServiceNotFound
from broker.fleet.server import fleet_sites
from broker.fleet.service import FleetService
from broker.fleet.store import Site, open_store
from broker.paths import default_fleet_store_url
from entrypoints.cli import build_parser, main
from provisioning.broker_process import BrokerProcess, free_port
from provisioning.bundle import complete, load_bundle, request
from provisioning.centre_folder import export_centre
from provisioning.fleet import init_fleet
from provisioning.mosquitto import write_config
from tests.waiting import wait_until

from .kit import PASSWORD, Clock, csrf_of, status


def test_every_command_given_the_centre_folder_names_the_same_store(tmp_path):
    centre = tmp_path / "etc" / "centre"
    parser = build_parser()
    for argv, db in ((["--fleet", str(centre)], ""), (["--fleet", str(centre), "--queue", "sqlite:///q/queue.db"],
                                                    "sqlite:///q/queue.db")):
        expected = default_fleet_store_url(centre, db)
        run = parser.parse_args(["broker", "run", "--fleet", str(centre), *(["--db", db] if db else [])])
        assert default_fleet_store_url(run.fleet, run.db) == expected
        from broker.fleet.cli import _db_url

        for command in (["fleet", "add-staff", "ayu"], ["fleet", "set-site", "k-1", "--office", "o", "--kecamatan", "k"],
                        ["fleet", "serve"]):
            assert _db_url(parser.parse_args(command + argv)) == expected, command
    assert default_fleet_store_url(centre) == f"sqlite://{tmp_path / 'etc' / 'centre' / 'fleet-health.db'}"
    assert default_fleet_store_url(centre, "sqlite:///q/queue.db") == "sqlite:///q/fleet-health.db"
    assert default_fleet_store_url(centre, "postgresql:///anjungan").endswith("/etc/centre/fleet-health.db")


def test_signed_sites_show_and_set_site_corrects_them(tmp_path):
    fleet = init_fleet(tmp_path / "fleet")
    for kid, office, kecamatan in (("k-01", "Dukcapil Denpasar", "Denpasar Selatan"), ("k-02", "", "")):
        request(tmp_path / kid, kid)
        complete(fleet, tmp_path / kid, office=office, kecamatan=kecamatan)
    assert json.loads((tmp_path / "fleet" / "registry.json").read_text())["kiosks"]["k-01"]["office"] == "Dukcapil Denpasar"
    store = open_store(f"sqlite://{tmp_path / 'fleet.db'}")
    service = FleetService(store, clock=Clock(), sites=fleet_sites(tmp_path / "fleet"))
    for kid in ("k-01", "k-02"):
        service.handle(*status(kid, "online", "s1"))
    rows = {r.kiosk_id: r.site for r in service.overview()}
    assert rows["k-01"] == Site(kiosk_id="k-01", office="Dukcapil Denpasar", kecamatan="Denpasar Selatan")
    assert rows["k-02"] == Site(kiosk_id="k-02", office="", kecamatan="")
    store.set_site(Site(kiosk_id="k-01", office="Dukcapil Denpasar", kecamatan="Denpasar Barat"))
    service.sample_centre()  # re-reads both, the store's word wins
    assert service.kiosk("k-01").site.kecamatan == "Denpasar Barat"
    store.close()


def _running(key: str, url: str) -> runtime.Running:
    return runtime.Running(key=key, url=url, token="t", fleet="other", folder="/srv/other", pid=os.getpid())


def test_status_finds_its_own_fleet_and_names_them_all_when_several_run(tmp_path, monkeypatch):
    monkeypatch.setenv("ANJUNGAN_RUNTIME_DIR", str(tmp_path / "run"))
    fleet = init_fleet(tmp_path / "fleet")
    export_centre(fleet, tmp_path / "centre")
    mine = runtime.fleet_key(tmp_path / "fleet")
    assert runtime.fleet_key(tmp_path / "centre") == mine  # the centre's copy is the same fleet
    runtime.publish(_running(mine, "http://127.0.0.1:1"))
    assert runtime.discover().url == "http://127.0.0.1:1"
    runtime.publish(_running("0123456789ab", "http://127.0.0.1:2"))
    with pytest.raises(ServiceNotFound, match=r"2 fleet services run here: .*127.0.0.1:2.*127.0.0.1:1.*--fleet"):
        runtime.discover()
    assert runtime.discover(mine).url == "http://127.0.0.1:1"
    assert runtime.discover("0123456789ab").url == "http://127.0.0.1:2"
    runtime.withdraw("0123456789ab", "http://elsewhere")  # not its URL: kept
    assert len(runtime.running()) == 2
    # a service killed without withdrawing: its file names a dead pid and is passed over
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    runtime.publish(runtime.Running(key="0123456789ab", url="http://127.0.0.1:2", token="t", pid=int(dead.stdout)))
    assert runtime.discover().url == "http://127.0.0.1:1"
    assert oct((tmp_path / "run" / f"fleet-{mine}.json").stat().st_mode & 0o777) == "0o600"


def test_operators_reach_the_centre_as_installed(tmp_path, monkeypatch, capsys):
    """The technician's guide, section 2: the centre runs from its own folder."""
    port = free_port()
    fleet = init_fleet(tmp_path / "fleet", broker_port=port)
    request(tmp_path / "k-01", "k-01")
    complete(fleet, tmp_path / "k-01", office="Dukcapil Denpasar", kecamatan="Denpasar Selatan")
    centre = tmp_path / "etc" / "centre"
    export_centre(fleet, centre)
    (tmp_path / "fleet-config.json").write_text(json.dumps({"sample_every_s": 0.2, "tick_every_s": 0.2}))
    broker = BrokerProcess(write_config(fleet, tmp_path / "conf", port=port, persistence=False), port)
    broker.start(log=tmp_path / "mosquitto.log")
    monkeypatch.setenv("ANJUNGAN_RUNTIME_DIR", str(tmp_path / "run"))
    # another fleet's service on this host, by the same user
    runtime.publish(_running("0123456789ab", "http://127.0.0.1:9"))
    # as installed: the centre folder's stores.json names the stores (anjungan/stores.py), the
    # unit gives neither --db nor --fleet-db, and staff are added before the service starts
    store = f"sqlite://{tmp_path / 'var' / 'fleet-health.db'}"
    (tmp_path / "var").mkdir()
    (centre / STORES_FILE).write_bytes(render({Store.QUEUE: f"sqlite://{tmp_path / 'var' / 'queue.db'}",
                                               Store.FLEET: store}))
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["fleet", "add-staff", "ayu", "--fleet", str(centre), "--password-stdin"]) == 0
    assert capsys.readouterr().out == f"staff user ayu saved in {store}\n"  # the store the centre will read
    server = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "broker", "run", "--fleet", str(centre),
         "--mqtt", f"mqtts://127.0.0.1:{port}", "--siak", "http://127.0.0.1:9", "--siak-insecure-http",
         "--http", "127.0.0.1:0", "--fleet-config", str(tmp_path / "fleet-config.json")],
        stdout=subprocess.PIPE, stderr=open(tmp_path / "service.log", "wb"), text=True,  # noqa: SIM115
        env={**os.environ, "ANJUNGAN_RUNTIME_DIR": str(tmp_path / "run")})
    kiosk = None
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip().removeprefix("staff dashboard: ")
        assert url.startswith("http://"), (tmp_path / "service.log").read_text()
        assert (tmp_path / "var" / "queue.db").exists()  # its queue too
        with httpx.Client(base_url=url, timeout=10) as c:
            page = c.get("/login")
            r = c.post("/login", data={"username": "ayu", "password": PASSWORD, "csrf": csrf_of(page.text)})
            assert r.status_code == 303  # the staff added with --fleet CENTRE can sign in
        bundle = load_bundle(tmp_path / "k-01")
        kiosk = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="k-01")
        kiosk.tls_set(ca_certs=bundle.ca_file, certfile=bundle.cert_file, keyfile=bundle.key_file,
                      tls_version=ssl.PROTOCOL_TLS_CLIENT)
        kiosk.connect("127.0.0.1", port)
        kiosk.loop_start()
        online = KioskStatus(kiosk_id="k-01", state="online", session_id="s1", at=0.0)
        kiosk.publish(topics.topic("k-01", "status"), online.to_json(), qos=1, retain=True).wait_for_publish(10)

        def fleet_status() -> dict:
            capsys.readouterr()
            assert main(["fleet", "status", "--fleet", str(tmp_path / "fleet"), "--json"]) == 0
            return json.loads(capsys.readouterr().out)

        assert wait_until(lambda: fleet_status()["kiosks"], timeout=20)
        row = fleet_status()["kiosks"][0]
        assert (row["kiosk_id"], row["office"], row["kecamatan"]) == ("k-01", "Dukcapil Denpasar", "Denpasar Selatan")
        assert main(["fleet", "set-site", "k-01", "--office", "Dukcapil Denpasar", "--kecamatan", "Denpasar Barat",
                     "--fleet", str(centre)]) == 0
        said = capsys.readouterr().out
        assert said.startswith(f"kiosk k-01: office 'Dukcapil Denpasar', kecamatan 'Denpasar Barat' saved in {store}")
        assert wait_until(lambda: fleet_status()["kiosks"][0]["kecamatan"] == "Denpasar Barat", timeout=20)
        token = runtime.discover(runtime.fleet_key(centre)).token
        metrics = httpx.get(url + "/metrics", headers={"authorization": f"Bearer {token}"}, timeout=10).text
        for family in ("anjungan_fleet_kiosks", "anjungan_ingest_messages", "anjungan_ingest_set_aside",
                       "anjungan_relay_packets", "anjungan_siak_call_seconds"):
            assert f"# HELP {family}" in metrics, family  # the centre's counters beside the fleet's
        assert main(["fleet", "status"]) == 1  # two fleets here: it names both, guesses neither
        err = capsys.readouterr().err
        assert "2 fleet services run here" in err and url in err and "--fleet" in err
    finally:
        if kiosk is not None:
            kiosk.loop_stop()
            kiosk.disconnect()
        server.terminate()
        server.wait(timeout=20)
        broker.stop()
    assert [r.key for r in runtime.running()] == ["0123456789ab"]  # its own file withdrawn


def test_operator_commands_refuse_when_the_running_service_uses_another_store(tmp_path, monkeypatch, capsys):
    """A service started by hand with another --fleet-db: add-staff says so instead of writing
    to a store nobody reads."""
    monkeypatch.setenv("ANJUNGAN_RUNTIME_DIR", str(tmp_path / "run"))
    fleet = init_fleet(tmp_path / "fleet")
    export_centre(fleet, tmp_path / "centre")
    other = f"sqlite://{tmp_path / 'elsewhere.db'}"
    runtime.publish(runtime.Running(key=runtime.fleet_key(tmp_path / "centre"), url="http://127.0.0.1:1",
                                    token="t", pid=os.getpid(), store=other))
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["fleet", "add-staff", "ayu", "--fleet", str(tmp_path / "centre"), "--password-stdin"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"uses {other}" in err and f"--db {other}" in err
    assert not (tmp_path / "elsewhere.db").exists()
