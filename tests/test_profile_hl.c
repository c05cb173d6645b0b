/* The Hyperliquid profile, through the function pointers of hl_profile_hyperliquid(): classify
   of every server->client fixture (kind, route key, snapshot flag, ack and error views), the
   routing property (sub_route of a subscription == the key classify gives its data), the
   subscribe/unsubscribe and ping/pong texts, and malformed or cut input. Inputs are exact-size
   heap copies so that ASan sees any read past the end. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

#include <dirent.h>

#define FIXTURES "../shared/fixtures/hl/"
#define U1 "0x0000000000000000000000000000000000000001"
#define UB "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"
#define UB_MIXED "0xB7b6F3CEA3f66bf525F5D8f965f6dbf6d9B017B2"
#define UX "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01"
#define UX_LOWER "0xabcdef0123456789abcdef0123456789abcdef01"

static const hl_profile *P;

static char *dup_exact(const char *s, size_t n)
{
    char *p = (char *)malloc(n ? n : 1);
    if (p && n) memcpy(p, s, n);
    return p;
}

static long read_fixture(const char *name, char *buf, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, FIXTURES "%s", name);
    return hl_test_read_file(path, buf, cap);
}

/* The views classify returns must point into the message (or the info's scratch), keys must be
   NUL-terminated and of the stated length. Returns 1 when consistent. */
static int info_sane(const hl_msg_info *in, const char *b, size_t n)
{
    int ok = 1;
    if ((unsigned)in->kind > HL_MSGK_ERROR) ok = 0;
    if (in->key_len >= sizeof in->key) ok = 0;
    else if (in->key[in->key_len] != '\0' || strlen(in->key) != in->key_len) ok = 0;
    if (in->sub) {
        int in_msg = in->sub >= b && in->sub + in->sub_len <= b + n;
        int in_scratch = in->sub >= in->scratch && in->sub + in->sub_len < in->scratch + sizeof in->scratch;
        if (!in_msg && !in_scratch) ok = 0;
    }
    if (in->text && !(in->text >= b && in->text + in->text_len <= b + n)) ok = 0;
    return ok;
}

/* classify of s[0..n) on a heap copy into *in (zeroed first, as the library's caller does).
   The views are re-based onto out_msg (a copy kept by the caller) so they stay readable. */
static void classify_n(const char *s, size_t n, hl_msg_info *in)
{
    char *b = dup_exact(s, n);
    memset(in, 0, sizeof *in);
    if (!b) return;
    P->classify(b, n, in);
    CHECK(info_sane(in, b, n));
    /* re-base the views into s */
    if (in->sub && in->sub >= b && in->sub <= b + n) in->sub = s + (in->sub - b);
    if (in->text) in->text = s + (in->text - b);
    free(b);
}

static void classify_s(const char *s, hl_msg_info *in)
{
    classify_n(s, strlen(s), in);
}

static int route_of(const char *sub, char *key, size_t cap)
{
    size_t n = strlen(sub);
    char *b = dup_exact(sub, n);
    int r;
    if (!b) return -100;
    r = P->sub_route(b, n, key, cap);
    if (r >= 0) {
        CHECK((size_t)r < cap);
        CHECK(key[r] == '\0' && strlen(key) == (size_t)r);
    }
    free(b);
    return r;
}

static int view_is(const char *p, size_t n, const char *want)
{
    return p && n == strlen(want) && memcmp(p, want, n) == 0;
}

static void test_profile_fields(void)
{
    CHECK(P != NULL);
    CHECK(strcmp(P->name, "hyperliquid") == 0);
    CHECK_EQ(P->app_ping_ms, 50000);
    CHECK_EQ(P->msgs_per_minute, 2000);
    CHECK_EQ(P->max_subscriptions, 1000);
    CHECK(P->app_ping && P->app_pong && P->sub_message && P->sub_route && P->classify);
    CHECK(hl_profile_hyperliquid() == P);
}

/* ---- classify on the fixtures ----------------------------------------------------------------- */

typedef struct fx_row {
    const char *file;
    hl_msg_kind kind;
    const char *key; /* DATA: the route key; SUB_ACK/UNSUB_ACK: the subscription view */
    int snapshot;
} fx_row;

static const fx_row ws_rows[] = {
    {"activeAssetCtx.json", HL_MSGK_DATA, "activeAssetCtx|BTC", 0},
    {"activeAssetData.json", HL_MSGK_DATA, "activeAssetData|BTC|" U1, 0},
    {"allMids.json", HL_MSGK_DATA, "allMids", 0},
    {"bbo.json", HL_MSGK_DATA, "bbo|HYPE", 0},
    {"candle.json", HL_MSGK_DATA, "candle|HYPE|1d", 0},
    {"error.json", HL_MSGK_ERROR, NULL, 0},
    {"l2Book.json", HL_MSGK_DATA, "l2Book|@107", 0},
    {"notification.json", HL_MSGK_DATA, "notification", 0},
    {"orderUpdates.json", HL_MSGK_DATA, "orderUpdates", 0},
    {"pong.json", HL_MSGK_PONG, NULL, 0},
    {"post_response.json", HL_MSGK_OTHER, NULL, 0},
    {"post_response_action.json", HL_MSGK_OTHER, NULL, 0},
    {"post_response_error.json", HL_MSGK_OTHER, NULL, 0},
    {"subscriptionResponse.json", HL_MSGK_SUB_ACK, "{\"type\":\"trades\",\"coin\":\"SOL\"}", 0},
    {"subscriptionResponse_candle.json", HL_MSGK_SUB_ACK, "{\"type\":\"candle\",\"interval\":\"1d\",\"coin\":\"HYPE\"}", 0},
    {"subscriptionResponse_l2Book.json", HL_MSGK_SUB_ACK,
     "{\"type\":\"l2Book\",\"coin\":\"HYPE\",\"nSigFigs\":null,\"mantissa\":null}", 0},
    {"subscriptionResponse_unsubscribe.json", HL_MSGK_UNSUB_ACK, "{\"type\":\"trades\",\"coin\":\"SOL\"}", 0},
    {"trades.json", HL_MSGK_DATA, "trades|HYPE", 0},
    {"userEvents.json", HL_MSGK_DATA, "user", 0},
    {"userFills.json", HL_MSGK_DATA, "userFills|" U1, 1},
    {"userFundings.json", HL_MSGK_DATA, "userFundings|" UB, 1},
};

