"""`make stack-check`: the production stack on one machine, and what it does when parts fail.

Starts, in a scratch folder, and stops at the end: PostgreSQL (its own `initdb`, its own
port), Redis (its own port), two application instances under gunicorn with
deploy/gunicorn.conf.py on two ports (standing for two hosts) sharing them, and nginx (the
Debian package's binary, its own config file: deploy/nginx/survey.conf rendered with a
self-signed certificate, the two instances as upstreams) in front. Then drills, each under
the same load of citizens (a visit: GET an open link's form over HTTPS through nginx, POST
it back with its hidden fields and answers, on one keep-alive connection; every visit from
its own loopback address, 127.x.y.z, so nginx's X-Forwarded-For gives each its own
open-link allowance):

1. steady load: errors (must be 0), p50/p99 of a visit, visits a second, server CPU a visit
   (gunicorn and PostgreSQL apart, from /proc/<pid>/stat);
2. one instance killed with SIGKILL mid-load: nginx sends the citizens to the other;
3. PostgreSQL restarted mid-load (fast shutdown, started again): 503 "please try again",
   never 500, and service back by itself;
4. the database made read-only mid-load (`ALTER DATABASE … SET
   default_transaction_read_only = on` and its sessions ended; the same undone after a
   while): the same 503 page, nothing lost;
5. afterwards: every acknowledged receipt is stored, nothing is stored that was not
   acknowledged beyond the requests cut off by a failure; one address's open-link limit
   spent across both instances is refused on both (the limit lives in Redis); the audit
   bundle exported from the database passes `python -m analysis verify`.

Prints a table (Markdown); exits 1 on any 500, any acknowledged submission lost, an error
under steady load, a service that does not come back, a limit not shared, a failed verify.

    python deploy/stack_check.py [--clients 200] [--duration 60] [--drill-seconds 25]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from glob import glob
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from survey_load import HIDDEN, answers_body, free_port, stop, tree_pids  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
SITE = ROOT / "deploy" / "nginx" / "survey.conf"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
OPEN_LINK_LIMIT = 30  # SURVEY_OPEN_LINK_RATE_LIMIT of the run: "30 per 10 minutes"
TRY_AGAIN = "Vui lòng thử lại"


# -- the site rendered for one machine -----------------------------------------------------

def render_site(site: str, *, upstreams: list[str], http_port: int, https_port: int,
                cert: Path, key: Path, static: Path) -> str:
    """deploy/nginx/survey.conf with this machine's addresses, certificate and static folder;
    fails on a site whose shape changed (each replaced setting must be found once)."""
    def once(pattern, repl, text, flags=0):
        out, n = re.subn(pattern, repl, text, flags=flags)
        if n != 1:
            raise ValueError(f"deploy/nginx/survey.conf: {pattern!r} found {n} times")
        return out

    server = re.search(r"^(\s*)server 127\.0\.0\.1:8000( [^;]*)?;\n", site, re.M)
    if server is None:
        raise ValueError("deploy/nginx/survey.conf: no upstream server 127.0.0.1:8000")
    lines = "".join(f"{server.group(1)}server {u}{server.group(2) or ''};\n" for u in upstreams)
    site = site[:server.start()] + lines + site[server.end():]
    site = re.sub(r"^\s*listen \[::\]:\d+[^;]*;\n", "", site, flags=re.M)  # loopback only
    site = once(r"listen 80;", f"listen 127.0.0.1:{http_port};", site)
    site = once(r"listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl", site)
    site = once(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    site = once(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    return once(r"alias /opt/survey/app/survey_app/static/;", f"alias {static}/;", site)


def nginx_conf(site: str, work: Path) -> str:
    """A whole nginx configuration around the site: its pid, logs and temporary files in
    `work`, never the system's."""
    temps = "".join(f"    {name}_temp_path {work}/{name};\n"
                    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    body = "".join("    " + line + "\n" if line else "\n" for line in site.splitlines())
    return (f"pid {work}/nginx.pid;\nerror_log {work}/error.log warn;\nworker_processes 1;\n"
            f"events {{ worker_connections 2048; }}\nhttp {{\n"
            f"    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            f"    access_log off;\n{temps}{body}}}\n")


