#!/usr/bin/python3
"""A tiny local DXLink-like server (dxFeed's WebSocket protocol) for the hl_net.h tests of the
second protocol profile (examples/dxlink_profile.c, tests/test_it_dxlink.c).  Nothing here talks
to the network beyond 127.0.0.1.

Built on Debian's python3-websockets 10.4 (legacy asyncio server API):

    /usr/bin/python3 tests/servers/dxlink_server.py [--port 0] [options]

Harness protocol (as ws_python_server.py): binds 127.0.0.1:<port> (0 = ephemeral), prints
"READY <port>" on stdout, exits when stdin reaches EOF or on SIGTERM / SIGINT, logs to stderr only
with --verbose.  Any URL path is accepted.

The protocol is a plausible, self-consistent SUBSET of DXLink, written from its public
descriptions (message names and shapes of dxFeed's dxlink-websocket-client), not from its
specification; where the real service may differ, this server's choice is stated.  Every
message is a JSON text frame with "type" and "channel"; channel 0 is the connection itself.

  client -> server                                  server -> client
  {"type":"SETUP","channel":0,"version":"..",       {"type":"SETUP","channel":0,"version":"..",
   "keepaliveTimeout":K1,                            "keepaliveTimeout":S1,
   "acceptKeepaliveTimeout":K2}                      "acceptKeepaliveTimeout":S2}
                                                    {"type":"AUTH_STATE","channel":0,
                                                     "state":"AUTHORIZED"|"UNAUTHORIZED"}
  {"type":"AUTH","channel":0,"token":".."}          AUTH_STATE AUTHORIZED (right token), or
                                                    ERROR UNAUTHORIZED + AUTH_STATE UNAUTHORIZED
  {"type":"CHANNEL_REQUEST","channel":N,            {"type":"CHANNEL_OPENED","channel":N,
   "service":"FEED","parameters":{"contract":..}}    "service":"FEED","parameters":{..}}
  {"type":"CHANNEL_CANCEL","channel":N}             {"type":"CHANNEL_CLOSED","channel":N}
  {"type":"FEED_SETUP","channel":N,                 {"type":"FEED_CONFIG","channel":N,
   "acceptAggregationPeriod":..,                     "aggregationPeriod":0,"dataFormat":"FULL"}
   "acceptDataFormat":..}                            (FULL whatever was asked: COMPACT is not
                                                     in this subset)
  {"type":"FEED_SUBSCRIPTION","channel":N,          nothing: DXLink has no per-subscription
   "add":[{"type":"Quote","symbol":"AAPL"}],         acknowledgement; data simply starts.  An
   "remove":[..], "reset":true}                      element of an unknown event type gets
                                                     {"type":"ERROR","channel":N,"error":
                                                     "INVALID_MESSAGE","message":"Unknown event
                                                     type: <the element as JSON>"} (this
                                                     server's choice)
  {"type":"KEEPALIVE","channel":0}                  {"type":"KEEPALIVE","channel":0}
                                                    {"type":"FEED_DATA","channel":N,"data":[
                                                     {"eventType":"Quote","eventSymbol":"AAPL",
                                                      "bidPrice":..,"askPrice":..,"bidSize":..,
                                                      "askSize":..,"time":..}]}
                                                     or Trade: eventType, eventSymbol, price,
                                                     size, dayVolume, time

Rules of this subset:
  * the first message must be SETUP (else ERROR UNSUPPORTED_PROTOCOL and close 1002);
  * with --token T, channels open only after AUTH with T (CHANNEL_REQUEST before it gets
    ERROR UNAUTHORIZED); without --token, AUTH_STATE AUTHORIZED follows SETUP at once;
  * channel messages on a channel that is not open get ERROR BAD_ACTION; messages are handled in
    order, so a client may send SETUP, CHANNEL_REQUEST, FEED_SETUP and FEED_SUBSCRIPTION back to
    back without waiting for the answers (the real service may want CHANNEL_OPENED first);
  * keepalive: the server sends KEEPALIVE on channel 0 every min(--keepalive,
    acceptKeepaliveTimeout / 2) seconds whatever else it sends (not only when idle: this is what
    lets a client that merely answers keepalives meet its own promise), and ends a connection
    whose client sent nothing for its announced keepaliveTimeout (--client-timeout when the SETUP
    has none) with ERROR TIMEOUT and close 1000.  A client KEEPALIVE is not answered (each side
    keeps itself alive; answering would make two answering peers ping-pong for ever);
  * data: one event per FEED_DATA message (the real service batches events of several symbols
    in one message), every 1/--rate seconds per subscription, prices from a random walk per
    symbol.  Event types: Quote, Trade.

Control lines on stdin (each answered with one line on stdout):
    drop            abort every connection with a TCP RST      -> OK drop conns=N
    stats           -> STATS conns=N setups=N keepalives=N subs=N data=N timeouts=N
    mute / unmute   stop / restart the server's keepalives     -> OK mute
Unknown lines -> "ERROR unknown command: ...".  stdin EOF still means exit.
"""

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

