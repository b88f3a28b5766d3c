"""Starts and stops a real redcar server for integration tests.

    with RedcarServer(requirepass="pw") as srv:
        r = srv.client()          # a redis.Redis bound to srv.host:srv.port
        ...
        srv.restart()             # SIGTERM, then start again on the same data

The binary comes from $REDCAR_BIN (CTest sets it). The server listens on
127.0.0.1 on a port it picks itself (--resp-addr 127.0.0.1:0); the port is
read from its "RESP listening on ... (port N)" log line, so there is no race
for a free port. Each server gets a fresh folder from tempfile.mkdtemp holding
its data folder and its log; cleanup() removes it. Processes are only ever
signalled by the pid this helper started.

For checking the tests themselves, $REDCAR_REFERENCE_SERVER may name a
redis-server binary: the same tests then run against real Redis (with an
append-only file synced on every write), which shows whether an expectation is
Redis' behaviour or a mistake in the test. Tests that only make sense for
redcar check `srv.is_reference`.

With grpc=True the gRPC front end listens too (--grpc-addr 127.0.0.1:0, the
port read from its "gRPC listening on ... (port N)" line); `grpc_port` and
`grpc_url` say where. A restart binds the same gRPC port again, so a client
that reconnects finds the server where it was.

Also here: RawConnection, a socket speaking RESP2/RESP3 byte for byte, for the
tests that must see the exact bytes of a reply or send malformed frames.
"""

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

HOST = "127.0.0.1"
_PORT_LINE = re.compile(r"RESP listening on \S+ \(port (\d+)\)")
_GRPC_PORT_LINE = re.compile(r"gRPC listening on \S+ \(port (\d+)\)")


