/* The JSON helpers: hl__js_skip / hl__js_get / hl__js_str (the envelope scanner) and
   hl__json_canon_hash (subscriptions equal up to key order, default members, white space and
   address case). Every input is passed as an exact-size heap copy, so ASan reports any read past
   its end; inputs that could hang run in a child process with an alarm. */
#define HL_NET_IMPLEMENTATION
#include "hl_net.h"
#include "tests/harness.h"

#define FIXTURES "../shared/fixtures/hl/"

static char *dup_exact(const char *s, size_t n)
{
    char *p = (char *)malloc(n ? n : 1);
    if (p && n) memcpy(p, s, n);
    return p;
}

/* hl__js_skip on s[0..n): the length consumed, or -1 for NULL. */
static long skip_n(const char *s, size_t n)
{
    char *b = dup_exact(s, n);
    const char *e;
    long r;
    if (!b) return -2;
    e = hl__js_skip(b, b + n);
    r = e ? (long)(e - b) : -1;
    if (e) CHECK(e > b && e <= b + n);
    free(b);
    return r;
}

static long skip_s(const char *s)
{
    return skip_n(s, strlen(s));
}

/* hl__js_get on obj for key: 1 and the value copied into out when found, 0 when not. */
static int get_s(const char *obj, size_t n, const char *key, char *out, size_t cap)
{
    char *b = dup_exact(obj, n);
    const char *v = NULL, *ve;
    int found = 0;
    if (!b) return -1;
    ve = hl__js_get(b, b + n, key, &v);
    if (ve) {
        CHECK(v >= b && v < ve && ve <= b + n);
        if ((size_t)(ve - v) < cap) {
            memcpy(out, v, (size_t)(ve - v));
            out[ve - v] = '\0';
        } else {
            out[0] = '\0';
        }
        found = 1;
    }
    free(b);
    return found;
}

static int canon_n(const char *s, size_t n, uint64_t *h)
{
    char *b = dup_exact(s, n);
    int rc;
    uint64_t h2 = 0;
    if (!b) return -100;
    rc = hl__json_canon_hash(b, n, h);
    /* deterministic */
    CHECK_EQ(hl__json_canon_hash(b, n, &h2), rc);
    if (rc == HL_OK) CHECK(h2 == *h);
    free(b);
    return rc;
}

static int canon(const char *s, uint64_t *h)
{
    return canon_n(s, strlen(s), h);
}

/* Run hl__js_skip (mode 0) or hl__js_get(key "b") (mode 1) on s in a child with a 3 s alarm;
   1 when it came back, 0 when it hung or crashed. */
static int returns_in_time(const char *s, size_t n, int mode)
{
    pid_t pid;
    int status = 0;
    fflush(stdout);
    pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        char *b = dup_exact(s, n);
        const char *v;
        alarm(3);
        if (b) {
            if (mode == 0) (void)hl__js_skip(b, b + n);
            else (void)hl__js_get(b, b + n, "b", &v);
        }
        free(b);
        _exit(0);
    }
    if (waitpid(pid, &status, 0) != pid) return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static long read_fixture(const char *name, char *buf, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, FIXTURES "%s", name);
    return hl_test_read_file(path, buf, cap);
}

/* ---- hl__js_skip --------------------------------------------------------------------------- */

typedef struct skip_row {
    const char *in;
    long consumed; /* -1: NULL */
} skip_row;

