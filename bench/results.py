#!/usr/bin/env python3
"""The report of one bench/compare run: RESULTS.md and results.json.

Reads the run folder bench/compare filled:
  machine.json          cores, memory, kernel, load before/after, the command
  fio.json              the disk (bench/fio.sh)
  *.json                one run each, labelled SERVER|WORKLOAD|ROUND: redcar-bench's
                        own JSON, or redis-benchmark's figures in the same shape
  *.json.server         the server's CPU seconds, the client's, the load at the end
  *.json.cmd            the client's command line
  recovery-*.json       a restart: each shard's recovery (bytes, seconds), RSS
  memory.json           resident sizes of the second redcar
  failed.txt            runs that failed

Every figure is the median over the rounds with [min-max]; each target of
the design's performance table is judged on medians, met or not met.

  results.py --runs DIR --md RESULTS.md --json results.json
"""
import argparse
import glob
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import rate_of  # noqa: E402  (events/s for batched appends, ops/s otherwise)

SERVERS = {
    "redcar": "redcar",
    "redis-always": "redis always",
    "redis-everysec": "redis everysec",
    "etcd": "etcd 3.4",
}

# workload id -> (what, client)
WORKLOADS = {
    "resp-ping": ("PING", "redcar-bench"),
    "resp-xadd": ("XADD 100 B", "redcar-bench"),
    "resp-xadd-p16": ("XADD 100 B, pipelined 16", "redcar-bench"),
    "resp-xrange": ("XRANGE COUNT 10", "redcar-bench"),
    "resp-get": ("GET 100 B", "redcar-bench"),
    "rbm-ping": ("PING", "redis-benchmark"),
    "rbm-xadd": ("XADD 100 B", "redis-benchmark"),
    "rbm-xadd-p16": ("XADD 100 B, pipelined 16", "redis-benchmark"),
    "rbm-xrange": ("XRANGE COUNT 10", "redis-benchmark"),
    "rbm-get": ("GET 100 B", "redis-benchmark"),
    "etcd-put": ("Put, 64 calls", "redcar-bench"),
    "etcd-range": ("Range, 64 calls", "redcar-bench"),
    "etcd-mixed": ("mixed: 50% Range, 50% Put, 64 calls", "redcar-bench"),
    "native-append": ("Append 100 x 100 B, id on every event", "redcar-bench"),
    "native-append-1id": ("Append 100 x 100 B, id on the first event", "redcar-bench"),
}


def workload_info(wl):
    """(what, client) of a workload id; pin-X is X run pinned."""
    if wl.startswith("pin-"):
        what, client = WORKLOADS.get(wl[4:], (wl[4:], "redcar-bench"))
        return what, client + ", pinned"
    return WORKLOADS.get(wl, (wl, "redcar-bench"))


def med(v):
    return statistics.median(v) if v else None


def num(v, digits=0):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def spread(v, digits=0):
    if not v:
        return "-"
    if len(v) == 1:
        return num(v[0], digits)
    return f"{num(med(v), digits)} [{num(min(v), digits)}-{num(max(v), digits)}]"


def ms(us):
    if us is None:
        return "-"
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    return f"{us / 1000:.2f} ms"


def us_text(v):
    return "-" if v is None else f"{v:.1f} us"


def pct(v):
    return "-" if v is None else f"{100 * v:.0f}%"


def clean_cmd(cmd):
    cmd = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", cmd)
    cmd = re.sub(r"-p \d+ ", "-p PORT ", cmd)
    cmd = re.sub(r"v{20,}", "<100 B>", cmd)
    return cmd.strip()


def load_runs(folder):
    runs = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        try:
            with open(path) as f:
                run = json.load(f)
        except (OSError, ValueError):
            continue
        parts = str(run.get("label", "")).split("|") if isinstance(run, dict) else []
        if len(parts) != 3 or run.get("kind"):
            continue
        server, workload, rnd = parts
        run["server"], run["workload"], run["round"] = server, workload, int(rnd)
        try:
            with open(path + ".server") as f:
                run["side"] = json.load(f)
        except (OSError, ValueError):
            run["side"] = {}
        try:
            with open(path + ".cmd") as f:
                run["command"] = clean_cmd(f.read())
        except OSError:
            run["command"] = ""
        runs.setdefault(workload, {}).setdefault(server, []).append(run)
    for w in runs.values():
        for rs in w.values():
            rs.sort(key=lambda r: r["round"])
    return runs


