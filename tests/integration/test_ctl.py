"""redcar-ctl against the real server over gRPC.

The client binary comes from $REDCAR_CTL (CTest sets it), the server from
$REDCAR_BIN, started by redcar_server.RedcarServer with its gRPC front end on
a port it picks itself. Covered: the historical `"KEY VALUE" put` and `KEY
range` forms; put/get/del/watch/status; publish/read/subscribe/streams/info/
trim/delete and consumer groups; --json; a subscription that survives the
server restarting with no gap and no duplicate; inspect; migrate between two
servers, also after being killed half-way.

Every process a test starts is stopped by its pid in a cleanup, every wait is
bounded, every folder is removed.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from redcar_server import RedcarServer, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_TIMEOUT = 60  # seconds, for any one redcar-ctl run that is expected to end


def ctl_binary():
    path = os.environ.get("REDCAR_CTL", "")
    if not path:
        path = os.path.normpath(os.path.join(HERE, "..", "..", "build", "bin", "redcar-ctl"))
    if not os.access(path, os.X_OK):
        raise RuntimeError("redcar-ctl not found: set REDCAR_CTL (tried %s)" % path)
    return path


def run(*args, input=None, timeout=RUN_TIMEOUT, env=None):
    """Runs redcar-ctl with `args`; returns the CompletedProcess (text)."""
    return subprocess.run([ctl_binary(), *args], input=input, capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=None if input is not None else subprocess.DEVNULL)


def closed_port():
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Background:
    """A redcar-ctl run in the background whose stdout and stderr go to files,
    so a test can look at what it printed so far. Stopped by its pid."""

    def __init__(self, test, *args):
        self.dir = tempfile.mkdtemp(prefix="redcar-ctl-bg-")
        test.addCleanup(shutil.rmtree, self.dir, True)
        self.out_path = os.path.join(self.dir, "out")
        self.err_path = os.path.join(self.dir, "err")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([ctl_binary(), *args], stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL)
        test.addCleanup(self.stop)

    def stdout(self):
        with open(self.out_path, "r", errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.err_path, "r", errors="replace") as f:
            return f.read()

    def lines(self):
        text = self.stdout()
        # Only complete lines: the last one may still be being written.
        return text.split("\n")[:-1]

    def json_lines(self):
        return [json.loads(l) for l in self.lines()]

    def kill(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def wait(self, timeout=RUN_TIMEOUT):
        return self.proc.wait(timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class ServerCase(unittest.TestCase):
    """One server per class, with gRPC on."""

    server_kwargs = {}

    @classmethod
    def setUpClass(cls):
        if os.environ.get("REDCAR_REFERENCE_SERVER"):
            raise unittest.SkipTest("redcar-ctl needs redcar's gRPC front end")
        cls.server = RedcarServer(grpc=True, **cls.server_kwargs)
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    def ctl(self, *args, input=None, ok=True, server=None):
        srv = server or self.server
        r = run("-e", srv.grpc_url, *args, input=input)
        if ok:
            self.assertEqual(0, r.returncode, "redcar-ctl %s failed: %s" % (" ".join(args), r.stderr))
        return r

    def publish_lines(self, stream, values, type_="n", server=None):
        text = "".join("%s\n" % v for v in values)
        r = self.ctl("publish", stream, type_, "--lines", input=text, server=server)
        return [int(x) for x in r.stdout.split()]

    def read_json(self, stream, *extra, server=None):
        r = self.ctl("--json", "read", stream, *extra, server=server)
        return [json.loads(l) for l in r.stdout.splitlines()]


class KeyValueTests(ServerCase):
    def test_historical_put_form(self):
        r = self.ctl("foo bar", "put")
        self.assertEqual("OK\n", r.stdout)
        self.assertEqual("foo\nbar\n", self.ctl("get", "foo").stdout)
        # Split at the first space only: the value keeps the rest.
        self.assertEqual("OK\n", self.ctl("hist/k two words here", "put").stdout)
        self.assertEqual("hist/k\ntwo words here\n", self.ctl("get", "hist/k").stdout)

    def test_historical_range_form(self):
        self.ctl("put", "hist/r", "value r")
        self.assertEqual("hist/r\nvalue r\n", self.ctl("hist/r", "range").stdout)
        self.assertEqual("", self.ctl("hist/absent", "range").stdout)

    def test_historical_forms_with_endpoint_first(self):
        # Exactly as written historically: -e URL, the argument, the word.
        r = run("-e", self.server.grpc_url, "exact value", "put")
        self.assertEqual((0, "OK\n"), (r.returncode, r.stdout), r.stderr)
        r = run("-e", self.server.grpc_url, "exact", "range")
        self.assertEqual((0, "exact\nvalue\n"), (r.returncode, r.stdout), r.stderr)

    def test_historical_put_needs_a_space(self):
        r = self.ctl("nospace", "put", ok=False)
        self.assertEqual(2, r.returncode)
        self.assertIn("KEY VALUE", r.stderr)

    def test_put_get(self):
        self.assertEqual("OK\n", self.ctl("put", "kv/a", "1").stdout)
        self.assertEqual("kv/a\n1\n", self.ctl("get", "kv/a").stdout)
        self.assertEqual("OK\n", self.ctl("put", "kv/a", "2").stdout)
        self.assertEqual("kv/a\n2\n", self.ctl("get", "kv/a").stdout)
        self.assertEqual("", self.ctl("get", "kv/none").stdout)

    def test_get_prefix_keys_only_limit(self):
        for i in range(3):
            self.ctl("put", "pre/%d" % i, "v%d" % i)
        self.ctl("put", "pref", "not under pre/")
        self.assertEqual("pre/0\nv0\npre/1\nv1\npre/2\nv2\n", self.ctl("get", "pre/", "--prefix").stdout)
        self.assertEqual("pre/0\n\npre/1\n\npre/2\n\n", self.ctl("get", "pre/", "--prefix", "--keys-only").stdout)
        self.assertEqual("pre/0\nv0\npre/1\nv1\n", self.ctl("get", "pre/", "--prefix", "--limit", "2").stdout)

    def test_get_at_revision(self):
        rev1 = json.loads(self.ctl("--json", "put", "rev/k", "old").stdout)["revision"]
        self.ctl("put", "rev/k", "new")
        self.assertEqual("rev/k\nold\n", self.ctl("get", "rev/k", "--rev", str(rev1)).stdout)
        self.assertEqual("rev/k\nnew\n", self.ctl("get", "rev/k").stdout)

    def test_del_prints_count(self):
        self.ctl("put", "del/a", "1")
        self.ctl("put", "del/b", "2")
        self.ctl("put", "del/c", "3")
        self.assertEqual("1\n", self.ctl("del", "del/a").stdout)
        self.assertEqual("0\n", self.ctl("del", "del/a").stdout)
        self.assertEqual("2\n", self.ctl("del", "del/", "--prefix").stdout)
        self.assertEqual("", self.ctl("get", "del/", "--prefix").stdout)

    def test_json_get(self):
        self.ctl("put", "js/k", "v")
        lines = self.ctl("--json", "get", "js/k").stdout.splitlines()
        self.assertEqual(1, len(lines))
        obj = json.loads(lines[0])
        self.assertEqual(("js/k", "v", 1), (obj["key"], obj["value"], obj["version"]))
        self.assertGreater(obj["mod_revision"], 0)

    def test_watch_sees_later_put(self):
        w = Background(self, "-e", self.server.grpc_url, "watch", "watch/", "--prefix")
        # The watch may take a moment to be created: put until it shows one,
        # then check that what it printed is exactly the puts after that.
        i = 0
        deadline = time.monotonic() + 30
        while "PUT" not in w.stdout():
            self.assertLess(time.monotonic(), deadline, "watch printed nothing: " + w.stderr())
            self.ctl("put", "watch/k", "value %d" % i)
            i += 1
            time.sleep(0.2)
        self.ctl("put", "watch/k", "last")
        self.ctl("del", "watch/k")
        wait_for(lambda: "DELETE" in w.stdout(), what="the DELETE")
        lines = w.lines()
        self.assertEqual(["DELETE", "watch/k", ""], lines[-3:])
        self.assertEqual(["PUT", "watch/k", "last"], lines[-6:-3])
        puts = lines[:-6]
        self.assertEqual(0, len(puts) % 3)
        values = [puts[k + 2] for k in range(0, len(puts), 3)]
        self.assertTrue(all(puts[k] == "PUT" and puts[k + 1] == "watch/k" for k in range(0, len(puts), 3)))
        first = int(values[0].split()[1])
        self.assertEqual(["value %d" % n for n in range(first, i)], values)
        self.assertIsNone(w.proc.poll(), "watch must run until interrupted")
        w.kill(signal.SIGINT)

    def test_watch_from_revision(self):
        rev = json.loads(self.ctl("--json", "put", "wrev/k", "a").stdout)["revision"]
        self.ctl("put", "wrev/k", "b")
        w = Background(self, "-e", self.server.grpc_url, "--json", "watch", "wrev/k", "--rev", str(rev))
        wait_for(lambda: len(w.lines()) >= 2, what="history from --rev")
        got = w.json_lines()
        self.assertEqual([("PUT", "a"), ("PUT", "b")], [(o["type"], o["value"]) for o in got])

    def test_status(self):
        self.ctl("put", "status/k", "v")
        text = self.ctl("status").stdout
        for label in ("revision: ", "version: ", "db size: ", "member id: "):
            self.assertIn(label, text)
        obj = json.loads(self.ctl("--json", "status").stdout)
        self.assertGreater(obj["revision"], 0)
        self.assertTrue(obj["version"])

    def test_unreachable_server_is_one_line_with_code(self):
        r = run("-e", "http://127.0.0.1:%d" % closed_port(), "--timeout", "5s", "get", "x")
        self.assertEqual(1, r.returncode)
        self.assertEqual(1, len(r.stderr.splitlines()), r.stderr)
        self.assertIn("UNAVAILABLE", r.stderr)
        self.assertTrue(r.stderr.startswith("redcar-ctl: get: "))

    def test_plain_host_port_endpoint(self):
        self.ctl("put", "plain/k", "v")
        r = run("-e", "127.0.0.1:%d" % self.server.grpc_port, "get", "plain/k")
        self.assertEqual((0, "plain/k\nv\n"), (r.returncode, r.stdout), r.stderr)

    def test_usage_errors_exit_2(self):
        for args in (["frobnicate"], ["get"], ["put", "onlykey"], ["-e", "ftp://x:1", "get", "k"],
                     ["read"], ["trim", "s"]):
            r = run(*args)
            self.assertEqual(2, r.returncode, "%s: %s" % (args, r.stderr))
            self.assertTrue(r.stderr.strip(), args)

    def test_help(self):
        r = run("--help")
        self.assertEqual(0, r.returncode)
        for verb in ("put", "get", "del", "watch", "status", "publish", "read", "subscribe", "streams", "info",
                     "trim", "delete", "group", "inspect", "migrate"):
            self.assertIn(verb, r.stdout)
        self.assertIn('"foo bar" put', r.stdout)
        r = run("subscribe", "--help")
        self.assertEqual(0, r.returncode)
        self.assertIn("--prefix", r.stdout)


class EventTests(ServerCase):
    def test_publish_and_read(self):
        self.assertEqual("0\n", self.ctl("publish", "ev/a", "created", '{"id":1}').stdout)
        self.assertEqual("1\n", self.ctl("publish", "ev/a", "noted", input="from stdin").stdout)
        self.assertEqual("2\n", self.ctl("publish", "ev/a", "noted", "-", input="dash").stdout)
        lines = self.ctl("read", "ev/a").stdout.splitlines()
        self.assertEqual(['ev/a:0 created {"id":1}', "ev/a:1 noted from stdin", "ev/a:2 noted dash"], lines)

    def test_publish_json_and_read_json(self):
        r = self.ctl("--json", "publish", "ev/j", "t", "payload", "--source", "/tests", "--content-type",
                     "text/plain", "--id", "j-1")
        obj = json.loads(r.stdout)
        self.assertEqual((0, False), (obj["number"], obj["duplicate"]))
        events = self.read_json("ev/j")
        self.assertEqual(1, len(events))
        e = events[0]
        self.assertEqual(("ev/j", 0, "t", "payload", "/tests", "j-1"),
                         (e["stream"], e["number"], e["type"], e["data"], e["source"], e["id"]))
        self.assertEqual("text/plain", e["attributes"]["datacontenttype"])

    def test_every_event_has_an_id(self):
        self.publish_lines("ev/ids", range(3))
        ids = [e["id"] for e in self.read_json("ev/ids")]
        self.assertTrue(all(ids), ids)
        self.assertEqual(3, len(set(ids)))

    def test_publish_same_id_twice_writes_once(self):
        self.assertEqual("0\n", self.ctl("publish", "ev/idem", "t", "x", "--id", "once").stdout)
        r = self.ctl("--json", "publish", "ev/idem", "t", "x", "--id", "once")
        self.assertEqual({"stream": "ev/idem", "number": 0, "duplicate": True}, json.loads(r.stdout))
        self.assertEqual(1, len(self.read_json("ev/idem")))

    def test_publish_expected_version(self):
        self.assertEqual("0\n", self.ctl("publish", "ev/exp", "t", "a", "--expect", "no-stream").stdout)
        r = self.ctl("publish", "ev/exp", "t", "b", "--expect", "no-stream", ok=False)
        self.assertEqual(1, r.returncode)
        self.assertIn("FAILED_PRECONDITION", r.stderr)
        self.assertRegex(r.stderr, r"actual 0|last event number: 0")
        self.assertEqual("1\n", self.ctl("publish", "ev/exp", "t", "b", "--expect", "0").stdout)
        r = self.ctl("publish", "ev/exp", "t", "c", "--expect", "0", ok=False)
        self.assertEqual(1, r.returncode)
        self.assertIn("FAILED_PRECONDITION", r.stderr)
        self.assertEqual("2\n", self.ctl("publish", "ev/exp", "t", "c", "--expect", "exists").stdout)
        r = self.ctl("publish", "ev/exp-none", "t", "c", "--expect", "exists", ok=False)
        self.assertEqual(1, r.returncode)
        self.assertEqual(["a", "b", "c"], [e["data"] for e in self.read_json("ev/exp")])

    def test_read_ranges(self):
        self.assertEqual(list(range(10)), self.publish_lines("ev/range", range(10)))
        nums = lambda *a: [e["number"] for e in self.read_json("ev/range", *a)]
        self.assertEqual(list(range(10)), nums())
        self.assertEqual([3, 4, 5, 6], nums("--from", "3", "--to", "6"))
        self.assertEqual([6, 5, 4, 3], nums("--from", "3", "--to", "6", "--backwards"))
        self.assertEqual([3, 4], nums("--from", "3", "--max", "2"))
        self.assertEqual([9, 8], nums("--backwards", "--max", "2"))
        self.assertEqual([str(n) for n in range(10)], [e["data"] for e in self.read_json("ev/range")])

    def test_read_missing_stream_fails(self):
        r = self.ctl("read", "ev/never-written", ok=False)
        self.assertEqual(1, r.returncode)
        self.assertIn("NOT_FOUND", r.stderr)

    def test_subscribe_range_ends_at_to(self):
        self.publish_lines("ev/sub", range(8))
        r = self.ctl("subscribe", "ev/sub:2:5")
        self.assertEqual(["ev/sub:%d n %d" % (n, n) for n in range(2, 6)], r.stdout.splitlines())

    def test_subscribe_follows_live(self):
        self.publish_lines("ev/live", range(3))
        s = Background(self, "-e", self.server.grpc_url, "--json", "subscribe", "ev/live:1")
        wait_for(lambda: len(s.lines()) >= 2, what="the history")
        self.publish_lines("ev/live", range(3, 6))
        wait_for(lambda: len(s.lines()) >= 5, what="the live events")
        time.sleep(0.3)
        self.assertEqual([1, 2, 3, 4, 5], [e["number"] for e in s.json_lines()])
        self.assertIsNone(s.proc.poll())

    def test_subscribe_from_end(self):
        self.publish_lines("ev/end", range(3))
        s = Background(self, "-e", self.server.grpc_url, "--json", "subscribe", "ev/end", "--from-end")
        # From the end: whatever it printed starts after the three events.
        deadline = time.monotonic() + 30
        k = 3
        while not s.lines():
            self.assertLess(time.monotonic(), deadline)
            self.publish_lines("ev/end", [k])
            k += 1
            time.sleep(0.2)
        nums = [e["number"] for e in s.json_lines()]
        self.assertGreaterEqual(nums[0], 3)
        self.assertEqual(list(range(nums[0], nums[0] + len(nums))), nums)

    def test_subscribe_prefix(self):
        self.publish_lines("pfx-a", range(3))
        self.publish_lines("pfx-b", range(2))
        self.publish_lines("other-c", range(4))
        r = self.ctl("--json", "subscribe", "--prefix", "pfx-", "--max", "5")
        got = sorted((e["stream"], e["number"]) for e in map(json.loads, r.stdout.splitlines()))
        self.assertEqual([("pfx-a", 0), ("pfx-a", 1), ("pfx-a", 2), ("pfx-b", 0), ("pfx-b", 1)], got)

    def test_streams_info_trim_delete(self):
        self.publish_lines("adm/one", range(10))
        self.publish_lines("adm/two", range(2))
        self.assertEqual("adm/one\nadm/two\n", self.ctl("streams", "adm/").stdout)
        self.assertEqual([{"stream": "adm/one"}, {"stream": "adm/two"}],
                         [json.loads(l) for l in self.ctl("--json", "streams", "adm/").stdout.splitlines()])
        info = json.loads(self.ctl("--json", "info", "adm/one").stdout)
        self.assertEqual((10, 0, 10), (info["length"], info["first_number"], info["next_number"]))
        text = self.ctl("info", "adm/one").stdout
        self.assertIn("length: 10\n", text)
        self.assertIn("next number: 10\n", text)
        self.assertEqual("6\n", self.ctl("trim", "adm/one", "--max-count", "4").stdout)
        self.assertEqual([6, 7, 8, 9], [e["number"] for e in self.read_json("adm/one")])
        self.assertEqual({"removed": 1}, json.loads(self.ctl("--json", "trim", "adm/one", "--before", "7").stdout))
        info = json.loads(self.ctl("--json", "info", "adm/one").stdout)
        self.assertEqual((3, 7, 10), (info["length"], info["first_number"], info["next_number"]))
        self.assertEqual("deleted adm/two\n", self.ctl("delete", "adm/two").stdout)
        self.assertEqual({"stream": "adm/two", "existed": False},
                         json.loads(self.ctl("--json", "delete", "adm/two").stdout))
        self.assertEqual("adm/one\n", self.ctl("streams", "adm/").stdout)
        r = self.ctl("info", "adm/two", ok=False)
        self.assertEqual(1, r.returncode)
        self.assertIn("NOT_FOUND", r.stderr)

    def test_group_consume_acks_what_it_prints(self):
        self.publish_lines("grp/s", range(5))
        self.assertIn("created", self.ctl("group", "create", "grp/s", "workers").stdout)
        r = self.ctl("--json", "group", "consume", "grp/s", "workers", "c1", "--max", "3", "--count", "2")
        first = [json.loads(l)["number"] for l in r.stdout.splitlines()]
        self.assertEqual([0, 1, 2], first)
        r = self.ctl("--json", "group", "consume", "grp/s", "workers", "c2", "--max", "2")
        self.assertEqual([3, 4], [json.loads(l)["number"] for l in r.stdout.splitlines()])
        info = json.loads(self.ctl("--json", "info", "grp/s").stdout)
        groups = {g["name"]: g for g in info["groups"]}
        self.assertEqual(0, groups["workers"]["pending"])
        self.assertIn("existed", self.ctl("--json", "group", "delete", "grp/s", "workers").stdout)
        info = json.loads(self.ctl("--json", "info", "grp/s").stdout)
        self.assertEqual([], info["groups"])

    def test_group_consume_no_ack_leaves_pending(self):
        self.publish_lines("grp/na", range(3))
        self.ctl("group", "create", "grp/na", "g")
        r = self.ctl("group", "consume", "grp/na", "g", "c1", "--max", "2", "--no-ack")
        self.assertEqual(["grp/na:0 n 0", "grp/na:1 n 1"], r.stdout.splitlines())
        # Left unacknowledged when c1's session ended, so another member gets
        # them again, with the one c1 never saw.
        r = self.ctl("--json", "group", "consume", "grp/na", "g", "c2", "--max", "3")
        self.assertEqual([0, 1, 2], sorted(json.loads(l)["number"] for l in r.stdout.splitlines()))


class AllStreamsTests(ServerCase):
    """`subscribe '*'` on a server of its own, so every event is known."""

    def test_subscribe_all(self):
        self.publish_lines("all-a", range(3))
        self.publish_lines("all-b", range(2))
        r = self.ctl("--json", "subscribe", "*", "--max", "5")
        got = [(e["stream"], e["number"]) for e in map(json.loads, r.stdout.splitlines())]
        self.assertEqual(sorted(got), [("all-a", 0), ("all-a", 1), ("all-a", 2), ("all-b", 0), ("all-b", 1)])
        for name in ("all-a", "all-b"):
            nums = [n for s, n in got if s == name]
            self.assertEqual(sorted(nums), nums)
        text = self.ctl("subscribe", "*", "--max", "5").stdout.splitlines()
        self.assertIn("all-a:0 n 0", text)
        self.assertIn("all-b:1 n 1", text)


class RestartTests(ServerCase):
    """Subscriptions across a server restart: no gap, no duplicate."""

    N = 100

    def wait_printed(self, sub, count, timeout=60):
        wait_for(lambda: len(sub.lines()) >= count, timeout,
                 "%d events (got %d; stderr: %s)" % (count, len(sub.lines()), sub.stderr()[-2000:]))

    def test_one_stream_resumes_after_restart(self):
        sub = Background(self, "-e", self.server.grpc_url, "--json", "subscribe", "rs/one:0")
        half = self.N // 2
        self.publish_lines("rs/one", range(half))
        self.wait_printed(sub, half)
        self.server.restart()
        self.publish_lines("rs/one", range(half, self.N))
        self.wait_printed(sub, self.N)
        time.sleep(0.5)  # anything extra would show now
        events = sub.json_lines()
        self.assertEqual(list(range(self.N)), [e["number"] for e in events])
        self.assertEqual([str(n) for n in range(self.N)], [e["data"] for e in events])
        self.assertIn("reconnecting", sub.stderr())
        self.assertIsNone(sub.proc.poll())

    def test_all_streams_resume_after_restart(self):
        sub = Background(self, "-e", self.server.grpc_url, "--json", "subscribe", "--prefix", "rs/many-")
        self.publish_lines("rs/many-a", range(30))
        self.publish_lines("rs/many-b", range(20))
        self.wait_printed(sub, 50)
        self.server.restart()
        self.publish_lines("rs/many-b", range(20, 40))
        self.publish_lines("rs/many-a", range(30, 45))
        self.publish_lines("rs/many-c", range(5))
        self.wait_printed(sub, 45 + 40 + 5)
        time.sleep(0.5)
        events = sub.json_lines()
        per = {}
        for e in events:
            per.setdefault(e["stream"], []).append(e["number"])
        self.assertEqual({"rs/many-a": list(range(45)), "rs/many-b": list(range(40)),
                          "rs/many-c": list(range(5))}, per)
        self.assertIn("reconnecting", sub.stderr())


INSPECT_SCRIPT = r"""
import json, os, sys
data = sys.stdin.buffer.read().decode()
rec = {k: os.environ.get(k) for k in ("REDCAR_STREAM", "REDCAR_NUMBER", "REDCAR_TYPE", "REDCAR_ID", "REDCAR_SOURCE")}
rec["data"] = data
with open(os.environ["INSPECT_OUT"], "a") as f:
    f.write(json.dumps(rec) + "\n")
