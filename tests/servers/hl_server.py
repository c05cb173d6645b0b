#!/usr/bin/python3
"""A local stand-in for the Hyperliquid WebSocket API (`wss://api.hyperliquid.xyz/ws`) for the
hl_net.h tests and the demo.  Nothing here talks to the network beyond 127.0.0.1.

Built on Debian's python3-websockets 10.4 (legacy asyncio server API); run it with the
system interpreter:

    /usr/bin/python3 tests/servers/hl_server.py [--port 0] [options]

Harness protocol (same as ws_python_server.py): binds 127.0.0.1:<port> (0 = ephemeral) and prints
"READY <port>" on stdout; exits when stdin reaches EOF (unless --ignore-stdin) or on SIGTERM /
SIGINT; logs to stderr only with --verbose.  Any URL path is accepted (the real endpoint is /ws).

Behaviour follows ../shared/notes/hyperliquid.md (sections 2, 3, 5, 9):
  * client messages are JSON text frames with "method": subscribe, unsubscribe, ping, post;
  * {"method":"ping"} -> {"channel":"pong"};
  * subscribe/unsubscribe -> {"channel":"subscriptionResponse","data":{"method":..,
    "subscription":<normalized>}}: keys in the server's order (candle: type, interval, coin),
    defaults added (l2Book nSigFigs:null, mantissa:null; userFills aggregateByTime:false;
    clearinghouseState/openOrders/twapStates/assetCtxs dex:""), unknown keys dropped,
    user addresses lowercased;
  * errors are {"channel":"error","data":"<plain text>"}:
      Error parsing JSON into valid websocket request: <the raw request text>
          (not JSON, no/unknown method, unknown subscription type, missing or mistyped field,
           malformed user address, unknown candle interval)
      Invalid subscription <subscription as sent>   (nSigFigs / mantissa out of range)
      Already subscribed: <normalized subscription>
      Already unsubscribed: <normalized subscription>
      Cannot subscribe to more than <max-subs> channels.     (no ack; per client IP)
      Cannot track more than <max-users> total users.        (no ack; per client IP)
      Cannot send more than <max-msgs-per-min> messages per minute.  (the message is ignored)
  * idle close: a connection whose client sent no message (text/binary; RFC 6455 control frames
    do not count) for --idle-timeout seconds is closed with code 1000 and an empty reason;
  * data pushes per subscription, values from the fixtures (../shared/fixtures/hl) moved by one
    random walk per coin, tids/oids increasing, times in ms; the ack always comes first:
      trades       every 1/--rate s (first one after 1/--rate s): [{coin,side,px,sz,time,hash,
                   tid,users}] (1-3 trades)
      l2Book       at once, then every --book-interval s (fast:true: --fast-book-interval, 5
                   levels): a full {coin,time,levels:[bids,asks]} snapshot, 20 levels a side,
                   aggregated when nSigFigs/mantissa are given
      bbo          every 1/--rate s, only when the top of book changed: {coin,time,bbo:[bid,ask]}
      candle       every 1/--rate s: one {t,T,s,i,o,c,h,l,v,n} object of the current candle
      allMids      at once, then every --mids-interval s: {mids:{coin:px}} (+dex when given)
      activeAssetCtx  every 1/--rate s; channel activeSpotAssetCtx for "@N" and "A/B" coins
      userFills, userFundings  at once a snapshot ("isSnapshot":true, --snapshot-fills fills),
                   then one item every --user-interval s without the key (with "isSnapshot":false
                   under --explicit-snapshot-false)
      userNonFundingLedgerUpdates, userTwapSliceFills, userTwapHistory, userHistoricalOrders
                   one empty isSnapshot push, nothing after
      userEvents (channel "user"), orderUpdates, activeAssetData, clearinghouseState, openOrders
                   every --user-interval s
      notification, webData2, webData3, twapStates, spotState, allDexs*, assetCtxs,
      spotAssetCtxs, fastAssetCtxs, outcomeMetaUpdates: acknowledged, never pushed;
    --silent-coin COIN (and the `silent` control line) suppresses every push of subscriptions
    whose "coin" is COIN (allMids is not per coin and keeps COIN);
  * post: info l2Book, allMids, meta, clearinghouseState, openOrders are answered from the
    generator / fixtures, other info types with a response of type "error"; action "order" rests
    every order, "cancel" succeeds, other actions get {"status":"err",...}.  No signature check.

Control lines on stdin (one per line; each answered with one line on stdout, ignored if nobody
reads it):
    drop                 every client connection is aborted with a TCP RST   -> OK drop conns=N
    close CODE [REASON]  close frame CODE (any 0..65535; 1005 = empty payload) -> OK close conns=N
    pause / resume       stop / restart data pushes (acks, errors, pongs go on) -> OK pause
    silent COIN / unsilent COIN   like --silent-coin, at run time          -> OK silent COIN
    send TEXT            TEXT verbatim as a text frame to every connection  -> OK send conns=N
    stats                -> STATS conns=N subs=N msgs_sent=N accepted=N paused=0|1
Unknown lines -> "ERROR unknown command: ...".  stdin EOF still means exit.
"""

import argparse
import asyncio
import collections
import datetime
import heapq
import itertools
import json
import logging
import math
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import zlib

from websockets.exceptions import ConnectionClosed
from websockets.frames import Close
from websockets.legacy.server import serve

VERBOSE = False
ARGS = None


def log(*args):
    if VERBOSE:
        print("[hl_server]", *args, file=sys.stderr, flush=True)


def out(line):
    """One line on stdout; silently dropped when nobody reads it any more."""
    try:
        os.write(1, (line + "\n").encode("utf-8"))
    except OSError:
        pass


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def now_ms():
    return int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000)


