"""The RESP front end driven by real clients: redis-py and redis-cli.

Most tests share one server (started in setUpModule) and use keys named
after the test, so they do not see each other's data. Tests that need their
own configuration (a password) or restart the server start a server of
their own. Expected replies are Redis 7's.

Run: REDCAR_BIN=build/bin/redcar /usr/bin/python3 -m unittest -v test_resp
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import redis  # noqa: E402  (Debian python3-redis)

from redcar_server import (  # noqa: E402
    Push, RedcarServer, RespError, RespMap, Verbatim, start_server)

SERVER = None


def setUpModule():
    global SERVER
    SERVER = start_server()


def tearDownModule():
    if SERVER is None:
        return
    try:
        code = SERVER.stop()
        clean = SERVER.stopped_cleanly()
        log = SERVER.log_text()
    finally:
        SERVER.cleanup()
    if not clean:
        raise AssertionError("shared server did not stop cleanly (exit %s):\n%s" % (code, log[-4000:]))


def redis_py_version():
    return tuple(int(x) for x in redis.__version__.split(".")[:2] if x.isdigit())


def id_tuple(stream_id):
    if isinstance(stream_id, bytes):
        stream_id = stream_id.decode()
    ms, seq = stream_id.split("-")
    return int(ms), int(seq)


class RespTestCase(unittest.TestCase):
    server = None  # set by classes that run their own server

    @property
    def srv(self):
        return self.server or SERVER

    def setUp(self):
        self.r = self.client()

    def client(self, **kwargs):
        kwargs.setdefault("single_connection_client", True)
        c = self.srv.client(**kwargs)
        self.addCleanup(c.close)
        return c

    def raw(self):
        c = self.srv.raw()
        self.addCleanup(c.close)
        return c

    def k(self, name=""):
        """A key private to this test."""
        return "%s:%s:%s" % (type(self).__name__, self._testMethodName, name)

    def assertRedisError(self, expected, fn, *args, **kwargs):
        """`expected` is the full Redis error text ("ERR ...", "NOGROUP ..."),
        or a tuple of texts any of which is right. redis-py drops the "ERR "
        (and a few other) codes from the message."""
        with self.assertRaises(redis.ResponseError) as cm:
            fn(*args, **kwargs)
        got = str(cm.exception)
        if not got.startswith(("ERR ", "NOGROUP ", "BUSYGROUP ", "WRONGTYPE ", "WRONGPASS ", "NOPROTO ")):
            got = "ERR " + got
        if isinstance(expected, tuple):
            self.assertIn(got, expected)
        else:
            self.assertEqual(expected, got)
        return cm.exception

    def run_thread(self, fn, delay):
        """Runs fn() on another thread after `delay` seconds."""
        errors = []

        def body():
            time.sleep(delay)
            try:
                fn()
            except Exception as e:  # reported by the joining test
                errors.append(e)

        t = threading.Thread(target=body, daemon=True)
        t.start()

        def join():
            t.join(30)
            if errors:
                raise errors[0]
        return join


# --- connection and server commands ---------------------------------------


class ConnectionTests(RespTestCase):
    def test_ping(self):
        self.assertTrue(self.r.ping())
        raw = self.raw()
        self.assertEqual("PONG", raw.call("PING"))
        self.assertEqual(b"+PONG\r\n", raw.last_bytes)
        self.assertEqual(b"hello", raw.call("PING", "hello"))
        self.assertEqual(b"$5\r\nhello\r\n", raw.last_bytes)
        raw.send(b"PING\r\n")  # inline form
        self.assertEqual(b"+PONG\r\n", (raw.read_reply(), raw.last_bytes)[1])

    def test_echo(self):
        self.assertEqual(b"hi there", self.r.echo("hi there"))
        payload = bytes(range(256)) * 4
        self.assertEqual(payload, self.r.echo(payload))
        self.assertEqual(b"", self.r.echo(""))

    def test_select(self):
        self.assertTrue(self.r.execute_command("SELECT", 0))
        self.assertTrue(self.r.execute_command("SELECT", 15))
        self.assertRedisError("ERR DB index is out of range", self.r.execute_command, "SELECT", 16)
        self.assertRedisError("ERR value is not an integer or out of range",
                              self.r.execute_command, "SELECT", "x")

    def test_client_setname_getname_id(self):
        self.assertIsNone(self.r.client_getname())
        self.assertTrue(self.r.client_setname("it-client"))
        self.assertEqual("it-client", self.r.client_getname())
        id1 = self.r.client_id()
        self.assertIsInstance(id1, int)
        self.assertGreater(id1, 0)
        self.assertEqual(id1, self.r.client_id())
        other = self.client()
        id2 = other.client_id()
        self.assertNotEqual(id1, id2)
        self.assertGreater(id2, id1)  # ids grow with each connection
        self.assertIsNone(other.client_getname())
        self.assertRedisError("ERR Client names cannot contain spaces, newlines or special characters.",
                              self.r.client_setname, "a b")

    def test_client_id_in_hello(self):
        raw = self.raw()
        cid = raw.call("CLIENT", "ID")
        hello = raw.call("HELLO", "2")
        fields = dict(zip(hello[0::2], hello[1::2]))
        self.assertEqual(cid, fields[b"id"])

    def test_info_sections(self):
        other = self.client()
        other.ping()
        server = self.r.info("server")
        self.assertTrue(str(server["redis_version"]).startswith("7."), server["redis_version"])
        self.assertEqual(self.srv.port, server["tcp_port"])
        self.assertEqual(self.srv.pid, server["process_id"])
        self.assertIn("uptime_in_seconds", server)
        self.assertNotIn("connected_clients", server)

        clients = self.r.info("clients")
        self.assertGreaterEqual(clients["connected_clients"], 2)
        self.assertNotIn("redis_version", clients)

        persistence = self.r.info("persistence")
        self.assertEqual(0, persistence["loading"])
        self.assertIn("aof_enabled", persistence)

        before = self.r.info("stats")
        for _ in range(10):
            self.r.ping()
        after = self.r.info("stats")
        self.assertGreaterEqual(after["total_commands_processed"], before["total_commands_processed"] + 10)
        self.assertGreaterEqual(after["total_connections_received"], 2)
        self.assertIn("rejected_connections", after)

        everything = self.r.info()
        for field in ("redis_version", "connected_clients", "loading", "total_commands_processed"):
            self.assertIn(field, everything)
        raw = self.raw()
        body = raw.call("INFO", "server")
        self.assertTrue(body.startswith(b"# Server\r\n"), body[:40])
        self.assertIn(b"\r\nredis_version:", body)

    def test_command_count_info_docs(self):
        count = self.r.command_count()
        self.assertIsInstance(count, int)
        listing = self.r.execute_command("COMMAND")
        self.assertEqual(count, len(listing))
        for name in ("get", "set", "xadd", "xreadgroup", "subscribe", "ping", "hello"):
            self.assertIn(name, listing)
        self.assertEqual(2, listing["get"]["arity"])
        self.assertEqual(-5, listing["xadd"]["arity"])
        self.assertIn("write", listing["xadd"]["flags"])

        info = self.r.execute_command("COMMAND INFO", "get", "nosuchcommand")
        self.assertEqual(2, len(info))
        self.assertEqual(b"get", info[0][0])
        self.assertEqual(2, info[0][1])
        self.assertEqual([1, 1, 1], info[0][3:6])
        self.assertIsNone(info[1])

        docs = self.r.execute_command("COMMAND DOCS", "get")
        # RESP2: a map flattened to [name, doc]; the doc is itself a map.
        self.assertEqual(2, len(docs))
        self.assertEqual(b"get", docs[0])
        doc = dict(zip(docs[1][0::2], docs[1][1::2]))
        self.assertIn(b"summary", doc)
        self.assertEqual([], self.r.execute_command("COMMAND DOCS", "nosuchcommand"))

    def test_config_get(self):
        self.assertEqual({"maxclients": "10000"}, self.r.config_get("maxclients"))
        bulk = self.r.config_get("proto-max-bulk-len")
        self.assertTrue(bulk["proto-max-bulk-len"].isdigit())
        some = self.r.config_get("*max*")
        self.assertIn("maxclients", some)
        self.assertIn("proto-max-bulk-len", some)
        self.assertEqual({}, self.r.config_get("no-such-parameter"))
        both = self.r.execute_command("CONFIG GET", "maxclients", "appendonly")
        self.assertEqual({"maxclients", "appendonly"}, set(both))

    def test_quit(self):
        raw = self.raw()
        self.assertEqual("PONG", raw.call("PING"))
        self.assertEqual("OK", raw.call("QUIT"))
        self.assertTrue(raw.is_closed_by_peer())
        # With arguments, and inside MULTI (not queued), the same.
        raw = self.raw()
        self.assertEqual("OK", raw.call("QUIT", "now"))
        self.assertTrue(raw.is_closed_by_peer())
        raw = self.raw()
        self.assertEqual("OK", raw.call("MULTI"))
        self.assertEqual("OK", raw.call("QUIT"))
        self.assertTrue(raw.is_closed_by_peer())
        info = self.raw().call("COMMAND", "INFO", "quit")[0]
        self.assertEqual(info[:2], [b"quit", -1])


# --- string keys ----------------------------------------------------------


class KeyTests(RespTestCase):
    def test_set_get_del_exists(self):
        k1, k2 = self.k("a"), self.k("b")
        self.assertIsNone(self.r.get(k1))
        self.assertTrue(self.r.set(k1, "v1"))
        self.assertEqual(b"v1", self.r.get(k1))
        self.assertTrue(self.r.set(k1, "v2"))
        self.assertEqual(b"v2", self.r.get(k1))
        self.assertEqual(1, self.r.exists(k1))
        self.assertEqual(0, self.r.exists(k2))
        self.r.set(k2, "x")
        self.assertEqual(3, self.r.exists(k1, k2, k1))  # duplicates count, as in Redis
        self.assertEqual(2, self.r.delete(k1, k2, self.k("missing")))
        self.assertEqual(0, self.r.exists(k1, k2))
        self.assertIsNone(self.r.get(k1))
        self.assertEqual(0, self.r.delete(k1))

    def test_binary_and_large_values(self):
        k = self.k()
        value = b"\x00\r\n$3\r\n*1\xff" * 1000
        self.r.set(k, value)
        self.assertEqual(value, self.r.get(k))
        big = os.urandom(512 << 10)  # the servers here use 1 MiB segments
        self.r.set(k, big)
        self.assertEqual(big, self.r.get(k))
        self.r.set(k, "")
        self.assertEqual(b"", self.r.get(k))

    def test_mset_mget(self):
        keys = [self.k(str(i)) for i in range(5)]
        self.assertTrue(self.r.mset({keys[0]: "a", keys[1]: "b", keys[2]: "c"}))
        self.assertEqual([b"a", b"b", b"c", None], self.r.mget(keys[:4]))
        # A later pair wins, as in Redis.
        self.assertTrue(self.r.execute_command("MSET", keys[3], "1", keys[3], "2"))
        self.assertEqual(b"2", self.r.get(keys[3]))
        self.assertRedisError("ERR wrong number of arguments for 'mset' command",
                              self.r.execute_command, "MSET", keys[4], "1", keys[3])

    def test_type(self):
        s, st = self.k("str"), self.k("stream")
        self.r.set(s, "v")
        self.r.xadd(st, {"f": "v"})
        self.assertEqual(b"string", self.r.type(s))
        self.assertEqual(b"stream", self.r.type(st))
        self.assertEqual(b"none", self.r.type(self.k("missing")))

    def test_dbsize_keys(self):
        base = self.r.dbsize()
        names = [self.k("k%d" % i) for i in range(3)]
        for n in names:
            self.r.set(n, "v")
        self.r.xadd(self.k("s"), {"f": "v"})
        self.assertEqual(base + 4, self.r.dbsize())
        got = self.r.keys(self.k("*"))
        self.assertEqual(sorted(n.encode() for n in names + [self.k("s")]), sorted(got))
        self.assertEqual(sorted(n.encode() for n in names), sorted(self.r.keys(self.k("k?"))))
        self.assertEqual([self.k("k1").encode()], self.r.keys(self.k("k[1]")))
        self.r.delete(*names, self.k("s"))
        self.assertEqual(base, self.r.dbsize())
        self.assertEqual([], self.r.keys(self.k("*")))

    def test_scan_full_iteration(self):
        names = {self.k("%03d" % i).encode() for i in range(250)}
        self.r.mset({n: "v" for n in names})
        seen = list(self.r.scan_iter(match=self.k("*"), count=17))
        self.assertEqual(names, set(seen))
        # Unfiltered, the iteration contains them too.
        everything = set(self.r.scan_iter(count=100))
        self.assertTrue(names <= everything)
        # By hand: the cursor ends at 0.
        cursor, total, rounds = 0, set(), 0
        while True:
            cursor, batch = self.r.scan(cursor, match=self.k("*"), count=50)
            total.update(batch)
            rounds += 1
            if cursor == 0:
                break
            self.assertLess(rounds, 10000)
        self.assertEqual(names, total)

    def test_scan_type_filter(self):
        s, st = self.k("str"), self.k("stream")
        self.r.set(s, "v")
        self.r.xadd(st, {"f": "v"})
        self.assertEqual({st.encode()}, set(self.r.scan_iter(match=self.k("*"), _type="stream")))
        self.assertEqual({s.encode()}, set(self.r.scan_iter(match=self.k("*"), _type="string")))

    def test_set_nx_xx_get(self):
        k = self.k()
        self.assertIsNone(self.r.set(k, "1", xx=True))
        self.assertIsNone(self.r.get(k))
        self.assertTrue(self.r.set(k, "1", nx=True))
        self.assertIsNone(self.r.set(k, "2", nx=True))
        self.assertEqual(b"1", self.r.get(k))
        self.assertTrue(self.r.set(k, "2", xx=True))
        self.assertEqual(b"2", self.r.get(k))
        self.assertEqual(b"2", self.r.set(k, "3", get=True))
        self.assertEqual(b"3", self.r.get(k))
        self.assertIsNone(self.r.set(self.k("new"), "v", get=True))
        self.assertEqual(b"v", self.r.get(self.k("new")))
        # NX GET (Redis 7): the old value comes back and nothing is written.
        raw = self.raw()
        self.assertEqual(b"3", raw.call("SET", k, "4", "NX", "GET"))
        self.assertEqual(b"3", self.r.get(k))
        self.assertIsNone(raw.call("SET", self.k("nxget"), "v", "NX", "GET"))
        self.assertEqual(b"v", self.r.get(self.k("nxget")))
        self.assertEqual(b"3", raw.call("SET", k, "5", "XX", "GET"))
        self.assertEqual(b"5", self.r.get(k))
        self.assertIsNone(raw.call("SET", self.k("xxget"), "v", "XX", "GET"))
        self.assertEqual(0, self.r.exists(self.k("xxget")))
        self.assertRedisError("ERR syntax error", self.r.execute_command, "SET", k, "v", "NX", "XX")
        self.assertRedisError("ERR syntax error", self.r.execute_command, "SET", k, "v", "BOGUS")

    def test_rename_copy_object_memory(self):
        a, b, c = self.k("a"), self.k("b"), self.k("c")
        self.r.set(a, "12")
        self.assertTrue(self.r.rename(a, b))
        self.assertIsNone(self.r.get(a))
        self.assertFalse(self.r.renamenx(b, b))
        self.assertTrue(self.r.copy(b, c))
        self.assertFalse(self.r.copy(b, c))
        self.assertEqual([b"12", b"12"], self.r.mget(b, c))
        self.assertEqual(b"int", self.r.object("encoding", b))
        self.assertGreater(self.r.memory_usage(b), 0)
        self.assertEqual(2, self.r.touch(b, c, a))
        self.assertEqual(2, self.r.unlink(b, c))
        s = self.k("stream")
        self.r.xadd(s, {"f": "v"})
        if not self.srv.is_reference:  # redcar's own limit: a stream stays where its name put it
            self.assertRaises(redis.ResponseError, self.r.rename, s, self.k("moved"))
        self.assertEqual(b"stream", self.r.object("encoding", s))
        self.assertIsNotNone(self.r.randomkey())

    def test_wrongtype(self):
        s, st = self.k("str"), self.k("stream")
        self.r.set(s, "v")
        self.r.xadd(st, {"f": "v"})
        wrong = "WRONGTYPE Operation against a key holding the wrong kind of value"
        self.assertRedisError(wrong, self.r.xadd, s, {"f": "v"})
        self.assertRedisError(wrong, self.r.get, st)


class StringTests(RespTestCase):
    def test_counters(self):
        n = self.k("n")
        self.assertEqual(1, self.r.incr(n))
        self.assertEqual(11, self.r.incrby(n, 10))
        self.assertEqual(10, self.r.decr(n))
        self.assertEqual(3, self.r.decrby(n, 7))
        self.assertAlmostEqual(3.5, float(self.r.incrbyfloat(n, 0.5)))
        self.assertRedisError("ERR value is not an integer or out of range", self.r.incr, n)
        self.r.set(n, "9223372036854775807")
        self.assertRedisError("ERR increment or decrement would overflow", self.r.incr, n)

    def test_counters_of_many_clients_lose_nothing(self):
        key = self.k()
        errors = []

        def bump():
            c = self.srv.client(single_connection_client=True)
            try:
                pipe = c.pipeline(transaction=False)
                for _ in range(250):
                    pipe.incr(key)
                pipe.execute()
            except Exception as e:  # reported below, on the test's thread
                errors.append(e)
            finally:
                c.close()

        threads = [threading.Thread(target=bump) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual([], errors)
        self.assertEqual(b"1000", self.r.get(key))

    def test_append_strlen_ranges(self):
        k = self.k()
        self.assertEqual(5, self.r.append(k, "Hello"))
        self.assertEqual(11, self.r.append(k, " World"))
        self.assertEqual(11, self.r.strlen(k))
        self.assertEqual(b"World", self.r.getrange(k, -5, -1))
        self.assertEqual(11, self.r.setrange(k, 6, "Redis"))
        self.assertEqual(b"Hello Redis", self.r.get(k))
        self.assertEqual(0, self.r.strlen(self.k("none")))

    def test_getset_getdel_setnx_msetnx(self):
        k, a, b = self.k(), self.k("a"), self.k("b")
        self.assertIsNone(self.r.getset(k, "1"))
        self.assertEqual(b"1", self.r.getset(k, "2"))
        self.assertEqual(b"2", self.r.getdel(k))
        self.assertEqual(0, self.r.exists(k))
        self.assertTrue(self.r.setnx(k, "x"))
        self.assertFalse(self.r.setnx(k, "y"))
        self.assertTrue(self.r.msetnx({a: "1", b: "2"}))
        self.assertFalse(self.r.msetnx({b: "3", self.k("c"): "4"}))
        self.assertEqual([b"1", b"2", None], self.r.mget(a, b, self.k("c")))


# --- streams --------------------------------------------------------------


class StreamTests(RespTestCase):
    def test_xinfo_stream_full(self):
        s = self.k()
        for i in range(3):
            self.r.xadd(s, {"n": str(i)}, id="%d-1" % (i + 1))
        self.r.xgroup_create(s, "g", id="0")
        self.r.xreadgroup("g", "alice", {s: ">"}, count=2)
        full = self.r.xinfo_stream(s, full=True)
        self.assertEqual(3, full["length"])
        # redis-py 4.3 makes the entries a dict and leaves consumers flat.
        self.assertEqual({b"1-1": {b"n": b"0"}, b"2-1": {b"n": b"1"}, b"3-1": {b"n": b"2"}}, full["entries"])
        group = full["groups"][0]
        self.assertEqual(b"g", group["name"])
        self.assertEqual(2, group["entries-read"])
        self.assertEqual(1, group["lag"])
        self.assertEqual(2, group["pel-count"])
        self.assertEqual([b"1-1", b"alice"], group["pending"][0][:2])
        consumer = group["consumers"][0]
        self.assertEqual([b"name", b"alice", b"seen-time"], consumer[:3])
        self.assertEqual([b"pel-count", 2, b"pending"], consumer[4:7])
        self.assertEqual([b"1-1", b"2-1"], [p[0] for p in consumer[7]])

    def test_stream_commands_on_a_string_key(self):
        k = self.k()
        self.r.set(k, "v")
        wrong = "WRONGTYPE Operation against a key holding the wrong kind of value"
        self.assertRedisError(wrong, self.r.xlen, k)
        self.assertRedisError(wrong, self.r.xrange, k)
        self.assertRedisError(wrong, self.r.xinfo_stream, k)
        self.assertRedisError(wrong, self.r.xgroup_create, k, "g", mkstream=True)
        self.assertEqual(b"v", self.r.get(k))

    def test_xadd_auto_id(self):
        k = self.k()
        before = int(time.time() * 1000)
        id1 = self.r.xadd(k, {"a": "1"})
        id2 = self.r.xadd(k, {"a": "2"})
        after = int(time.time() * 1000)
        ms1, _ = id_tuple(id1)
        self.assertTrue(before - 1000 <= ms1 <= after + 1000, (before, id1, after))
        self.assertGreater(id_tuple(id2), id_tuple(id1))
        self.assertEqual([(id1, {b"a": b"1"}), (id2, {b"a": b"2"})], self.r.xrange(k))

    def test_xadd_explicit_and_partial_ids(self):
        k = self.k()
        self.assertEqual(b"1-1", self.r.xadd(k, {"f": "v"}, id="1-1"))
        self.assertEqual(b"1-2", self.r.xadd(k, {"f": "v"}, id="1-2"))
        self.assertEqual(b"5-0", self.r.xadd(k, {"f": "v"}, id="5"))
        self.assertEqual(b"7-0", self.r.xadd(k, {"f": "v"}, id="7-*"))
        self.assertEqual(b"7-1", self.r.xadd(k, {"f": "v"}, id="7-*"))
        self.assertEqual(b"9-0", self.r.xadd(k, {"f": "v"}, id="9-*"))
        self.assertEqual(b"0-1", self.r.xadd(self.k("fresh"), {"f": "v"}, id="0-*"))
        self.assertEqual(6, self.r.xlen(k))
        # Several field pairs, kept in order.
        self.r.xadd(k, {"x": "1", "y": "2", "z": "3"}, id="10-0")
        raw = self.raw()
        self.assertEqual([[b"10-0", [b"x", b"1", b"y", b"2", b"z", b"3"]]], raw.call("XRANGE", k, "10-0", "10-0"))

    def test_xadd_id_errors(self):
        k = self.k()
        self.r.xadd(k, {"f": "v"}, id="5-5")
        smaller = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
        self.assertRedisError(smaller, self.r.xadd, k, {"f": "v"}, id="5-5")
        self.assertRedisError(smaller, self.r.xadd, k, {"f": "v"}, id="5-4")
        self.assertRedisError(smaller, self.r.xadd, k, {"f": "v"}, id="4-9")
        self.assertRedisError(smaller, self.r.xadd, k, {"f": "v"}, id="4-*")
        self.assertRedisError("ERR The ID specified in XADD must be greater than 0-0",
                              self.r.xadd, self.k("zero"), {"f": "v"}, id="0-0")
        self.assertRedisError("ERR Invalid stream ID specified as stream command argument",
                              self.r.xadd, k, {"f": "v"}, id="abc")
        self.assertEqual(1, self.r.xlen(k))
        self.assertEqual(0, self.r.exists(self.k("zero")))
        # The exact bytes on the wire.
        raw = self.raw()
        raw.call("XADD", k, "5-5", "f", "v")
        self.assertEqual(b"-" + smaller.encode() + b"\r\n", raw.last_bytes)
        raw.call("XADD", self.k("zero"), "0-0", "f", "v")
        self.assertEqual(b"-ERR The ID specified in XADD must be greater than 0-0\r\n", raw.last_bytes)
        self.assertRedisError("ERR wrong number of arguments for 'xadd' command",
                              self.r.execute_command, "XADD", k, "*", "f")

    def test_xadd_maxlen_exact(self):
        k = self.k()
        for i in range(1, 11):
            self.r.xadd(k, {"i": i}, id="%d-0" % i, maxlen=3, approximate=False)
        self.assertEqual(3, self.r.xlen(k))
        self.assertEqual([b"8-0", b"9-0", b"10-0"], [e[0] for e in self.r.xrange(k)])
        self.assertEqual(b"11-0", self.r.execute_command("XADD", k, "MAXLEN", "=", "2", "11-0", "i", "11"))
        self.assertEqual([b"10-0", b"11-0"], [e[0] for e in self.r.xrange(k)])

    def test_xadd_maxlen_approximate(self):
        k = self.k()
        for i in range(1, 301):
            self.r.xadd(k, {"i": i}, id="%d-0" % i, maxlen=50, approximate=True)
        n = self.r.xlen(k)
        # "~" may keep more than asked, never fewer, and never everything here.
        self.assertGreaterEqual(n, 50)
        self.assertLess(n, 300)
        entries = self.r.xrange(k)
        self.assertEqual(n, len(entries))
        self.assertEqual(b"300-0", entries[-1][0])
        # The newest entries are the ones kept.
        self.assertEqual(["%d-0" % i for i in range(301 - n, 301)], [e[0].decode() for e in entries])

    def test_xadd_minid(self):
        k = self.k()
        for i in range(1, 6):
            self.r.xadd(k, {"i": i}, id="%d-0" % i)
        self.r.xadd(k, {"i": 6}, id="6-0", minid="4", approximate=False)
        self.assertEqual([b"4-0", b"5-0", b"6-0"], [e[0] for e in self.r.xrange(k)])
        self.assertEqual(b"7-0", self.r.execute_command("XADD", k, "MINID", "=", "6-0", "7-0", "i", "7"))
        self.assertEqual([b"6-0", b"7-0"], [e[0] for e in self.r.xrange(k)])

    def test_xadd_nomkstream(self):
        k = self.k()
        self.assertIsNone(self.r.xadd(k, {"f": "v"}, nomkstream=True))
        self.assertEqual(0, self.r.exists(k))
        self.assertEqual(0, self.r.xlen(k))
        self.r.xadd(k, {"f": "v"}, id="1-0")
        self.assertEqual(b"2-0", self.r.xadd(k, {"f": "v"}, id="2-0", nomkstream=True))
        self.assertEqual(2, self.r.xlen(k))

    def fill(self, k, n):
        for i in range(1, n + 1):
            self.r.xadd(k, {"n": i}, id="%d-0" % i)

    def test_xrange_xrevrange(self):
        k = self.k()
        self.fill(k, 10)
        ids = lambda entries: [e[0].decode() for e in entries]  # noqa: E731
        self.assertEqual(["%d-0" % i for i in range(1, 11)], ids(self.r.xrange(k)))
        self.assertEqual(["1-0", "2-0", "3-0"], ids(self.r.xrange(k, count=3)))
        self.assertEqual(["4-0", "5-0"], ids(self.r.xrange(k, "4", "5")))
        self.assertEqual(["4-0", "5-0", "6-0"], ids(self.r.xrange(k, "3-1", "6-0")))
        # Exclusive bounds.
        self.assertEqual(["4-0", "5-0"], ids(self.r.xrange(k, "(3-0", "(6-0")))
        self.assertEqual(["4-0", "5-0"], ids(self.r.xrange(k, "(3-0", "+", count=2)))
        self.assertEqual(["10-0", "9-0", "8-0"], ids(self.r.xrevrange(k, count=3)))
        self.assertEqual(["5-0", "4-0"], ids(self.r.xrevrange(k, "(6-0", "(3-0")))
        self.assertEqual(["6-0", "5-0", "4-0"], ids(self.r.xrevrange(k, "6", "4")))
        self.assertEqual([], self.r.xrange(k, "8", "3"))
        self.assertEqual([], self.r.xrange(self.k("missing")))
        self.assertEqual([], self.r.xrevrange(self.k("missing")))
        # Pagination with an exclusive start visits each entry once.
        seen, start = [], "-"
        while True:
            page = self.r.xrange(k, start, "+", count=3)
            if not page:
                break
            seen += ids(page)
            start = "(" + page[-1][0].decode()
        self.assertEqual(["%d-0" % i for i in range(1, 11)], seen)
        self.assertRedisError("ERR Invalid stream ID specified as stream command argument",
                              self.r.xrange, k, "x", "+")

    def test_xlen_xdel(self):
        k = self.k()
        self.fill(k, 5)
        self.assertEqual(5, self.r.xlen(k))
        self.assertEqual(2, self.r.xdel(k, "2-0", "4-0", "99-0"))
        self.assertEqual(0, self.r.xdel(k, "2-0"))
        self.assertEqual(3, self.r.xlen(k))
        self.assertEqual([b"1-0", b"3-0", b"5-0"], [e[0] for e in self.r.xrange(k)])
        self.assertEqual(0, self.r.xlen(self.k("missing")))
        # Deleting the top entry does not let a smaller ID in.
        self.r.xdel(k, "5-0")
        self.assertRedisError("ERR The ID specified in XADD is equal or smaller than the target stream top item",
                              self.r.xadd, k, {"f": "v"}, id="5-0")

    def test_xtrim(self):
        k = self.k()
        self.fill(k, 10)
        self.assertEqual(4, self.r.xtrim(k, maxlen=6, approximate=False))
        self.assertEqual(6, self.r.xlen(k))
        self.assertEqual(0, self.r.xtrim(k, maxlen=6, approximate=False))
        self.assertEqual(2, self.r.xtrim(k, minid="7-0", approximate=False))
        self.assertEqual([b"7-0", b"8-0", b"9-0", b"10-0"], [e[0] for e in self.r.xrange(k)])
        self.assertEqual(4, self.r.execute_command("XTRIM", k, "MAXLEN", "0"))
        self.assertEqual(0, self.r.xlen(k))
        self.assertEqual(1, self.r.exists(k))  # an empty stream stays
        self.assertRedisError("ERR syntax error", self.r.execute_command, "XTRIM", k, "BOGUS", "1")

    def test_xread(self):
        a, b = self.k("a"), self.k("b")
        self.fill(a, 5)
        self.r.xadd(b, {"x": "1"}, id="100-0")
        got = self.r.xread({a: "0"}, count=2)
        self.assertEqual([[a.encode(), [(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})]]], got)
        got = self.r.xread({a: "3-0"})
        self.assertEqual([b"4-0", b"5-0"], [e[0] for e in got[0][1]])
        got = self.r.xread({a: "4-0", b: "0-0", self.k("missing"): "0"})
        self.assertEqual(2, len(got))
        self.assertEqual(a.encode(), got[0][0])
        self.assertEqual([b"5-0"], [e[0] for e in got[0][1]])
        self.assertEqual(b.encode(), got[1][0])
        self.assertEqual([b"100-0"], [e[0] for e in got[1][1]])
        # Nothing new: a null reply.
        self.assertEqual([], self.r.xread({a: "5-0"}))
        raw = self.raw()
        self.assertIsNone(raw.call("XREAD", "STREAMS", a, "5-0"))
        self.assertEqual(b"*-1\r\n", raw.last_bytes)
        # Redis 7.0 names the command XREAD, 7.2 'xread'.
        self.assertRedisError(
            ("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
             "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified."),
            self.r.execute_command, "XREAD", "STREAMS", a, b, "0")

    def test_xread_block_woken_by_xadd(self):
        k = self.k()
        self.r.xadd(k, {"old": "1"}, id="1-0")
        writer = self.client()
        join = self.run_thread(lambda: writer.xadd(k, {"new": "2"}, id="2-0"), 0.3)
        t0 = time.monotonic()
        got = self.r.xread({k: "$"}, block=10000)
        elapsed = time.monotonic() - t0
        join()
        self.assertEqual([[k.encode(), [(b"2-0", {b"new": b"2"})]]], got)
        self.assertLess(elapsed, 5)

    def test_xread_block_on_missing_stream(self):
        k = self.k()
        writer = self.client()
        join = self.run_thread(lambda: writer.xadd(k, {"f": "v"}, id="3-0"), 0.3)
        got = self.r.xread({k: "$"}, block=10000)
        join()
        self.assertEqual([[k.encode(), [(b"3-0", {b"f": b"v"})]]], got)

    def test_xread_block_several_streams(self):
        a, b = self.k("a"), self.k("b")
        self.r.xadd(a, {"f": "v"}, id="1-0")
        writer = self.client()
        join = self.run_thread(lambda: writer.xadd(b, {"g": "w"}, id="5-0"), 0.3)
        got = self.r.xread({a: "$", b: "0-0"}, block=10000)
        join()
        self.assertEqual([[b.encode(), [(b"5-0", {b"g": b"w"})]]], got)

    def test_xread_block_timeout(self):
        k = self.k()
        self.r.xadd(k, {"f": "v"}, id="1-0")
        t0 = time.monotonic()
        self.assertEqual([], self.r.xread({k: "$"}, block=300))
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 5)
        raw = self.raw()
        self.assertIsNone(raw.call("XREAD", "BLOCK", "200", "STREAMS", k, "$"))
        self.assertEqual(b"*-1\r\n", raw.last_bytes)
        # The connection is usable afterwards.
        self.assertEqual("PONG", raw.call("PING"))

    def test_xinfo_stream(self):
        k = self.k()
        self.fill(k, 3)
        self.r.xdel(k, "2-0")
        self.r.xgroup_create(k, "g1", id="0")
        info = self.r.xinfo_stream(k)
        self.assertEqual(2, info["length"])
        self.assertEqual(b"3-0", info["last-generated-id"])
        self.assertEqual(3, info["entries-added"])
        self.assertEqual(b"2-0", info["max-deleted-entry-id"])
        self.assertEqual(b"1-0", info["recorded-first-entry-id"])
        self.assertEqual(1, info["groups"])
        self.assertEqual((b"1-0", {b"n": b"1"}), info["first-entry"])
        self.assertEqual((b"3-0", {b"n": b"3"}), info["last-entry"])
        self.assertRedisError("ERR no such key", self.r.xinfo_stream, self.k("missing"))


# --- consumer groups ------------------------------------------------------


class GroupTests(RespTestCase):
    def fill(self, k, n, start=1):
        for i in range(start, start + n):
            self.r.xadd(k, {"n": i}, id="%d-0" % i)

    def ids(self, reply):
        """Entry ids of an XREADGROUP reply for one stream."""
        if not reply:
            return []
        return [e[0].decode() for e in reply[0][1]]

    def test_xgroup_create_destroy(self):
        k = self.k()
        self.assertRedisError(
            "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use "
            "the MKSTREAM option to create an empty stream automatically.",
            self.r.xgroup_create, k, "g", id="0")
        self.assertTrue(self.r.xgroup_create(k, "g", id="0", mkstream=True))
        self.assertEqual(1, self.r.exists(k))
        self.assertEqual(0, self.r.xlen(k))
        self.assertRedisError("BUSYGROUP Consumer Group name already exists",
                              self.r.xgroup_create, k, "g", id="0")
        self.assertTrue(self.r.xgroup_create(k, "g2", id="$"))
        self.assertEqual({b"g", b"g2"}, {g["name"] for g in self.r.xinfo_groups(k)})
        self.assertEqual(1, self.r.xgroup_destroy(k, "g"))
        self.assertEqual(0, self.r.xgroup_destroy(k, "g"))
        self.assertEqual([b"g2"], [g["name"] for g in self.r.xinfo_groups(k)])

    def test_xreadgroup_new_and_history(self):
        k = self.k()
        self.fill(k, 5)
        self.r.xgroup_create(k, "g", id="0")
        got = self.r.xreadgroup("g", "alice", {k: ">"}, count=2)
        self.assertEqual([[k.encode(), [(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})]]], got)
        self.assertEqual(["3-0"], self.ids(self.r.xreadgroup("g", "bob", {k: ">"}, count=1)))
        # History: alice's own pending entries, from the given id on.
        self.assertEqual(["1-0", "2-0"], self.ids(self.r.xreadgroup("g", "alice", {k: "0"})))
        self.assertEqual(["2-0"], self.ids(self.r.xreadgroup("g", "alice", {k: "1-0"})))
        self.assertEqual(["3-0"], self.ids(self.r.xreadgroup("g", "bob", {k: "0-0"})))
        self.assertEqual(2, self.r.xack(k, "g", "1-0", "3-0"))
        self.assertEqual(0, self.r.xack(k, "g", "1-0"))
        self.assertEqual(["2-0"], self.ids(self.r.xreadgroup("g", "alice", {k: "0"})))
        # An empty history is a stream with no entries, not a null reply.
        self.assertEqual([[k.encode(), []]], self.r.xreadgroup("g", "bob", {k: "0"}))
        self.assertEqual(["4-0", "5-0"], self.ids(self.r.xreadgroup("g", "carol", {k: ">"})))
        # Nothing left to deliver: a null reply.
        self.assertEqual([], self.r.xreadgroup("g", "carol", {k: ">"}))
        raw = self.raw()
        self.assertIsNone(raw.call("XREADGROUP", "GROUP", "g", "carol", "STREAMS", k, ">"))
        self.assertEqual(b"*-1\r\n", raw.last_bytes)

    def test_xreadgroup_errors(self):
        k = self.k()
        self.r.xadd(k, {"f": "v"}, id="1-0")
        self.assertRedisError(
            "NOGROUP No such key '%s' or consumer group 'nogroup' in XREADGROUP with GROUP option" % k,
            self.r.xreadgroup, "nogroup", "c", {k: ">"})
        self.assertRedisError(
            "NOGROUP No such key '%s' or consumer group 'g' in XREADGROUP with GROUP option" % self.k("missing"),
            self.r.xreadgroup, "g", "c", {self.k("missing"): ">"})

    def test_xreadgroup_noack(self):
        k = self.k()
        self.fill(k, 3)
        self.r.xgroup_create(k, "g", id="0")
        self.assertEqual(["1-0", "2-0"], self.ids(self.r.xreadgroup("g", "c", {k: ">"}, count=2, noack=True)))
        self.assertEqual(0, self.r.xpending(k, "g")["pending"])
        self.assertEqual(["3-0"], self.ids(self.r.xreadgroup("g", "c", {k: ">"})))
        self.assertEqual(1, self.r.xpending(k, "g")["pending"])

    def test_xreadgroup_block_woken_by_xadd(self):
        k = self.k()
        self.r.xgroup_create(k, "g", id="$", mkstream=True)
        writer = self.client()
        join = self.run_thread(lambda: writer.xadd(k, {"job": "1"}, id="10-0"), 0.3)
        t0 = time.monotonic()
        got = self.r.xreadgroup("g", "worker", {k: ">"}, block=10000)
        elapsed = time.monotonic() - t0
        join()
        self.assertEqual([[k.encode(), [(b"10-0", {b"job": b"1"})]]], got)
        self.assertLess(elapsed, 5)
        self.assertEqual(1, self.r.xpending(k, "g")["pending"])

    def test_xreadgroup_block_timeout(self):
        k = self.k()
        self.r.xgroup_create(k, "g", id="$", mkstream=True)
        t0 = time.monotonic()
        self.assertEqual([], self.r.xreadgroup("g", "w", {k: ">"}, block=300))
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        raw = self.raw()
        self.assertIsNone(raw.call("XREADGROUP", "GROUP", "g", "w", "BLOCK", "200", "STREAMS", k, ">"))
        self.assertEqual(b"*-1\r\n", raw.last_bytes)

    def test_two_blocked_consumers_share_entries(self):
        # Two consumers blocked with COUNT 1, two entries appended back to
        # back: each consumer gets one, promptly. Several rounds, since a
        # lost wake-up depends on timing.
        for round_no in range(5):
            k = self.k(str(round_no))
            self.r.xgroup_create(k, "g", id="$", mkstream=True)
            results = {}

            def consume(name):
                c = self.srv.client(single_connection_client=True)
                try:
                    t0 = time.monotonic()
                    reply = c.xreadgroup("g", name, {k: ">"}, block=3000, count=1)
                    results[name] = (reply, time.monotonic() - t0)
                finally:
                    c.close()
            threads = [threading.Thread(target=consume, args=(n,), daemon=True) for n in ("c1", "c2")]
            for t in threads:
                t.start()
            time.sleep(0.4)
            self.r.xadd(k, {"n": 1}, id="1-0")
            self.r.xadd(k, {"n": 2}, id="2-0")
            for t in threads:
                t.join(15)
            got = sorted(self.ids(results[n][0]) for n in ("c1", "c2"))
            self.assertEqual([["1-0"], ["2-0"]], got, "round %d: %r" % (round_no, results))
            self.assertLess(max(results[n][1] for n in ("c1", "c2")), 2.5)

    def test_xpending_summary_and_extended(self):
        k = self.k()
        self.fill(k, 4)
        self.r.xgroup_create(k, "g", id="0")
        empty = self.r.xpending(k, "g")
        self.assertEqual({"pending": 0, "min": None, "max": None, "consumers": []}, empty)
        self.r.xreadgroup("g", "alice", {k: ">"}, count=3)
        self.r.xreadgroup("g", "bob", {k: ">"}, count=1)
        summary = self.r.xpending(k, "g")
        self.assertEqual(4, summary["pending"])
        self.assertEqual(b"1-0", summary["min"])
        self.assertEqual(b"4-0", summary["max"])
        self.assertEqual([{"name": b"alice", "pending": 3}, {"name": b"bob", "pending": 1}],
                         sorted(summary["consumers"], key=lambda c: c["name"]))
        # The raw summary: counts as bulk strings, as Redis sends them.
        raw = self.raw()
        self.assertEqual([4, b"1-0", b"4-0", [[b"alice", b"3"], [b"bob", b"1"]]], raw.call("XPENDING", k, "g"))

        ext = self.r.xpending_range(k, "g", "-", "+", 10)
        self.assertEqual([b"1-0", b"2-0", b"3-0", b"4-0"], [p["message_id"] for p in ext])
        self.assertEqual([b"alice", b"alice", b"alice", b"bob"], [p["consumer"] for p in ext])
        self.assertEqual([1, 1, 1, 1], [p["times_delivered"] for p in ext])
        for p in ext:
            self.assertGreaterEqual(p["time_since_delivered"], 0)
            self.assertLess(p["time_since_delivered"], 60000)
        self.assertEqual([b"1-0", b"2-0"], [p["message_id"] for p in self.r.xpending_range(k, "g", "-", "+", 2)])
        self.assertEqual([b"2-0", b"3-0"],
                         [p["message_id"] for p in self.r.xpending_range(k, "g", "(1-0", "3-0", 10)])
        bob = self.r.xpending_range(k, "g", "-", "+", 10, consumername="bob")
        self.assertEqual([b"4-0"], [p["message_id"] for p in bob])
        self.assertEqual([], self.r.xpending_range(k, "g", "-", "+", 10, consumername="nobody"))
        # IDLE: only entries delivered at least that long ago.
        time.sleep(0.35)
        self.r.xreadgroup("g", "alice", {k: "0"}, count=1)  # re-delivers 1-0, resetting its idle time
        idle = self.r.xpending_range(k, "g", "-", "+", 10, idle=250)
        self.assertEqual([b"2-0", b"3-0", b"4-0"], [p["message_id"] for p in idle])
        self.assertEqual([], self.r.xpending_range(k, "g", "-", "+", 10, idle=600000))
        both = self.r.xpending_range(k, "g", "-", "+", 10, consumername="alice", idle=250)
        self.assertEqual([b"2-0", b"3-0"], [p["message_id"] for p in both])
        again = self.r.xpending_range(k, "g", "1-0", "1-0", 1)
        self.assertEqual(2, again[0]["times_delivered"])

    def test_xclaim(self):
        k = self.k()
        self.fill(k, 3)
        self.r.xgroup_create(k, "g", id="0")
        self.r.xreadgroup("g", "alice", {k: ">"})
        # Not idle long enough: nothing moves.
        self.assertEqual([], self.r.xclaim(k, "g", "bob", 600000, ["1-0"]))
        got = self.r.xclaim(k, "g", "bob", 0, ["1-0", "2-0"])
        self.assertEqual([(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})], got)
        ext = {p["message_id"]: p for p in self.r.xpending_range(k, "g", "-", "+", 10)}
        self.assertEqual(b"bob", ext[b"1-0"]["consumer"])
        self.assertEqual(2, ext[b"1-0"]["times_delivered"])
        self.assertEqual(b"alice", ext[b"3-0"]["consumer"])
        # JUSTID: ids only, and the delivery count stays.
        self.assertEqual([b"3-0"], self.r.xclaim(k, "g", "bob", 0, ["3-0"], justid=True))
        ext = {p["message_id"]: p for p in self.r.xpending_range(k, "g", "-", "+", 10)}
        self.assertEqual(b"bob", ext[b"3-0"]["consumer"])
        self.assertEqual(1, ext[b"3-0"]["times_delivered"])
        # An id that is not pending is not claimed (without FORCE).
        self.r.xadd(k, {"n": 4}, id="4-0")
        self.assertEqual([], self.r.xclaim(k, "g", "bob", 0, ["4-0"]))
        # RETRYCOUNT sets the delivery count.
        self.r.xclaim(k, "g", "alice", 0, ["1-0"], retrycount=7, justid=True)
        ext = {p["message_id"]: p for p in self.r.xpending_range(k, "g", "-", "+", 10)}
        self.assertEqual(7, ext[b"1-0"]["times_delivered"])
        self.assertEqual(b"alice", ext[b"1-0"]["consumer"])

    def test_xautoclaim(self):
        k = self.k()
        self.fill(k, 3)
        self.r.xgroup_create(k, "g", id="0")
        self.r.xreadgroup("g", "alice", {k: ">"})
        first = self.r.xautoclaim(k, "g", "bob", 0, start_id="0-0", count=2)
        self.assertEqual(b"3-0", first[0])
        self.assertEqual([(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})], first[1])
        self.assertEqual([], first[2])
        second = self.r.xautoclaim(k, "g", "bob", 0, start_id=first[0], count=2)
        self.assertEqual(b"0-0", second[0])
        self.assertEqual([(b"3-0", {b"n": b"3"})], second[1])
        # Not idle long enough: nothing, and the scan is over.
        none = self.r.xautoclaim(k, "g", "carol", 600000, start_id="0-0")
        self.assertEqual([b"0-0", [], []], none)
        # JUSTID.
        self.assertEqual([b"1-0", b"2-0", b"3-0"], self.r.xautoclaim(k, "g", "carol", 0, justid=True))
        # A pending entry deleted from the stream is reported and dropped.
        self.r.xdel(k, "2-0")
        res = self.r.xautoclaim(k, "g", "dave", 0, start_id="0-0")
        self.assertEqual(b"0-0", res[0])
        self.assertEqual([b"1-0", b"3-0"], [e[0] for e in res[1]])
        self.assertEqual([b"2-0"], res[2])
        self.assertEqual(2, self.r.xpending(k, "g")["pending"])

    def test_xgroup_setid(self):
        k = self.k()
        self.fill(k, 4)
        self.r.xgroup_create(k, "g", id="0")
        self.assertEqual(["1-0", "2-0", "3-0", "4-0"], self.ids(self.r.xreadgroup("g", "c", {k: ">"})))
        self.assertTrue(self.r.xgroup_setid(k, "g", "2-0"))
        self.assertEqual(["3-0", "4-0"], self.ids(self.r.xreadgroup("g", "c", {k: ">"})))
        self.assertTrue(self.r.xgroup_setid(k, "g", "$"))
        self.assertEqual([], self.r.xreadgroup("g", "c", {k: ">"}))
        self.assertEqual(b"4-0", self.r.xinfo_groups(k)[0]["last-delivered-id"])
        self.assertRedisError("NOGROUP No such consumer group 'nope' for key name '%s'" % k,
                              self.r.xgroup_setid, k, "nope", "0")

    def test_xgroup_consumers(self):
        k = self.k()
        self.fill(k, 3)
        self.r.xgroup_create(k, "g", id="0")
        self.assertEqual(1, self.r.xgroup_createconsumer(k, "g", "idle-one"))
        self.assertEqual(0, self.r.xgroup_createconsumer(k, "g", "idle-one"))
        self.r.xreadgroup("g", "busy", {k: ">"}, count=2)
        consumers = {c["name"]: c for c in self.r.xinfo_consumers(k, "g")}
        self.assertEqual({b"idle-one", b"busy"}, set(consumers))
        self.assertEqual(0, consumers[b"idle-one"]["pending"])
        self.assertEqual(2, consumers[b"busy"]["pending"])
        for c in consumers.values():
            self.assertGreaterEqual(c["idle"], 0)
        # DELCONSUMER answers how many pending entries the consumer had.
        self.assertEqual(2, self.r.xgroup_delconsumer(k, "g", "busy"))
        self.assertEqual(0, self.r.xgroup_delconsumer(k, "g", "idle-one"))
        self.assertEqual([], self.r.xinfo_consumers(k, "g"))
        self.assertEqual(0, self.r.xpending(k, "g")["pending"])

    def test_xinfo_groups(self):
        k = self.k()
        self.fill(k, 3)
        self.r.xgroup_create(k, "g", id="0")
        self.r.xreadgroup("g", "c1", {k: ">"}, count=2)
        groups = self.r.xinfo_groups(k)
        self.assertEqual(1, len(groups))
        g = groups[0]
        self.assertEqual(b"g", g["name"])
        self.assertEqual(1, g["consumers"])
        self.assertEqual(2, g["pending"])
        self.assertEqual(b"2-0", g["last-delivered-id"])
        self.assertEqual(2, g["entries-read"])
        self.assertEqual(1, g["lag"])
        self.r.xadd(self.k("nogroups"), {"f": "v"})
        self.assertEqual([], self.r.xinfo_groups(self.k("nogroups")))
        self.assertRedisError("ERR no such key", self.r.xinfo_groups, self.k("missing"))


# --- pipelining -----------------------------------------------------------


class PipelineTests(RespTestCase):
    def test_pipeline_1000_mixed_commands_in_order(self):
        # Replies come back in request order, whether a command answers at
        # once (ECHO) or after a durable write (SET, XADD) or a read on
        # another shard (GET, XLEN). The values read were written before the
        # pipeline, so this does not depend on ordering inside it.
        k = self.k()
        self.r.mset({"%s:pre:%d" % (k, i): "pre%d" % i for i in range(200)})
        for i in range(7):
            self.r.xadd(k + ":fixed", {"i": i})
        p = self.r.pipeline(transaction=False)
        expected = []
        for i in range(200):
            p.set("%s:new:%d" % (k, i), "v%d" % i)
            expected.append(True)
            p.get("%s:pre:%d" % (k, i))
            expected.append(("pre%d" % i).encode())
            p.xadd(k + ":s", {"i": i}, id="%d-1" % (i + 1))
            expected.append(("%d-1" % (i + 1)).encode())
            p.echo("e%d" % i)
            expected.append(("e%d" % i).encode())
            p.xlen(k + ":fixed")
            expected.append(7)
        self.assertEqual(1000, len(expected))
        self.assertEqual(expected, p.execute())
        self.assertEqual(200, self.r.xlen(k + ":s"))
        self.assertEqual(b"v199", self.r.get("%s:new:199" % k))

    def test_pipeline_reads_see_earlier_writes(self):
        # Commands of one connection run in order: a read pipelined behind
        # a write sees it, as in Redis.
        k, st = self.k(), self.k("s")
        p = self.r.pipeline(transaction=False)
        p.set(k, "1")
        p.get(k)
        p.exists(k)
        p.xadd(st, {"f": "v"}, id="1-0")
        p.xlen(st)
        p.xrange(st)
        p.delete(k)
        p.get(k)
        self.assertEqual([True, b"1", 1, b"1-0", 1, [(b"1-0", {b"f": b"v"})], 1, None], p.execute())

    def test_raw_pipeline_in_one_write(self):
        raw = self.raw()
        k = self.k()
        self.r.mset({"%s:%d" % (k, i): str(i) for i in range(300)})
        batch = []
        for i in range(300):
            batch.append(raw.encode("GET", "%s:%d" % (k, i)))
            batch.append(raw.encode("PING"))
            batch.append(raw.encode("SET", "%s:w" % k, str(i)))
        raw.send(b"".join(batch))
        for i in range(300):
            self.assertEqual(str(i).encode(), raw.read_reply())
            self.assertEqual("PONG", raw.read_reply())
            self.assertEqual("OK", raw.read_reply())

    def test_raw_pipeline_5000_writes_in_one_write(self):
        # More commands than a connection keeps in flight at once: the
        # server must work through all of them although the client sends
        # nothing more while it waits.
        raw = self.raw()
        raw.sock.settimeout(15)
        k = self.k()
        n = 5000
        raw.send(b"".join(raw.encode("SET", "%s:%d" % (k, i), str(i)) for i in range(n)) + raw.encode("ECHO", "end"))
        got = 0
        try:
            for _ in range(n):
                self.assertEqual("OK", raw.read_reply())
                got += 1
            self.assertEqual(b"end", raw.read_reply())
        except socket.timeout:
            self.fail("only %d of %d pipelined replies arrived; the server stopped answering" % (got, n))
        self.assertEqual(b"4999", self.r.get("%s:4999" % k))

    def test_pipeline_deeper_than_in_flight_window_in_one_read(self):
        # 1200 writes in one small packet (a single read for the server),
        # more than it keeps in flight at once: the rest must still be
        # served although no more bytes arrive.
        raw = self.raw()
        raw.sock.settimeout(10)
        n = 1200
        payload = b"SET ppw v\r\n" * n + b"SET ppw end\r\nPING\r\n"
        self.assertLess(len(payload), 16 * 1024)
        raw.send(payload)
        got = 0
        try:
            for _ in range(n + 1):
                self.assertEqual("OK", raw.read_reply())
                got += 1
            self.assertEqual("PONG", raw.read_reply())
        except socket.timeout:
            self.fail("only %d of %d pipelined replies arrived; the server stopped answering" % (got, n + 2))
        self.assertEqual(b"end", self.r.get("ppw"))

    def test_pipeline_with_errors_keeps_order(self):
        self.r.set(self.k(), "1")
        p = self.r.pipeline(transaction=False)
        p.set(self.k("other"), "1")
        p.execute_command("NOSUCHCOMMAND")
        p.get(self.k())
        p.xadd(self.k("s"), {"f": "v"}, id="0-0")
        p.echo("end")
        res = p.execute(raise_on_error=False)
        self.assertTrue(res[0])
        self.assertIsInstance(res[1], redis.ResponseError)
        self.assertEqual(b"1", res[2])
        self.assertIsInstance(res[3], redis.ResponseError)
        self.assertEqual(b"end", res[4])


# --- RESP3 ----------------------------------------------------------------


class Resp3Tests(RespTestCase):
    def hello3(self):
        raw = self.raw()
        reply = raw.call("HELLO", "3")
        return raw, reply

    def test_hello3_map_reply(self):
        raw, reply = self.hello3()
        self.assertIsInstance(reply, RespMap)
        self.assertTrue(raw.last_bytes.startswith(b"%7\r\n"), raw.last_bytes[:20])
        self.assertIn(b"$5\r\nproto\r\n:3\r\n", raw.last_bytes)
        fields = reply.as_dict()
        self.assertEqual(b"redis", fields[b"server"])
        self.assertTrue(fields[b"version"].startswith(b"7."))
        self.assertEqual(3, fields[b"proto"])
        self.assertEqual(raw.call("CLIENT", "ID"), fields[b"id"])
        self.assertEqual(b"standalone", fields[b"mode"])
        self.assertEqual(b"master", fields[b"role"])
        self.assertEqual([], fields[b"modules"])

    def test_resp3_reply_types(self):
        raw, _ = self.hello3()
        k = self.k()
        self.assertIsNone(raw.call("GET", self.k("missing")))
        self.assertEqual(b"_\r\n", raw.last_bytes)
        self.assertEqual("OK", raw.call("SET", k, "v"))
        self.assertEqual(b"v", raw.call("GET", k))
        cfg = raw.call("CONFIG", "GET", "maxclients")
        self.assertIsInstance(cfg, RespMap)
        self.assertEqual(b"%1\r\n$10\r\nmaxclients\r\n", raw.last_bytes[:len(b"%1\r\n$10\r\nmaxclients\r\n")])
        info = raw.call("INFO", "server")
        self.assertIsInstance(info, Verbatim)
        self.assertEqual(b"txt", info.fmt)
        self.assertIn(b"redis_version:", info)
        s = self.k("s")
        raw.call("XADD", s, "1-0", "f", "v")
        got = raw.call("XREAD", "STREAMS", s, "0")
        self.assertIsInstance(got, RespMap)
        self.assertEqual([(s.encode(), [[b"1-0", [b"f", b"v"]]])], list(got))
        self.assertIsNone(raw.call("XREAD", "BLOCK", "100", "STREAMS", s, "$"))
        self.assertEqual(b"_\r\n", raw.last_bytes)
        xinfo = raw.call("XINFO", "STREAM", s)
        self.assertIsInstance(xinfo, RespMap)
        self.assertEqual(1, xinfo.as_dict()[b"length"])
        raw.call("XGROUP", "CREATE", s, "g", "0")
        self.assertEqual([0, None, None, None], raw.call("XPENDING", s, "g"))
        self.assertEqual(b"*4\r\n:0\r\n_\r\n_\r\n_\r\n", raw.last_bytes)
        groups = raw.call("XINFO", "GROUPS", s)
        self.assertIsInstance(groups[0], RespMap)
        self.assertEqual(RespError("ERR unknown command 'NOSUCH', with args beginning with: "),
                         raw.call("NOSUCH"))

    def test_hello2_switches_back(self):
        raw, _ = self.hello3()
        reply = raw.call("HELLO", "2")
        self.assertTrue(raw.last_bytes.startswith(b"*14\r\n"), raw.last_bytes[:10])
        self.assertEqual(2, dict(zip(reply[0::2], reply[1::2]))[b"proto"])
        self.assertIsNone(raw.call("GET", self.k("missing")))
        self.assertEqual(b"$-1\r\n", raw.last_bytes)

    def test_hello_errors(self):
        raw = self.raw()
        self.assertEqual(RespError("NOPROTO unsupported protocol version"), raw.call("HELLO", "4"))
        self.assertEqual(RespError("ERR Protocol version is not an integer or out of range"),
                         raw.call("HELLO", "x"))
        self.assertEqual("PONG", raw.call("PING"))

    def test_resp3_pubsub_pushes(self):
        raw, _ = self.hello3()
        ch = self.k("ch")
        confirm = raw.call("SUBSCRIBE", ch)
        self.assertIsInstance(confirm, Push)
        self.assertEqual([b"subscribe", ch.encode(), 1], list(confirm))
        self.assertTrue(raw.last_bytes.startswith(b">3\r\n"))
        # RESP3 lets a subscribed client run any command.
        self.assertEqual("PONG", raw.call("PING"))
        self.assertIsNone(raw.call("GET", self.k("missing")))
        self.assertEqual(1, self.r.publish(ch, "hello"))
        msg = raw.read_reply()
        self.assertIsInstance(msg, Push)
        self.assertEqual([b"message", ch.encode(), b"hello"], list(msg))

    @unittest.skipUnless(redis_py_version() >= (5, 0), "redis-py %s has no RESP3" % redis.__version__)
    def test_redis_py_protocol_3(self):
        c = self.client(protocol=3)
        k = self.k()
        c.set(k, "v")
        self.assertEqual(b"v", c.get(k))
        c.xadd(k + ":s", {"f": "v"}, id="1-0")
        self.assertEqual(1, c.xlen(k + ":s"))


# --- pub/sub --------------------------------------------------------------


class PubSubTests(RespTestCase):
    def next_message(self, p, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = p.get_message(timeout=0.2)
            if m is not None:
                return m
        self.fail("no pub/sub message within %.0f s" % timeout)

    def test_subscribe_publish_unsubscribe(self):
        ch, pat = self.k("ch"), self.k("news.*")
        p = self.r.pubsub()
        self.addCleanup(p.close)
        p.subscribe(ch)
        self.assertEqual({"type": "subscribe", "pattern": None, "channel": ch.encode(), "data": 1},
                         self.next_message(p))
        p.psubscribe(pat)
        self.assertEqual({"type": "psubscribe", "pattern": None, "channel": pat.encode(), "data": 2},
                         self.next_message(p))
        other = self.client()
        self.assertEqual(1, other.publish(ch, "hello"))
        self.assertEqual({"type": "message", "pattern": None, "channel": ch.encode(), "data": b"hello"},
                         self.next_message(p))
        news = self.k("news.sport")
        self.assertEqual(1, other.publish(news, "goal"))
        self.assertEqual({"type": "pmessage", "pattern": pat.encode(), "channel": news.encode(), "data": b"goal"},
                         self.next_message(p))
        self.assertEqual(0, other.publish(self.k("nobody"), "x"))
        # Messages arrive in publish order.
        for i in range(20):
            other.publish(ch, "m%d" % i)
        self.assertEqual([("m%d" % i).encode() for i in range(20)],
                         [self.next_message(p)["data"] for _ in range(20)])
        p.unsubscribe(ch)
        self.assertEqual({"type": "unsubscribe", "pattern": None, "channel": ch.encode(), "data": 1},
                         self.next_message(p))
        self.assertEqual(0, other.publish(ch, "gone"))
        p.punsubscribe()
        self.assertEqual({"type": "punsubscribe", "pattern": None, "channel": pat.encode(), "data": 0},
                         self.next_message(p))
        self.assertEqual(0, other.publish(news, "gone"))

    def test_health_check_interval(self):
        """redis-py's health_check_interval: after an idle second it PINGs
        before the next command, and a subscribed connection PINGs with
        "redis-py-health-check", whose pong it recognises and drops."""
        r = self.client(single_connection_client=False, health_check_interval=1)
        self.assertTrue(r.set(self.k("hc"), "1"))
        ch = self.k("hc-ch")
        p = r.pubsub()
        self.addCleanup(p.close)
        p.subscribe(ch)
        self.assertEqual("subscribe", self.next_message(p)["type"])
        time.sleep(1.3)
        self.assertEqual(b"1", r.get(self.k("hc")))
        self.assertIsNone(p.get_message(timeout=0.2))  # checks health first: the pong is not a message
        time.sleep(1.3)
        self.assertEqual(1, self.client().publish(ch, "after"))
        m = self.next_message(p)
        self.assertEqual(("message", b"after"), (m["type"], m["data"]))

    def test_channel_and_pattern_both_match(self):
        ch = self.k("both")
        p = self.r.pubsub()
        self.addCleanup(p.close)
        p.subscribe(ch)
        p.psubscribe(self.k("b*"))
        self.next_message(p)
        self.next_message(p)
        other = self.client()
        self.assertEqual(2, other.publish(ch, "x"))
        kinds = sorted(self.next_message(p)["type"] for _ in range(2))
        self.assertEqual(["message", "pmessage"], kinds)

    def test_many_subscribers(self):
        ch = self.k()
        subs = []
        for _ in range(5):
            p = self.client().pubsub()
            self.addCleanup(p.close)
            p.subscribe(ch)
            self.next_message(p)
            subs.append(p)
        self.assertEqual(5, self.r.publish(ch, "all"))
        for p in subs:
            self.assertEqual(b"all", self.next_message(p)["data"])

    def test_resp2_subscribed_context(self):
        raw = self.raw()
        ch = self.k()
        self.assertEqual([b"subscribe", ch.encode(), 1], raw.call("SUBSCRIBE", ch))
        self.assertEqual([b"pong", b""], raw.call("PING"))
        self.assertEqual(
            RespError("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                      "are allowed in this context"),
            raw.call("GET", "x"))
        self.assertEqual([b"unsubscribe", ch.encode(), 0], raw.call("UNSUBSCRIBE"))
        self.assertEqual("PONG", raw.call("PING"))
        self.assertIsNone(raw.call("GET", self.k("missing")))


# --- AUTH -----------------------------------------------------------------


class AuthTests(RespTestCase):
    PASSWORD = "s3cret-pw"

    @classmethod
    def setUpClass(cls):
        cls.server = RedcarServer(requirepass=cls.PASSWORD)
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    def setUp(self):
        pass  # no default client: it would need the password

    def test_noauth_wrongpass_ok(self):
        raw = self.raw()
        self.assertEqual(RespError("NOAUTH Authentication required."), raw.call("GET", "k"))
        self.assertEqual(RespError("NOAUTH Authentication required."), raw.call("XADD", "s", "*", "f", "v"))
        self.assertEqual(RespError("WRONGPASS invalid username-password pair or user is disabled."),
                         raw.call("AUTH", "wrong"))
        self.assertEqual(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n", raw.last_bytes)
        self.assertEqual(RespError("WRONGPASS invalid username-password pair or user is disabled."),
                         raw.call("AUTH", "someone", self.PASSWORD))
        self.assertEqual(RespError("NOAUTH Authentication required."), raw.call("GET", "k"))
        self.assertEqual("OK", raw.call("AUTH", self.PASSWORD))
        self.assertIsNone(raw.call("GET", self.k()))
        raw2 = self.raw()
        self.assertEqual("OK", raw2.call("AUTH", "default", self.PASSWORD))
        self.assertEqual("OK", raw2.call("SET", self.k(), "v"))

    def test_redis_py_with_password(self):
        with self.assertRaises(redis.AuthenticationError):
            self.srv.client(single_connection_client=True).get("k")
        with self.assertRaises(redis.ResponseError) as cm:
            self.srv.client(password="wrong", single_connection_client=True).ping()
        self.assertIn("WRONGPASS", str(cm.exception))
        good = self.client(password=self.PASSWORD)
        self.assertTrue(good.set(self.k(), "v"))
        self.assertEqual(b"v", good.get(self.k()))

    def test_hello_auth(self):
        raw = self.raw()
        err = raw.call("HELLO", "3")
        self.assertIsInstance(err, RespError)
        # Redis 7.0 and 7.2 word the rest differently.
        self.assertTrue(err.text.startswith("NOAUTH HELLO must be called with the client already authenticated, "
                                            "otherwise the HELLO "), err.text)
        self.assertEqual(RespError("NOAUTH Authentication required."), raw.call("GET", "k"))
        reply = raw.call("HELLO", "3", "AUTH", "default", self.PASSWORD)
        self.assertIsInstance(reply, RespMap)
        self.assertEqual(3, reply.as_dict()[b"proto"])
        self.assertEqual("OK", raw.call("SET", self.k(), "v"))

    def test_redis_cli_with_password(self):
        out = subprocess.run(["redis-cli", "-h", self.srv.host, "-p", str(self.srv.port), "-a", self.PASSWORD,
                              "--no-auth-warning", "ping"], capture_output=True, timeout=30)
        self.assertEqual(b"PONG\n", out.stdout)


# --- durability across restarts ------------------------------------------


class RestartTests(RespTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RedcarServer()
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    def test_data_survives_restart(self):
        r = self.r
        s = "orders"
        for i in range(1, 51):
            r.xadd(s, {"n": i, "payload": "x" * i}, id="%d-0" % i)
        r.xdel(s, "10-0")
        r.xgroup_create(s, "billing", id="0")
        r.xgroup_create(s, "audit", id="$")
        r.xreadgroup("billing", "alice", {s: ">"}, count=5)
        r.xreadgroup("billing", "bob", {s: ">"}, count=3)
        r.xack(s, "billing", "2-0")
        r.xgroup_createconsumer(s, "billing", "carol")
        r.xadd("trimmed", {"f": "v"}, id="1-0")
        r.xadd("trimmed", {"f": "v"}, id="2-0")
        r.xadd("trimmed", {"f": "v"}, id="3-0", maxlen=1, approximate=False)
        r.mset({"k1": "v1", "k2": "v2", "gone": "x"})
        r.set("k1", "v1-updated")
        r.delete("gone")
        r.xadd("dropped", {"f": "v"})
        r.delete("dropped")

        before_range = r.xrange(s)
        before_pending = r.xpending_range(s, "billing", "-", "+", 100)
        before_groups = {g["name"]: g for g in r.xinfo_groups(s)}
        before_info = r.xinfo_stream(s)
        self.r.close()

        code = self.srv.stop()
        self.assertEqual(0, code, self.srv.log_text()[-3000:])
        self.assertTrue(self.srv.stopped_cleanly(), self.srv.log_text()[-3000:])
        self.srv.start()
        r = self.client()

        self.assertEqual(before_range, r.xrange(s))
        self.assertEqual(49, r.xlen(s))
        after_pending = r.xpending_range(s, "billing", "-", "+", 100)
        self.assertEqual([(p["message_id"], p["consumer"], p["times_delivered"]) for p in before_pending],
                         [(p["message_id"], p["consumer"], p["times_delivered"]) for p in after_pending])
        self.assertEqual(7, len(after_pending))
        after_groups = {g["name"]: g for g in r.xinfo_groups(s)}
        self.assertEqual(set(before_groups), set(after_groups))
        for name in before_groups:
            for field in ("consumers", "pending", "last-delivered-id"):
                self.assertEqual(before_groups[name][field], after_groups[name][field], (name, field))
        info = r.xinfo_stream(s)
        for field in ("length", "last-generated-id", "entries-added", "max-deleted-entry-id", "groups"):
            self.assertEqual(before_info[field], info[field], field)
        self.assertEqual({b"alice", b"bob", b"carol"}, {c["name"] for c in r.xinfo_consumers(s, "billing")})
        self.assertEqual([b"3-0"], [e[0] for e in r.xrange("trimmed")])
        self.assertEqual([b"v1-updated", b"v2", None], r.mget("k1", "k2", "gone"))
        self.assertEqual(0, r.exists("dropped"))

        # The group carries on where it stopped; IDs keep growing.
        got = r.xreadgroup("billing", "alice", {s: ">"}, count=2)
        self.assertEqual([b"9-0", b"11-0"], [e[0] for e in got[0][1]])
        self.assertEqual([b"1-0", b"3-0", b"4-0", b"5-0", b"9-0", b"11-0"],
                         [e[0] for e in r.xreadgroup("billing", "alice", {s: "0"})[0][1]])
        self.assertEqual([], r.xreadgroup("audit", "x", {s: ">"}))
        self.assertRedisError("ERR The ID specified in XADD is equal or smaller than the target stream top item",
                              r.xadd, s, {"n": 0}, id="50-0")
        new_id = r.xadd(s, {"n": 51})
        self.assertGreater(id_tuple(new_id), (50, 0))
        audit = [g for g in r.xinfo_groups(s) if g["name"] == b"audit"][0]
        self.assertEqual(b"50-0", audit["last-delivered-id"])
        # A second restart after more writes.
        r.xack(s, "billing", "1-0", "3-0")
        r.close()
        self.assertEqual(0, self.srv.stop())
        self.srv.start()
        r = self.client()
        self.assertEqual(50, r.xlen(s))
        self.assertEqual(7, r.xpending(s, "billing")["pending"])
        self.assertEqual(b"v1-updated", r.get("k1"))


class ShutdownTests(RespTestCase):
    def test_sigterm_with_busy_clients_exits_cleanly(self):
        srv = RedcarServer()
        self.addCleanup(srv.cleanup)
        srv.start()
        r = srv.client(single_connection_client=True)
        self.addCleanup(r.close)
        r.xadd("s", {"f": "v"})
        r.xgroup_create("s", "g", id="$")
        outcome = {}

        def blocked(name, fn):
            c = srv.client(single_connection_client=True, socket_timeout=20)
            try:
                outcome[name] = ("reply", fn(c))
            except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
                outcome[name] = ("closed", type(e).__name__)
            finally:
                c.close()
        threads = [
            threading.Thread(target=blocked, args=("xread", lambda c: c.xread({"s": "$"}, block=0)), daemon=True),
            threading.Thread(target=blocked, args=("xreadgroup", lambda c: c.xreadgroup("g", "c", {"s": ">"},
                                                                                        block=0)), daemon=True),
        ]
        for t in threads:
            t.start()
        sub = srv.client().pubsub()
        self.addCleanup(sub.close)
        sub.subscribe("ch")
        idle = [srv.raw() for _ in range(5)]
        for c in idle:
            self.addCleanup(c.close)
        time.sleep(0.5)
        code = srv.stop(timeout=10)
        self.assertFalse(srv.last_stop_killed, "needed SIGKILL:\n" + srv.log_text()[-3000:])
        self.assertEqual(0, code, srv.log_text()[-3000:])
        self.assertLess(srv.last_stop_seconds, 5)
        self.assertTrue(srv.stopped_cleanly(), srv.log_text()[-3000:])
        for t in threads:
            t.join(25)
            self.assertFalse(t.is_alive())
        self.assertEqual({"xread", "xreadgroup"}, set(outcome))
        for name, (kind, _) in outcome.items():
            # Closed, or answered with nothing; never a made-up entry.
            if kind == "reply":
                self.assertEqual([], outcome[name][1], name)


# --- the event-store dialect ----------------------------------------------


class EventsDialectTests(RespTestCase):
    @classmethod
    def setUpClass(cls):
        if os.environ.get("REDCAR_REFERENCE_SERVER"):
            raise unittest.SkipTest("redcar's own verbs")
        cls.server = RedcarServer(dialect="events")
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    def test_publish_and_subscribe_range(self):
        raw = self.raw()
        self.assertEqual(0, raw.call("publish", "orders", "created", '{"id":1}'))
        self.assertEqual(1, raw.call("publish", "orders", "shipped", '{"id":1}'))
        self.assertEqual(1, raw.call("last-event-number", "orders"))
        self.assertIsNone(raw.call("last-event-number", "nothing-here"))
        self.assertIn(b"orders", raw.call("stream-names"))
        entries = raw.call("XRANGE", "orders", "-", "+")
        self.assertEqual([[b"type", b"created", b"data", b'{"id":1}'], [b"type", b"shipped", b"data", b'{"id":1}']],
                         [e[1] for e in entries])
        sub = self.raw()
        self.assertEqual([b"subscribe", b"orders:0:1", 1], sub.call("subscribe", "orders:0:1"))
        first, second, end = sub.read_reply(), sub.read_reply(), sub.read_reply()
        self.assertEqual([b"event", b"orders", 0, entries[0][0], b"created", b'{"id":1}'], first)
        self.assertEqual([b"event", b"orders", 1, entries[1][0], b"shipped", b'{"id":1}'], second)
        self.assertEqual([b"end", b"orders", 1], end)

    def test_subscribe_follows_live_appends(self):
        sub = self.raw()
        self.assertEqual([b"subscribe", b"live", 1], sub.call("subscribe", "live"))
        pub = self.raw()
        for i in range(3):
            self.assertEqual(i, pub.call("publish", "live", "tick", str(i)))
        got = [sub.read_reply() for _ in range(3)]
        self.assertEqual([(b"event", b"live", i, b"tick", str(i).encode()) for i in range(3)],
                         [(g[0], g[1], g[2], g[4], g[5]) for g in got])


# --- redis-cli ------------------------------------------------------------


@unittest.skipUnless(shutil.which("redis-cli"), "redis-cli not installed")
class RedisCliTests(RespTestCase):
    def cli(self, *args, stdin=None, resp3=False):
        cmd = ["redis-cli", "-h", self.srv.host, "-p", str(self.srv.port)]
        if resp3:
            cmd.append("-3")
        out = subprocess.run(cmd + list(args), input=stdin, capture_output=True, timeout=60)
        self.assertEqual(0, out.returncode, out.stderr)
        return out.stdout.decode()

    def test_ping(self):
        self.assertEqual("PONG\n", self.cli("ping"))

    def test_set_get(self):
        self.assertEqual("OK\n", self.cli("set", self.k(), "hello world"))
        self.assertEqual("hello world\n", self.cli("get", self.k()))
        self.assertEqual("\n", self.cli("get", self.k("missing")))
        self.assertEqual("(nil)\n", self.cli("--no-raw", "get", self.k("missing")))

    def test_xadd_xrange(self):
        k = self.k()
        self.assertEqual("1-1\n", self.cli("xadd", k, "1-1", "name", "ada", "lang", "en"))
        self.assertEqual("2-0\n", self.cli("xadd", k, "2-0", "name", "bob"))
        auto = self.cli("xadd", k, "*", "f", "v").strip()
        self.assertRegex(auto, r"^\d+-\d+$")
        self.assertEqual("1-1\nname\nada\nlang\nen\n2-0\nname\nbob\n", self.cli("xrange", k, "-", "2"))
        self.assertEqual('1) 1) "2-0"\n   2) 1) "name"\n      2) "bob"\n',
                         self.cli("--no-raw", "xrange", k, "2", "2"))
        self.assertEqual("3\n", self.cli("xlen", k))

    def test_pipe_mass_insert(self):
        k = self.k()
        before = int(self.cli("dbsize"))
        lines = []
        for i in range(10000):
            key, val = "%s:%d" % (k, i), "value-%d" % i
            lines.append("*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(val), val))
        out = self.cli("--pipe", "--pipe-timeout", "20", stdin="".join(lines).encode())
        self.assertIn("errors: 0, replies: 10000", out)
        self.assertEqual(before + 10000, int(self.cli("dbsize")))
        self.assertEqual("value-9999\n", self.cli("get", "%s:9999" % k))
        self.assertEqual("value-0\n", self.cli("get", "%s:0" % k))

    def test_pipe_of_transactions(self):
        """Mass insert in transactions: MULTI, 100 SETs and an INCR, EXEC, 20 times over."""
        k = self.k()

        def cmd(*args):
            return "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args)

        stream = []
        for t in range(20):
            stream.append(cmd("MULTI"))
            for i in range(100):
                stream.append(cmd("SET", "%s:%d:%d" % (k, t, i), "v%d" % i))
            stream.append(cmd("INCR", k + ":count"))
            stream.append(cmd("EXEC"))
        out = self.cli("--pipe", "--pipe-timeout", "20", stdin="".join(stream).encode())
        # Each transaction: OK, 101 QUEUED, and the EXEC array.
        self.assertIn("errors: 0, replies: %d" % (20 * 103), out)
        self.assertEqual("20\n", self.cli("get", k + ":count"))
        self.assertEqual("v99\n", self.cli("get", "%s:19:99" % k))

    def test_hello3(self):
        out = self.cli("hello", "3", resp3=True)
        # Raw output prints each map entry as "key value" on a line.
        lines = out.split("\n")
        self.assertIn("proto 3", lines)
        self.assertIn("server redis", lines)
        pretty = self.cli("--no-raw", "hello", "3", resp3=True)
        self.assertIn('"proto" => (integer) 3', pretty)


if __name__ == "__main__":
    unittest.main(verbosity=2)
