"""A private PostgreSQL for tests and benches: `initdb` + `pg_ctl` in a temporary folder,
on a free loopback port (the test suite starts one per session, tests/conftest.py;
`anjungan bench scale` one per run). Production databases are the system's own (see
docs/deployment.md).

Nothing needs to be running on the machine: only Debian's `postgresql` package installed
(scripts/setup.sh installs it).

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system
user (or `nobody`). Settings are for speed, not durability against a power cut: `fsync`
is off (a killed *client* or server process still loses nothing committed; only an
operating-system crash would).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from broker.errors import QueueError
from provisioning.broker_process import free_port


def pg_bin(name: str) -> str:
    """A PostgreSQL server binary: on PATH, else the newest under /usr/lib/postgresql."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not versions:
        raise QueueError(f"PostgreSQL's {name} is not installed; run: sudo apt-get install postgresql")
    return versions[-1]


def _owner() -> str | None:
    """Who runs the server: you, unless you are root."""
    if os.geteuid() != 0:
        return None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
            return user
        except KeyError:
            continue
    raise QueueError("running as root and no unprivileged user (postgres, nobody) for PostgreSQL")


class PrivateCluster:
    """One PostgreSQL server in a temporary folder; `url` is a trust-auth superuser URL."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="anjungan-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user = _owner()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, user=self.user, cwd=self.root)

    def start(self) -> PrivateCluster:
        """Create the cluster on first start; start it (again, after `crash`)."""
        if not self.data.exists():
            if self.user:
                entry = pwd.getpwnam(self.user)
                os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "--no-sync", "-E", "UTF8", "--locale=C")
        options = (f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
                   " -c fsync=off -c full_page_writes=off -c max_connections=300")
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")
        self._wait()
        return self

    def _wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def replica(self, name: str = "standby") -> PrivateCluster:
        """A streaming standby of this running cluster, started (`pg_basebackup -R`): read-only,
        following this one, known to it as `name` (for `synchronous_standby_names`)."""
        standby = PrivateCluster()
        if standby.user:
            entry = pwd.getpwnam(standby.user)
            os.chown(standby.root, entry.pw_uid, entry.pw_gid)
        source = f"host=127.0.0.1 port={self.port} user=postgres application_name={name}"
        standby._run(pg_bin("pg_basebackup"), "-d", source, "-D", str(standby.data), "-R", "-X", "stream",
                     "--no-sync", "-c", "fast")
        return standby.start()

    def promote(self) -> None:
        """A standby becomes a primary (what an operator does when the primary is lost)."""
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "promote")

    def crash(self) -> None:
        """Stop at once, as a crash does (`-m immediate`: no checkpoint; the next start
        recovers from the WAL). The data stay for `start`."""
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        try:
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
