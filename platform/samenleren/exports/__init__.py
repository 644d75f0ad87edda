"""Programme data exports (CSV, XLSX), built in the background and downloaded once ready."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from samenleren.core.jobs.schedule import Periodic, periodic

    # Delete the files of expired exports, give up ones stuck in the queue, enqueue again the
    # builds whose job was lost (every five minutes: a lost build waits at most that long).
    periodic(Periodic("exports.clean_up", "samenleren.exports.jobs.clean_up", cron="*/5 * * * *"))
