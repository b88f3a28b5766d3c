"""The RESP front end under abuse, over raw sockets: malformed frames, unknown
commands, oversized bulks and multibulk counts, a client that never reads its
replies, many clients at once, and --maxclients.

A protocol violation must end only the connection that sent it, with Redis'
"-ERR Protocol error: ..." first; an unknown command or a wrong argument count
gets an -ERR and the connection stays usable.

Run: REDCAR_BIN=build/bin/redcar /usr/bin/python3 -m unittest -v test_resp_limits
"""

import concurrent.futures
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import redis  # noqa: E402  (Debian python3-redis)

from redcar_server import RawConnection, RedcarServer, RespError, start_server, wait_for  # noqa: E402

SERVER = None


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


def info_field(srv, section, field):
    c = srv.client(single_connection_client=True)
    try:
        return c.info(section)[field]
    finally:
        c.close()


class LimitsTestCase(unittest.TestCase):
    server = None

    @property
    def srv(self):
        return self.server or SERVER

    def raw(self, **kwargs):
        c = self.srv.raw(**kwargs)
        self.addCleanup(c.close)
        return c

    def k(self, name=""):
        return "%s:%s:%s" % (type(self).__name__, self._testMethodName, name)

    def assertUsable(self, conn):
        """`conn` still answers, and writes and reads work on it."""
        self.assertEqual("PONG", conn.call("PING"))
        key = self.k("probe")
        self.assertEqual("OK", conn.call("SET", key, "v"))
        self.assertEqual(b"v", conn.call("GET", key))

    def assertProtocolError(self, frame, expected):
        """Sends `frame` on a fresh connection: expects the error `expected`,
        then the connection closed; another connection is not disturbed."""
        bystander = self.raw()
        self.assertEqual("PONG", bystander.call("PING"))
        victim = self.raw()
        self.assertEqual("PONG", victim.call("PING"))
        victim.send(frame)
        try:
            reply = victim.read_reply()
        except (ConnectionResetError, EOFError) as e:
            self.fail("connection closed without the error reply (%s) for %r" % (type(e).__name__, frame[:60]))
        self.assertEqual(RespError(expected), reply, frame[:60])
        self.assertEqual(b"-" + expected.encode() + b"\r\n", victim.last_bytes)
        self.assertTrue(victim.is_closed_by_peer(), "connection left open after %r" % frame[:60])
        self.assertUsable(bystander)
        self.assertUsable(self.raw())


class MalformedFrameTests(LimitsTestCase):
    def test_bad_bulk_length(self):
        self.assertProtocolError(b"*2\r\n$3\r\nGET\r\n$x\r\n", "ERR Protocol error: invalid bulk length")

    def test_negative_bulk_length(self):
        self.assertProtocolError(b"*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length")

    def test_bad_multibulk_length(self):
        self.assertProtocolError(b"*abc\r\n", "ERR Protocol error: invalid multibulk length")
        self.assertProtocolError(b"*1x\r\n$4\r\nPING\r\n", "ERR Protocol error: invalid multibulk length")

    def test_missing_dollar(self):
        self.assertProtocolError(b"*1\r\nPING\r\n", "ERR Protocol error: expected '$', got 'P'")

    def test_unbalanced_quotes_inline(self):
        self.assertProtocolError(b'SET k "unterminated\r\n', "ERR Protocol error: unbalanced quotes in request")

    def test_too_big_inline_request(self):
        self.assertProtocolError(b"A" * (70 * 1024), "ERR Protocol error: too big inline request")

    def test_too_big_bulk_count_string(self):
        self.assertProtocolError(b"*1\r\n$" + b"1" * (70 * 1024), "ERR Protocol error: too big bulk count string")

    def test_protocol_error_after_good_commands_in_one_write(self):
        # The replies to the commands before the bad frame come first.
        victim = self.raw()
        k = self.k()
        self.assertEqual("OK", victim.call("SET", k, "1"))
        victim.send(RawConnection.encode("SET", k, "1") + RawConnection.encode("GET", k) + b"*1\r\n$-5\r\n")
        self.assertEqual("OK", victim.read_reply())
        self.assertEqual(b"1", victim.read_reply())
        self.assertEqual(RespError("ERR Protocol error: invalid bulk length"), victim.read_reply())
        self.assertTrue(victim.is_closed_by_peer())

    def test_frame_split_byte_by_byte(self):
        conn = self.raw()
        for frame, expected in ((RawConnection.encode("SET", self.k(), "split"), "OK"),
                                (RawConnection.encode("GET", self.k()), b"split"),
                                (b"ECHO  \"in\\x6cine\"\r\n", b"inline")):
            for i in range(len(frame)):
                conn.send(frame[i:i + 1])
                time.sleep(0.001)
            self.assertEqual(expected, conn.read_reply())