def self_signed(work: Path) -> tuple[Path, Path]:
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


# -- processes -----------------------------------------------------------------------------

def cpu_seconds(root: int) -> float:
    """CPU of a process tree, the children it has already reaped included."""
    total = 0
    for pid in tree_pids(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(f) for f in fields[11:15])
    return total / CLK_TCK


def wait_for(check, what: str, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            if check():
                return
        except Exception:  # refused, or PostgreSQL "starting up": not yet
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not start")


class Stack:
    """The services of the drill, each started here and stopped at the end."""

    def __init__(self, work: Path):
        self.work = work
        self.procs: dict[str, subprocess.Popen] = {}
        self.pg_port, self.redis_port = free_port(), free_port()
        self.app_ports = [free_port(), free_port()]
        self.https_port, self.http_port = free_port(), free_port()
        bins = sorted(glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
        if not bins:
            raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.pg_bin = Path(bins[-1])
        self.pg_user = "postgres" if os.geteuid() == 0 else None
        self.url = f"postgresql://postgres@127.0.0.1:{self.pg_port}/survey"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT),
                    "SURVEY_DATABASE_URL": self.url,
                    "SURVEY_INSTANCE_PATH": str(work / "instance"),
                    "SURVEY_SECRET_KEY": secrets.token_hex(32),
                    "SURVEY_RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{self.redis_port}/0",
                    "SURVEY_OPEN_LINK_RATE_LIMIT": f"{OPEN_LINK_LIMIT} per 10 minutes",
                    "SURVEY_PROXY_COUNT": "1"}

    # PostgreSQL, as its own user when run as root (initdb refuses root)
    def start_postgres(self) -> None:
        data = self.work / "pgdata"
        if not data.exists():
            if self.pg_user:
                shutil.chown(self.work, self.pg_user)
            subprocess.run([self.pg_bin / "initdb", "-D", data, "-A", "trust", "-U", "postgres",
                            "-E", "UTF8", "--no-sync"], check=True, capture_output=True,
                           user=self.pg_user)
        self.procs["postgres"] = subprocess.Popen(
            [self.pg_bin / "postgres", "-D", data, "-p", str(self.pg_port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.work}",
             "-c", "max_connections=200"], user=self.pg_user, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=open(self.work / "postgres.log", "ab"))
        wait_for(lambda: self.sql("SELECT 1", db="postgres") is not None, "PostgreSQL")

    def stop_postgres(self) -> None:
        proc = self.procs.pop("postgres")
        proc.send_signal(signal.SIGINT)  # fast shutdown: open transactions roll back
        proc.wait(timeout=60)

    def sql(self, statement: str, db: str = "survey"):
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.pg_port}/{db}",
                             autocommit=True, connect_timeout=3) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []

    def start_redis(self) -> None:
        self.procs["redis"] = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, start_new_session=True)

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "flask", "--app", "survey_app", *args],
                              env=self.env, cwd=ROOT, capture_output=True, text=True)

    def prepare(self) -> list[str]:
        """The database migrated and the demo loaded, through the operator's commands;
        returns the open links' paths."""
        self.sql("CREATE DATABASE survey", db="postgres")
        for args in (["init-db"], ["seed-demo", "--password", secrets.token_hex(8)]):
            done = self.flask(*args)
            if done.returncode:
                raise SystemExit(f"flask {args[0]} failed:\n{done.stderr}")
        return [f"/k/{code}" for (code,) in self.sql(
            "SELECT s.open_code FROM campaign_agency s JOIN campaign c ON c.id = s.campaign_id "
            "WHERE c.code = 'demo' ORDER BY s.id")]

    def start_app(self, i: int) -> None:
        port = self.app_ports[i]
        self.procs[f"app{i}"] = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "-b",
             f"127.0.0.1:{port}", "-w", "2", "--log-level", "warning"],
            env=self.env, cwd=ROOT, start_new_session=True,
            stderr=open(self.work / f"app{i}.log", "ab"))
        wait_for(lambda: _status(port, "/") < 500, f"application instance {i}")

    def kill_app(self, i: int) -> None:
        proc = self.procs.pop(f"app{i}")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def start_nginx(self) -> None:
        cert, key = self_signed(self.work)
        site = render_site(SITE.read_text(), upstreams=[f"127.0.0.1:{p}" for p in self.app_ports],
                           http_port=self.http_port, https_port=self.https_port, cert=cert,
                           key=key, static=ROOT / "survey_app" / "static")
        conf = self.work / "nginx.conf"
        conf.write_text(nginx_conf(site, self.work))
        self.procs["nginx"] = subprocess.Popen(
            ["nginx", "-c", str(conf), "-p", str(self.work), "-g", "daemon off;"],
            start_new_session=True)
        wait_for(lambda: _status(self.https_port, "/", tls=True) < 500, "nginx")

    def stop_all(self) -> None:
        for name in ("nginx", "app0", "app1", "redis", "postgres"):
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            if name == "postgres":
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=60)
            else:
                stop(proc)


