"""``make bench``: the project against two baselines, same machine, same load, same run.

Targets, each started in its own process, one after the other:

* ``ws``: bench/baseline_ws.py, a bare websockets relay (the floor);
* ``channels``: bench/baseline_channels.py, a minimal Channels relay under
  daphne on the same channels-redis settings (the framework's own cost);
* ``project``: daphne on chatplatform.asgi, PostgreSQL database ``chatbench``
  (dropped, created and migrated here), channels-redis on its own Redis db;
* ``project-redis``: the project on channels-redis's default layer (``CHANNEL_LAYER=redis``);
* ``project2``: the same on two daphne processes (visitors on one, experts on
  the other), the steady scenario only;
* ``project2-spread``: two processes, one per core, each pair's sockets spread
  over both with no sticky routing (the curve from one process to two);
* ``channels-<server>`` / ``project-<server>``: the relay or the project under
  another ASGI server (``uvicorn``, ``uvicorn-sansio``, ``uvicorn-wsproto``,
  ``granian``), compared with the relay under the same server.

Scenarios (``--scenarios``): steady, ramp, typing, storm, fanout (the pairs of
one visitor and one away expert), and the community's: ``experts-online`` (E
experts online for the brand, C conversations each, steady chat) and
``question-burst`` (Q new questions a second offered to those E dashboards,
each claimed by one of them).

The load generator (bench/loadgen.py) runs in another process; where there
are two cores the server is pinned to one and the load generator to the
other. Results: a table on stdout, ``bench/results/<stamp>.json`` and
``bench/results/<stamp>-latency.png``.

    python -m bench.run [--quick] [--pairs N] [--steady-seconds S] [--targets ws,channels,project,project2]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PY = sys.executable
# What the relays (the bare one, and Channels' under any server) can be run for: they have no
# database, so no fan-out of one expert's 50 conversations.
RELAY_SCENARIOS = ("idle", "steady", "ramp", "typing", "storm", "experts-online", "question-burst")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def pin(pid: int, cores: set[int] | None) -> None:
    if cores and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(pid, cores)
        except OSError:
            pass


def cpu_seconds(procs) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def named(*names) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").split()[0] in names]


def cpu_by_pid(procs) -> dict[int, float]:
    out = {}
    for p in procs:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except psutil.Error:
            pass
    return out


def cpu_between(a: dict[int, float], b: dict[int, float]) -> float:
    """CPU seconds used between two samples, counting processes started in between (PostgreSQL's backends)."""
    return sum(cpu - a.get(pid, 0.0) for pid, cpu in b.items())


def analyze(url: str) -> None:
    """Refresh the planner's statistics, as autovacuum keeps them on a database in service."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


# --- database -----------------------------------------------------------------------

def with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def recreate_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def pg_counters(url: str) -> dict:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit, tup_inserted, tup_updated, tup_fetched, tup_returned FROM pg_stat_database WHERE datname = %s",
            (name,),
        ).fetchone()
    return dict(zip(("xact_commit", "tup_inserted", "tup_updated", "tup_fetched", "tup_returned"), row))


def end_open_conversations(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE visitors_conversation SET status = 'ended', ended_by = 'system', ended_at = now() WHERE status <> 'ended'")
        conn.execute("DELETE FROM experts_expertconnection")


def clear_redis(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for pattern in (f"{prefix}*", f"*{prefix}*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])
    client.close()


# --- one target ------------------------------------------------------------------------

class Target:
    def __init__(self, name: str, commands: list[list[str]], env: dict, cores: list[set[int] | None], db_url: str | None = None):
        self.name, self.commands, self.env, self.cores, self.db_url = name, commands, env, cores, db_url
        self.procs: list[subprocess.Popen] = []
        self.ports: list[int] = []

    def start(self) -> None:
        for command, cores in zip(self.commands, self.cores):
            port = free_port()
            argv = [a.replace("{port}", str(port)) for a in command]
            if os.environ.get("BENCH_PYSPY") and not os.environ.get("BENCH_PYSPY_AT"):
                # A profile of each server's whole run: collapsed stacks for flame graphs.
                argv = [os.environ["BENCH_PYSPY"], "record", "-r", "200", "-f", "raw", "-o", str(RESULTS / f"{self.name}-{port}.stacks"), "--"] + argv
            proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=open(RESULTS / f"{self.name}-{port}.log", "w"))
            pin(proc.pid, cores)
            self.procs.append(proc)
            self.ports.append(port)
        for port, proc in zip(self.ports, self.procs):
            wait_port(port, proc)
        time.sleep(1.0)

    def stop(self) -> None:
        children = []
        for proc in self.procs:
            try:
                children += psutil.Process(proc.pid).children(recursive=True)
            except psutil.Error:
                pass
        for proc in self.procs:
            if os.environ.get("BENCH_PYSPY") and not os.environ.get("BENCH_PYSPY_AT"):
                proc.send_signal(2)  # py-spy writes its profile on SIGINT
            else:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for child in children:  # under py-spy: the server itself
            try:
                child.terminate()
                child.wait(timeout=20)
            except psutil.Error:
                pass

    @property
    def ps(self) -> list[psutil.Process]:
        """The server processes and their children (granian serves from a worker process it spawns)."""
        out = []
        for p in self.procs:
            proc = psutil.Process(p.pid)
            out += [proc] + proc.children(recursive=True)
        return out


def profile_servers(target: Target, mark: str) -> None:
    """BENCH_PYSPY_AT=<mark>: profile each server from that mark for BENCH_PYSPY_SECONDS (default 20).

    py-spy attaches (``--gil``: only the thread holding the GIL, what the one core
    spends) and writes collapsed stacks next to the results; ``BENCH_PYSPY`` is its path.
    """
    seconds = os.environ.get("BENCH_PYSPY_SECONDS", "20")
    for proc in target.procs:
        out = RESULTS / f"{target.name}-{proc.pid}-{mark.replace(' ', '-')}.stacks"
        subprocess.Popen([os.environ["BENCH_PYSPY"], "record", "--gil", "-r", "200", "-f", "raw", "-d", seconds,
                          "-p", str(proc.pid), "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_loadgen(target: Target, plan: dict, loadgen_cores, time_limit: float) -> tuple[dict, dict]:
    """Run the load generator; sample server CPU/RSS, Redis/PostgreSQL CPU and DB counters at each MARK."""
    plan = {**plan, "bases": [f"ws://127.0.0.1:{p}" for p in target.ports], "visitor_origin": "http://bench.test", "time_limit": time_limit,
            # The question burst waits for the server to be idle again (its CPU, read from /proc).
            "server_pids": [p.pid for p in target.ps]}
    proc = subprocess.Popen([PY, "-m", "bench.loadgen"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    pin(proc.pid, loadgen_cores)
    proc.stdin.write(json.dumps(plan))
    proc.stdin.close()
    gen = psutil.Process(proc.pid)
    servers = target.ps
    marks: dict[str, dict] = {}
    result = None
    for line in proc.stdout:
        if line.startswith("MARK "):
            name = line[5:].strip()
            sample = {
                "t": time.monotonic(),
                "server_cpu": cpu_seconds(servers),
                "server_rss": sum(p.memory_info().rss for p in servers),
                "loadgen_cpu": cpu_seconds([gen]),
                # Sampled anew at each mark: PostgreSQL starts a backend per connection the server opens.
                "services_cpu": cpu_by_pid(named("redis-server", "postgres")),
            }
            if target.db_url:
                sample["pg"] = pg_counters(target.db_url)
            marks[name] = sample
            if name == os.environ.get("BENCH_PYSPY_AT"):
                profile_servers(target, name)
            if name in ("setup done", "community setup done") and target.db_url:
                # The pairs' rows were all written in the last seconds: a fresh database has no
                # statistics for them yet, and the planner would guess (a production one has them).
                analyze(target.db_url)
        elif line.startswith("RESULT "):
            result = json.loads(line[7:])
    proc.wait(timeout=60)
    if result is None:
        raise RuntimeError(f"the load generator gave no result for {target.name} (exit {proc.returncode})")
    return result, marks


def enrich(result: dict, marks: dict, target: Target) -> dict:
    """Per phase: CPU per 1,000 msg/s, DB work per message; per run: RSS per idle socket."""
    for name, phase in result["phases"].items():
        a, b = marks.get(f"start {name}"), marks.get(f"end {name}")
        if not (a and b):
            continue
        seconds = b["t"] - a["t"]
        rate = phase["delivered"] / seconds if seconds else 0
        phase["server_cores"] = round((b["server_cpu"] - a["server_cpu"]) / seconds, 3)
        phase["loadgen_cores"] = round((b["loadgen_cpu"] - a["loadgen_cpu"]) / seconds, 3)
        phase["redis_postgres_cores"] = round(cpu_between(a["services_cpu"], b["services_cpu"]) / seconds, 3)
        phase["server_cpu_per_1000_msg_s"] = round(phase["server_cores"] / (rate / 1000), 3) if rate else None
        if name == "idle" and result.get("setup", {}).get("sockets"):
            # The fixed cost of an open, silent socket: server CPU microseconds per socket per second.
            phase["server_cpu_us_per_socket_second"] = round(phase["server_cores"] * 1e6 / result["setup"]["sockets"], 2)
        if "pg" in a and phase["delivered"]:
            phase["db_per_message"] = {k: round((b["pg"][k] - a["pg"][k]) / phase["delivered"], 2) for k in a["pg"]}
    a, b = marks.get("idle before"), marks.get("idle after")
    if a and b and result.get("setup", {}).get("sockets"):
        result["setup"]["rss_per_idle_socket_kib"] = round((b["server_rss"] - a["server_rss"]) / result["setup"]["sockets"] / 1024, 1)
        result["setup"]["server_rss_mib"] = round(b["server_rss"] / 2**20, 1)
    return result


# --- report -------------------------------------------------------------------------------

def fmt(v, unit=""):
    return "-" if v is None else (f"{v:.2f}{unit}" if isinstance(v, float) else f"{v}{unit}")


def ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def report(results: dict) -> str:
    lines = []
    header = f"{'target':10} {'phase':12} {'delivered/sent':>15} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'msg/s':>8} {'cpu/1k':>7} {'db xact/msg':>11}"
    lines.append(header)
    for name, r in results["targets"].items():
        for phase_name, p in r["phases"].items():
            lat = p["latency"]
            db = p.get("db_per_message", {}).get("xact_commit")
            lines.append(
                f"{name:10} {phase_name:12} {p['delivered']:>7}/{p['sent']:<7} {fmt(lat['p50_ms']):>8} {fmt(lat['p99_ms']):>8} {fmt(lat['max_ms']):>8} "
                f"{p['delivered_per_second']:>8} {fmt(p.get('server_cpu_per_1000_msg_s')):>7} {fmt(db):>11}"
            )
    lines.append("")
    for name, r in results["targets"].items():
        s = r.get("setup")
        if s:
            h = s["handshake"]
            lines.append(f"{name:10} sockets {s['sockets']}, handshake p50 {fmt(h['p50_ms'])} ms p99 {fmt(h['p99_ms'])} ms, failures {h['failures']} (5xx {h['http_5xx']}), "
                         f"RSS/idle socket {fmt(s.get('rss_per_idle_socket_kib'))} KiB, knee {r.get('knee_rate')} msg/s")
        idle = r["phases"].get("idle")
        if idle and idle.get("server_cores") is not None:
            lines.append(f"{name:10} idle: {idle['server_cores']} cores for {s['sockets'] if s else '?'} silent sockets, "
                         f"{idle.get('server_cpu_us_per_socket_second')} us of CPU per socket per second")
        storm = r["phases"].get("storm", {}).get("storm")
        if storm:
            h = storm["handshake"]
            lines.append(f"{name:10} reconnect storm: {storm['reconnected']}/{storm['sockets']} back (all back in {storm['all_back_seconds']} s, "
                         f"{storm.get('back_within_10_s')} within 10 s, p50 {storm.get('p50_back_seconds')} s), attempts {storm.get('attempts')}, "
                         f"failed attempts {h['failures']} (5xx {h['http_5xx']}, {h['errors']}), "
                         f"lost {r['phases']['storm']['lost']} (acknowledged and not delivered: "
                         f"{r['phases']['storm'].get('acknowledged_not_delivered')}), duplicates {r['phases']['storm']['duplicates']}")
            if storm.get("back_per_second"):
                lines.append(f"{name:10} storm: back in each second after the drop {storm['back_per_second']}")
        burst = r["phases"].get("question-burst")
        if burst:
            lines.append(f"{name:10} question burst: {burst['answered']}/{burst['questions']} questions at {burst['offered_rate']}/s to {burst['online_dashboards']} "
                         f"dashboards: offers {burst['offers_seen']}/{burst['offers_expected']}, p50 {fmt(burst['offer_latency']['p50_ms'])} ms "
                         f"p99 {fmt(burst['offer_latency']['p99_ms'])} ms; claimed {burst['claimed']}, claim p50 {fmt(burst['claim_latency']['p50_ms'])} ms "
                         f"p99 {fmt(burst['claim_latency']['p99_ms'])} ms; all settled {burst['settled_after_last_seconds']} s and server idle "
                         f"{burst['server_idle_after_last_seconds']} s after the last question")
        cs = r.get("community_setup")
        if cs:
            h = cs["handshake"]
            lines.append(f"{name:10} community: {cs['online']}/{cs['experts']} experts online, {cs['pairs']} conversations, "
                         f"handshake p50 {fmt(h['p50_ms'])} ms, failures {h['failures']}")
        typing = r["phases"].get("typing", {}).get("typing")
        if typing:
            lines.append(f"{name:10} typing: {typing['delivered']}/{typing['sent']} relayed, p99 {fmt(typing['latency']['p99_ms'])} ms")
    if results.get("queries"):
        q = results["queries"]
        lines.append(f"project    SQL statements per message (service path): visitor {q['visitor_message']}, expert {q['expert_message']}, retry {q['visitor_retry']}")
    lines.append("")
    for k, v in results.get("ratios", {}).items():
        lines.append(f"ratio {k}: {v}")
    return "\n".join(lines)


def ratios(results: dict) -> dict:
    t = results["targets"]
    out = {}
    for name in t:
        if name.startswith("project") and name != "project2":
            out.update(_ratios_of(t, name))
    return out


def _ratios_of(t: dict, name: str) -> dict:
    out = {}
    p = t[name]
    # project-<server> is compared with the relay under the same server as well (channels-<server>).
    same_server = "channels" + name[len("project"):] if name.startswith("project-") else None
    for base in ["ws", "channels", "project2", "project-redis", "project"] + ([same_server] if same_server else []):
        if base not in t or base == name:
            continue
        b = t[base]
        ps, bs = p["phases"].get("steady"), b["phases"].get("steady")
        row = {}
        if ps and bs:
            row["steady_p50"] = ratio(ps["latency"]["p50_ms"], bs["latency"]["p50_ms"])
            row["steady_p99"] = ratio(ps["latency"]["p99_ms"], bs["latency"]["p99_ms"])
            row["cpu_per_1000_msg_s"] = ratio(ps.get("server_cpu_per_1000_msg_s"), bs.get("server_cpu_per_1000_msg_s"))
        if p.get("setup") and b.get("setup"):
            row["rss_per_idle_socket"] = ratio(p["setup"].get("rss_per_idle_socket_kib"), b["setup"].get("rss_per_idle_socket_kib"))
            row["handshake_p50"] = ratio(p["setup"]["handshake"]["p50_ms"], b["setup"]["handshake"]["p50_ms"])
        pe, be = p["phases"].get("experts-online"), b["phases"].get("experts-online")
        if pe and be:
            row["experts_online_p50"] = ratio(pe["latency"]["p50_ms"], be["latency"]["p50_ms"])
            row["experts_online_p99"] = ratio(pe["latency"]["p99_ms"], be["latency"]["p99_ms"])
            row["experts_online_cpu_per_1000_msg_s"] = ratio(pe.get("server_cpu_per_1000_msg_s"), be.get("server_cpu_per_1000_msg_s"))
        pb, bb = p["phases"].get("question-burst"), b["phases"].get("question-burst")
        if pb and bb:
            row["burst_offer_p50"] = ratio(pb["offer_latency"]["p50_ms"], bb["offer_latency"]["p50_ms"])
            row["burst_offer_p99"] = ratio(pb["offer_latency"]["p99_ms"], bb["offer_latency"]["p99_ms"])
            row["burst_claim_p99"] = ratio(pb["claim_latency"]["p99_ms"], bb["claim_latency"]["p99_ms"])
        if p.get("knee_rate") is not None and b.get("knee_rate"):
            row["knee_rate"] = ratio(p["knee_rate"], b["knee_rate"])
        out[f"{name}/{base}"] = row
    return out


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, r in results["targets"].items():
        steady = r["phases"].get("steady")
        if steady and steady["latency_curve"]:
            xs = [1 / (1 - p / 100) if p < 100 else 1e5 for p, _ in steady["latency_curve"]]
            left.plot(xs, [v for _, v in steady["latency_curve"]], marker="o", label=name)
        if r.get("ramp"):
            right.plot([s["rate"] for s in r["ramp"]], [s["latency"]["p99_ms"] for s in r["ramp"]], marker="o", label=name)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xticks([2, 10, 100, 1000, 10000, 1e5])
    left.set_xticklabels(["p50", "p90", "p99", "p99.9", "p99.99", "max"])
    left.set_ylabel("one-way latency, ms")
    left.set_title("steady chat: latency by percentile")
    left.legend()
    right.axhline(results["plan"]["knee_p99_ms"], color="grey", linestyle="--", linewidth=1)
    right.set_yscale("log")
    right.set_xlabel("offered messages per second")
    right.set_ylabel("p99 one-way latency, ms")
    right.set_title("rate ramp (dashed: the knee's p99 bound)")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# --- main ------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run (< 3 minutes)")
    parser.add_argument("--pairs", type=int, help="visitor/expert pairs (full: 2000, quick: 100)")
    parser.add_argument("--steady-seconds", type=float)
    parser.add_argument("--ramp-seconds", type=float)
    parser.add_argument("--ramp-rates", help="comma-separated total msg/s, in order")
    parser.add_argument("--targets", default="ws,channels,project,project2")
    # Also: idle (every socket open and silent for a while: the server's fixed cost per socket, as cores).
    parser.add_argument("--scenarios", default="steady,ramp,typing,storm,fanout,experts-online,question-burst")
    parser.add_argument("--experts", type=int, help="experts-online / question-burst: E experts online (full: 200, quick: 20)")
    parser.add_argument("--conversations-per-expert", type=int, help="C conversations each (full: 10, quick: 5)")
    parser.add_argument("--burst-rate", type=float, default=10.0, help="question-burst: Q new questions per second")
    parser.add_argument("--burst-questions", type=int, help="question-burst: how many (full: 300, quick: 50)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chatbench"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"))
    parser.add_argument("--storm-interval", type=float, default=10.0, help="seconds between one side's messages during the storm")
    parser.add_argument("--label", default="", help="a word kept in the result file name and JSON")
    args = parser.parse_args()

    quick = args.quick
    pairs = args.pairs or (100 if quick else 2000)
    default_rates = [50, 100, 200, 400, 800] if quick else [400, 800, 1200, 1600, 2400, 3200, 4800]
    plan = {
        "pairs": pairs,
        "brand": "bench",
        "scenarios": args.scenarios.split(","),
        "steady_interval": 10.0,
        "steady_seconds": args.steady_seconds or (10 if quick else 60),
        "ramp_rates": [int(r) for r in args.ramp_rates.split(",")] if args.ramp_rates else default_rates,
        "ramp_seconds": args.ramp_seconds or (3 if quick else 20),
        "knee_p99_ms": 50,
        # As the widget types (static/widget/widget.js): `typing` active, inactive when the message
        # is sent, on steady chat's schedule. Five frames every 5 s per side (before November 25th)
        # was 4,800 frames/s at 2,000 pairs, several times past the knee of every Django target.
        "typing_interval": 10.0,
        "typing_burst": 2,
        "typing_seconds": 5 if quick else 30,
        "idle_seconds": 5 if quick else 30,
        # The storm happens during steady chat (one message per 10 s per side), as the target
        # says; --storm-interval 2 is the heavier load the storms before 2026-11-25 ran under.
        "storm_interval": args.storm_interval,
        "storm_give_up": 60,
        "storm_seconds": 8 if quick else 30,
        "fanout_conversations": 50,
        "fanout_rate": 75,
        "fanout_seconds": 6 if quick else 30,
        "drain": 2 if quick else 5,
        "community_experts": args.experts or (20 if quick else 200),
        "community_conversations": args.conversations_per_expert or (5 if quick else 10),
        "burst_rate": args.burst_rate,
        "burst_questions": args.burst_questions or (50 if quick else 300),
        "burst_drain": 30,
        "seed": 7,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + (f"-{args.label}" if args.label else "")
    two_cores = (os.cpu_count() or 1) >= 2
    server_cores, loadgen_cores = ({0}, {1}) if two_cores else (None, None)
    run_id = secrets.token_hex(4)
    prefix = f"bench{run_id}"
    results = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "label": args.label,
        "command": " ".join(["python -m bench.run"] + sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1), "python": sys.version.split()[0],
                    "load_average_at_start": os.getloadavg(), "pinning": "server core 0, load generator core 1" if two_cores else "none"},
        "plan": plan,
        "targets": {},
    }
    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        # BENCH_COMMIT: the commit a checkout without git (an exported snapshot) was made from.
        results["commit"] = os.environ.get("BENCH_COMMIT") or git
    except OSError:
        pass

    targets = args.targets.split(",")
    server_env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CHANNEL_PREFIX": prefix,
        "CACHE_PREFIX": prefix + "cache",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "chatplatform.settings",
        # Every simulated visitor comes from 127.0.0.1: the flood limits per
        # address (and per visitor, at ramp rates) would refuse the load itself.
        # Flood control is proven by the test suite, not measured here.
        "FLOOD_KEY_PREFIX": prefix + "flood",
        "FLOOD_MESSAGES_PER_VISITOR": "1000000/10 seconds",
        "FLOOD_MESSAGES_PER_ADDRESS": "1000000/10 seconds",
        "FLOOD_STARTS_PER_VISITOR": "1000000/hour",
        "FLOOD_STARTS_PER_ADDRESS": "1000000/hour",
        "FLOOD_NEW_VISITORS_PER_ADDRESS": "1000000/hour",
        "FLOOD_SOCKETS_PER_VISITOR": "1000000/minute",
        "FLOOD_SOCKETS_PER_ADDRESS": "1000000/minute",
        "FLOOD_OPEN_SOCKETS_PER_VISITOR": "0",
        "FLOOD_OPEN_SOCKETS_PER_ADDRESS": "0",
        # The other frames' limits (typing, reads, syncs, the experts' frames): as high.
        **{name: "1000000/minute" for name in (
            "FLOOD_TYPING_PER_VISITOR", "FLOOD_TYPING_PER_ADDRESS", "FLOOD_READS_PER_VISITOR", "FLOOD_READS_PER_ADDRESS",
            "FLOOD_SYNCS_PER_VISITOR", "FLOOD_SYNCS_PER_ADDRESS", "FLOOD_ENDS_PER_VISITOR", "FLOOD_ENDS_PER_ADDRESS",
            "FLOOD_EXPERT_MESSAGES_PER_USER", "FLOOD_EXPERT_TYPING_PER_USER", "FLOOD_EXPERT_READS_PER_USER",
            "FLOOD_EXPERT_SYNCS_PER_USER", "FLOOD_EXPERT_ACTIONS_PER_USER", "FLOOD_PRESENCE_PER_USER",
        )},
    }
    # A listen backlog of 4,096 (Twisted's default is 50) as docs/operations.md says to deploy:
    # past the backlog the kernel drops a connection's SYN and the client waits 1, 3, 7, 15 s...
    # to try again, with the server idle meanwhile.
    daphne = [PY, "-m", "daphne", "-v", "0", "--websocket_connect_timeout", "30", "-e", "tcp:port={port}:interface=127.0.0.1:backlog=4096"]
    # The project's own server command: daphne as deployed (chatplatform/serve.py).
    serve = [PY, "-m", "chatplatform.serve"] + daphne[3:]

    def other_server(server: str, app: str) -> list[str]:
        """The ASGI server as a choice: uvicorn (``uvicorn`` with websockets, ``uvicorn-sansio``,
        ``uvicorn-wsproto``) or granian, on asyncio's loop, the same backlog and no access log."""
        if server.startswith("uvicorn"):
            ws = {"uvicorn": "websockets", "uvicorn-sansio": "websockets-sansio", "uvicorn-wsproto": "wsproto"}[server]
            return [PY, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "--backlog", "4096", "--loop", "asyncio",
                    "--http", "httptools", "--ws", ws, "--lifespan", "off", "--log-level", "warning", "--no-access-log", app]
        if server == "granian":
            # BENCH_GRANIAN_ARGS: more of granian's options, e.g. "--http1-buffer-size 65536".
            return [PY, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}", "--backlog", "4096",
                    "--loop", "asyncio", "--workers", "1", "--runtime-threads", "1", "--log-level", "warning", "--no-access-log",
                    *os.environ.get("BENCH_GRANIAN_ARGS", "").split(), app]
        raise SystemExit(f"unknown ASGI server {server}")
    seed = None
    if any(t.startswith("project") for t in targets):
        log(f"database {urlsplit(args.database_url).path.lstrip('/')}: recreate and migrate")
        recreate_database(args.database_url)
        subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=server_env, check=True)
        e, c = plan["community_experts"], plan["community_conversations"]
        # Room for their C conversations and their share of the burst's questions.
        capacity = c + -(-plan["burst_questions"] // e) + 1
        out = subprocess.run([PY, "-m", "bench.seed", str(pairs), "--community", str(e), str(capacity)],
                             cwd=ROOT, env=server_env, check=True, capture_output=True, text=True).stdout
        seed = json.loads(out.strip().splitlines()[-1])
        results["queries"] = seed["queries"]
    # Without the project, the relay still tells its experts apart by their cookie (to rejoin on reconnect).
    plan_base = {**plan, "cookies": (seed or {}).get("cookies", [f"relay={i}" for i in range(pairs)]), "fanout_cookie": (seed or {}).get("fanout_cookie", [""]),
                 "community_cookies": (seed or {}).get("community_cookies", [f"relay=c{i}" for i in range(plan["community_experts"])])}

    for name in targets:
        scenarios = plan["scenarios"]
        if name == "ws":
            target = Target(name, [[PY, "-m", "bench.baseline_ws", "{port}"]], os.environ.copy(), [server_cores])
            scenarios = [s for s in scenarios if s in RELAY_SCENARIOS]
        elif name == "channels":
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.baseline_channels", "REDIS_URL": args.redis_url, "CHANNEL_PREFIX": prefix + "base"}
            target = Target(name, [daphne + ["bench.baseline_channels:application"]], env, [server_cores])
            scenarios = [s for s in scenarios if s in RELAY_SCENARIOS]
        elif name == "project":
            target = Target(name, [serve + ["chatplatform.asgi:application"]], server_env, [server_cores], db_url=args.database_url)
        elif name == "project-uvloop":
            # The same on uvloop instead of asyncio's own event loop (chatplatform/serve.py).
            env = {**server_env, "CHAT_EVENT_LOOP": "uvloop"}
            target = Target(name, [serve + ["chatplatform.asgi:application"]], env, [server_cores], db_url=args.database_url)
        elif name == "project-redis":
            # The same on channels-redis's default layer (CHANNEL_LAYER=redis) instead of pub/sub.
            env = {**server_env, "CHANNEL_LAYER": "redis"}
            target = Target(name, [serve + ["chatplatform.asgi:application"]], env, [server_cores], db_url=args.database_url)
        elif name == "project2":
            # Same CPU budget as one process (both on the server core): what splitting costs.
            target = Target(name, [serve + ["chatplatform.asgi:application"]] * 2, server_env, [server_cores, server_cores], db_url=args.database_url)
            scenarios = [s for s in scenarios if s == "steady"]
        elif name == "project2-spread":
            # The curve from one process to two: one per core, the pairs spread over both with no sticky
            # routing (bench/loadgen.py); the load generator shares the cores (it is not pinned).
            target = Target(name, [serve + ["chatplatform.asgi:application"]] * 2, server_env, [{0}, {1}] if two_cores else [None, None],
                            db_url=args.database_url)
            target.spread = True
            scenarios = [s for s in scenarios if s in ("idle", "steady", "ramp", "storm", "typing")]
        elif name.split("-", 1)[0] in ("channels", "project") and "-" in name:
            # channels-<server> / project-<server>: the relay or the project under another ASGI server.
            base, server = name.split("-", 1)
            if base == "channels":
                env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.baseline_channels", "REDIS_URL": args.redis_url, "CHANNEL_PREFIX": prefix + "base"}
                target = Target(name, [other_server(server, "bench.baseline_channels:application")], env, [server_cores])
                scenarios = [s for s in scenarios if s in RELAY_SCENARIOS]
            else:
                target = Target(name, [other_server(server, "chatplatform.asgi:application")], server_env, [server_cores], db_url=args.database_url)
        else:
            raise SystemExit(f"unknown target {name}")
        log(f"--- {name}: {', '.join(scenarios)}")
        target.start()
        try:
            spread = getattr(target, "spread", False)
            result, marks = run_loadgen(target, {**plan_base, "scenarios": scenarios, "spread": spread},
                                        None if spread else loadgen_cores, time_limit=1800)
        finally:
            target.stop()
        results["targets"][name] = enrich(result, marks, target)
        if target.db_url:
            end_open_conversations(args.database_url)
        clear_redis(args.redis_url, prefix)
    results["ratios"] = ratios(results)
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps(results, indent=2))
    try:
        plot(results, RESULTS / f"{stamp}-latency.png")
        results["plot"] = str((RESULTS / f"{stamp}-latency.png").relative_to(ROOT))
    except Exception as exc:  # the figures matter more than the picture
        log(f"no plot: {exc}")
    print(report(results))
    print(f"\nresults: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