static const skip_row skip_rows[] = {
    {"123", 3},
    {"  123  ", 5},
    {"-1.5e+3,", 7},
    {"true]", 4},
    {"null}", 4},
    {"false ", 5},
    {"\"abc\"", 5},
    {"\"\"", 2},
    {"\"a\\\"b\"", 6},              /* "a\"b" */
    {"\"a\\\\\"", 5},               /* "a\\" */
    {"\"a\\\\\"x\"", 5},            /* "a\\" then x": the string ends at the 2nd quote */
    {"\"\\u1234\"", 8},             /* "\u1234" */
    {"\"\\\\\\\"\"", 6},            /* "\\\"" */
    {"\"}{][,:\"", 8},              /* brackets inside a string */
    {"{}", 2},
    {"[]", 2},
    {"{ }", 3},
    {"[ ]", 3},
    {"{\"a\":[1,2,{\"b\":\"}\"}]}", 21},
    {" \t\r\n{\"a\" : 1 }  tail", 14},
    {"{\"a\":1} {\"b\":2}", 7},
    {"[[[[[[[[[[]]]]]]]]]]", 20},
    {"{\"k\":\"v\\\"}\"}", 12},     /* {"k":"v\"}"} */
    {"[\"\\\\\",\"]\"]", 10},        /* ["\\","]"] */
    /* cut or malformed */
    {"", -1},
    {"   ", -1},
    {"{", -1},
    {"[", -1},
    {"{\"a\":1", -1},
    {"{\"a\":1,", -1},
    {"[1,2", -1},
    {"[[[]]", -1},
    {"\"abc", -1},
    {"\"abc\\\"", -1},              /* "abc\" : the quote is escaped */
    {"\"\\", -1},
    {"\"a\\", -1},
    {"{\"a\":\"b\\\"}", -1},        /* {"a":"b\"} */
    {"]", -1},
    {"}", -1},
    {",", -1},
    {":", -1},
};

static void test_skip_table(void)
{
    size_t i;
    for (i = 0; i < sizeof skip_rows / sizeof skip_rows[0]; i++) {
        long got = skip_s(skip_rows[i].in);
        CHECK_EQ(got, skip_rows[i].consumed);
        if (got != skip_rows[i].consumed) printf("  skip of [%s]\n", skip_rows[i].in);
    }
}

static void test_skip_deep_nesting(void)
{
    size_t n = 20000, i;
    char *s = (char *)malloc(n);
    if (!s) return;
    for (i = 0; i < n / 2; i++) s[i] = '[';
    for (i = n / 2; i < n; i++) s[i] = ']';
    CHECK_EQ(skip_n(s, n), (long)n);
    CHECK_EQ(skip_n(s, n - 1), -1);
    free(s);
}

/* Every proper prefix of every fixture (each one JSON object or array) is cut: NULL, and never
   a read past the prefix; the whole file is consumed exactly. */
static void test_skip_fixture_prefixes(void)
{
    static const char *const names[] = {
        "activeAssetCtx.json", "activeAssetData.json", "allMids.json", "bbo.json", "candle.json",
        "candleSnapshot_response.json", "error.json", "l2Book.json", "meta_response.json",
        "notification.json", "orderUpdates.json", "pong.json", "post_response.json",
        "subscriptionResponse_l2Book.json", "trades.json", "userEvents.json", "userFills.json",
        "userFundings.json", "req_post_action_order.json", "openOrders_response.json"};
    static char buf[8192];
    size_t i, k;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        long n = read_fixture(names[i], buf, sizeof buf);
        long bad = 0;
        CHECK(n > 0);
        if (n <= 0) {
            printf("  cannot read %s\n", names[i]);
            continue;
        }
        CHECK_EQ(skip_n(buf, (size_t)n), n);
        for (k = 0; k < (size_t)n; k++)
            if (skip_n(buf, k) != -1) bad++;
        CHECK_EQ(bad, 0);
    }
}

/* A NUL byte is valid in a WebSocket text message (U+0000). Inside an array or object the
   scanner must still come back (NULL or an end), not spin. */
static void test_skip_nul_byte_returns(void)
{
    static const char arr[] = "[\0]";
    static const char obj[] = "{\"a\":[1,\0],\"b\":2}";
    static const char top[] = "\0";
    CHECK(returns_in_time(top, 1, 0));
    CHECK(returns_in_time(arr, 3, 0));
    CHECK(returns_in_time(obj, sizeof obj - 1, 1));
}

/* ---- hl__js_get ---------------------------------------------------------------------------- */

typedef struct get_row {
    const char *obj, *key, *value; /* value NULL: not found */
} get_row;

