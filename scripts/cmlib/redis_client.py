"""A small Redis client speaking RESP2, standard library only.

    from cmlib.redis_client import Redis, RedisError

    with Redis("127.0.0.1:6379", password="secret", db=0, timeout=5) as r:
        r.command("SET", "k", "v")               # -> "OK"
        r.command("GET", "k")                    # -> b"v" (str with decode=True)
        r.pipeline([("INCR", "n"), ("GET", "n")])  # -> [1, b"1"]
        r.eval_script(LUA, keys=["k"], args=[1])  # EVALSHA, EVAL on NOSCRIPT

Replies: simple strings are str, integers int, bulk strings bytes (str when
decode is on: UTF-8, undecodable bytes kept as surrogates), nil None, arrays
lists.  An error reply raises ReplyError (its .code is the first word:
"ERR", "NOSCRIPT", "WRONGTYPE", ...); inside an array (EXEC) it is returned
as a ReplyError object.  A connection that fails, times out or breaks raises
RedisConnectionError and is closed; AuthError (one of those) when Redis
refuses the password or wants one.  Every operation, the connect included,
is bounded by the timeout.

The addresses: "HOST:PORT", "HOST" (port 6379), "[IPv6]:PORT", "unix:/path".
"""

import argparse
import hashlib
import os
import socket

DEFAULT_ADDRESS = "127.0.0.1:6379"
DEFAULT_PORT = 6379


class RedisError(Exception):
    """Anything that went wrong talking to Redis."""


class ReplyError(RedisError):
    """An error reply ("-ERR ...") of a command."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message
        self.code = message.split(" ", 1)[0]


class RedisConnectionError(RedisError):
    """Redis cannot be reached, the connection broke, or it timed out."""


class AuthError(RedisConnectionError):
    """Redis refused the password, or needs one that was not given."""


def parse_address(text):
    """("unix", path) or ("tcp", host, port) from an address; ValueError if
    it is not one."""
    if text.startswith("unix:"):
        path = text[len("unix:"):]
        if not path:
            raise ValueError("no socket path in %r" % text)
        return ("unix", path)

    host, port = text, str(DEFAULT_PORT)
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError("unclosed [ in %r" % text)
        host, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError("expected [HOST]:PORT, got %r" % text)
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")

    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("expected HOST:PORT or unix:/path, got %r" % text)

    return ("tcp", host, int(port))


def encode_command(args):
    """The RESP bytes of one command; arguments are str, bytes or numbers."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode("utf-8")
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            a = str(a).encode("ascii")
        elif not isinstance(a, (bytes, bytearray, memoryview)):
            raise TypeError("Redis argument of type %s" % type(a).__name__)
        out.append(b"$%d\r\n" % len(a))
        out.append(bytes(a))
        out.append(b"\r\n")
    return b"".join(out)


