/* The Hyperliquid profile (see the manual's HYPERLIQUID NOTES). Routes are
   "channel|coin|interval|user" with the parts the channel's data carries, built the same way from
   a subscription and from the data it brings, so one hash lookup routes a message. */

static int hl__hl_in(const char *const *names, size_t count, const char *ch, size_t n)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (strlen(names[i]) == n && memcmp(names[i], ch, n) == 0) return 1;
    return 0;
}

/* Channels whose data names the user (so the route includes it); others carry none. webData3
   names it inside userState. */
static int hl__hl_user_routed(const char *ch, size_t n)
{
    static const char *const names[] = {"userFills", "userFundings", "userNonFundingLedgerUpdates",
                                        "userTwapSliceFills", "userTwapHistory", "activeAssetData",
                                        "clearinghouseState", "openOrders", "twapStates", "webData2",
                                        "webData3", "spotState", "allDexsClearinghouseState",
                                        "userHistoricalOrders"};
    return hl__hl_in(names, sizeof names / sizeof names[0], ch, n);
}

/* Channels whose data is about one coin (so the route includes it); feeds of many coins
   (allMids, assetCtxs, ...) route by channel. */
static int hl__hl_coin_routed(const char *ch, size_t n)
{
    static const char *const names[] = {"trades", "l2Book", "bbo", "candle", "activeAssetCtx",
                                        "activeSpotAssetCtx", "activeAssetData"};
    return hl__hl_in(names, sizeof names / sizeof names[0], ch, n);
}

/* Append "|part" to key; addresses lower-cased. Returns 0, or -1 when it does not fit. */
static int hl__hl_key_add(char *key, size_t cap, size_t *len, const char *part, size_t n, int lower)
{
    size_t i;
    if (*len + 1 + n + 1 > cap) return -1;
    key[(*len)++] = '|';
    for (i = 0; i < n; i++) key[(*len)++] = lower ? (char)hl__lower((unsigned char)part[i]) : part[i];
    key[*len] = '\0';
    return 0;
}

static int hl__hl_key_start(char *key, size_t cap, size_t *len, const char *ch, size_t n)
{
    if (n + 1 > cap) return -1;
    HL_MEMCPY(key, ch, n);
    key[n] = '\0';
    *len = n;
    return 0;
}

/* A string member of obj, or 0 when absent. */
static int hl__hl_member(const char *obj, const char *end, const char *name, const char **s, size_t *n)
{
    const char *v, *ve = hl__js_get(obj, end, name, &v);
    return ve && hl__js_str(v, ve, s, n);
}

static int hl__hl_app_ping(char *out, size_t cap)
{
    static const char ping[] = "{\"method\":\"ping\"}";
    if (cap < sizeof ping) return HL_E_INVALID;
    HL_MEMCPY(out, ping, sizeof ping);
    return (int)sizeof ping - 1;
}

/* Some reports say the server may send a text "Ping" expecting {"method":"pong"}. */
static int hl__hl_app_pong(const char *ping, size_t len, char *out, size_t cap)
{
    static const char pong[] = "{\"method\":\"pong\"}";
    (void)ping;
    (void)len;
    if (cap < sizeof pong) return HL_E_INVALID;
    HL_MEMCPY(out, pong, sizeof pong);
    return (int)sizeof pong - 1;
}

static int hl__hl_sub_message(const char *sub, size_t n, int unsubscribe, char *out, size_t cap)
{
    const char *head = unsubscribe ? "{\"method\":\"unsubscribe\",\"subscription\":" : "{\"method\":\"subscribe\",\"subscription\":";
    size_t hl = strlen(head);
    if (hl + n + 2 > cap) return HL_E_INVALID;
    HL_MEMCPY(out, head, hl);
    HL_MEMCPY(out + hl, sub, n);
    out[hl + n] = '}';
    out[hl + n + 1] = '\0';
    return (int)(hl + n + 1);
}

static int hl__hl_sub_route(const char *sub, size_t n, char *key, size_t cap)
{
    const char *end = sub + n, *type, *coin, *iv, *user;
    size_t tl, cl, il, ul, len;
    if (!hl__hl_member(sub, end, "type", &type, &tl)) return HL_E_INVALID;
    if (tl == 10 && memcmp(type, "userEvents", 10) == 0) {
        type = "user";
        tl = 4;
    }
    if (hl__hl_member(sub, end, "coin", &coin, &cl)) {
        /* spot coins ("@107", "PURR/USDC") push their context on another channel */
        if (tl == 14 && memcmp(type, "activeAssetCtx", 14) == 0 && cl && (coin[0] == '@' || memchr(coin, '/', cl))) {
            type = "activeSpotAssetCtx";
            tl = 18;
        }
    } else {
        coin = NULL;
    }
    if (hl__hl_key_start(key, cap, &len, type, tl)) return HL_E_INVALID;
    if (coin && hl__hl_coin_routed(type, tl) && hl__hl_key_add(key, cap, &len, coin, cl, 0)) return HL_E_INVALID;
    if (hl__hl_member(sub, end, "interval", &iv, &il) && hl__hl_key_add(key, cap, &len, iv, il, 0)) return HL_E_INVALID;
    if (hl__hl_user_routed(type, tl) && hl__hl_member(sub, end, "user", &user, &ul) &&
        hl__hl_key_add(key, cap, &len, user, ul, 1))
        return HL_E_INVALID;
    return (int)len;
}