/* Not server->client WebSocket messages: requests we send and HTTP bodies. */
static const char *const non_ws[] = {
    "req_ping.json", "req_post_action_order.json", "req_post_info_l2Book.json", "req_subscribe_l2Book.json",
    "req_subscribe_trades.json", "req_subscribe_userFills.json", "req_unsubscribe_trades.json",
    "allMids_response.json", "candleSnapshot_request.json", "candleSnapshot_response.json",
    "clearinghouseState_response.json", "exchange_cancel_response.json", "exchange_err_response.json",
    "exchange_order_response_error.json", "exchange_order_response_filled.json",
    "exchange_order_response_resting.json", "fundingHistory_request.json", "fundingHistory_response.json",
    "l2Book_request.json", "l2Book_response.json", "meta_response.json", "meta_response_docs.json",
    "openOrders_response.json", "userFillsByTime_request.json", "userFills_response.json",
    "userFunding_response.json", "http_422_body.txt", "http_429_body.txt",
};

static void test_classify_fixtures(void)
{
    static char buf[8192];
    size_t i;
    for (i = 0; i < sizeof ws_rows / sizeof ws_rows[0]; i++) {
        const fx_row *r = &ws_rows[i];
        hl_msg_info in;
        long n = read_fixture(r->file, buf, sizeof buf);
        CHECK(n > 0);
        if (n <= 0) {
            printf("  cannot read %s\n", r->file);
            continue;
        }
        classify_n(buf, (size_t)n, &in);
        CHECK_EQ(in.kind, r->kind);
        CHECK_EQ(in.is_snapshot, r->snapshot);
        if (r->kind == HL_MSGK_DATA) {
            CHECK(strcmp(in.key, r->key) == 0);
            if (strcmp(in.key, r->key) != 0) printf("  %s: key [%s], want [%s]\n", r->file, in.key, r->key);
        } else if (r->kind == HL_MSGK_SUB_ACK || r->kind == HL_MSGK_UNSUB_ACK) {
            /* the view is the subscription object inside the message, byte for byte */
            CHECK(view_is(in.sub, in.sub_len, r->key));
            CHECK(in.sub >= buf && in.sub + in.sub_len <= buf + n);
        }
        if (in.kind != r->kind) printf("  %s: kind %d, want %d\n", r->file, (int)in.kind, (int)r->kind);
    }
}

static void test_classify_non_ws_fixtures(void)
{
    static char buf[8192];
    size_t i;
    for (i = 0; i < sizeof non_ws / sizeof non_ws[0]; i++) {
        hl_msg_info in;
        long n = read_fixture(non_ws[i], buf, sizeof buf);
        CHECK(n > 0);
        if (n <= 0) continue;
        classify_n(buf, (size_t)n, &in);
        CHECK_EQ(in.kind, HL_MSGK_OTHER);
    }
}

/* Every file in the fixture directory is in one of the two lists above. */
static void test_every_fixture_listed(void)
{
    DIR *d = opendir(FIXTURES);
    struct dirent *e;
    int files = 0;
    CHECK(d != NULL);
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        size_t i, l = strlen(e->d_name);
        int known = 0;
        if (!(l > 5 && strcmp(e->d_name + l - 5, ".json") == 0) && !(l > 4 && strcmp(e->d_name + l - 4, ".txt") == 0))
            continue;
        files++;
        for (i = 0; i < sizeof ws_rows / sizeof ws_rows[0]; i++) known |= strcmp(ws_rows[i].file, e->d_name) == 0;
        for (i = 0; i < sizeof non_ws / sizeof non_ws[0]; i++) known |= strcmp(non_ws[i], e->d_name) == 0;
        CHECK(known);
        if (!known) printf("  fixture %s is in neither table of this test\n", e->d_name);
    }
    closedir(d);
    CHECK_EQ(files, (int)(sizeof ws_rows / sizeof ws_rows[0] + sizeof non_ws / sizeof non_ws[0]));
}

