"""Benchmark (not a test): every role's pages beside a bare page, at seed and national scale.

    .venv/bin/python benchmarks/pages.py                     # both scales, 10 s per page
    .venv/bin/python benchmarks/pages.py --scales seed --duration 3    # quick
    .venv/bin/python benchmarks/pages.py --write             # and record in docs/performance.md

For each scale: a database of its own (`samenleren_bench_<scale>`, created with two roles like
deploy/postgres-roles.sql, migrated, filled with `flask --app samenleren bench generate`; kept
for the next run and reused while its description matches), gunicorn with 2 sync workers serving
`samenleren.bench_wsgi:app` (the application plus the bare page, `samenleren.bench.bare`), and
the development identity provider (oidc-provider-mock, as in the tests) to log in each role the
ordinary way. Then wrk (Debian's) measures, in one run: the bare page, each page with 8
connections (throughput, p50, p95) and with one (p95 of a single client), the bare page again.
Afterwards, at national scale: the resident memory of a web worker and of an RQ worker running
the reminder sweep of the largest tenant.

Needs PostgreSQL reachable as a superuser (--admin-url; to create the roles and databases),
Redis (--redis-url), wrk and gunicorn. Every process it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import requests
from psycopg import sql

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DOC = REPO / "docs" / "performance.md"
DOC_HEADING = "## Pages (benchmarks/pages.py)"
OWNER, RUNTIME = "samenleren_bench_owner", "samenleren_bench_app"
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format(
    "JSON{\\"requests\\": %d, \\"seconds\\": %f, \\"errors\\": %d, \\"non2xx\\": %d, "
    .. "\\"p50\\": %f, \\"p95\\": %f, \\"p99\\": %f}\\n",
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3))
end
"""


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def machine() -> str:
    cpu = platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB"
    return f"{cpu}, {os.cpu_count()} CPUs{memory}, Python {platform.python_version()}"


def load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU time of each process (from /proc), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two samples (a process that started meanwhile counts whole)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


@dataclass
class Probe:
    """The processes that serve a page: gunicorn's workers and the database's backends of the
    runtime role. Their CPU time per request does not depend on how busy the machine is."""

    master: int
    admin_url: str
    database: str

    def pids(self) -> tuple[list[int], list[int]]:
        with psycopg.connect(self.admin_url, autocommit=True) as db:
            backends = [
                row[0]
                for row in db.execute(
                    "SELECT pid FROM pg_stat_activity WHERE usename = %s AND datname = %s",
                    (RUNTIME, self.database),
                )
            ]
        return children(self.master), backends

    def sample(self) -> tuple[dict[int, float], dict[int, float]]:
        web, backends = self.pids()
        return cpu_seconds(web), cpu_seconds(backends)


# --- databases ----------------------------------------------------------------------------------


def url_for(admin_url: str, role: str, database: str) -> str:
    parts = urlsplit(admin_url)
    return f"postgresql://{role}@{parts.hostname or '127.0.0.1'}:{parts.port or 5432}/{database}"


def ensure_database(options: argparse.Namespace, scale: str, env: dict[str, str]) -> str:
    """The scale's database, generated unless one with the same description exists."""
    name = f"samenleren_bench_{scale}"
    issuer = f"http://localhost:{options.idp_port}"
    description = f"samenleren bench: scale={scale} seed={options.seed} issuer={issuer}"
    with psycopg.connect(options.admin_url, autocommit=True) as admin:
        for role in (OWNER, RUNTIME):
            if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                admin.execute(
                    sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS").format(
                        sql.Identifier(role)
                    )
                )
        found = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
        if found and found[0] == description and not options.regenerate:
            log(f"{scale}: reusing database {name} ({description}); db upgrade")
            subprocess.run(
                [str(BIN / "flask"), "--app", "samenleren", "db", "upgrade"],
                env=database_env(options, name, env),
                check=True,
                capture_output=True,
            )
            return name
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(OWNER)
            )
        )
    with psycopg.connect(url_for(options.admin_url, "postgres", name), autocommit=True) as db:
        db.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(OWNER)))
        with contextlib.suppress(psycopg.Error):
            db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    scale_env = database_env(options, name, env)
    flask = [str(BIN / "flask"), "--app", "samenleren"]
    subprocess.run([*flask, "db", "upgrade"], env=scale_env, check=True, capture_output=True)
    log(f"{scale}: generating (flask --app samenleren bench generate --scale {scale})")
    began = time.monotonic()
    subprocess.run(
        [
            *flask,
            "bench",
            "generate",
            "--scale",
            scale,
            "--seed",
            str(options.seed),
            "--issuer",
            issuer,
        ],
        env=scale_env,
        check=True,
    )
    log(f"{scale}: generated in {time.monotonic() - began:.0f} s")
    with psycopg.connect(options.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(description)
            )
        )
    return name