/* Copy the JSON embedded in an error string (after its first '{'), undoing \" and \\. */
static void hl__hl_error_sub(const char *text, size_t n, hl_msg_info *info)
{
    const char *b = (const char *)memchr(text, '{', n);
    size_t i, o = 0;
    if (!b) return;
    for (i = (size_t)(b - text); i < n && o + 1 < sizeof info->scratch; i++) {
        if (text[i] == '\\' && i + 1 < n) i++;
        info->scratch[o++] = text[i];
    }
    info->scratch[o] = '\0';
    info->sub = info->scratch;
    info->sub_len = o;
}

static void hl__hl_classify(const char *msg, size_t len, hl_msg_info *info)
{
    const char *end = msg + len, *ch, *dv, *de, *v, *ve, *s;
    size_t chl, sl, klen;
    const char *p = hl__js_ws(msg, end), *last = end;
    info->kind = HL_MSGK_OTHER;
    if (p == end || *p != '{') {
        if (len == 4 && memcmp(msg, "Ping", 4) == 0) info->kind = HL_MSGK_PING;
        return;
    }
    /* one whole JSON value, or it is nobody's (a cut or garbled message is not routed) */
    while (last > p && (last[-1] == ' ' || last[-1] == '\n' || last[-1] == '\r' || last[-1] == '\t')) last--;
    if (hl__js_skip(p, end) != last) return;
    if (!hl__hl_member(p, end, "channel", &ch, &chl)) return;
    if (chl == 4 && memcmp(ch, "pong", 4) == 0) {
        info->kind = HL_MSGK_PONG;
        return;
    }
    /* data's start only: finding its end would mean skipping the whole feed message */
    dv = hl__js_find(p, end, "data");
    if (!dv || (*dv != '{' && *dv != '[' && *dv != '"')) return;
    if (chl == 20 && memcmp(ch, "subscriptionResponse", 20) == 0) {
        de = hl__js_skip(dv, end);
        if (!de) return;
        if (!hl__hl_member(dv, de, "method", &s, &sl)) return;
        ve = hl__js_get(dv, de, "subscription", &v);
        if (!ve) return;
        info->kind = (sl == 11 && memcmp(s, "unsubscribe", 11) == 0) ? HL_MSGK_UNSUB_ACK : HL_MSGK_SUB_ACK;
        info->sub = v;
        info->sub_len = (size_t)(ve - v);
        return;
    }
    if (chl == 5 && memcmp(ch, "error", 5) == 0) {
        de = hl__js_skip(dv, end);
        if (!de) return;
        info->kind = HL_MSGK_ERROR;
        if (hl__js_str(dv, de, &info->text, &info->text_len)) hl__hl_error_sub(info->text, info->text_len, info);
        return;
    }
    if (chl == 4 && memcmp(ch, "post", 4) == 0) return;
    /* a feed: the route parts come from data, or from its first element when it is an array */
    info->kind = HL_MSGK_DATA;
    if (hl__hl_key_start(info->key, sizeof info->key, &klen, ch, chl)) return;
    {
        /* lookups stop at the member they want, bounded by the message's end */
        const char *obj = dv, *iv;
        size_t il;
        int user_feed = hl__hl_user_routed(ch, chl);
        if (*obj == '[') obj = hl__js_ws(obj + 1, end);
        if (obj < end && *obj == '{') {
            int candle = chl == 6 && memcmp(ch, "candle", 6) == 0;
            if (hl__hl_coin_routed(ch, chl) &&
                (candle ? hl__hl_member(obj, end, "s", &s, &sl) : hl__hl_member(obj, end, "coin", &s, &sl)))
                hl__hl_key_add(info->key, sizeof info->key, &klen, s, sl, 0);
            if (candle && hl__hl_member(obj, end, "i", &iv, &il))
                hl__hl_key_add(info->key, sizeof info->key, &klen, iv, il, 0);
            if (user_feed) {
                const char *us = chl == 8 && memcmp(ch, "webData3", 8) == 0 ? hl__js_find(obj, end, "userState") : obj;
                if (us && hl__hl_member(us, end, "user", &s, &sl))
                    hl__hl_key_add(info->key, sizeof info->key, &klen, s, sl, 1);
            }
            /* only user feeds start with a snapshot */
            if (chl > 4 && memcmp(ch, "user", 4) == 0) {
                v = hl__js_find(obj, end, "isSnapshot");
                info->is_snapshot = v && end - v >= 4 && memcmp(v, "true", 4) == 0;
            }
        }
    }
    info->key_len = klen;
}

static const hl_profile hl__profile_hl = {
    "hyperliquid", 50000, 2000, 1000,
    hl__hl_app_ping, hl__hl_app_pong, hl__hl_sub_message, hl__hl_sub_route, hl__hl_classify,
    0, /* every subscription is acknowledged */
};

HL_API const hl_profile *hl_profile_hyperliquid(void)
{
    return &hl__profile_hl;
}
