"""The import rules of ARCHITECTURE.md, enforced: here per file, with no exceptions, and in
full (indirect imports, cycles, the pure cores) by the import-linter contracts in
pyproject.toml, which this test runs too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = {"anjungan", "entrypoints", "firmware", "drivers", "kiosk", "broker", "provisioning", "deploy"}
ALLOWED = {
    "firmware": set(),
    "anjungan": set(),
    "provisioning": {"anjungan"},
    "drivers": {"anjungan", "firmware"},
    "kiosk": {"anjungan", "drivers", "provisioning"},
    "broker": {"anjungan", "provisioning"},
    "deploy": {"anjungan"},
}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


def test_packages_import_only_what_architecture_allows():
    breaches = []
    for package, allowed in ALLOWED.items():
        for path in (ROOT / package).rglob("*.py"):
            bad = imported_packages(path) - allowed - {package}
            if bad:
                breaches.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert breaches == []


def test_the_import_contracts_hold():
    import subprocess
    import sys

    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]


def test_the_installer_and_the_contracts_import_with_the_standard_library_alone():
    """`anjungan install` runs `python3 -m deploy` from the release wheel on a bare Debian,
    before any virtualenv exists: deploy and the contracts it reads need no third-party
    package at import time (-S: no site-packages at all)."""
    import subprocess
    import sys

    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
            "import deploy.cli, anjungan.messages, anjungan.stores, anjungan.contact, anjungan.topics")
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-600:]