class CommandErrorTests(LimitsTestCase):
    def test_unknown_command_keeps_connection(self):
        conn = self.raw()
        self.assertEqual(RespError("ERR unknown command 'FOO', with args beginning with: 'bar' "),
                         conn.call("FOO", "bar"))
        self.assertEqual(b"-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n", conn.last_bytes)
        self.assertEqual(RespError("ERR unknown command 'NOSUCH', with args beginning with: "),
                         conn.call("NOSUCH"))
        self.assertEqual(RespError("ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' 'c' 'd' 'e' "),
                         conn.call("NOSUCH", "a", "b", "c", "d", "e"))
        conn.send(b"FOO bar baz\r\n")  # inline
        self.assertEqual(RespError("ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' "),
                         conn.read_reply())
        self.assertUsable(conn)

    def test_wrong_arity_keeps_connection(self):
        conn = self.raw()
        for args, name in ((("GET",), "get"), (("GET", "a", "b"), "get"), (("SET", "k"), "set"),
                           (("XADD", "s", "*"), "xadd"), (("XLEN",), "xlen"), (("XRANGE", "s", "-"), "xrange"),
                           (("ECHO",), "echo"), (("XREADGROUP", "GROUP", "g"), "xreadgroup")):
            self.assertEqual(RespError("ERR wrong number of arguments for '%s' command" % name), conn.call(*args),
                             args)
        self.assertUsable(conn)

    def test_errors_inside_a_pipeline(self):
        conn = self.raw()
        k = self.k()
        self.assertEqual("OK", conn.call("SET", k, "1"))
        conn.send(b"".join([RawConnection.encode("SET", k + "x", "1"), RawConnection.encode("NOSUCH"),
                            RawConnection.encode("GET"), RawConnection.encode("XADD", k + "s", "0-0", "f", "v"),
                            RawConnection.encode("GET", k)]))
        self.assertEqual("OK", conn.read_reply())
        self.assertIsInstance(conn.read_reply(), RespError)
        self.assertIsInstance(conn.read_reply(), RespError)
        self.assertIsInstance(conn.read_reply(), RespError)
        self.assertEqual(b"1", conn.read_reply())

    def test_empty_requests_are_ignored(self):
        conn = self.raw()
        conn.send(b"\r\n*0\r\n\r\n*-1\r\nPING\r\n")
        self.assertEqual("PONG", conn.read_reply())
        self.assertEqual(b"+PONG\r\n", conn.last_bytes)

    def test_multibulk_count_over_limit(self):
        self.assertProtocolError(b"*2147483648\r\n", "ERR Protocol error: invalid multibulk length")
        self.assertProtocolError(b"*99999999999999999999999\r\n", "ERR Protocol error: invalid multibulk length")

    def test_huge_announced_count_then_disconnect(self):
        # A header announcing a million arguments must not make the server
        # reserve memory for them.
        before = self.srv.rss_kb()
        for _ in range(20):
            c = RawConnection(self.srv.host, self.srv.port)
            c.send(b"*1000000\r\n$1\r\na\r\n")
            c.close()
        self.assertUsable(self.raw())
        self.assertLess(self.srv.rss_kb() - before, 100 * 1024)