static void test_error_fixture(void)
{
    static char buf[1024];
    hl_msg_info in;
    long n = read_fixture("error.json", buf, sizeof buf);
    uint64_t a = 0, b = 1;
    CHECK(n > 0);
    if (n <= 0) return;
    classify_n(buf, (size_t)n, &in);
    CHECK_EQ(in.kind, HL_MSGK_ERROR);
    /* text: the string's contents as they are on the wire (escapes kept) */
    CHECK(view_is(in.text, in.text_len,
                  "Error parsing JSON into valid websocket request: { \\\"type\\\": \\\"allMids\\\" }"));
    /* sub: the embedded request, unescaped, in the scratch room */
    CHECK(view_is(in.sub, in.sub_len, "{ \"type\": \"allMids\" }"));
    if (in.sub) {
        CHECK_EQ(hl__json_canon_hash(in.sub, in.sub_len, &a), HL_OK);
        CHECK_EQ(hl__json_canon_hash("{\"type\":\"allMids\"}", 18, &b), HL_OK);
        CHECK(a == b);
    }
}

typedef struct err_row {
    const char *msg, *text, *sub; /* sub NULL: none */
} err_row;

static const err_row err_rows[] = {
    {"{\"channel\":\"error\",\"data\":\"Already subscribed: {\\\"type\\\":\\\"trades\\\",\\\"coin\\\":\\\"SOL\\\"}\"}",
     "Already subscribed: {\\\"type\\\":\\\"trades\\\",\\\"coin\\\":\\\"SOL\\\"}", "{\"type\":\"trades\",\"coin\":\"SOL\"}"},
    {"{\"channel\":\"error\",\"data\":\"Already unsubscribed: {\\\"type\\\":\\\"l2Book\\\",\\\"coin\\\":\\\"BTC\\\"}\"}",
     "Already unsubscribed: {\\\"type\\\":\\\"l2Book\\\",\\\"coin\\\":\\\"BTC\\\"}", "{\"type\":\"l2Book\",\"coin\":\"BTC\"}"},
    {"{\"channel\":\"error\",\"data\":\"Invalid subscription {\\\"type\\\":\\\"candle\\\",\\\"coin\\\":\\\"HYPE\\\",\\\"interval\\\":\\\"7m\\\"}\"}",
     "Invalid subscription {\\\"type\\\":\\\"candle\\\",\\\"coin\\\":\\\"HYPE\\\",\\\"interval\\\":\\\"7m\\\"}",
     "{\"type\":\"candle\",\"coin\":\"HYPE\",\"interval\":\"7m\"}"},
    {"{\"channel\":\"error\",\"data\":\"Cannot track more than 10 total users.\"}", "Cannot track more than 10 total users.",
     NULL},
    {"{\"channel\":\"error\",\"data\":\"too many pending post requests id=1234\"}", "too many pending post requests id=1234",
     NULL},
    {"{\"channel\":\"error\",\"data\":\"Cannot send more than 2000 messages per minute.\"}",
     "Cannot send more than 2000 messages per minute.", NULL},
    {"{\"data\":\"Cannot subscribe to more than 1000 channels.\",\"channel\":\"error\"}",
     "Cannot subscribe to more than 1000 channels.", NULL},
    {"{\"channel\":\"error\",\"data\":\"\"}", "", NULL},
};

static void test_error_frames(void)
{
    size_t i;
    for (i = 0; i < sizeof err_rows / sizeof err_rows[0]; i++) {
        hl_msg_info in;
        classify_s(err_rows[i].msg, &in);
        CHECK_EQ(in.kind, HL_MSGK_ERROR);
        CHECK(view_is(in.text, in.text_len, err_rows[i].text));
        if (err_rows[i].sub) {
            CHECK(view_is(in.sub, in.sub_len, err_rows[i].sub));
            if (!view_is(in.sub, in.sub_len, err_rows[i].sub)) printf("  sub of row %u\n", (unsigned)i);
        } else {
            CHECK(in.sub == NULL && in.sub_len == 0);
        }
    }
    /* data that is not a string: still an error, without text */
    {
        hl_msg_info in;
        classify_s("{\"channel\":\"error\",\"data\":{\"code\":1}}", &in);
        CHECK_EQ(in.kind, HL_MSGK_ERROR);
        CHECK(in.text == NULL);
        CHECK(in.sub == NULL);
    }
    /* an embedded request longer than the scratch room is cut inside it, not overrun */
    {
        char msg[1200];
        size_t o = 0;
        int k;
        hl_msg_info in;
        o += (size_t)sprintf(msg, "{\"channel\":\"error\",\"data\":\"Invalid subscription {\\\"type\\\":\\\"x\\\"");
        for (k = 0; k < 60; k++) o += (size_t)sprintf(msg + o, ",\\\"k%02d\\\":\\\"v\\\"", k);
        sprintf(msg + o, "}\"}");
        classify_s(msg, &in);
        CHECK_EQ(in.kind, HL_MSGK_ERROR);
        CHECK(in.sub == in.scratch);
        CHECK(in.sub_len < sizeof in.scratch);
        CHECK(in.scratch[in.sub_len] == '\0');
    }
}

/* ---- the routing property -------------------------------------------------------------------- */

typedef struct route_row {
    const char *sub;  /* subscription object */
    const char *data; /* the message its data comes in; "@file" for a fixture */
    const char *key;  /* what both must give */
} route_row;

