/* The Hyperliquid profile (see the manual's HYPERLIQUID NOTES). Routes are
   "channel|coin|interval|user" with the parts the channel's data carries, built the same way from
   a subscription and from the data it brings, so one hash lookup routes a message. */

/* Channels whose data names the user (so the route includes it); others carry none. */
static int hl__hl_user_routed(const char *ch, size_t n)
{
    static const char *const names[] = {"userFills", "userFundings", "userNonFundingLedgerUpdates",
                                        "userTwapSliceFills", "userTwapHistory", "activeAssetData",
                                        "clearinghouseState", "openOrders", "twapStates", "webData2",
                                        "spotState", "allDexsClearinghouseState"};
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && memcmp(names[i], ch, n) == 0) return 1;
    return 0;
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
    if (coin && hl__hl_key_add(key, cap, &len, coin, cl, 0)) return HL_E_INVALID;
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
    const char *p = hl__js_ws(msg, end);
    info->kind = HL_MSGK_OTHER;
    if (p == end || *p != '{') {
        if (len == 4 && memcmp(msg, "Ping", 4) == 0) info->kind = HL_MSGK_PING;
        return;
    }
    if (!hl__hl_member(p, end, "channel", &ch, &chl)) return;
    if (chl == 4 && memcmp(ch, "pong", 4) == 0) {
        info->kind = HL_MSGK_PONG;
        return;
    }
    de = hl__js_get(p, end, "data", &dv);
    if (!de) return;
    if (chl == 20 && memcmp(ch, "subscriptionResponse", 20) == 0) {
        if (!hl__hl_member(dv, de, "method", &s, &sl)) return;
        ve = hl__js_get(dv, de, "subscription", &v);
        if (!ve) return;
        info->kind = (sl == 11 && memcmp(s, "unsubscribe", 11) == 0) ? HL_MSGK_UNSUB_ACK : HL_MSGK_SUB_ACK;
        info->sub = v;
        info->sub_len = (size_t)(ve - v);
        return;
    }
    if (chl == 5 && memcmp(ch, "error", 5) == 0) {
        info->kind = HL_MSGK_ERROR;
        if (hl__js_str(dv, de, &info->text, &info->text_len)) hl__hl_error_sub(info->text, info->text_len, info);
        return;
    }
    if (chl == 4 && memcmp(ch, "post", 4) == 0) return;
    /* a feed: the route parts come from data, or from its first element when it is an array */
    info->kind = HL_MSGK_DATA;
    if (hl__hl_key_start(info->key, sizeof info->key, &klen, ch, chl)) return;
    {
        const char *obj = hl__js_ws(dv, de);
        const char *iv;
        size_t il;
        if (obj < de && *obj == '[') obj = hl__js_ws(obj + 1, de);
        if (obj < de && *obj == '{') {
            if (hl__hl_member(obj, de, "coin", &s, &sl) || hl__hl_member(obj, de, "s", &s, &sl))
                hl__hl_key_add(info->key, sizeof info->key, &klen, s, sl, 0);
            if (chl == 6 && memcmp(ch, "candle", 6) == 0 && hl__hl_member(obj, de, "i", &iv, &il))
                hl__hl_key_add(info->key, sizeof info->key, &klen, iv, il, 0);
            if (hl__hl_user_routed(ch, chl) && hl__hl_member(obj, de, "user", &s, &sl))
                hl__hl_key_add(info->key, sizeof info->key, &klen, s, sl, 1);
            ve = hl__js_get(obj, de, "isSnapshot", &v);
            info->is_snapshot = ve && ve - v == 4 && memcmp(v, "true", 4) == 0;
        }
    }
    info->key_len = klen;
}

static const hl_profile hl__profile_hl = {
    "hyperliquid", 50000, 2000, 1000,
    hl__hl_app_ping, hl__hl_app_pong, hl__hl_sub_message, hl__hl_sub_route, hl__hl_classify,
};

HL_API const hl_profile *hl_profile_hyperliquid(void)
{
    return &hl__profile_hl;
}