def _tls() -> ssl.SSLContext:
    """One client context a process (building one reads the system's CA store: tens of ms,
    which would make the load generator the bottleneck); the certificate is self-signed."""
    global _TLS
    if _TLS is None:
        _TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        _TLS.check_hostname = False
        _TLS.verify_mode = ssl.CERT_NONE
    return _TLS


_TLS: ssl.SSLContext | None = None


def _connection(port: int, tls: bool, source: str | None = None, timeout: float = 30):
    src = (source, 0) if source else None
    if tls:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                           context=_tls(), source_address=src)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=src)


def _status(port: int, path: str, tls: bool = False) -> int:
    c = _connection(port, tls, timeout=5)
    c.request("GET", path)
    status = c.getresponse().status
    c.close()
    return status


# -- the citizens --------------------------------------------------------------------------

def source_address(i: int) -> str:
    """Visit `i`'s own loopback address (127.1.0.0 upwards; the whole 127/8 is this host)."""
    return f"127.{1 + (i >> 16) % 250}.{(i >> 8) & 255}.{i & 255}"


def visit(port: int, path: str, i: int, forwarded: str | None = None) -> tuple[str, str | None]:
    """One citizen: (outcome, receipt). Through nginx (HTTPS, from its own address) or,
    given `forwarded`, straight to an instance as nginx would send it. Outcomes: ok (303 to
    its receipt), try_again (the 503 page to the POST; try_again_get to the GET), cut (no
    answer to the POST: connection lost, 502/504), cut_get (the same before anything was
    sent), s<status> otherwise."""
    if forwarded:
        conn, extra = _connection(port, False), {"X-Forwarded-For": forwarded}
    else:
        conn, extra = _connection(port, True, source_address(i)), {}
    sent = False
    try:
        conn.request("GET", path, headers=extra)
        r = conn.getresponse()
        html = r.read().decode()
        if r.status != 200:
            return _outcome(r.status, html, sent), None
        cookies = "; ".join(h.split(";", 1)[0] for k, h in r.getheaders()
                            if k.lower() == "set-cookie")
        hidden = dict(HIDDEN.findall(html))
        sent = True
        conn.request("POST", path, answers_body(hidden, i), {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies, **extra})
        r = conn.getresponse()
        body = r.read().decode(errors="replace")
        location = r.getheader("Location") or ""
        if r.status == 303 and "/cam-on/" in location:
            return "ok", location.rsplit("/", 1)[1]
        return _outcome(r.status, body, sent), None
    except (OSError, http.client.HTTPException):
        return ("cut" if sent else "cut_get"), None
    finally:
        conn.close()