static const route_row route_rows[] = {
    {"{\"type\":\"trades\",\"coin\":\"HYPE\"}", "@trades.json", "trades|HYPE"},
    {"@req_subscribe_trades.json",
     "{\"channel\":\"trades\",\"data\":[{\"coin\":\"SOL\",\"side\":\"A\",\"px\":\"150.1\",\"sz\":\"2\",\"time\":1,"
     "\"hash\":\"0x00\",\"tid\":7,\"users\":[\"0x01\",\"0x02\"]},{\"coin\":\"SOL\",\"side\":\"B\",\"px\":\"150.2\","
     "\"sz\":\"1\",\"time\":1,\"hash\":\"0x00\",\"tid\":8,\"users\":[\"0x01\",\"0x02\"]}]}",
     "trades|SOL"},
    {"@req_subscribe_l2Book.json", "{\"channel\":\"l2Book\",\"data\":{\"coin\":\"BTC\",\"time\":1,\"levels\":[[],[]]}}",
     "l2Book|BTC"},
    {"{\"type\":\"l2Book\",\"coin\":\"@107\",\"nSigFigs\":5,\"mantissa\":null}", "@l2Book.json", "l2Book|@107"},
    {"{\"type\":\"l2Book\",\"coin\":\"@107\",\"fast\":true}", "@l2Book.json", "l2Book|@107"},
    {"@req_subscribe_userFills.json", "@userFills.json", "userFills|" U1},
    {"{\"type\":\"userFills\",\"user\":\"0x0000000000000000000000000000000000000001\",\"aggregateByTime\":true}",
     "@userFills.json", "userFills|" U1},
    {"{\"type\":\"bbo\",\"coin\":\"HYPE\"}", "@bbo.json", "bbo|HYPE"},
    {"{\"type\":\"candle\",\"coin\":\"HYPE\",\"interval\":\"1d\"}", "@candle.json", "candle|HYPE|1d"},
    {"{\"type\":\"candle\",\"interval\":\"1d\",\"coin\":\"HYPE\"}", "@candle.json", "candle|HYPE|1d"},
    {"{\"type\":\"candle\",\"coin\":\"xyz:XYZ100\",\"interval\":\"15m\"}",
     "{\"channel\":\"candle\",\"data\":{\"t\":1,\"T\":2,\"s\":\"xyz:XYZ100\",\"i\":\"15m\",\"o\":\"1\",\"c\":\"1\","
     "\"h\":\"1\",\"l\":\"1\",\"v\":\"0\",\"n\":0}}",
     "candle|xyz:XYZ100|15m"},
    {"{\"type\":\"allMids\"}", "@allMids.json", "allMids"},
    {"{\"type\":\"allMids\",\"dex\":\"xyz\"}", "{\"channel\":\"allMids\",\"data\":{\"dex\":\"xyz\",\"mids\":{\"xyz:XYZ100\":\"1.0\"}}}",
     "allMids"},
    {"{\"type\":\"notification\",\"user\":\"" UB_MIXED "\"}", "@notification.json", "notification"},
    {"{\"type\":\"webData3\",\"user\":\"" UX "\"}",
     "{\"channel\":\"webData3\",\"data\":{\"userState\":{\"user\":\"" UX_LOWER "\"},\"perpDexStates\":[]}}",
     "webData3|" UX_LOWER},
    {"{\"type\":\"webData2\",\"user\":\"" UX "\"}",
     "{\"channel\":\"webData2\",\"data\":{\"clearinghouseState\":{},\"openOrders\":[],\"user\":\"" UX_LOWER "\"}}",
     "webData2|" UX_LOWER},
    {"{\"type\":\"twapStates\",\"user\":\"" UX "\",\"dex\":\"\"}",
     "{\"channel\":\"twapStates\",\"data\":{\"dex\":\"\",\"user\":\"" UX_LOWER "\",\"states\":[]}}", "twapStates|" UX_LOWER},
    {"{\"type\":\"clearinghouseState\",\"user\":\"" UX "\"}",
     "{\"channel\":\"clearinghouseState\",\"data\":{\"dex\":\"\",\"user\":\"" UX_LOWER "\",\"clearinghouseState\":"
     "{\"assetPositions\":[]}}}",
     "clearinghouseState|" UX_LOWER},
    {"{\"type\":\"openOrders\",\"user\":\"" UX "\",\"dex\":\"xyz\"}",
     "{\"channel\":\"openOrders\",\"data\":{\"dex\":\"xyz\",\"user\":\"" UX_LOWER "\",\"orders\":[{\"coin\":\"xyz:XYZ100\","
     "\"oid\":1}]}}",
     "openOrders|" UX_LOWER},
    {"{\"type\":\"orderUpdates\",\"user\":\"" UX "\"}", "@orderUpdates.json", "orderUpdates"},
    {"{\"type\":\"userEvents\",\"user\":\"" UX "\"}", "@userEvents.json", "user"},
    {"{\"type\":\"userFundings\",\"user\":\"" UB_MIXED "\"}", "@userFundings.json", "userFundings|" UB},
    {"{\"type\":\"userNonFundingLedgerUpdates\",\"user\":\"" UX "\"}",
     "{\"channel\":\"userNonFundingLedgerUpdates\",\"data\":{\"isSnapshot\":true,\"user\":\"" UX_LOWER "\","
     "\"nonFundingLedgerUpdates\":[]}}",
     "userNonFundingLedgerUpdates|" UX_LOWER},
    {"{\"type\":\"activeAssetCtx\",\"coin\":\"BTC\"}", "@activeAssetCtx.json", "activeAssetCtx|BTC"},
    {"{\"type\":\"activeAssetCtx\",\"coin\":\"@107\"}",
     "{\"channel\":\"activeSpotAssetCtx\",\"data\":{\"coin\":\"@107\",\"ctx\":{\"markPx\":\"21.8\"}}}",
     "activeSpotAssetCtx|@107"},
    {"{\"type\":\"activeAssetCtx\",\"coin\":\"PURR/USDC\"}",
     "{\"channel\":\"activeSpotAssetCtx\",\"data\":{\"coin\":\"PURR/USDC\",\"ctx\":{}}}", "activeSpotAssetCtx|PURR/USDC"},
    {"{\"type\":\"activeAssetCtx\",\"coin\":\"xyz:XYZ100\"}",
     "{\"channel\":\"activeAssetCtx\",\"data\":{\"coin\":\"xyz:XYZ100\",\"ctx\":{}}}", "activeAssetCtx|xyz:XYZ100"},
    {"{\"type\":\"activeAssetData\",\"user\":\"" U1 "\",\"coin\":\"BTC\"}", "@activeAssetData.json",
     "activeAssetData|BTC|" U1},
    {"{\"coin\":\"BTC\",\"user\":\"" U1 "\",\"type\":\"activeAssetData\"}", "@activeAssetData.json",
     "activeAssetData|BTC|" U1},
    {"{\"type\":\"userTwapSliceFills\",\"user\":\"" UX "\"}",
     "{\"channel\":\"userTwapSliceFills\",\"data\":{\"isSnapshot\":true,\"user\":\"" UX_LOWER "\",\"twapSliceFills\":[]}}",
     "userTwapSliceFills|" UX_LOWER},
    {"{\"type\":\"userTwapHistory\",\"user\":\"" UX "\"}",
     "{\"channel\":\"userTwapHistory\",\"data\":{\"isSnapshot\":true,\"user\":\"" UX_LOWER "\",\"history\":[]}}",
     "userTwapHistory|" UX_LOWER},
    {"{\"type\":\"spotState\",\"user\":\"" UX "\"}",
     "{\"channel\":\"spotState\",\"data\":{\"user\":\"" UX_LOWER "\",\"spotState\":{\"balances\":[]}}}",
     "spotState|" UX_LOWER},
    {"{\"type\":\"allDexsClearinghouseState\",\"user\":\"" UX "\"}",
     "{\"channel\":\"allDexsClearinghouseState\",\"data\":{\"user\":\"" UX_LOWER "\",\"clearinghouseStates\":[]}}",
     "allDexsClearinghouseState|" UX_LOWER},
    {"{\"type\":\"allDexsAssetCtxs\"}", "{\"channel\":\"allDexsAssetCtxs\",\"data\":{\"ctxs\":[[\"\",[]]]}}",
     "allDexsAssetCtxs"},
    {"{\"type\":\"outcomeMetaUpdates\"}",
     "{\"channel\":\"outcomeMetaUpdates\",\"data\":[{\"outcomeCreated\":{\"outcome\":1}}]}", "outcomeMetaUpdates"},
    {"{\"type\":\"fastAssetCtxs\"}", "{\"channel\":\"fastAssetCtxs\",\"data\":\"q1YqyS/KTFGyUlAqTi0uSU0BAA==\"}",
     "fastAssetCtxs"},
    /* channels known from the SDKs only (notes 2.3) */
    {"{\"type\":\"assetCtxs\",\"dex\":\"\"}", "{\"channel\":\"assetCtxs\",\"data\":{\"dex\":\"\",\"ctxs\":[]}}",
     "assetCtxs"},
    {"{\"type\":\"userHistoricalOrders\",\"user\":\"" UX "\"}",
     "{\"channel\":\"userHistoricalOrders\",\"data\":{\"isSnapshot\":true,\"user\":\"" UX_LOWER "\",\"orderHistory\":[]}}",
     NULL},
    /* an array of every spot asset's context, each with its coin */
    {"{\"type\":\"spotAssetCtxs\"}",
     "{\"channel\":\"spotAssetCtxs\",\"data\":[{\"prevDayPx\":\"1\",\"dayNtlVlm\":\"0\",\"markPx\":\"1\",\"midPx\":null,"
     "\"circulatingSupply\":\"1\",\"coin\":\"PURR/USDC\",\"totalSupply\":\"1\",\"dayBaseVlm\":\"0\"}]}",
     "spotAssetCtxs"},
};