static const get_row get_rows[] = {
    {"{\"coin\":\"BTC\",\"coins\":[\"A\"]}", "coin", "\"BTC\""},
    {"{\"coin\":\"BTC\",\"coins\":[\"A\"]}", "coins", "[\"A\"]"},
    {"{\"coins\":1,\"coin\":2}", "coin", "2"},
    {"{\"coins\":1,\"coin\":2}", "coins", "1"},
    {"{\"coins\":1,\"coin\":2}", "coi", NULL},
    {"{\"coin\":1}", "coins", NULL},
    {"{\"coin\":1}", "", NULL},
    {"{\"\":5}", "", "5"},
    {"{\"data\":{\"coin\":\"X\"},\"coin\":\"Y\"}", "coin", "\"Y\""},
    {"{\"data\":{\"coin\":\"X\"},\"coin\":\"Y\"}", "data", "{\"coin\":\"X\"}"},
    {"{\"a\":{\"coin\":1},\"b\":[{\"coin\":2}]}", "coin", NULL},   /* nested keys are not ours */
    {"{\"a\\\"b\":1,\"c\":2}", "c", "2"},
    {"{\"a\\\"b\":1,\"c\":2}", "a\\\"b", "1"},                       /* keys compared raw */
    {"{\"co\\u0069n\":1}", "coin", NULL},
    {"{\"x\":\"}{\\\",\",\"y\":3}", "y", "3"},
    {" { \"a\" : 1 , \"b\" : [ 1 , 2 ] } ", "b", "[ 1 , 2 ]"},
    {"\n{\n\"a\"\n:\n\"v\"\n}\n", "a", "\"v\""},
    {"\t{\t\"a\"\t:\t1\t,\t\"b\"\t:\t2\t}", "b", "2"},
    {"{\"u\":\"\\u1234\\\\\",\"v\":true}", "v", "true"},
    {"{\"a\":-0.5e-3}", "a", "-0.5e-3"},
    {"{\"a\":null,\"b\":false}", "b", "false"},
    {"{\"a\":1,\"a\":2}", "a", "1"},
    {"{\"s\":\"\"}", "s", "\"\""},
    {"{\"o\":{},\"p\":[]}", "p", "[]"},
    {"{}", "a", NULL},
    {"{ }", "a", NULL},
    {"[1]", "a", NULL},
    {"[{\"a\":1}]", "a", NULL},
    {"\"a\"", "a", NULL},
    {"", "a", NULL},
    {"a", "a", NULL},
    {"{\"a\" 1}", "a", NULL},
    {"{\"a\":1 \"b\":2}", "b", NULL},
    {"{a:1}", "a", NULL},
    {"{\"a\":1,}", "z", NULL},
    {"{\"a\":1,\"b\":", "b", NULL},
    {"{\"a\":1,\"b\":\"x", "b", NULL},
    {"{\"a\":1,\"b\":[1,2", "b", NULL},
    {"{\"a\":1,\"b", "b", NULL},
    {"{\"a\":[1,2", "b", NULL},
    /* an envelope scan: a key found before the cut is found */
    {"{\"a\":1,\"b\":{\"c\":1}", "b", "{\"c\":1}"},
};

static void test_get_table(void)
{
    size_t i;
    for (i = 0; i < sizeof get_rows / sizeof get_rows[0]; i++) {
        const get_row *r = &get_rows[i];
        char out[256];
        int found = get_s(r->obj, strlen(r->obj), r->key, out, sizeof out);
        CHECK_EQ(found, r->value != NULL);
        if (found && r->value) {
            CHECK(strcmp(out, r->value) == 0);
            if (strcmp(out, r->value) != 0) printf("  get %s in [%s]: [%s]\n", r->key, r->obj, out);
        } else if (found != (r->value != NULL)) {
            printf("  get %s in [%s]: found %d\n", r->key, r->obj, found);
        }
    }
}