def _outcome(status: int, body: str, sent: bool) -> str:
    if status == 503 and TRY_AGAIN in body:
        return "try_again" if sent else "try_again_get"
    if status in (502, 504):
        return "cut" if sent else "cut_get"
    return f"s{status}"


def _load_process(port, paths, first, step, threads, start, seconds, out) -> None:
    records, lock = [], threading.Lock()
    counter = iter(range(first, 1 << 30, step))

    def citizen():
        for i in counter:
            t0 = time.time()
            if t0 >= start + seconds:
                return
            outcome, receipt = visit(port, paths[i % len(paths)], i)
            with lock:
                records.append((t0 - start, time.time() - t0, outcome, receipt))

    pool = [threading.Thread(target=citizen) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    usage = os.times()
    out.put((records, usage.user + usage.system))


def load(port: int, paths: list[str], clients: int, seconds: float, offset: int,
         events=()) -> tuple[list, float]:
    """`clients` concurrent citizens for `seconds`, from 4 processes; `events`: (second,
    action) run meanwhile. Returns the visits (start, latency, outcome, receipt) and the
    load generator's CPU seconds."""
    ctx = multiprocessing.get_context("fork")
    out, procs = ctx.Queue(), []
    start = time.time() + 1
    n = 4
    for k in range(n):
        procs.append(ctx.Process(target=_load_process, args=(
            port, paths, offset + k, n, clients // n + (k < clients % n), start, seconds, out)))
    for p in procs:
        p.start()
    for at, action in events:
        time.sleep(max(0.0, start + at - time.time()))
        action()
    records, client_cpu = [], 0.0
    for _ in procs:
        got, cpu = out.get()
        records += got
        client_cpu += cpu
    for p in procs:
        p.join()
    return records, client_cpu


def summary(name: str, records: list, seconds: float, event_at: float | None = None) -> dict:
    outcomes: dict[str, int] = {}
    for _, _, outcome, _ in records:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    ok = sorted(lat for _, lat, outcome, _ in records if outcome == "ok")
    row = {"drill": name, "visits": len(records), "outcomes": outcomes,
           "ok": len(ok), "per_s": len(ok) / seconds,
           "p50": statistics.median(ok) if ok else None,
           "p99": ok[int(0.99 * (len(ok) - 1))] if ok else None,
           "receipts": {r for *_, r in records if r}}
    if event_at is not None:
        # back: the first acknowledged visit started after the last one that failed (a
        # visit that started before the event may fail because of it)
        troubled = [t for t, _, outcome, _ in records if outcome != "ok"]
        last = max(troubled, default=event_at)
        row["back_after"] = min((t for t, _, outcome, _ in records
                                 if outcome == "ok" and t > last), default=None)
        row["trouble_last"] = last
        row["tail_bad"] = sum(1 for t, _, outcome, _ in records
                              if t > seconds - 5 and outcome != "ok")
    return row


# -- the drills ----------------------------------------------------------------------------

def drills(stack: Stack, paths: list[str], args) -> list[dict]:
    port, at, span = stack.https_port, args.event_at, args.drill_seconds
    pids = {"app": lambda: [stack.procs[f"app{i}"].pid for i in (0, 1)],
            "postgres": lambda: [stack.procs["postgres"].pid],
            "nginx": lambda: [stack.procs["nginx"].pid]}

    def cpu():
        return {k: sum(cpu_seconds(p) for p in f()) for k, f in pids.items()}

    before = cpu()
    records, client = load(port, paths, args.clients, args.duration, 0)
    after = cpu()
    rows = [summary("1. steady load", records, args.duration)]
    visits = max(1, len(records))
    rows[0]["cpu_ms"] = {**{k: 1000 * (after[k] - before[k]) / visits for k in after},
                         "load generator": 1000 * client / visits}

    records, _ = load(port, paths, args.clients, span, 1 << 20,
                      [(at, lambda: stack.kill_app(0))])
    rows.append(summary("2. instance killed (SIGKILL)", records, span, at))
    rows[-1]["event"] = f"instance 0 killed at {at:.0f} s"
    stack.start_app(0)

    outage = {}

    def restart_postgres():
        t0 = time.time()
        stack.stop_postgres()
        stack.start_postgres()
        outage["s"] = time.time() - t0

    records, _ = load(port, paths, args.clients, span, 2 << 20, [(at, restart_postgres)])
    rows.append(summary("3. PostgreSQL restarted", records, span, at))
    rows[-1]["outage"] = outage.get("s")
    rows[-1]["event"] = f"restart at {at:.0f} s"

    def read_only(on: bool):
        value = "SET default_transaction_read_only = on" if on else \
            "RESET default_transaction_read_only"
        stack.sql(f"ALTER DATABASE survey {value}", db="postgres")
        # Sessions keep the setting they started with: end them (the pools reconnect).
        stack.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE datname = 'survey'", db="postgres")

    records, _ = load(port, paths, args.clients, span, 3 << 20,
                      [(at, lambda: read_only(True)), (at + args.read_only_seconds,
                                                       lambda: read_only(False))])
    rows.append(summary("4. database read-only", records, span, at + args.read_only_seconds))
    rows[-1]["event"] = f"read-only from {at:.0f} s to {at + args.read_only_seconds:.0f} s"
    return rows


def shared_limit(stack: Stack, path: str) -> tuple[bool, list[str], set[str]]:
    """One address's open-link allowance spent half on each instance: the next submission
    is refused on both only if both count in the same (Redis) store."""
    outcomes, receipts = [], set()
    for k in range(OPEN_LINK_LIMIT + 2):
        outcome, receipt = visit(stack.app_ports[k % 2], path, k, forwarded="198.51.100.7")
        outcomes.append(outcome)
        receipts |= {receipt} if receipt else set()
    ok = outcomes[:OPEN_LINK_LIMIT] == ["ok"] * OPEN_LINK_LIMIT and \
        outcomes[OPEN_LINK_LIMIT:] == ["s429", "s429"]
    return ok, outcomes, receipts


def afterwards(stack: Stack, rows: list[dict], paths: list[str]) -> tuple[dict, list[str]]:
    problems = []
    limit_ok, outcomes, probe = shared_limit(stack, paths[0])
    if not limit_ok:
        problems.append(f"open-link limit not shared across instances: {outcomes}")
    acknowledged = set().union(probe, *(r["receipts"] for r in rows))
    stored = {code for (code,) in stack.sql("SELECT receipt_code FROM response")}
    lost = acknowledged - stored
    unacknowledged = stored - acknowledged
    cut = sum(r["outcomes"].get("cut", 0) + r["outcomes"].get("try_again", 0) for r in rows)
    if lost:
        problems.append(f"{len(lost)} acknowledged submissions not stored")
    if len(unacknowledged) > cut:
        problems.append(f"{len(unacknowledged)} stored without acknowledgement, more than the "
                        f"{cut} submissions cut off or answered 503")
    bundle = stack.work / "bundle.zip"
    exported = stack.flask("export-audit", "--campaign", "demo", "--out", str(bundle))
    verified = subprocess.run([sys.executable, "-m", "analysis", "verify", str(bundle)],
                              cwd=ROOT, env=stack.env, capture_output=True, text=True)
    if exported.returncode or verified.returncode:
        problems.append("analysis verify failed:\n" + exported.stderr + verified.stdout
                        + verified.stderr)
    return {"acknowledged": len(acknowledged), "stored": len(stored), "lost": len(lost),
            "unacknowledged": len(unacknowledged), "cut": cut, "limit": limit_ok,
            "verify": not (exported.returncode or verified.returncode)}, problems


def judge(rows: list[dict], args) -> list[str]:
    problems = []
    for r in rows:
        if r["outcomes"].get("s500"):
            problems.append(f"{r['drill']}: {r['outcomes']['s500']} answers 500")
        if r.get("tail_bad"):
            problems.append(f"{r['drill']}: {r['tail_bad']} failures in the last 5 s")
        if "back_after" in r and r["back_after"] is None:
            problems.append(f"{r['drill']}: service did not come back")
    if rows[0]["ok"] != rows[0]["visits"]:
        problems.append(f"steady load: errors {rows[0]['outcomes']}")
    return problems


def table(rows: list[dict], after: dict, args) -> str:
    def ms(v):
        return "—" if v is None else f"{1000 * v:.0f}"

    out = [f"{args.clients} concurrent citizens over HTTPS through nginx, 2 instances × 2 "
           f"gunicorn workers, PostgreSQL and Redis of their own, all on this 2-core machine "
           f"shared with other work (noisy figures; the load generator shares the cores).", "",
           "| drill | visits | acknowledged | 503 try again (GET/POST) | cut off (GET/POST) "
           "| 500 | other | p50 ms | p99 ms | visits/s | notes |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        o = r["outcomes"]
        other = {k: v for k, v in o.items() if k not in (
            "ok", "try_again", "try_again_get", "cut", "cut_get", "s500")}
        note = ""
        if "cpu_ms" in r:
            note = "CPU a visit: " + ", ".join(f"{k} {v:.1f} ms"
                                               for k, v in r["cpu_ms"].items())
        elif r.get("back_after") is not None:
            note = r["event"]
            if r.get("outage"):
                note += f"; PostgreSQL down {r['outage']:.1f} s"
            note += f"; every visit begun from {r['back_after']:.1f} s on acknowledged"
        out.append(f"| {r['drill']} | {r['visits']} | {r['ok']} | {o.get('try_again_get', 0)}"
                   f"/{o.get('try_again', 0)} | {o.get('cut_get', 0)}/{o.get('cut', 0)} "
                   f"| {o.get('s500', 0)} | {other or '—'} | {ms(r['p50'])} | {ms(r['p99'])} "
                   f"| {r['per_s']:.1f} | {note} |")
    out.append(f"| 5. afterwards | — | {after['acknowledged']} acknowledged, {after['stored']} "
               f"stored | lost {after['lost']} | stored unacknowledged {after['unacknowledged']} "
               f"(≤ {after['cut']} cut off or 503 to a POST) | — | — | — | — | — | open-link "
               f"limit shared across instances: {'yes' if after['limit'] else 'NO'}; "
               f"analysis verify: {'passes' if after['verify'] else 'FAILS'} |")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60, help="drill 1, seconds")
    parser.add_argument("--drill-seconds", type=float, default=30, help="drills 2-4")
    parser.add_argument("--event-at", type=float, default=7)
    parser.add_argument("--read-only-seconds", type=float, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    if args.drill_seconds < args.event_at + args.read_only_seconds + 8:
        parser.error("--drill-seconds must leave 8 s after the read-only spell ends")
    for tool in ("nginx", "redis-server", "openssl"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install nginx-light redis-server "
                             f"openssl")
    work = Path(tempfile.mkdtemp(prefix="stack-check-"))
    stack = Stack(work)
    try:
        stack.start_postgres()
        stack.start_redis()
        paths = stack.prepare()
        for i in (0, 1):
            stack.start_app(i)
        stack.start_nginx()
        for k in range(16):  # every worker renders each page once
            for path in paths:
                _status(stack.app_ports[k % 2], path)
        rows = drills(stack, paths, args)
        after, problems = afterwards(stack, rows, paths)
        problems += judge(rows, args)
    finally:
        stack.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(table(rows, after, args))
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
