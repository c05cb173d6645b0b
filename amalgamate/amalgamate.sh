#!/bin/sh
# Concatenate the modules, in this order, into hl_net.h. Each module is wrapped in banners so
# the generated file can be read, and split back, by module. Usage: amalgamate.sh OUT
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-hl_net.h}
modules="
manual.h
api.h
prelude.c
errors.c
arena.c
clock_random.c
sha1_base64.c
utf8.c
url.c
json.c
http_date.c
backoff.c
breaker.c
token_bucket.c
sys.c
transport.c
tls.c
http_syntax.c
http_parse.c
ws_frame.c
ws_handshake.c
ws_proto.c
profile_hyperliquid.c
http_request.c
context.c
ws_conn.c
http_client.c
subs.c
liveness.c
poll.c
ws_api.c
stats_json.c
impl_end.c
license.h
"
tmp="$out.tmp.$$"
{
    for m in $modules; do
        case $m in
        manual.h | license.h) cat "$here/$m" ;;
        *)
            printf '/* ==== begin %s ==== */\n' "$m"
            cat "$here/$m"
            printf '/* ==== end %s ==== */\n' "$m"
            ;;
        esac
    done
} >"$tmp"
mv "$tmp" "$out"
