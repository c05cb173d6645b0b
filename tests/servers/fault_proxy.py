#!/usr/bin/python3
"""TCP fault proxy for the hl_net.h integration tests (stdlib only, asyncio).

Sits between a client under test and a real server, both on 127.0.0.1, and
injects faults on command while it runs:

    /usr/bin/python3 tests/servers/fault_proxy.py --target HOST:PORT
        [--port N] [--control-port N] [--ignore-stdin] [--verbose]

  * listens on 127.0.0.1:<port> (the proxy) and 127.0.0.1:<control-port> (the
    control channel); 0 (the default) picks an ephemeral port;
  * prints exactly one line "READY <proxy_port> <control_port>" on stdout once
    both are bound; nothing else is ever written to stdout;
  * every accepted connection opens its own connection to --target;
  * exits when stdin reaches EOF (unless --ignore-stdin), or on SIGTERM/SIGINT;
  * logs to stderr only with --verbose.

Control protocol: connect to the control port, send one command per line
("\\n" or "\\r\\n"), read exactly one reply line per command: "OK ..." or
"ERR <reason>".  One connection may carry many commands (persistent) or just
one.  A reply is written only after the command has taken effect (resets
issued, FINs queued, settings in force for the next byte and the next accept).
Numbers are decimal, or hexadecimal with 0x.  "New connections" are those the
proxy accepts after the command: a client's connect() may complete in the
kernel before the proxy has accepted it, so a test that needs an existing
connection to count as "current" exchanges a byte through it first.

  pass              back to normal: clears refuse, stall, slow, corrupt and
                    close_after, for current and new connections; bytes held
                    by "stall hold" or "slow" are delivered, then held EOFs.
  refuse            new connections are accepted and at once reset (RST via
                    SO_LINGER 0): ECONNRESET, reported by connect() itself or
                    by the first read/write after it.  Current connections are
                    unaffected.
  reset             reset every current connection now, on both sides (RST).
                    Settings are unchanged.          Reply: OK reset <count>
  stall [drop|hold] forward nothing in either direction, for current and new
                    connections, until "pass"; sockets stay open (a half-open
                    peer).  drop (the default): bytes arriving while stalled
                    are read and thrown away, never delivered, so a sender is
                    never blocked (a peer that floods costs the proxy CPU).  hold: they are kept (up to 256 KiB per
                    direction, then the sender is back-pressured) and
                    delivered after "pass".  In both, a FIN from either peer is
                    held back until "pass"; a reset from either peer still
                    resets the other one at once.  Bytes already handed to the
                    kernel before the command still arrive.
  slow BYTES        forward at most BYTES per second per direction per
                    connection (token bucket, bursts of at most 50 ms worth),
                    current and new connections; "slow 0" = unlimited.
  corrupt N         in each of the next N server->client chunks (one chunk =
                    one read from the server, across all connections), XOR the
                    middle byte (index len/2) with 0xFF; then back to pass.
                    Every chunk counts, the HTTP upgrade response included:
                    send it once the connection is up to hit frames.
  close_after N|off every connection accepted from now on is closed on both
                    sides with a FIN after exactly N bytes server->client in
                    total (N = 0: right after the upstream connect); "off"
                    stops it for later connections.
  garbage N [BYTE]  write N bytes server->client to every current connection,
                    at once, then continue forwarding.  Random bytes, or N
                    copies of BYTE (0..255, decimal or 0x..) for a
                    deterministic test.  Written even while stalled and ahead
                    of bytes held back by slow/stall; not counted in stats and
                    not in close_after.          Reply: OK garbage <N> conns=<k>
  close             close every current connection gracefully on both sides
                    (FIN; bytes held back by slow/stall are dropped, a stall
                    does not delay the FIN).     Reply: OK close <count>
  stats             OK conns=<active> accepted=<total> c2s=<bytes> s2c=<bytes>
                    (accepted counts refused ones too; c2s/s2c count bytes
                    forwarded so far, over all connections)
  mode              OK refuse=<0|1> stall=<off|drop|hold> slow=<n>
                    corrupt=<left> close_after=<n|off>
  help              OK <the command names>

Settings combine (e.g. slow and corrupt together).  A peer's FIN is forwarded
as a FIN (half-close) and a peer's reset as a reset.  When the proxy closes a
connection itself it keeps reading (and dropping) what the peer still sends,
so the peer sees a FIN, not a reset, and it aborts the socket if the peer has
not closed 3 s after the FIN.  If the target refuses the upstream connect, the
client's connection is reset.

Driving it from a C test with plain sockets.  Start it like any test server
(its stdin a pipe the test holds) and read the READY line with
sscanf(line, "READY %d %d", &proxy_port, &ctl_port); note that
hl_test_server_start() in tests/harness.h keeps only the first number.

    #include <arpa/inet.h>
    #include <netinet/in.h>
    #include <sys/socket.h>
    // Sends "cmd\n" to the control port, reads one reply line into reply.
    // Returns 0 when the reply starts with "OK", -1 otherwise.
    static int proxy_cmd(int ctl_port, const char *cmd, char *reply, size_t cap)
    {
        struct sockaddr_in a;
        size_t n = 0;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((unsigned short)ctl_port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            write(fd, cmd, strlen(cmd)) >= 0 && write(fd, "\n", 1) == 1)
            while (n + 1 < cap && read(fd, reply + n, 1) == 1 && reply[n] != '\n') n++;
        if (cap) reply[n] = '\0';
        if (fd >= 0) close(fd);
        return cap && strncmp(reply, "OK", 2) == 0 ? 0 : -1;
    }
    // proxy_cmd(ctl, "stall", r, sizeof r); ... proxy_cmd(ctl, "pass", r, sizeof r);
    // after "stats": sscanf(r, "OK conns=%d accepted=%d", &conns, &accepted)

Self-check: /usr/bin/python3 tests/servers/fault_proxy_selftest.py
"""