def _die_with_parent():
    """Runs in the child before exec: if the test process dies (a CTest
    timeout kills it), the server gets SIGKILL rather than living on."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def redcar_binary():
    path = os.environ.get("REDCAR_BIN", "")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        guess = os.path.join(here, "..", "..", "build", "bin", "redcar")
        path = os.path.normpath(guess)
    if not os.access(path, os.X_OK):
        raise RuntimeError("redcar binary not found: set REDCAR_BIN (tried %s)" % path)
    return path


class ServerError(Exception):
    pass


class RedcarServer:
    """One redcar process on a temporary data folder."""

    def __init__(self, requirepass=None, maxclients=None, proto_max_bulk_len=None,
                 client_output_limit=None, dialect=None, shards=2, extra_args=(),
                 start_timeout=30.0, grpc=False, env=None):
        self.reference = os.environ.get("REDCAR_REFERENCE_SERVER", "")
        self.binary = self.reference or redcar_binary()
        self.requirepass = requirepass
        self.maxclients = maxclients
        self.proto_max_bulk_len = proto_max_bulk_len
        self.client_output_limit = client_output_limit
        self.dialect = dialect
        self.shards = shards
        self.extra_args = list(extra_args)
        # Added to the server's environment (REDCAR_CRASH_AT for crash tests).
        self.env = dict(env or {})
        self.start_timeout = start_timeout
        self.base_dir = tempfile.mkdtemp(prefix="redcar-it-")
        self.data_dir = os.path.join(self.base_dir, "data")
        os.mkdir(self.data_dir)
        self.host = HOST
        self.port = None
        self.grpc = grpc
        self.grpc_port = None
        self.proc = None
        self.starts = 0
        self.last_exit_code = None
        self.last_stop_killed = False
        self.last_stop_seconds = None

    @property
    def is_reference(self):
        return bool(self.reference)

    @property
    def grpc_url(self):
        return "http://%s:%d" % (HOST, self.grpc_port)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_path(self, n=None):
        return os.path.join(self.base_dir, "server-%d.log" % (self.starts if n is None else n))

    def log_text(self, n=None):
        try:
            with open(self.log_path(n), "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # --- command lines -------------------------------------------------

    def _redcar_args(self, port):
        args = [self.binary, "--data-dir", self.data_dir,
                "--resp-addr", "%s:%d" % (HOST, port),
                "--grpc-addr", "%s:%d" % (HOST, self.grpc_port or 0) if self.grpc else "",
                "--http-addr", "",
                "--segment-bytes", "1048576", "--shards", str(self.shards),
                "-o", "stdout"]
        if self.requirepass is not None:
            args += ["--requirepass", self.requirepass]
        if self.maxclients is not None:
            args += ["--maxclients", str(self.maxclients)]
        if self.proto_max_bulk_len is not None:
            args += ["--proto-max-bulk-len", str(self.proto_max_bulk_len)]
        if self.client_output_limit is not None:
            args += ["--client-output-limit", str(self.client_output_limit)]
        if self.dialect is not None:
            args += ["--resp-dialect", self.dialect]
        return args + self.extra_args

    def _reference_args(self, port):
        args = [self.binary, "--port", str(port), "--bind", HOST, "--dir", self.data_dir,
                "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                "--daemonize", "no", "--logfile", ""]
        if self.requirepass is not None:
            args += ["--requirepass", self.requirepass]
        if self.maxclients is not None:
            args += ["--maxclients", str(self.maxclients)]
        if self.proto_max_bulk_len is not None:
            # Redis does not go below 1 MB.
            args += ["--proto-max-bulk-len", str(max(self.proto_max_bulk_len, 1 << 20))]
        if self.client_output_limit is not None:
            n = str(self.client_output_limit)
            args += ["--client-output-buffer-limit", "normal %s %s 0" % (n, n)]
        return args

    @staticmethod
    def _free_port():
        with socket.socket() as s:
            s.bind((HOST, 0))
            return s.getsockname()[1]

    # --- life cycle ----------------------------------------------------

    def start(self):
        if self.running:
            raise ServerError("already running")
        self.starts += 1
        if self.is_reference:
            port = self._free_port()
            args = self._reference_args(port)
        else:
            port = 0
            args = self._redcar_args(0)
        log = open(self.log_path(), "wb")
        try:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.base_dir,
                                         env={**os.environ, **self.env},
                                         preexec_fn=_die_with_parent)
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise ServerError("server exited with %s during start:\n%s" % (code, self.log_text()))
            if self.is_reference:
                if self._connectable(port):
                    self.port = port
                    return self
            else:
                log = self.log_text()
                m = _PORT_LINE.search(log)
                g = _GRPC_PORT_LINE.search(log) if self.grpc else None
                if m and self._connectable(int(m.group(1))) and (
                        not self.grpc or (g and self._connectable(int(g.group(1))))):
                    self.port = int(m.group(1))
                    if self.grpc:
                        self.grpc_port = int(g.group(1))
                    return self
            time.sleep(0.02)
        self._kill()
        raise ServerError("server did not start listening within %.0f s:\n%s"
                          % (self.start_timeout, self.log_text()))

    def _connectable(self, port):
        try:
            with socket.create_connection((HOST, port), timeout=1.0):
                return True
        except OSError:
            return False

    def _kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def stop(self, timeout=10.0):
        """SIGTERM, wait up to `timeout` s, then SIGKILL. Returns the exit code
        (negative: killed by that signal)."""
        if self.proc is None:
            return self.last_exit_code
        t0 = time.monotonic()
        self.last_stop_killed = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.last_stop_killed = True
                self.proc.kill()
                self.proc.wait()
        self.last_stop_seconds = time.monotonic() - t0
        self.last_exit_code = self.proc.returncode
        self.proc = None
        return self.last_exit_code

    def stopped_cleanly(self):
        """True when the last stop() ended with exit 0 and, for redcar, the
        log says so."""
        if self.last_exit_code != 0 or self.last_stop_killed:
            return False
        return self.is_reference or "redcar stopped cleanly" in self.log_text()

    def restart(self):
        self.stop()
        return self.start()

    def stop_for_a_restart(self, kill):
        """Stops the server as a test of durability wants it: by SIGKILL
        (`kill`), or cleanly; raises if it did not stop that way."""
        if kill:
            os.kill(self.pid, signal.SIGKILL)
            self.stop()
            if self.last_exit_code != -signal.SIGKILL:
                raise AssertionError("exit %r after SIGKILL" % self.last_exit_code)
        else:
            self.stop()
            if not self.stopped_cleanly():
                raise AssertionError("not stopped cleanly (exit %r)" % self.last_exit_code)

    def cleanup(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # --- clients -------------------------------------------------------

    def client(self, **kwargs):
        import redis
        kwargs.setdefault("socket_timeout", 30)
        kwargs.setdefault("socket_connect_timeout", 10)
        return redis.Redis(host=self.host, port=self.port, **kwargs)

    def raw(self, timeout=10.0, rcvbuf=None):
        return RawConnection(self.host, self.port, timeout, rcvbuf)

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise ServerError("no VmRSS")


def wait_for(pred, timeout=30.0, what="the condition", interval=0.02):
    """Polls `pred` every `interval` s until it is true; fails the test
    after `timeout` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(interval)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


class OwnServerCase(unittest.TestCase):
    """Tests that restart or kill a redcar of their own (self.srv, started
    with `server_options`), so not against a reference server."""

    server_options = {"grpc": True}

    def setUp(self):
        if os.environ.get("REDCAR_REFERENCE_SERVER"):
            self.skipTest("redcar's own restarts and data folder")
        self.srv = RedcarServer(**self.server_options)
        self.addCleanup(self.srv.cleanup)
        self.srv.start()


