"""Key expiry as redis-py uses it: SET's ex/px, SETEX, EXPIRE with its
options, TTL, PERSIST, GETEX, inside transactional pipelines; a key gone at
its deadline; deadlines kept across a clean restart and a SIGKILL (they are
in the log), keys that expired while the server was down gone after it; and
an etcd watcher seeing the delete of an expired key.

Runs under Debian's /usr/bin/python3. REDCAR_REFERENCE_SERVER=/usr/bin/redis-server
runs the client-facing classes against Redis itself."""

import datetime
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import redis  # noqa: E402

from redcar_server import OwnServerCase, start_server, wait_for  # noqa: E402


def setUpModule():
    global SERVER
    SERVER = start_server()


def tearDownModule():
    SERVER.cleanup()


class Commands(unittest.TestCase):
    """redis-py's expiry API against the server; replies as Redis 7.0's."""

    def setUp(self):
        self.r = SERVER.client()
        self.r.flushall()

    def tearDown(self):
        self.r.close()

    def test_set_with_expiry_and_ttl(self):
        r = self.r
        self.assertTrue(r.set("a", "1", ex=100))
        self.assertEqual(r.ttl("a"), 100)
        self.assertTrue(98000 < r.pttl("a") <= 100000)
        self.assertTrue(r.set("b", "2", px=60000))
        self.assertEqual(r.ttl("b"), 60)
        self.assertTrue(r.setex("c", 30, "3"))
        self.assertEqual(r.ttl("c"), 30)
        self.assertTrue(r.psetex("d", 20000, "4"))
        self.assertEqual(r.ttl("d"), 20)
        self.assertTrue(r.set("a", "5", keepttl=True))
        self.assertEqual(r.ttl("a"), 100)
        self.assertTrue(r.set("a", "6"))
        self.assertEqual(r.ttl("a"), -1)
        self.assertEqual(r.ttl("nothing"), -2)
        with self.assertRaises(redis.ResponseError) as e:
            r.set("a", "1", ex=0)
        self.assertEqual(str(e.exception), "invalid expire time in 'set' command")

    def test_expire_options_persist_and_getex(self):
        r = self.r
        r.set("k", "v")
        self.assertFalse(r.expire("k", 100, xx=True))
        self.assertTrue(r.expire("k", 100, nx=True))
        self.assertFalse(r.expire("k", 50, gt=True))
        self.assertTrue(r.expire("k", 200, gt=True))
        self.assertTrue(r.pexpire("k", 150000, lt=True))
        self.assertEqual(r.ttl("k"), 150)
        at = datetime.datetime.now() + datetime.timedelta(seconds=500)
        self.assertTrue(r.expireat("k", at))
        self.assertIn(r.ttl("k"), (499, 500))
        self.assertTrue(r.persist("k"))
        self.assertFalse(r.persist("k"))
        self.assertEqual(r.getex("k", ex=40), b"v")
        self.assertEqual(r.ttl("k"), 40)
        self.assertEqual(r.getex("k", persist=True), b"v")
        self.assertEqual(r.ttl("k"), -1)
        self.assertFalse(r.expire("missing", 10))

    def test_a_key_is_gone_at_its_deadline(self):
        r = self.r
        # Long enough to read it back on a loaded machine.
        r.set("brief", "b", px=1000)
        set_at = time.monotonic()
        r.set("stays", "s", ex=1000)
        self.assertEqual(r.get("brief"), b"b")
        time.sleep(max(0.0, 1.05 - (time.monotonic() - set_at)))
        self.assertIsNone(r.get("brief"))
        self.assertEqual(r.exists("brief"), 0)
        self.assertEqual(r.keys("*"), [b"stays"])
        self.assertEqual(r.incr("brief"), 1, "an expired counter starts again")
        self.assertEqual(r.ttl("brief"), -1)
        self.assertEqual(r.dbsize(), 2)
        wait_for(lambda: r.info("stats")["expired_keys"] >= 1, what="the background delete")
        keyspace = r.info("keyspace")["db0"]
        self.assertEqual(keyspace["keys"], 2)
        self.assertEqual(keyspace["expires"], 1)

    def test_a_stream_is_gone_at_its_deadline(self):
        r = self.r
        r.xadd("events", {"n": "1"}, id="5-1")
        r.xgroup_create("events", "g", id="0")
        r.xadd("kept", {"n": "1"})
        self.assertTrue(r.expire("kept", 1000, nx=True))
        self.assertFalse(r.expire("kept", 2000, lt=True))
        self.assertTrue(r.pexpire("events", 1000))
        set_at = time.monotonic()
        self.assertEqual(r.xlen("events"), 1)
        self.assertEqual(r.ttl("kept"), 1000)
        keyspace = r.info("keyspace")["db0"]
        self.assertEqual((keyspace["keys"], keyspace["expires"]), (2, 2))
        time.sleep(max(0.0, 1.05 - (time.monotonic() - set_at)))
        self.assertEqual(r.xlen("events"), 0)
        self.assertEqual(r.exists("events"), 0)
        self.assertEqual(r.type("events"), b"none")
        self.assertEqual(r.xrange("events"), [])
        self.assertEqual(r.keys("*"), [b"kept"])
        wait_for(lambda: r.info("stats")["expired_keys"] >= 1, what="the background delete")
        # What is written next is a new stream, without the old groups.
        self.assertEqual(r.xadd("events", {"n": "2"}, id="1-1"), b"1-1")
        self.assertEqual(r.xinfo_groups("events"), [])
        self.assertEqual(r.ttl("events"), -1)
        self.assertTrue(r.persist("kept"))
        self.assertEqual(r.ttl("kept"), -1)

    def test_expire_in_a_transactional_pipeline(self):
        r = self.r
        p = r.pipeline()
        p.set("t", "1").expire("t", 100).incr("t").ttl("t").persist("t").ttl("t")
        self.assertEqual(p.execute(), [True, True, 2, 100, True, -1])

    def test_a_watched_key_that_expires_aborts_exec(self):
        r = self.r
        r.set("w", "1", px=1000)
        set_at = time.monotonic()
        p = r.pipeline()
        p.watch("w")
        self.assertEqual(p.get("w"), b"1")
        time.sleep(max(0.0, 1.05 - (time.monotonic() - set_at)))
        p.multi()
        p.set("other", "x")
        with self.assertRaises(redis.WatchError):
            p.execute()
        p.reset()
        self.assertIsNone(r.get("other"))