/* A subscription object: literal, or the .subscription of a fixture ("@file"). */
static const char *sub_text(const char *spec, char *out, size_t cap)
{
    static char buf[4096];
    const char *v, *ve;
    long n;
    if (spec[0] != '@') return spec;
    n = read_fixture(spec + 1, buf, sizeof buf);
    if (n <= 0) return NULL;
    ve = hl__js_get(buf, buf + n, "subscription", &v);
    if (!ve || (size_t)(ve - v) >= cap) return NULL;
    memcpy(out, v, (size_t)(ve - v));
    out[ve - v] = '\0';
    return out;
}

static void test_route_property(void)
{
    static char buf[8192];
    size_t i;
    for (i = 0; i < sizeof route_rows / sizeof route_rows[0]; i++) {
        const route_row *r = &route_rows[i];
        char sbuf[512], key[96];
        const char *sub = sub_text(r->sub, sbuf, sizeof sbuf);
        const char *msg = r->data;
        size_t mlen;
        hl_msg_info in;
        int kl;
        CHECK(sub != NULL);
        if (!sub) continue;
        if (msg[0] == '@') {
            long n = read_fixture(msg + 1, buf, sizeof buf);
            CHECK(n > 0);
            if (n <= 0) continue;
            msg = buf;
            mlen = (size_t)n;
        } else {
            mlen = strlen(msg);
        }
        kl = route_of(sub, key, sizeof key);
        classify_n(msg, mlen, &in);
        CHECK(kl > 0);
        CHECK_EQ(in.kind, HL_MSGK_DATA);
        if (kl <= 0 || in.kind != HL_MSGK_DATA) continue;
        CHECK(strcmp(key, in.key) == 0);
        if (strcmp(key, in.key) != 0) printf("  %s: sub_route [%s], data [%s]\n", sub, key, in.key);
        if (r->key) {
            CHECK(strcmp(key, r->key) == 0);
            if (strcmp(key, r->key) != 0) printf("  %s: sub_route [%s], want [%s]\n", sub, key, r->key);
        }
    }
}

