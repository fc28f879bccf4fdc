"""The kiosk's commands: bad input is one line and non-zero; the bench reports its numbers;
the sim peripherals of the drivers satisfy the kiosk's port; scripts parse strictly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anjungan.packet.model import Modality
from drivers.factory import open_peripherals
from drivers.peripherals import Peripherals
from entrypoints.cli import main
from kiosk.errors import ScriptError
from kiosk.officers import load_officers, verify_pin
from kiosk.ports import capture
from kiosk.script import parse_script
from provisioning.bundle import KioskBundle

SCRIPTS = Path(__file__).resolve().parents[2] / "kiosk" / "scripts"


def run(*argv: str) -> int:
    try:
        return main(list(argv))
    except SystemExit as exc:  # argparse's own usage errors
        return int(exc.code or 0)


@pytest.mark.parametrize("argv", [
    ["kiosk", "run", "--bundle", "/nonexistent", "--headless"],
    ["kiosk", "run", "--bundle", "/tmp", "--script", "x.json"],
    ["kiosk", "run", "--bundle", "/tmp", "--lang", "fr"],
    ["kiosk", "run", "--bundle", "/tmp", "--broker", "nohostport", "--headless"],
    ["bench", "kiosk", "--sessions", "0"],
])
def test_bad_input_is_one_line_and_non_zero(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    assert run(*argv) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_script_is_one_line(bundle: KioskBundle, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"tap": "start"}, {"dance": 1}]')
    assert run("kiosk", "run", "--bundle", str(bundle.root), "--headless", "--script", str(bad)) == 2
    err = capsys.readouterr().err
    assert "step 2: unknown action 'dance'" in err and err.count("\n") == 1


@pytest.mark.parametrize("text,message", [
    ("{", "not JSON"), ("{}", "JSON list"), ('[{"tap": 1}]', "bad value"),
    ('[{"tap": "a", "type": "b"}]', "exactly one key"), ('[{"wait": -1}]', "wait must be"),
    ('[{"capture": 0}]', "positive count"), ('[{"wait": true}]', "bad value"),
])
def test_script_parser_rejects(text: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        parse_script(text)


def test_shipped_scripts_parse() -> None:
    for path in SCRIPTS.glob("*.json"):
        assert parse_script(path.read_text(), path.name), path.name


def test_add_officer_reads_the_pin_from_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("2468\n"))
    assert run("kiosk", "add-officer", "--file", str(tmp_path / "o.json"), "--officer-id", "12345") == 0
    officers = load_officers(tmp_path / "o.json")
    assert verify_pin(officers, "12345", "2468") and not verify_pin(officers, "12345", "1111")
    assert "2468" not in (tmp_path / "o.json").read_text()


def test_drivers_sim_satisfies_the_kiosk_port() -> None:
    port: Peripherals = open_peripherals("sim")
    samples = capture(port, Modality.FINGER, ("right_index", "right_middle"))
    assert [s.position for s in samples] == ["right_index", "right_middle"]
    assert all(0 <= s.quality <= 100 and s.image for s in samples)
    port.close()


def test_bench_reports_overhead_and_frame_time(capsys: pytest.CaptureFixture) -> None:
    assert run("bench", "kiosk", "--json", "--sessions", "1") == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"overhead_s", "frame_ms_p95", "sessions"}
    assert result["sessions"] == 1 and result["packets_stored"] == 2


def test_the_panel_comes_from_its_diagonal_or_pitch_and_the_distance_sets_large_text() -> None:
    from kiosk.cli import panel_for

    official = panel_for((800, 480), inches=None, px_per_mm=None, distance_cm=50)
    assert round(official.px_per_mm, 2) == round(480 / 85.9, 2)
    seven = panel_for((800, 480), inches=7, px_per_mm=None, distance_cm=50)
    assert 5.2 < seven.px_per_mm < 5.3  # 933 px over 177.8 mm
    pitch = panel_for((1920, 1080), inches=None, px_per_mm=4.0, distance_cm=80)
    assert pitch.px_per_mm == 4.0 and round(pitch.min_cap_mm(True), 1) == 9.8  # 0.7° at 80 cm


@pytest.mark.parametrize("option", ["--panel-inches", "--px-per-mm", "--viewing-distance"])
@pytest.mark.parametrize("value", ["nan", "inf", "-7", "0", "1e999", "1e300", "seven", ""])
def test_a_bad_panel_is_one_line_naming_it(option: str, value: str, bundle: KioskBundle,
                                           capsys: pytest.CaptureFixture) -> None:
    assert run("kiosk", "run", "--bundle", str(bundle.root), "--headless", option, value) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert option in err or "panel:" in err


def test_diagonal_and_pitch_are_one_or_the_other(bundle: KioskBundle, capsys: pytest.CaptureFixture) -> None:
    assert run("kiosk", "run", "--bundle", str(bundle.root), "--headless", "--panel-inches", "7",
               "--px-per-mm", "5") == 2
    assert "not allowed with" in capsys.readouterr().err