# --------------------------------------------------------------------------
# Number formatting (prices and sizes are JSON strings, notes 2.5)
# --------------------------------------------------------------------------

def fmt_dec(value, decimals):
    """Fixed decimals, trailing zeros stripped but at least one decimal: 30135.0, 35.276."""
    text = f"{value:.{max(decimals, 0)}f}"
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    else:
        text += ".0"
    if text in ("-0.0",):
        text = "0.0"
    return text


def int_digits(value):
    return int(math.floor(math.log10(value))) + 1 if value > 0 else 1


# --------------------------------------------------------------------------
# Markets: one random walk per coin, shared by every connection
# --------------------------------------------------------------------------

class Market:
    def __init__(self, coin, mid, sz_decimals):
        self.coin = coin
        self.mid = mid
        self.sz_decimals = sz_decimals
        self.spot = coin.startswith("@") or "/" in coin
        self.prev_day = mid * random.uniform(0.97, 1.03)

    def step(self):
        self.mid *= math.exp(random.gauss(0.0, 0.0003))
        return self.mid

    def px_decimals(self):
        # 5 significant figures, at most 6 (perp) / 8 (spot) minus szDecimals decimals.
        cap = (8 if self.spot else 6) - self.sz_decimals
        return max(0, min(5 - int_digits(self.mid), cap))

    def fmt_px(self, value, decimals=None):
        return fmt_dec(value, self.px_decimals() if decimals is None else decimals)

    def fmt_sz(self, value):
        return fmt_dec(value, self.sz_decimals)

    def rand_sz(self, scale=1.0):
        """A size worth roughly 50..20000 USD, at least one size unit."""
        notional = math.exp(random.uniform(math.log(50.0), math.log(20000.0))) * scale
        unit = 10.0 ** -self.sz_decimals
        return max(unit, round(notional / self.mid, self.sz_decimals))

    def top(self):
        """(best bid, best ask, decimals) around the current mid."""
        decimals = self.px_decimals()
        tick = 10.0 ** -decimals
        bid = math.floor(self.mid / tick) * tick
        if bid <= 0:
            bid = tick
        return round(bid, decimals), round(bid + tick, decimals), decimals

    def levels(self, nlevels, n_sig_figs=None, mantissa=None):
        """[bids, asks] of {"px","sz","n"}; aggregated to n_sig_figs like the real book."""
        if n_sig_figs:
            exp = int_digits(self.mid) - n_sig_figs
            tick = (10.0 ** exp) * (mantissa or 1)
            decimals = max(0, -exp)
            bid = math.floor(self.mid / tick) * tick
            ask = bid + tick
            scale, nmax = 4.0, 12
        else:
            bid, ask, decimals = self.top()
            tick = 10.0 ** -decimals
            scale, nmax = 1.0, 3
        sides = []
        for start, sign in ((bid, -1), (ask, 1)):
            side, px = [], start
            for _ in range(nlevels):
                if px <= 0:
                    break
                side.append({"px": self.fmt_px(px, decimals),
                             "sz": self.fmt_sz(self.rand_sz(scale)),
                             "n": random.randint(1, nmax)})
                px = round(px + sign * tick * random.choice((1, 1, 1, 2, 3)), decimals)
            sides.append(side)
        return sides


class World:
    """Everything shared: fixtures, markets, id counters, connections, limits."""

    def __init__(self, args, fx):
        self.args = args
        self.fx = fx
        self.markets = {}
        self.sz_decimals = {a["name"]: a["szDecimals"] for a in fx["meta"]["universe"]}
        self.known_coins = []
        for coin, px in fx["allMids"]["data"]["mids"].items():
            self.add_market(coin, float(px))
        trade0 = fx["trades"]["data"][0]
        self.add_market(trade0["coin"], float(trade0["px"]))
        book = fx["l2Book"]["data"]
        self.add_market(book["coin"], (float(book["levels"][0][0]["px"]) +
                                       float(book["levels"][1][0]["px"])) / 2)
        self.known_coins = sorted(self.markets)
        self.tid = itertools.count(int(trade0["tid"]))
        self.tid_last = int(trade0["tid"])
        self.oid_last = int(fx["userFills"]["data"]["fills"][0]["oid"])
        self.addresses = list(trade0["users"]) + [
            "0x%040x" % random.getrandbits(160) for _ in range(14)]
        self.conns = set()
        self.ips = {}
        self.accepted = 0
        self.msgs_sent = 0
        self.paused = False
        self.silent = set(args.silent_coin or [])
        self.positions = collections.defaultdict(float)  # (user, coin) -> signed size
        self.candles = {}  # (coin, interval) -> candle state

    def add_market(self, coin, px):
        if coin not in self.markets:
            self.markets[coin] = Market(coin, px, self.sz_decimals.get(coin, 2))
        return self.markets[coin]

    def market(self, coin):
        m = self.markets.get(coin)
        if m is None:  # unknown coin: a plausible, stable starting price from its name
            h = zlib.crc32(coin.encode("utf-8"))
            m = self.add_market(coin, (1.0 + (h >> 8) % 9000 / 1000.0) * 10.0 ** (h % 6 - 2))
        return m

    def next_tid(self):
        self.tid_last += random.randint(1, 97)  # increasing, like tids seen in one feed
        return self.tid_last

    def next_oid(self):
        self.oid_last += random.randint(1, 50)
        return self.oid_last

    def ip(self, addr):
        st = self.ips.get(addr)
        if st is None:
            st = self.ips[addr] = IpState()
        return st


