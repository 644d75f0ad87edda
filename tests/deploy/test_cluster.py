"""deploy/cluster-test/run.py --short: the loopback cluster loses a web node, a worker, Redis and
PostgreSQL under load, and every goal holds.

It starts a private PostgreSQL, Redis, nginx, two gunicorn nodes, two workers and the scheduler,
and takes several minutes, so it runs only when asked for:
`SAMENLEREN_CLUSTER_TEST=1 .venv/bin/pytest -m cluster tests/deploy/test_cluster.py` (the full
run, which writes docs/performance.md: `make cluster-test`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN = REPO_ROOT / "deploy" / "cluster-test" / "run.py"

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("SAMENLEREN_CLUSTER_TEST") != "1",
        reason="takes minutes: set SAMENLEREN_CLUSTER_TEST=1 (see deploy/README.md)",
    ),
    pytest.mark.skipif(
        not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()),
        reason="nginx missing (apt-get install nginx-light)",
    ),
    pytest.mark.skipif(
        not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        reason="PostgreSQL server binaries missing",
    ),
]


def test_the_short_cluster_run_meets_every_goal():
    result = subprocess.run(
        [sys.executable, str(RUN), "--short"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "all goals met" in result.stdout
