"""MULTI/EXEC/WATCH through redis-py, as applications use them: transactional
pipelines (redis-py's default), the WATCH retry loop of r.transaction(), many
clients at once, and what a crash leaves of a transaction.

- Isolation: while one client runs MULTI INCR x INCR y EXEC over and over,
  others never read x and y apart; the same for two streams on different
  shards (an aggregate's events and its outbox), read inside a transaction.
- WATCH: concurrent read-modify-write loops lose no update.
- Crashes: the server kills itself at a named point of a commit
  (REDCAR_CRASH_AT, engine/api/transactions.cc): before any commit mark the
  transaction is gone after a restart, on every shard; after the decision
  it is there on every shard. And SIGKILLs at random moments under a stream
  of transactions leave each one whole or absent.

The streams "orders" and "outbox" live on different shards of a 2-shard
server (xxh3 of the name, modulo 2: 1 and 0); the key-value shard is 0.

Run: REDCAR_BIN=build/bin/redcar /usr/bin/python3 -m unittest -v test_resp_transactions
"""

import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import redis  # noqa: E402  (Debian python3-redis)

from redcar_server import RedcarServer, start_server  # noqa: E402

SERVER = None
ON_SHARD_1 = "orders"
ON_SHARD_0 = "outbox"
KILL_CYCLES = int(os.environ.get("REDCAR_TXN_KILL_CYCLES", "3"))


def setUpModule():
    global SERVER
    SERVER = start_server()


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()


def fields_n(entries):
    return [int(f[b"n"]) for _, f in entries]