class IpState:
    """Limits of the notes (section 5) are per IP."""

    def __init__(self):
        self.subs = 0
        self.users = collections.Counter()
        self.msg_times = collections.deque()


W = None  # the World, set in main()


# --------------------------------------------------------------------------
# Subscription schemas: field order = the order the server echoes them in
# --------------------------------------------------------------------------

ABSENT = object()
REQ = object()

CANDLE_MS = {"1m": 60000, "3m": 180000, "5m": 300000, "15m": 900000, "30m": 1800000,
             "1h": 3600000, "2h": 7200000, "4h": 14400000, "8h": 28800000,
             "12h": 43200000, "1d": 86400000, "3d": 259200000, "1w": 604800000, "1M": None}
USER_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")

U = ("user", "user", REQ)
C = ("coin", "coin", REQ)
DEX0 = ("dex", "str", "")
SCHEMAS = {  # type -> [(field, kind, default)]; default REQ = required, ABSENT = optional
    "allMids": [("dex", "str", ABSENT)],
    "notification": [U],
    "webData2": [U],
    "webData3": [U],
    "twapStates": [U, DEX0],
    "clearinghouseState": [U, DEX0],
    "openOrders": [U, DEX0],
    "candle": [("interval", "interval", REQ), C],
    "l2Book": [C, ("nSigFigs", "nsig", None), ("mantissa", "mantissa", None),
               ("fast", "bool", ABSENT)],
    "trades": [C],
    "orderUpdates": [U],
    "userEvents": [U],
    "userFills": [U, ("aggregateByTime", "bool", False)],
    "userFundings": [U],
    "userNonFundingLedgerUpdates": [U],
    "activeAssetCtx": [C],
    "activeAssetData": [U, C],
    "userTwapSliceFills": [U],
    "userTwapHistory": [U],
    "bbo": [C],
    "spotState": [U, ("isPortfolioMargin", "bool", ABSENT),
                  ("ignorePortfolioMargin", "bool", ABSENT)],
    "allDexsClearinghouseState": [U],
    "allDexsAssetCtxs": [],
    "outcomeMetaUpdates": [],
    "fastAssetCtxs": [],
    "assetCtxs": [DEX0],
    "spotAssetCtxs": [],
    "userHistoricalOrders": [U],
}


class ParseError(Exception):
    """What serde would refuse: answered with "Error parsing JSON into valid websocket request"."""


class InvalidSub(Exception):
    """Well-formed but out of range: answered with "Invalid subscription {json}"."""


