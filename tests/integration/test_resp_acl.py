"""ACL users as redis-py drives them: acl_setuser with key and channel
patterns and command categories, a connection logged in with a username
(AUTH user pass, as redis-py sends it on connect), NOPERM errors, acl_log,
acl_deluser closing the user's connections, and --requirepass as the
default user's password.

Runs under Debian's /usr/bin/python3. REDCAR_REFERENCE_SERVER=/usr/bin/redis-server
runs it against Redis itself."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import redis  # noqa: E402

from redcar_server import RedcarServer, start_server, wait_for  # noqa: E402


def setUpModule():
    global SERVER
    SERVER = start_server()


def tearDownModule():
    SERVER.cleanup()


class Users(unittest.TestCase):

    def setUp(self):
        self.admin = SERVER.client()
        for name in self.admin.acl_users():
            if name != "default":
                self.admin.acl_deluser(name)
        self.admin.acl_log_reset()

    def tearDown(self):
        self.admin.close()

    def test_a_user_sees_only_its_keys_and_commands(self):
        a = self.admin
        self.assertTrue(a.acl_setuser("orders-svc", enabled=True, passwords=["+s3cret"],
                                      keys=["orders:*"], channels=["orders.*"],
                                      commands=["+@read", "+@write", "+@stream", "-@dangerous", "+ping",
                                                "+publish"]))
        u = SERVER.client(username="orders-svc", password="s3cret")
        try:
            self.assertTrue(u.ping())
            u.set("orders:1", "new")
            self.assertEqual(u.get("orders:1"), b"new")
            u.xadd("orders:events", {"type": "created"})
            self.assertEqual(u.xlen("orders:events"), 1)
            with self.assertRaises(redis.exceptions.NoPermissionError) as e:
                u.get("billing:1")
            self.assertIn("no permissions to access one of the keys", str(e.exception))
            with self.assertRaises(redis.exceptions.NoPermissionError):
                u.flushall()
            with self.assertRaises(redis.exceptions.NoPermissionError):
                u.publish("billing.done", "x")
            self.assertEqual(u.publish("orders.created", "x"), 0)
        finally:
            u.close()
        entries = a.acl_log()
        self.assertGreaterEqual(len(entries), 3)
        self.assertEqual(entries[-1]["reason"], "key")
        self.assertEqual(entries[-1]["object"], "billing:1")
        self.assertEqual(entries[-1]["username"], "orders-svc")

    def test_a_wrong_password_and_a_disabled_user_are_refused(self):
        a = self.admin
        a.acl_setuser("temp", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all"])
        # redis-py sends AUTH on connect and raises the reply as it is.
        with self.assertRaisesRegex(redis.exceptions.ResponseError, "^WRONGPASS"):
            SERVER.client(username="temp", password="wrong").ping()
        a.acl_setuser("temp", enabled=False)
        with self.assertRaisesRegex(redis.exceptions.ResponseError, "^WRONGPASS"):
            SERVER.client(username="temp", password="pw").ping()
        user = a.acl_getuser("temp")
        self.assertIn("off", user["flags"])
        self.assertEqual(len(user["passwords"]), 1)

    def test_deleting_a_user_closes_its_connections(self):
        a = self.admin
        a.acl_setuser("gone", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all"])
        u = SERVER.client(username="gone", password="pw", retry_on_timeout=False)
        self.assertTrue(u.ping())
        self.assertEqual(a.acl_deluser("gone"), 1)

        def closed():
            try:
                u.ping()
                return False
            except redis.exceptions.ConnectionError:
                return True
            except redis.exceptions.ResponseError as e:
                # Reconnected, and the user is no more.
                self.assertIn("WRONGPASS", str(e))
                return True
        wait_for(closed, what="the deleted user's connection to close")
        u.close()


class Requirepass(unittest.TestCase):

    def test_requirepass_is_the_default_users_password(self):
        srv = RedcarServer(requirepass="topsecret")
        try:
            srv.start()
            with self.assertRaises(redis.exceptions.AuthenticationError):
                srv.client().ping()
            c = srv.client(password="topsecret")
            self.assertTrue(c.ping())
            self.assertTrue(c.acl_setuser("app", enabled=True, passwords=["+apppw"], keys=["*"], commands=["+@all"]))
            self.assertEqual(srv.client(username="app", password="apppw").acl_whoami(), "app")
            self.assertEqual(c.acl_whoami(), "default")
            c.close()
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
