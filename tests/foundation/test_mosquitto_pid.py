"""`provision mosquitto --pid-file`: the broker started from that config writes its pid where
the signer and the CRL keeper (`--broker-pid-file`, as the shipped units give it) look, so
a pushed CRL reaches the running broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.cli import main
from provisioning.broker_process import BrokerProcess, free_port
from provisioning.fleet import init_fleet
from provisioning.keeper import BrokerRef, signal_broker
from provisioning.mosquitto import write_config
from tests.waiting import wait_until


def test_the_broker_writes_the_pid_file_the_keeper_signals(tmp_path: Path) -> None:
    port = free_port()
    fleet = init_fleet(tmp_path / "fleet", broker_port=port)
    pid_file = tmp_path / "run" / "mosquitto.pid"
    pid_file.parent.mkdir()
    conf = write_config(fleet, tmp_path / "conf", port=port, persistence=False, pid_file=str(pid_file))
    assert f"pid_file {pid_file}\n" in conf.read_text()
    broker = BrokerProcess(conf, port)
    broker.start(log=tmp_path / "mosquitto.log")
    try:
        assert broker.process is not None
        assert wait_until(lambda: pid_file.exists() and pid_file.read_text().strip() == str(broker.process.pid))
        assert signal_broker(BrokerRef(pid_file=pid_file)) == broker.process.pid  # SIGHUP: reload
        assert wait_until(lambda: broker.process.poll() is None, timeout=2)  # reloaded, not stopped
    finally:
        broker.stop()


@pytest.mark.parametrize("bad", ["run/relative.pid", "/run/a\ninclude_dir /tmp", "/run/a b.pid", "/" + "x" * 300])
def test_a_bad_pid_file_is_one_line(bad: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    init_fleet(tmp_path / "fleet")
    assert main(["provision", "mosquitto", str(tmp_path / "fleet"), "--out", str(tmp_path / "conf"),
                 "--pid-file", bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--pid-file" in err
    assert not (tmp_path / "conf").exists()
