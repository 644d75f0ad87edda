"""The worker and the scheduler wait for Redis instead of ending when it is away.

RQ's worker rides out an outage once it runs, but cannot start without Redis; RQ's cron
scheduler ends with an exception when Redis goes away, after which nothing periodic (the outbox
sweep among it) would be enqueued again. deploy/cluster-test stops Redis for 30 s with both
running; these tests pin the behaviour down without a server.
"""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError

from samenleren.core.jobs import cli, runtime


class FlakyRedis:
    """Answers PING after `failures` refusals."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.pings = 0

    def ping(self) -> bool:
        self.pings += 1
        if self.pings <= self.failures:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379.")
        return True


@pytest.fixture
def quiet_app(monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setattr(logging.getLogger(cli.__name__), "disabled", False)
    return Flask("outage")


def test_the_worker_start_waits_for_redis_and_says_so_once(quiet_app, monkeypatch, caplog):
    redis = FlakyRedis(failures=3)
    monkeypatch.setattr(runtime, "connection", lambda app: redis)
    naps: list[float] = []
    caplog.set_level(logging.WARNING)

    cli.wait_for_redis(quiet_app, sleep=naps.append)

    assert redis.pings == 4
    assert naps == [cli.REDIS_RETRY_SECONDS] * 3
    messages = [r.getMessage() for r in caplog.records if r.name == cli.__name__]
    assert len(messages) == 2
    assert messages[0].startswith("Redis unreachable")
    assert messages[1] == "Redis answers again"


def test_the_scheduler_outlives_a_redis_outage(quiet_app, monkeypatch, caplog):
    redis = FlakyRedis(failures=2)
    monkeypatch.setattr(runtime, "connection", lambda app: redis)
    started: list[int] = []

    class Scheduler:
        def start(self) -> None:
            started.append(len(started) + 1)
            if len(started) == 1:  # Redis went away under the first scheduler
                raise RedisConnectionError("Connection closed by server.")
            # the second one runs until it is stopped (returns)

    caplog.set_level(logging.WARNING)
    cli.run_cron(quiet_app, make_scheduler=lambda app: Scheduler(), sleep=lambda seconds: None)

    assert started == [1, 2]
    assert redis.pings == 3  # two refusals while it was down, then back
    messages = [r.getMessage() for r in caplog.records if r.name == cli.__name__]
    assert messages[0].startswith("cron: Redis unreachable")
    assert messages[-1] == "Redis answers again"
    assert all(r.exc_info is None for r in caplog.records)


def test_a_worker_that_redis_left_in_the_middle_of_a_job_starts_again(
    quiet_app, monkeypatch, caplog
):
    redis = FlakyRedis(failures=1)
    monkeypatch.setattr(runtime, "connection", lambda app: redis)
    runs: list[dict] = []

    class Worker:
        def work(self, **options) -> None:
            runs.append(options)
            if len(runs) == 1:  # RQ: "found an unhandled exception, quitting..."
                raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    caplog.set_level(logging.WARNING)
    cli.run_worker(quiet_app, make_worker=lambda app: Worker(), sleep=lambda seconds: None)

    assert len(runs) == 2
    assert runs[1]["with_scheduler"] is True and runs[1]["burst"] is False
    messages = [r.getMessage() for r in caplog.records if r.name == cli.__name__]
    assert messages[0].startswith("worker: Redis unreachable")
    assert messages[-1] == "Redis answers again"


def test_a_stopped_scheduler_is_not_started_again(quiet_app):
    starts = []

    class Scheduler:
        def start(self) -> None:
            starts.append(1)

    cli.run_cron(quiet_app, make_scheduler=lambda app: Scheduler(), sleep=lambda seconds: None)
    assert starts == [1]
