#!/bin/sh
# What `make demo` runs (the Makefile builds build/hlcat first). From anywhere:
#     sh examples/demo.sh
# Starts the local test server tests/servers/ws_python_server.py on a free port of 127.0.0.1 and
# lets build/hlcat print about 5 seconds of its Hyperliquid-style trade stream (50 messages at
# 10 per second) with -v lifecycle events, then close normally. Nothing leaves this machine.
# The server is stopped on exit (its stdin closes and it gets SIGTERM by its PID).
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
hlcat=build/hlcat
python=/usr/bin/python3

if [ ! -x "$hlcat" ]; then
    echo "demo: $hlcat is missing; run 'make demo' (or 'make $hlcat') first" >&2
    exit 1
fi
if [ ! -x "$python" ]; then
    echo "demo: $python is missing (the test server needs it, with python3-websockets)" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hl_demo.XXXXXX") || exit 1
spid=
cleanup() {
    exec 9>&- # the server leaves when its stdin closes ...
    if [ -n "$spid" ]; then
        kill "$spid" 2>/dev/null # ... or at once on SIGTERM
        wait "$spid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The server's stdin is a fifo that this script holds open on fd 9 until it ends.
mkfifo "$tmp/stdin" || exit 1
"$python" tests/servers/ws_python_server.py --port 0 <"$tmp/stdin" >"$tmp/server.out" 2>"$tmp/server.err" &
spid=$!
exec 9>"$tmp/stdin"

port=
tries=0
while [ -z "$port" ] && [ "$tries" -lt 100 ]; do
    port=$(sed -n 's/^READY \([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
    [ -n "$port" ] && break
    if ! kill -0 "$spid" 2>/dev/null; then
        break
    fi
    sleep 0.1
    tries=$((tries + 1))
done
if [ -z "$port" ]; then
    echo "demo: the test server did not start:" >&2
    cat "$tmp/server.err" >&2
    exit 1
fi

url="ws://127.0.0.1:$port/trades?rate=10"
echo "demo: a local test server streams Hyperliquid-style trades at 10 a second; hlcat prints 50 of"
echo "demo: them on stdout, lifecycle events (-v) on stderr, then closes with 1000 and exits 0."
echo "demo: \$ $hlcat -v -n 50 '$url'"
status=0
"$hlcat" -v -n 50 "$url" </dev/null || status=$?
echo "demo: hlcat exited with status $status"
exit "$status"