def ok(run):
    return not run.get("errors") and not run.get("aborted")


def error_text(run):
    msgs = run.get("error_messages") or {}
    if isinstance(msgs, dict):
        items = list(msgs.items())
    else:
        items = [tuple(m) if isinstance(m, (list, tuple)) else (m, "") for m in msgs]
    return "; ".join(f"{n} x {m}" if n != "" else str(m) for m, n in items[:3])


class Report:
    def __init__(self, folder):
        self.folder = folder
        self.machine = self.read("machine.json") or {}
        self.fio = self.read("fio.json") or {}
        self.memory = self.read("memory.json") or {}
        self.runs = load_runs(folder)
        self.recoveries = [self.read(os.path.basename(p)) for p in
                           sorted(glob.glob(os.path.join(folder, "recovery-*.json")))]
        self.recoveries = [r for r in self.recoveries if r]
        try:
            with open(os.path.join(folder, "failed.txt")) as f:
                self.failed = [line.strip() for line in f if line.strip()]
        except OSError:
            self.failed = []
        self.targets = []  # rows of the targets table
        self.figures = {}  # everything, for the JSON

    def read(self, name):
        try:
            with open(os.path.join(self.folder, name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    # Figures of one workload on one server, over the rounds that ran cleanly.
    def rs(self, workload, server):
        return [r for r in self.runs.get(workload, {}).get(server, []) if ok(r)]

    def rates(self, workload, server):
        return [rate_of(r)[0] for r in self.rs(workload, server)]

    def rate(self, workload, server):
        return med(self.rates(workload, server))

    def p99(self, workload, server):
        return med([r["latency_us"]["p99"] for r in self.rs(workload, server)])

    def loads(self, runs):
        return [r["side"]["load"] for r in runs if r.get("side", {}).get("load") is not None]

    def load_text(self, runs):
        v = self.loads(runs)
        if not v:
            return "-"
        return f"{min(v):.1f}-{max(v):.1f}" if max(v) - min(v) >= 0.05 else f"{v[0]:.1f}"

    def server_cpu(self, runs):
        v = [r["side"]["cpu_s"] / r["wall_s"] for r in runs if r.get("side", {}).get("cpu_s") is not None
             and r.get("wall_s")]
        return med(v)

    def cpu_per_op_us(self, runs):
        """The server's CPU time per operation (all of the run: warm-up and
        measured operations over the CPU seconds the server used meanwhile)."""
        v = []
        for r in runs:
            cpu = r.get("side", {}).get("cpu_s")
            n = (r.get("ops") or 0) + (r.get("warmup_ops") or 0)
            if cpu is not None and n:
                v.append(cpu / n * 1e6)
        return med(v)

    def client_cpu(self, runs):
        v = []
        for r in runs:
            c = r.get("client_cpu_s")
            if c is None or r.get("tool") == "redis-benchmark":
                c = r.get("side", {}).get("client_cpu_s")
            if c is not None and r.get("wall_s"):
                v.append(c / r["wall_s"])
        return med(v)

    def command(self, workload, server):
        for r in self.runs.get(workload, {}).get(server, []):
            if r.get("command"):
                return r["command"]
        return ""

    def target(self, what, client, value, peer_text, ratio_text, target_text, met, workloads, command):
        runs = [r for w, s in workloads for r in self.rs(w, s)]
        if met is None:
            status = "no figure" if value.startswith("-") or (workloads and not runs) else "not judged"
        else:
            status = "met" if met else "not met"
        self.targets.append({"workload": what, "client": client, "redcar": value, "peer": peer_text,
                             "ratio": ratio_text, "target": target_text, "status": status,
                             "load": self.load_text(runs), "command": command})

    # ---- the targets ----------------------------------------------------------
    def judge(self):
        for prefix, client in (("resp", "redcar-bench"), ("rbm", "redis-benchmark"),
                               ("pin-resp", "redcar-bench, pinned")):
            if f"{prefix}-ping" not in self.runs:
                continue
            xadd, ping, p16 = f"{prefix}-xadd", f"{prefix}-ping", f"{prefix}-xadd-p16"
            rc = self.rate(xadd, "redcar")
            self.ratio_target(f"RESP XADD 100 B, 50 clients, durable", client, xadd, "redis-always", 2.0)
            # The PING rate of the same run: redis-server's, the round trip
            # alone (redcar's own PING is in the tables below).
            rp = self.rate(ping, "redis-always")
            ratio = rc / rp if rc and rp else None
            self.target("RESP XADD 100 B vs PING", client, num(rc) + " /s",
                        f"PING (redis) {num(rp)} /s; PING (redcar) {num(self.rate(ping, 'redcar'))} /s",
                        f"{ratio:.2f}x" if ratio else "-", ">= 0.7x PING",
                        None if ratio is None else ratio >= 0.7, [(xadd, "redcar"), (ping, "redis-always")],
                        self.command(xadd, "redcar"))
            self.ratio_target("RESP XADD 100 B pipelined 16, durable", client, p16, "redis-always", 1.5)
            self.ratio_target("RESP XADD 100 B pipelined 16, durable", client, p16, "redis-everysec", 1.0)
            self.ratio_target("RESP XRANGE COUNT 10", client, f"{prefix}-xrange", "redis-always", 1.0)
            self.ratio_target("RESP GET", client, f"{prefix}-get", "redis-always", 1.0)
        for prefix, client in (("", "redcar-bench"), ("pin-", "redcar-bench, pinned")):
            if f"{prefix}etcd-put" not in self.runs:
                continue
            for wl, what in (("etcd-put", "etcd Put, 64 concurrent"), ("etcd-range", "etcd Range, 64 concurrent")):
                self.ratio_target(what, client, prefix + wl, "etcd", 5.0)
                self.cpu_target(what + ": server CPU per call", client, prefix + wl, "etcd", 5.0)

        v = self.rate("native-append", "redcar")
        self.target("native batched append, 100 x 100 B per call (ids on every event)", "redcar-bench",
                    num(v) + " events/s", "-", "-", ">= 1,000,000 durable events/s",
                    None if v is None else v >= 1e6, [("native-append", "redcar")],
                    self.command("native-append", "redcar"))

        self.p2d_target()
        self.catchup_target()
        self.recovery_target()
        self.memory_target()

    def ratio_target(self, what, client, workload, peer, want):
        a, b = self.rate(workload, "redcar"), self.rate(workload, peer)
        unit = "events/s" if "append" in workload else "/s"
        ratio = a / b if a and b else None
        self.target(what, client, f"{num(a)} {unit}", f"{SERVERS[peer]} {num(b)} {unit}",
                    f"{ratio:.2f}x" if ratio else "-", f">= {want:g}x {SERVERS[peer]}",
                    None if ratio is None else ratio >= want, [(workload, "redcar"), (workload, peer)],
                    self.command(workload, "redcar"))

    def cpu_target(self, what, client, workload, peer, want):
        """The peer's CPU per operation over redcar's: how many times less
        CPU redcar spends on one."""
        a, b = self.cpu_per_op_us(self.rs(workload, "redcar")), self.cpu_per_op_us(self.rs(workload, peer))
        ratio = b / a if a and b else None
        self.target(what, client, f"{num(a, 1)} us", f"{SERVERS[peer]} {num(b, 1)} us",
                    f"1/{ratio:.1f}" if ratio else "-", f"<= 1/{want:g} of {SERVERS[peer]}'s",
                    None if ratio is None else ratio >= want, [(workload, "redcar"), (workload, peer)],
                    self.command(workload, "redcar"))

    def p2d_rows(self, prefix="p2d-", server="redcar"):
        rows = []
        for w in sorted((w for w in self.runs if w.startswith(prefix)), key=lambda w: int(w[len(prefix):])):
            runs = self.runs[w].get(server, [])
            if not runs:
                continue
            good = [r for r in runs if ok(r)]
            rate = runs[0]["config"]["rate"] if runs else None
            d = [r.get("extra_latency_us", {}).get("delivery") for r in good]
            d = [x for x in d if x and x.get("count")]
            row = {
                "subscribers": int(w[len(prefix):]),
                "server": server,
                "workload": w,
                "rate": rate,
                "appends_per_s": [r["ops_per_s"] for r in good],
                "deliveries_per_s": [r["extra_latency_us"]["delivery"]["count"] / r["measured_s"]
                                     for r in good if r.get("measured_s") and r.get("extra_latency_us", {}).get("delivery")],
                "unsent": [r.get("unsent", 0) for r in good],
                "p50_us": med([x["p50"] for x in d]),
                "p99_us": med([x["p99"] for x in d]),
                "p999_us": med([x["p999"] for x in d]),
                "max_us": med([x["max"] for x in d]),
                "server_cpu": self.server_cpu(good),
                "client_cpu": self.client_cpu(good),
                "load": self.load_text(good),
                "failed": [f"round {r['round']}: {error_text(r) or r.get('abort_reason', '')}" for r in runs if not ok(r)],
                "command": self.command(w, server),
            }
            rows.append(row)
        return rows

    def p2d_target(self):
        rows = self.p2d_rows()
        self.figures["publish_to_delivery"] = rows
        fan = {s: self.p2d_rows("pubsub-", s) for s in ("redcar", "redis-always")}
        self.figures["pubsub"] = fan["redcar"] + fan["redis-always"]
        if rows and fan["redis-always"]:
            # Fan-out against Redis pub/sub: deliveries/s at the same rate
            # and fan-out, and the latency, for the native API and for
            # redcar's own PUBLISH.
            peer = fan["redis-always"][-1]
            mine = [r for r in rows if r["subscribers"] == peer["subscribers"]]
            mine_resp = [r for r in fan["redcar"] if r["subscribers"] == peer["subscribers"]]
            for what, row, wl in (("native Subscribe", mine[0] if mine else None, f"p2d-{peer['subscribers']}"),
                                  ("RESP pub/sub", mine_resp[0] if mine_resp else None,
                                   f"pubsub-{peer['subscribers']}")):
                if row is None:
                    continue
                a, b = med(row["deliveries_per_s"]), med(peer["deliveries_per_s"])
                ratio = a / b if a and b else None
                ok_lat = row["p99_us"] is not None and row["p99_us"] <= 5000
                met = None if ratio is None else (ratio >= 0.99 and ok_lat)
                if peer["subscribers"] < 1000 or (peer["rate"] or 0) < 10000:
                    met = None  # a smaller run than the target's (SMOKE)
                self.target(f"fan-out to {peer['subscribers']:,} subscribers ({what})", "redcar-bench",
                            f"{num(a)} deliveries/s, p99 {ms(row['p99_us'])}",
                            f"redis pub/sub {num(b)} deliveries/s, p99 {ms(peer['p99_us'])}",
                            f"{ratio:.2f}x" if ratio else "-", ">= 1x redis pub/sub, p99 <= 5 ms", met,
                            [(wl, "redcar"), (peer["workload"], "redis-always")], row["command"])
        if not rows:
            return
        row = rows[-1]  # the most subscribers
        runs = self.rs(f"p2d-{row['subscribers']}", "redcar")
        # Kept up: every append due in the run was sent and answered.
        kept_up = bool(runs) and all(
            r.get("unsent", 0) == 0 and r["ops"] >= 0.98 * r["config"]["rate"] * r["config"]["duration_s"]
            for r in runs)
        p99 = row["p99_us"]
        value = f"p99 {ms(p99)} at {num(med(row['appends_per_s']))} of {num(row['rate'])} events/s"
        if runs and not kept_up:
            value += " (did not keep up with the rate)"
        met = None if not runs else (p99 is not None and p99 <= 5000 and kept_up)
        if row["subscribers"] < 1000 or (row["rate"] or 0) < 10000:
            met = None  # a smaller run than the target's (SMOKE)
        self.target(f"publish-to-delivery, {row['subscribers']:,} live subscribers on one stream", "redcar-bench",
                    value, "-", "-", "p99 <= 5 ms with 1,000 subscribers at 10,000 events/s", met,
                    [(f"p2d-{row['subscribers']}", "redcar")], row["command"])

    def catchup_target(self):
        runs = self.rs("catch-up-read", "redcar")
        mbs = [r["mb_per_s"] for r in runs]
        seq = self.fio.get("seq_read_MBps")
        share = med(mbs) / seq if mbs and seq else None
        self.figures["catch_up_read"] = {"mb_per_s": mbs, "fio_seq_read_MBps": seq, "share": share,
                                         "facts": runs[0].get("facts") if runs else None}
        self.target("catch-up read of data no longer cached (1 reader, 1000 x 16 KB per Read)", "redcar-bench",
                    f"{spread(mbs)} MB/s", f"fio seq read {num(seq)} MB/s", pct(share),
                    ">= 80% of fio sequential read", None if share is None else share >= 0.8,
                    [("catch-up-read", "redcar")], self.command("catch-up-read", "redcar"))

    def recovery_rows(self, kind="recovery"):
        rows = []
        for rec in self.recoveries:
            label = rec["label"].split("|")
            if label[1] != kind:
                continue
            shards = rec.get("shards") or []
            total = sum(s["bytes"] for s in shards)
            secs = max((s["seconds"] for s in shards), default=0)
            rows.append({"what": kind, "round": int(label[2]), "bytes": total, "seconds": secs,
                         "mb_per_s": total / secs / 1e6 if secs else None, "open_wall_s": rec.get("open_wall_s"),
                         "records": sum(s["records"] for s in shards), "shards": shards,
                         "rss_kb": rec.get("rss_kb"), "rss_anon_kb": rec.get("rss_anon_kb"), "load": rec.get("load")})
        return rows

    def recovery_target(self):
        rows = self.recovery_rows()
        self.figures["recovery"] = rows
        self.figures["recovery_small_events_only"] = self.recovery_rows("recovery-small")
        v = [r["mb_per_s"] for r in rows if r["mb_per_s"]]
        size = med([r["bytes"] for r in rows])
        self.target(f"recovery scan at start ({num(size / 1e9 if size else None, 2)} GB of log, all shards at once)",
                    "server log", f"{spread(v)} MB/s", "-", "-", ">= 500 MB/s of log",
                    None if not v else med(v) >= 500, [], "restart of the second redcar; bytes and seconds from "
                    "its 'shard N recovered' lines")
        loads = [r["load"] for r in rows if r.get("load") is not None]
        if loads:
            self.targets[-1]["load"] = f"{min(loads):.1f}-{max(loads):.1f}" if max(loads) - min(loads) >= 0.05 \
                else f"{loads[0]:.1f}"

    def memory_target(self):
        m = self.memory
        if not m.get("events"):
            return
        small = self.recovery_rows("recovery-small")
        rss_rec = small[0]["rss_kb"] if small else None
        empty = m.get("rss_empty_kb") or 0
        per_event = (rss_rec - empty) * 1024 / m["events"] if rss_rec else None
        per_event_live = (m["rss_loaded_kb"] - empty) * 1024 / m["events"] if m.get("rss_loaded_kb") else None
        with_big = [r["rss_kb"] for r in self.recovery_rows() if r.get("rss_kb")]
        self.figures["memory"] = dict(m, rss_recovered_kb=rss_rec, index_bytes_per_event=per_event,
                                      growth_bytes_per_event_live=per_event_live,
                                      rss_recovered_with_catchup_kb=med(with_big))
        # A few events (the smoke run) grow the RSS by less than it moves
        # between two starts, and the difference can come out negative.
        shown = "under what RSS resolves here: 0" if per_event is not None and per_event < 0 else num(per_event, 1)
        self.target(f"memory: index bytes per event ({m['events']:,} events of {m['value_bytes']} B in "
                    f"{m['streams']:,} streams)", "RSS",
                    f"{shown} B/event (RSS {num((rss_rec or 0) / 1024)} MiB after a restart, "
                    f"{num(m['rss_loaded_kb'] / 1024)} MiB after loading)", "-", "-",
                    "<= 4 bytes per event beyond the hot window",
                    None if per_event is None else per_event <= 4, [],
                    f"(RSS after a restart - RSS empty) / events, --hot-cache-bytes {m['hot_cache_bytes']}")
        if small and small[0].get("load") is not None:
            self.targets[-1]["load"] = f"{small[0]['load']:.1f}"

    # ---- the document -------------------------------------------------------------
    def markdown(self):
        m, f = self.machine, self.fio
        out = []
        w = out.append
        smoke = m.get("smoke") == 1
        w("# bench/compare results" + (" (SMOKE: tiny sizes, the figures mean nothing)" if smoke else ""))
        w("")
        w(f"Produced by `{m.get('command', 'bash bench/compare')}` on {m.get('started_at', '?')}, "
          f"commit {m.get('commit', '?')}" +
          (" (that commit alone, exported with git archive: no uncommitted change is in the build)"
           if m.get("exported") else "") +
          (f" with uncommitted changes in {', '.join(m['uncommitted'])}" if m.get("uncommitted") else "") +
          f"; {m.get('rounds')} round(s), {m.get('duration_s')} s measured per run after {m.get('warmup_s')} s "
          f"of warm-up; the whole run took {fmt_s(m.get('wall_s'))}. Every figure is the median over the rounds, "
          "[min-max] beside it when there are several; ratios are redcar / peer, of medians. All servers ran "
          "side by side on 127.0.0.1 with temporary data folders, each workload against each server in turn "
          "(A B A B ...).")
        w("")
        w("## Machine")
        w("")
        w(f"- {m.get('cores')} cores ({m.get('cpu_model', '?')}), {num((m.get('memory_bytes') or 0) / 2**30, 1)} GiB "
          f"of memory, Linux {m.get('kernel', '?')}")
        w(f"- load average (1, 5, 15 min) before the run: {m.get('load_before', '?')}; after: "
          f"{m.get('load_after', '?')}; each table shows the 1-minute load at the end of its runs. The machine is "
          "shared: other builds and tests ran beside this one, so a figure moves from round to round; "
          "compare figures of the same run.")
        if f:
            w(f"- disk ({f.get('filesystem', '?')}), fio in the same run, {f.get('runtime_s')} s per job: "
              f"sequential write {num(f.get('seq_write_MBps'))} MB/s (1 MiB, O_DIRECT, QD16); "
              f"4 KiB write + fdatasync {num(f.get('fdatasync_per_s'))} /s (QD1); "
              f"random read 4 KiB {num(f.get('rand_read_4k_iops'))} IOPS (QD32); "
              f"sequential read {num(f.get('seq_read_MBps'))} MB/s (1 MiB, QD16)")
        else:
            w("- disk: fio did not run")
        w("")
        w("## Targets (the design's performance table)")
        w("")
        w("| workload | client | redcar | peer | ratio | target | | load |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for t in self.targets:
            w(f"| {t['workload']} | {t['client']} | {t['redcar']} | {t['peer']} | {t['ratio']} | {t['target']} | "
              f"**{t['status']}** | {t['load']} |")
        w("")
        w("Commands of the runs (ports vary from run to run):")
        w("")
        seen = set()
        for t in self.targets:
            if t["command"] and t["command"] not in seen:
                seen.add(t["command"])
                w(f"- {t['workload']} ({t['client']}): `{t['command']}`")
        w("")
        self.md_resp(w)
        self.md_grpc(w)
        self.md_pinned(w)
        self.md_p2d(w)
        self.md_disk(w)
        self.md_failures(w)
        return "\n".join(out) + "\n"

    def server_table(self, w, workloads, peers_of):
        w("| workload | client | server | rate, median [min-max] | p99 | server CPU | server CPU per op | client CPU | "
          "redcar / server | load |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for wl in workloads:
            if wl not in self.runs:
                continue
            what, client = workload_info(wl)
            base = self.rate(wl, "redcar")
            for server in ["redcar"] + peers_of(wl):
                runs = self.rs(wl, server)
                if not self.runs[wl].get(server):
                    continue
                unit = "events/s" if runs and rate_of(runs[0])[1] == "events/s" else "/s"
                v = self.rate(wl, server)
                ratio = f"{base / v:.2f}x" if server != "redcar" and base and v else ""
                w(f"| {what} | {client} | {SERVERS[server]} | {spread(self.rates(wl, server))} {unit} | "
                  f"{ms(self.p99(wl, server))} | {pct(self.server_cpu(runs))} | "
                  f"{us_text(self.cpu_per_op_us(runs))} | {pct(self.client_cpu(runs))} | "
                  f"{ratio} | {self.load_text(runs)} |")
        w("")

    def md_resp(self, w):
        w("## RESP: redcar vs redis-server 7")
        w("")
        w("redcar with `--fsync always` (every write acknowledged once on disk); redis-server with `appendonly yes` "
          "and `appendfsync always` (redis always) or `everysec` (redis everysec, which may lose the last second). "
          "50 connections, one request outstanding on each unless pipelined. Each workload twice: redcar-bench as "
          "the client, then redis-benchmark (as many requests as redcar-bench's run of the same workload did in "
          "the same time). CPU: cores busy over the run (100% = one core); on 2 cores a client near 100% beside a "
          "server near 100% is the machine's limit, not the server's.")
        w("")

        def peers(wl):
            return [s for s in ("redis-always", "redis-everysec") if s in self.runs[wl]]
        self.server_table(w, [k for k in WORKLOADS if k.startswith(("resp-", "rbm-"))], peers)

    def md_grpc(self, w):
        w("## gRPC: etcd v3 API vs etcd 3.4, and the native API")
        w("")
        w("64 calls outstanding over 4 channels; etcd with its defaults (a Put is answered once its WAL entry is "
          "fsynced, a Range is a linearizable read). Native Append: 100 events of 100 B per call, durable, to "
          "a random one of 1 stream.")
        w("")
        self.server_table(w, ["etcd-put", "etcd-range", "etcd-mixed", "native-append", "native-append-1id"],
                          lambda wl: ["etcd"] if "etcd" in self.runs.get(wl, {}) else [])

    def md_pinned(self, w):
        pinned = [wl for wl in self.runs if wl.startswith("pin-")]
        if not pinned:
            return
        m = self.machine
        w("## Pinned: one core for the server, another for the client")
        w("")
        w(f"The same workloads with the server on core {m.get('server_cpu', 0)} and the client on core "
          f"{m.get('client_cpu', 1)} (`taskset`): redcar with `--shards 1` (a new folder, `--fsync always`), "
          "redis-server and etcd pinned with all their threads. Every server has one core, so the ratio is the "
          "work each does per core, and it moves less from round to round than the unpinned one. Server CPU per "
          "op: the server's CPU time over the run divided by the operations of the run (warm-up included).")
        w("")

        def peers(wl):
            return [s for s in ("redis-always", "redis-everysec", "etcd") if s in self.runs[wl]]
        order = [f"pin-{k}" for k in WORKLOADS]
        self.server_table(w, [wl for wl in order if wl in self.runs], peers)

    def md_p2d(self, w):
        rows = [("redcar", "native Subscribe", r) for r in self.figures.get("publish_to_delivery") or []]
        rows += [(SERVERS[r["server"]], "RESP pub/sub", r) for r in self.figures.get("pubsub") or []]
        if not rows:
            return
        w("## Publish-to-delivery and fan-out")
        w("")
        w("One event per call, open loop at a fixed rate (latency counts from when each publish was due, so a "
          "stall shows), to N subscribers in the same client process: native Append to one stream followed live "
          "by N Subscribe calls, or PUBLISH to one channel with N SUBSCRIBE connections (redcar's and redis-server's "
          "pub/sub, which stores nothing). Delivery latency: from the publish's due time to each subscriber's "
          "receipt.")
        w("")
        w("| server | how | subscribers | rate asked | published/s | deliveries/s | p50 | p99 | p99.9 | max | "
          "never sent | server CPU | client CPU | load |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for server, how, r in rows:
            w(f"| {server} | {how} | {r['subscribers']:,} | {num(r['rate'])} | {spread(r['appends_per_s'])} | "
              f"{spread(r['deliveries_per_s'])} | {ms(r['p50_us'])} | {ms(r['p99_us'])} | {ms(r['p999_us'])} | "
              f"{ms(r['max_us'])} | {spread(r['unsent'])} | {pct(r['server_cpu'])} | {pct(r['client_cpu'])} | "
              f"{r['load']} |")
        w("")
        w("`never sent`: operations due in the run that the client could not send because the server had not "
          "answered the ones before (all connections busy): the server did not keep up with the rate.")
        w("")

    def md_disk(self, w):
        w("## Catch-up read, recovery and memory (a second redcar, `--hot-cache-bytes` small)")
        w("")
        m = self.memory
        if m:
            w(f"A fresh redcar with `--hot-cache-bytes {m.get('hot_cache_bytes')}` (per shard) is loaded with "
              f"{m.get('events', 0):,} events of {m.get('value_bytes')} B in {m.get('streams', 0):,} streams "
              f"(batched native appends of 100 events, no ids, as XADD writes them) and restarted (the memory "
              f"figures); then it gets a catch-up stream of {m.get('catchup_events', 0):,} events of "
              f"{m.get('catchup_value_bytes', 0):,} B and is restarted once per round: each restart is a recovery "
              f"scan of the whole log, followed by a read of the catch-up stream from its start by one reader, "
              f"1000 events per Read call, from disk (the hot cache holds 1 MiB; the segment files are read with "
              f"O_DIRECT, so the page cache does not help).")
            w("")
        c = self.figures.get("catch_up_read") or {}
        if c.get("mb_per_s"):
            w(f"- catch-up read: {spread(c['mb_per_s'])} MB/s of event payload; fio sequential read "
              f"{num(c.get('fio_seq_read_MBps'))} MB/s; share {pct(c.get('share'))}")
        rec = (self.figures.get("recovery_small_events_only") or []) + (self.figures.get("recovery") or [])
        if rec:
            w("")
            w("| restart | log scanned | records | slowest shard | MB/s (all shards) | MB/s per shard | until listening "
              "| RSS after | load |")
            w("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for r in rec:
                name = "small events only" if r["what"] == "recovery-small" else f"round {r['round']}"
                per = ", ".join(f"{s['bytes'] / s['seconds'] / 1e6:,.0f}" if s["seconds"] else "-" for s in r["shards"])
                w(f"| {name} | {r['bytes'] / 1e9:.2f} GB | {r['records']:,} | {r['seconds']:.2f} s | "
                  f"{num(r['mb_per_s'])} | {per} | {r['open_wall_s']:.1f} s | {num((r['rss_kb'] or 0) / 1024)} MiB | "
                  f"{r['load'] if r.get('load') is not None else '-'} |")
            w("")
            w("Shards recover in parallel, each on its own thread; MB/s is the log bytes of all shards over the "
              "slowest shard's time, as each shard's 'recovered' log line gives them. The target row uses the "
              "rounds (the whole log).")
            w("")
        mem = self.figures.get("memory")
        if mem:
            kb = lambda v: f"{v / 1024:,.0f} MiB" if v else "-"  # noqa: E731
            load_rate = self.rate("memory-load", "redcar")
            w(f"- memory: resident size empty {kb(mem.get('rss_empty_kb'))}; after loading {mem['events']:,} events "
              f"{kb(mem.get('rss_loaded_kb'))} (peak {kb(mem.get('hwm_loaded_kb'))}; loaded at "
              f"{num(load_rate)} durable events/s); after a restart on them "
              f"(index rebuilt by recovery, nothing cached) {kb(mem.get('rss_recovered_kb'))}.")
            w(f"- index bytes per event: (RSS after that restart - RSS empty) / events = "
              f"{num(mem.get('index_bytes_per_event'), 2)} B. An upper bound: it also holds the hot caches (at "
              f"most {mem.get('hot_cache_bytes')} B per shard), every stream's own state and the allocator's slack. "
              f"The same growth while loading, before the restart: "
              f"{num(mem.get('growth_bytes_per_event_live'), 2)} B/event.")
            w(f"- with the catch-up stream as well ({mem.get('catchup_events', 0):,} more events, "
              f"{mem.get('catchup_events', 0) * mem.get('catchup_value_bytes', 0) / 1e9:.1f} GB): "
              f"{kb(mem.get('rss_filled_kb'))} right after writing it, {kb(mem.get('rss_recovered_with_catchup_kb'))} "
              f"after a restart (median of the rounds).")
            w("")

    def md_failures(self, w):
        bad = []
        for wl, by in self.runs.items():
            for s, runs in by.items():
                for r in runs:
                    if not ok(r):
                        bad.append(f"{s} {wl} round {r['round']}: {r.get('errors')} error(s) {error_text(r)}"
                                   f"{' stopped early: ' + r['abort_reason'] if r.get('aborted') else ''}")
        if not bad and not self.failed:
            return
        w("## Runs with errors (left out of the medians)")
        w("")
        for line in self.failed:
            w(f"- {line}")
        for line in bad:
            w(f"- {line}")
        w("")

    def json(self):
        rows = {}
        for wl, by in self.runs.items():
            rows[wl] = {s: {"rates": [rate_of(r)[0] for r in runs if ok(r)],
                            "median": med([rate_of(r)[0] for r in runs if ok(r)]),
                            "unit": rate_of(runs[0])[1],
                            "p99_us_median": med([r["latency_us"]["p99"] for r in runs if ok(r)]),
                            "server_cpu": self.server_cpu([r for r in runs if ok(r)]),
                            "server_cpu_per_op_us": self.cpu_per_op_us([r for r in runs if ok(r)]),
                            "loads": self.loads(runs),
                            "command": self.command(wl, s)} for s, runs in by.items()}
        return {"machine": self.machine, "fio": self.fio, "targets": self.targets, "workloads": rows,
                "figures": self.figures, "failed": self.failed}


def fmt_s(s):
    if s is None:
        return "?"
    s = int(s)
    return f"{s // 60} min {s % 60} s" if s >= 60 else f"{s} s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    rep = Report(args.runs)
    rep.judge()
    md = rep.markdown()
    with open(args.md, "w") as f:
        f.write(md)
    with open(args.json, "w") as f:
        json.dump(rep.json(), f, indent=2)
        f.write("\n")
    width = max(len(t["workload"]) for t in rep.targets) if rep.targets else 10
    for t in rep.targets:
        print(f"{t['workload']:<{width}}  {t['client']:<15} {t['redcar']:>30}  {t['ratio']:>6}  "
              f"{t['target']:<34} {t['status']:<9} load {t['load']}")
    print(f"-> {args.md}, {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
