"""Fixtures for running past one database: a real PgBouncer in front of the test database.

`pgbouncer` starts Debian's PgBouncer (the `pgbouncer` package; `.ci/run` installs it) as a
private process on a free loopback port, with a generated configuration in a temporary directory:
transaction pooling, `auth_type = any` (it logs in to PostgreSQL as the role its database entry
names, over the trust authentication of the test server) and a server pool smaller than the
clients the tests open. Without the package installed, the tests that need it are skipped.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.conftest import Database

#: Server connections PgBouncer keeps per database and role; the tests open more clients.
SERVER_POOL_SIZE = 2


@dataclass(frozen=True)
class PgBouncer:
    port: int
    database: str  # the name clients ask for; PgBouncer maps it to the test database
    log: Path

    def url(self, role: str = "app") -> str:
        """A client URL (the role is ignored: `auth_type = any` uses the database entry's)."""
        return f"postgresql://{role}@127.0.0.1:{self.port}/{self.database}"

    def admin(self) -> psycopg.Connection:
        """PgBouncer's own console (`SHOW POOLS`, `SHOW SERVERS`, ...)."""
        return psycopg.connect(
            f"postgresql://pgbouncer@127.0.0.1:{self.port}/pgbouncer",
            autocommit=True,
            prepare_threshold=None,
        )


def _executable() -> str | None:
    return shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer",) if os.access(path, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _config(database: Database, port: int) -> str:
    server = urlsplit(database.runtime_url)
    return "\n".join(
        [
            "[databases]",
            f"app = host={server.hostname} port={server.port or 5432} dbname={database.name}"
            f" user={database.runtime}",
            "",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "auth_type = any",
            "pool_mode = transaction",
            f"default_pool_size = {SERVER_POOL_SIZE}",
            "min_pool_size = 0",
            "reserve_pool_size = 0",
            "max_client_conn = 200",
            "admin_users = pgbouncer",
            "ignore_startup_parameters = extra_float_digits,options",
            "",
        ]
    )


@pytest.fixture(scope="session")
def pgbouncer(database: Database) -> Iterator[PgBouncer]:
    executable = _executable()
    if executable is None:
        pytest.skip("PgBouncer is not installed (apt-get install pgbouncer; .ci/run installs it)")
    # PgBouncer refuses to run as root; as root it drops to the PostgreSQL server's user, who
    # must be able to read the configuration and write the log.
    directory = Path(tempfile.mkdtemp(prefix="samenleren-pgbouncer-"))
    directory.chmod(0o755)
    log = directory / "pgbouncer.log"
    port = _free_port()
    ini = directory / "pgbouncer.ini"
    ini.write_text(_config(database, port))
    command = [executable, str(ini)]
    if os.geteuid() == 0:
        user = next((u for u in ("postgres", "nobody") if _user_exists(u)), "nobody")
        os.chown(directory, pwd.getpwnam(user).pw_uid, -1)
        command[1:1] = ["-u", user]
    # Its log goes to stderr, into a file this process opened (no pipe that could fill up).
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    bouncer = PgBouncer(port=port, database="app", log=log)
    try:
        _wait_until_ready(bouncer, process)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _wait_until_ready(bouncer: PgBouncer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            log = bouncer.log.read_text()
            raise RuntimeError(f"pgbouncer exited ({process.returncode}): {log}")
        try:
            with psycopg.connect(bouncer.url(), connect_timeout=2, prepare_threshold=None) as c:
                c.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
