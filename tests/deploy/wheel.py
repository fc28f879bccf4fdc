"""A wheel of this source tree in a second, offline: the tests must not need a build backend
from PyPI (a real release is built with `pip wheel --no-deps .`)."""

from __future__ import annotations

import base64
import hashlib
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("anjungan", "entrypoints", "kiosk", "firmware", "drivers", "broker", "provisioning", "deploy")


def build_wheel(out: Path, version: str, *, edits: dict[str, bytes] | None = None) -> Path:
    """`edits`: bytes appended to files, to tell this release's files from another's."""
    info = f"anjungan-{version}.dist-info"
    files: dict[str, bytes] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[path.relative_to(ROOT).as_posix()] = path.read_bytes()
    for name, extra in (edits or {}).items():
        files[name] += extra
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requires = "".join(f"Requires-Dist: {dep}\n" for dep in project["dependencies"])
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: anjungan\nVersion: {version}\n"
                                 f"Requires-Python: {project['requires-python']}\n{requires}").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\nanjungan = entrypoints.cli:main\n"
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    wheel = out / f"anjungan-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return wheel


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