def start_server(**kwargs):
    """A started server (a test module's shared one, in setUpModule); on a
    failed start its folder is removed and the error raised."""
    srv = RedcarServer(**kwargs)
    try:
        srv.start()
    except BaseException:
        srv.cleanup()
        raise
    return srv


# --- a raw RESP connection ---------------------------------------------


class RespError:
    """An error reply (returned, not raised, so tests can compare it)."""

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, RespError) and other.text == self.text

    def __repr__(self):
        return "RespError(%r)" % self.text


class Push(list):
    """A RESP3 push ('>')."""


class Verbatim(bytes):
    """A RESP3 verbatim string ('='); `fmt` holds its three-letter format."""
    fmt = b""


class RespSet(list):
    """A RESP3 set ('~')."""


class RespMap(list):
    """A RESP3 map ('%'): a list of (key, value) pairs, order kept."""

    def as_dict(self):
        return dict(self)


class ProtocolViolation(Exception):
    pass


class RawConnection:
    """A blocking socket that sends exact bytes and reads one reply at a
    time, keeping the bytes it consumed (`last_bytes`) for byte-level checks."""

    def __init__(self, host, port, timeout=10.0, rcvbuf=None):
        """`rcvbuf` sets SO_RCVBUF before connecting (a small one makes a
        client that does not read stall its sender sooner)."""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if rcvbuf:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            self.sock.close()
            raise
        self.buf = b""
        self.last_bytes = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def send(self, data):
        self.sock.sendall(data)

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, int):
                a = str(a).encode()
            elif isinstance(a, str):
                a = a.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def call(self, *args):
        self.send(self.encode(*args))
        return self.read_reply()

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise EOFError("connection closed by server")
        self.buf += chunk

    def _line(self, pos):
        while True:
            end = self.buf.find(b"\r\n", pos)
            if end >= 0:
                return self.buf[pos:end], end + 2
            self._fill()

    def _need(self, n):
        while len(self.buf) < n:
            self._fill()

    def read_reply(self):
        value, end = self._parse(0)
        self.last_bytes = self.buf[:end]
        self.buf = self.buf[end:]
        return value

    def _parse(self, pos):
        line, pos = self._line(pos)
        if not line:
            raise ProtocolViolation("empty reply line")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode(), pos
        if kind == b"-":
            return RespError(rest.decode()), pos
        if kind == b":":
            return int(rest), pos
        if kind == b",":
            return float(rest), pos
        if kind == b"#":
            return rest == b"t", pos
        if kind == b"(":
            return int(rest), pos
        if kind == b"_":
            return None, pos
        if kind in (b"$", b"=", b"!"):
            n = int(rest)
            if n < 0:
                return None, pos
            self._need(pos + n + 2)
            data = self.buf[pos:pos + n]
            if self.buf[pos + n:pos + n + 2] != b"\r\n":
                raise ProtocolViolation("bulk not terminated by CRLF")
            pos += n + 2
            if kind == b"=":
                v = Verbatim(data[4:])
                v.fmt = data[:3]
                return v, pos
            if kind == b"!":
                return RespError(data.decode()), pos
            return data, pos
        if kind in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return None, pos
            items = []
            for _ in range(n):
                v, pos = self._parse(pos)
                items.append(v)
            if kind == b"~":
                return RespSet(items), pos
            if kind == b">":
                return Push(items), pos
            return items, pos
        if kind in (b"%", b"|"):
            n = int(rest)
            pairs = RespMap()
            for _ in range(n):
                k, pos = self._parse(pos)
                v, pos = self._parse(pos)
                pairs.append((k, v))
            if kind == b"|":  # attribute: skip it, the reply follows
                return self._parse(pos)
            return pairs, pos
        raise ProtocolViolation("unknown reply type %r" % line[:20])

    def read_until_closed(self, timeout=10.0, limit=1 << 30):
        """Reads until the server closes; returns (bytes read, how it ended:
        'eof', 'reset' or 'timeout')."""
        self.sock.settimeout(0.5)
        got = len(self.buf)
        self.buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and got < limit:
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return got, "reset"
            if not chunk:
                return got, "eof"
            got += len(chunk)
        return got, "timeout"

    def is_closed_by_peer(self, timeout=5.0):
        """True when the server has closed the connection (EOF or reset)
        within `timeout`, after any bytes still queued."""
        _, how = self.read_until_closed(timeout)
        return how in ("eof", "reset")