/* Keys after a cut are never found, and no prefix reads past its end. */
static void test_get_fixture_prefixes(void)
{
    static const char *const names[] = {"trades.json", "userFills.json", "error.json", "candle.json",
                                        "subscriptionResponse_candle.json", "l2Book.json"};
    static char buf[8192];
    size_t i, k;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        long n = read_fixture(names[i], buf, sizeof buf);
        const char *v;
        const char *dend;
        long bad = 0;
        CHECK(n > 0);
        if (n <= 0) continue;
        /* "data" is the last member: complete only in the whole message */
        dend = hl__js_get(buf, buf + n, "data", &v);
        CHECK(dend != NULL);
        if (!dend) continue;
        for (k = 0; k < (size_t)(dend - buf); k++) {
            char out[16];
            if (get_s(buf, k, "data", out, sizeof out) != 0) bad++;
            (void)get_s(buf, k, "channel", out, sizeof out);
        }
        CHECK_EQ(bad, 0);
    }
}

static void test_str(void)
{
    static const struct {
        const char *v;
        int ok;
        const char *s;
    } rows[] = {
        {"\"abc\"", 1, "abc"}, {"\"\"", 1, ""}, {"\"a\\\"b\"", 1, "a\\\"b"}, {"123", 0, NULL},
        {"null", 0, NULL},     {"\"", 0, NULL}, {"[\"a\"]", 0, NULL},       {"", 0, NULL},
    };
    size_t i;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t n = strlen(rows[i].v), sl = 0;
        char *b = dup_exact(rows[i].v, n);
        const char *s = NULL;
        int ok;
        if (!b) continue;
        ok = hl__js_str(b, b + n, &s, &sl);
        CHECK_EQ(ok, rows[i].ok);
        if (ok && rows[i].ok) {
            CHECK_EQ(sl, strlen(rows[i].s));
            CHECK(memcmp(s, rows[i].s, sl) == 0);
        }
        free(b);
    }
    {
        const char *s;
        size_t sl;
        CHECK_EQ(hl__js_str(NULL, NULL, &s, &sl), 0);
    }
}

/* ---- hl__json_canon_hash ------------------------------------------------------------------- */

static const char *const same_groups[][6] = {
    {"{\"type\":\"trades\",\"coin\":\"SOL\"}", "{\"coin\":\"SOL\",\"type\":\"trades\"}",
     " {\n\t\"type\" : \"trades\" ,\r\n \"coin\":\"SOL\" } ", "{\"type\":\"trades\",\"coin\":\"SOL\",\"nSigFigs\":null}",
     "{\"x\":false,\"type\":\"trades\",\"dex\":\"\",\"coin\":\"SOL\",\"m\":null}", NULL},
    {"{\"type\":\"userFills\",\"user\":\"0xABCDEF0123456789ABCDEF0123456789ABCDEF01\"}",
     "{\"type\":\"userFills\",\"user\":\"0xabcdef0123456789abcdef0123456789abcdef01\"}",
     "{\"user\":\"0xAbCdEf0123456789aBcDeF0123456789AbCdEf01\",\"type\":\"userFills\",\"aggregateByTime\":false}",
     "{\"type\":\"userFills\",\"user\":\"0XABCDEF0123456789ABCDEF0123456789ABCDEF01\"}", NULL, NULL},
    {"{\"a\":{\"b\":1,\"c\":[1,2]}}", "{\"a\": { \"b\" : 1 , \"c\" : [ 1 , 2 ] } }",
     "{\"a\":\n{\n\"b\":1,\n\"c\":[1,\n2]\n}\n}", NULL, NULL, NULL},
    {"{\"coin\":1,\"coins\":2}", "{\"coins\":2,\"coin\":1}", NULL, NULL, NULL, NULL},
    {"{}", "{\"a\":null}", "{\"a\":false,\"b\":\"\"}", " { } ", "{\"b\":\"\",\"a\":null,\"c\":false}", NULL},
    {"{\"type\":\"candle\",\"coin\":\"HYPE\",\"interval\":\"1d\"}",
     "{\"type\":\"candle\",\"interval\":\"1d\",\"coin\":\"HYPE\"}",
     "{\"interval\":\"1d\",\"coin\":\"HYPE\",\"type\":\"candle\"}", NULL, NULL, NULL},
    {"{\"s\":\"a b\"}", "{ \"s\" : \"a b\" }", NULL, NULL, NULL, NULL},
};

