"""Citizen-visit cost and submission throughput of the real application under gunicorn.

Runs the application with gunicorn (2 workers, SQLite in a scratch instance folder) and
measures, in one run:

1. Server CPU per complete citizen visit: a fresh client GETs an open-link form, reads
   its hidden fields and POSTs answers; at least 2,000 visits by 16 concurrent clients.
   CPU comes from the gunicorn processes' own accounting (/proc/<pid>/stat).
2. POSTs per second, each to a different single-use link prepared beforehand (a browser
   opened each once: its device cookie and form token), driven by wrk, against the bare
   WSGI + SQLite floor of ../shared/bench/ under the same load (wrk -t2 -c32), and their
   ratio. The two servers run side by side and are measured in turn, in interleaved
   rounds, so that a busy moment of the machine does not land on one of them alone; the
   medians are reported.
3. What the ledger costs: the application and the same application with the ledger
   switched off, on the same database, are loaded at the same time (one wrk -t1 -c16
   each, each POST to its own single-use link), so that the machine's ups and downs fall
   on both alike; the ratio of their server CPU per POST, the median over the rounds.

Every acknowledged submission must be stored: the script counts rows afterwards.

    .venv/bin/python benchmarks/survey_load.py [--visits 2000] [--clients 16]
        [--duration 4] [--rounds 5] [--links 20000]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT.parent / "shared" / "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|started)"[^>]*value="([^"]*)"')
SATISFACTION = ["TC1", "TC2", "TC3", "TC4", "TT1", "TT2", "TT3", "TT4", "CC1", "CC2", "CC3",
                "CC4", "CC5", "KQ1", "KQ2", "KQ3", "PA1", "PA2", "PA3"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_pids(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        p = stack.pop()
        pids.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                # A short-lived thread may end between the listing and the read.
                try:
                    stack.extend(int(c) for c in (task / "children").read_text().split())
                except FileNotFoundError:
                    continue
        except FileNotFoundError:
            continue
    return pids


def server_cpu(master: int) -> float:
    return sum(proc_cpu(p) for p in tree_pids(master))


def wait_ready(port: int, path: str = "/healthz", timeout: float = 30) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not start")


def start_gunicorn(app: str, port: int, env: dict, cwd: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
           "--log-level", "warning", app]
    return subprocess.Popen(cmd, env=env, cwd=cwd, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def answers_body(hidden: dict, i: int) -> str:
    data = dict(hidden)
    for k, code in enumerate(SATISFACTION):
        data[code] = str((i + k) % 5 + 1)
    data["GIOI_TINH"] = str(i % 2 + 1)
    data["Y_KIEN"] = "Cán bộ hướng dẫn tận tình"
    return urllib.parse.urlencode(data)


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def visit(port: int, path: str, i: int) -> tuple[float, int]:
    """One citizen: GET the form (no cookies), then POST the answers with its cookies."""
    t0 = time.perf_counter()
    r, html = request(port, "GET", path)
    if r.status != 200:
        return time.perf_counter() - t0, r.status
    cookies = "; ".join(h.split(";", 1)[0] for k, h in r.getheaders() if k.lower() == "set-cookie")
    hidden = dict(HIDDEN.findall(html.decode()))
    r, _ = request(port, "POST", path, answers_body(hidden, i), {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies})
    return time.perf_counter() - t0, r.status


def _visitor_process(port: int, paths: list[str], share: list[int], threads: int, out) -> None:
    """One load-generating process: `threads` concurrent citizens working through `share`;
    sends back (latencies, statuses, own CPU seconds)."""
    latencies, statuses, lock = [], {}, threading.Lock()
    counter = iter(share)

    def worker():
        for i in counter:
            took, status = visit(port, paths[i % len(paths)], i)
            with lock:
                latencies.append(took)
                statuses[status] = statuses.get(status, 0) + 1

    own0 = resource.getrusage(resource.RUSAGE_SELF)
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    own1 = resource.getrusage(resource.RUSAGE_SELF)
    out.put((latencies, statuses,
             (own1.ru_utime - own0.ru_utime) + (own1.ru_stime - own0.ru_stime)))


def phase_visits(port: int, master: int, paths: list[str], visits: int, clients: int,
                 processes: int) -> dict:
    """`clients` concurrent citizens, spread over `processes` load-generating processes (one
    Python process alone cannot keep 16 clients busy: its threads wait on each other)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_visitor_process, args=(
        port, paths, list(range(k, visits, processes)),
        clients // processes + (k < clients % processes), out)) for k in range(processes)]
    cpu0, t0 = server_cpu(master), time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    wall = time.perf_counter() - t0
    cpu = server_cpu(master) - cpu0
    for p in procs:
        p.join()
    latencies = sorted(x for r in results for x in r[0])
    statuses: dict[int, int] = {}
    for r in results:
        for status, n in r[1].items():
            statuses[status] = statuses.get(status, 0) + n
    return {"visits": visits, "wall": wall, "server_cpu": cpu,
            "gen_cpu": sum(r[2] for r in results), "statuses": statuses,
            "p50": statistics.median(latencies),
            "p99": latencies[int(len(latencies) * 0.99) - 1]}


WRK_REPLAY = """
-- Each wrk thread replays its own share of the prepared POSTs (one per single-use link).
-- The requests are formatted once, before the clock starts, as the floor's fixed body is:
-- the load generator shares the machine's cores with the server it measures, and should
-- spend no more of them per request on the one than on the other.
local nthreads = 0
setup = function(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end
local requests, pos = {}, 0
init = function(args)
  local step, n = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    n = n + 1
    if (n - tid) % step == 0 then
      local path, cookie, body = line:match("^(%S+)\t(%S+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookie}, body)
    end
  end
end
request = function()
  pos = pos % #requests + 1
  return requests[pos]
end
"""


def wrk_command(url: str, duration: int, script: str, args: list[str], threads: int = 2,
                connections: int = 32) -> list[str]:
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "-s", script, url,
            "--", *args]