def normalize(sub):
    if not isinstance(sub, dict) or not isinstance(sub.get("type"), str):
        raise ParseError()
    schema = SCHEMAS.get(sub["type"])
    if schema is None:
        raise ParseError()
    norm = {"type": sub["type"]}
    for name, kind, default in schema:
        value = sub.get(name, ABSENT)
        if value is None and kind in ("nsig", "mantissa"):
            norm[name] = None
            continue
        if value is ABSENT or value is None:
            if default is REQ:
                raise ParseError()
            if default is not ABSENT:
                norm[name] = default
            continue
        if kind in ("coin", "str", "interval", "user"):
            if not isinstance(value, str) or (kind == "coin" and not value):
                raise ParseError()
            if kind == "interval" and value not in CANDLE_MS:
                raise ParseError()
            if kind == "user":
                if not USER_RE.match(value):
                    raise ParseError()
                value = value.lower()
        elif kind == "bool":
            if not isinstance(value, bool):
                raise ParseError()
        elif kind in ("nsig", "mantissa"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ParseError()
        norm[name] = value
    if sub["type"] == "l2Book":
        nsig, mant = norm["nSigFigs"], norm["mantissa"]
        if nsig is not None and nsig not in (2, 3, 4, 5):
            raise InvalidSub()
        if mant is not None and (nsig != 5 or mant not in (1, 2, 5)):
            raise InvalidSub()
    return norm


def sub_key(norm):
    return dumps(dict(sorted(norm.items())))


# --------------------------------------------------------------------------
# Feeds: what each subscription pushes.  period(sub) = seconds between pushes (None: only the
# first push), first(sub) = delay of the first push after the ack, make(sub) = list of JSON
# texts for one push (empty = nothing changed, nothing sent).
# --------------------------------------------------------------------------

def envelope(channel, data):
    return dumps({"channel": channel, "data": data})


def rate_period():
    return 1.0 / ARGS.rate


class Feed:
    def period(self, sub):
        return ARGS.user_interval

    def first(self, sub):
        return 0.0

    def make(self, sub):
        return []


class TradesFeed(Feed):
    def period(self, sub):
        return rate_period()

    def first(self, sub):
        return rate_period()

    def make(self, sub):
        m = W.market(sub.coin)
        t = now_ms()
        trades = []
        for _ in range(random.choices((1, 2, 3), (70, 20, 10))[0]):
            m.step()
            bid, ask, _ = m.top()
            side = random.choice("BA")
            buyer, seller = random.sample(W.addresses, 2)
            trades.append({"coin": sub.coin, "side": side,
                           "px": m.fmt_px(ask if side == "B" else bid),
                           "sz": m.fmt_sz(m.rand_sz(0.3)), "time": t,
                           "hash": "0x" + "0" * 64, "tid": W.next_tid(),
                           "users": [buyer, seller]})
        return [envelope("trades", trades)]


class L2BookFeed(Feed):
    def period(self, sub):
        if sub.norm.get("fast"):
            return min(ARGS.fast_book_interval, ARGS.book_interval)
        return ARGS.book_interval

    def make(self, sub):
        m = W.market(sub.coin)
        m.step()
        n = 5 if sub.norm.get("fast") else 20  # notes 9: fast:true gives 5 levels
        data = {"coin": sub.coin, "time": now_ms(),
                "levels": m.levels(n, sub.norm["nSigFigs"], sub.norm["mantissa"])}
        return [envelope("l2Book", data)]


class BboFeed(Feed):
    def period(self, sub):
        return rate_period()

    def make(self, sub):
        m = W.market(sub.coin)
        m.step()
        bid, ask, _ = m.top()
        last = sub.state.get("last")
        sizes = sub.state.get("sizes")
        if sizes is None or random.random() < 0.4:
            sizes = (m.rand_sz(), m.rand_sz(), random.randint(1, 4), random.randint(1, 4))
        state = (bid, ask) + sizes
        if state == last:
            return []  # the bbo is pushed only when it changed (docs)
        sub.state["last"], sub.state["sizes"] = state, sizes
        data = {"coin": sub.coin, "time": now_ms(),
                "bbo": [{"px": m.fmt_px(bid), "sz": m.fmt_sz(sizes[0]), "n": sizes[2]},
                        {"px": m.fmt_px(ask), "sz": m.fmt_sz(sizes[1]), "n": sizes[3]}]}
        return [envelope("bbo", data)]


def candle_bounds(interval, t):
    """(open ms, close ms) of the candle holding time t (UTC)."""
    if interval == "1M":
        d = datetime.datetime.fromtimestamp(t / 1000, datetime.timezone.utc)
        start = datetime.datetime(d.year, d.month, 1, tzinfo=datetime.timezone.utc)
        y, mo = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
        end = datetime.datetime(y, mo, 1, tzinfo=datetime.timezone.utc)
        return int(start.timestamp() * 1000), int(end.timestamp() * 1000) - 1
    span = CANDLE_MS[interval]
    base = -3 * 86400000 if interval == "1w" else 0  # weeks open on Monday 00:00 UTC (a guess)
    start = base + (t - base) // span * span
    return start, start + span - 1


class CandleFeed(Feed):
    def period(self, sub):
        return rate_period()

    def make(self, sub):
        m = W.market(sub.coin)
        mid = m.step()
        interval = sub.norm["interval"]
        t = now_ms()
        start, end = candle_bounds(interval, t)
        key = (sub.coin, interval)
        c = W.candles.get(key)
        if c is None or c["t"] != start:
            first = c is None  # a candle already under way when the server started
            c = W.candles[key] = {"t": start, "o": mid, "h": mid, "l": mid, "v": 0.0, "n": 0}
            if first:
                c["n"] = random.randint(10, 5000)
                c["v"] = m.rand_sz() * c["n"]
                c["h"] = mid * random.uniform(1.0, 1.01)
                c["l"] = mid * random.uniform(0.99, 1.0)
                c["o"] = random.uniform(c["l"], c["h"])
        c["h"], c["l"] = max(c["h"], mid), min(c["l"], mid)
        c["n"] += random.randint(1, 5)
        c["v"] += m.rand_sz(0.3)
        data = {"t": start, "T": end, "s": sub.coin, "i": interval,
                "o": m.fmt_px(c["o"]), "c": m.fmt_px(mid), "h": m.fmt_px(c["h"]),
                "l": m.fmt_px(c["l"]), "v": m.fmt_sz(c["v"]), "n": c["n"]}
        return [envelope("candle", data)]


class AllMidsFeed(Feed):
    def period(self, sub):
        return ARGS.mids_interval

    def make(self, sub):
        dex = sub.norm.get("dex")
        if dex:
            coins = [c for c in sorted(W.markets) if c.startswith(dex + ":")]
            if not coins:
                W.market(dex + ":XYZ100")
                coins = [dex + ":XYZ100"]
        else:
            coins = W.known_coins
        mids = {}
        for coin in coins:
            m = W.markets[coin]
            m.step()
            bid, ask, dec = m.top()
            mids[coin] = m.fmt_px((bid + ask) / 2, dec + 1)
        data = {"mids": mids}
        if dex is not None:
            data["dex"] = dex
        return [envelope("allMids", data)]


FILL_COINS = ("BTC", "ETH", "SOL", "HYPE")


def make_fill(user, t):
    """One WsFill in the field order of the recorded fill (fixture userFills.json)."""
    coin = random.choice(FILL_COINS)
    m = W.market(coin)
    m.step()
    bid, ask, _ = m.top()
    side = random.choice("BA")
    px = ask if side == "B" else bid
    sz = m.rand_sz(0.2)
    pos = W.positions[(user, coin)]
    closing = (pos > 0 and side == "A") or (pos < 0 and side == "B")
    if closing:
        sz = min(sz, abs(pos))
        direction = "Close Long" if pos > 0 else "Close Short"
        pnl = m.fmt_px(random.uniform(-0.01, 0.01) * px * sz, 6)
    else:
        direction = "Open Long" if side == "B" else "Open Short"
        pnl = "0.0"
    W.positions[(user, coin)] = round(pos + (sz if side == "B" else -sz), m.sz_decimals)
    fill = dict(W.fx["userFills"]["data"]["fills"][0])
    fill.update(coin=coin, px=m.fmt_px(px), sz=m.fmt_sz(sz), side=side, time=t,
                startPosition=m.fmt_sz(pos), dir=direction, closedPnl=pnl,
                hash="0x%064x" % random.getrandbits(256), oid=W.next_oid(),
                crossed=random.random() < 0.7, fee=fmt_dec(px * sz * 0.00045, 6),
                tid=W.next_tid(), feeToken="USDC")
    if "twapId" in fill:
        fill["twapId"] = None
    return fill


def snapshot_data(sub, key, items):
    data = {}
    if sub.first_push:
        data["isSnapshot"] = True
    elif ARGS.explicit_snapshot_false:
        data["isSnapshot"] = False
    data["user"] = sub.user
    data[key] = items
    return data


class UserFillsFeed(Feed):
    def make(self, sub):
        t = now_ms()
        if sub.first_push:
            n = ARGS.snapshot_fills
            fills = [make_fill(sub.user, t - (n - i) * random.randint(20000, 90000))
                     for i in range(n)]
        else:
            fills = [make_fill(sub.user, t)]
        return [envelope("userFills", snapshot_data(sub, "fills", fills))]


class UserFundingsFeed(Feed):
    def make(self, sub):
        rows = W.fx["userFundings"]["data"]["fundings"]
        if sub.first_push:
            items = [dict(r) for r in rows]
        else:
            r = dict(random.choice(rows))
            r["time"] = now_ms()
            r["fundingRate"] = fmt_dec(random.uniform(-0.0001, 0.0003), 8)
            items = [r]
        return [envelope("userFundings", snapshot_data(sub, "fundings", items))]


class SnapshotOnlyFeed(Feed):
    """isSnapshot feeds that push an empty snapshot and then stay quiet."""

    def __init__(self, channel, key):
        self.channel, self.key = channel, key

    def period(self, sub):
        return None

    def make(self, sub):
        return [envelope(self.channel, snapshot_data(sub, self.key, []))]


class UserEventsFeed(Feed):
    def first(self, sub):
        return ARGS.user_interval

    def make(self, sub):
        return [envelope("user", {"fills": [make_fill(sub.user, now_ms())]})]


class OrderUpdatesFeed(Feed):
    def first(self, sub):
        return ARGS.user_interval

    def make(self, sub):
        t = now_ms()
        open_orders = sub.state.setdefault("open", [])
        if open_orders and random.random() < 0.5:
            order = open_orders.pop(random.randrange(len(open_orders)))
            status = random.choice(("filled", "canceled"))
        else:
            coin = random.choice(FILL_COINS)
            m = W.market(coin)
            bid, ask, _ = m.top()
            side = random.choice("BA")
            px = bid * random.uniform(0.98, 1.0) if side == "B" else ask * random.uniform(1.0, 1.02)
            sz = m.fmt_sz(m.rand_sz(0.2))
            order = {"coin": coin, "side": side, "limitPx": m.fmt_px(px), "sz": sz,
                     "oid": W.next_oid(), "timestamp": t, "origSz": sz}
            open_orders.append(order)
            status = "open"
        if status == "filled":
            order = dict(order, sz="0.0")
        return [envelope("orderUpdates", [{"order": order, "status": status,
                                           "statusTimestamp": t}])]


class ActiveAssetCtxFeed(Feed):
    def period(self, sub):
        return rate_period()

    def make(self, sub):
        m = W.market(sub.coin)
        mid = m.step()
        bid, ask, dec = m.top()
        if m.spot:  # spot coins push on another channel with a spot ctx (notes 2.3)
            ctx = {"prevDayPx": m.fmt_px(m.prev_day), "dayNtlVlm": "1234567.89",
                   "markPx": m.fmt_px(mid), "midPx": m.fmt_px((bid + ask) / 2, dec + 1),
                   "circulatingSupply": "333923731.4", "coin": sub.coin,
                   "totalSupply": "999990391.44", "dayBaseVlm": "56789.12"}
            return [envelope("activeSpotAssetCtx", {"coin": sub.coin, "ctx": ctx})]
        ctx = dict(W.fx["activeAssetCtx"]["data"]["ctx"])
        ctx.update(prevDayPx=m.fmt_px(m.prev_day), oraclePx=m.fmt_px(mid),
                   markPx=m.fmt_px(mid), midPx=m.fmt_px((bid + ask) / 2, dec + 1),
                   impactPxs=[m.fmt_px(bid), m.fmt_px(ask)],
                   funding=fmt_dec(random.uniform(-0.00005, 0.0001), 8))
        return [envelope("activeAssetCtx", {"coin": sub.coin, "ctx": ctx})]


class ActiveAssetDataFeed(Feed):
    def make(self, sub):
        m = W.market(sub.coin)
        data = dict(W.fx["activeAssetData"]["data"])
        data.update(user=sub.user, coin=sub.coin, markPx=m.fmt_px(m.step()))
        return [envelope("activeAssetData", data)]


class ClearinghouseStateFeed(Feed):
    def make(self, sub):
        state = dict(W.fx["clearinghouseState"], time=now_ms())
        return [envelope("clearinghouseState", {"dex": sub.norm["dex"], "user": sub.user,
                                                "clearinghouseState": state})]


class OpenOrdersFeed(Feed):
    def make(self, sub):
        orders = [dict(o, origSz=o.get("origSz", o["sz"])) for o in W.fx["openOrders"]]
        return [envelope("openOrders", {"dex": sub.norm["dex"], "user": sub.user,
                                        "orders": orders})]


class AckOnlyFeed(Feed):
    """Subscriptions that are acknowledged but never push anything here."""

    def period(self, sub):
        return None

    def first(self, sub):
        return None


FEEDS = {
    "trades": TradesFeed(),
    "l2Book": L2BookFeed(),
    "bbo": BboFeed(),
    "candle": CandleFeed(),
    "allMids": AllMidsFeed(),
    "userFills": UserFillsFeed(),
    "userFundings": UserFundingsFeed(),
    "userNonFundingLedgerUpdates": SnapshotOnlyFeed("userNonFundingLedgerUpdates",
                                                    "nonFundingLedgerUpdates"),
    "userTwapSliceFills": SnapshotOnlyFeed("userTwapSliceFills", "twapSliceFills"),
    "userTwapHistory": SnapshotOnlyFeed("userTwapHistory", "history"),
    "userHistoricalOrders": SnapshotOnlyFeed("userHistoricalOrders", "orderHistory"),
    "userEvents": UserEventsFeed(),
    "orderUpdates": OrderUpdatesFeed(),
    "activeAssetCtx": ActiveAssetCtxFeed(),
    "activeAssetData": ActiveAssetDataFeed(),
    "clearinghouseState": ClearinghouseStateFeed(),
    "openOrders": OpenOrdersFeed(),
}
ACK_ONLY = AckOnlyFeed()


class Sub:
    seq = itertools.count()

    def __init__(self, conn, norm, key):
        self.conn = conn
        self.norm = norm
        self.key = key
        self.coin = norm.get("coin")
        self.user = norm.get("user")
        self.feed = FEEDS.get(norm["type"], ACK_ONLY)
        self.active = True
        self.first_push = True  # the next push is the first one (snapshot semantics)
        self.state = {}


# --------------------------------------------------------------------------
# Connections
# --------------------------------------------------------------------------

class Conn:
    def __init__(self, ws):
        self.ws = ws
        addr = ws.remote_address
        self.ip = W.ip(addr[0] if addr else "?")
        self.subs = {}
        self.heap = []
        self.wake = asyncio.Event()
        self.last_recv = asyncio.get_running_loop().time()

    async def send(self, text):
        await self.ws.send(text)
        W.msgs_sent += 1

    async def error(self, text):
        await self.send(envelope("error", text))

    def schedule(self, sub, when):
        heapq.heappush(self.heap, (when, next(Sub.seq), sub))
        self.wake.set()

    def add(self, sub):
        self.subs[sub.key] = sub
        self.ip.subs += 1
        if sub.user:
            self.ip.users[sub.user] += 1
        first = sub.feed.first(sub)
        if first is not None:
            self.schedule(sub, asyncio.get_running_loop().time() + first)

    def remove(self, sub):
        sub.active = False
        del self.subs[sub.key]
        self.ip.subs -= 1
        if sub.user:
            self.ip.users[sub.user] -= 1
            if self.ip.users[sub.user] <= 0:
                del self.ip.users[sub.user]

    def release_all(self):
        for sub in list(self.subs.values()):
            self.remove(sub)

    def abort_rst(self):
        transport = self.ws.transport
        if transport is None or transport.is_closing():
            return
        sock = transport.get_extra_info("socket")
        try:
            # Linger on with a zero timeout: the close sends RST instead of FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (OSError, AttributeError):
            pass
        transport.abort()


async def close_conn(conn, code, reason=""):
    """Closing handshake with `code`; codes an endpoint may not send are written raw."""
    ws = conn.ws
    try:
        try:
            Close(code, reason).check()
            valid = True
        except Exception:
            valid = False
        if valid:
            await ws.close(code, reason)
            return
        data = b"" if code == 1005 else struct.pack("!H", code) + reason.encode("utf-8")
        await ws.write_close_frame(Close(code, reason), data)
        try:
            await asyncio.wait_for(asyncio.shield(ws.wait_closed()), ws.close_timeout)
        except asyncio.TimeoutError:
            conn.abort_rst()
    except (ConnectionClosed, ConnectionError, OSError):
        pass


async def stream_loop(conn):
    loop = asyncio.get_running_loop()
    heap = conn.heap
    while True:
        if not heap:
            conn.wake.clear()
            await conn.wake.wait()
            continue
        now = loop.time()
        due = heap[0][0]
        if due > now:
            conn.wake.clear()
            try:
                await asyncio.wait_for(conn.wake.wait(), due - now)
            except asyncio.TimeoutError:
                pass
            continue
        _, _, sub = heapq.heappop(heap)
        if not sub.active:
            continue
        period = sub.feed.period(sub)
        if W.paused or sub.coin in W.silent:
            # Nothing now; a pending snapshot waits for the next beat.
            conn.schedule(sub, now + (period if period else 0.05))
            continue
        for text in sub.feed.make(sub):
            await conn.send(text)
            sub.first_push = False
        if period is None or not sub.active:
            continue
        nxt = due + period
        if nxt < now:  # fell behind (slow client / many subscriptions): no burst of catch-up
            nxt = now + period
        conn.schedule(sub, nxt)


async def idle_loop(conn):
    loop = asyncio.get_running_loop()
    timeout = ARGS.idle_timeout
    while True:
        left = conn.last_recv + timeout - loop.time()
        if left <= 0:
            log("idle close", conn.ws.remote_address)
            await close_conn(conn, 1000, "")
            return
        await asyncio.sleep(left)


PARSE_ERROR = "Error parsing JSON into valid websocket request: "


async def on_subscription(conn, method, text, raw_sub):
    try:
        norm = normalize(raw_sub)
    except ParseError:
        await conn.error(PARSE_ERROR + text)
        return
    except InvalidSub:
        await conn.error("Invalid subscription " + dumps(raw_sub))
        return
    key = sub_key(norm)
    ack = envelope("subscriptionResponse", {"method": method, "subscription": norm})
    if method == "subscribe":
        ip = conn.ip
        if key in conn.subs:
            await conn.error("Already subscribed: " + dumps(norm))
        elif ip.subs >= ARGS.max_subs:
            await conn.error(f"Cannot subscribe to more than {ARGS.max_subs} channels.")
        elif norm.get("user") and norm["user"] not in ip.users \
                and len(ip.users) >= ARGS.max_users:
            await conn.error(f"Cannot track more than {ARGS.max_users} total users.")
        else:
            await conn.send(ack)  # the ack always precedes the first push
            conn.add(Sub(conn, norm, key))
    else:
        sub = conn.subs.get(key)
        if sub is None:
            await conn.error("Already unsubscribed: " + dumps(norm))
        else:
            conn.remove(sub)
            await conn.send(ack)


def post_info(payload):
    kind = payload.get("type")
    if kind == "l2Book" and isinstance(payload.get("coin"), str):
        m = W.market(payload["coin"])
        m.step()
        nsig, mant = payload.get("nSigFigs"), payload.get("mantissa")
        return {"coin": payload["coin"], "time": now_ms(),
                "levels": m.levels(20, nsig if nsig in (2, 3, 4, 5) else None,
                                   mant if nsig == 5 and mant in (1, 2, 5) else None)}
    if kind == "allMids":
        return {c: W.markets[c].fmt_px(W.markets[c].step()) for c in W.known_coins}
    if kind == "meta":
        return W.fx["meta"]
    if kind == "clearinghouseState":
        return dict(W.fx["clearinghouseState"], time=now_ms())
    if kind == "openOrders":
        return W.fx["openOrders"]
    return None


def post_action(payload):
    action = payload.get("action")
    kind = action.get("type") if isinstance(action, dict) else None
    if kind == "order" and isinstance(action.get("orders"), list):
        return {"status": "ok", "response": {"type": "order", "data": {
            "statuses": [{"resting": {"oid": W.next_oid()}} for _ in action["orders"]]}}}
    if kind == "cancel" and isinstance(action.get("cancels"), list):
        return {"status": "ok", "response": {"type": "cancel", "data": {
            "statuses": ["success" for _ in action["cancels"]]}}}
    return {"status": "err", "response": f"hl_server does not execute {kind!r} actions."}


async def on_post(conn, text, req):
    rid, request = req.get("id"), req.get("request")
    if isinstance(rid, bool) or not isinstance(rid, int) or not isinstance(request, dict) \
            or request.get("type") not in ("info", "action") \
            or not isinstance(request.get("payload"), dict):
        await conn.error(PARSE_ERROR + text)
        return
    payload = request["payload"]
    if request["type"] == "info":
        data = post_info(payload)
        if data is None:
            response = {"type": "error",
                        "payload": "422 Unprocessable Entity: info type not served by hl_server"}
        else:
            response = {"type": "info", "payload": {"type": payload.get("type"), "data": data}}
    else:
        response = {"type": "action", "payload": post_action(payload)}
    await conn.send(envelope("post", {"id": rid, "response": response}))


async def on_message(conn, message):
    text = message if isinstance(message, str) else message.decode("utf-8", "replace")
    limit = ARGS.max_msgs_per_min
    if limit > 0:
        now = asyncio.get_running_loop().time()
        times = conn.ip.msg_times
        while times and times[0] <= now - 60.0:
            times.popleft()
        if len(times) >= limit:
            await conn.error(f"Cannot send more than {limit} messages per minute.")
            return
        times.append(now)
    try:
        req = json.loads(text)
    except ValueError:
        req = None
    method = req.get("method") if isinstance(req, dict) else None
    if method == "ping":
        await conn.send('{"channel":"pong"}')
    elif method in ("subscribe", "unsubscribe"):
        await on_subscription(conn, method, text, req.get("subscription"))
    elif method == "post":
        await on_post(conn, text, req)
    else:
        await conn.error(PARSE_ERROR + text)


async def handler(ws):
    conn = Conn(ws)
    W.conns.add(conn)
    W.accepted += 1
    log("connected", ws.remote_address, ws.path)
    tasks = [asyncio.ensure_future(stream_loop(conn))]
    if ARGS.idle_timeout > 0:
        tasks.append(asyncio.ensure_future(idle_loop(conn)))
    try:
        if ARGS.greeting:
            await conn.send("Websocket connection established.")
        async for message in ws:
            conn.last_recv = asyncio.get_running_loop().time()
            await on_message(conn, message)
    except (ConnectionClosed, ConnectionError, OSError) as exc:
        log("connection ended:", repr(exc))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        conn.release_all()
        W.conns.discard(conn)
        log("disconnected", ws.remote_address, "code", ws.close_code)


# --------------------------------------------------------------------------
# Control lines on stdin
# --------------------------------------------------------------------------

def command(line):
    words = line.split()
    if not words:
        return
    cmd, rest = words[0], line.strip()[len(words[0]):].strip()
    conns = list(W.conns)
    if cmd == "drop":
        for conn in conns:
            conn.abort_rst()
        out(f"OK drop conns={len(conns)}")
    elif cmd == "close" and len(words) >= 2 and words[1].isdigit() and int(words[1]) < 65536:
        reason = rest[len(words[1]):].strip()
        for conn in conns:
            asyncio.ensure_future(close_conn(conn, int(words[1]), reason))
        out(f"OK close conns={len(conns)}")
    elif cmd in ("pause", "resume") and len(words) == 1:
        W.paused = cmd == "pause"
        out("OK " + cmd)
    elif cmd in ("silent", "unsilent") and len(words) == 2:
        if cmd == "silent":
            W.silent.add(words[1])
        else:
            W.silent.discard(words[1])
        out(f"OK {cmd} {words[1]}")
    elif cmd == "send" and rest:
        for conn in conns:
            asyncio.ensure_future(send_quietly(conn, rest))
        out(f"OK send conns={len(conns)}")
    elif cmd == "stats" and len(words) == 1:
        subs = sum(len(c.subs) for c in conns)
        out(f"STATS conns={len(conns)} subs={subs} msgs_sent={W.msgs_sent} "
            f"accepted={W.accepted} paused={int(W.paused)}")
    else:
        out("ERROR unknown command: " + line.strip())
    log("command:", line.strip())


async def send_quietly(conn, text):
    try:
        await conn.send(text)
    except (ConnectionClosed, ConnectionError, OSError):
        pass


def watch_stdin(loop, stop, exit_on_eof):
    """Thread body: hand each line to the loop; set `stop` at EOF."""
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
    if buf:
        loop.call_soon_threadsafe(command, buf.decode("utf-8", "replace"))
    if exit_on_eof:
        loop.call_soon_threadsafe(stop.set)


async def drop_every(period):
    while True:
        await asyncio.sleep(period)
        conns = list(W.conns)
        for conn in conns:
            conn.abort_rst()
        log(f"--drop-every: dropped {len(conns)} connection(s)")


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

FIXTURES = {  # key -> file name
    "trades": "trades.json", "l2Book": "l2Book.json", "allMids": "allMids.json",
    "userFills": "userFills.json", "userFundings": "userFundings.json",
    "activeAssetCtx": "activeAssetCtx.json", "activeAssetData": "activeAssetData.json",
    "meta": "meta_response.json", "clearinghouseState": "clearinghouseState_response.json",
    "openOrders": "openOrders_response.json",
}


def load_fixtures(directory):
    fx = {}
    for key, name in FIXTURES.items():
        path = os.path.join(directory, name)
        try:
            with open(path, "rb") as f:
                fx[key] = json.loads(f.read())
        except (OSError, ValueError) as exc:
            print(f"hl_server: cannot load {path}: {exc}", file=sys.stderr, flush=True)
            sys.exit(2)
    return fx


def default_fixtures_dir():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.path.dirname(repo), "shared", "fixtures", "hl")


