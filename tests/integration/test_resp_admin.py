"""Redis connection and server administration commands driven by redis-py:
CLIENT (ID, SETNAME/GETNAME, SETINFO, INFO, LIST, KILL, REPLY, PAUSE, ...),
INFO and its sections, CONFIG GET/SET/RESETSTAT/REWRITE, SLOWLOG, LATENCY,
TIME/LASTSAVE/SAVE/BGSAVE/BGREWRITEAOF/WAIT, DEBUG, RESET, PUBSUB
introspection with sharded pub/sub, and COMMAND GETKEYS/LIST/COUNT.

Most tests share one server (started in setUpModule) and use keys and
channels named after the test. Tests that count exactly (INFO keyspace,
commandstats, errorstats) or change server settings (CONFIG SET, SLOWLOG,
LATENCY) use a private server of their own, so the other tests see neither
their settings nor their counters. Expected replies are Redis 7.0's.

Run: REDCAR_BIN=build/bin/redcar /usr/bin/python3 -m unittest -v test_resp_admin
"""

import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import redis  # noqa: E402  (Debian python3-redis)

from redcar_server import RedcarServer, RespError, start_server  # noqa: E402

SERVER = None

CLIENT_TIMEOUT = 10  # socket_timeout of every client, in seconds

DEFAULT_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                    "Modules", "Errorstats", "Cluster", "Keyspace"]
ALL_SECTIONS = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]


def setUpModule():
    global SERVER
    SERVER = start_server()


def stop_checked(srv):
    """Stops `srv`; raises if it did not exit 0 by itself."""
    try:
        code = srv.stop()
        clean = srv.stopped_cleanly()
        log = srv.log_text()
    finally:
        srv.cleanup()
    if not clean:
        raise AssertionError("server did not stop cleanly (exit %s):\n%s" % (code, log[-4000:]))


def tearDownModule():
    if SERVER is not None:
        stop_checked(SERVER)


def section_names(info_text):
    """The "# Name" headers of a raw INFO reply, in order."""
    if isinstance(info_text, bytes):
        info_text = info_text.decode()
    return [line[2:].strip() for line in info_text.split("\r\n") if line.startswith("# ")]


def errorstat_count(value):
    """redis-py leaves "count=N" as a string (no comma to split on); newer
    versions make it a dict."""
    if isinstance(value, dict):
        return int(value["count"])
    m = re.fullmatch(r"count=(\d+)", str(value))
    if not m:
        raise AssertionError("unexpected errorstat value %r" % (value,))
    return int(m.group(1))


def client_fields(line):
    """A CLIENT INFO / CLIENT LIST line as (ordered keys, dict)."""
    if isinstance(line, bytes):
        line = line.decode()
    pairs = [item.split("=", 1) for item in line.strip().split(" ")]
    return [k for k, _ in pairs], dict(pairs)


