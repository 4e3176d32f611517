"""A throw-away PostgreSQL server on loopback for the store tests: Debian's ``postgresql`` binaries
(``make test`` installs them with apt when they are missing and apt can run), a fresh cluster in a
temporary directory with password authentication, stopped and deleted at the end."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PASSWORD = "pg-s3cret-test"


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """``start()`` → a URL ``postgresql://codesign:<password>@127.0.0.1:<port>/codesign``; ``stop()``."""

    def __init__(self):
        self.bin = _bin_dir()
        self.dir = None
        self.port = None
        self.user_prefix: list[str] = []

    def why_not(self) -> str | None:
        if self.bin is None:
            return "PostgreSQL's initdb not found (Debian: apt-get install postgresql)"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root without a `postgres` user to run the server as"
            if shutil.which("runuser") is None:
                return "running as root without runuser"
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return "psycopg is not installed (pip install codesign[postgres])"
        return None

    def _run(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([*self.user_prefix, *args], capture_output=True, text=True, timeout=120, **kw)

    def start(self) -> str:
        self.dir = Path(tempfile.mkdtemp(prefix="codesign-pg-", dir="/tmp"))
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.user_prefix = ["runuser", "-u", "postgres", "--"]
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.user_prefix:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        data = self.dir / "data"
        r = self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "codesign", "--auth=scram-sha-256",
                      f"--pwfile={pwfile}", "-E", "UTF8")
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr[-500:]}")
        self.port = _free_port()
        self.restart()
        r = self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "codesign",
                      "codesign", env={**os.environ, "PGPASSWORD": PASSWORD})
        if r.returncode != 0:
            raise RuntimeError(f"createdb failed: {r.stderr[-500:]}")
        return self.url()

    def url(self, password: str = PASSWORD) -> str:
        return f"postgresql://codesign:{password}@127.0.0.1:{self.port}/codesign"

    def restart(self) -> None:
        r = self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w",
                      "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {r.stderr[-500:]} {(self.dir / 'log').read_text()[-500:]}")
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)

    def halt(self) -> None:
        """Stop the server (its data stays) — a database that went away."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        if self.dir is not None:
            self.halt()
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