static void test_canon_same(void)
{
    size_t g, i;
    for (g = 0; g < sizeof same_groups / sizeof same_groups[0]; g++) {
        uint64_t h0 = 0, h = 0;
        CHECK_EQ(canon(same_groups[g][0], &h0), HL_OK);
        for (i = 1; i < 6 && same_groups[g][i]; i++) {
            CHECK_EQ(canon(same_groups[g][i], &h), HL_OK);
            CHECK(h == h0);
            if (h != h0) printf("  [%s] vs [%s]\n", same_groups[g][0], same_groups[g][i]);
        }
    }
}

static const char *const diff_pairs[][2] = {
    {"{\"type\":\"trades\",\"coin\":\"SOL\"}", "{\"type\":\"trades\",\"coin\":\"BTC\"}"},
    {"{\"type\":\"trades\",\"coin\":\"SOL\"}", "{\"type\":\"l2Book\",\"coin\":\"SOL\"}"},
    {"{\"type\":\"trades\",\"coin\":\"SOL\"}", "{\"type\":\"trades\",\"coins\":\"SOL\"}"},
    {"{\"type\":\"trades\",\"coin\":\"SOL\"}", "{\"type\":\"trades\"}"},
    {"{\"type\":\"trades\",\"coin\":\"SOL\"}", "{\"type\":\"trades\",\"coin\":\"sol\"}"}, /* coins keep case */
    {"{\"type\":\"trades\",\"coin\":\"SOL\"}", "{\"type\":\"trades\",\"coin\":\"SOL\",\"x\":1}"},
    {"{\"n\":5}", "{\"n\":\"5\"}"},
    {"{\"n\":5}", "{\"n\":50}"},
    {"{\"n\":5}", "{\"m\":5}"},
    {"{\"a\":true}", "{\"a\":false}"},
    {"{\"a\":0}", "{}"},
    {"{\"a\":\"0\"}", "{}"},
    {"{\"a\":{\"b\":1}}", "{\"a\":{\"b\":2}}"},
    {"{\"a\":{\"b\":1}}", "{\"a\":{\"c\":1}}"},
    {"{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1,\"c\":1}}"},
    {"{\"a\":[1,2]}", "{\"a\":[2,1]}"},
    {"{\"a\":[1,2]}", "{\"a\":[1,2,3]}"},
    {"{\"a\":\"x y\"}", "{\"a\":\"xy\"}"},
    {"{\"ab\":\"c\"}", "{\"a\":\"bc\"}"},
    {"{\"a\":1,\"b\":2}", "{\"a\":\"1;b=2\"}"},
    {"{\"user\":\"0xabcdef0123456789abcdef0123456789abcdef01\"}",
     "{\"user\":\"0xabcdef0123456789abcdef0123456789abcdef02\"}"},
    {"{\"type\":\"l2Book\",\"coin\":\"BTC\",\"nSigFigs\":5}", "{\"type\":\"l2Book\",\"coin\":\"BTC\",\"nSigFigs\":4}"},
    {"{\"type\":\"l2Book\",\"coin\":\"BTC\",\"nSigFigs\":5}", "{\"type\":\"l2Book\",\"coin\":\"BTC\"}"},
};

static void test_canon_different(void)
{
    size_t i;
    for (i = 0; i < sizeof diff_pairs / sizeof diff_pairs[0]; i++) {
        uint64_t a = 0, b = 0;
        CHECK_EQ(canon(diff_pairs[i][0], &a), HL_OK);
        CHECK_EQ(canon(diff_pairs[i][1], &b), HL_OK);
        CHECK(a != b);
        if (a == b) printf("  same hash: [%s] [%s]\n", diff_pairs[i][0], diff_pairs[i][1]);
    }
}

/* White space between the members of a nested value is dropped, also after a string that ends
   in an escaped backslash ("q\\"). */
static void test_canon_nested_escaped_backslash(void)
{
    uint64_t a = 0, b = 0;
    CHECK_EQ(canon("{\"a\":{\"x\":\"q\\\\\",\"y\":1}}", &a), HL_OK);
    CHECK_EQ(canon("{\"a\":{\"x\":\"q\\\\\", \"y\":1}}", &b), HL_OK);
    CHECK(a == b);
    CHECK_EQ(canon("{\"a\":[\"\\\\\",\"b\"]}", &a), HL_OK);
    CHECK_EQ(canon("{\"a\":[\"\\\\\" , \"b\"]}", &b), HL_OK);
    CHECK(a == b);
}