class AdminTestCase(unittest.TestCase):
    server = None  # set by classes that run their own server

    @property
    def srv(self):
        return self.server or SERVER

    def setUp(self):
        self.r = self.client()

    def client(self, **kwargs):
        kwargs.setdefault("single_connection_client", True)
        kwargs.setdefault("socket_timeout", CLIENT_TIMEOUT)
        c = self.srv.client(**kwargs)
        self.addCleanup(c.close)
        return c

    def raw(self):
        c = self.srv.raw(timeout=CLIENT_TIMEOUT)
        self.addCleanup(c.close)
        return c

    def k(self, name=""):
        """A key (or channel) private to this test."""
        return "%s:%s:%s" % (type(self).__name__, self._testMethodName, name)

    def skip_on_reference(self, why):
        if self.srv.is_reference:
            self.skipTest(why)

    def assertRedisError(self, expected, fn, *args, **kwargs):
        """`expected` is the full Redis error text ("ERR ..."). redis-py
        drops the "ERR " (and a few other) codes from the message."""
        with self.assertRaises(redis.ResponseError) as cm:
            fn(*args, **kwargs)
        got = str(cm.exception)
        if not got.startswith(("ERR ", "WRONGTYPE ", "NOPROTO ")):
            got = "ERR " + got
        self.assertEqual(expected, got)
        return cm.exception

    def assertRedisErrorContains(self, fragment, fn, *args, **kwargs):
        with self.assertRaises(redis.ResponseError) as cm:
            fn(*args, **kwargs)
        self.assertIn(fragment, str(cm.exception))
        return cm.exception

    def assertNoReply(self, raw, seconds):
        """Nothing arrives on `raw` for `seconds`."""
        self.assertEqual(b"", raw.buf, "bytes already waiting")
        raw.sock.settimeout(seconds)
        try:
            data = raw.sock.recv(4096)
        except socket.timeout:
            data = None
        finally:
            raw.sock.settimeout(CLIENT_TIMEOUT)
        if data is not None:
            raw.buf += data
            self.fail("expected no reply within %.2f s, got %r" % (seconds, data[:200]))

    def wait_info_field(self, section, field, value, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            got = self.r.info(section).get(field)
            if got == value or time.monotonic() > deadline:
                return got
            time.sleep(0.05)


# --- CLIENT ------------------------------------------------------------------


class ClientTests(AdminTestCase):
    def test_id_setname_getname(self):
        cid = self.r.client_id()
        self.assertIsInstance(cid, int)
        self.assertGreater(cid, 0)
        self.assertEqual(cid, self.r.client_id())
        other = self.client()
        self.assertNotEqual(cid, other.client_id())
        self.assertIsNone(self.r.client_getname())
        self.assertTrue(self.r.client_setname("admin-setname"))
        self.assertEqual("admin-setname", self.r.client_getname())
        self.assertIsNone(other.client_getname())
        self.assertRedisError("ERR Client names cannot contain spaces, newlines or special characters.",
                              self.r.client_setname, "a b")
        self.assertEqual("admin-setname", self.r.client_getname())
        self.assertTrue(self.r.client_setname(""))  # an empty name clears it
        self.assertIsNone(self.r.client_getname())

    def test_client_info_line(self):
        raw = self.raw()
        cid = raw.call("CLIENT", "ID")
        self.assertEqual("OK", raw.call("CLIENT", "SETNAME", "info-line"))
        line = raw.call("CLIENT", "INFO")
        self.assertIsInstance(line, bytes)
        self.assertTrue(line.endswith(b"\n"), line)
        self.assertEqual(1, line.count(b"\n"), line)
        keys, f = client_fields(line)
        self.assertEqual(["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub",
                          "ssub", "multi", "qbuf"], keys[:14])
        tail = ["cmd", "user", "redir", "resp"]
        self.assertEqual(tail, [k for k in keys if k in tail])
        self.assertLess(keys.index("qbuf"), keys.index("cmd"))
        self.assertEqual(str(cid), f["id"])
        self.assertEqual("127.0.0.1:%d" % raw.sock.getsockname()[1], f["addr"])
        self.assertEqual("127.0.0.1:%d" % self.srv.port, f["laddr"])
        self.assertTrue(f["fd"].isdigit(), f["fd"])
        self.assertEqual("info-line", f["name"])
        self.assertTrue(f["age"].isdigit() and f["idle"].isdigit(), line)
        self.assertEqual("N", f["flags"])
        self.assertEqual("0", f["db"])
        self.assertEqual(("0", "0", "0"), (f["sub"], f["psub"], f["ssub"]))
        self.assertEqual("-1", f["multi"])
        self.assertTrue(f["cmd"].startswith("client"), f["cmd"])
        self.assertEqual("default", f["user"])
        self.assertEqual("-1", f["redir"])
        self.assertEqual("2", f["resp"])
        if not self.srv.is_reference:  # Redis 7.2's fields
            self.assertEqual(["lib-name", "lib-ver"], keys[keys.index("resp") + 1:])
            self.assertEqual(("", ""), (f["lib-name"], f["lib-ver"]))
        # redis-py parses the same line.
        parsed = self.r.client_info()
        self.assertEqual(self.r.client_id(), parsed["id"])
        self.assertEqual("default", parsed["user"])

    def test_setinfo(self):
        self.skip_on_reference("CLIENT SETINFO is Redis 7.2")
        raw = self.raw()
        cid = raw.call("CLIENT", "ID")
        self.assertEqual("OK", raw.call("CLIENT", "SETINFO", "LIB-NAME", "admin-lib"))
        self.assertEqual("OK", raw.call("CLIENT", "SETINFO", "lib-ver", "1.2.3"))
        _, f = client_fields(raw.call("CLIENT", "INFO"))
        self.assertEqual(("admin-lib", "1.2.3"), (f["lib-name"], f["lib-ver"]))
        listed = self.r.client_list(client_id=[str(cid)])
        self.assertEqual(1, len(listed))
        self.assertEqual("admin-lib", listed[0]["lib-name"])
        self.assertEqual("1.2.3", listed[0]["lib-ver"].strip())
        self.assertIsInstance(raw.call("CLIENT", "SETINFO", "LIB-NAME", "has space"), RespError)
        self.assertIsInstance(raw.call("CLIENT", "SETINFO", "NOSUCHATTR", "x"), RespError)

    def test_list_named_clients(self):
        a, b = self.client(), self.client()
        self.assertTrue(a.client_setname("admin-list-a"))
        self.assertTrue(b.client_setname("admin-list-b"))
        # More connections, so that some sit on other threads of the server.
        extra = [self.client() for _ in range(6)]
        ids = {a.client_id(), b.client_id()} | {c.client_id() for c in extra}
        listing = self.r.client_list()
        by_id = {int(c["id"]): c for c in listing}
        self.assertLessEqual(ids | {self.r.client_id()}, set(by_id))
        names = {c["name"] for c in listing}
        self.assertIn("admin-list-a", names)
        self.assertIn("admin-list-b", names)
        self.assertEqual("admin-list-a", by_id[a.client_id()]["name"])
        self.assertEqual("N", by_id[a.client_id()]["flags"])
        normal = self.r.client_list(_type="normal")
        self.assertLessEqual(ids, {int(c["id"]) for c in normal})
        # CLIENT LIST ID picks those connections only (redis-py 4.3 would join
        # several ids into one argument, so they are sent by hand).
        two = self.r.execute_command("CLIENT LIST", "ID", a.client_id(), b.client_id())
        self.assertEqual(["admin-list-a", "admin-list-b"], sorted(c["name"] for c in two))
        self.assertEqual([], self.r.client_list(client_id=[str(10 ** 9)]))
        self.assertRedisError("ERR Unknown client type 'nosuch'",
                              self.r.execute_command, "CLIENT", "LIST", "TYPE", "nosuch")

    def test_list_pubsub_subscriber(self):
        ch = self.k("ch")
        p = self.r.pubsub()
        self.addCleanup(p.close)
        p.subscribe(ch)
        msg = p.get_message(timeout=5)
        self.assertEqual("subscribe", msg["type"])
        sub_addr = "127.0.0.1:%d" % p.connection._sock.getsockname()[1]
        subs = [c for c in self.r.client_list(_type="pubsub") if c["addr"] == sub_addr]
        self.assertEqual(1, len(subs), self.r.client_list(_type="pubsub"))
        self.assertIn("P", subs[0]["flags"])
        self.assertEqual("1", subs[0]["sub"])
        self.assertEqual("0", subs[0]["psub"])
        # ... and is not a "normal" client.
        self.assertNotIn(sub_addr, [c["addr"] for c in self.r.client_list(_type="normal")])
        self.assertNotIn(str(self.r.client_id()), [c["id"] for c in self.r.client_list(_type="pubsub")])

    def test_kill_by_id(self):
        victim = self.client()
        vid = victim.client_id()
        self.assertTrue(victim.ping())
        self.assertEqual(1, self.r.client_kill_filter(_id=vid))
        with self.assertRaises(redis.ConnectionError):
            victim.ping()
        self.assertEqual([], self.r.client_list(client_id=[str(vid)]))
        self.assertEqual(0, self.r.client_kill_filter(_id=vid))  # gone already
        self.assertTrue(self.r.ping())

    def test_kill_by_addr(self):
        victim = self.client()
        addr = victim.client_info()["addr"]
        self.assertEqual(1, self.r.client_kill_filter(addr=addr))
        with self.assertRaises(redis.ConnectionError):
            victim.ping()
        # The old form: OK, or an error for an address nobody has.
        victim2 = self.client()
        addr2 = victim2.client_info()["addr"]
        self.assertTrue(self.r.client_kill(addr2))
        with self.assertRaises(redis.ConnectionError):
            victim2.ping()
        self.assertRedisError("ERR No such client", self.r.client_kill, addr2)
        self.assertRedisError("ERR No such client", self.r.client_kill, "127.0.0.1:1")
        self.assertEqual(0, self.r.execute_command("CLIENT", "KILL", "ADDR", "127.0.0.1:1"))

    def test_kill_skipme(self):
        me = self.r.client_id()
        self.assertEqual(0, self.r.client_kill_filter(_id=me))  # SKIPME yes by default
        self.assertEqual(0, self.r.execute_command("CLIENT", "KILL", "ID", me, "SKIPME", "yes"))
        self.assertTrue(self.r.ping())
        my_addr = self.r.client_info()["addr"]
        self.assertEqual(0, self.r.client_kill_filter(addr=my_addr))
        self.assertTrue(self.r.ping())

    def test_kill_self_skipme_no(self):
        # Redis answers :1 and then closes the connection.
        raw = self.raw()
        cid = raw.call("CLIENT", "ID")
        raw.send(raw.encode("CLIENT", "KILL", "ID", cid, "SKIPME", "no"))
        try:
            reply = raw.read_reply()
        except (EOFError, ConnectionError) as e:
            reply = "connection closed with no reply (%s)" % e
        self.assertEqual(1, reply)
        self.assertTrue(raw.is_closed_by_peer())

    def test_reply_skip(self):
        raw = self.raw()
        raw.send(raw.encode("CLIENT", "REPLY", "SKIP") + raw.encode("PING") + raw.encode("ECHO", "x"))
        self.assertEqual(b"x", raw.read_reply())
        self.assertEqual(b"$1\r\nx\r\n", raw.last_bytes)
        self.assertEqual(b"", raw.buf)
        self.assertEqual("PONG", raw.call("PING"))  # replies again
        self.assertEqual(b"+PONG\r\n", raw.last_bytes)

    def test_reply_off_on(self):
        raw = self.raw()
        key = self.k()
        raw.send(raw.encode("CLIENT", "REPLY", "OFF") + raw.encode("PING")
                 + raw.encode("SET", key, "quiet") + raw.encode("ECHO", "y"))
        self.assertNoReply(raw, 0.2)
        deadline = time.monotonic() + 5
        while self.r.get(key) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(b"quiet", self.r.get(key))  # the commands ran, unanswered
        self.assertNoReply(raw, 0.05)
        raw.send(raw.encode("CLIENT", "REPLY", "ON"))
        self.assertEqual("OK", raw.read_reply())
        self.assertEqual(b"+OK\r\n", raw.last_bytes)
        self.assertEqual(b"z", raw.call("ECHO", "z"))
        self.assertEqual(RespError("ERR syntax error"), raw.call("CLIENT", "REPLY", "MAYBE"))

    def test_no_evict_no_touch_tracking_getredir(self):
        self.assertEqual(b"OK", self.r.execute_command("CLIENT", "NO-EVICT", "on"))
        self.assertEqual(b"OK", self.r.execute_command("CLIENT", "NO-EVICT", "off"))
        if not self.srv.is_reference:  # CLIENT NO-TOUCH is Redis 7.2
            self.assertEqual(b"OK", self.r.execute_command("CLIENT", "NO-TOUCH", "on"))
            self.assertEqual(b"OK", self.r.execute_command("CLIENT", "NO-TOUCH", "off"))
        self.assertEqual(b"OK", self.r.execute_command("CLIENT", "TRACKING", "off"))
        if not self.srv.is_reference:  # redcar offers no client-side caching
            with self.assertRaises(redis.ResponseError):
                self.r.execute_command("CLIENT", "TRACKING", "on")
        self.assertEqual(-1, self.r.client_getredir())
        self.assertTrue(self.r.ping())

    def test_help(self):
        lines = self.r.execute_command("CLIENT", "HELP")
        self.assertIsInstance(lines, list)
        # Redis: "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
        self.assertTrue(lines[0].startswith(b"CLIENT <subcommand> [<arg> "), lines[0])
        starts = [line.split(b" ")[0] for line in lines[1:]]
        for word in (b"ID", b"KILL", b"PAUSE", b"REPLY"):
            self.assertTrue(any(s.startswith(word) for s in starts), (word, lines))
        self.assertTrue(any(line.startswith(b"HELP") for line in lines), lines)

    def unpause(self):
        try:
            self.r.client_unpause()
        except redis.RedisError:
            pass

    def test_pause_write(self):
        key = self.k()
        writer, reader = self.raw(), self.raw()
        self.addCleanup(self.unpause)
        self.assertTrue(self.r.client_pause(5000, all=False))
        writer.send(writer.encode("SET", key, "after-pause"))
        self.assertNoReply(writer, 0.2)
        # Reads go on; the paused SET has not happened yet.
        self.assertIsNone(reader.call("GET", key))
        self.assertEqual("PONG", reader.call("PING"))
        self.assertNoReply(writer, 0.05)
        self.assertTrue(self.r.client_unpause())
        self.assertEqual("OK", writer.read_reply())
        self.assertEqual(b"after-pause", reader.call("GET", key))

    def test_pause_all(self):
        # Under ALL every client waits, the one that would UNPAUSE too (as
        # in Redis): the pause is short and ends by itself.
        other = self.raw()
        self.addCleanup(self.unpause)
        self.assertTrue(self.r.client_pause(800, all=True))
        other.send(other.encode("PING"))
        self.assertNoReply(other, 0.2)
        self.assertEqual("PONG", other.read_reply())

    def test_pause_ends_by_itself(self):
        other = self.raw()
        self.addCleanup(self.unpause)
        self.assertEqual(b"OK", self.r.execute_command("CLIENT", "PAUSE", "300"))
        t0 = time.monotonic()
        self.assertEqual("PONG", other.call("PING"))
        self.assertGreaterEqual(time.monotonic() - t0, 0.1)  # it did wait for the pause


# --- INFO on the shared server ----------------------------------------------


class InfoTests(AdminTestCase):
    def test_default_and_all_sections(self):
        raw = self.raw()
        self.assertEqual(DEFAULT_SECTIONS, section_names(raw.call("INFO")))
        self.assertEqual(DEFAULT_SECTIONS, section_names(raw.call("INFO", "default")))
        self.assertEqual(ALL_SECTIONS, section_names(raw.call("INFO", "all")))
        self.assertEqual(["Server", "Clients"], section_names(raw.call("INFO", "server", "clients")))
        self.assertEqual(["Clients", "Stats"], section_names(raw.call("INFO", "stats", "CLIENTS")))
        self.assertEqual(["Commandstats"], section_names(raw.call("INFO", "commandstats")))
        self.assertEqual([], section_names(raw.call("INFO", "nosuchsection")))
        both = self.r.info("server", "clients")
        self.assertIn("redis_version", both)
        self.assertIn("connected_clients", both)
        self.assertNotIn("used_memory", both)

    def test_fields(self):
        other = self.client()
        self.assertTrue(other.ping())
        info = self.r.info()
        self.assertEqual(64, info["arch_bits"])
        self.assertTrue(str(info["redis_version"]).startswith("7."), info["redis_version"])
        self.assertRegex(str(info["run_id"]), r"^[0-9a-f]{40}$")
        self.assertEqual(self.srv.port, info["tcp_port"])
        self.assertGreaterEqual(info["connected_clients"], 2)
        self.assertIsInstance(info["maxclients"], int)
        self.assertGreater(info["maxclients"], 0)
        self.assertGreater(info["used_memory"], 0)
        self.assertGreater(info["used_memory_rss"], 0)
        self.assertEqual("master", info["role"])
        self.assertEqual(0, info["connected_slaves"])
        self.assertEqual(0, info["cluster_enabled"])
        self.assertEqual(1, info["aof_enabled"])
        self.assertEqual(0, info["loading"])
        self.assertIsInstance(info["used_cpu_user"], (int, float))
        self.assertGreaterEqual(info["used_cpu_user"], 0)
        self.assertEqual(info["run_id"], self.r.info("server")["run_id"])  # stable

    def test_counters_grow(self):
        key = self.k()
        self.r.set(key, "v")
        before = self.r.info("stats")
        for _ in range(5):
            self.r.ping()
        self.assertEqual(b"v", self.r.get(key))
        self.assertIsNone(self.r.get(self.k("missing")))
        after = self.r.info("stats")
        self.assertGreaterEqual(after["total_commands_processed"], before["total_commands_processed"] + 7)
        self.assertGreater(after["total_net_input_bytes"], before["total_net_input_bytes"])
        self.assertGreater(after["total_net_output_bytes"], before["total_net_output_bytes"])
        self.assertEqual(before["keyspace_hits"] + 1, after["keyspace_hits"])
        self.assertEqual(before["keyspace_misses"] + 1, after["keyspace_misses"])

    def test_connected_clients_counts_connections(self):
        before = self.r.info("clients")["connected_clients"]
        extra = [self.client() for _ in range(3)]
        for c in extra:
            c.ping()
        self.assertEqual(before + 3, self.r.info("clients")["connected_clients"])


# --- TIME, persistence commands, WAIT, DEBUG, RESET ------------------------


class ServerCommandTests(AdminTestCase):
    def test_time(self):
        raw = self.raw()
        reply = raw.call("TIME")
        self.assertEqual(2, len(reply))
        self.assertTrue(all(isinstance(x, bytes) and x.isdigit() for x in reply), reply)
        self.assertTrue(raw.last_bytes.startswith(b"*2\r\n$"), raw.last_bytes)
        secs, usecs = self.r.time()
        self.assertLess(abs(secs + usecs / 1e6 - time.time()), 5)
        self.assertLess(usecs, 1000000)

    def test_lastsave_save(self):
        raw = self.raw()
        before = raw.call("LASTSAVE")
        self.assertIsInstance(before, int)
        t0 = int(time.time())
        self.assertEqual("OK", raw.call("SAVE"))
        after = raw.call("LASTSAVE")
        self.assertGreaterEqual(after, t0)
        self.assertGreaterEqual(after, before)
        self.assertLess(abs(after - time.time()), 60)
        self.assertEqual(after, int(self.r.lastsave().timestamp()))  # redis-py's view

    def test_bgsave_bgrewriteaof(self):
        raw = self.raw()
        self.assertEqual("Background saving started", raw.call("BGSAVE"))
        self.assertEqual(0, self.wait_info_field("persistence", "rdb_bgsave_in_progress", 0))
        self.assertEqual("Background append only file rewriting started", raw.call("BGREWRITEAOF"))
        self.assertEqual(0, self.wait_info_field("persistence", "aof_rewrite_in_progress", 0))
        self.assertTrue(self.r.ping())

    def test_wait(self):
        self.assertEqual(0, self.r.wait(0, 0))
        t0 = time.monotonic()
        self.assertEqual(0, self.r.wait(1, 100))
        self.assertGreaterEqual(time.monotonic() - t0, 0.09)  # it waited for its timeout
        self.assertTrue(self.r.ping())

    def test_debug_sleep_and_object(self):
        self.skip_on_reference("DEBUG is off in the reference server")
        self.assertEqual(b"OK", self.r.execute_command("DEBUG", "SLEEP", "0"))
        num, text, stream = self.k("num"), self.k("text"), self.k("stream")
        self.r.set(num, "12")
        self.r.set(text, "hello")
        self.r.xadd(stream, {"f": "v"})
        self.assertEqual("int", self.r.debug_object(num)["encoding"])
        self.assertEqual("embstr", self.r.debug_object(text)["encoding"])
        self.assertEqual("stream", self.r.debug_object(stream)["encoding"])
        line = self.r.execute_command("DEBUG", "OBJECT", text)
        self.assertTrue(line.startswith(b"Value at:"), line)
        self.assertIn(b" refcount:", line)
        self.assertRedisError("ERR no such key", self.r.execute_command, "DEBUG", "OBJECT", self.k("missing"))

    def test_reset(self):
        ch = self.k("ch")
        raw = self.raw()
        self.assertEqual("OK", raw.call("CLIENT", "SETNAME", "to-be-reset"))
        self.assertEqual([b"subscribe", ch.encode(), 1], raw.call("SUBSCRIBE", ch))
        self.assertEqual([(ch.encode(), 1)], self.r.pubsub_numsub(ch))
        self.assertEqual("RESET", raw.call("RESET"))
        self.assertEqual(b"+RESET\r\n", raw.last_bytes)
        self.assertEqual([(ch.encode(), 0)], self.r.pubsub_numsub(ch))
        self.assertIsNone(raw.call("CLIENT", "GETNAME"))
        self.assertEqual(0, self.r.publish(ch, "nobody"))
        self.assertIsNone(raw.call("GET", self.k("missing")))  # out of the subscribed context
        self.assertEqual("PONG", raw.call("PING"))
        # redis-py's reset() on a plain connection.
        self.assertTrue(self.r.client_setname("rp-reset"))
        self.assertEqual("RESET", self.r.reset())
        self.assertIsNone(self.r.client_getname())


# --- PUBSUB introspection, sharded pub/sub ----------------------------------


class ShutdownTests(unittest.TestCase):
    def test_shutdown_stops_the_server_cleanly_and_keeps_everything(self):
        srv = RedcarServer()
        try:
            srv.start()
            r = srv.client()
            r.set("kept", "yes")
            r.xadd("kept-stream", {"f": "v"})
            r.flushall()  # then written again: FLUSHALL's deletes are durable too
            self.assertEqual(r.dbsize(), 0)
            r.set("kept", "yes")
            r.shutdown(nosave=True)  # no answer; the connection closes
            r.close()
            srv.proc.wait(30)
            self.assertEqual(srv.stop(), 0)
            self.assertTrue(srv.stopped_cleanly(), srv.log_text()[-2000:])
            self.assertIn("SHUTDOWN asked by a client", srv.log_text())
            srv.start()
            r = srv.client()
            self.assertEqual(r.get("kept"), b"yes")
            self.assertEqual(r.dbsize(), 1)
            r.close()
        finally:
            srv.cleanup()


class PubSubAdminTests(AdminTestCase):
    def test_channels_numsub_numpat(self):
        a, b = self.k("a"), self.k("b")
        s1, s2 = self.raw(), self.raw()
        self.assertEqual([b"subscribe", a.encode(), 1], s1.call("SUBSCRIBE", a))
        self.assertEqual([b"subscribe", a.encode(), 1], s2.call("SUBSCRIBE", a))
        self.assertEqual([b"subscribe", b.encode(), 2], s2.call("SUBSCRIBE", b))
        self.assertEqual(sorted([a.encode(), b.encode()]), sorted(self.r.pubsub_channels(self.k("*"))))
        self.assertEqual([a.encode()], self.r.pubsub_channels(self.k("a")))
        self.assertIn(a.encode(), self.r.pubsub_channels())
        self.assertEqual([(a.encode(), 2), (b.encode(), 1), (self.k("none").encode(), 0)],
                         self.r.pubsub_numsub(a, b, self.k("none")))
        before = self.r.pubsub_numpat()
        pat = self.raw()
        self.assertEqual([b"psubscribe", self.k("p*").encode(), 1], pat.call("PSUBSCRIBE", self.k("p*")))
        self.assertEqual(before + 1, self.r.pubsub_numpat())
        self.assertEqual([b"punsubscribe", self.k("p*").encode(), 0], pat.call("PUNSUBSCRIBE"))
        self.assertEqual(before, self.r.pubsub_numpat())
        # Shard channels are listed apart.
        self.assertEqual([], self.r.execute_command("PUBSUB", "SHARDCHANNELS", self.k("*")))

    def test_sharded_pubsub(self):
        ch, other = self.k("sh"), self.k("sh2")
        shard = self.raw()
        self.assertEqual([b"ssubscribe", ch.encode(), 1], shard.call("SSUBSCRIBE", ch))
        self.assertEqual([b"ssubscribe", other.encode(), 2], shard.call("SSUBSCRIBE", other))
        plain = self.raw()
        self.assertEqual([b"subscribe", ch.encode(), 1], plain.call("SUBSCRIBE", ch))
        # redis-py's PubSub object, with SSUBSCRIBE sent by hand.
        ps = self.r.pubsub()
        self.addCleanup(ps.close)
        ps.execute_command("SSUBSCRIBE", ch)
        self.assertEqual([b"ssubscribe", ch.encode(), 1], ps.parse_response(timeout=5))

        self.assertEqual(sorted([ch.encode(), other.encode()]),
                         sorted(self.r.execute_command("PUBSUB", "SHARDCHANNELS", self.k("*"))))
        self.assertEqual([other.encode()], self.r.execute_command("PUBSUB", "SHARDCHANNELS", self.k("sh2")))
        self.assertEqual([ch.encode(), 2, self.k("none").encode(), 0],
                         self.r.execute_command("PUBSUB", "SHARDNUMSUB", ch, self.k("none")))
        # The plain channel of the same name is separate.
        self.assertEqual([(ch.encode(), 1)], self.r.pubsub_numsub(ch))
        self.assertEqual([ch.encode()], self.r.pubsub_channels(self.k("*")))

        self.assertEqual(2, self.r.execute_command("SPUBLISH", ch, "s1"))  # the two shard subscribers
        self.assertEqual([b"smessage", ch.encode(), b"s1"], shard.read_reply())
        self.assertEqual([b"smessage", ch.encode(), b"s1"], ps.parse_response(timeout=5))
        self.assertEqual(1, self.r.publish(ch, "p1"))  # the plain subscriber only
        self.assertEqual([b"message", ch.encode(), b"p1"], plain.read_reply())
        self.assertNoReply(shard, 0.2)  # the PUBLISH did not reach SSUBSCRIBE
        self.assertNoReply(plain, 0.05)  # nor the SPUBLISH SUBSCRIBE
        self.assertEqual(1, self.r.execute_command("SPUBLISH", other, "s2"))
        self.assertEqual([b"smessage", other.encode(), b"s2"], shard.read_reply())
        self.assertEqual(0, self.r.execute_command("SPUBLISH", self.k("nobody"), "x"))

        self.assertEqual([b"sunsubscribe", ch.encode(), 1], shard.call("SUNSUBSCRIBE", ch))
        self.assertEqual(1, self.r.execute_command("SPUBLISH", ch, "s3"))  # redis-py's subscriber only
        self.assertEqual([b"smessage", ch.encode(), b"s3"], ps.parse_response(timeout=5))
        self.assertEqual([b"sunsubscribe", other.encode(), 0], shard.call("SUNSUBSCRIBE"))
        self.assertEqual("PONG", shard.call("PING"))  # no longer subscribed
        self.assertEqual([ch.encode(), 1], self.r.execute_command("PUBSUB", "SHARDNUMSUB", ch))
        self.assertEqual([], self.r.execute_command("PUBSUB", "SHARDCHANNELS", self.k("sh2")))


# --- COMMAND ----------------------------------------------------------------


class CommandTests(AdminTestCase):
    def test_getkeys(self):
        self.assertEqual(["k"], self.r.command_getkeys("SET", "k", "v"))
        self.assertEqual(["a", "b"], self.r.command_getkeys("XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0"))
        self.assertEqual(["s"], self.r.command_getkeys("XADD", "s", "*", "f", "v"))
        self.assertEqual(["k1", "k2"], self.r.command_getkeys("DEL", "k1", "k2"))
        self.assertRedisError("ERR The command has no key arguments",
                              self.r.command_getkeys, "ECHO", "x")
        self.assertRedisError("ERR Invalid command specified", self.r.command_getkeys, "NOSUCH", "x")

    def test_list_and_count(self):
        names = [n.decode() if isinstance(n, bytes) else n for n in self.r.command_list()]
        self.assertIn("get", names)
        self.assertIn("xadd", names)
        self.assertEqual(len(names), len(set(names)))
        # Redis 7.0 lists subcommands too ("client|kill"); COMMAND COUNT counts commands.
        top = [n for n in names if "|" not in n]
        self.assertEqual(self.r.command_count(), len(top))
        xs = [n.decode() for n in self.r.command_list(pattern="x*")]
        self.assertIn("xadd", xs)
        self.assertIn("xread", xs)
        self.assertTrue(all(n.startswith("x") for n in xs), xs)
        self.assertEqual(sorted(n for n in top if n.startswith("x")), sorted(n for n in xs if "|" not in n))
        self.assertEqual([], self.r.command_list(pattern="nosuchcommand*"))


# --- counters, settings, slowlog, latency: a private server -----------------


class PrivateServerTests(AdminTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = RedcarServer()
        cls.addClassCleanup(stop_checked, cls.server)
        cls.server.start()

    def cmdstat(self, name):
        return self.r.info("commandstats").get("cmdstat_" + name, {"calls": 0, "failed_calls": 0,
                                                                    "rejected_calls": 0})

    def test_keyspace_matches_dbsize(self):
        before = self.r.dbsize()
        for i in range(7):
            self.r.set(self.k(str(i)), i)
        self.r.xadd(self.k("stream"), {"f": "v"})
        self.assertEqual(before + 8, self.r.dbsize())
        self.assertEqual(self.r.dbsize(), self.r.info("keyspace")["db0"]["keys"])
        self.assertEqual(self.r.dbsize(), self.r.info()["db0"]["keys"])
        self.r.delete(self.k("0"), self.k("1"))
        self.assertEqual(before + 6, self.r.info("keyspace")["db0"]["keys"])

    def test_commandstats(self):
        set_before, xadd_before, get_before = self.cmdstat("set"), self.cmdstat("xadd"), self.cmdstat("get")
        for i in range(5):
            self.r.set(self.k(str(i)), "v")
        with self.assertRaises(redis.ResponseError):
            self.r.xadd(self.k("stream"), {"f": "v"}, id="not-an-id")
        with self.assertRaises(redis.ResponseError):
            self.r.execute_command("GET")  # wrong arity
        set_after, xadd_after, get_after = self.cmdstat("set"), self.cmdstat("xadd"), self.cmdstat("get")
        self.assertEqual(set_before["calls"] + 5, set_after["calls"])
        self.assertEqual(set_before["failed_calls"], set_after["failed_calls"])
        self.assertEqual(xadd_before["failed_calls"] + 1, xadd_after["failed_calls"])
        self.assertEqual(get_before["rejected_calls"] + 1, get_after["rejected_calls"])
        self.assertEqual(get_before["calls"], get_after["calls"])  # a rejected call is no call
        for field in ("usec", "usec_per_call"):
            self.assertIn(field, set_after)
        latency = self.r.info("latencystats")
        self.assertIn("latency_percentiles_usec_set", latency)
        self.assertEqual({"p50", "p99", "p99.9"}, set(latency["latency_percentiles_usec_set"]))

    def test_errorstats_and_resetstat(self):
        self.assertTrue(self.r.config_resetstat())
        commands = self.r.info("commandstats")
        self.assertEqual(1, len(commands), commands)  # the CONFIG RESETSTAT itself
        self.assertIn(list(commands)[0], ("cmdstat_config", "cmdstat_config|resetstat"))
        self.assertEqual({}, self.r.info("errorstats"))
        key = self.k("str")
        self.r.set(key, "v")
        with self.assertRaises(redis.ResponseError):
            self.r.xadd(key, {"f": "v"})  # WRONGTYPE
        with self.assertRaises(redis.ResponseError):
            self.r.execute_command("GET")  # ERR wrong number of arguments
        with self.assertRaises(redis.ResponseError):
            self.r.xadd(self.k("stream"), {"f": "v"}, id="bad")  # ERR Invalid stream ID
        errors = self.r.info("errorstats")
        self.assertEqual({"errorstat_ERR", "errorstat_WRONGTYPE"}, set(errors))
        self.assertEqual(2, errorstat_count(errors["errorstat_ERR"]))
        self.assertEqual(1, errorstat_count(errors["errorstat_WRONGTYPE"]))
        self.assertEqual(3, self.r.info("stats")["total_error_replies"])
        self.assertEqual(1, self.cmdstat("set")["calls"])
        self.assertTrue(self.r.config_resetstat())
        self.assertEqual({}, self.r.info("errorstats"))
        self.assertNotIn("cmdstat_set", self.r.info("commandstats"))
        self.assertNotIn("cmdstat_xadd", self.r.info("commandstats"))

    def restore_config(self):
        c = self.srv.client(single_connection_client=True, socket_timeout=CLIENT_TIMEOUT)
        try:
            c.config_set("slowlog-log-slower-than", "10000")
            c.config_set("slowlog-max-len", "128")
            c.config_set("latency-monitor-threshold", "0")
            c.config_set("maxclients", "10000")
            c.config_set("stream-node-max-bytes", "4096")
        finally:
            c.close()

    def test_config_get(self):
        self.assertEqual({"slowlog-log-slower-than": "10000", "slowlog-max-len": "128"},
                         self.r.config_get("slowlog*"))
        self.assertEqual({"maxmemory-policy": "noeviction"}, self.r.config_get("maxmemory-policy"))
        self.assertEqual({"appendonly": "yes"}, self.r.config_get("appendonly"))
        self.assertEqual({}, self.r.config_get("nosuch"))
        self.assertEqual({}, self.r.config_get("nosuch*"))
        self.assertEqual({"slowlog-max-len": "128", "appendonly": "yes"},
                         self.r.execute_command("CONFIG GET", "slowlog-max-len", "appendonly"))

    def test_config_set(self):
        self.addCleanup(self.restore_config)
        for name, value in (("slowlog-log-slower-than", "5000"), ("slowlog-max-len", "64"),
                            ("latency-monitor-threshold", "3"), ("maxclients", "5000"),
                            ("stream-node-max-bytes", "8192")):
            self.assertTrue(self.r.config_set(name, value), name)
            self.assertEqual({name: value}, self.r.config_get(name))
        self.assertEqual(5000, self.r.info("clients")["maxclients"])
        self.assertEqual(b"OK", self.r.execute_command("CONFIG", "SET", "slowlog-max-len", "100",
                                                       "slowlog-log-slower-than", "20000"))
        self.assertEqual({"slowlog-log-slower-than": "20000", "slowlog-max-len": "100"},
                         self.r.config_get("slowlog*"))
        self.assertRedisError("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'",
                              self.r.config_set, "nosuch", "1")
        if not self.srv.is_reference:  # Redis can turn the AOF off at run time
            self.assertRedisErrorContains("can't set immutable config", self.r.config_set, "appendonly", "no")
            self.assertEqual({"appendonly": "yes"}, self.r.config_get("appendonly"))
        self.assertRedisErrorContains("argument couldn't be parsed into an integer",
                                      self.r.config_set, "slowlog-max-len", "abc")
        self.assertEqual({"slowlog-max-len": "100"}, self.r.config_get("slowlog-max-len"))
        with self.assertRaises(redis.ResponseError):
            self.r.execute_command("CONFIG", "SET", "slowlog-max-len")  # a name without its value
        with self.assertRaises(redis.ResponseError):
            self.r.config_rewrite()

    def test_config_set_bad_pair_sets_none(self):
        self.addCleanup(self.restore_config)
        self.assertTrue(self.r.config_set("slowlog-max-len", "100"))
        bad_calls = [
            (("slowlog-max-len", "7", "nosuch", "1"), "Unknown option"),
            (("nosuch", "1", "slowlog-max-len", "7"), "Unknown option"),
            (("slowlog-log-slower-than", "x", "slowlog-max-len", "7"), "couldn't be parsed into an integer"),
            (("slowlog-max-len", "7", "slowlog-log-slower-than", "x"), "couldn't be parsed into an integer"),
        ]
        for args, fragment in bad_calls:
            with self.subTest(args=args):
                self.assertRedisErrorContains(fragment, self.r.execute_command, "CONFIG", "SET", *args)
                self.assertEqual({"slowlog-log-slower-than": "10000", "slowlog-max-len": "100"},
                                 self.r.config_get("slowlog*"))
                self.r.config_set("slowlog-max-len", "100")  # so the next case starts the same

    def test_slowlog(self):
        self.addCleanup(self.restore_config)
        self.assertTrue(self.r.config_set("slowlog-log-slower-than", "10000"))
        self.assertTrue(self.r.slowlog_reset())
        self.assertEqual(0, self.r.slowlog_len())
        self.assertEqual([], self.r.slowlog_get())

        self.assertTrue(self.r.config_set("slowlog-log-slower-than", "0"))  # log everything
        key = self.k()
        t0 = int(time.time())
        self.r.set(key, "v")
        long_arg = "a" * 200
        self.r.echo(long_arg)
        many = [self.k(str(i)) for i in range(40)]
        self.r.delete(*many)  # 41 arguments
        entries = self.r.slowlog_get()
        commands = [e["command"] for e in entries]
        # Newest first; the CONFIG SET that switched logging on is logged too.
        set_at = commands.index(("SET %s v" % key).encode())
        echo_at = commands.index(("ECHO %s... (72 more bytes)" % ("a" * 128)).encode())
        del_at = commands.index(("DEL %s ... (10 more arguments)" % " ".join(many[:30])).encode())
        self.assertLess(del_at, echo_at)
        self.assertLess(echo_at, set_at)
        for e in entries:
            self.assertEqual({"id", "start_time", "duration", "command"}, set(e) - {"client_address",
                                                                                     "client_name"})
            self.assertIsInstance(e["duration"], int)
            self.assertGreaterEqual(e["duration"], 0)
        self.assertGreaterEqual(entries[set_at]["start_time"], t0)
        self.assertLess(abs(entries[set_at]["start_time"] - time.time()), 60)
        ids = [e["id"] for e in entries]
        self.assertEqual(sorted(ids, reverse=True), ids)
        self.assertEqual(len(ids), len(set(ids)))

        # The raw entries: id, time, duration, arguments, client address, client name.
        raw_all = self.r.execute_command("SLOWLOG", "GET", "-1")
        raw_del = [e for e in raw_all if e[3][0] == b"DEL"][0]
        args = raw_del[3]
        self.assertEqual(32, len(args))
        self.assertEqual([m.encode() for m in many[:30]], args[1:31])
        self.assertEqual(b"... (10 more arguments)", args[31])
        raw_echo = [e for e in raw_all if e[3][0] == b"ECHO"][0]
        self.assertEqual([b"ECHO", b"a" * 128 + b"... (72 more bytes)"], raw_echo[3])
        my_addr = self.r.client_info()["addr"]
        self.assertEqual(my_addr.encode(), raw_del[4])
        self.assertEqual(b"", raw_del[5])
        newest = self.r.execute_command("SLOWLOG", "GET", "1")
        self.assertEqual(1, len(newest))
        self.assertEqual(6, len(newest[0]))

        n = self.r.slowlog_len()
        self.assertGreaterEqual(n, 4)
        self.assertEqual(n + 1, self.r.slowlog_len())  # the first SLOWLOG LEN got logged
        self.assertTrue(self.r.config_set("slowlog-max-len", "3"))
        for _ in range(10):
            self.r.ping()
        self.assertEqual(3, self.r.slowlog_len())
        self.assertEqual(3, len(self.r.slowlog_get(10)))

        self.assertTrue(self.r.config_set("slowlog-log-slower-than", "10000"))
        self.assertTrue(self.r.slowlog_reset())
        self.assertEqual(0, self.r.slowlog_len())
        self.r.ping()
        self.assertEqual(0, self.r.slowlog_len())  # fast commands are not logged now
        self.assertTrue(self.r.config_set("slowlog-log-slower-than", "-1"))  # off
        self.r.ping()
        self.assertEqual(0, self.r.slowlog_len())

    def test_latency_monitor(self):
        self.skip_on_reference("DEBUG is off in the reference server")
        self.addCleanup(self.restore_config)
        self.r.execute_command("LATENCY", "RESET")
        self.assertEqual([], self.r.execute_command("LATENCY", "LATEST"))
        self.assertTrue(self.r.config_set("latency-monitor-threshold", "1"))
        t0 = int(time.time())
        self.assertEqual(b"OK", self.r.execute_command("DEBUG", "SLEEP", "0.05"))
        latest = self.r.execute_command("LATENCY", "LATEST")
        events = {e[0]: e for e in latest}
        self.assertIn(b"command", events, latest)
        name, ts, ms, worst = events[b"command"]
        self.assertGreaterEqual(ts, t0)
        self.assertLess(abs(ts - time.time()), 60)
        self.assertGreaterEqual(ms, 1)
        self.assertGreaterEqual(worst, ms)
        history = self.r.execute_command("LATENCY", "HISTORY", "command")
        self.assertGreaterEqual(len(history), 1)
        self.assertEqual(2, len(history[-1]))
        self.assertGreaterEqual(history[-1][0], t0)
        self.assertEqual(ms, history[-1][1])
        self.assertEqual([], self.r.execute_command("LATENCY", "HISTORY", "nosuchevent"))
        self.assertTrue(self.r.config_set("latency-monitor-threshold", "0"))
        self.assertEqual(len(latest), self.r.execute_command("LATENCY", "RESET"))
        self.assertEqual([], self.r.execute_command("LATENCY", "LATEST"))
        self.assertEqual([], self.r.execute_command("LATENCY", "HISTORY", "command"))
        self.assertEqual(0, self.r.execute_command("LATENCY", "RESET"))

    def test_latency_histogram(self):
        key = self.k()
        for i in range(3):
            self.r.set(key, i)
        reply = self.r.execute_command("LATENCY", "HISTOGRAM", "set")
        # RESP2: the map {set: {calls: N, histogram_usec: {bucket: count, ...}}} flattened.
        self.assertEqual(2, len(reply), reply)
        self.assertEqual(b"set", reply[0])
        body = dict(zip(reply[1][0::2], reply[1][1::2]))
        self.assertEqual({b"calls", b"histogram_usec"}, set(body))
        self.assertGreaterEqual(body[b"calls"], 3)
        buckets = body[b"histogram_usec"]
        self.assertEqual(0, len(buckets) % 2)
        self.assertGreater(len(buckets), 0)
        bounds, counts = buckets[0::2], buckets[1::2]
        self.assertEqual(sorted(bounds), bounds)
        self.assertEqual(sorted(counts), counts)  # cumulative
        self.assertEqual(body[b"calls"], counts[-1])
        both = self.r.execute_command("LATENCY", "HISTOGRAM", "set", "xtrim", "nosuchcommand")
        self.assertEqual([b"set"], both[0::2])  # XTRIM never ran here; unknown names are left out
        self.assertEqual([], self.r.execute_command("LATENCY", "HISTOGRAM", "nosuchcommand"))


# --- Redis 7.0 names subcommands "container|sub" ----------------------------


class SubcommandNameTests(AdminTestCase):
    """Redis 7.0 reports a subcommand as "container|subcommand" in CLIENT
    INFO's cmd=, in INFO commandstats/latencystats and in COMMAND LIST."""

    def test_subcommand_names(self):
        with self.subTest("CLIENT INFO cmd="):
            _, f = client_fields(self.r.execute_command("CLIENT", "INFO"))
            self.assertEqual("client|info", f["cmd"])
        with self.subTest("COMMAND LIST"):
            names = {n.decode() for n in self.r.command_list(pattern="c*")}
            self.assertIn("client|kill", names, sorted(names))
            self.assertIn("config|set", names, sorted(names))
        with self.subTest("INFO commandstats / latencystats"):
            self.r.client_id()
            stats = sorted(k for k in self.r.info("commandstats") if k.startswith("cmdstat_client"))
            self.assertIn("cmdstat_client|id", stats)
            latency = sorted(k for k in self.r.info("latencystats") if "_usec_client" in k)
            self.assertIn("latency_percentiles_usec_client|id", latency)


if __name__ == "__main__":
    unittest.main(verbosity=2)
