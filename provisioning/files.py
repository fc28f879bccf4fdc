"""Small file helpers: atomic writes, private (0600) key files, JSON documents."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from provisioning.errors import ProvisioningError


def write_atomic(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ProvisioningError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise ProvisioningError(f"cannot read {what} {path}: {exc.strerror}") from None


def read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(read_bytes(path, what))
    except ValueError:
        raise ProvisioningError(f"{what} is not valid JSON: {path}") from None
    if not isinstance(data, dict):
        raise ProvisioningError(f"{what} must be a JSON object: {path}")
    return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