import argparse
import asyncio
import os
import signal
import socket
import struct
import sys
import threading

QUEUE_CAP = 256 * 1024   # bytes held per direction before the sender is paused
GRACE = 3.0              # seconds a peer has to answer our FIN before we abort
MIN_TICK = 0.01          # shortest wait of the rate limiter
BURST = 0.05             # the rate limiter's bucket holds this many seconds of traffic

VERBOSE = False


def log(msg):
    if VERBOSE:
        sys.stderr.write("fault_proxy: %s\n" % msg)
        sys.stderr.flush()


class Side(asyncio.Protocol):
    """One of the two sockets of a proxied connection (the client's or the server's)."""

    def __init__(self, conn, name):
        self.conn = conn
        self.name = name
        self.transport = None
        self.eof_recv = False    # the peer sent FIN
        self.eof_sent = False    # we sent FIN to the peer
        self.closed = False      # connection_lost was called
        self.write_paused = False
        self.reading = True
        self.grace = None

    # asyncio callbacks
    def connection_made(self, transport):
        self.transport = transport
        self.conn.side_made(self)

    def data_received(self, data):
        self.conn.on_data(self, data)

    def eof_received(self):
        self.conn.on_eof(self)
        return True              # keep the socket open for writing (half-close)

    def connection_lost(self, exc):
        self.closed = True
        if self.grace is not None:
            self.grace.cancel()
            self.grace = None
        self.conn.on_lost(self, exc)

    def pause_writing(self):
        self.write_paused = True
        self.conn.update_reading()

    def resume_writing(self):
        self.write_paused = False
        self.conn.update_reading()

    # actions
    def alive(self):
        return self.transport is not None and not self.closed and not self.transport.is_closing()

    def set_reading(self, want):
        # Never touch reading after EOF: resume_reading would re-arm the reader and
        # asyncio would report the EOF again.
        if want == self.reading or self.eof_recv or not self.alive():
            return
        self.reading = want
        if want:
            self.transport.resume_reading()
        else:
            self.transport.pause_reading()

    def write(self, data):
        if self.alive() and not self.eof_sent:
            self.transport.write(data)
            return True
        return False

    def send_eof(self):
        if self.eof_sent or not self.alive():
            return
        self.eof_sent = True
        try:
            self.transport.write_eof()
        except OSError:
            pass
        self.arm_grace()
        self.conn.maybe_close(self)

    def arm_grace(self):
        """While the proxy closes the connection: abort if the peer does not answer our FIN."""
        if self.conn.closing and self.eof_sent and not self.eof_recv and self.grace is None:
            self.grace = asyncio.get_running_loop().call_later(GRACE, self.abort)

    def abort(self):
        self.grace = None
        if self.alive():
            self.transport.abort()

    def reset(self):
        """Close with RST (SO_LINGER on, zero timeout)."""
        if self.transport is None or self.closed:
            return
        try:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.transport.abort()