def run_wrk(url: str, duration: int, script: str, args: list[str]) -> dict:
    out = subprocess.run(wrk_command(url, duration, script, args), capture_output=True,
                         text=True, check=True).stdout
    return wrk_figures(out)


def wrk_figures(out: str) -> dict:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "requests": total, "non_2xx_3xx": int(non.group(1)) if non else 0,
            "socket_errors": errors.group(1) if errors else "", "raw": out}


def post_phase(port: int, master: int, replay: Path, work: Path, duration: int,
               db_path: Path, links: int) -> dict:
    """Replay prepared POSTs with wrk, each to a different single-use link."""
    script = work / "replay.lua"
    script.write_text(WRK_REPLAY)
    before = count_rows(db_path, "response")
    cpu0 = server_cpu(master)
    run = run_wrk(f"http://127.0.0.1:{port}", duration, str(script), [str(replay), "2"])
    cpu = server_cpu(master) - cpu0
    stored = count_rows(db_path, "response") - before
    run.update(stored=stored, cpu_per_post=cpu / max(stored, 1) * 1000, links=links)
    return run


def ledger_phase(servers: list[tuple[int, int]], replays: list[Path], work: Path,
                 duration: int, db_path: Path, links: int) -> list[dict]:
    """Load two servers (port, master pid) on the same database at the same moment, one wrk
    -t1 -c16 each replaying its own prepared POSTs: the first with its ledger, the second
    without. A response with a ledger entry was stored by the first."""
    script = work / "replay.lua"
    script.write_text(WRK_REPLAY)

    def stored() -> tuple[int, int]:
        chained = count_rows(db_path, "ledger_entry", "WHERE kind = 'response'")
        return chained, count_rows(db_path, "response") - chained

    rows0, cpu0 = stored(), [server_cpu(master) for _, master in servers]
    procs = [subprocess.Popen(wrk_command(f"http://127.0.0.1:{port}", duration, str(script),
                                          [str(replay), "1"], threads=1, connections=16),
                              stdout=subprocess.PIPE, text=True)
             for (port, _), replay in zip(servers, replays, strict=True)]
    outs = [p.communicate()[0] for p in procs]
    cpu = [server_cpu(master) - c for (_, master), c in zip(servers, cpu0, strict=True)]
    counts = [after - before for after, before in zip(stored(), rows0, strict=True)]
    runs = []
    for out, n, seconds in zip(outs, counts, cpu, strict=True):
        run = wrk_figures(out)
        run.update(stored=n, links=links, cpu_per_post=seconds / max(n, 1) * 1000)
        runs.append(run)
    return runs


