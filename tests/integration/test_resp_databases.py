"""Databases as redis-py uses them: clients made with db=N (redis-py sends
SELECT on connect), keys of every type kept apart, MOVE, SWAPDB, FLUSHDB
against FLUSHALL, INFO keyspace per database as redis-py parses it;
--databases; keys of several databases kept across a clean restart and a
SIGKILL; an etcd client seeing database 0's strings only.

Runs under Debian's /usr/bin/python3. REDCAR_REFERENCE_SERVER=/usr/bin/redis-server
runs the client-facing class against Redis itself."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import redis  # noqa: E402

from redcar_server import RedcarServer, start_server  # noqa: E402


def setUpModule():
    global SERVER
    SERVER = start_server()


def tearDownModule():
    SERVER.cleanup()


class Commands(unittest.TestCase):
    """redis-py on several databases; replies as Redis 7.0's."""

    def setUp(self):
        self.dbs = {n: SERVER.client(db=n) for n in (0, 1, 15)}
        self.dbs[0].flushall()

    def tearDown(self):
        for c in self.dbs.values():
            c.close()

    def test_keys_of_each_database_are_apart(self):
        for n, c in self.dbs.items():
            c.set("k", "db%d" % n)
            c.hset("h", "db", n)
            c.xadd("s", {"db": n})
        for n, c in self.dbs.items():
            self.assertEqual(c.get("k"), b"db%d" % n)
            self.assertEqual(c.hget("h", "db"), b"%d" % n)
            self.assertEqual(c.xrange("s")[0][1], {b"db": b"%d" % n})
            self.assertEqual(sorted(c.keys("*")), [b"h", b"k", b"s"])
            self.assertEqual(c.dbsize(), 3)
        info = self.dbs[0].info("keyspace")
        self.assertEqual(sorted(info), ["db0", "db1", "db15"])
        self.assertEqual(info["db1"]["keys"], 3)
        with self.assertRaisesRegex(redis.ResponseError, "DB index is out of range"):
            self.dbs[0].execute_command("SELECT", 16)

    def test_move_swapdb_and_flushdb(self):
        a, b = self.dbs[0], self.dbs[1]
        a.set("moved", "v")
        a.expire("moved", 100)
        self.assertTrue(a.move("moved", 1))
        self.assertIsNone(a.get("moved"))
        self.assertEqual(b.get("moved"), b"v")
        self.assertGreater(b.ttl("moved"), 90)
        a.set("moved", "back")
        self.assertFalse(b.move("moved", 0), "taken there")
        a.set("only0", "x")
        self.assertTrue(a.swapdb(0, 1))
        self.assertEqual(b.get("only0"), b"x")
        self.assertEqual(a.get("moved"), b"v")
        self.assertEqual(b.get("moved"), b"back")
        self.assertTrue(b.flushdb())
        self.assertEqual(b.dbsize(), 0)
        self.assertEqual(a.dbsize(), 1)
        self.assertTrue(b.set("x", "y"))
        self.assertTrue(a.flushall())
        self.assertEqual(a.dbsize() + b.dbsize(), 0)

    def test_a_transaction_in_another_database(self):
        c = self.dbs[15]
        with c.pipeline() as p:
            p.set("t", 1).incr("t").hset("th", "f", "v")
            self.assertEqual(p.execute(), [True, 2, 1])
        self.assertEqual(c.get("t"), b"2")
        self.assertIsNone(self.dbs[0].get("t"))


class Server(unittest.TestCase):
    """--databases, restarts and SIGKILL, and what etcd sees."""

    def setUp(self):
        if os.environ.get("REDCAR_REFERENCE_SERVER"):
            self.skipTest("redcar's own flags, restart and data folder")

    def start(self, **kwargs):
        srv = RedcarServer(grpc=True, **kwargs)
        self.addCleanup(srv.cleanup)
        srv.start()
        return srv

    def test_databases_flag(self):
        srv = self.start(extra_args=["--databases", "4"])
        c = srv.client()
        try:
            self.assertTrue(c.execute_command("SELECT", 3))
            with self.assertRaisesRegex(redis.ResponseError, "DB index is out of range"):
                c.execute_command("SELECT", 4)
            self.assertEqual(c.config_get("databases"), {"databases": "4"})
        finally:
            c.close()

    def survive(self, kill):
        srv = self.start()
        for n in (0, 2, 9):
            c = srv.client(db=n)
            c.set("k", "db%d" % n)
            c.hset("h", "db", n)
            c.xadd("s", {"db": n})
            c.close()
        c = srv.client(db=2)
        c.expire("k", 1000)
        deadline = c.pexpiretime("k")
        c.move("h", 5)
        c.close()
        srv.stop_for_a_restart(kill)
        srv.start()
        for n in (0, 2, 9):
            c = srv.client(db=n)
            self.assertEqual(c.get("k"), b"db%d" % n)
            self.assertEqual(c.xlen("s"), 1)
            self.assertEqual(c.hget("h", "db"), None if n == 2 else b"%d" % n)
            c.close()
        c = srv.client(db=2)
        self.assertEqual(c.pexpiretime("k"), deadline)
        c.close()
        c = srv.client(db=5)
        self.assertEqual(c.hget("h", "db"), b"2")
        c.close()

    def test_databases_survive_a_clean_restart(self):
        self.survive(kill=False)

    def test_databases_survive_sigkill(self):
        self.survive(kill=True)

    def test_etcd_sees_database_0(self):
        import etcd3
        srv = self.start()
        etcd = etcd3.client(host=srv.host, port=srv.grpc_port, timeout=10)
        zero, one = srv.client(db=0), srv.client(db=1)
        try:
            zero.set("cfg/a", "0")
            one.set("cfg/a", "1")
            one.set("cfg/b", "1")
            self.assertEqual([(m.key, v) for v, m in etcd.get_prefix("cfg/")], [(b"cfg/a", b"0")])
            etcd.put("cfg/c", "etcd")
            self.assertEqual(zero.get("cfg/c"), b"etcd")
            self.assertIsNone(one.get("cfg/c"))
            etcd.delete_prefix("cfg/")
            self.assertEqual(zero.dbsize(), 0)
            self.assertEqual(one.dbsize(), 2)
        finally:
            zero.close()
            one.close()
            etcd.close()


if __name__ == "__main__":
    unittest.main()