class BulkLimitTests(LimitsTestCase):
    LIMIT = 1024

    @classmethod
    def setUpClass(cls):
        cls.server = RedcarServer(proto_max_bulk_len=cls.LIMIT)
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        stop_checked(cls.server)

    def limit(self):
        return (1 << 20) if self.srv.is_reference else self.LIMIT

    def test_bulk_at_limit_accepted(self):
        conn = self.raw()
        value = b"v" * self.limit()
        self.assertEqual("OK", conn.call("SET", self.k(), value))
        self.assertEqual(value, conn.call("GET", self.k()))

    def test_bulk_over_limit_refused(self):
        n = self.limit() + 1
        self.assertProtocolError(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % n, "ERR Protocol error: invalid bulk length")
        self.assertProtocolError(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (n + 10 ** 9),
                                 "ERR Protocol error: invalid bulk length")
        # With the payload sent as well.
        self.assertProtocolError(RawConnection.encode("SET", "k", b"x" * n), "ERR Protocol error: invalid bulk length")

    def test_config_get_reports_limit(self):
        conn = self.raw()
        reply = conn.call("CONFIG", "GET", "proto-max-bulk-len")
        self.assertEqual([b"proto-max-bulk-len", str(self.limit()).encode()], reply)


class SlowReaderTests(LimitsTestCase):
    OUTPUT_LIMIT = 1 << 20
    VALUE = 100 * 1024

    @classmethod
    def setUpClass(cls):
        cls.server = RedcarServer(client_output_limit=cls.OUTPUT_LIMIT)
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()
        r = cls.server.client(single_connection_client=True)
        try:
            r.set("big", b"b" * cls.VALUE)
            for i in range(5):
                r.xadd("bigstream", {"data": b"s" * cls.VALUE}, id="%d-0" % (i + 1))
        finally:
            r.close()

    @classmethod
    def tearDownClass(cls):
        stop_checked(cls.server)

    def test_client_that_never_reads_is_disconnected(self):
        srv = self.srv
        watcher = self.raw()
        self.assertEqual(b"b" * self.VALUE, watcher.call("GET", "big"))
        clients_before = info_field(srv, "clients", "connected_clients")
        rss_before = srv.rss_kb()

        slow = self.raw(timeout=5, rcvbuf=64 * 1024)
        self.assertEqual("PONG", slow.call("PING"))  # counted among the clients
        self.assertEqual(clients_before + 1, info_field(srv, "clients", "connected_clients"))
        requests = []
        for i in range(1500):
            requests.append(RawConnection.encode("GET", "big") if i % 2 else
                            RawConnection.encode("XRANGE", "bigstream", "-", "+"))
        payload = b"".join(requests)
        would_send = 750 * self.VALUE + 750 * 5 * self.VALUE  # ~440 MB of replies
        try:
            slow.send(payload)
        except (socket.timeout, ConnectionResetError, BrokenPipeError):
            pass  # the server stopped reading or dropped us: both fine

        # The server drops the client once its output passes the limit.
        peak = [rss_before]

        def slow_client_gone():
            peak[0] = max(peak[0], srv.rss_kb())
            return info_field(srv, "clients", "connected_clients") <= clients_before
        wait_for(slow_client_gone, timeout=15, what="the client that does not read to be disconnected")

        # What reaches the client is bounded by the limit plus socket buffers.
        received, how = slow.read_until_closed(timeout=15)
        self.assertIn(how, ("eof", "reset"))
        self.assertLess(received, 64 << 20, "received %d of %d bytes" % (received, would_send))

        # The server stays responsive, and did not buffer the replies.
        self.assertEqual("PONG", watcher.call("PING"))
        self.assertEqual(b"b" * self.VALUE, watcher.call("GET", "big"))
        self.assertEqual(5, len(watcher.call("XRANGE", "bigstream", "-", "+")))
        growth_mb = (max(peak[0], srv.rss_kb()) - rss_before) / 1024.0
        self.assertLess(growth_mb, 200, "RSS grew by %.0f MB" % growth_mb)
        stats = self.srv.client(single_connection_client=True)
        self.addCleanup(stats.close)
        self.assertTrue(stats.ping())

    def test_reading_client_with_big_replies_is_served(self):
        # A client that reads what it asks for is served, however long.
        conn = self.raw()
        for _ in range(100):
            self.assertEqual(self.VALUE, len(conn.call("GET", "big")))
            self.assertEqual(5, len(conn.call("XRANGE", "bigstream", "-", "+")))
        # A pipeline whose replies stay under the limit.
        conn.send(b"".join(RawConnection.encode("GET", "big") for _ in range(5)))
        for _ in range(5):
            self.assertEqual(self.VALUE, len(conn.read_reply()))
        self.assertEqual("PONG", conn.call("PING"))