static void test_canon_rejects(void)
{
    static const char *const bad[] = {
        "", " ", "[]", "[1,2]", "\"x\"", "1", "true", "null", "{", "{\"a\":}", "{\"a\"}",
        "{\"a\":1", "{a:1}", "{\"a\":1,\"b\"", "}", "{\"a\":\"x}",
    };
    size_t i;
    uint64_t h;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = canon(bad[i], &h);
        CHECK_EQ(rc, HL_E_INVALID);
        if (rc != HL_E_INVALID) printf("  accepted [%s]\n", bad[i]);
    }
}

static void test_canon_member_limit(void)
{
    char s[512];
    size_t o;
    int i;
    uint64_t h;
    /* 16 members: fine; 17: refused */
    for (i = 16; i <= 17; i++) {
        int k;
        o = 0;
        s[o++] = '{';
        for (k = 0; k < i; k++) o += (size_t)sprintf(s + o, "%s\"k%02d\":%d", k ? "," : "", k, k);
        s[o++] = '}';
        s[o] = '\0';
        CHECK_EQ(canon(s, &h), i == 16 ? HL_OK : HL_E_INVALID);
    }
    /* too many tokens for the fixed table: refused, not overrun */
    o = 0;
    o += (size_t)sprintf(s, "{\"a\":[");
    for (i = 0; i < 100; i++) o += (size_t)sprintf(s + o, "%s%d", i ? "," : "", i % 10);
    sprintf(s + o, "]}");
    CHECK_EQ(canon(s, &h), HL_E_INVALID);
}

/* canon reads only len bytes: a longer buffer with the object in front gives the same hash. */
static void test_canon_len_respected(void)
{
    const char *obj = "{\"type\":\"trades\",\"coin\":\"SOL\"}";
    char buf[128];
    uint64_t a = 0, b = 0;
    size_t n = strlen(obj);
    CHECK_EQ(canon(obj, &a), HL_OK);
    snprintf(buf, sizeof buf, "%s,\"junk\":1}", obj);
    CHECK_EQ(canon_n(buf, n, &b), HL_OK);
    CHECK(a == b);
    CHECK_EQ(canon_n(buf, n - 1, &b), HL_E_INVALID);
}

/* The subscription object of a fixture: req_* files carry it at .subscription, acks at
   .data.subscription. Copied NUL-terminated into out. */
static int fixture_sub(const char *name, char *out, size_t cap)
{
    static char buf[4096];
    long n = read_fixture(name, buf, sizeof buf);
    const char *v, *ve, *d, *de;
    if (n <= 0) return -1;
    de = hl__js_get(buf, buf + n, "data", &d);
    if (de) ve = hl__js_get(d, de, "subscription", &v);
    else ve = hl__js_get(buf, buf + n, "subscription", &v);
    if (!ve || (size_t)(ve - v) >= cap) return -1;
    memcpy(out, v, (size_t)(ve - v));
    out[ve - v] = '\0';
    return 0;
}

static int same_hash(const char *a, const char *b)
{
    uint64_t ha = 0, hb = 1;
    if (canon(a, &ha) != HL_OK || canon(b, &hb) != HL_OK) return -1;
    return ha == hb;
}