class Durability(OwnServerCase):
    """Deadlines are in the log: a restart or a SIGKILL keeps them."""

    def survive(self, kill):
        r = self.srv.client()
        r.set("long", "l", ex=1000)
        # Not gone before the server is: its delete must be the next start's.
        r.set("short", "s", px=1500)
        set_at = time.monotonic()
        r.set("plain", "p")
        r.expire("plain", 2000)
        r.persist("plain")
        # Streams, the same.
        r.xadd("s-long", {"f": "v"})
        r.expire("s-long", 1000)
        r.xadd("s-short", {"f": "v"})
        r.pexpire("s-short", 1500)
        deadline = r.pexpiretime("long")
        stream_deadline = r.pexpiretime("s-long")
        r.close()
        self.srv.stop_for_a_restart(kill)
        time.sleep(max(0.0, 1.55 - (time.monotonic() - set_at)))
        self.srv.start()
        r = self.srv.client()
        try:
            self.assertEqual(r.pexpiretime("long"), deadline)
            self.assertEqual(r.get("long"), b"l")
            self.assertIsNone(r.get("short"), "expired while the server was down")
            self.assertEqual(r.ttl("plain"), -1)
            self.assertEqual(r.pexpiretime("s-long"), stream_deadline)
            self.assertEqual(r.xlen("s-long"), 1)
            self.assertEqual(r.exists("s-short"), 0, "expired while the server was down")
            wait_for(lambda: r.info("stats")["expired_keys"] == 2, what="the deletes at the start")
            self.assertEqual(r.dbsize(), 3)
        finally:
            r.close()

    def test_deadlines_survive_a_clean_restart(self):
        self.survive(kill=False)

    def test_deadlines_survive_sigkill(self):
        self.survive(kill=True)

    def test_an_etcd_watcher_sees_an_expired_key_deleted(self):
        import etcd3
        etcd = etcd3.client(host=self.srv.host, port=self.srv.grpc_port, timeout=10)
        events, cancel = etcd.watch_prefix("session/")
        seen = []

        def collect():
            for ev in events:
                seen.append((type(ev).__name__, ev.key))
                if type(ev).__name__ == "DeleteEvent":
                    return

        t = threading.Thread(target=collect, daemon=True)
        t.start()
        r = self.srv.client()
        try:
            # The watch starts when its first response arrives: write until
            # it shows, then the key that expires.
            wait_for(lambda: r.set("session/ping", "1") and any(k == b"session/ping" for _, k in seen),
                     what="the watch to start")
            r.set("session/a", "alive", px=200)
            t.join(10)
            self.assertFalse(t.is_alive(), "no delete seen: %r" % seen)
            self.assertEqual(seen[-1], ("DeleteEvent", b"session/a"))
            self.assertIsNone(etcd.get("session/a")[0])
        finally:
            # Cancelling the last watch ends the client's watch thread;
            # closing the channel under it would make it try again.
            cancel()
            r.close()


if __name__ == "__main__":
    unittest.main()