from websockets.exceptions import ConnectionClosed
from websockets.legacy.server import serve

VERBOSE = False
ARGS = None
EVENT_TYPES = ("Quote", "Trade")


def log(*args):
    if VERBOSE:
        print("[dxlink_server]", *args, file=sys.stderr, flush=True)


def out(line):
    try:
        os.write(1, (line + "\n").encode("utf-8"))
    except OSError:
        pass


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Stats:
    def __init__(self):
        self.conns = set()
        self.setups = 0
        self.keepalives = 0
        self.data = 0
        self.timeouts = 0
        self.muted = False
        self.prices = {}

    def subs(self):
        return sum(len(c.subs) for c in self.conns)


S = Stats()


def price_of(symbol):
    p = S.prices.get(symbol)
    if p is None:
        p = 50.0 + (sum(symbol.encode()) % 400)  # stable start per symbol
    p = max(1.0, p * (1.0 + random.uniform(-0.001, 0.001)))
    S.prices[symbol] = p
    return p


def event(etype, symbol):
    p = price_of(symbol)
    now = int(time.time() * 1000)
    if etype == "Quote":
        return {"eventType": "Quote", "eventSymbol": symbol, "bidPrice": round(p - 0.01, 2),
                "askPrice": round(p + 0.01, 2), "bidSize": random.randint(1, 500),
                "askSize": random.randint(1, 500), "time": now}
    return {"eventType": "Trade", "eventSymbol": symbol, "price": round(p, 2),
            "size": random.randint(1, 100), "dayVolume": random.randint(1000, 100000), "time": now}