class Redis:
    """One connection to Redis, opened by the constructor."""

    def __init__(self, address=DEFAULT_ADDRESS, password=None, username=None,
                 db=0, timeout=5.0, decode=False):
        self.address = address
        self.timeout = timeout
        self.decode = decode
        self._target = parse_address(address)
        self._sock = None
        self._buf = bytearray()
        self._scripts = {}
        self._connect(password, username, db)

    # --- connection ----------------------------------------------------

    def _connect(self, password, username, db):
        try:
            if self._target[0] == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                try:
                    sock.connect(self._target[1])
                except BaseException:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection(self._target[1:],
                                                timeout=self.timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as e:
            raise RedisConnectionError("cannot reach Redis at %s: %s"
                                       % (self.address, _os_reason(e, self.timeout))) from None

        self._sock = sock

        if password is not None:
            auth = ("AUTH", username, password) if username else ("AUTH", password)
            try:
                self.command(*auth)
            except ReplyError as e:
                self.close()
                raise AuthError("Redis at %s refused the password: %s"
                                % (self.address, e.message)) from None

        if db:
            self.command("SELECT", db)

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buf.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _lost(self, what):
        self.close()
        raise RedisConnectionError("lost the connection to Redis at %s: %s"
                                   % (self.address, what)) from None

    # --- commands --------------------------------------------------------

    def command(self, *args, decode=None):
        """Sends one command and returns its reply; an error reply raises."""
        return self.pipeline([args], decode=decode)[0]

    def pipeline(self, commands, decode=None, raise_errors=True):
        """Sends the commands at once and returns their replies in order.
        With raise_errors (the default) the first error reply is raised
        after every reply has been read (so the connection stays usable);
        without, error replies are ReplyError objects in the list."""
        if self._sock is None:
            raise RedisConnectionError("not connected to Redis at %s"
                                       % self.address)
        data = b"".join(encode_command(c) for c in commands)
        try:
            self._sock.sendall(data)
        except OSError as e:
            self._lost(_os_reason(e, self.timeout))

        dec = self.decode if decode is None else decode
        replies = [self._read_reply(dec) for _ in commands]

        for r in replies:
            if isinstance(r, ReplyError) and r.code == "NOAUTH":
                raise AuthError("Redis at %s needs a password: %s"
                                % (self.address, r.message))
        if raise_errors:
            for r in replies:
                if isinstance(r, ReplyError):
                    raise r
        return replies

    def eval_script(self, script, keys=(), args=(), decode=None):
        """Runs a Lua script by its SHA1, sending its text only when Redis
        does not have it yet (NOSCRIPT)."""
        sha = self._scripts.get(script)
        if sha is None:
            sha = hashlib.sha1(script.encode("utf-8")).hexdigest()
            self._scripts[script] = sha
        tail = [len(keys)] + list(keys) + list(args)
        try:
            return self.command("EVALSHA", sha, *tail, decode=decode)
        except ReplyError as e:
            if e.code != "NOSCRIPT":
                raise
        return self.command("EVAL", script, *tail, decode=decode)

    # --- replies ---------------------------------------------------------

    def _fill(self):
        try:
            chunk = self._sock.recv(65536)
        except OSError as e:
            self._lost(_os_reason(e, self.timeout))
        if not chunk:
            self._lost("closed by the server")
        self._buf += chunk

    def _read_line(self):
        while True:
            end = self._buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[:end + 2]
                return line
            self._fill()

    def _read_exact(self, n):
        while len(self._buf) < n + 2:
            self._fill()
        data = bytes(self._buf[:n])
        del self._buf[:n + 2]
        return data

    def _read_reply(self, decode):
        line = self._read_line()
        kind, rest = line[:1], line[1:]

        if kind == b"+":
            return rest.decode("utf-8", "replace")
        if kind == b"-":
            return ReplyError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self._read_exact(n)
            return data.decode("utf-8", "surrogateescape") if decode else data
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._read_reply(decode) for _ in range(n)]

        self.close()
        raise RedisConnectionError("%s does not answer as Redis does: %r"
                                   % (self.address, line[:40]))


def _os_reason(e, timeout):
    if isinstance(e, socket.timeout):
        return "timed out after %g s" % timeout
    return e.strerror or str(e)


# --- command-line options shared by the tools ------------------------------

def add_arguments(parser, defaults=True):
    """--redis, --password, --password-file, --db, --timeout.  With
    defaults=False an option that is not given leaves no attribute, so the
    options can be given both to a main parser (with defaults) and to its
    subcommands' parsers without the latter undoing the former."""
    def d(value):
        return value if defaults else argparse.SUPPRESS

    g = parser.add_argument_group("Redis")
    g.add_argument("--redis", metavar="HOST:PORT",
                   default=d(os.environ.get("CM_REDIS") or DEFAULT_ADDRESS),
                   help="HOST:PORT or unix:/path (default: $CM_REDIS, "
                        "else %s)" % DEFAULT_ADDRESS)
    g.add_argument("--password", metavar="PASS", default=d(None),
                   help="password for AUTH (default: $CM_REDIS_PASSWORD)")
    g.add_argument("--password-file", metavar="FILE", default=d(None),
                   help="read the password from FILE (its first line)")
    g.add_argument("--db", type=int, metavar="N",
                   default=d(int(os.environ.get("CM_REDIS_DB") or 0)),
                   help="database number (default: $CM_REDIS_DB, else 0)")
    g.add_argument("--timeout", type=float, metavar="SECONDS", default=d(5.0),
                   help="connect and command timeout (default 5)")


def password_from_args(args):
    """--password, else the first line of --password-file, else
    $CM_REDIS_PASSWORD; None when none is given.  OSError if the file
    cannot be read."""
    if args.password is not None:
        return args.password
    if args.password_file:
        with open(args.password_file, encoding="utf-8") as f:
            return f.readline().rstrip("\r\n")
    return os.environ.get("CM_REDIS_PASSWORD") or None


def connect_from_args(args, decode=False):
    """A Redis connection as the options say.  RedisConnectionError (with
    the address in the message) when it cannot be made."""
    try:
        password = password_from_args(args)
    except OSError as e:
        raise RedisConnectionError("cannot read the password file %s: %s"
                                   % (args.password_file, e.strerror)) from None
    try:
        return Redis(args.redis, password=password, db=args.db,
                     timeout=args.timeout, decode=decode)
    except ValueError as e:
        raise RedisConnectionError("bad Redis address: %s" % e) from None