class Pipelines(unittest.TestCase):
    def setUp(self):
        self.r = SERVER.client()
        self.k = self.id().rsplit(".", 1)[-1]

    def tearDown(self):
        self.r.close()

    def test_transactional_pipeline_answers_each_command(self):
        k = self.k
        p = self.r.pipeline()  # transaction=True: MULTI ... EXEC
        p.set(k + ":a", "1").incr(k + ":a").get(k + ":a")
        p.xadd(k + ":s", {"f": "v"}, id="1-1").xlen(k + ":s")
        self.assertEqual(p.execute(), [True, 2, b"2", b"1-1", 1])

    def test_error_inside_exec_is_that_commands_answer(self):
        k = self.k
        self.r.set(k + ":word", "hello")
        p = self.r.pipeline()
        p.set(k + ":a", "x").incr(k + ":word").set(k + ":b", "y")
        out = p.execute(raise_on_error=False)
        self.assertTrue(out[0])
        self.assertIsInstance(out[1], redis.ResponseError)
        self.assertIn("not an integer", str(out[1]))
        self.assertTrue(out[2])
        self.assertEqual(self.r.mget(k + ":a", k + ":b"), [b"x", b"y"])

    def test_refused_command_aborts_the_whole_transaction(self):
        k = self.k
        p = self.r.pipeline()
        p.set(k + ":a", "never")
        p.execute_command("NOSUCHCOMMAND")
        # redis-py reports the queueing error that made EXEC abort.
        with self.assertRaises(redis.ResponseError) as e:
            p.execute()
        self.assertIn("unknown command 'NOSUCHCOMMAND'", str(e.exception))
        self.assertIsNone(self.r.get(k + ":a"))

    def test_watch_retry_loop_loses_no_update(self):
        key = self.k + ":counter"
        self.r.set(key, 0)
        threads, per_thread, conflicts = 4, 25, []

        def work():
            c = SERVER.client()
            lost = 0

            def bump(pipe):
                nonlocal lost
                value = int(pipe.get(key))
                pipe.multi()
                pipe.set(key, value + 1)
            for _ in range(per_thread):
                # transaction() retries on WatchError.
                c.transaction(bump, key)
            conflicts.append(lost)
            c.close()

        ts = [threading.Thread(target=work) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        self.assertEqual(len(conflicts), threads, "a worker did not finish")
        self.assertEqual(int(self.r.get(key)), threads * per_thread)

    def test_watched_key_changed_raises_watch_error(self):
        key = self.k
        other = SERVER.client()
        with self.r.pipeline() as p:
            p.watch(key)
            other.set(key, "theirs")
            p.multi()
            p.set(key, "mine")
            with self.assertRaises(redis.WatchError):
                p.execute()
        self.assertEqual(self.r.get(key), b"theirs")
        other.close()


    def test_client_pause_write_holds_an_exec_that_writes(self):
        k = self.k
        other = SERVER.client()
        self.r.set(k, "before")
        self.assertTrue(self.r.execute_command("CLIENT", "PAUSE", "20000", "WRITE"))
        try:
            # Reading only: not held.
            p = other.pipeline()
            p.get(k)
            self.assertEqual(p.execute(), [b"before"])
            done = []

            def write():
                p = other.pipeline()
                p.set(k, "during").get(k)
                done.append(p.execute())

            t = threading.Thread(target=write)
            t.start()
            t.join(0.5)
            self.assertTrue(t.is_alive(), "EXEC of a write ran during CLIENT PAUSE WRITE")
            self.assertEqual(self.r.get(k), b"before")
        finally:
            self.r.execute_command("CLIENT", "UNPAUSE")
        t.join(30)
        self.assertEqual(done, [[True, b"during"]])
        other.close()


class Isolation(unittest.TestCase):
    """Readers never see a transaction half done."""

    def run_against(self, write, read, rounds=300):
        stop = threading.Event()
        errors = []

        def writer():
            c = SERVER.client()
            try:
                for _ in range(rounds):
                    write(c)
            except Exception as e:  # noqa: BLE001
                errors.append(e)
            finally:
                stop.set()
                c.close()

        t = threading.Thread(target=writer)
        t.start()
        c = SERVER.client()
        reads = 0
        try:
            while not stop.is_set():
                a, b = read(c)
                self.assertEqual(a, b, "read between a transaction's writes")
                reads += 1
        finally:
            stop.set()
            t.join(120)
            c.close()
        self.assertEqual(errors, [])
        self.assertGreater(reads, 10)

    def test_strings_never_seen_apart(self):
        r = SERVER.client()
        r.mset({"iso:x": 0, "iso:y": 0})
        r.close()

        def write(c):
            p = c.pipeline()
            p.incr("iso:x").incr("iso:y")
            p.execute()

        self.run_against(write, lambda c: c.mget("iso:x", "iso:y"))

    def test_streams_on_two_shards_never_seen_apart(self):
        def write(c):
            p = c.pipeline()
            p.xadd("iso:" + ON_SHARD_1, {"f": "v"}).xadd("iso:" + ON_SHARD_0, {"f": "v"})
            p.execute()

        def read(c):
            p = c.pipeline()
            p.xlen("iso:" + ON_SHARD_1).xlen("iso:" + ON_SHARD_0)
            return p.execute()

        self.run_against(write, read, rounds=200)


class Crashes(unittest.TestCase):
    """What a crash leaves of a transaction: all of it or none, on every shard."""

    def setUp(self):
        if os.environ.get("REDCAR_REFERENCE_SERVER"):
            self.skipTest("redcar's own crash points and data folder")

    def exec_both_shards(self, srv, tag):
        c = srv.client(socket_timeout=10)
        p = c.pipeline()
        p.set("k:" + tag, "written")
        p.xadd(ON_SHARD_1, {"tag": tag})
        p.xadd(ON_SHARD_0, {"tag": tag})
        try:
            p.execute()
            return True
        except (redis.ConnectionError, redis.TimeoutError):
            return False
        finally:
            c.close()

    def state(self, srv, tag):
        c = srv.client()
        try:
            return (c.get("k:" + tag),
                    [f[b"tag"] for _, f in c.xrange(ON_SHARD_1)],
                    [f[b"tag"] for _, f in c.xrange(ON_SHARD_0)])
        finally:
            c.close()

    def crash_at(self, point):
        srv = RedcarServer(env={"REDCAR_CRASH_AT": point})
        try:
            srv.start()
            # A transaction on one shard commits with its own mark, before
            # the crash point of a transaction spanning shards.
            c = srv.client()
            c.xadd(ON_SHARD_1, {"tag": "before"})
            c.xadd(ON_SHARD_0, {"tag": "before"})
            c.close()
            self.assertFalse(self.exec_both_shards(srv, "t1"), "the server should have died in EXEC")
            srv.stop()
            self.assertEqual(srv.last_exit_code, -9)
            srv.env = {}
            srv.start()
            return self.state(srv, "t1"), srv.log_text()
        finally:
            srv.cleanup()

    def test_crash_before_the_commit_leaves_nothing(self):
        (value, orders, outbox), log = self.crash_at("txn-before-commit")
        self.assertIsNone(value)
        self.assertEqual(orders, [b"before"])
        self.assertEqual(outbox, [b"before"])
        self.assertIn("never committed", log)

    def test_crash_after_the_decision_keeps_everything(self):
        (value, orders, outbox), log = self.crash_at("txn-after-decision")
        self.assertEqual(value, b"written")
        self.assertEqual(orders, [b"before", b"t1"])
        self.assertEqual(outbox, [b"before", b"t1"])
        self.assertIn("committed before the stop", log)

    def test_sigkill_under_a_stream_of_transactions(self):
        """Each EXEC increments a counter and appends its number to a stream
        on each shard. After any kill, the three agree."""
        srv = RedcarServer()
        try:
            srv.start()
            acked = 0
            for cycle in range(KILL_CYCLES):
                base = acked
                stop = threading.Event()
                progress = []

                def writer():
                    c = srv.client(socket_timeout=5)
                    try:
                        while not stop.is_set():
                            # The number each EXEC appends is the counter's
                            # value after it, known before EXEC since this
                            # client is the only writer.
                            cur = len(progress) + base + 1
                            p = c.pipeline()
                            p.incr("m").xadd(ON_SHARD_1, {"n": cur}).xadd(ON_SHARD_0, {"n": cur})
                            res = p.execute()
                            progress.append(res[0])
                    except (redis.ConnectionError, redis.TimeoutError):
                        pass
                    finally:
                        c.close()

                t = threading.Thread(target=writer)
                t.start()
                time.sleep(0.3 + random.random() * 0.7)
                srv.proc.kill()
                srv.proc.wait()
                stop.set()
                t.join(30)
                srv.proc = None
                srv.start()
                c = srv.client()
                m = int(c.get("m") or 0)
                orders = fields_n(c.xrange(ON_SHARD_1))
                outbox = fields_n(c.xrange(ON_SHARD_0))
                c.close()
                self.assertEqual(orders, list(range(1, m + 1)))
                # Every acknowledged EXEC is there, and each is there whole.
                if progress:
                    self.assertGreaterEqual(m, progress[-1], "cycle %d lost an acknowledged EXEC" % cycle)
                self.assertGreaterEqual(m, acked)
                self.assertEqual(len(orders), m, "cycle %d: counter and stream on shard 1 disagree" % cycle)
                self.assertEqual(orders, outbox, "cycle %d: the two shards disagree" % cycle)
                acked = m
            self.assertGreater(acked, 0)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
