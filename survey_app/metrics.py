"""Prometheus metrics: submissions and refusals by channel (counted by the submission
core, `intake`), request latency by route kind (counted by `observability.RequestObserver`),
their exposition for `/metrics`, and the gunicorn hooks of the multiprocess mode.

The metrics are process-wide (prometheus_client's default registry), as a server has one
application per process. Under gunicorn each worker counts its own: with
`PROMETHEUS_MULTIPROC_DIR` set in the environment before the workers start, every worker
writes its values to files in that folder and a scrape of any worker adds them up
(prometheus_client's multiprocess mode). A gunicorn configuration then calls
`child_exit` from its own hook of that name, so that a dead worker's files stop counting
as live, and may call `on_starting` to empty the folder of an earlier run's files:

    from survey_app import metrics

    def on_starting(server):
        metrics.on_starting(server)

    def child_exit(server, worker):
        metrics.child_exit(server, worker)
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

SUBMISSIONS = Counter(
    "survey_submissions", "Submissions stored by the submission core, by channel.",
    ["channel"])
REPEATS = Counter(
    "survey_submission_repeats",
    "Submissions that repeated a stored one (the same form token): its receipt again, "
    "nothing stored.", ["channel"])
REFUSALS = Counter(
    "survey_submission_refusals",
    "Submissions refused by the submission core, by channel and reason.",
    ["channel", "reason"])
#: The citizen's fast path answers in well under a millisecond: finer low buckets than
#: prometheus_client's defaults.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0)
REQUEST_SECONDS = Histogram(
    "survey_http_request_duration_seconds",
    "Time from a request's arrival to its response's start, by route kind "
    "(citizen_page, citizen_submit, staff, api, other) and status class.",
    ["route", "status"], buckets=LATENCY_BUCKETS)

#: The reason label of each refusal the submission core raises, by its class name (the
#: classes live in `intake`, which imports this module).
REASONS = {
    "FormAlreadyUsed": "form_already_used", "CampaignClosed": "campaign_closed",
    "FormVoid": "form_void", "FormExpired": "form_expired", "TooMany": "too_many",
    "InvalidAnswers": "invalid_answers", "SubmissionConflict": "submission_conflict",
}


def submitted(channel: str, repeated: bool) -> None:
    (REPEATS if repeated else SUBMISSIONS).labels(channel).inc()


def refused(channel: str, exc: Exception) -> None:
    REFUSALS.labels(channel, REASONS.get(type(exc).__name__, "other")).inc()


_latency_children: dict = {}


def observe_request(route: str, status: str, seconds: float) -> None:
    # Every request passes here: the labelled child is looked up once (a few route kinds
    # times a few status classes), not under the metric's lock each time.
    child = _latency_children.get((route, status))
    if child is None:
        child = _latency_children[route, status] = REQUEST_SECONDS.labels(route, status)
    child.observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type: every worker's
    added up in multiprocess mode, else this process's (with its CPU and memory)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def child_exit(server, worker) -> None:
    """gunicorn's `child_exit` hook: a dead worker's live values (none of ours are
    gauges, but prometheus_client's own may be) stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_starting(server) -> None:
    """gunicorn's `on_starting` hook (in the master, before any worker): empty the
    multiprocess folder, whose files from an earlier run would otherwise be added to this
    run's counts."""
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