def database_env(options: argparse.Namespace, name: str, env: dict[str, str]) -> dict[str, str]:
    return env | {
        "DATABASE_URL": url_for(options.admin_url, RUNTIME, name),
        "MIGRATIONS_DATABASE_URL": url_for(options.admin_url, OWNER, name),
    }


# --- what to measure ----------------------------------------------------------------------------


@dataclass
class Page:
    label: str
    path: str
    role: str  # whose session requests it


@dataclass
class Target:
    slug: str
    subjects: dict[str, str]
    pages: list[Page]


def pick_target(options: argparse.Namespace, database: str, scale: str) -> Target:
    """The tenant (seed: flevoland; national: the largest) and one person per role, chosen by
    SQL as a superuser (the harness's view, not the application's)."""
    with psycopg.connect(url_for(options.admin_url, "postgres", database)) as db:
        tenant_id, slug = db.execute(
            "SELECT t.id, t.slug FROM tenants t ORDER BY "
            "(SELECT count(*) FROM users u WHERE u.tenant_id = t.id) DESC, t.slug LIMIT 1"
        ).fetchone()
        # A learner in the middle of an active trajectory, with coach, manager and trainer.
        row = db.execute(
            "SELECT tr.id, l.subject, c.subject, m.subject, tu.subject, e.id, e.training_id "
            "FROM trajectories tr "
            "JOIN users l ON l.tenant_id = tr.tenant_id AND l.id = tr.learner_id "
            "JOIN users c ON c.tenant_id = tr.tenant_id AND c.id = tr.coach_id "
            "JOIN users m ON m.tenant_id = l.tenant_id AND m.id = l.manager_id "
            "JOIN editions e ON e.tenant_id = tr.tenant_id AND e.id = tr.edition_id "
            "JOIN users tu ON tu.tenant_id = e.tenant_id AND tu.id = e.trainer_id "
            "WHERE tr.tenant_id = %s AND tr.status = 'active' "
            "AND EXISTS (SELECT FROM step_instances s WHERE s.tenant_id = tr.tenant_id "
            "  AND s.trajectory_id = tr.id AND s.state = 'done') "
            "AND EXISTS (SELECT FROM step_instances s WHERE s.tenant_id = tr.tenant_id "
            "  AND s.trajectory_id = tr.id AND s.state IN ('planned', 'scheduled')) "
            "AND NOT EXISTS (SELECT FROM role_assignments r WHERE r.tenant_id = l.tenant_id "
            "  AND r.user_id = l.id AND r.role <> 'learner') "
            "ORDER BY tr.id LIMIT 1",
            (tenant_id,),
        ).fetchone()
        trajectory, learner, coach, manager, trainer, edition, _training = row
        step = db.execute(
            "SELECT id FROM step_instances WHERE tenant_id = %s AND trajectory_id = %s "
            "AND state IN ('planned', 'scheduled') ORDER BY position, occurrence LIMIT 1",
            (tenant_id, trajectory),
        ).fetchone()[0]
        admin = db.execute(
            "SELECT u.subject FROM users u JOIN role_assignments r ON r.tenant_id = u.tenant_id "
            "AND r.user_id = u.id WHERE u.tenant_id = %s AND r.role = 'programme_admin' "
            "ORDER BY u.subject LIMIT 1",
            (tenant_id,),
        ).fetchone()[0]
        template = db.execute(
            "SELECT id FROM process_templates WHERE tenant_id = %s AND is_default", (tenant_id,)
        ).fetchone()[0]
    base = f"/{slug}"
    pages = [
        Page("learner start", f"{base}/dashboard/learner", "learner"),
        Page("coach start", f"{base}/dashboard/coach", "coach"),
        Page("manager start", f"{base}/dashboard/manager", "manager"),
        Page("trainer start", f"{base}/dashboard/trainer", "trainer"),
        Page("programme admin start", f"{base}/dashboard/programme", "programme_admin"),
        Page("trajectory (coach)", f"{base}/trajectories/{trajectory}", "coach"),
        Page("step (coach)", f"{base}/trajectories/{trajectory}/steps/{step}", "coach"),
        Page("catalogue (learner)", f"{base}/trainings/", "learner"),
        Page("edition (programme admin)", f"{base}/editions/{edition}", "programme_admin"),
        Page("template (programme admin)", f"{base}/templates/{template}/", "programme_admin"),
        Page("audit log (programme admin)", f"{base}/audit/", "programme_admin"),
        Page("programme report (programme admin)", f"{base}/insight/", "programme_admin"),
    ]
    subjects = {
        "learner": learner,
        "coach": coach,
        "manager": manager,
        "trainer": trainer,
        "programme_admin": admin,
    }
    if options.pages:
        # Only the pages asked for (each beside the bare page, as always).
        wanted = [word.strip().lower() for word in options.pages.split(",") if word.strip()]
        pages = [page for page in pages if any(word in page.label.lower() for word in wanted)]
    return Target(slug, subjects, pages)