/* Channels whose data names its user: two users' subscriptions of one type get two routes, so
   that each sees only its own data. */
static void test_route_distinct_users(void)
{
    static const char *const types[] = {"userFills", "userFundings", "userNonFundingLedgerUpdates",
                                        "userTwapSliceFills", "userTwapHistory", "clearinghouseState",
                                        "openOrders", "twapStates", "webData2", "spotState",
                                        "allDexsClearinghouseState", "activeAssetData", "webData3",
                                        "userHistoricalOrders"};
    size_t i;
    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        char sa[256], sb[256], ka[96], kb[96];
        snprintf(sa, sizeof sa, "{\"type\":\"%s\",\"user\":\"" U1 "\",\"coin\":\"BTC\"}", types[i]);
        snprintf(sb, sizeof sb, "{\"type\":\"%s\",\"user\":\"" UX "\",\"coin\":\"BTC\"}", types[i]);
        CHECK(route_of(sa, ka, sizeof ka) > 0);
        CHECK(route_of(sb, kb, sizeof kb) > 0);
        CHECK(strcmp(ka, kb) != 0);
        if (strcmp(ka, kb) == 0) printf("  %s: both users route to [%s]\n", types[i], ka);
    }
}

static void test_sub_route_edges(void)
{
    char key[96];
    /* userEvents is pushed on channel "user" */
    CHECK_EQ(route_of("{\"type\":\"userEvents\",\"user\":\"" UX "\"}", key, sizeof key), 4);
    CHECK(strcmp(key, "user") == 0);
    /* no type, or not an object: refused */
    CHECK_EQ(route_of("{\"coin\":\"BTC\"}", key, sizeof key), HL_E_INVALID);
    CHECK_EQ(route_of("{\"type\":5,\"coin\":\"BTC\"}", key, sizeof key), HL_E_INVALID);
    CHECK_EQ(route_of("[\"trades\"]", key, sizeof key), HL_E_INVALID);
    CHECK_EQ(route_of("", key, sizeof key), HL_E_INVALID);
    (void)route_of("{\"type\":\"trades\",\"coin\":\"SOL\"", key, sizeof key); /* cut: anything but a crash */
    /* the key buffer: exactly enough, one short */
    CHECK_EQ(route_of("{\"type\":\"trades\",\"coin\":\"SOL\"}", key, 11), 10);
    CHECK(strcmp(key, "trades|SOL") == 0);
    CHECK_EQ(route_of("{\"type\":\"trades\",\"coin\":\"SOL\"}", key, 10), HL_E_INVALID);
    CHECK_EQ(route_of("{\"type\":\"trades\",\"coin\":\"SOL\"}", key, 6), HL_E_INVALID);
    CHECK_EQ(route_of("{\"type\":\"userFills\",\"user\":\"" UX "\"}", key, 10 + 42 + 1), 52);
    CHECK_EQ(route_of("{\"type\":\"userFills\",\"user\":\"" UX "\"}", key, 10 + 42), HL_E_INVALID);
    /* a coin too long for a key */
    {
        char sub[300];
        snprintf(sub, sizeof sub, "{\"type\":\"trades\",\"coin\":\"%0100d\"}", 7);
        CHECK_EQ(route_of(sub, key, sizeof key), HL_E_INVALID);
    }
    /* white space and reordering do not change the key */
    CHECK_EQ(route_of(" { \"coin\" : \"SOL\" , \"type\" : \"trades\" } ", key, sizeof key), 10);
    CHECK(strcmp(key, "trades|SOL") == 0);
}

/* ---- outgoing texts ------------------------------------------------------------------------- */

static void test_sub_message(void)
{
    static const char *const files[][2] = {
        {"req_subscribe_trades.json", "0"},
        {"req_subscribe_l2Book.json", "0"},
        {"req_subscribe_userFills.json", "0"},
        {"req_unsubscribe_trades.json", "1"},
    };
    static char whole[1024];
    size_t i;
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        char sbuf[512], out[1024];
        char at[64];
        const char *sub;
        long n = read_fixture(files[i][0], whole, sizeof whole);
        int r;
        snprintf(at, sizeof at, "@%s", files[i][0]);
        sub = sub_text(at, sbuf, sizeof sbuf);
        CHECK(n > 0 && sub != NULL);
        if (n <= 0 || !sub) continue;
        /* the message we build is the fixture, byte for byte */
        r = P->sub_message(sub, strlen(sub), files[i][1][0] == '1', out, sizeof out);
        CHECK_EQ(r, n);
        CHECK(r == n && memcmp(out, whole, (size_t)n) == 0 && out[n] == '\0');
        /* room for exactly that and its NUL; one byte less is refused */
        r = P->sub_message(sub, strlen(sub), files[i][1][0] == '1', out, (size_t)n + 1);
        CHECK_EQ(r, n);
        r = P->sub_message(sub, strlen(sub), files[i][1][0] == '1', out, (size_t)n);
        CHECK_EQ(r, HL_E_INVALID);
        r = P->sub_message(sub, strlen(sub), files[i][1][0] == '1', out, 0);
        CHECK_EQ(r, HL_E_INVALID);
    }
}