static void test_canon_fixture_pairs(void)
{
    char req[512], ack[512];
    /* trades: what was sent is what is acknowledged */
    CHECK_EQ(fixture_sub("req_subscribe_trades.json", req, sizeof req), 0);
    CHECK_EQ(fixture_sub("subscriptionResponse.json", ack, sizeof ack), 0);
    CHECK_EQ(same_hash(req, ack), 1);
    CHECK_EQ(fixture_sub("req_unsubscribe_trades.json", req, sizeof req), 0);
    CHECK_EQ(fixture_sub("subscriptionResponse_unsubscribe.json", ack, sizeof ack), 0);
    CHECK_EQ(same_hash(req, ack), 1);

    /* l2Book: the two fixtures are different subscriptions (BTC nSigFigs 5 mantissa 2 sent; the
       recorded ack is for HYPE with no aggregation), so they must not match ... */
    CHECK_EQ(fixture_sub("req_subscribe_l2Book.json", req, sizeof req), 0);
    CHECK_EQ(fixture_sub("subscriptionResponse_l2Book.json", ack, sizeof ack), 0);
    CHECK_EQ(same_hash(req, ack), 0);
    /* ... while the request behind the recorded ack matches it (the server added the nulls) */
    CHECK_EQ(same_hash("{\"type\":\"l2Book\",\"coin\":\"HYPE\"}", ack), 1);
    CHECK_EQ(same_hash("{\"coin\":\"HYPE\",\"type\":\"l2Book\",\"nSigFigs\":null}", ack), 1);
    /* and the ack the server would send for req_subscribe_l2Book matches it */
    CHECK_EQ(same_hash("{\"type\":\"l2Book\",\"coin\":\"BTC\",\"nSigFigs\":5,\"mantissa\":2}", req), 1);
    CHECK_EQ(same_hash("{\"type\":\"l2Book\",\"coin\":\"HYPE\",\"nSigFigs\":5,\"mantissa\":2}", ack), 0);

    /* candle: the server put interval before coin */
    CHECK_EQ(fixture_sub("subscriptionResponse_candle.json", ack, sizeof ack), 0);
    CHECK_EQ(same_hash("{\"type\":\"candle\",\"coin\":\"HYPE\",\"interval\":\"1d\"}", ack), 1);
    CHECK_EQ(same_hash("{\"type\":\"candle\",\"coin\":\"HYPE\",\"interval\":\"1h\"}", ack), 0);

    /* userFills: aggregateByTime false is a default; the address case does not matter */
    CHECK_EQ(fixture_sub("req_subscribe_userFills.json", req, sizeof req), 0);
    CHECK_EQ(same_hash(req, "{\"type\":\"userFills\",\"user\":\"0x0000000000000000000000000000000000000001\"}"), 1);
    CHECK_EQ(same_hash(req, "{\"user\":\"0x0000000000000000000000000000000000000001\",\"type\":\"userFills\","
                            "\"aggregateByTime\":false}"),
             1);
    CHECK_EQ(same_hash(req, "{\"type\":\"userFills\",\"user\":\"0x0000000000000000000000000000000000000001\","
                            "\"aggregateByTime\":true}"),
             0);
}

/* Canon on every prefix of the fixtures: no overread; a cut object is refused. */
static void test_canon_fixture_prefixes(void)
{
    static const char *const names[] = {"subscriptionResponse_l2Book.json", "req_subscribe_userFills.json",
                                        "activeAssetData.json", "trades.json", "error.json"};
    static char buf[4096];
    size_t i, k;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        long n = read_fixture(names[i], buf, sizeof buf);
        uint64_t h;
        long bad = 0;
        CHECK(n > 0);
        if (n <= 0) continue;
        for (k = 0; k < (size_t)n; k++)
            if (canon_n(buf, k, &h) != HL_E_INVALID) bad++;
        CHECK_EQ(bad, 0);
        (void)canon_n(buf, (size_t)n, &h);
    }
}

int main(void)
{
    HL_TEST(test_skip_table);
    HL_TEST(test_skip_deep_nesting);
    HL_TEST(test_skip_fixture_prefixes);
    HL_TEST(test_skip_nul_byte_returns);
    HL_TEST(test_get_table);
    HL_TEST(test_get_fixture_prefixes);
    HL_TEST(test_str);
    HL_TEST(test_canon_same);
    HL_TEST(test_canon_different);
    HL_TEST(test_canon_nested_escaped_backslash);
    HL_TEST(test_canon_rejects);
    HL_TEST(test_canon_member_limit);
    HL_TEST(test_canon_len_respected);
    HL_TEST(test_canon_fixture_pairs);
    HL_TEST(test_canon_fixture_prefixes);
    return hl_test_summary();
}
