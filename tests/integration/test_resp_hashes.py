"""Hashes as redis-py uses them for read models: hset with a mapping,
hgetall, hincrby and hincrbyfloat, a projection updated in transactional
pipelines and in a WATCH retry loop by several writers at once, hscan_iter
over a big hash, WRONGTYPE against strings and streams; hashes and their
deadlines kept across a clean restart and a SIGKILL (they are in the log);
an etcd client not seeing them.

Runs under Debian's /usr/bin/python3. REDCAR_REFERENCE_SERVER=/usr/bin/redis-server
runs the client-facing class against Redis itself."""

import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import redis  # noqa: E402

from redcar_server import OwnServerCase, start_server  # noqa: E402


def setUpModule():
    global SERVER
    SERVER = start_server()


def tearDownModule():
    SERVER.cleanup()


class Commands(unittest.TestCase):
    """redis-py's hash API against the server; replies as Redis 7.0's."""

    def setUp(self):
        self.r = SERVER.client()
        self.r.flushall()

    def tearDown(self):
        self.r.close()

    def test_a_read_model(self):
        r = self.r
        self.assertEqual(r.hset("order:1", mapping={"status": "placed", "items": 2, "total": "10.50"}), 3)
        self.assertEqual(r.hincrby("order:1", "items", 1), 3)
        self.assertEqual(r.hincrbyfloat("order:1", "total", 4.25), 14.75)
        self.assertEqual(r.hgetall("order:1"), {b"status": b"placed", b"items": b"3", b"total": b"14.75"})
        self.assertEqual(r.hmget("order:1", ["status", "none"]), [b"placed", None])
        self.assertEqual(r.hkeys("order:1"), [b"status", b"items", b"total"])
        self.assertEqual(r.hlen("order:1"), 3)
        self.assertTrue(r.hexists("order:1", "status"))
        self.assertEqual(r.hstrlen("order:1", "status"), 6)
        self.assertFalse(r.hsetnx("order:1", "status", "x"))
        self.assertEqual(r.hdel("order:1", "items", "none"), 1)
        self.assertEqual(r.type("order:1"), b"hash")
        self.assertIn(r.hrandfield("order:1"), (b"status", b"total"))
        self.assertEqual(r.hgetall("none"), {})
        with self.assertRaisesRegex(redis.ResponseError, "hash value is not an integer"):
            r.hincrby("order:1", "status", 1)

    def test_wrong_type_against_strings_and_streams(self):
        r = self.r
        r.set("s", "v")
        r.xadd("x", {"f": "v"})
        r.hset("h", "f", "v")
        for key in ("s", "x"):
            with self.assertRaisesRegex(redis.ResponseError, "^WRONGTYPE"):
                r.hset(key, "f", "v")
            with self.assertRaisesRegex(redis.ResponseError, "^WRONGTYPE"):
                r.hgetall(key)
        with self.assertRaisesRegex(redis.ResponseError, "^WRONGTYPE"):
            r.get("h")
        with self.assertRaisesRegex(redis.ResponseError, "^WRONGTYPE"):
            r.xadd("h", {"f": "v"})
        self.assertTrue(r.set("h", "now a string"))
        self.assertEqual(r.get("h"), b"now a string")

    def test_hscan_iter_over_a_big_hash(self):
        r = self.r
        fields = {"f%d" % i: str(i) for i in range(2000)}
        r.hset("big", mapping=fields)
        got = dict((k.decode(), v.decode()) for k, v in r.hscan_iter("big", count=100))
        self.assertEqual(got, fields)
        self.assertEqual(sorted(k.decode() for k, _ in r.hscan_iter("big", match="f19*")),
                         sorted(k for k in fields if k.startswith("f19")))

    def test_projection_in_pipelines_and_watch_loops(self):
        """Four writers fold events into one hash: MULTI pipelines of
        HINCRBYs, and WATCH/MULTI loops that read, compute and write; no
        increment is lost."""
        r = self.r
        r.hset("proj", mapping={"count": 0, "sum": 0})
        errors = []

        def pipeline_writer():
            c = SERVER.client()
            try:
                for _ in range(50):
                    p = c.pipeline()  # transactional by default
                    p.hincrby("proj", "count", 1)
                    p.hincrby("proj", "sum", 2)
                    p.execute()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
            finally:
                c.close()

        def watch_writer():
            c = SERVER.client()
            try:
                for _ in range(25):
                    with c.pipeline() as p:
                        while True:
                            try:
                                p.watch("proj")
                                count = int(p.hget("proj", "count"))
                                total = int(p.hget("proj", "sum"))
                                p.multi()
                                p.hset("proj", mapping={"count": count + 1, "sum": total + 2})
                                p.execute()
                                break
                            except redis.WatchError:
                                continue
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
            finally:
                c.close()

        threads = [threading.Thread(target=pipeline_writer) for _ in range(2)]
        threads += [threading.Thread(target=watch_writer) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(r.hgetall("proj"), {b"count": b"150", b"sum": b"300"})


class Durability(OwnServerCase):
    """Hashes are in the log: a restart or a SIGKILL keeps them."""

    def survive(self, kill):
        r = self.srv.client()
        r.hset("h", mapping={"a": 1, "b": 2})
        for _ in range(100):
            r.hincrby("h", "n", 1)
        r.hdel("h", "a")
        r.hset("t", "x", "y")
        r.expire("t", 1000)
        deadline = r.pexpiretime("t")
        r.hset("gone", "x", "y")
        r.delete("gone")
        r.close()
        self.srv.stop_for_a_restart(kill)
        self.srv.start()
        r = self.srv.client()
        try:
            self.assertEqual(r.hgetall("h"), {b"b": b"2", b"n": b"100"})
            self.assertEqual(r.pexpiretime("t"), deadline)
            self.assertEqual(r.type("t"), b"hash")
            self.assertEqual(r.exists("gone"), 0)
            self.assertEqual(r.dbsize(), 2)
        finally:
            r.close()

    def test_hashes_survive_a_clean_restart(self):
        self.survive(kill=False)

    def test_hashes_survive_sigkill(self):
        self.survive(kill=True)

    def test_the_etcd_view_does_not_see_hashes(self):
        import etcd3
        etcd = etcd3.client(host=self.srv.host, port=self.srv.grpc_port, timeout=10)
        r = self.srv.client()
        try:
            r.set("app/name", "redcar")
            r.hset("app/model", "f", "v")
            self.assertEqual(sorted(m.key for _, m in etcd.get_prefix("app/")), [b"app/name"])
            self.assertIsNone(etcd.get("app/model")[0])
            # etcd's delete of the prefix leaves the hash to Redis.
            etcd.delete_prefix("app/")
            self.assertEqual(r.hgetall("app/model"), {b"f": b"v"})
            self.assertIsNone(r.get("app/name"))
        finally:
            r.close()
            etcd.close()


if __name__ == "__main__":
    unittest.main()
