"""gunicorn settings of one application host (read by `gunicorn -c deploy/gunicorn.conf.py`).

Command-line options override these (the stack check starts two instances with `-b` and
`-w`); the environment file's GUNICORN_* variables set them under systemd.
"""

import multiprocessing
import os

wsgi_app = "survey_app:create_app()"
# Only nginx on the same host talks to gunicorn: never bind a public address.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Synchronous workers: a citizen's visit is two short requests, and nginx buffers the slow
# phones' uploads and downloads, so a worker is never held by a slow client.
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
# A request over this is killed and logged (the worker restarts); nginx's proxy_read_timeout
# (deploy/nginx/survey.conf) is a little longer, so nginx reports gunicorn's answer.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Workers are replaced after this many requests (with jitter, so not all at once), which
# bounds any slow growth of a worker's memory.
max_requests = 20000
max_requests_jitter = 2000
# The application is loaded in each worker, not the master: database connections and
# caches are never shared across a fork, and `systemctl reload` (HUP) picks up new code.
preload_app = False
# nginx sets X-Forwarded-*; the application trusts them through SURVEY_PROXY_COUNT, gunicorn
# only from nginx's address (loopback; with nginx on another host, bind GUNICORN_BIND to the
# private address and name nginx's there).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # nginx keeps the access log
errorlog = "-"  # to the journal under systemd
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "survey"

# Prometheus counts across workers (PROMETHEUS_MULTIPROC_DIR in the environment file):
# the master empties the folder at start and marks each dead worker's files.
from survey_app.metrics import child_exit, on_starting  # noqa: E402, F401