static void test_ping_pong_texts(void)
{
    static char want[64];
    char out[64];
    long n = read_fixture("req_ping.json", want, sizeof want);
    int r;
    CHECK_EQ(n, 17);
    r = P->app_ping(out, sizeof out);
    CHECK_EQ(r, 17);
    CHECK(r == 17 && memcmp(out, want, 17) == 0 && out[17] == '\0');
    CHECK_EQ(P->app_ping(out, 18), 17);
    CHECK_EQ(P->app_ping(out, 17), HL_E_INVALID);
    CHECK_EQ(P->app_ping(out, 0), HL_E_INVALID);
    r = P->app_pong("Ping", 4, out, sizeof out);
    CHECK_EQ(r, 17);
    CHECK(strcmp(out, "{\"method\":\"pong\"}") == 0);
    CHECK_EQ(P->app_pong("Ping", 4, out, 18), 17);
    CHECK_EQ(P->app_pong("Ping", 4, out, 17), HL_E_INVALID);
}

/* ---- non-JSON, malformed and cut messages --------------------------------------------------- */

typedef struct kind_row {
    const char *msg;
    hl_msg_kind kind;
} kind_row;

static const kind_row kind_rows[] = {
    {"Websocket connection established.", HL_MSGK_OTHER},
    {"Ping", HL_MSGK_PING},
    {"ping", HL_MSGK_OTHER},
    {"Ping ", HL_MSGK_OTHER},
    {"Pin", HL_MSGK_OTHER},
    {"Pong", HL_MSGK_OTHER},
    {"", HL_MSGK_OTHER},
    {"   ", HL_MSGK_OTHER},
    {"null", HL_MSGK_OTHER},
    {"[]", HL_MSGK_OTHER},
    {"{}", HL_MSGK_OTHER},
    {"{\"channel\":\"pong\"}", HL_MSGK_PONG},
    {" \r\n{ \"channel\" : \"pong\" }", HL_MSGK_PONG},
    {"{\"method\":\"ping\"}", HL_MSGK_OTHER},
    {"{\"channel\":}", HL_MSGK_OTHER},
    {"{\"channel\":\"trades\",\"data\":}", HL_MSGK_OTHER},
    {"{\"channel\":\"trades\" \"data\":[]}", HL_MSGK_OTHER},
    {"{\"channel\":123,\"data\":{}}", HL_MSGK_OTHER},
    {"{\"channel\":\"trades\"}", HL_MSGK_OTHER},
    {"{\"data\":[{\"coin\":\"HYPE\"}]}", HL_MSGK_OTHER},
    {"{channel:\"trades\",\"data\":[]}", HL_MSGK_OTHER},
    {"[\"channel\",\"trades\"]", HL_MSGK_OTHER},
    {"{\"channel\":\"subscriptionResponse\",\"data\":{\"method\":\"subscribe\"}}", HL_MSGK_OTHER},
    {"{\"channel\":\"subscriptionResponse\",\"data\":\"x\"}", HL_MSGK_OTHER},
    {"{\"channel\":\"subscriptionResponse\",\"data\":{\"subscription\":{\"type\":\"trades\"}}}", HL_MSGK_OTHER},
    {"{\"channel\":\"post\",\"data\":{\"id\":1,\"response\":{}}}", HL_MSGK_OTHER},
    {"{\"data\":{\"coin\":\"BTC\"},\"channel\":\"bbo\"}", HL_MSGK_DATA}, /* members in any order */
    {"{\"channel\":\"trades\",\"data\":null}", HL_MSGK_OTHER},
    {"{\"channel\":\"trades\",\"data\":5}", HL_MSGK_OTHER},
    {"{\"channel\":\"pong\"}\r\n", HL_MSGK_PONG},                 /* white space after the value */
    {"{\"channel\":\"pong\"} x", HL_MSGK_OTHER},                    /* something after it */
    {"{\"channel\":\"pong\"}{\"channel\":\"pong\"}", HL_MSGK_OTHER}, /* two values in one message */
    {"{\"channel\":\"trades\",\"data\":[{\"coin\":\"HYPE\"}]", HL_MSGK_OTHER}, /* the last brace missing */
};