class Direction:
    """Bytes flowing from src to dst, with the queue used by slow and stall hold."""

    def __init__(self, conn, src, dst, s2c):
        self.conn = conn
        self.proxy = conn.proxy
        self.src = src
        self.dst = dst
        self.s2c = s2c
        self.queue = bytearray()
        self.eof_pending = False   # src sent FIN; pass it on once the queue is empty
        self.forced = False        # "close": the FIN goes out even while stalled
        self.tokens = 0.0
        self.last = 0.0
        self.timer = None

    def held(self):
        return self.proxy.stall is not None and not self.forced

    def discarding(self):
        return self.conn.closing or self.proxy.stall == "drop"

    def count(self, n):
        if self.s2c:
            self.proxy.s2c += n
        else:
            self.proxy.c2s += n

    def push(self, data):
        if not self.queue and self.proxy.rate <= 0 and not self.held() and self.dst.alive():
            if self.dst.write(data):         # the fast path
                self.count(len(data))
            return
        self.queue += data
        self.pump()
        self.conn.update_reading()

    def cancel(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def pump(self):
        """Send what the settings allow now; arm the rate limiter's timer for the rest."""
        self.cancel()
        if self.held() or self.dst.transport is None:
            return
        if self.queue:
            rate = self.proxy.rate
            if rate <= 0:
                n = len(self.queue)
            else:
                now = asyncio.get_running_loop().time()
                self.tokens = min(max(1.0, rate * BURST), self.tokens + (now - self.last) * rate)
                self.last = now
                n = min(len(self.queue), int(self.tokens))
                self.tokens -= n
            if n > 0:
                chunk = bytes(self.queue[:n])
                del self.queue[:n]
                if self.dst.write(chunk):
                    self.count(n)
            if self.queue:
                delay = max(MIN_TICK, (1.0 - self.tokens) / rate)
                self.timer = asyncio.get_running_loop().call_later(delay, self.on_timer)
                return
        if self.eof_pending:
            self.eof_pending = False
            self.dst.send_eof()

    def on_timer(self):
        self.timer = None
        self.pump()
        self.conn.update_reading()


class Conn:
    """One proxied connection: the client's socket, the server's socket, two directions."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.client = Side(self, "client")
        self.server = Side(self, "server")
        self.c2s = Direction(self, self.client, self.server, False)
        self.s2c = Direction(self, self.server, self.client, True)
        self.closing = False
        self.budget = None       # close_after: server->client bytes left
        self.task = None         # the upstream connect
        self.done = False

    def side_made(self, side):
        if side is self.client:
            self.proxy.accepted += 1
            if self.proxy.refuse:
                log("refused a connection")
                self.client.reset()
                return
            self.proxy.conns.add(self)
            self.budget = self.proxy.close_after
            self.client.set_reading(False)     # until the upstream connection is up
            self.task = asyncio.get_running_loop().create_task(self.connect_upstream())
        else:
            if self.closing or not self.client.alive():
                self.server.transport.abort()
                return
            self.update_reading()
            self.c2s.pump()
            if self.budget == 0:
                self.close_gracefully(False)

    async def connect_upstream(self):
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: self.server, self.proxy.host, self.proxy.port)
        except asyncio.CancelledError:
            pass
        except OSError as e:
            log("upstream connect failed: %s" % e)
            self.client.reset()
        finally:
            self.task = None
            self.check_done()

    def on_data(self, side, data):
        d = self.c2s if side is self.client else self.s2c
        if d.discarding():
            return
        hit = False
        if d.s2c:
            if self.budget is not None:
                if len(data) >= self.budget:
                    data = data[:self.budget]
                    self.budget = 0
                    hit = True
                else:
                    self.budget -= len(data)
            if self.proxy.corrupt > 0 and data:
                self.proxy.corrupt -= 1
                b = bytearray(data)
                b[len(b) // 2] ^= 0xFF
                data = b
        if data:
            d.push(data)
        if hit:
            self.close_gracefully(False)

    def on_eof(self, side):
        side.eof_recv = True
        d = self.c2s if side is self.client else self.s2c
        d.eof_pending = True
        d.pump()
        self.maybe_close(side)

    def on_lost(self, side, exc):
        if exc is not None:
            log("%s side lost: %s" % (side.name, exc))
            other = self.server if side is self.client else self.client
            other.reset()
            if self.task is not None:
                self.task.cancel()
        elif side is self.client and self.task is not None:
            self.task.cancel()
        self.check_done()

    def maybe_close(self, side):
        if side.eof_recv and side.eof_sent and side.alive():
            side.transport.close()

    def check_done(self):
        if self.done or not self.client.closed:
            return
        if not (self.server.closed or (self.server.transport is None and self.task is None)):
            return
        self.done = True
        self.c2s.cancel()
        self.s2c.cancel()
        self.proxy.conns.discard(self)

    def update_reading(self):
        for d in (self.c2s, self.s2c):
            if d.src is self.client and self.server.transport is None and not self.closing:
                continue                        # not connected upstream yet
            d.src.set_reading(d.discarding() or
                              (not d.dst.write_paused and len(d.queue) < QUEUE_CAP))

    def settings_changed(self):
        for d in (self.c2s, self.s2c):
            if self.proxy.stall == "drop" and not d.forced:
                d.queue.clear()
            d.pump()
        self.update_reading()

    def close_gracefully(self, drop_held):
        if self.closing:
            return
        self.closing = True
        for d in (self.c2s, self.s2c):
            if drop_held:
                d.queue.clear()
                d.forced = True
            d.eof_pending = True
            d.pump()
        self.client.arm_grace()    # a side already half-closed before the close began
        self.server.arm_grace()
        self.update_reading()

    def reset(self):
        if self.task is not None:
            self.task.cancel()
        self.client.reset()
        self.server.reset()

    def inject(self, data):
        return self.client.write(data)


class Proxy:
    def __init__(self, host, port):
        self.host = host
        self.port = port
        self.conns = set()
        self.controls = set()    # open control connections
        self.accepted = 0
        self.c2s = 0
        self.s2c = 0
        self.refuse = False
        self.stall = None        # None, "drop" or "hold"
        self.rate = 0
        self.corrupt = 0
        self.close_after = None

    def new_connection(self):
        return Conn(self).client

    def changed(self):
        for c in list(self.conns):
            c.settings_changed()

    def command(self, line):
        words = line.split()
        if not words:
            return "ERR empty command"
        cmd, args = words[0].lower(), words[1:]
        try:
            return self.run(cmd, args)
        except ValueError as e:
            return "ERR %s" % e

    @staticmethod
    def number(s, lo=0, hi=None):
        try:
            v = int(s[2:], 16) if s[:2].lower() == "0x" else int(s, 10)
        except ValueError:
            raise ValueError("not a number: %r" % s) from None
        if v < lo or (hi is not None and v > hi):
            raise ValueError("out of range: %r" % s)
        return v

    def run(self, cmd, args):
        def nargs(lo, hi, usage):
            if not lo <= len(args) <= hi:
                raise ValueError("usage: " + usage)

        if cmd == "pass":
            nargs(0, 0, "pass")
            self.refuse = False
            self.stall = None
            self.rate = 0
            self.corrupt = 0
            self.close_after = None
            for c in self.conns:
                if not c.closing:
                    c.budget = None
            self.changed()
            return "OK pass"
        if cmd == "refuse":
            nargs(0, 0, "refuse")
            self.refuse = True
            return "OK refuse"
        if cmd == "reset":
            nargs(0, 0, "reset")
            conns = list(self.conns)
            for c in conns:
                c.reset()
            return "OK reset %d" % len(conns)
        if cmd == "stall":
            nargs(0, 1, "stall [drop|hold]")
            how = args[0].lower() if args else "drop"
            if how not in ("drop", "hold"):
                raise ValueError("usage: stall [drop|hold]")
            self.stall = how
            self.changed()
            return "OK stall %s" % how
        if cmd == "slow":
            nargs(1, 1, "slow BYTES_PER_SEC")
            self.rate = self.number(args[0])
            self.changed()
            return "OK slow %d" % self.rate
        if cmd == "corrupt":
            nargs(1, 1, "corrupt N")
            self.corrupt = self.number(args[0])
            return "OK corrupt %d" % self.corrupt
        if cmd == "close_after":
            nargs(1, 1, "close_after N|off")
            if args[0].lower() == "off":
                self.close_after = None
                return "OK close_after off"
            self.close_after = self.number(args[0])
            return "OK close_after %d" % self.close_after
        if cmd == "garbage":
            nargs(1, 2, "garbage N [BYTE]")
            n = self.number(args[0], 0, 64 * 1024 * 1024)
            fill = self.number(args[1], 0, 255) if len(args) > 1 else None
            k = 0
            for c in list(self.conns):
                data = os.urandom(n) if fill is None else bytes([fill]) * n
                if n and c.inject(data):
                    k += 1
            return "OK garbage %d conns=%d" % (n, k)
        if cmd == "close":
            nargs(0, 0, "close")
            conns = [c for c in self.conns if not c.closing]
            for c in conns:
                c.close_gracefully(True)
            return "OK close %d" % len(conns)
        if cmd == "stats":
            nargs(0, 0, "stats")
            return "OK conns=%d accepted=%d c2s=%d s2c=%d" % (
                len(self.conns), self.accepted, self.c2s, self.s2c)
        if cmd == "mode":
            nargs(0, 0, "mode")
            return "OK refuse=%d stall=%s slow=%d corrupt=%d close_after=%s" % (
                int(self.refuse), self.stall or "off", self.rate, self.corrupt,
                "off" if self.close_after is None else self.close_after)
        if cmd == "help":
            return ("OK pass refuse reset stall[drop|hold] slow corrupt close_after garbage "
                    "close stats mode help")
        raise ValueError("unknown command %r" % cmd)


class Control(asyncio.Protocol):
    MAX_LINE = 4096

    def __init__(self, proxy):
        self.proxy = proxy
        self.buf = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.proxy.controls.add(self)

    def connection_lost(self, exc):
        self.proxy.controls.discard(self)

    def data_received(self, data):
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            text = line.decode("utf-8", "replace").strip()
            reply = self.proxy.command(text)
            log("control %r -> %r" % (text, reply))
            # Queued behind the socket closes the command scheduled (asyncio closes an
            # aborted socket on the next loop turn), so a reset is on the wire first.
            asyncio.get_running_loop().call_soon(self.reply, reply)
        if len(self.buf) > self.MAX_LINE:
            self.buf = b""
            asyncio.get_running_loop().call_soon(self.reply, "ERR line too long")

    def reply(self, text):
        if not self.transport.is_closing():
            self.transport.write(text.encode() + b"\n")

    def eof_received(self):
        # Close after the replies still queued by call_soon (FIFO), so that a client
        # which sends its commands and then shuts down writing gets every reply.
        asyncio.get_running_loop().call_soon(self.transport.close)
        return True


def parse_target(s):
    host, sep, port = s.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % s)
    return host.strip("[]"), int(port)


def watch_stdin(loop, stop):
    """Thread body: set `stop` once stdin reaches EOF."""
    try:
        while os.read(sys.stdin.fileno(), 65536):
            pass
    except OSError:
        pass
    loop.call_soon_threadsafe(stop.set)


async def main(args):
    loop = asyncio.get_running_loop()
    proxy = Proxy(*args.target)
    server = await loop.create_server(proxy.new_connection, "127.0.0.1", args.port, backlog=128)
    control = await loop.create_server(lambda: Control(proxy), "127.0.0.1", args.control_port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if not args.ignore_stdin:
        threading.Thread(target=watch_stdin, args=(loop, stop), daemon=True).start()
    sys.stdout.write("READY %d %d\n" % (server.sockets[0].getsockname()[1],
                                        control.sockets[0].getsockname()[1]))
    sys.stdout.flush()
    await stop.wait()
    log("stopping")
    server.close()
    control.close()
    for c in list(proxy.conns):
        c.client.abort()
        c.server.abort()
        if c.task is not None:
            c.task.cancel()
    for ctl in list(proxy.controls):
        ctl.transport.abort()
    await asyncio.sleep(0)       # let the transports close their sockets


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="TCP fault proxy for the hl_net.h tests")
    ap.add_argument("--target", required=True, type=parse_target, help="HOST:PORT of the real server")
    ap.add_argument("--port", type=int, default=0, help="proxy port (0 = ephemeral)")
    ap.add_argument("--control-port", type=int, default=0, help="control port (0 = ephemeral)")
    ap.add_argument("--ignore-stdin", action="store_true", help="do not exit at stdin EOF")
    ap.add_argument("--verbose", action="store_true", help="log to stderr")
    a = ap.parse_args()
    VERBOSE = a.verbose
    asyncio.run(main(a))