def log_in(base_url: str, issuer: str, slug: str, subject: str) -> str:
    """Log `subject` in through the development IdP, as the tests do; returns the Cookie header.

    Cookies are carried by hand: in production they are Secure, and a cookie jar would not send
    them back over plain HTTP on loopback.
    """
    requests.put(
        f"{issuer}/users/{subject}",
        json={"name": subject, "email": f"{subject}@example.nl"},
        timeout=10,
    ).raise_for_status()
    cookies: dict[str, str] = {}
    start = requests.get(f"{base_url}/{slug}/auth/login", allow_redirects=False, timeout=30)
    cookies.update(start.cookies.get_dict())
    authorize = requests.post(
        start.headers["Location"], data={"sub": subject}, allow_redirects=False, timeout=30
    )
    callback = urlsplit(authorize.headers["Location"])
    answer = requests.get(
        f"{base_url}{callback.path}?{callback.query}",
        cookies=cookies,
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"login of {subject} at {slug} refused: {answer.status_code}")
    cookies.update(answer.cookies.get_dict())
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


# --- running ------------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    rps: float
    p50: float
    p95: float
    single_p95: float | None = None
    errors: int = 0
    #: CPU milliseconds per request of the web worker and of PostgreSQL (8-connection run).
    app_cpu: float | None = None
    db_cpu: float | None = None


def wrk(url: str, cookie: str | None, seconds: float, connections: int, script: Path) -> dict:
    threads = min(2, connections)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "60s",
        "-s",
        str(script),
        url,
    ]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^JSON(\{.*\})$", output, re.MULTILINE)
    if not match:
        raise RuntimeError(f"wrk gave no summary:\n{output}")
    numbers = json.loads(match.group(1))
    numbers["rps"] = numbers["requests"] / numbers["seconds"]
    return numbers


def measure(
    label: str,
    url: str,
    cookie: str | None,
    options: argparse.Namespace,
    script: Path,
    probe: Probe | None = None,
) -> Result:
    before = probe.sample() if probe else None
    many = wrk(url, cookie, options.duration, options.connections, script)
    after = probe.sample() if probe else None
    result = Result(
        label, many["rps"], many["p50"], many["p95"], errors=many["errors"] + many["non2xx"]
    )
    if before and after and many["requests"]:
        result.app_cpu = 1000 * cpu_used(before[0], after[0]) / many["requests"]
        result.db_cpu = 1000 * cpu_used(before[1], after[1]) / many["requests"]
    if options.single:
        one = wrk(url, cookie, max(1.0, options.duration / 2), 1, script)
        result.single_p95 = one["p95"]
        result.errors += one["errors"] + one["non2xx"]
    log(
        f"  {label:<30} {result.rps:8.0f}/s  p50 {result.p50:6.1f} ms  p95 {result.p95:6.1f} ms"
        + (f"  single p95 {result.single_p95:5.1f} ms" if result.single_p95 is not None else "")
        + (
            f"  cpu/req app {result.app_cpu:5.1f} ms db {result.db_cpu:5.1f} ms"
            if result.app_cpu is not None and result.db_cpu is not None
            else ""
        )
        + (f"  ERRORS {result.errors}" if result.errors else "")
    )
    return result