class Conn:
    def __init__(self, ws):
        self.ws = ws
        self.setup = False
        self.authorized = not ARGS.token
        self.channels = set()
        self.subs = {}  # (type, symbol) -> (channel, task)
        self.last_rx = time.monotonic()
        self.client_timeout = ARGS.client_timeout
        self.keepalive = ARGS.keepalive

    async def send(self, obj):
        try:
            await self.ws.send(dumps(obj))
        except (ConnectionClosed, ConnectionError, OSError):
            pass

    async def error(self, channel, kind, message):
        await self.send({"type": "ERROR", "channel": channel, "error": kind, "message": message})

    def abort_rst(self):
        transport = self.ws.transport
        if transport is None or transport.is_closing():
            return
        sock = transport.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (OSError, AttributeError):
            pass
        transport.abort()

    def stop_subs(self, keys=None):
        for key in list(self.subs if keys is None else keys):
            entry = self.subs.pop(key, None)
            if entry:
                entry[1].cancel()

    async def push(self, channel, etype, symbol):
        period = 1.0 / ARGS.rate
        while True:
            await asyncio.sleep(period)
            await self.send({"type": "FEED_DATA", "channel": channel, "data": [event(etype, symbol)]})
            S.data += 1

    async def timers(self):
        """The server's keepalives, and the end of a client that went silent."""
        last_ka = time.monotonic()
        while True:
            await asyncio.sleep(0.02)
            now = time.monotonic()
            if now - last_ka >= self.keepalive:
                last_ka = now
                if not S.muted:
                    await self.send({"type": "KEEPALIVE", "channel": 0})
            if now - self.last_rx > self.client_timeout:
                S.timeouts += 1
                await self.error(0, "TIMEOUT", "no message from the client for %g s" % self.client_timeout)
                await self.ws.close(1000, "")
                return

    async def subscription(self, channel, msg):
        if msg.get("reset") is True:
            self.stop_subs([k for k, v in self.subs.items() if v[0] == channel])
        for item in msg.get("remove") or []:
            if isinstance(item, dict):
                self.stop_subs([(item.get("type"), item.get("symbol"))])
        for item in msg.get("add") or []:
            if not isinstance(item, dict) or not isinstance(item.get("symbol"), str):
                await self.error(channel, "INVALID_MESSAGE", "Bad subscription: " + dumps(item))
                continue
            etype = item.get("type")
            if etype not in EVENT_TYPES:
                await self.error(channel, "INVALID_MESSAGE", "Unknown event type: " + dumps(item))
                continue
            key = (etype, item["symbol"])
            if key not in self.subs:
                task = asyncio.ensure_future(self.push(channel, etype, item["symbol"]))
                self.subs[key] = (channel, task)

    async def handle(self, msg):
        mtype, channel = msg.get("type"), msg.get("channel")
        if not self.setup:
            if mtype != "SETUP":
                await self.error(0, "UNSUPPORTED_PROTOCOL", "the first message must be SETUP")
                await self.ws.close(1002, "")
                return
            self.setup = True
            S.setups += 1
            ka = msg.get("keepaliveTimeout")
            if isinstance(ka, (int, float)) and ka > 0:
                self.client_timeout = float(ka)
            accept = msg.get("acceptKeepaliveTimeout")
            if isinstance(accept, (int, float)) and accept > 0:
                self.keepalive = min(self.keepalive, accept / 2.0)
            await self.send({"type": "SETUP", "channel": 0, "version": "0.1-dxlink_server",
                             "keepaliveTimeout": ARGS.keepalive * 2,
                             "acceptKeepaliveTimeout": self.client_timeout})
            await self.send({"type": "AUTH_STATE", "channel": 0,
                             "state": "AUTHORIZED" if self.authorized else "UNAUTHORIZED"})
            return
        if mtype == "KEEPALIVE":
            S.keepalives += 1
        elif mtype == "AUTH":
            if ARGS.token and msg.get("token") == ARGS.token:
                self.authorized = True
                await self.send({"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED"})
            elif ARGS.token:
                await self.error(0, "UNAUTHORIZED", "bad token")
                await self.send({"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})
            else:
                await self.send({"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED"})
        elif mtype == "CHANNEL_REQUEST":
            if not self.authorized:
                await self.error(channel if isinstance(channel, int) else 0, "UNAUTHORIZED",
                                 "authorize first")
            elif not isinstance(channel, int) or channel <= 0 or msg.get("service") != "FEED":
                await self.error(0, "BAD_ACTION", "channel requests need a channel > 0 and "
                                 "service FEED")
            else:
                self.channels.add(channel)
                await self.send({"type": "CHANNEL_OPENED", "channel": channel, "service": "FEED",
                                 "parameters": msg.get("parameters") or {"contract": "AUTO"}})
        elif channel not in self.channels:
            await self.error(channel if isinstance(channel, int) else 0, "BAD_ACTION",
                             "channel %s is not open" % channel)
        elif mtype == "CHANNEL_CANCEL":
            self.stop_subs([k for k, v in self.subs.items() if v[0] == channel])
            self.channels.discard(channel)
            await self.send({"type": "CHANNEL_CLOSED", "channel": channel})
        elif mtype == "FEED_SETUP":
            await self.send({"type": "FEED_CONFIG", "channel": channel, "aggregationPeriod": 0,
                             "dataFormat": "FULL"})
        elif mtype == "FEED_SUBSCRIPTION":
            await self.subscription(channel, msg)
        else:
            await self.error(channel, "BAD_ACTION", "unknown message type %s" % mtype)


async def handler(ws, path):
    conn = Conn(ws)
    S.conns.add(conn)
    tasks = [asyncio.ensure_future(conn.timers())]
    log("connection", path)
    try:
        async for raw in ws:
            conn.last_rx = time.monotonic()
            if not isinstance(raw, str):
                await conn.error(0, "INVALID_MESSAGE", "binary messages are not part of the protocol")
                continue
            try:
                msg = json.loads(raw)
            except ValueError:
                msg = None
            if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
                await conn.error(0, "INVALID_MESSAGE", "not a JSON object with a type")
                continue
            await conn.handle(msg)
    except (ConnectionClosed, ConnectionError, OSError):
        pass
    finally:
        for t in tasks:
            t.cancel()
        conn.stop_subs()
        S.conns.discard(conn)
        log("connection closed")


def command(line):
    words = line.split()
    if not words:
        return
    conns = list(S.conns)
    if words == ["drop"]:
        for conn in conns:
            conn.abort_rst()
        out("OK drop conns=%d" % len(conns))
    elif words == ["stats"]:
        out("STATS conns=%d setups=%d keepalives=%d subs=%d data=%d timeouts=%d"
            % (len(conns), S.setups, S.keepalives, S.subs(), S.data, S.timeouts))
    elif words in (["mute"], ["unmute"]):
        S.muted = words[0] == "mute"
        out("OK " + words[0])
    else:
        out("ERROR unknown command: " + line.strip())


def watch_stdin(loop, stop):
    buf = b""
    try:
        while True:
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                loop.call_soon_threadsafe(command, line.decode("utf-8", "replace"))
    except OSError:
        pass
    loop.call_soon_threadsafe(stop.set)


async def main():
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    threading.Thread(target=watch_stdin, args=(loop, stop), daemon=True).start()
    server = await serve(handler, "127.0.0.1", ARGS.port, max_size=1 << 20, ping_interval=None,
                         close_timeout=1)
    out("READY %d" % server.sockets[0].getsockname()[1])
    await stop.wait()
    server.close()
    try:
        await asyncio.wait_for(asyncio.shield(server.wait_closed()), 0.5)
    except asyncio.TimeoutError:
        pass


def positive(text):
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def parse_args():
    p = argparse.ArgumentParser(description="DXLink-like WebSocket server (a subset; see the top)")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = ephemeral)")
    p.add_argument("--rate", type=positive, default=10.0, help="FEED_DATA messages/s per subscription")
    p.add_argument("--keepalive", type=positive, default=1.0,
                   help="seconds between the server's KEEPALIVE messages (at most)")
    p.add_argument("--client-timeout", type=positive, default=60.0,
                   help="close a client silent this long when its SETUP names no keepaliveTimeout")
    p.add_argument("--token", help="require AUTH with this token before channels open")
    p.add_argument("--verbose", action="store_true", help="log to stderr")
    return p.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()
    VERBOSE = ARGS.verbose
    if not VERBOSE:
        logging.getLogger("websockets").setLevel(logging.CRITICAL)
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
