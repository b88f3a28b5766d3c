"""TLS with client-certificate verification on the RESP listener, and the
event-store subscription's catch-up-then-live switch under a live producer.

TLS: certificates are made with openssl in a temporary folder (a CA, a
server certificate for 127.0.0.1, a client certificate the CA signed, and one
it did not). The server requires a client certificate from that CA.

Subscriptions: a producer publishes while a subscriber starts from event 0;
the subscriber must see every number exactly once, in order, across the
switch from reading the log to following live appends.
"""
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import unittest

import redis

from redcar_server import RedcarServer


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)


def make_certificates(folder):
    """CA, server (CN/SAN 127.0.0.1), client signed by the CA, and a client from another CA."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-subj", "/CN=redcar-test-ca", "-days", "2", cwd=folder)
    with open(os.path.join(folder, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    for name, cn in (("server", "127.0.0.1"), ("client", "redcar-test-client")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                 "-subj", "/CN=" + cn, cwd=folder)
        extra = ["-extfile", "san.ext"] if name == "server" else []
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", name + ".crt", "-days", "2", *extra, cwd=folder)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue.key", "-out", "rogue.crt",
             "-subj", "/CN=rogue", "-days", "2", cwd=folder)


class TlsTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.environ.get("REDCAR_REFERENCE_SERVER"):
            raise unittest.SkipTest("flags are redcar's")
        cls.certs = tempfile.mkdtemp(prefix="redcar-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.certs, True)
        make_certificates(cls.certs)
        c = lambda n: os.path.join(cls.certs, n)
        cls.server = RedcarServer(extra_args=["--tls-cert", c("server.crt"), "--tls-key", c("server.key"),
                                              "--tls-client-ca", c("ca.crt")])
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    def path(self, name):
        return os.path.join(self.certs, name)

    def tls_client(self, cert="client", **kwargs):
        args = dict(host=self.server.host, port=self.server.port, ssl=True, ssl_ca_certs=self.path("ca.crt"),
                    ssl_cert_reqs="required", socket_timeout=10, socket_connect_timeout=10)
        if cert:
            args.update(ssl_certfile=self.path(cert + ".crt"), ssl_keyfile=self.path(cert + ".key"))
        args.update(kwargs)
        return redis.Redis(**args)

    def test_client_with_certificate_works(self):
        r = self.tls_client()
        self.addCleanup(r.close)
        self.assertTrue(r.ping())
        self.assertTrue(r.set("tls:k", "v"))
        self.assertEqual(b"v", r.get("tls:k"))
        entry_id = r.xadd("tls:s", {"f": "v"})
        self.assertEqual([(entry_id, {b"f": b"v"})], r.xrange("tls:s"))

    def test_client_without_certificate_is_refused(self):
        r = self.tls_client(cert=None)
        self.addCleanup(r.close)
        with self.assertRaises((redis.exceptions.ConnectionError, ssl.SSLError, OSError)):
            r.ping()

    def test_client_with_certificate_from_another_ca_is_refused(self):
        r = self.tls_client(cert="rogue")
        self.addCleanup(r.close)
        with self.assertRaises((redis.exceptions.ConnectionError, ssl.SSLError, OSError)):
            r.ping()

    def test_plain_text_client_gets_nothing(self):
        r = redis.Redis(host=self.server.host, port=self.server.port, socket_timeout=5, socket_connect_timeout=5)
        self.addCleanup(r.close)
        with self.assertRaises((redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)):
            r.ping()

    def test_redis_cli_over_tls(self):
        out = subprocess.run(["redis-cli", "-h", self.server.host, "-p", str(self.server.port), "--tls",
                              "--cacert", self.path("ca.crt"), "--cert", self.path("client.crt"),
                              "--key", self.path("client.key"), "ping"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual("PONG", out.stdout.strip(), out.stderr)


class SubscriptionSwitchTests(unittest.TestCase):
    """subscribe STREAM:0 while a producer writes: no gap, no duplicate."""

    @classmethod
    def setUpClass(cls):
        if os.environ.get("REDCAR_REFERENCE_SERVER"):
            raise unittest.SkipTest("redcar's own verbs")
        cls.server = RedcarServer(dialect="events")
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    def publish(self, streams, count, started):
        conn = self.server.raw()
        try:
            for i in range(count):
                for s in streams:
                    conn.call("publish", s, "tick", str(i))
                if i == count // 3:
                    started.set()
        finally:
            conn.close()

    def collect(self, sub, want):
        """Reads pushes until `want` (stream -> last number) is reached."""
        seen = {}
        while any(seen.get(s, [-1])[-1] < n for s, n in want.items()):
            msg = sub.read_reply()
            self.assertEqual(b"event", msg[0], msg)
            seen.setdefault(msg[1].decode(), []).append(msg[2])
        return seen

    def test_one_stream_catch_up_then_live(self):
        total = 3000
        started = threading.Event()
        producer = threading.Thread(target=self.publish, args=(["switch"], total, started))
        producer.start()
        self.addCleanup(producer.join, 60)
        self.assertTrue(started.wait(60))
        sub = self.server.raw(timeout=60)
        self.addCleanup(sub.close)
        self.assertEqual([b"subscribe", b"switch:0", 1], sub.call("subscribe", "switch:0"))
        seen = self.collect(sub, {"switch": total - 1})
        self.assertEqual(list(range(total)), seen["switch"])

    def test_all_streams_catch_up_then_live(self):
        total = 1000
        streams = ["all-a", "all-b", "all-c"]
        started = threading.Event()
        producer = threading.Thread(target=self.publish, args=(streams, total, started))
        producer.start()
        self.addCleanup(producer.join, 60)
        self.assertTrue(started.wait(60))
        sub = self.server.raw(timeout=60)
        self.addCleanup(sub.close)
        self.assertEqual([b"subscribe", b"*", 1], sub.call("subscribe", "*"))
        seen = self.collect(sub, {s: total - 1 for s in streams})
        for s in streams:
            self.assertEqual(list(range(total)), seen[s], s)


if __name__ == "__main__":
    unittest.main()
