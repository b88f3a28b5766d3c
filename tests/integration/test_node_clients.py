"""Two Node.js Redis clients, ioredis and node-redis (npm, pinned in
node/package-lock.json, installed by tools/setup.sh), run ordinary
application code against the server (node/clients.mjs): strings, hashes, databases, pipelines,
MULTI/EXEC, WATCH, streams and consumer groups, a blocking read, pub/sub,
INFO as the clients parse it, FLUSHALL. With
REDCAR_REFERENCE_SERVER=/usr/bin/redis-server the same code runs against
Redis, which is how the scenarios themselves are checked.

Run: REDCAR_BIN=build/bin/redcar /usr/bin/python3 -m unittest -v test_node_clients
"""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from redcar_server import start_server  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.join(HERE, "node")
SERVER = None


def setUpModule():
    global SERVER
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules")):
        raise RuntimeError("the node clients are not installed: run tools/setup.sh")
    SERVER = start_server()


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()


class NodeClients(unittest.TestCase):
    def run_client(self, which):
        node = shutil.which("node")
        self.assertIsNotNone(node, "node is not on PATH")
        p = subprocess.run([node, "clients.mjs", which, str(SERVER.port)], cwd=NODE_DIR,
                           capture_output=True, text=True, timeout=120)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, out)
        for scenario in ("strings", "hashes", "databases", "pipelining", "transactions", "watch", "streams", "blocking_read",
                         "pubsub", "info", "flushall"):
            self.assertIn("ok " + scenario + "\n", p.stdout, out)

    def test_ioredis(self):
        self.run_client("ioredis")

    def test_node_redis(self):
        self.run_client("node-redis")


if __name__ == "__main__":
    unittest.main()
