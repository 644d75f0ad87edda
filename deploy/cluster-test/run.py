"""A loopback cluster that loses nodes: nginx, two web nodes, two workers, one scheduler.

Run from the repository root with the project's virtualenv (see deploy/README.md, "Cluster
test")::

    .venv/bin/python deploy/cluster-test/run.py            # the full run (about 6 minutes)
    .venv/bin/python deploy/cluster-test/run.py --short    # the same scenarios, shorter
    .venv/bin/python deploy/cluster-test/run.py --write    # full run, into docs/performance.md

Everything runs in a temporary directory, on free ports: a private PostgreSQL (initdb, as the
`postgres` user when run as root), a private redis-server (append-only file, as production's
Valkey), an SMTP sink that records every message it accepts, the development identity provider,
nginx (Debian's) in front of two gunicorn nodes, two RQ workers and the scheduler. The database
is migrated, the shipped tenants onboarded and seeded with demo data. Then virtual users of each
role log in through the identity provider and browse their pages and post forms (coaches
schedule conversations, which writes the step and mails invitations in one transaction), while
the scenarios run one after the other:

1. web node: SIGKILL one gunicorn (master and workers), start it again;
2. worker: a burst of mails is being delivered; SIGKILL the worker that sends, start it again;
3. Redis stopped for 30 s (rate limits, enqueueing, mails and an export requested meanwhile);
4. PostgreSQL restarted (`pg_ctl restart -m fast`).

Afterwards the database is compared with what the clients saw and what the SMTP sink received.
The script prints a table and exits non-zero when a goal is missed. Nothing outside the
temporary directory is touched; every process it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BIN = Path(sys.executable).parent
DOC = REPO / "docs" / "performance.md"
DOC_HEADING = "## Cluster test (deploy/cluster-test/run.py)"


# --- small helpers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except Exception:  # noqa: BLE001 - anything means "not yet"
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(interval)


def wait_until(check, timeout: float, interval: float = 0.5) -> bool:
    """Like wait_for, but False instead of an error when the time is up."""
    try:
        wait_for(check, timeout, "", interval)
    except RuntimeError:
        return False
    return True


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def postgres_bin() -> Path:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if not versions:
        raise SystemExit("PostgreSQL's server binaries are missing (apt-get install postgresql)")
    return versions[-1].parent


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as the `postgres` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


# --- the processes ------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    command: list[str]
    env: dict[str, str]
    logfile: Path
    popen: subprocess.Popen | None = None

    def start(self) -> Proc:
        out = self.logfile.open("ab")
        # A session (process group) of its own: a kill takes the whole "node", children too.
        self.popen = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen is None:
            return
        # RQ's work horse runs in a session of its own (setsid): a lost node takes it too.
        children = descendants(self.popen.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=20)

    def stop(self) -> None:
        if self.alive():
            self.kill(signal.SIGTERM)
        if self.alive():
            self.kill(signal.SIGKILL)


def descendants(pid: int) -> list[int]:
    """The processes below `pid`, from /proc (children, their children, ...)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Cluster:
    """Every process of the test, started and stopped here."""

    def __init__(self, workdir: Path, options: argparse.Namespace) -> None:
        self.workdir = workdir
        self.options = options
        self.procs: dict[str, Proc] = {}
        self.pg_bin = postgres_bin()
        self.pg_data = workdir / "pgdata"
        self.ports = {
            name: free_port()
            for name in ("postgres", "redis", "smtp", "idp", "nginx", "web1", "web2")
        }
        self.base_url = f"http://127.0.0.1:{self.ports['nginx']}"
        self.issuer = f"http://localhost:{self.ports['idp']}"
        self.env = self._environment()

    # -- environment

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports['postgres']}/{database}"

    def _environment(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SAMENLEREN_", "GUNICORN_"))
            and key
            not in {
                "DATABASE_URL",
                "MIGRATIONS_DATABASE_URL",
                "REDIS_URL",
                "SMTP_URL",
                "PROMETHEUS_MULTIPROC_DIR",
            }
        }
        pg = self.ports["postgres"]
        env.update(
            {
                # development: the identity provider runs on http://localhost, and cookies
                # travel over plain HTTP; everything else is set as in production.
                "SAMENLEREN_ENV": "development",
                "SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
                "SAMENLEREN_SECRET_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "DATABASE_URL": f"postgresql://sl_app@127.0.0.1:{pg}/samenleren",
                "MIGRATIONS_DATABASE_URL": f"postgresql://sl_owner@127.0.0.1:{pg}/samenleren",
                "REDIS_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
                "SMTP_URL": f"smtp://127.0.0.1:{self.ports['smtp']}",
                "SAMENLEREN_BASE_URL": self.base_url,
                "SAMENLEREN_PROXY_FIX": "1",
                "SAMENLEREN_MAIL_DIR": str(self.workdir / "mail"),
                # Claimed mails of a killed worker are taken over after this (production: 300).
                "SAMENLEREN_MAIL_LEASE_SECONDS": str(self.options.lease),
                # Every virtual user logs in from 127.0.0.1: the limits stay on (they are part
                # of the Redis scenario), but high enough for the load.
                "SAMENLEREN_RATELIMIT_LOGIN": "100000 per minute",
                "SAMENLEREN_RATELIMIT_CALLBACK": "100000 per minute",
                "SAMENLEREN_LOG_LEVEL": "INFO",
                "GUNICORN_WORKERS": str(self.options.gunicorn_workers),
                "GUNICORN_THREADS": str(self.options.gunicorn_threads),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for manifest in sorted((REPO / "tenants").glob("*.toml")):
            secret_env = tomllib.loads(manifest.read_text())["sso"]["client_secret_env"]
            env[secret_env] = "any-secret-the-development-idp-accepts"
        return env

    def _proc(self, name: str, command: list[str], **extra: str) -> Proc:
        proc = Proc(name, command, {**self.env, **extra}, self.workdir / "logs" / f"{name}.log")
        self.procs[name] = proc
        return proc.start()

    # -- PostgreSQL

    def start_postgres(self) -> None:
        self.workdir.chmod(0o755)
        self.pg_data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.pg_data, "postgres", "postgres")
        subprocess.run(
            as_postgres(
                [
                    str(self.pg_bin / "initdb"),
                    "-D",
                    str(self.pg_data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale",
                    "C",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.pg_ctl("start")

    def pg_ctl(self, action: str) -> None:
        options = (
            f"-p {self.ports['postgres']} -c listen_addresses=127.0.0.1 "
            f"-k {self.pg_data} -c max_connections=200"
        )
        subprocess.run(
            as_postgres(
                [
                    str(self.pg_bin / "pg_ctl"),
                    "-D",
                    str(self.pg_data),
                    "-w",
                    "-t",
                    "60",
                    "-m",
                    "fast",
                    "-l",
                    str(self.pg_data / "server.log"),
                    "-o",
                    options,
                    action,
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url(), autocommit=True) as admin:
            for role in ("sl_owner", "sl_app"):
                admin.execute(
                    f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
                )
            admin.execute("CREATE DATABASE samenleren OWNER sl_owner")
        with psycopg.connect(self.admin_url("samenleren"), autocommit=True) as admin:
            admin.execute("ALTER SCHEMA public OWNER TO sl_owner")

    # -- Redis

    def start_redis(self) -> None:
        (self.workdir / "redis").mkdir(exist_ok=True)
        self._proc(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.ports["redis"]),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir / "redis"),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--maxmemory-policy",
                "noeviction",
            ],
        )
        wait_for(self.redis_ping, 10, "redis")

    def redis_ping(self) -> bool:
        from redis import Redis

        return Redis(port=self.ports["redis"], socket_connect_timeout=0.5).ping()

    # -- the application's processes

    def flask(self, *args: str) -> list[str]:
        return [str(BIN / "flask"), "--app", "samenleren", *args]

    def start_web(self, name: str) -> None:
        self._proc(
            name,
            [
                str(BIN / "gunicorn"),
                "--config",
                str(REPO / "deploy" / "gunicorn.conf.py"),
                "samenleren.wsgi:app",
            ],
            GUNICORN_BIND=f"127.0.0.1:{self.ports[name]}",
            # Each node's own metric files (gunicorn.conf.py empties the folder at its start).
            PROMETHEUS_MULTIPROC_DIR=str(self.workdir / f"metrics-{name}"),
        )

    def web_ready(self, name: str) -> bool:
        import requests

        return requests.get(f"http://127.0.0.1:{self.ports[name]}/healthz", timeout=1).ok

    def start_worker(self, name: str) -> None:
        self._proc(name, self.flask("worker"))

    def start_nginx(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            raise SystemExit("nginx is missing (apt-get install nginx-light)")
        (self.workdir / "nginx").mkdir()
        config = Template((HERE / "nginx.conf.template").read_text()).substitute(
            workdir=self.workdir,
            port=self.ports["nginx"],
            web1=self.ports["web1"],
            web2=self.ports["web2"],
            user=os.environ.get("USER") or "root",
        )
        path = self.workdir / "nginx" / "nginx.conf"
        path.write_text(config)
        self._proc("nginx", [nginx, "-p", str(self.workdir / "nginx"), "-c", str(path)])

    def helper(self, name: str, *args: str) -> Proc:
        return self._proc(name, [sys.executable, str(Path(__file__).resolve()), *args])

    def run_helper(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed:\n{result.stderr[-4000:]}")
        return result.stdout

    def start(self) -> dict:
        (self.workdir / "logs").mkdir()
        log(f"work directory {self.workdir}")
        self.start_postgres()
        self.create_database()
        self.start_redis()
        log("migrating")
        subprocess.run(
            self.flask("db", "upgrade"),
            env=self.env,
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        log("onboarding and seeding the demo tenants")
        setup = json.loads(self.run_helper("_setup", self.issuer))
        (self.workdir / "idp-users.json").write_text(json.dumps(setup["idp_users"]))
        self.helper("idp", "_idp", str(self.ports["idp"]), str(self.workdir / "idp-users.json"))
        self.helper(
            "smtp",
            "_sink",
            str(self.ports["smtp"]),
            str(self.workdir / "smtp.jsonl"),
            str(self.options.smtp_delay),
        )
        for name in ("web1", "web2"):
            self.start_web(name)
        self.start_nginx()
        for name in ("worker1", "worker2"):
            self.start_worker(name)
        self._proc("scheduler", self.flask("cron"))
        for name in ("web1", "web2"):
            wait_for(lambda name=name: self.web_ready(name), 120, f"{name} /healthz")
        wait_for(
            lambda: __import__("requests").get(self.base_url + "/readyz", timeout=2).ok,
            60,
            "nginx /readyz",
        )
        self.started_at = time.time()
        log(f"cluster up at {self.base_url}")
        return setup

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            self.pg_ctl("stop")

    def query(self, sql: str, *params):
        """Rows of `sql`, as the superuser (row-level security does not bind it)."""
        import psycopg

        with psycopg.connect(self.admin_url("samenleren"), connect_timeout=5) as connection:
            return connection.execute(sql, params).fetchall()


# --- the load -----------------------------------------------------------------------------------


@dataclass
class Sample:
    start: float
    end: float
    method: str
    name: str
    ok: bool
    status: int
    error: str = ""


@dataclass
class Post:
    """One appointment a coach posted: `token` is the place, unique per post."""

    token: str
    step: str
    start: float
    end: float
    status: int
    error: str


@dataclass
class Load:
    base_url: str
    issuer: str
    users: list[dict]
    samples: list[Sample] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    login_failures: int = 0

    def record(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def start(self) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._user, args=(user,), daemon=True) for user in self.users
        ]
        for thread in threads:
            thread.start()
        return threads

    def _request(self, session, method: str, name: str, path: str, **kwargs):
        started = time.time()
        try:
            response = session.request(
                # As long as nginx waits for a node (proxy_read_timeout): a slow answer is slow,
                # not failed (the slowest answer of each scenario is reported).
                method,
                self.base_url + path,
                timeout=60,
                allow_redirects=False,
                **kwargs,
            )
        except Exception as exc:  # noqa: BLE001 - any failure of the request is a sample
            self.record(Sample(started, time.time(), method, name, False, 0, type(exc).__name__))
            return None
        ok = response.status_code < 400 or (method == "POST" and response.status_code == 422)
        self.record(Sample(started, time.time(), method, name, ok, response.status_code))
        return response

    def _login(self, session, user: dict) -> bool:
        import requests

        slug, sub = user["tenant"], user["subject"]
        for _ in range(60):
            if self.stop_event.is_set():
                return False
            start = self._request(session, "GET", "login", f"/{slug}/auth/login")
            if start is not None and start.status_code == 302:
                try:
                    authorize = requests.post(
                        start.headers["Location"],
                        data={"sub": sub},
                        allow_redirects=False,
                        timeout=10,
                    )
                    callback = urlsplit(authorize.headers["Location"])
                except Exception:  # noqa: BLE001 - the IdP is not under test; try again
                    time.sleep(1)
                    continue
                answer = self._request(
                    session, "GET", "login callback", f"{callback.path}?{callback.query}"
                )
                if answer is not None and answer.status_code in (302, 303):
                    return True
            with self.lock:
                self.login_failures += 1
            time.sleep(1)
        return False

    def _user(self, user: dict) -> None:
        import requests

        rng = random.Random(user["subject"])
        session = requests.Session()
        if not self._login(session, user):
            return
        pages = user["pages"]
        while not self.stop_event.is_set():
            roll = rng.random()
            if user.get("step") and roll < 0.25:
                self._schedule(session, user, rng)
            elif roll < 0.3:
                # A login start: rate-limited, so it counts in Redis (or falls back).
                self._request(session, "GET", "login start", f"/{user['tenant']}/auth/login")
            else:
                path = rng.choice(pages)
                response = self._request(session, "GET", path_name(path), path)
                if response is not None and response.status_code in (302, 303):
                    location = response.headers.get("Location", "")
                    if "/auth/login" in location:  # the session was lost: log in again
                        self._login(session, user)
            time.sleep(rng.uniform(0.2, 0.6))

    def _schedule(self, session, user: dict, rng: random.Random) -> None:
        step_path = user["step"]
        page = self._request(session, "GET", "step page", step_path)
        if page is None or page.status_code != 200:
            return
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if not match:
            return
        token = f"cluster-{uuid.uuid4().hex[:12]}"
        starts = datetime.now(UTC) + timedelta(days=rng.randint(3, 60), minutes=rng.randint(0, 600))
        ends = starts + timedelta(hours=1)
        started = time.time()
        response = self._request(
            session,
            "POST",
            "schedule appointment",
            step_path + "/schedule",
            data={
                "csrf_token": match.group(1),
                "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
                "ends_at": ends.strftime("%Y-%m-%dT%H:%M"),
                "location": token,
                "video_url": "",
            },
        )
        with self.lock:
            self.posts.append(
                Post(
                    token,
                    step_path.rsplit("/", 1)[1],
                    started,
                    time.time(),
                    response.status_code if response is not None else 0,
                    "" if response is not None else "connection",
                )
            )


def path_name(path: str) -> str:
    """A page's name for the report: ids replaced by `<id>`."""
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", path)


# --- scenarios ----------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    window: tuple[float, float]
    facts: dict[str, object] = field(default_factory=dict)
    goals: list[tuple[str, bool]] = field(default_factory=list)


def failures_in(load: Load, start: float, end: float) -> tuple[int, int, int, int, Counter]:
    """(GETs, failed GETs, POSTs, failed POSTs) of requests that overlapped [start, end]."""
    gets = failed_gets = posts = failed_posts = 0
    kinds: Counter = Counter()
    with load.lock:
        samples = list(load.samples)
    for sample in samples:
        if sample.end < start or sample.start > end:
            continue
        if sample.method == "POST":
            posts += 1
            failed_posts += not sample.ok
        else:
            gets += 1
            failed_gets += not sample.ok
        if not sample.ok:
            kinds[f"{sample.method} {sample.status or sample.error}"] += 1
    return gets, failed_gets, posts, failed_posts, kinds


def slowest(load: Load, start: float, end: float) -> str:
    """The slowest answer among requests that overlapped [start, end], and the median."""
    with load.lock:
        times = sorted(s.end - s.start for s in load.samples if s.end >= start and s.start <= end)
    if not times:
        return "-"
    return f"{times[-1]:.1f} s (median {times[len(times) // 2]:.2f} s)"


def count_lines(path: Path, pattern: str, since_bytes: int = 0) -> int:
    with path.open("rb") as file:
        file.seek(since_bytes)
        return sum(1 for line in file if re.search(pattern.encode(), line))


def log_sizes(cluster: Cluster) -> dict[str, int]:
    return {
        name: proc.logfile.stat().st_size if proc.logfile.exists() else 0
        for name, proc in cluster.procs.items()
    }


def scenario_web_kill(cluster: Cluster, load: Load, pause: float) -> Result:
    log("scenario: SIGKILL web node 1")
    started = time.time()
    cluster.procs["web1"].kill(signal.SIGKILL)
    time.sleep(pause)
    cluster.start_web("web1")
    wait_for(lambda: cluster.web_ready("web1"), 120, "web1 again")
    restarted = time.time()
    time.sleep(pause)
    end = time.time()
    gets, failed_gets, posts, failed_posts, kinds = failures_in(load, started, end)
    result = Result("web node killed and restarted", (started, end))
    result.facts = {
        "requests": f"{gets} GET, {posts} POST",
        "failed": f"{failed_gets} GET, {failed_posts} POST {dict(kinds) or ''}",
        "node back after": f"{restarted - started:.1f} s",
        "slowest answer": slowest(load, started, end),
    }
    result.goals.append(("0 failed GETs across the kill", failed_gets == 0))
    return result


def burst_sent(cluster: Cluster, label: str) -> int:
    return cluster.query(
        "SELECT count(*) FROM notifications WHERE state = 'sent' AND key LIKE %s",
        f"cluster:{label}:%",
    )[0][0]


def registered_workers(cluster: Cluster) -> int:
    from redis import Redis
    from rq import Worker

    return len(Worker.all(connection=Redis(port=cluster.ports["redis"])))


def sender_of(cluster: Cluster, slug: str) -> str | None:
    """The worker (of ours) whose work horse runs the send job of tenant `slug` now."""
    from redis import Redis
    from rq import Worker
    from rq.job import Job
    from rq.serializers import JSONSerializer

    tenant_id = str(cluster.query("SELECT id FROM tenants WHERE slug = %s", slug)[0][0])
    connection = Redis(port=cluster.ports["redis"])
    for worker in Worker.all(connection=connection, serializer=JSONSerializer):
        job_id = worker.get_current_job_id()
        if not job_id:
            continue
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
        if (
            job.kwargs.get("job", "").endswith("send_due")
            and job.kwargs.get("tenant_id") == tenant_id
        ):
            for name in ("worker1", "worker2"):
                if cluster.procs[name].pid == worker.pid:
                    return name
    return None


def scenario_worker_kill(cluster: Cluster, load: Load, burst: int) -> Result:

    log(f"scenario: {burst} mails, SIGKILL the worker that sends them")
    started = time.time()
    cluster.run_helper("_burst", "flevoland", "worker-kill", str(burst))
    # Wait until the sending has begun, then kill the worker whose work horse sends.
    wait_for(lambda: burst_sent(cluster, "worker-kill") >= burst // 10, 120, "mails flowing")
    victim = wait_for(
        lambda: sender_of(cluster, "flevoland"), 30, "the worker sending the burst", interval=0.1
    )
    cluster.procs[victim].kill(signal.SIGKILL)
    killed = time.time()
    at_kill = burst_sent(cluster, "worker-kill")
    stranded = cluster.query(
        "SELECT count(*) FROM notifications WHERE state = 'sending' AND key LIKE %s",
        "cluster:worker-kill:%",
    )[0][0]
    log(f"killed {victim} after {at_kill} of {burst} mails; {stranded} claimed by it")
    time.sleep(5)
    cluster.start_worker(victim)
    # The killed worker's claimed mails come back after the lease; the periodic send_due
    # (every minute) or the next mail of the tenant sends them.
    done = wait_until(lambda: not outbox_due(cluster, "worker-kill"), cluster.options.lease + 150)
    end = time.time()
    wait_until(lambda: registered_workers(cluster) >= 2, 60)
    result = Result("worker killed mid-batch", (started, end))
    result.facts = {
        "mails in the burst": burst,
        "marked sent before the kill": at_kill,
        "left claimed by the killed worker": stranded,
        "all sent": f"{end - killed:.0f} s after the kill (lease {cluster.options.lease} s)",
    }
    result.goals += [
        ("the worker was killed while sending", victim is not None and stranded > 0),
        ("every mail of the burst sent", bool(done)),
    ]
    return result


def scenario_redis_down(cluster: Cluster, load: Load, seconds: float) -> Result:
    log(f"scenario: Redis stopped for {seconds:.0f} s")
    sizes = log_sizes(cluster)
    go, answer = cluster.workdir / "outage.go", cluster.workdir / "outage.export"
    worker = cluster.helper("outage-work", "_outage_work", str(go), str(answer))
    wait_for(lambda: (cluster.workdir / "outage.ready").exists(), 120, "the outage helper")
    started = time.time()
    cluster.procs["redis"].kill(signal.SIGTERM)  # a clean shutdown: the append-only file is kept
    time.sleep(1)
    # Work that must not be lost, asked for while Redis is away: mails and an export.
    go.touch()
    export_id = wait_for(lambda: answer.read_text().strip(), 60, "the outage's export")
    worker.stop()
    time.sleep(max(0.0, seconds - (time.time() - started)))
    cluster.start_redis()
    back = time.time()
    log("Redis is back")
    sent = wait_until(lambda: not outbox_due(cluster, "redis-down"), 150)
    mails_after = time.time() - back
    # The export's job was lost with the enqueue; the periodic cleanup (cron, every five
    # minutes) enqueues it again once it is REQUEUE_AFTER old. Run that cleanup now instead of
    # waiting for cron (--short: the request is made two minutes older instead of waiting).
    if cluster.options.short:
        cluster.query(
            "UPDATE exports SET requested_at = requested_at - interval '2 minutes' "
            "WHERE id = %s RETURNING id",
            export_id,
        )
    else:
        wait_until(lambda: False, max(0.0, 125 - (time.time() - started)))
    subprocess.run(
        cluster.flask("jobs", "run-periodic", "exports.clean_up"),
        env=cluster.env,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    built = wait_until(
        lambda: cluster.query("SELECT state FROM exports WHERE id = %s", export_id)[0][0] == "done",
        cluster.options.export_wait,
    )
    end = time.time()
    gets, failed_gets, posts, failed_posts, kinds = failures_in(load, started, back)
    limiter_lines = sum(
        count_lines(cluster.procs[name].logfile, r"(?i)rate limit", sizes.get(name, 0))
        for name in ("web1", "web2")
    )
    tracebacks = sum(
        count_lines(cluster.procs[name].logfile, r"^Traceback", sizes.get(name, 0))
        for name in ("web1", "web2")
    )
    scheduler_alive = cluster.procs["scheduler"].alive()
    workers_alive = all(cluster.procs[name].alive() for name in ("worker1", "worker2"))
    minutes = max(1.0, (back - started) / 60)
    result = Result(f"Redis stopped for {seconds:.0f} s", (started, end))
    result.facts = {
        "down for": f"{back - started:.0f} s",
        "slowest answer": slowest(load, started, back),
        "requests while down": f"{gets} GET, {posts} POST",
        "failed": f"{failed_gets} GET, {failed_posts} POST {dict(kinds) or ''}",
        "rate-limit log lines (2 nodes)": limiter_lines,
        "tracebacks in web logs": tracebacks,
        "25 mails asked for meanwhile": f"sent {mails_after:.0f} s after Redis returned",
        "export asked for meanwhile": "built" if built else "NOT built",
        "scheduler, workers survived": f"{scheduler_alive}, {workers_alive}",
    }
    processes = cluster.options.gunicorn_workers * 2
    result.goals += [
        ("pages answer while Redis is down", failed_gets == 0 and failed_posts == 0),
        (
            "rate-limit fallback logged at most once a minute per process",
            limiter_lines <= processes * (minutes + 1),
        ),
        ("no tracebacks in the web logs", tracebacks == 0),
        ("no job lost (mails, export)", bool(sent) and bool(built)),
        ("scheduler and workers still running", scheduler_alive and workers_alive),
    ]
    return result


def scenario_postgres_restart(cluster: Cluster, load: Load, settle: float) -> Result:
    log("scenario: PostgreSQL restart")
    sizes = log_sizes(cluster)
    started = time.time()
    cluster.pg_ctl("restart")
    back = time.time()
    time.sleep(settle)
    end = time.time()
    with load.lock:
        samples = [s for s in load.samples if s.start >= started - 1 and s.end <= end]
    failed = [s for s in samples if not s.ok]
    last_failure = max((s.end for s in failed), default=back)
    recovered_after = max(0.0, last_failure - back)
    stale_errors = sum(
        count_lines(
            cluster.procs[name].logfile,
            r"(?i)server closed the connection|terminating connection|connection .* refused|"
            r"OperationalError",
            sizes.get(name, 0),
        )
        for name in ("web1", "web2", "worker1", "worker2", "scheduler")
    )
    result = Result("PostgreSQL restarted", (started, end))
    result.facts = {
        "restart took": f"{back - started:.1f} s",
        "slowest answer": slowest(load, started, end),
        "failed requests": f"{len(failed)} of {len(samples)}",
        "last failure after PostgreSQL was back": f"{recovered_after:.1f} s",
        "connection-error log lines": stale_errors,
        "scheduler, workers survived": f"{cluster.procs['scheduler'].alive()}, "
        f"{all(cluster.procs[n].alive() for n in ('worker1', 'worker2'))}",
    }
    result.goals += [
        ("recovered within 5 s of the restart", recovered_after <= 5.0),
        (
            "scheduler and workers still running",
            all(cluster.procs[n].alive() for n in ("scheduler", "worker1", "worker2")),
        ),
    ]
    return result


# --- what the database and the SMTP sink say ----------------------------------------------------


def sink_messages(cluster: Cluster) -> list[dict]:
    path = cluster.workdir / "smtp.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def sink_count(cluster: Cluster) -> int:
    path = cluster.workdir / "smtp.jsonl"
    return path.read_text().count("\n") if path.exists() else 0


def outbox_due(cluster: Cluster, label: str | None = None) -> int:
    """Notifications due now but not sent (of one burst, or all)."""
    where = "" if label is None else " AND key LIKE %s"
    params = () if label is None else (f"cluster:{label}:%",)
    return cluster.query(
        "SELECT count(*) FROM notifications WHERE state IN ('pending', 'sending') "
        f"AND NOT digest AND due_at <= now(){where}",
        *params,
    )[0][0]


def check_mail(cluster: Cluster) -> Result:
    wait_for(lambda: outbox_due(cluster) == 0, 150, "the outbox to empty")
    time.sleep(2)
    rows = cluster.query("SELECT message_id, state FROM notifications")
    sent = {message_id for message_id, state in rows if state == "sent"}
    known = {message_id for message_id, _ in rows}
    deliveries = Counter(message["message_id"] for message in sink_messages(cluster))
    lost = sent - set(deliveries)
    doubled = {mid: n for mid, n in deliveries.items() if n > 1}
    unknown = set(deliveries) - known
    states = Counter(state for _, state in rows)
    result = Result("mail: outbox against SMTP sink", (0, 0))
    result.facts = {
        "outbox rows": dict(states),
        "messages received": sum(deliveries.values()),
        "distinct Message-IDs": len(deliveries),
        "sent but not received": len(lost),
        "received twice (same Message-ID)": len(doubled),
        "received without an outbox row": len(unknown),
    }
    result.goals += [
        ("0 lost mails", not lost and outbox_due(cluster) == 0),
        ("0 doubled mails", not doubled),
        ("nothing received that the outbox does not know", not unknown),
    ]
    return result


def check_posts(cluster: Cluster, load: Load) -> Result:
    """Each appointment posted is in the database with all its invitations, or not at all."""
    rows = cluster.query(
        "SELECT context->>'location', count(*) FROM notifications "
        "WHERE kind = 'invitation' AND context->>'location' LIKE 'cluster-%%' GROUP BY 1"
    )
    invitations = dict(rows)
    expected: dict[str, int] = {}
    for post in load.posts:
        if post.status == 303 and invitations.get(post.token):
            expected[post.step] = max(expected.get(post.step, 0), invitations[post.token])
    answered_done = [p for p in load.posts if p.status == 303]
    missing = [p for p in answered_done if not invitations.get(p.token)]
    partial = [
        p
        for p in load.posts
        if invitations.get(p.token) and invitations[p.token] != expected.get(p.step)
    ]
    unanswered = [p for p in load.posts if p.status not in (303, 422)]
    done_anyway = [p for p in unanswered if invitations.get(p.token)]
    result = Result("form posts: client against database", (0, 0))
    result.facts = {
        "appointments posted": len(load.posts),
        "answered 303 (done)": len(answered_done),
        "answered 422 (refused)": sum(p.status == 422 for p in load.posts),
        "failed (no answer, 5xx)": f"{len(unanswered)}, of which done: {len(done_anyway)}",
        "answered done, not in the database": len(missing),
        "partly written": len(partial),
    }
    result.goals += [
        ("every post answered 'done' is in the database", not missing),
        ("no post partly written", not partial),
    ]
    return result


# --- the report ---------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    lines = ["| scenario | measured | goal | met |", "|---|---|---|---|"]
    for result in results:
        facts = "; ".join(f"{key}: {value}" for key, value in result.facts.items())
        for index, (goal, met) in enumerate(result.goals or [("-", True)]):
            lines.append(
                f"| {result.scenario if index == 0 else ''} | {facts if index == 0 else ''} "
                f"| {goal} | {'yes' if met else '**NO**'} |"
            )
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text = DOC.read_text()
    start = text.find(DOC_HEADING)
    if start >= 0:
        following = text.find("\n## ", start + len(DOC_HEADING))
        text = text[:start] + section + (text[following + 1 :] if following >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text.rstrip("\n") + "\n")


def run(options: argparse.Namespace) -> int:
    import requests  # noqa: F401 - fail early when run outside the virtualenv

    workdir = Path(options.workdir or tempfile.mkdtemp(prefix="samenleren-cluster-"))
    cluster = Cluster(workdir, options)
    results: list[Result] = []
    load = None
    uptime_before = Path("/proc/loadavg").read_text().split()[:3]
    begun = time.time()
    try:
        setup = cluster.start()
        users = setup["load_users"][: options.users]
        load = Load(cluster.base_url, cluster.issuer, users)
        log(f"load: {len(users)} virtual users ({Counter(u['role'] for u in users)})")
        load.start()
        time.sleep(options.warmup)
        gets, failed_gets, posts, failed_posts, kinds = failures_in(load, 0, time.time())
        baseline = Result("steady load (warm-up)", (begun, time.time()))
        baseline.facts = {
            "requests": f"{gets} GET, {posts} POST",
            "slowest answer": slowest(load, 0, time.time()),
            "failed": f"{failed_gets} GET, {failed_posts} POST {dict(kinds) or ''}",
        }
        baseline.goals.append(("0 failed requests", failed_gets + failed_posts == 0))
        results.append(baseline)
        results.append(scenario_web_kill(cluster, load, options.pause))
        results.append(scenario_worker_kill(cluster, load, options.burst))
        results.append(scenario_redis_down(cluster, load, options.redis_down))
        time.sleep(options.pause)
        results.append(scenario_postgres_restart(cluster, load, options.pause * 2))
        load.stop_event.set()
        time.sleep(2)
        results.append(check_posts(cluster, load))
        results.append(check_mail(cluster))
    except Exception as exc:  # noqa: BLE001 - report what was measured, then fail
        log(f"ERROR: {exc}")
        results.append(
            Result("the run itself", (0, 0), {"error": str(exc)}, [("completes", False)])
        )
    finally:
        if load is not None:
            load.stop_event.set()
        cluster.stop()
    uptime_after = Path("/proc/loadavg").read_text().split()[:3]
    report = table(results)
    print()
    print(report)
    failed = [goal for result in results for goal, met in result.goals if not met]
    print()
    print("all goals met" if not failed else f"goals missed: {'; '.join(failed)}")
    if load is not None:
        total = len(load.samples)
        print(f"{total} requests in {time.time() - begun:.0f} s; work directory {workdir}")
    if options.write:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        section = "\n".join(
            [
                DOC_HEADING,
                "",
                f"Measured {when} with `make cluster-test` (`{' '.join(sys.argv[1:])}`); "
                f"load average before {' '.join(uptime_before)}, after {' '.join(uptime_after)} "
                f"({os.cpu_count()} CPUs, shared with other people's test runs).",
                "",
                report,
                "",
            ]
        )
        write_doc(section + "\n" + (HERE / "notes.md").read_text())
    if not options.keep and not failed:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


# --- helper processes (run by the cluster with its environment) ---------------------------------


def helper_setup(issuer: str) -> None:
    """Onboard the shipped tenants against the development IdP, seed them, choose the users."""
    from sqlalchemy import select

    from samenleren import create_app
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.demo.devidp import with_issuer
    from samenleren.demo.seed import seed_tenant
    from samenleren.identity.models import User
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import onboard_tenant
    from samenleren.trajectories.models import StepInstance, Trajectory
    from samenleren.trajectories.permissions import (
        relations_to,
        require_active,
        require_responsible,
        step_spec,
    )

    app = create_app()
    idp_users, load_users = [], []
    pages = {
        "learner": ["/", "/dashboard/learner", "/trainings/", "/me/notifications"],
        "coach": ["/", "/dashboard/coach", "/coach-days/"],
        "manager": ["/", "/dashboard/manager"],
        "trainer": ["/", "/dashboard/trainer"],
        "programme_admin": ["/", "/dashboard/programme", "/trainings/", "/coaches/"],
    }
    with app.app_context():
        for path in sorted((REPO / "tenants").glob("*.toml")):
            tenant = onboard_tenant(with_issuer(load_manifest(path), issuer)).tenant
            people = seed_tenant(tenant)
            db.session.commit()
            idp_users += [
                {"sub": p.subject, "name": p.name, "email": p.email, "groups": p.groups}
                for p in people
            ]
            with tenant_scope(tenant):
                users = {u.subject: u for u in db.session.scalars(select(User))}
                trajectories = list(
                    db.session.scalars(select(Trajectory).where(Trajectory.coach_id.is_not(None)))
                )
                steps_of_coach: dict = {}
                for trajectory in trajectories:
                    coach = trajectory.coach
                    for step in db.session.scalars(
                        select(StepInstance).where(StepInstance.trajectory_id == trajectory.id)
                    ):
                        try:
                            require_active(trajectory)
                            spec = step_spec(trajectory, step)
                            require_responsible(spec, relations_to(trajectory, coach), "")
                        except Exception:  # noqa: BLE001, S112 - not this coach's to plan
                            continue
                        if step.state.is_open and spec.kind.value != "group_meeting":
                            steps_of_coach.setdefault(coach.subject, []).append(
                                f"/{tenant.slug}/trajectories/{trajectory.id}/steps/{step.id}"
                            )
                for p in people:
                    user = users.get(p.subject)
                    if user is None or not p.roles:
                        continue
                    role = next(
                        (
                            r
                            for r in ("programme_admin", "coach", "manager", "trainer")
                            if r in p.roles
                        ),
                        "learner",
                    )
                    entry = {
                        "tenant": tenant.slug,
                        "subject": p.subject,
                        "role": role,
                        "pages": [f"/{tenant.slug}{page}" for page in pages[role]],
                    }
                    if role == "coach" and steps_of_coach.get(p.subject):
                        entry["step"] = steps_of_coach[p.subject][0]
                    load_users.append(entry)
    # Interleave roles and tenants so that a short run still has each of them.
    rng = random.Random(7)
    rng.shuffle(load_users)
    by_role: dict[str, list[dict]] = {}
    for user in load_users:
        by_role.setdefault(user["role"] + ("+step" if "step" in user else ""), []).append(user)
    mixed = []
    while any(by_role.values()):
        for bucket in by_role.values():
            if bucket:
                mixed.append(bucket.pop(0))
    print(json.dumps({"idp_users": idp_users, "load_users": mixed}))


def helper_idp(port: str, users_file: str) -> None:
    from oidc_provider_mock import User as IdPUser
    from oidc_provider_mock import run_server_in_thread

    users = [
        IdPUser(
            sub=u["sub"], claims={"name": u["name"], "email": u["email"], "groups": u["groups"]}
        )
        for u in json.loads(Path(users_file).read_text())
    ]
    with run_server_in_thread(port=int(port), user_claims=users):
        while True:
            time.sleep(3600)


def helper_sink(port: str, path: str, delay: str) -> None:
    """An SMTP server that appends one JSON line per accepted message (its Message-ID)."""
    import asyncio
    from email.parser import BytesHeaderParser

    from aiosmtpd.controller import Controller

    out = Path(path).open("a", buffering=1)
    pause = float(delay)

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if pause:
                await asyncio.sleep(pause)
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            headers = BytesHeaderParser().parsebytes(envelope.content)
            record = {"message_id": headers.get("Message-ID", ""), "to": envelope.rcpt_tos}
            out.write(json.dumps(record) + "\n")
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=int(port), ready_timeout=10)
    controller.start()
    while True:
        time.sleep(3600)


_APP = None


def cluster_app():
    """The app of a helper process, built once."""
    global _APP
    if _APP is None:
        from samenleren import create_app

        _APP = create_app()
    return _APP


def helper_burst(slug: str, label: str, count: str) -> None:
    """`count` reminders to the tenant's demo users, due now, committed with their send job
    (as the hourly sweep writes them)."""
    from sqlalchemy import insert, select

    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import get_tenant_by_slug
    from samenleren.identity.models import User
    from samenleren.notifications.models import Notification, NotificationState
    from samenleren.notifications.outbox import message_id_for, schedule_send

    app = cluster_app()
    with app.app_context():
        tenant = get_tenant_by_slug(slug)
        with tenant_scope(tenant):
            recipients = list(
                db.session.scalars(select(User.id).where(User.active.is_(True), User.email != ""))
            )
            now = utcnow()
            context = {
                "step": {"nl": "Voortgangsgesprek", "en": "Progress conversation"},
                "learner": "Cluster Test",
                "due_on": (now + timedelta(days=3)).date().isoformat(),
                "path": f"/{slug}/",
            }
            rows = []
            for i in range(int(count)):
                key = f"cluster:{label}:{i}"
                rows.append(
                    {
                        "tenant_id": tenant.id,
                        "id": uuid.uuid4(),
                        "recipient_id": recipients[i % len(recipients)],
                        "kind": "reminder",
                        "key": key,
                        "due_at": now,
                        "state": NotificationState.PENDING,
                        "digest": False,
                        "attempts": 0,
                        "last_error": "",
                        "context": context,
                        "attachments": [],
                        "message_id": message_id_for(tenant.id, key),
                        "created_at": now,
                    }
                )
            db.session.execute(insert(Notification), rows)
            schedule_send()
            db.session.commit()


def helper_export(slug: str) -> uuid.UUID:
    """A programme admin asks for an export (as the exports page does); prints its id."""
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import get_tenant_by_slug
    from samenleren.exports.services import request_export
    from samenleren.identity.models import Role, RoleAssignment, User

    app = cluster_app()
    with app.app_context():
        tenant = get_tenant_by_slug(slug)
        with tenant_scope(tenant):
            admin = db.session.scalars(
                select(User)
                .join(RoleAssignment, RoleAssignment.user_id == User.id)
                .where(RoleAssignment.role == Role.PROGRAMME_ADMIN)
            ).first()
            export = request_export(admin, "csv", ["trajectories"], "nl")
            export_id = export.id
            db.session.commit()
    print(export_id)
    return export_id


def helper_outage_work(go: str, answer: str) -> None:
    """Started before Redis stops (an app takes a while to start here): once `go` exists, the
    mails and the export of the Redis scenario; writes the export's id to `answer`."""
    cluster_app()  # import and build the app before Redis goes
    Path(go).with_suffix(".ready").touch()
    while not Path(go).exists():
        time.sleep(0.1)
    helper_burst("gelderland", "redis-down", "25")
    export_id = helper_export("flevoland")
    Path(answer).write_text(str(export_id))


HELPERS = {
    "_outage_work": helper_outage_work,
    "_setup": helper_setup,
    "_idp": helper_idp,
    "_sink": helper_sink,
    "_burst": helper_burst,
    "_export": helper_export,
}


def main(argv: list[str]) -> int:
    if argv and argv[0] in HELPERS:
        HELPERS[argv[0]](*argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="shorter pauses, fewer users")
    parser.add_argument("--write", action="store_true", help=f"write the results to {DOC}")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--workdir", help="work here instead of a new temporary directory")
    parser.add_argument("--users", type=int, default=24, help="virtual users")
    parser.add_argument("--warmup", type=float, default=30, help="seconds of load first")
    parser.add_argument("--pause", type=float, default=15, help="seconds around each event")
    parser.add_argument("--burst", type=int, default=1500, help="mails of the worker scenario")
    parser.add_argument("--redis-down", type=float, default=30, help="seconds without Redis")
    parser.add_argument("--lease", type=int, default=20, help="SAMENLEREN_MAIL_LEASE_SECONDS")
    parser.add_argument("--smtp-delay", type=float, default=0.02, help="sink's delay per RCPT")
    parser.add_argument("--export-wait", type=float, default=120, help="seconds for the export")
    parser.add_argument("--gunicorn-workers", type=int, default=1)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    options = parser.parse_args(argv)
    if options.short:
        options.users = min(options.users, 8)
        options.warmup, options.pause, options.burst = 10, 6, 400
        options.redis_down = min(options.redis_down, 10)
    return run(options)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