async def main():
    global W
    W = World(ARGS, load_fixtures(ARGS.fixtures))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    threading.Thread(target=watch_stdin, args=(loop, stop, not ARGS.ignore_stdin),
                     daemon=True).start()
    server = await serve(
        handler, "127.0.0.1", ARGS.port,
        compression="deflate" if ARGS.deflate else None,
        max_size=1024 * 1024,
        max_queue=256,
        ping_interval=None,  # the real server's RFC 6455 pings are unconfirmed (notes 3)
        close_timeout=2,
    )
    port = server.sockets[0].getsockname()[1]
    out(f"READY {port}")
    log("listening on port", port)
    if ARGS.drop_every > 0:
        asyncio.ensure_future(drop_every(ARGS.drop_every))
    await stop.wait()
    log("shutting down")
    server.close()
    try:
        await asyncio.wait_for(asyncio.shield(server.wait_closed()), 0.5)
    except asyncio.TimeoutError:
        pass


def positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError("must be > 0")
        return value
    return parse


def parse_args():
    p = argparse.ArgumentParser(description="Local Hyperliquid-like WebSocket server")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = ephemeral)")
    p.add_argument("--fixtures", default=default_fixtures_dir(),
                   help="fixture directory (default: <repo>/../shared/fixtures/hl)")
    p.add_argument("--ignore-stdin", action="store_true",
                   help="do not exit at stdin EOF (control lines are still read)")
    p.add_argument("--verbose", action="store_true", help="log to stderr")
    p.add_argument("--seed", type=int, help="seed the random generator (reproducible values)")
    p.add_argument("--idle-timeout", type=float, default=60.0,
                   help="close a connection after S seconds without a client message (0 = never)")
    p.add_argument("--max-subs", type=int, default=1000, help="subscriptions per client IP")
    p.add_argument("--max-users", type=int, default=10,
                   help="distinct users in user subscriptions per client IP")
    p.add_argument("--max-msgs-per-min", type=int, default=2000,
                   help="client messages per minute per IP (0 = unlimited)")
    p.add_argument("--rate", type=positive(float), default=5.0,
                   help="pushes/s per trades, bbo, candle, activeAssetCtx subscription")
    p.add_argument("--book-interval", type=positive(float), default=2.0,
                   help="seconds between l2Book pushes")
    p.add_argument("--fast-book-interval", type=positive(float), default=0.5,
                   help="seconds between l2Book pushes with fast:true")
    p.add_argument("--mids-interval", type=positive(float), default=2.0,
                   help="seconds between allMids pushes")
    p.add_argument("--user-interval", type=positive(float), default=2.0,
                   help="seconds between pushes of user feeds (userFills, orderUpdates, ...)")
    p.add_argument("--snapshot-fills", type=int, default=5,
                   help="fills in the userFills isSnapshot push")
    p.add_argument("--explicit-snapshot-false", action="store_true",
                   help='pushes after a snapshot carry "isSnapshot":false instead of no key')
    p.add_argument("--silent-coin", action="append", metavar="COIN",
                   help="never push data for subscriptions on COIN (repeatable; acks still come)")
    p.add_argument("--drop-every", type=float, default=0.0,
                   help="abort all connections (TCP RST) every S seconds")
    p.add_argument("--greeting", action="store_true",
                   help='send the plain-text frame "Websocket connection established." first')
    p.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    return p.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()
    VERBOSE = ARGS.verbose
    if ARGS.seed is not None:
        random.seed(ARGS.seed)
    if VERBOSE:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="[hl_server] %(name)s: %(message)s")
    else:
        logging.disable(logging.CRITICAL)
    asyncio.new_event_loop().run_until_complete(main())
    sys.stderr.flush()
    os._exit(0)