class ManyClientsTests(LimitsTestCase):
    CLIENTS = 500

    def test_500_concurrent_clients(self):
        base = info_field(self.srv, "clients", "connected_clients")
        conns = []
        try:
            for _ in range(self.CLIENTS):
                conns.append(RawConnection(self.srv.host, self.srv.port, timeout=30))
            prefix = self.k()

            def work(i):
                c = conns[i]
                key = "%s:%d" % (prefix, i)
                # One request at a time: this is about connections, not
                # pipelining (test_resp covers that).
                replies = [c.call("SET", key, str(i)), c.call("GET", key),
                           c.call("XADD", prefix + ":s", "*", "client", str(i)), c.call("PING")]
                return i, replies

            with concurrent.futures.ThreadPoolExecutor(max_workers=25) as pool:
                results = list(pool.map(work, range(self.CLIENTS)))
            for i, replies in results:
                self.assertEqual("OK", replies[0])
                self.assertEqual(str(i).encode(), replies[1])
                self.assertIsInstance(replies[2], bytes)
                self.assertEqual("PONG", replies[3])
            # Every one of them is still connected (a count taken before they
            # opened would include earlier clients whose close is still on its
            # way, so only the lower bound is exact).
            self.assertGreaterEqual(info_field(self.srv, "clients", "connected_clients"), self.CLIENTS)
            r = self.srv.client(single_connection_client=True)
            self.addCleanup(r.close)
            self.assertEqual(self.CLIENTS, r.xlen(prefix + ":s"))
            self.assertEqual(self.CLIENTS, len(r.keys(prefix + ":[0-9]*")))
        finally:
            for c in conns:
                c.close()
        wait_for(lambda: info_field(self.srv, "clients", "connected_clients") <= base + 1,
                 what="closed connections to be no longer counted")


class MaxClientsTests(LimitsTestCase):
    MAX = 10

    @classmethod
    def setUpClass(cls):
        cls.server = RedcarServer(maxclients=cls.MAX)
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        stop_checked(cls.server)

    def test_eleventh_client_refused(self):
        # The start-up probe's connection may take a moment to be forgotten.
        wait_for(lambda: info_field(self.srv, "clients", "connected_clients") <= 1, what="the clients to leave")
        conns = []
        for _ in range(self.MAX):
            c = self.raw()
            self.assertEqual("PONG", c.call("PING"))
            conns.append(c)
        extra = self.raw()
        try:
            reply = extra.read_reply()
        except (EOFError, ConnectionResetError) as e:
            self.fail("closed without the error reply: %s" % type(e).__name__)
        self.assertEqual(RespError("ERR max number of clients reached"), reply)
        self.assertEqual(b"-ERR max number of clients reached\r\n", extra.last_bytes)
        self.assertTrue(extra.is_closed_by_peer())
        # redis-py tells its user the same.
        with self.assertRaises(redis.ConnectionError):
            self.srv.client(single_connection_client=True).ping()
        # The clients already in are unaffected.
        for c in conns:
            self.assertEqual("PONG", c.call("PING"))
        rejected = [line for line in conns[0].call("INFO", "stats").split(b"\r\n")
                    if line.startswith(b"rejected_connections:")]
        self.assertGreaterEqual(int(rejected[0].split(b":")[1]), 2)
        # A slot freed is a slot available again.
        conns.pop().close()

        def admitted():
            c = RawConnection(self.srv.host, self.srv.port)
            try:
                return c.call("PING") == "PONG"
            except (EOFError, OSError):
                return False
            finally:
                c.close()
        wait_for(admitted, timeout=10, interval=0.2, what="a client to be admitted again")


if __name__ == "__main__":
    unittest.main(verbosity=2)