@dataclass
class ScaleRun:
    scale: str
    slug: str
    employees: int
    bare: Result
    pages: list[Result]
    rss_web: float = 0.0
    rss_rq: float = 0.0
    load_start: str = ""
    load_end: str = ""
    notes: list[str] = field(default_factory=list)


def run_scale(
    options: argparse.Namespace, scale: str, env: dict[str, str], workdir: Path
) -> ScaleRun:
    from oidc_provider_mock import run_server_in_thread

    database = ensure_database(options, scale, env)
    target = pick_target(options, database, scale)
    with psycopg.connect(url_for(options.admin_url, "postgres", database)) as db:
        employees = db.execute(
            "SELECT count(*) FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug = %s",
            (target.slug,),
        ).fetchone()[0]
        db.execute("SELECT pg_stat_statements_reset()") if options.statements else None
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    scale_env = database_env(options, database, env) | {"SAMENLEREN_BASE_URL": base_url}
    script = workdir / "summary.lua"
    script.write_text(WRK_SCRIPT)
    server_log = (workdir / f"gunicorn-{scale}.log").open("ab")
    gunicorn = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(options.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "samenleren.bench_wsgi:app",
        ],
        env=scale_env,
        cwd=REPO,
        stdout=server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    issuer = f"http://localhost:{options.idp_port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base_url}/healthz", timeout=2).ok:
                    break
            if time.monotonic() > deadline or gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn did not start; see {workdir}/gunicorn-{scale}.log")
            time.sleep(0.3)
        with run_server_in_thread(port=options.idp_port):
            cookies = {
                role: log_in(base_url, issuer, target.slug, subject)
                for role, subject in target.subjects.items()
            }
        for page in target.pages:
            answer = requests.get(
                base_url + page.path,
                headers={"Cookie": cookies[page.role]},
                allow_redirects=False,
                timeout=60,
            )
            if answer.status_code != 200:
                raise RuntimeError(f"{page.label}: {page.path} answered {answer.status_code}")
        log(f"{scale}: /{target.slug}/ ({employees:,} employees), load {load()}")
        run = ScaleRun(scale, target.slug, employees, bare=None, pages=[], load_start=load())  # type: ignore[arg-type]
        probe = Probe(gunicorn.pid, url_for(options.admin_url, "postgres", "postgres"), database)
        bare_before = measure("bare page", base_url + "/_bench/bare", None, options, script, probe)
        for page in target.pages:
            run.pages.append(
                measure(
                    page.label, base_url + page.path, cookies[page.role], options, script, probe
                )
            )
        bare_after = measure(
            "bare page (again)", base_url + "/_bench/bare", None, options, script, probe
        )
        run.bare = Result(
            "bare page",
            *(
                statistics.mean(values)
                for values in zip(
                    (bare_before.rps, bare_before.p50, bare_before.p95),
                    (bare_after.rps, bare_after.p50, bare_after.p95),
                    strict=True,
                )
            ),
            single_p95=_mean_or_none(bare_before.single_p95, bare_after.single_p95),
            app_cpu=_mean_or_none(bare_before.app_cpu, bare_after.app_cpu),
            db_cpu=_mean_or_none(bare_before.db_cpu, bare_after.db_cpu),
        )
        run.notes.append(
            f"bare page before the pages {bare_before.rps:,.0f}/s, after {bare_after.rps:,.0f}/s"
        )
        run.load_end = load()
        run.rss_web = max((rss_mb(pid) for pid in children(gunicorn.pid)), default=0.0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)
        server_log.close()
    if options.rq and scale == "national":
        run.rss_rq = rq_worker_rss(scale_env, target.slug, workdir)
    if options.statements:
        top_statements(options, database, workdir / f"statements-{scale}.txt")
    return run


