"""gunicorn settings for the web processes; every value can be overridden by environment."""

import os
import shutil

# Metrics (samenleren.core.metrics): each worker process writes its own to files in this folder
# (prometheus-client's multiprocess mode), and the master serves their sum on
# SAMENLEREN_METRICS_PORT. Set before any worker starts, so every worker inherits it; it is
# gunicorn's alone (a `flask worker` or `flask cron` keeps its metrics in memory).
METRICS_DIR = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/samenleren-metrics")  # noqa: S108
_production = os.environ.get("SAMENLEREN_ENV", "production").strip().lower() == "production"
METRICS_PORT = int(os.environ.get("SAMENLEREN_METRICS_PORT") or (9100 if _production else 0))

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so that no slow leak can grow without bound.
max_requests = 5000
max_requests_jitter = 500
# No access log: its request line carries the path and query, where a calendar feed or sign-in
# link keeps its token. The app logs one line per request instead (samenleren.core.logs), with
# the route's pattern, status, duration and request id.
accesslog = None
errorlog = "-"
# gunicorn's own lines in the app's format (JSON in production, SAMENLEREN_LOG_FORMAT).
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"samenleren": {"()": "samenleren.core.logs.formatter_from_env"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "samenleren",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {
        "level": os.environ.get("SAMENLEREN_LOG_LEVEL", "INFO").upper(),
        "handlers": ["console"],
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        # With a logconfig_dict gunicorn writes access lines anyway; this level drops them.
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
    },
}
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    """Files of an earlier run would be added to this one's: start with an empty folder."""
    shutil.rmtree(METRICS_DIR, ignore_errors=True)
    os.makedirs(METRICS_DIR, exist_ok=True)


def when_ready(server):
    """The master serves the workers' metrics on a port of its own (not behind the Ingress)."""
    if METRICS_PORT:
        from samenleren.core.metrics import scrape_registry, serve

        serve(METRICS_PORT, scrape_registry(multiprocess_dir=METRICS_DIR))


def child_exit(server, worker):
    """A worker that stopped (recycled or killed) leaves its live gauges behind: remove them."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, METRICS_DIR)
