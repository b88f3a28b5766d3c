"""redcar's etcd v3 front end driven by real etcd clients: Debian's etcdctl
(ETCDCTL_API=3) and python3-etcd3, plus raw gRPC calls (python3-grpcio with
the stubs python3-etcd3 ships) where a test must see the exact responses of
the Watch stream.

The server is the real redcar binary ($REDCAR_BIN), started by
redcar_server.RedcarServer with its gRPC front end on a port it picks. With
REDCAR_ETCD_REFERENCE=/usr/bin/etcd the same tests run against a real etcd
3.4 instead (on free loopback ports, a temporary data folder), which is how
the expectations themselves are checked: a test that only makes sense for
redcar says so with `self.redcar_only()`.

Every process a test starts is stopped by its pid, every wait is bounded,
every folder is removed.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import etcd3  # noqa: E402
import grpc  # noqa: E402
from etcd3.etcdrpc import rpc_pb2, rpc_pb2_grpc  # noqa: E402

from redcar_server import HOST, RedcarServer, _die_with_parent, wait_for  # noqa: E402

# python3-etcd3's watch thread outlives its client: once the channel is
# closed it dies on "Channel closed". That is the end the tests expect, not
# a failure worth a traceback in the log.
_default_excepthook = threading.excepthook


def _quiet_closed_watchers(args):
    if args.thread is not None and args.thread.name.startswith("etcd3_watch") and isinstance(args.exc_value, ValueError):
        return
    _default_excepthook(args)


threading.excepthook = _quiet_closed_watchers

RUN_TIMEOUT = 30
REQUEST_LIMIT = 65536  # --grpc-max-request-bytes / --max-request-bytes for these tests
PROGRESS_MS = 200
MAX_WATCHES = 20  # --max-watches-per-stream (redcar only)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class EtcdReference:
    """A real etcd 3.4 on loopback, for checking the tests' expectations."""

    def __init__(self, binary):
        self.binary = binary
        self.base_dir = tempfile.mkdtemp(prefix="redcar-it-etcd-")
        self.port = free_port()
        self.peer_port = free_port()
        self.proc = None

    @property
    def endpoint(self):
        return "%s:%d" % (HOST, self.port)

    def start(self):
        peer = "http://%s:%d" % (HOST, self.peer_port)
        client = "http://%s:%d" % (HOST, self.port)
        args = [self.binary, "--name", "t", "--data-dir", os.path.join(self.base_dir, "data"),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "t=" + peer, "--max-request-bytes", str(REQUEST_LIMIT),
                "--experimental-watch-progress-notify-interval", "%dms" % PROGRESS_MS]
        log = open(os.path.join(self.base_dir, "log"), "wb")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=_die_with_parent)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = subprocess.run(["etcdctl", "--endpoints", self.endpoint, "endpoint", "health"],
                               capture_output=True, text=True, env=etcdctl_env())
            if r.returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError("etcd did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)


class RedcarTarget:
    def __init__(self):
        self.server = RedcarServer(grpc=True, extra_args=[
            "--grpc-max-request-bytes", str(REQUEST_LIMIT),
            "--watch-progress-interval-ms", str(PROGRESS_MS),
            "--max-watches-per-stream", str(MAX_WATCHES)])

    @property
    def endpoint(self):
        return "%s:%d" % (HOST, self.server.grpc_port)

    def start(self):
        self.server.start()
        return self

    def restart(self):
        self.server.restart()
        return self

    def cleanup(self):
        self.server.cleanup()


def etcdctl_env():
    env = dict(os.environ)
    env["ETCDCTL_API"] = "3"
    return env


class EtcdTestCase(unittest.TestCase):
    """One server per test class; tests use keys of their own."""

    @classmethod
    def setUpClass(cls):
        ref = os.environ.get("REDCAR_ETCD_REFERENCE", "")
        cls.is_reference = bool(ref)
        cls.target = EtcdReference(ref) if ref else RedcarTarget()
        try:
            cls.target.start()
        except BaseException:
            cls.target.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.target.cleanup()

    def redcar_only(self):
        if self.is_reference:
            self.skipTest("redcar's own behaviour")

    def ctl(self, *args, input=None, check=True, timeout=RUN_TIMEOUT):
        r = subprocess.run(["etcdctl", "--endpoints", self.target.endpoint, *args], input=input,
                           capture_output=True, text=True, timeout=timeout, env=etcdctl_env(),
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError("etcdctl %s failed (%d): %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def ctl_json(self, *args):
        return json.loads(self.ctl(*args, "-w", "json").stdout)

    def revision(self):
        return int(self.ctl_json("get", "no-such-key")["header"]["revision"])

    def client(self):
        host, port = self.target.endpoint.rsplit(":", 1)
        c = etcd3.client(host=host, port=int(port), timeout=RUN_TIMEOUT)
        self.addCleanup(c.close)
        return c

    def channel(self):
        ch = grpc.insecure_channel(self.target.endpoint)
        self.addCleanup(ch.close)
        return ch


class BackgroundWatch:
    """`etcdctl watch ...` running in the background, its output in a file."""

    def __init__(self, test, *args):
        self.dir = tempfile.mkdtemp(prefix="redcar-it-watch-")
        test.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, "out")
        with open(self.path, "wb") as out:
            self.proc = subprocess.Popen(["etcdctl", "--endpoints", test.target.endpoint, "watch", *args],
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=etcdctl_env(), preexec_fn=_die_with_parent)
        test.addCleanup(self.stop)

    def output(self):
        with open(self.path, "r", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class EtcdctlTest(EtcdTestCase):
    def test_put_get(self):
        self.assertEqual(self.ctl("put", "ctl/foo", "bar").stdout, "OK\n")
        self.assertEqual(self.ctl("get", "ctl/foo").stdout, "ctl/foo\nbar\n")
        self.assertEqual(self.ctl("get", "ctl/missing").stdout, "")
        self.assertEqual(self.ctl("get", "ctl/foo", "--print-value-only").stdout, "bar\n")

    def test_get_prefix_limit_sort_keys_and_count(self):
        for i in range(5):
            self.ctl("put", "pfx/k%d" % i, "v%d" % (4 - i))
        self.ctl("put", "pfy/other", "x")
        self.assertEqual(self.ctl("get", "--prefix", "pfx/", "--keys-only").stdout.split(),
                         ["pfx/k%d" % i for i in range(5)])
        got = self.ctl_json("get", "--prefix", "pfx/", "--limit", "2")
        self.assertEqual([kv["key"] for kv in got["kvs"]], ["cGZ4L2sw", "cGZ4L2sx"])  # base64 of pfx/k0, pfx/k1
        self.assertTrue(got["more"])
        self.assertEqual(got["count"], 5)
        by_value = self.ctl("get", "--prefix", "pfx/", "--sort-by", "VALUE", "--order", "ASCEND").stdout.split()
        self.assertEqual(by_value[::2], ["pfx/k4", "pfx/k3", "pfx/k2", "pfx/k1", "pfx/k0"])
        desc = self.ctl("get", "--prefix", "pfx/", "--order", "DESCEND", "--keys-only").stdout.split()
        self.assertEqual(desc, ["pfx/k%d" % i for i in range(4, -1, -1)])
        self.assertEqual(self.ctl_json("get", "--prefix", "pfx/", "--limit", "1")["count"], 5)
        # A range [from, to).
        self.assertEqual(self.ctl("get", "pfx/k1", "pfx/k3", "--keys-only").stdout.split(), ["pfx/k1", "pfx/k2"])
        # --from-key: everything from there on.
        keys = self.ctl("get", "--from-key", "pfx/k3", "--keys-only").stdout.split()
        self.assertEqual(keys[:3], ["pfx/k3", "pfx/k4", "pfy/other"])

    def test_revisions_and_get_rev(self):
        rev0 = self.revision()
        first = self.ctl_json("put", "rev/k", "one")
        self.assertEqual(first["header"]["revision"], rev0 + 1)
        self.ctl("put", "rev/k", "two")
        self.assertEqual(self.ctl("get", "rev/k", "--rev", str(rev0 + 1)).stdout, "rev/k\none\n")
        self.assertEqual(self.ctl("get", "rev/k").stdout, "rev/k\ntwo\n")
        kv = self.ctl_json("get", "rev/k")["kvs"][0]
        self.assertEqual((kv["create_revision"], kv["mod_revision"], kv["version"]), (rev0 + 1, rev0 + 2, 2))
        future = self.ctl("get", "rev/k", "--rev", str(rev0 + 1000), check=False)
        self.assertNotEqual(future.returncode, 0)
        self.assertIn("future revision", future.stderr)

    def test_del(self):
        for k in ("del/a", "del/b", "del/c"):
            self.ctl("put", k, "x")
        self.assertEqual(self.ctl("del", "del/a").stdout, "1\n")
        self.assertEqual(self.ctl("del", "del/a").stdout, "0\n")
        self.assertEqual(self.ctl("del", "--prev-kv", "del/b").stdout, "1\ndel/b\nx\n")
        self.assertEqual(self.ctl("del", "--prefix", "del/").stdout, "1\n")
        self.assertEqual(self.ctl("get", "--prefix", "del/").stdout, "")

    def test_put_prev_kv_and_ignore_value(self):
        self.ctl("put", "pv/k", "old")
        self.assertEqual(self.ctl("put", "--prev-kv", "pv/k", "new").stdout, "OK\npv/k\nold\n")
        self.ctl("put", "--ignore-value", "pv/k")
        self.assertEqual(self.ctl("get", "pv/k").stdout, "pv/k\nnew\n")
        missing = self.ctl("put", "--ignore-value", "pv/missing", check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("key not found", missing.stderr)

    def test_txn_success_and_failure(self):
        self.ctl("put", "txn/k", "1")
        # etcdctl's interactive form: compares, blank line, success ops, blank line, failure ops.
        win = self.ctl("txn", input='value("txn/k") = "1"\n\nput txn/won yes\n\nput txn/lost yes\n\n').stdout
        self.assertEqual(win, "SUCCESS\n\nOK\n")
        lose = self.ctl("txn", input='value("txn/k") = "2"\n\nput txn/won2 yes\n\nget txn/k\n\n').stdout
        self.assertEqual(lose, "FAILURE\n\ntxn/k\n1\n")
        self.assertEqual(self.ctl("get", "txn/won").stdout, "txn/won\nyes\n")
        self.assertEqual(self.ctl("get", "txn/lost").stdout, "")
        rev = self.ctl_json("get", "txn/k")["kvs"][0]["mod_revision"]
        cmp_mod = self.ctl("txn", input='mod("txn/k") = "%d"\n\ndel txn/k\n\n\n' % rev).stdout
        self.assertEqual(cmp_mod, "SUCCESS\n\n1\n")
        cmp_ver = self.ctl("txn", input='version("txn/k") = "0"\n\nput txn/k again\n\n\n').stdout
        self.assertEqual(cmp_ver, "SUCCESS\n\nOK\n")  # a missing key has version 0
        self.assertEqual(self.ctl("get", "txn/k").stdout, "txn/k\nagain\n")

    def test_watch_sees_a_later_put(self):
        start = self.revision() + 1
        w = BackgroundWatch(self, "--prefix", "watch/", "--rev", str(start))
        self.ctl("put", "watch/a", "hello")
        self.ctl("put", "other/a", "not watched")
        self.ctl("del", "watch/a")
        wait_for(lambda: "DELETE" in w.output(), what="the watch to print the delete")
        self.assertEqual(w.output(), "PUT\nwatch/a\nhello\nDELETE\nwatch/a\n\n")  # a delete has an empty value

    def test_watch_without_revision_sees_puts_after_it_starts(self):
        w = BackgroundWatch(self, "live/k")
        # The watch starts "now": keep writing until it shows, then check
        # that a later value arrives after it, in order.
        def seen():
            self.ctl("put", "live/k", "ping")
            return "ping" in w.output()
        wait_for(seen, what="the watch to start")
        self.ctl("put", "live/k", "after")
        wait_for(lambda: "after" in w.output(), what="the later put")
        lines = w.output().split("\n")
        self.assertEqual(lines[-3:], ["live/k", "after", ""])

    def test_watch_history_then_compacted(self):
        r1 = self.ctl_json("put", "hist/k", "1")["header"]["revision"]
        self.ctl("put", "hist/k", "2")
        w = BackgroundWatch(self, "hist/k", "--rev", str(r1), "--prev-kv")
        wait_for(lambda: w.output().count("PUT") == 2, what="the history")
        self.assertEqual(w.output(), "PUT\nhist/k\n1\nPUT\nhist/k\n1\nhist/k\n2\n")
        r3 = self.ctl_json("put", "hist/k", "3")["header"]["revision"]
        self.assertEqual(self.ctl("compaction", str(r3)).stdout, "compacted revision %d\n" % r3)
        gone = self.ctl("get", "hist/k", "--rev", str(r1), check=False)
        self.assertNotEqual(gone.returncode, 0)
        self.assertIn("required revision has been compacted", gone.stderr)
        old = BackgroundWatch(self, "hist/k", "--rev", str(r1))
        wait_for(lambda: "compacted" in old.output(), what="the compacted watch to be cancelled")
        self.assertIn("watch was canceled (etcdserver: mvcc: required revision has been compacted)", old.output())

    def test_endpoint_status_and_member_list(self):
        rev = self.revision()
        st = self.ctl_json("endpoint", "status")[0]["Status"]
        self.assertEqual(st["header"]["revision"], rev)
        self.assertEqual(st["leader"], st["header"]["member_id"])
        self.assertTrue(st["version"].startswith("3.4"))
        self.assertGreater(st["dbSize"], 0)
        table = self.ctl("endpoint", "status", "-w", "table").stdout
        self.assertIn(self.target.endpoint, table)
        members = self.ctl_json("member", "list")["members"]
        self.assertEqual(len(members), 1)
        self.assertEqual(members[0]["ID"], st["header"]["member_id"])
        self.assertIn("http://" + self.target.endpoint, members[0]["clientURLs"])
        self.assertEqual(self.ctl("alarm", "list").stdout, "")

    def test_lease_service_is_unimplemented(self):
        self.redcar_only()
        r = self.ctl("lease", "grant", "10", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Unimplemented", r.stderr)


class PythonEtcd3Test(EtcdTestCase):
    def test_put_get_range_delete(self):
        c = self.client()
        c.put("py/a", "1")
        c.put("py/b", "2")
        c.put("py/c", "3")
        value, meta = c.get("py/a")
        self.assertEqual(value, b"1")
        self.assertEqual(meta.version, 1)
        self.assertEqual(c.get("py/none"), (None, None))
        self.assertEqual([v for v, m in c.get_prefix("py/")], [b"1", b"2", b"3"])
        self.assertEqual([m.key for v, m in c.get_range("py/a", "py/c")], [b"py/a", b"py/b"])
        self.assertTrue(c.delete("py/a"))
        self.assertFalse(c.delete("py/a"))
        self.assertTrue(c.replace("py/b", "2", "22"))
        self.assertFalse(c.replace("py/b", "2", "23"))
        self.assertEqual(c.get("py/b")[0], b"22")
        c.delete_prefix("py/")
        self.assertEqual(list(c.get_prefix("py/")), [])

    def test_transaction(self):
        c = self.client()
        c.put("pyt/k", "v")
        ok, responses = c.transaction(
            compare=[c.transactions.value("pyt/k") == "v", c.transactions.version("pyt/k") > 0],
            success=[c.transactions.put("pyt/new", "n"), c.transactions.get("pyt/k")],
            failure=[c.transactions.delete("pyt/k")])
        self.assertTrue(ok)
        self.assertEqual(responses[1][0][0], b"v")
        ok, _ = c.transaction(compare=[c.transactions.create("pyt/k") == 1], success=[],
                              failure=[c.transactions.put("pyt/failed", "f")])
        self.assertFalse(ok)
        self.assertEqual(c.get("pyt/failed")[0], b"f")

    def test_nested_transactions(self):
        c = self.client()
        t = c.transactions
        c.put("pyn/a", "1")
        # Nested compares see the store as it was before the transaction's
        # first write: pyn/b is still missing for the inner one.
        ok, responses = c.transaction(
            compare=[t.value("pyn/a") == "1"],
            success=[t.put("pyn/b", "outer"),
                     t.get("pyn/b"),
                     t.txn(compare=[t.version("pyn/b") == 0],
                           success=[t.put("pyn/c", "inner-then"), t.get("pyn/a")],
                           failure=[t.put("pyn/c", "inner-else")])],
            failure=[t.put("pyn/failed", "x")])
        self.assertTrue(ok)
        self.assertEqual(responses[1][0][0], b"outer", "a range sees the transaction's earlier writes")
        inner = responses[2].response_txn
        self.assertTrue(inner.succeeded)
        self.assertEqual(len(inner.responses), 2)
        self.assertEqual(inner.responses[1].response_range.kvs[0].value, b"1")
        self.assertEqual(c.get("pyn/c")[0], b"inner-then")
        self.assertEqual(c.get("pyn/b")[1].mod_revision, c.get("pyn/c")[1].mod_revision,
                         "one revision for every write, nested ones included")
        self.assertIsNone(c.get("pyn/failed")[0])
        # The branches of one nested transaction may put the same key.
        ok, _ = c.transaction(compare=[], failure=[], success=[
            t.txn(compare=[t.value("pyn/a") == "2"], success=[t.put("pyn/d", "then")],
                  failure=[t.put("pyn/d", "else")])])
        self.assertTrue(ok)
        self.assertEqual(c.get("pyn/d")[0], b"else")
        # A put outside it of a key it writes may not.
        for success in ([t.put("pyn/e", "1"), t.txn(compare=[], success=[t.put("pyn/e", "2")], failure=[])],
                        [t.delete("pyn/", range_end="pyn0"),
                         t.txn(compare=[], success=[], failure=[t.put("pyn/e", "2")])],
                        [t.txn(compare=[], success=[t.delete("pyn/e")], failure=[]), t.put("pyn/e", "2")]):
            with self.assertRaises(Exception) as e:
                c.transaction(compare=[], success=success, failure=[])
            self.assertIn("duplicate key given in txn request", str(e.exception))
        self.assertIsNone(c.get("pyn/e")[0])

    def test_watch_iterator_and_callbacks_on_one_stream(self):
        c = self.client()
        events, cancel = c.watch_prefix("pyw/")
        got = []
        done = threading.Event()

        def consume():
            for ev in events:
                got.append((type(ev).__name__, ev.key, ev.value))
                if type(ev).__name__ == "DeleteEvent":
                    done.set()
                    return

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        # Two more watches on the same stream (the client multiplexes them);
        # one is cancelled before anything happens.
        seen_x, seen_y = [], []
        wx = c.add_watch_callback("pyw/x", lambda resp: seen_x.extend((type(e).__name__, e.key) for e in resp.events))
        wy = c.add_watch_callback("pyw/y", lambda resp: seen_y.extend(e.key for e in resp.events))
        c.cancel_watch(wy)
        # The iterator watch started before these: keep putting until it has
        # seen a first event, as the client gives no "created" signal.
        wait_for(lambda: (c.put("pyw/x", "1") or True) and len(got) >= 1, what="the watch to start")
        c.put("pyw/y", "2")
        c.delete("pyw/x")
        self.assertTrue(done.wait(RUN_TIMEOUT))
        self.assertEqual(got[-2:], [("PutEvent", b"pyw/y", b"2"), ("DeleteEvent", b"pyw/x", b"")])
        # The callback hears the delete too (before its watch is cancelled:
        # the client drops responses for a watch it has cancelled).
        wait_for(lambda: ("DeleteEvent", b"pyw/x") in seen_x, what="the callback watch")
        self.assertEqual(set(k for t, k in seen_x), {b"pyw/x"})
        cancel()
        c.cancel_watch(wx)
        self.assertEqual(seen_y, [])

    def test_watch_from_revision(self):
        c = self.client()
        c.put("pyr/k", "a")
        rev = c.get("pyr/k")[1].mod_revision
        c.put("pyr/k", "b")
        events, cancel = c.watch("pyr/k", start_revision=rev)
        got = []
        for ev in events:
            got.append(ev.value)
            if len(got) == 2:
                break
        cancel()
        self.assertEqual(got, [b"a", b"b"])

    def test_status_members_and_restart(self):
        c = self.client()
        c.put("pys/k", "kept")
        rev = c.get("pys/k")[1].mod_revision
        st = c.status()
        self.assertTrue(st.version.startswith("3.4"))
        self.assertGreater(st.db_size, 0)
        self.assertEqual(len(list(c.members)), 1)
        self.target.restart()
        c2 = self.client()
        got = []

        def read_back():
            try:
                got.append(c2.get("pys/k"))
                return True
            except etcd3.exceptions.ConnectionFailedError:
                return False  # the client's first connection may race the restart
        wait_for(read_back, what="the restarted server to answer")
        value, meta = got[0]
        self.assertEqual(value, b"kept")
        self.assertEqual(meta.mod_revision, rev)
        c2.put("pys/k", "after")
        self.assertEqual(c2.get("pys/k")[1].mod_revision, rev + 1)  # the revision carries on

    def test_bad_requests(self):
        c = self.client()
        with self.assertRaises(Exception) as e:
            c.put("", "v")
        self.assertIn("key is not provided", str(e.exception))
        with self.assertRaises(Exception) as e:
            c.put("big/k", "x" * (REQUEST_LIMIT + 100))
        self.assertIn("request is too large", str(e.exception))
        with self.assertRaises(Exception) as e:
            c.put("big/k", "x" * (REQUEST_LIMIT + (4 << 20)))
        self.assertIn("RESOURCE_EXHAUSTED", str(e.exception).upper().replace(" ", "_"))
        many = [c.transactions.put("many/%d" % i, "v") for i in range(129)]
        with self.assertRaises(Exception) as e:
            c.transaction(compare=[], success=many, failure=[])
        self.assertIn("too many operations in txn request", str(e.exception))
        dup = [c.transactions.put("dup/k", "1"), c.transactions.put("dup/k", "2")]
        with self.assertRaises(Exception) as e:
            c.transaction(compare=[], success=dup, failure=[])
        self.assertIn("duplicate key given in txn request", str(e.exception))
        self.assertEqual(c.get("dup/k"), (None, None))
        c.put("still/works", "yes")
        self.assertEqual(c.get("still/works")[0], b"yes")


class WatchWireTest(EtcdTestCase):
    """The Watch stream response by response, with raw gRPC."""

    def open_stream(self):
        requests = RequestQueue()
        stub = rpc_pb2_grpc.WatchStub(self.channel())
        responses = stub.Watch(iter(requests.get, None), timeout=120)
        self.addCleanup(responses.cancel)
        self.addCleanup(requests.close)
        return requests, responses

    def create(self, key, range_end=b"", start_revision=0, progress_notify=False, prev_kv=False):
        return rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(
            key=key, range_end=range_end, start_revision=start_revision, progress_notify=progress_notify,
            prev_kv=prev_kv))

    def test_created_comes_first_then_events_then_canceled(self):
        c = self.client()
        requests, responses = self.open_stream()
        rev = self.revision()
        requests.put(self.create(b"ww/a"))
        created = next(responses)
        self.assertTrue(created.created)
        self.assertFalse(created.canceled)
        self.assertEqual(created.header.revision, rev)
        c.put("ww/a", "1")
        ev = next(responses)
        self.assertEqual(ev.watch_id, created.watch_id)
        self.assertEqual([(e.kv.key, e.kv.value) for e in ev.events], [(b"ww/a", b"1")])
        self.assertGreaterEqual(ev.header.revision, ev.events[0].kv.mod_revision)
        # A second watch on the same stream gets its own ID.
        requests.put(self.create(b"ww/b", prev_kv=True))
        second = next(responses)
        self.assertTrue(second.created)
        self.assertNotEqual(second.watch_id, created.watch_id)
        c.put("ww/b", "x")
        c.put("ww/b", "y")
        got = []
        while len(got) < 2:
            r = next(responses)
            self.assertEqual(r.watch_id, second.watch_id)
            got.extend((e.kv.value, e.prev_kv.value) for e in r.events)
        self.assertEqual(got, [(b"x", b""), (b"y", b"x")])
        requests.put(rpc_pb2.WatchRequest(cancel_request=rpc_pb2.WatchCancelRequest(watch_id=created.watch_id)))
        canceled = next(responses)
        self.assertTrue(canceled.canceled)
        self.assertEqual(canceled.watch_id, created.watch_id)
        c.put("ww/a", "2")  # cancelled: nothing comes for it
        c.put("ww/b", "z")
        r = next(responses)
        self.assertEqual(r.watch_id, second.watch_id)
        self.assertEqual(r.events[0].kv.value, b"z")

    def test_compacted_start_is_created_then_canceled(self):
        c = self.client()
        c.put("wc/k", "1")
        old = c.get("wc/k")[1].mod_revision
        c.put("wc/k", "2")
        now = c.get("wc/k")[1].mod_revision
        c.compact(now)
        requests, responses = self.open_stream()
        requests.put(self.create(b"wc/k", start_revision=old))
        created = next(responses)
        self.assertTrue(created.created)
        gone = next(responses)
        self.assertTrue(gone.canceled)
        self.assertEqual(gone.watch_id, created.watch_id)
        self.assertEqual(gone.compact_revision, now)

    def test_progress_notify_when_idle(self):
        c = self.client()
        requests, responses = self.open_stream()
        requests.put(self.create(b"wp/k", progress_notify=True))
        created = next(responses)
        c.put("unrelated/k", "x")
        rev = c.get("unrelated/k")[1].mod_revision
        # Within a few intervals: an empty response naming a revision that
        # covers the unrelated write.
        deadline = time.monotonic() + 30
        while True:
            r = next(responses)
            self.assertEqual(len(r.events), 0)
            self.assertEqual(r.watch_id, created.watch_id)
            if r.header.revision >= rev:
                break
            self.assertLess(time.monotonic(), deadline)

    def test_a_reader_that_stalls_loses_nothing_and_blocks_nobody(self):
        c = self.client()
        requests, responses = self.open_stream()
        requests.put(self.create(b"ws/", range_end=b"ws0"))
        self.assertTrue(next(responses).created)
        # Write a lot while the stream is not read.
        n = 3000
        for i in range(n):
            c.put("ws/%05d" % i, "v" * 200)
        # Other clients are served meanwhile.
        self.assertEqual(c.get("ws/00000")[0], b"v" * 200)
        got = []
        while len(got) < n:
            r = next(responses)
            got.extend(e.kv.key for e in r.events)
        self.assertEqual(got, [b"ws/%05d" % i for i in range(n)])


class RangeWireTest(EtcdTestCase):
    """Range's options that etcdctl does not reach, with raw gRPC."""

    def range(self, **kw):
        return rpc_pb2_grpc.KVStub(self.channel()).Range(rpc_pb2.RangeRequest(**kw), timeout=RUN_TIMEOUT)

    def test_revision_filters_and_sort_targets(self):
        c = self.client()
        c.put("rf/a", "1")
        c.put("rf/b", "1")
        c.put("rf/a", "2")  # a: created first, modified last
        c.put("rf/c", "1")
        revs = {m.key: (m.create_revision, m.mod_revision) for v, m in c.get_prefix("rf/")}
        a_create, a_mod = revs[b"rf/a"]
        got = self.range(key=b"rf/", range_end=b"rf0", min_mod_revision=a_mod)
        self.assertEqual([kv.key for kv in got.kvs], [b"rf/a", b"rf/c"])
        self.assertEqual(got.count, 3)  # count is of the range, before the filters (as etcd)
        got = self.range(key=b"rf/", range_end=b"rf0", max_create_revision=a_create)
        self.assertEqual([kv.key for kv in got.kvs], [b"rf/a"])
        got = self.range(key=b"rf/", range_end=b"rf0", sort_target=rpc_pb2.RangeRequest.MOD,
                         sort_order=rpc_pb2.RangeRequest.DESCEND, limit=2)
        self.assertEqual([kv.key for kv in got.kvs], [b"rf/c", b"rf/a"])
        self.assertTrue(got.more)
        # A target without an order sorts ascending by it.
        got = self.range(key=b"rf/", range_end=b"rf0", sort_target=rpc_pb2.RangeRequest.CREATE)
        self.assertEqual([kv.key for kv in got.kvs], [b"rf/a", b"rf/b", b"rf/c"])
        got = self.range(key=b"rf/", range_end=b"rf0", sort_target=rpc_pb2.RangeRequest.VERSION,
                         sort_order=rpc_pb2.RangeRequest.DESCEND, keys_only=True)
        self.assertEqual(got.kvs[0].key, b"rf/a")
        self.assertEqual(got.kvs[0].value, b"")
        everything = self.range(key=b"\0", range_end=b"\0", count_only=True)
        self.assertGreaterEqual(everything.count, 3)
        self.assertEqual(len(everything.kvs), 0)

    def test_empty_key_is_refused(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.range(key=b"")
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("key is not provided", e.exception.details())


class WatchLimitTest(EtcdTestCase):
    def test_watches_past_the_limit_are_refused_and_the_stream_goes_on(self):
        self.redcar_only()
        stub = rpc_pb2_grpc.WatchStub(self.channel())
        requests = RequestQueue()
        responses = stub.Watch(iter(requests.get, None), timeout=120)
        self.addCleanup(responses.cancel)
        self.addCleanup(requests.close)
        ids = []
        for i in range(MAX_WATCHES):
            requests.put(rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(key=b"lim/%d" % i)))
            r = next(responses)
            self.assertTrue(r.created and not r.canceled)
            ids.append(r.watch_id)
        self.assertEqual(len(set(ids)), MAX_WATCHES)
        requests.put(rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(key=b"lim/over")))
        over = next(responses)
        self.assertTrue(over.created and over.canceled)
        self.assertEqual(over.watch_id, -1)
        self.assertIn("too many watches", over.cancel_reason)
        # Cancelling one makes room again; the others still work.
        requests.put(rpc_pb2.WatchRequest(cancel_request=rpc_pb2.WatchCancelRequest(watch_id=ids[0])))
        self.assertTrue(next(responses).canceled)
        requests.put(rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(key=b"lim/again")))
        again = next(responses)
        self.assertTrue(again.created and not again.canceled)
        self.client().put("lim/5", "x")
        ev = next(responses)
        self.assertEqual(ev.watch_id, ids[5])
        self.assertEqual(ev.events[0].kv.key, b"lim/5")


class EtcdTlsTest(unittest.TestCase):
    """etcdctl and python3-etcd3 over TLS, with the client certificates the
    server requires (--tls-client-ca)."""

    @classmethod
    def setUpClass(cls):
        if os.environ.get("REDCAR_ETCD_REFERENCE"):
            raise unittest.SkipTest("flags are redcar's")
        from test_resp_tls_events import make_certificates
        cls.certs = tempfile.mkdtemp(prefix="redcar-it-etcd-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.certs, True)
        make_certificates(cls.certs)
        c = cls.path
        cls.server = RedcarServer(grpc=True, extra_args=["--tls-cert", c("server.crt"), "--tls-key", c("server.key"),
                                                         "--tls-client-ca", c("ca.crt")])
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    @classmethod
    def path(cls, name):
        return os.path.join(cls.certs, name)

    def ctl(self, *args, cert="client"):
        tls = ["--cacert", self.path("ca.crt")]
        if cert:
            tls += ["--cert", self.path(cert + ".crt"), "--key", self.path(cert + ".key")]
        return subprocess.run(["etcdctl", "--endpoints", "https://%s:%d" % (HOST, self.server.grpc_port),
                               "--dial-timeout", "3s", "--command-timeout", "5s", *tls, *args],
                              capture_output=True, text=True, timeout=RUN_TIMEOUT, env=etcdctl_env(),
                              stdin=subprocess.DEVNULL)

    def test_client_certificate_works(self):
        r = self.ctl("put", "tls/k", "v")
        self.assertEqual((r.returncode, r.stdout), (0, "OK\n"), r.stderr)
        self.assertEqual(self.ctl("get", "tls/k").stdout, "tls/k\nv\n")
        c = etcd3.client(host=HOST, port=self.server.grpc_port, ca_cert=self.path("ca.crt"),
                         cert_key=self.path("client.key"), cert_cert=self.path("client.crt"), timeout=RUN_TIMEOUT)
        self.addCleanup(c.close)
        self.assertEqual(c.get("tls/k")[0], b"v")

    def test_no_certificate_or_another_cas_is_refused(self):
        for cert in (None, "rogue"):
            r = self.ctl("get", "tls/k", cert=cert)
            self.assertNotEqual(r.returncode, 0, cert)
            self.assertEqual(r.stdout, "")

    def test_plain_text_is_refused(self):
        r = subprocess.run(["etcdctl", "--endpoints", "%s:%d" % (HOST, self.server.grpc_port), "--dial-timeout", "2s",
                            "--command-timeout", "3s", "get", "tls/k"], capture_output=True, text=True,
                           timeout=RUN_TIMEOUT, env=etcdctl_env(), stdin=subprocess.DEVNULL)
        self.assertNotEqual(r.returncode, 0)


class RequestQueue:
    """The request side of a bidirectional call, fed from the test."""

    def __init__(self):
        self._items = []
        self._cv = threading.Condition()
        self._closed = False

    def put(self, item):
        with self._cv:
            self._items.append(item)
            self._cv.notify()

    def close(self):
        with self._cv:
            self._closed = True
            self._cv.notify()

    def get(self):
        with self._cv:
            while not self._items and not self._closed:
                self._cv.wait()
            if self._items:
                return self._items.pop(0)
            return None


if __name__ == "__main__":
    unittest.main()