def prepare_app(instance: Path, sizes: list[int], work: Path) -> tuple[list[str], list[Path]]:
    """Migrate, seed, and issue a batch of single-use forms of each size; a citizen's browser
    opens each once (in process: its device cookie and form token) and its answers are
    written to a replay file per batch. Returns (open-link paths, replay files)."""
    sys.path.insert(0, str(ROOT))
    os.environ["SURVEY_INSTANCE_PATH"] = str(instance)
    from survey_app import create_app
    from survey_app.demo import seed
    from survey_app.extensions import db
    from survey_app.models import Campaign
    from survey_app.services import issuance

    app = create_app({"PASSWORD_HASH_METHOD": "scrypt:1024:8:1"})
    replays = []
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        seed("benchmark-password")
        db.session.commit()
        campaign = db.session.query(Campaign).filter_by(code="demo").one()
        opens = [f"/k/{s.open_code}" for s in campaign.scope]
        agencies = campaign.agencies
        for b, links in enumerate(sizes):
            urls: list[str] = []
            while len(urls) < links:
                agency = agencies[(b * links + len(urls)) // 5000 % len(agencies)]
                _, forms = issuance.issue_batch(campaign, agency, min(5000, links - len(urls)),
                                                "benchmark")
                urls.extend(u for _, u in forms)
            db.session.commit()
            replay = work / f"replay-{b}.tsv"
            browser = app.test_client()
            with replay.open("w") as fh:
                for i, url in enumerate(urls):
                    path = urllib.parse.urlsplit(url).path
                    browser.delete_cookie("sv_dev")
                    page = browser.get(path)
                    cookie = "; ".join(h.split(";", 1)[0] for h in page.headers.getlist(
                        "Set-Cookie")).replace(" ", "")
                    hidden = dict(HIDDEN.findall(page.get_data(as_text=True)))
                    fh.write(f"{path}\t{cookie}\t{answers_body(hidden, i)}\n")
            replays.append(replay)
        db.engine.dispose()
    return opens, replays


def count_rows(db_path: Path, table: str, where: str = "") -> int:
    """Rows in `table` once the count stops moving (requests that were in flight when the
    load stopped finish first)."""
    import sqlite3

    last = -1
    with sqlite3.connect(db_path) as c:
        while True:
            n = c.execute(f"SELECT count(*) FROM {table} {where}").fetchone()[0]
            if n == last:
                return n
            last = n
            time.sleep(0.3)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--visits", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--generators", type=int, default=4,
                    help="processes the visiting clients are spread over")
    ap.add_argument("--duration", type=int, default=4, help="seconds of each wrk run")
    ap.add_argument("--rounds", type=int, default=5,
                    help="POST runs of each server, interleaved; medians are reported")
    ap.add_argument("--links", type=int, default=20000,
                    help="single-use links prepared for each application POST run")
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk): part 2 needs it", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="survey-bench-"))
    instance = work / "instance"
    half = args.links // 2
    print(f"scratch folder: {work}; preparing {args.rounds} x {args.links} + "
          f"{2 * args.rounds} x {half} links")
    opens, replays = prepare_app(instance, [args.links] * args.rounds
                                 + [half] * (2 * args.rounds), work)
    db_path = instance / "survey.sqlite"
    port, port_off, fport = free_port(), free_port(), free_port()
    env = {**os.environ, "SURVEY_INSTANCE_PATH": str(instance),
           "SURVEY_OPEN_LINK_RATE_LIMIT": "1000000 per minute",
           "SURVEY_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    # Three servers side by side: the application, the floor, and (measured at the same
    # time as the application) the application with the ledger switched off.
    floor_db = work / "bare.sqlite"
    floor_env = {**os.environ, "BARE_DB": str(floor_db)}
    subprocess.run([sys.executable, str(BENCH / "bare_wsgi.py")], env=floor_env, check=True)
    servers = [start_gunicorn("survey_app:create_app()", port, env, ROOT),
               start_gunicorn("survey_app:create_app()", port_off,
                              {**env, "SURVEY_LEDGER_ENABLED": "false"}, ROOT),
               start_gunicorn("bare_wsgi:app", fport, floor_env, BENCH)]
    server = servers[0]
    runs: dict[str, list[dict]] = {"on": [], "floor": [], "ledger_on": [], "ledger_off": []}
    try:
        wait_ready(port)
        wait_ready(port_off)
        wait_ready(fport, "/")
        # warm both workers up
        for p in opens[:20]:
            visit(port, p, 0)
        before = count_rows(db_path, "response")
        v = phase_visits(port, server.pid, opens, args.visits, args.clients,
                         args.generators)
        stored = count_rows(db_path, "response") - before
        acknowledged = v["statuses"].get(303, 0)

        for r in range(args.rounds):
            runs["on"].append(post_phase(port, server.pid, replays[r], work, args.duration,
                                         db_path, args.links))
            stored_before, cpu0 = count_rows(floor_db, "resp"), server_cpu(servers[2].pid)
            floor_run = run_wrk(f"http://127.0.0.1:{fport}/submit", args.duration,
                                str(BENCH / "post.lua"), [])
            floor_run["stored"] = count_rows(floor_db, "resp") - stored_before
            floor_run["cpu_per_post"] = ((server_cpu(servers[2].pid) - cpu0)
                                         / max(floor_run["stored"], 1) * 1000)
            runs["floor"].append(floor_run)
        for r in range(args.rounds):
            pair = replays[args.rounds + 2 * r:args.rounds + 2 * r + 2]
            with_ledger, without = ledger_phase(
                [(port, servers[0].pid), (port_off, servers[1].pid)], pair, work,
                args.duration, db_path, half)
            runs["ledger_on"].append(with_ledger)
            runs["ledger_off"].append(without)
    finally:
        for proc in servers:
            stop(proc)

    cores = os.cpu_count() or 1
    per_visit_ms = v["server_cpu"] / v["visits"] * 1000
    server_util = v["server_cpu"] / v["wall"] / cores
    gen_util = v["gen_cpu"] / v["wall"] / cores
    # Both share the machine's cores: together near all of them, the larger share is the
    # side that set the pace; well below, the time went in waiting (locks, I/O).
    busy = server_util + gen_util
    if busy < 0.75:
        saturated = "neither (waiting: locks, I/O or other processes on the machine)"
    else:
        saturated = ("server" if server_util >= gen_util else "load generator") + \
            f" (the two together kept the cores {busy:.0%} busy)"
    print()
    print("== 1. Citizen visits (GET form + POST answers), open link, gunicorn -w 2, SQLite")
    print(f"visits                    {v['visits']} by {args.clients} concurrent clients "
          f"({args.generators} processes)")
    print(f"statuses                  {v['statuses']}")
    print(f"acknowledged / stored     {acknowledged} / {stored}")
    print(f"server CPU per visit      {per_visit_ms:.2f} ms   (target <= 3 ms)")
    print(f"visits per second         {v['visits'] / v['wall']:.0f}")
    print(f"latency p50 / p99         {v['p50'] * 1000:.1f} / {v['p99'] * 1000:.1f} ms")
    print(f"server CPU use            {server_util:.0%} of {cores} cores")
    print(f"load generator CPU use    {gen_util:.0%} of {cores} cores")
    print(f"saturated side            {saturated}")
    print()
    print(f"== 2. POST throughput, wrk -t2 -c32 for {args.duration} s, each POST to a different "
          f"single-use link; {args.rounds} interleaved rounds, medians")
    med = {k: statistics.median(r["rps"] for r in rs) for k, rs in runs.items()}
    cpu = {k: statistics.median(r["cpu_per_post"] for r in rs) for k, rs in runs.items()}

    def line(label: str, key: str) -> str:
        each = " / ".join(f"{r['rps']:.0f}" for r in runs[key])
        return (f"{label:<26}{med[key]:.0f} POST/s  (runs: {each}; requests "
                f"{sum(r['requests'] for r in runs[key])}, non-2xx/3xx "
                f"{sum(r['non_2xx_3xx'] for r in runs[key])}, stored "
                f"{sum(r['stored'] for r in runs[key])}, server CPU {cpu[key]:.2f} ms/POST)")

    print(line("application", "on"))
    print(line("bare WSGI + SQLite floor", "floor"))
    ratio = med["on"] / med["floor"]
    print(f"ratio application/floor   {ratio:.2f}   (target >= 0.5)")
    print()
    print(f"== 3. Ledger cost: with and without the ledger loaded at the same time (wrk -t1 "
          f"-c16 each, {args.duration} s), {args.rounds} rounds")
    print(line("with the ledger", "ledger_on"))
    print(line("without", "ledger_off"))
    each = [a["cpu_per_post"] / b["cpu_per_post"] - 1
            for a, b in zip(runs["ledger_on"], runs["ledger_off"], strict=True)]
    overhead = statistics.median(each)
    print(f"ledger cost               {overhead:+.1%} server CPU per POST, median of the rounds "
          f"({' / '.join(f'{x:+.1%}' for x in each)})   (target < 10 %)")
    ok = (stored == acknowledged == v["visits"])
    for name, run in [(k, r) for k, rs in runs.items() for r in rs]:
        # wrk stops with up to 32 requests in flight: those may be stored but not counted.
        if run["non_2xx_3xx"] or run["socket_errors"] \
                or not 0 <= run["stored"] - run["requests"] <= 32:
            print(f"error in a run of '{name}': {run['requests']} requests, stored "
                  f"{run['stored']}, non-2xx/3xx {run['non_2xx_3xx']}, socket errors "
                  f"{run['socket_errors'] or 'none'}")
            ok = False
        if run.get("links") and run["requests"] > run["links"]:
            print(f"warning: {run['requests']} POSTs for {run['links']} links; raise --links")
            ok = False
    print(f"errors                    {'none' if ok else 'SEE ABOVE'}")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
