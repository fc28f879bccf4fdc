"""The import rules of ARCHITECTURE.md, enforced."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = {"anjungan", "firmware", "drivers", "kiosk", "broker", "provisioning", "deploy"}
ALLOWED = {
    "firmware": set(),
    "anjungan": set(),
    "provisioning": {"anjungan"},
    "drivers": {"anjungan", "firmware"},
    "kiosk": {"anjungan", "drivers", "provisioning"},
    "broker": {"anjungan", "provisioning"},
    "deploy": {"anjungan"},
}


def is_entrypoint(path: Path) -> bool:
    """`anjungan`'s composition roots: the CLI and the end-to-end demo."""
    rel = path.relative_to(ROOT / "anjungan").parts
    return rel[0] == "demo" or (len(rel) == 1 and (path.stem == "cli" or path.stem.endswith("_cli")))


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
            # entrypoints compose components; a benchmark builds a throwaway fleet
            if package == "anjungan" and (is_entrypoint(path) or path.stem == "bench"):
                continue
            bad = imported_packages(path) - allowed - {package}
            if bad:
                breaches.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert breaches == []