static void test_kinds(void)
{
    size_t i;
    for (i = 0; i < sizeof kind_rows / sizeof kind_rows[0]; i++) {
        hl_msg_info in;
        classify_s(kind_rows[i].msg, &in);
        CHECK_EQ(in.kind, kind_rows[i].kind);
        if (in.kind != kind_rows[i].kind) printf("  [%s]: kind %d\n", kind_rows[i].msg, (int)in.kind);
    }
    {
        hl_msg_info in;
        classify_s("{\"data\":{\"coin\":\"BTC\"},\"channel\":\"bbo\"}", &in);
        CHECK(strcmp(in.key, "bbo|BTC") == 0);
        /* an empty trades batch routes to the bare channel */
        classify_s("{\"channel\":\"trades\",\"data\":[]}", &in);
        CHECK_EQ(in.kind, HL_MSGK_DATA);
        CHECK(strcmp(in.key, "trades") == 0);
        /* isSnapshot false or absent: not a snapshot */
        classify_s("{\"channel\":\"userFills\",\"data\":{\"isSnapshot\":false,\"user\":\"" U1 "\",\"fills\":[]}}", &in);
        CHECK_EQ(in.is_snapshot, 0);
        CHECK(strcmp(in.key, "userFills|" U1) == 0);
        /* a channel name too long for a key: consistent, never overrun */
        {
            char msg[400];
            snprintf(msg, sizeof msg, "{\"channel\":\"%0150d\",\"data\":{\"coin\":\"BTC\"}}", 1);
            classify_s(msg, &in);
            CHECK(in.key_len < sizeof in.key);
        }
    }
}

/* Every prefix of every fixture, and every fixture with one byte changed to each of a few
   troublesome values: no crash, no read past the end, consistent views. */
static void test_prefixes_and_mutations_safe(void)
{
    static char buf[8192];
    static const char subst[] = {'"', '\\', '{', '}', '[', ']', ',', ':', ' ', 'x', '\x01', '\x7f'};
    size_t f, k, s;
    long runs = 0;
    for (f = 0; f < sizeof ws_rows / sizeof ws_rows[0] + sizeof non_ws / sizeof non_ws[0]; f++) {
        const char *name = f < sizeof ws_rows / sizeof ws_rows[0] ? ws_rows[f].file
                                                                 : non_ws[f - sizeof ws_rows / sizeof ws_rows[0]];
        long n = read_fixture(name, buf, sizeof buf);
        if (n <= 0) continue;
        for (k = 0; k <= (size_t)n; k++) {
            hl_msg_info in;
            classify_n(buf, k, &in);
            runs++;
        }
        if (n > 600) continue; /* the mutation sweep on the smaller files only */
        for (k = 0; k < (size_t)n; k++) {
            char keep = buf[k];
            for (s = 0; s < sizeof subst; s++) {
                hl_msg_info in;
                char key[96], out[64];
                buf[k] = subst[s];
                classify_n(buf, (size_t)n, &in);
                {
                    char *b = dup_exact(buf, (size_t)n);
                    if (b) {
                        int r = P->sub_route(b, (size_t)n, key, sizeof key);
                        if (r >= 0) CHECK((size_t)r < sizeof key && key[r] == '\0');
                        (void)P->app_pong(b, (size_t)n, out, sizeof out);
                        free(b);
                    }
                }
                runs++;
            }
            buf[k] = keep;
        }
    }
    CHECK(runs > 10000);
}

/* A message cut anywhere is not a complete message: OTHER, never DATA/ACK/PONG with parts of
   a message. */
static void test_truncated_is_other(void)
{
    static char buf[8192];
    size_t f, k;
    long wrong = 0;
    for (f = 0; f < sizeof ws_rows / sizeof ws_rows[0]; f++) {
        long n = read_fixture(ws_rows[f].file, buf, sizeof buf);
        if (n <= 0) continue;
        for (k = 0; k < (size_t)n; k++) {
            hl_msg_info in;
            classify_n(buf, k, &in);
            if (in.kind != HL_MSGK_OTHER) {
                if (wrong < 3)
                    printf("  %s cut to %u of %ld bytes: kind %d key [%s]\n", ws_rows[f].file, (unsigned)k, n,
                           (int)in.kind, in.key);
                wrong++;
            }
        }
    }
    CHECK_EQ(wrong, 0);
}

/* A NUL byte (valid U+0000 in a text message) inside the data must not hang classify. Run in a
   child with an alarm. */
static void test_nul_byte_returns(void)
{
    static const char msg[] = "{\"channel\":\"trades\",\"data\":[{\"coin\":\"HYPE\"},\0]}";
    pid_t pid;
    int status = 0;
    fflush(stdout);
    pid = fork();
    CHECK(pid >= 0);
    if (pid < 0) return;
    if (pid == 0) {
        char *b = dup_exact(msg, sizeof msg - 1);
        hl_msg_info in;
        alarm(3);
        memset(&in, 0, sizeof in);
        if (b) P->classify(b, sizeof msg - 1, &in);
        free(b);
        _exit(0);
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    P = hl_profile_hyperliquid();
    HL_TEST(test_profile_fields);
    HL_TEST(test_classify_fixtures);
    HL_TEST(test_classify_non_ws_fixtures);
    HL_TEST(test_every_fixture_listed);
    HL_TEST(test_error_fixture);
    HL_TEST(test_error_frames);
    HL_TEST(test_route_property);
    HL_TEST(test_route_distinct_users);
    HL_TEST(test_sub_route_edges);
    HL_TEST(test_sub_message);
    HL_TEST(test_ping_pong_texts);
    HL_TEST(test_kinds);
    HL_TEST(test_prefixes_and_mutations_safe);
    HL_TEST(test_truncated_is_other);
    HL_TEST(test_nul_byte_returns);
    return hl_test_summary();
}