def _mean_or_none(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else (a + b) / 2


def rq_worker_rss(env: dict[str, str], slug: str, workdir: Path) -> float:
    """The largest resident size of an RQ worker (and its work horse) while it runs the reminder
    sweep of tenant `slug` (mails go to files in the work directory)."""
    env = env | {"SAMENLEREN_MAIL_DIR": str(workdir / "mail")}
    enqueue = (
        "from samenleren import create_app\n"
        "from samenleren.core.jobs import runtime\n"
        "from samenleren.core.tenant import get_tenant_by_slug\n"
        "from samenleren.core.extensions import db\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        f"    tenant = get_tenant_by_slug({slug!r})\n"
        "    runtime.enqueue('samenleren.notifications.jobs.sweep', tenant_id=tenant.id)\n"
        "    db.session.commit()\n"
    )
    subprocess.run([sys.executable, "-c", enqueue], env=env, check=True, cwd=REPO)
    worker = subprocess.Popen(
        [str(BIN / "flask"), "--app", "samenleren", "worker", "--burst"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    peak = 0.0
    while worker.poll() is None:
        with contextlib.suppress(OSError):
            peak = max(peak, rss_mb(worker.pid), *(rss_mb(p) for p in children(worker.pid)))
        time.sleep(0.05)
    return peak


def top_statements(options: argparse.Namespace, database: str, path: Path) -> None:
    with psycopg.connect(url_for(options.admin_url, "postgres", database)) as db:
        rows = db.execute(
            "SELECT calls, round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3), "
            "left(regexp_replace(query, '\\s+', ' ', 'g'), 300) FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s) "
            "ORDER BY total_exec_time DESC LIMIT 40",
            (database,),
        ).fetchall()
    path.write_text("\n".join(" | ".join(map(str, row)) for row in rows) + "\n")
    log(f"top statements: {path}")


# --- the report ---------------------------------------------------------------------------------


def table(run: ScaleRun) -> list[str]:
    lines = [
        "| page | requests/s | share of bare | p50 | p95 | p95, one client "
        "| CPU/request: web + PostgreSQL | share of bare, by CPU |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def single(result: Result) -> str:
        return f"{result.single_p95:.1f} ms" if result.single_p95 is not None else "-"

    def cpu(result: Result) -> float | None:
        if result.app_cpu is None or result.db_cpu is None:
            return None
        return result.app_cpu + result.db_cpu

    bare = run.bare
    bare_cpu = cpu(bare)
    for result in [bare, *run.pages]:
        share = 100 * result.rps / bare.rps if bare.rps else 0
        used = cpu(result)
        cpu_text = f"{result.app_cpu:.1f} + {result.db_cpu:.1f} ms" if used is not None else "-"
        cpu_share = f"{100 * bare_cpu / used:.0f} %" if used and bare_cpu else "-"
        lines.append(
            f"| {result.label} | {result.rps:,.0f} | {share:.0f} % | {result.p50:.1f} ms "
            f"| {result.p95:.1f} ms | {single(result)} | {cpu_text} | {cpu_share} |"
            + (f" {result.errors} errors" if result.errors else "")
        )
    return lines


def report(options: argparse.Namespace, runs: list[ScaleRun], began: datetime, command: str) -> str:
    lines = [
        DOC_HEADING,
        "",
        f"- when: {began:%Y-%m-%d %H:%M} UTC; machine: {machine()}",
        f"- command: `{command}`",
        f"- gunicorn: {options.workers} sync workers, `samenleren.bench_wsgi:app`; wrk: "
        f"{options.connections} connections, {options.duration:g} s per page "
        + (
            "(then one connection for half as long: the single-client p95)"
            if options.single
            else ""
        ),
        "",
    ]
    by_scale = {run.scale: run for run in runs}
    for run in runs:
        lines += [
            f"### {run.scale}: /{run.slug}/ ({run.employees:,} employees)",
            "",
            f"load average (1, 5, 15 min) at start {run.load_start}, at end {run.load_end}; "
            + "; ".join(run.notes),
            "",
            *table(run),
            "",
        ]
    if "seed" in by_scale and "national" in by_scale:
        seed, national = by_scale["seed"], by_scale["national"]
        lines += ["### Flatness: p50 national ÷ p50 seed (target ≤ 1.25)", ""]
        lines += [
            "The p50 ratio holds only when the machine was as busy during both scales (see the "
            "load averages); the CPU ratio (web + PostgreSQL per request) does not depend on it.",
            "",
            "| page | seed p50 | national p50 | ratio | CPU ratio |",
            "|---|---|---|---|---|",
        ]
        for a, b in zip(seed.pages, national.pages, strict=True):
            ratio = f"{b.p50 / a.p50:.2f}" if a.p50 else "-"
            cpu_a = (a.app_cpu or 0) + (a.db_cpu or 0)
            cpu_b = (b.app_cpu or 0) + (b.db_cpu or 0)
            cpu_ratio = f"{cpu_b / cpu_a:.2f}" if cpu_a else "-"
            lines.append(f"| {a.label} | {a.p50:.1f} ms | {b.p50:.1f} ms | {ratio} | {cpu_ratio} |")
        lines.append("")
    if "national" in by_scale:
        national = by_scale["national"]
        lines.append(
            f"Memory at national scale: a web worker {national.rss_web:.0f} MB RSS after the run"
            + (
                f"; an RQ worker (its work horse included) at most {national.rss_rq:.0f} MB while "
                "sweeping the reminders of the largest tenant"
                if national.rss_rq
                else ""
            )
            + " (targets: 150 MB / 200 MB)."
        )
        lines.append("")
    return "\n".join(lines)


def write_section(text: str) -> None:
    current = DOC.read_text()
    start = current.find(DOC_HEADING)
    if start == -1:
        DOC.write_text(current.rstrip("\n") + "\n\n" + text)
        return
    after = current.find("\n## ", start + len(DOC_HEADING))
    rest = current[after + 1 :] if after != -1 else ""
    DOC.write_text(current[:start] + text + ("\n" + rest if rest else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="seed,national", help="seed,national (comma-separated)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per page [10]")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers [2]")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data [1]")
    parser.add_argument("--idp-port", type=int, default=5983)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "SAMENLEREN_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("SAMENLEREN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    )
    parser.add_argument("--regenerate", action="store_true", help="generate the data again")
    parser.add_argument(
        "--no-single", dest="single", action="store_false", help="skip one-client runs"
    )
    parser.add_argument(
        "--no-rq", dest="rq", action="store_false", help="skip the RQ worker's memory"
    )
    parser.add_argument(
        "--statements", action="store_true", help="pg_stat_statements top 40 per scale"
    )
    parser.add_argument(
        "--pages",
        default="",
        help="only the pages whose label holds one of these words (comma-separated); "
        "not with --write, which records the whole table",
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the app under test, e.g. SAMENLEREN_INSIGHT_CACHE_SECONDS=0 "
        "(the report counted on every view); repeatable",
    )
    parser.add_argument("--write", action="store_true", help="record in docs/performance.md")
    options = parser.parse_args()
    settings = dict(item.split("=", 1) for item in options.setting if "=" in item)
    if len(settings) != len(options.setting):
        raise SystemExit("--setting takes NAME=VALUE")
    if options.pages and options.write:
        raise SystemExit("--pages measures a part of the table: record it by hand, not --write")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    from cryptography.fernet import Fernet

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SAMENLEREN_", "GUNICORN_"))
        and key not in {"DATABASE_URL", "MIGRATIONS_DATABASE_URL", "REDIS_URL", "SMTP_URL"}
    }
    env.update(
        {
            # development: the identity provider runs on http://localhost and cookies travel over
            # plain HTTP; otherwise the settings of production (deploy/cluster-test does the same).
            "SAMENLEREN_ENV": "development",
            "SECRET_KEY": Fernet.generate_key().decode() * 2,
            "SAMENLEREN_SECRET_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "REDIS_URL": options.redis_url,
            "SAMENLEREN_LOG_LEVEL": "WARNING",
            "SAMENLEREN_FLEVOLAND_OIDC_SECRET": "any-secret-the-development-idp-accepts",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO / "platform"), os.environ.get("PYTHONPATH")])
            ),
        }
        | settings
    )
    began = datetime.now(UTC)
    command = "python benchmarks/pages.py " + " ".join(sys.argv[1:])
    runs = []
    with tempfile.TemporaryDirectory(prefix="samenleren-bench-") as tmp:
        workdir = Path(tmp)
        for scale in options.scales.split(","):
            runs.append(run_scale(options, scale.strip(), env, workdir))
    text = report(options, runs, began, command.strip())
    print(text)
    if options.write:
        write_section(text)
        log(f"written to {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