fail_at = os.environ.get("INSPECT_FAIL_AT")
if fail_at is not None and rec["REDCAR_NUMBER"] == fail_at:
    sys.exit(3)
"""


class InspectTests(ServerCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="redcar-inspect-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.out = os.path.join(self.dir, "records")

    def inspect(self, *args, fail_at=None):
        env = dict(os.environ, INSPECT_OUT=self.out)
        if fail_at is not None:
            env["INSPECT_FAIL_AT"] = str(fail_at)
        argv = ["-e", self.server.grpc_url, "inspect", *args, "--", sys.executable, "-c", INSPECT_SCRIPT]
        return subprocess.run([ctl_binary(), *argv], capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env,
                              stdin=subprocess.DEVNULL)

    def records(self):
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            return [json.loads(l) for l in f]

    def test_command_gets_data_and_environment(self):
        self.ctl("publish", "insp/a", "created", '{"total": 5}', "--source", "/shop", "--id", "ord-1")
        self.ctl("publish", "insp/a", "paid", "two\nlines", "--source", "/pay")
        r = self.inspect("insp/a")
        self.assertEqual(0, r.returncode, r.stderr)
        recs = self.records()
        ids = [e["id"] for e in self.read_json("insp/a")]
        self.assertEqual([
            {"REDCAR_STREAM": "insp/a", "REDCAR_NUMBER": "0", "REDCAR_TYPE": "created", "REDCAR_ID": "ord-1",
             "REDCAR_SOURCE": "/shop", "data": '{"total": 5}'},
            {"REDCAR_STREAM": "insp/a", "REDCAR_NUMBER": "1", "REDCAR_TYPE": "paid", "REDCAR_ID": ids[1],
             "REDCAR_SOURCE": "/pay", "data": "two\nlines"},
        ], recs)

    def test_range_and_order(self):
        self.publish_lines("insp/r", range(6))
        r = self.inspect("insp/r:2:4")
        self.assertEqual(0, r.returncode, r.stderr)
        self.assertEqual(["2", "3", "4"], [x["data"] for x in self.records()])
        self.assertEqual(["2", "3", "4"], [x["REDCAR_NUMBER"] for x in self.records()])

    def test_failing_command_stops_with_its_status(self):
        self.publish_lines("insp/f", range(5))
        r = self.inspect("insp/f", fail_at=2)
        self.assertEqual(3, r.returncode, r.stderr)
        self.assertEqual(["0", "1", "2"], [x["REDCAR_NUMBER"] for x in self.records()])

    def test_keep_going(self):
        self.publish_lines("insp/k", range(5))
        r = self.inspect("insp/k", "--keep-going", fail_at=2)
        self.assertEqual(3, r.returncode, r.stderr)
        self.assertEqual(["0", "1", "2", "3", "4"], [x["REDCAR_NUMBER"] for x in self.records()])

    def test_follow_until_to(self):
        self.publish_lines("insp/fo", range(3))
        env = dict(os.environ, INSPECT_OUT=self.out)
        argv = [ctl_binary(), "-e", self.server.grpc_url, "inspect", "insp/fo:1:5", "--follow", "--",
                sys.executable, "-c", INSPECT_SCRIPT]
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait(), proc.stderr.close()))
        wait_for(lambda: len(self.records()) >= 2, what="the history")
        self.assertIsNone(proc.poll(), "--follow must wait for more")
        self.publish_lines("insp/fo", range(3, 8))
        self.assertEqual(0, proc.wait(RUN_TIMEOUT))
        self.assertEqual(["1", "2", "3", "4", "5"], [x["data"] for x in self.records()])


class MigrateTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.environ.get("REDCAR_REFERENCE_SERVER"):
            raise unittest.SkipTest("redcar-ctl needs redcar's gRPC front end")
        cls.src = RedcarServer(grpc=True)
        cls.addClassCleanup(cls.src.cleanup)
        cls.src.start()
        cls.dst = RedcarServer(grpc=True)
        cls.addClassCleanup(cls.dst.cleanup)
        cls.dst.start()
        cls.server = cls.src

    ctl = ServerCase.ctl
    publish_lines = ServerCase.publish_lines
    read_json = ServerCase.read_json

    def comparable(self, server, stream):
        keep = ("number", "id", "type", "source", "data", "data_base64", "attributes")
        return [{k: e[k] for k in keep if k in e} for e in self.read_json(stream, server=server)]

    def migrate(self, *args):
        return run("migrate", "--from", self.src.grpc_url, "--to", self.dst.grpc_url, *args, timeout=300)

    def test_copies_streams_exactly(self):
        self.publish_lines("mig/a", range(1200))
        self.ctl("publish", "mig/b", "created", '{"x":1}', "--id", "b-0", "--source", "/b",
                 "--content-type", "application/json", server=self.src)
        self.ctl("publish", "mig/b", "bin", input="\x00\x01\x02 not utf-8 \xff", server=self.src)
        r = self.migrate("mig/a", "mig/b", "--batch", "100")
        self.assertEqual(0, r.returncode, r.stderr)
        self.assertIn("mig/a: copied 1200 events", r.stdout)
        self.assertIn("mig/b: copied 2 events", r.stdout)
        self.assertIn("mig/a:", r.stderr)  # the progress line
        for s in ("mig/a", "mig/b"):
            self.assertEqual(self.comparable(self.src, s), self.comparable(self.dst, s))
        # Again: nothing left to copy, nothing copied twice.
        r = self.migrate("mig/a", "mig/b")
        self.assertEqual(0, r.returncode, r.stderr)
        self.assertIn("mig/a: copied 0 events (1200 were there already)", r.stdout)
        self.assertEqual(1200, len(self.read_json("mig/a", server=self.dst)))

    def test_from_number(self):
        self.publish_lines("mig/from", range(10))
        r = self.migrate("mig/from:4")
        self.assertEqual(0, r.returncode, r.stderr)
        self.assertEqual([str(n) for n in range(4, 10)],
                         [e["data"] for e in self.read_json("mig/from", server=self.dst)])
        self.publish_lines("mig/from", range(10, 13))
        r = self.migrate("mig/from:4")
        self.assertEqual(0, r.returncode, r.stderr)
        self.assertIn("copied 3 events (6 were there already)", r.stdout)
        self.assertEqual([str(n) for n in range(4, 13)],
                         [e["data"] for e in self.read_json("mig/from", server=self.dst)])

    def test_interrupted_migrate_resumes_to_an_exact_copy(self):
        total = 40000
        self.publish_lines("mig/big", range(total))
        dst_len = lambda: self.dst_length("mig/big")
        proc = subprocess.Popen([ctl_binary(), "migrate", "--from", self.src.grpc_url, "--to", self.dst.grpc_url,
                                 "mig/big", "--batch", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait()))
        wait_for(lambda: dst_len() >= 500, 60, "the first copies")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        partial = dst_len()
        self.assertLess(partial, total, "migrate finished before it could be interrupted")
        r = self.migrate("mig/big", "--batch", "500")
        self.assertEqual(0, r.returncode, r.stderr)
        self.assertIn("(%d were there already)" % partial, r.stdout)
        self.assertEqual(self.comparable(self.src, "mig/big"), self.comparable(self.dst, "mig/big"))

    def test_refuses_a_destination_that_is_not_a_copy(self):
        self.publish_lines("mig/foreign", range(3))
        self.publish_lines("mig/foreign", ["x", "y"], server=self.dst)
        r = self.migrate("mig/foreign")
        self.assertEqual(1, r.returncode)
        self.assertIn("FAILED_PRECONDITION", r.stderr)
        self.assertEqual(["x", "y"], [e["data"] for e in self.read_json("mig/foreign", server=self.dst)])

    def test_batches_shrink_for_a_destination_with_a_small_request_limit(self):
        small = RedcarServer(grpc=True, extra_args=["--grpc-max-request-bytes", "65536"])
        self.addCleanup(small.cleanup)
        small.start()
        self.publish_lines("mig/wide", ["%04d:" % n + "x" * 4000 for n in range(200)])
        r = run("migrate", "--from", self.src.grpc_url, "--to", small.grpc_url, "mig/wide", timeout=300)
        self.assertEqual(0, r.returncode, r.stderr)
        self.assertIn("at a time", r.stderr)
        self.assertEqual(self.comparable(self.src, "mig/wide"), self.comparable(small, "mig/wide"))

    def dst_length(self, stream):
        r = run("-e", self.dst.grpc_url, "--json", "info", stream)
        if r.returncode != 0:
            return 0
        return json.loads(r.stdout)["next_number"]


class TlsTests(ServerCase):
    """https:// endpoints with a CA and a client certificate (the server
    requires one)."""

    @classmethod
    def setUpClass(cls):
        from test_resp_tls_events import make_certificates
        cls.certs = tempfile.mkdtemp(prefix="redcar-ctl-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.certs, True)
        make_certificates(cls.certs)
        c = lambda n: os.path.join(cls.certs, n)
        cls.server_kwargs = {"extra_args": ["--tls-cert", c("server.crt"), "--tls-key", c("server.key"),
                                            "--tls-client-ca", c("ca.crt")]}
        super().setUpClass()

    def tls(self, *args, cert="client"):
        c = lambda n: os.path.join(self.certs, n)
        extra = ["--cert", c(cert + ".crt"), "--key", c(cert + ".key")] if cert else []
        return run("-e", "https://127.0.0.1:%d" % self.server.grpc_port, "--cacert", c("ca.crt"), *extra, *args)

    def test_with_client_certificate(self):
        r = self.tls("put", "tls/k", "v")
        self.assertEqual((0, "OK\n"), (r.returncode, r.stdout), r.stderr)
        r = self.tls("get", "tls/k")
        self.assertEqual("tls/k\nv\n", r.stdout)
        r = self.tls("publish", "tls/s", "t", "d")
        self.assertEqual((0, "0\n"), (r.returncode, r.stdout), r.stderr)

    def test_without_client_certificate_fails(self):
        r = self.tls("--timeout", "5s", "get", "tls/k", cert=None)
        self.assertEqual(1, r.returncode)
        self.assertIn("UNAVAILABLE", r.stderr)

    def test_plain_http_to_tls_server_fails(self):
        r = run("-e", "http://127.0.0.1:%d" % self.server.grpc_port, "--timeout", "5s", "get", "tls/k")
        self.assertEqual(1, r.returncode)


if __name__ == "__main__":
    unittest.main()
