/* The subscription registry and the router. Subscriptions live in fixed slots, each connection
   keeping its own in subscribe order; after every (re)connect they are replayed in that order,
   paced by the venue's message bucket. Incoming text goes through the profile's classifier:
   acks and errors move subscriptions between states, and feed data is routed by one hash lookup
   of its route key to the handler or the bounded queue of each matching subscription. */

#define HL__ROUTE_EMPTY (-1)
#define HL__ROUTE_DELETED (-2)
#define HL__MAX_FANOUT 8 /* subscriptions sharing one route key that one message reaches */

static hl__sub *hl__sub_get(hl_ctx *ctx, hl_sub s)
{
    uint32_t idx = (s.id & 0xFFFFu) - 1;
    if (!ctx || s.id == 0 || idx >= ctx->cfg.max_subscriptions) return NULL;
    if (ctx->subs[idx].id != s.id || ctx->subs[idx].unsub_pending) return NULL;
    return &ctx->subs[idx];
}

static hl_sub hl__sub_handle(const hl__sub *s)
{
    hl_sub h;
    h.id = s->id;
    return h;
}

/* ---- the route table ---- */

static void hl__route_insert(hl_ctx *ctx, int32_t idx)
{
    uint32_t mask = ctx->route_cap - 1, i = (uint32_t)ctx->subs[idx].route & mask;
    while (ctx->routes[i] >= 0) i = (i + 1) & mask;
    if (ctx->routes[i] == HL__ROUTE_DELETED) ctx->route_deleted--;
    ctx->routes[i] = idx;
}

/* Rebuild when deleted marks pile up, so lookups stay short; skip is the entry being removed. */
static void hl__route_rebuild(hl_ctx *ctx, int32_t skip)
{
    uint32_t i;
    for (i = 0; i < ctx->route_cap; i++) ctx->routes[i] = HL__ROUTE_EMPTY;
    ctx->route_deleted = 0;
    for (i = 0; i < ctx->cfg.max_subscriptions; i++)
        if (ctx->subs[i].id && !ctx->subs[i].unsub_pending && (int32_t)i != skip) hl__route_insert(ctx, (int32_t)i);
}

static void hl__route_remove(hl_ctx *ctx, int32_t idx)
{
    uint32_t mask = ctx->route_cap - 1, i = (uint32_t)ctx->subs[idx].route & mask;
    while (ctx->routes[i] != HL__ROUTE_EMPTY) {
        if (ctx->routes[i] == idx) {
            ctx->routes[i] = HL__ROUTE_DELETED;
            if (++ctx->route_deleted > ctx->route_cap / 4) hl__route_rebuild(ctx, idx);
            return;
        }
        i = (i + 1) & mask;
    }
}

/* The subscriptions of connection c whose route hash is h (up to max). */
static int hl__route_lookup(hl_ctx *ctx, int32_t conn, uint64_t h, int32_t *out, int max)
{
    uint32_t mask = ctx->route_cap - 1, i = (uint32_t)h & mask;
    int n = 0;
    while (ctx->routes[i] != HL__ROUTE_EMPTY && n < max) {
        int32_t s = ctx->routes[i];
        if (s >= 0 && ctx->subs[s].route == h && ctx->subs[s].conn == conn) out[n++] = s;
        i = (i + 1) & mask;
    }
    return n;
}

/* ---- queues ---- */

static unsigned char *hl__qdata(hl_ctx *ctx, int32_t slot)
{
    return ctx->qdata + (size_t)slot * ctx->cfg.queue_slot_size;
}

static void hl__queue_pop(hl_ctx *ctx, hl__sub *s)
{
    int32_t q = s->q_head;
    s->q_head = ctx->qslots[q].next;
    if (s->q_head < 0) s->q_tail = -1;
    ctx->qslots[q].next = ctx->qfree;
    ctx->qfree = q;
    s->st.queued--;
}

static void hl__emit_dropped(hl_ctx *ctx, hl__conn *c, hl__sub *s, int why)
{
    hl_event ev;
    hl__event_init(&ev, HL_EV_DROPPED);
    ev.sub = hl__sub_handle(s);
    ev.len = 1;
    ev.result = why;
    ev.detail = why == HL_E_MSG_TOO_BIG ? "message larger than queue_slot_size"
                                        : "queue full (hl_sub_desc.queue_len or queue_slots)";
    s->st.drops++;
    hl__emit(ctx, c, &ev);
}

/* Keep a copy of a message in s's queue under its overflow policy. */
static void hl__queue_push(hl_ctx *ctx, hl__conn *c, hl__sub *s, const unsigned char *p, size_t n,
                           int snap, uint64_t now)
{
    int32_t q;
    if (n > ctx->cfg.queue_slot_size) {
        hl__emit_dropped(ctx, c, s, HL_E_MSG_TOO_BIG);
        return;
    }
    if (s->overflow == HL_OVERFLOW_CONFLATE && s->q_tail >= 0) {
        q = s->q_tail; /* latest wins: overwrite in place */
        s->st.conflated++;
    } else {
        if (s->st.queued >= s->queue_len || ctx->qfree < 0) {
            if (s->overflow == HL_OVERFLOW_DROP_OLDEST && s->q_head >= 0) {
                hl__queue_pop(ctx, s);
                hl__emit_dropped(ctx, c, s, HL_E_QUEUE_FULL);
            } else {
                hl__emit_dropped(ctx, c, s, HL_E_QUEUE_FULL);
                return;
            }
        }
        q = ctx->qfree;
        ctx->qfree = ctx->qslots[q].next;
        ctx->qslots[q].next = -1;
        if (s->q_tail >= 0) ctx->qslots[s->q_tail].next = q;
        else s->q_head = q;
        s->q_tail = q;
        s->st.queued++;
        if (s->st.queued > s->st.queue_peak) s->st.queue_peak = s->st.queued;
    }
    HL_MEMCPY(hl__qdata(ctx, q), p, n);
    ctx->qslots[q].len = (uint32_t)n;
    ctx->qslots[q].is_snapshot = snap;
    ctx->qslots[q].recv_ns = now;
}

static int hl__queue_full(hl_ctx *ctx, const hl__sub *s)
{
    return s->st.queued >= s->queue_len || ctx->qfree < 0;
}

/* ---- registry ---- */

static void hl__sub_set_state(hl_ctx *ctx, hl__conn *c, hl__sub *s, hl_sub_state st, const char *detail)
{
    hl_event ev;
    if (s->state == st) return;
    s->state = st;
    s->st.state = st;
    hl__event_init(&ev, HL_EV_SUB);
    ev.sub = hl__sub_handle(s);
    ev.sub_state = st;
    ev.detail = detail;
    hl__emit(ctx, c, &ev);
}

/* Unlink s from its connection's list and free the slot (queued messages go with it). */
static void hl__sub_free(hl_ctx *ctx, hl__sub *s)
{
    hl__conn *c = &ctx->conns[s->conn];
    int32_t idx = (int32_t)(s - ctx->subs), *pp = &c->sub_first, prev = -1;
    while (*pp >= 0 && *pp != idx) {
        prev = *pp;
        pp = &ctx->subs[*pp].next;
    }
    if (*pp == idx) *pp = s->next;
    if (c->sub_last == idx) c->sub_last = prev;
    while (s->q_head >= 0) hl__queue_pop(ctx, s);
    if (!s->unsub_pending) hl__route_remove(ctx, idx);
    if (c->venue >= 0 && ctx->venues[c->venue].subs) ctx->venues[c->venue].subs--;
    s->id = 0;
}

static void hl__subs_free_all(hl_ctx *ctx, hl__conn *c)
{
    while (c->sub_first >= 0) hl__sub_free(ctx, &ctx->subs[c->sub_first]);
}

/* The subscription is active (acked, or sent to a venue without acks); after a drop, its gap is
   reported and its next message flagged. */
static void hl__sub_activate(hl_ctx *ctx, hl__conn *c, hl__sub *s, uint64_t now)
{
    s->active_since = now;
    hl__sub_set_state(ctx, c, s, HL_SUB_ACTIVE, "");
    if (s->gap_from && s->id) {
        hl_event ev;
        s->st.awaiting_snapshot = 1;
        hl__event_init(&ev, HL_EV_GAP);
        ev.sub = hl__sub_handle(s);
        ev.gap_from_ns = s->gap_from;
        ev.gap_to_ns = now;
        s->gap_from = 0;
        hl__emit(ctx, c, &ev);
    }
}

/* Queue one subscribe/unsubscribe message if the venue's bucket and the send queue allow.
   Returns 1 when sent, 0 when it must wait (then *wait_ns, 0 meaning "queue room"). */
static int hl__sub_send(hl_ctx *ctx, hl__conn *c, hl__sub *s, int unsubscribe, uint64_t now, uint64_t *wait_ns)
{
    char msg[HL__SUB_JSON_MAX + 64];
    int n = c->profile->sub_message(s->json, s->json_len, unsubscribe, msg, sizeof msg);
    uint64_t w;
    if (n < 0) return 1; /* the profile cannot express it: nothing to send */
    if (hl_ws_send_room(ctx, hl__conn_handle(c)) < (size_t)n + 14) {
        *wait_ns = 0;
        return 0;
    }
    w = hl__venue_take(ctx, c, now);
    if (w) {
        *wait_ns = w;
        return 0;
    }
    if (hl__wsp_send(&c->ws, HL__OP_TEXT, (const unsigned char *)msg, (size_t)n, 1, 0) != HL_OK) {
        *wait_ns = 0;
        return 0;
    }
    c->last_tx = now;
    return 1;
}

/* Send what waits, in subscribe order: unsubscribes of removed subscriptions, then subscribes
   not yet sent on this connection. Returns when the next try is due (0: nothing waits, or only
   queue room, which the next flush brings). */
static uint64_t hl__subs_pump(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    int32_t i = c->sub_first;
    if (c->state != HL_STATE_OPEN || !c->profile || c->ws.close_sent) return 0;
    while (i >= 0) {
        hl__sub *s = &ctx->subs[i];
        int32_t next = s->next;
        uint64_t wait = 0;
        if (s->unsub_pending || !s->sent) {
            if (!hl__sub_send(ctx, c, s, s->unsub_pending, now, &wait)) return wait ? now + wait : 0;
            if (s->unsub_pending) {
                hl__sub_free(ctx, s);
            } else {
                s->sent = 1;
                if (c->profile->sub_no_ack) {
                    hl__sub_activate(ctx, c, s, now);
                    if (hl__gone(c) || c->state != HL_STATE_OPEN) return 0;
                    next = s->next; /* the callback may have changed the list */
                }
            }
        }
        i = next;
    }
    return 0;
}

/* The connection opened: its subscriptions are replayed by the pump in this same turn. */
static void hl__subs_connection_open(hl__conn *c)
{
    c->kick = c->sub_first >= 0;
}

/* The connection dropped: everything goes back to PENDING (to be replayed) and remembers when
   the gap began; removed subscriptions need no unsubscribe on a new connection. */
static void hl__subs_connection_lost(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    int32_t i = c->sub_first;
    while (i >= 0) {
        hl__sub *s = &ctx->subs[i];
        int32_t next = s->next;
        if (s->unsub_pending) {
            hl__sub_free(ctx, s);
        } else {
            s->sent = 0;
            if (s->state == HL_SUB_ACTIVE) s->gap_from = now;
            hl__sub_set_state(ctx, c, s, HL_SUB_PENDING, "connection lost; will be replayed");
        }
        i = next;
    }
}

/* Find the subscription of c whose canonical form the JSON object p[0..n) has. */
static hl__sub *hl__sub_by_content(hl_ctx *ctx, hl__conn *c, const char *p, size_t n)
{
    uint64_t h;
    int32_t i;
    if (hl__json_canon_hash(p, n, &h) != HL_OK) return NULL;
    for (i = c->sub_first; i >= 0; i = ctx->subs[i].next)
        if (ctx->subs[i].canon == h && !ctx->subs[i].unsub_pending) return &ctx->subs[i];
    return NULL;
}

static void hl__sub_deliver(hl_ctx *ctx, hl__conn *c, hl__sub *s, const unsigned char *p, size_t n,
                            const hl_msg_info *info, uint64_t now)
{
    s->st.msgs++;
    s->st.bytes += n;
    s->st.last_msg_ns = now;
    s->stale_reported = 0;
    if (s->on_message) {
        hl_msg m;
        m.data = p;
        m.len = n;
        m.is_snapshot = info->is_snapshot;
        m.after_gap = s->st.awaiting_snapshot;
        m.recv_ns = now;
        m.ws = hl__conn_handle(c);
        m.sub = hl__sub_handle(s);
        m.user = s->user;
        ctx->tok_msg = NULL; /* tokens are made on demand, at most once */
        ctx->events++;
        s->on_message(ctx, &m);
    } else {
        hl__queue_push(ctx, c, s, p, n, info->is_snapshot | s->st.awaiting_snapshot << 1, now);
    }
    s->st.awaiting_snapshot = 0;
}

/* A text message on a connection with a profile. Returns 1 to hold it (a full BACKPRESSURE
   queue), else 0. */
static int hl__subs_on_text(hl_ctx *ctx, hl__conn *c, const unsigned char *p, size_t n)
{
    hl_msg_info info;
    hl__sub *s;
    uint64_t now = c->last_rx;
    HL_MEMSET(&info, 0, sizeof info);
    c->profile->classify((const char *)p, n, &info);
    switch (info.kind) {
    case HL_MSGK_DATA: {
        int32_t hit[HL__MAX_FANOUT];
        int k, nh = hl__route_lookup(ctx, (int32_t)(c - ctx->conns), hl__fnv1a(HL__FNV_INIT, info.key, info.key_len),
                                     hit, HL__MAX_FANOUT);
        if (nh == 0) break; /* nobody subscribed: an ordinary message */
        for (k = 0; k < nh; k++) {
            s = &ctx->subs[hit[k]];
            if (s->overflow == HL_OVERFLOW_BACKPRESSURE && !s->on_message && hl__queue_full(ctx, s) &&
                !c->ws.close_sent) { /* closing: no holding back the close handshake */
                c->held_by_queue = 1;
                return 1;
            }
        }
        for (k = 0; k < nh; k++) {
            s = &ctx->subs[hit[k]];
            /* a handler may unsubscribe: check the slot is still the one we found */
            if (s->id && !s->unsub_pending && s->conn == (int32_t)(c - ctx->conns))
                hl__sub_deliver(ctx, c, s, p, n, &info, now);
        }
        return 0;
    }
    case HL_MSGK_SUB_ACK:
        s = hl__sub_by_content(ctx, c, info.sub, info.sub_len);
        if (!s || s->state == HL_SUB_ACTIVE) break;
        hl__sub_activate(ctx, c, s, now);
        return 0;
    case HL_MSGK_UNSUB_ACK:
        return 0;
    case HL_MSGK_PONG:
        hl__live_app_pong(ctx, c);
        return 0;
    case HL_MSGK_PING: {
        char reply[128];
        int r = c->profile->app_pong((const char *)p, n, reply, sizeof reply);
        if (r > 0 && hl__wsp_send(&c->ws, HL__OP_TEXT, (const unsigned char *)reply, (size_t)r, 1, 0) == HL_OK)
            c->last_tx = now;
        return 0;
    }
    case HL_MSGK_ERROR:
        /* an error about an unsubscribe (the server had forgotten it already) fails nothing */
        s = info.sub && !(info.text_len >= 13 && memcmp(info.text, "Already unsub", 13) == 0)
                ? hl__sub_by_content(ctx, c, info.sub, info.sub_len)
                : NULL;
        /* an error fails a subscription not yet acked; without acks, any one it names */
        if (s && (s->state != HL_SUB_ACTIVE || c->profile->sub_no_ack)) {
            char detail[160];
            hl__js_unescape(info.text, info.text_len, detail, sizeof detail);
            hl__log(ctx, HL_LOG_WARN, c->id, "subscription %.80s failed: %s", s->json, detail);
            hl__sub_set_state(ctx, c, s, HL_SUB_FAILED, detail);
            return 0;
        }
        hl__log(ctx, HL_LOG_WARN, c->id, "server error: %.*s", (int)HL__MIN(info.text_len, (size_t)150), info.text);
        break; /* not about one subscription: the user sees it as a message */
    default:
        break;
    }
    {
        hl_event ev;
        hl__event_init(&ev, HL_EV_MESSAGE);
        ev.data = p;
        ev.len = n;
        ev.is_text = 1;
        hl__emit(ctx, c, &ev);
    }
    return 0;
}

/* Report subscriptions silent for longer than their stale_after_ms on an open connection;
   returns when the next check is due (0: none). */
static uint64_t hl__subs_stale_check(hl_ctx *ctx, hl__conn *c, uint64_t now)
{
    uint64_t next = 0;
    int32_t i;
    if (c->state != HL_STATE_OPEN) return 0;
    for (i = c->sub_first; i >= 0 && !hl__gone(c); i = ctx->subs[i].next) {
        hl__sub *s = &ctx->subs[i];
        uint64_t since, due;
        if (!s->stale_after_ms || s->state != HL_SUB_ACTIVE || s->stale_reported) continue;
        since = HL__MAX(s->st.last_msg_ns, s->active_since);
        due = since + (uint64_t)s->stale_after_ms * HL__NS_PER_MS;
        if (now >= due) {
            hl_event ev;
            s->stale_reported = 1;
            hl__event_init(&ev, HL_EV_STALE);
            ev.sub = hl__sub_handle(s);
            ev.stale_ms = (now - since) / HL__NS_PER_MS;
            hl__emit(ctx, c, &ev);
        } else if (!next || due < next) {
            next = due;
        }
    }
    return next;
}

/* ---- the calls ---- */

HL_API int hl_ws_subscribe(hl_ctx *ctx, hl_ws ws, const hl_sub_desc *desc, hl_sub *out)
{
    hl__conn *c = hl__conn_get(ctx, ws);
    hl__sub *s = NULL;
    size_t n;
    uint64_t canon;
    char key[96];
    int kl;
    uint32_t i;
    if (!c) return HL_E_BAD_HANDLE;
    if (!desc || !desc->subscription || !out) return HL_E_INVALID;
    out->id = 0;
    if (!c->profile) {
        hl__log(ctx, HL_LOG_ERROR, c->id, "hl_ws_subscribe needs a profile (hl_ws_desc.profile)");
        return HL_E_STATE;
    }
    n = strlen(desc->subscription);
    if (n >= HL__SUB_JSON_MAX || hl__json_canon_hash(desc->subscription, n, &canon) != HL_OK) {
        hl__log(ctx, HL_LOG_ERROR, c->id, "subscription is not a flat JSON object under %u bytes: %.80s",
                (unsigned)HL__SUB_JSON_MAX, desc->subscription);
        return HL_E_INVALID;
    }
    kl = c->profile->sub_route(desc->subscription, n, key, sizeof key);
    if (kl < 0) {
        hl__log(ctx, HL_LOG_ERROR, c->id, "the %s profile cannot route %.80s", c->profile->name, desc->subscription);
        return HL_E_INVALID;
    }
    for (i = (uint32_t)c->sub_first; (int32_t)i >= 0; i = (uint32_t)ctx->subs[i].next)
        if (ctx->subs[i].canon == canon && !ctx->subs[i].unsub_pending) {
            hl__log(ctx, HL_LOG_ERROR, c->id, "already subscribed: %.80s", desc->subscription);
            return HL_E_INVALID;
        }
    if (c->venue >= 0 && ctx->venues[c->venue].max_subs && ctx->venues[c->venue].subs >= ctx->venues[c->venue].max_subs) {
        hl__log(ctx, HL_LOG_ERROR, c->id, "the %s venue allows %u subscriptions (max_subscriptions_venue)",
                c->profile->name, (unsigned)ctx->venues[c->venue].max_subs);
        return HL_E_RATE_LIMITED;
    }
    for (i = 0; i < ctx->cfg.max_subscriptions; i++)
        if (!ctx->subs[i].id) {
            s = &ctx->subs[i];
            break;
        }
    if (!s) {
        hl__log(ctx, HL_LOG_ERROR, c->id, "no free subscription slot: raise max_subscriptions (%u)",
                (unsigned)ctx->cfg.max_subscriptions);
        return HL_E_POOL_EMPTY;
    }
    {
        uint32_t gen = (s->gen + 1) & 0xFFFFu;
        HL_MEMSET(s, 0, sizeof *s);
        s->gen = gen ? gen : 1;
    }
    s->id = s->gen << 16 | (i + 1);
    s->conn = (int32_t)(c - ctx->conns);
    s->next = -1;
    s->state = HL_SUB_PENDING;
    s->st.state = HL_SUB_PENDING;
    s->canon = canon;
    s->route = hl__fnv1a(HL__FNV_INIT, key, (size_t)kl);
    HL_MEMCPY(s->json, desc->subscription, n + 1);
    s->json_len = n;
    s->on_message = desc->on_message;
    s->user = desc->user;
    s->queue_len = desc->queue_len ? desc->queue_len : 16;
    s->overflow = desc->overflow;
    s->stale_after_ms = desc->stale_after_ms;
    s->q_head = s->q_tail = -1;
    if (c->sub_last >= 0) ctx->subs[c->sub_last].next = (int32_t)i;
    else c->sub_first = (int32_t)i;
    c->sub_last = (int32_t)i;
    hl__route_insert(ctx, (int32_t)i);
    if (c->venue >= 0) ctx->venues[c->venue].subs++;
    c->kick = 1;
    out->id = s->id;
    return HL_OK;
}

HL_API int hl_ws_unsubscribe(hl_ctx *ctx, hl_sub sub)
{
    hl__sub *s = hl__sub_get(ctx, sub);
    hl__conn *c;
    if (!s) return HL_E_BAD_HANDLE;
    c = &ctx->conns[s->conn];
    hl__route_remove(ctx, (int32_t)(s - ctx->subs)); /* nothing reaches it from now on */
    if (c->state == HL_STATE_OPEN && s->sent && s->state != HL_SUB_FAILED) {
        s->state = s->st.state = HL_SUB_REMOVED;
        s->unsub_pending = 1; /* freed once its unsubscribe message is out */
        while (s->q_head >= 0) hl__queue_pop(ctx, s);
        c->kick = 1;
    } else {
        s->state = s->st.state = HL_SUB_REMOVED;
        s->unsub_pending = 1;
        hl__sub_free(ctx, s);
    }
    return HL_OK;
}

HL_API int hl_sub_pull(hl_ctx *ctx, hl_sub sub, void *buf, size_t cap, size_t *len, hl_msg *info)
{
    hl__sub *s = hl__sub_get(ctx, sub);
    hl__qslot *q;
    hl__conn *c;
    if (!s) return HL_E_BAD_HANDLE;
    if (!buf && cap) return HL_E_INVALID;
    if (s->q_head < 0) return 0;
    q = &ctx->qslots[s->q_head];
    if (len) *len = q->len;
    if (q->len > cap) return HL_E_MSG_TOO_BIG;
    HL_MEMCPY(buf, hl__qdata(ctx, s->q_head), q->len);
    c = &ctx->conns[s->conn];
    if (info) {
        info->data = (const unsigned char *)buf;
        info->len = q->len;
        info->is_snapshot = q->is_snapshot & 1;
        info->after_gap = q->is_snapshot >> 1;
        info->recv_ns = q->recv_ns;
        info->ws = hl__conn_handle(c);
        info->sub = sub;
        info->user = s->user;
    }
    hl__queue_pop(ctx, s);
    ctx->tok_msg = NULL; /* buf may be where the last tokenized message was */
    if (c->held_by_queue) { /* room again: let the held message in */
        c->held_by_queue = 0;
        c->kick = 1;
    }
    return 1;
}

HL_API int hl_sub_stats_get(hl_ctx *ctx, hl_sub sub, hl_sub_stats *out)
{
    hl__sub *s = hl__sub_get(ctx, sub);
    if (!s || !out) return s ? HL_E_INVALID : HL_E_BAD_HANDLE;
    *out = s->st;
    return HL_OK;
}

HL_API int hl_msg_tokens(hl_ctx *ctx, const hl_msg *msg, const hl_json_tok **toks)
{
    jsmn_parser jp;
    int n;
    if (!ctx || !msg || !toks) return HL_E_INVALID;
    if (ctx->tok_msg != msg->data) {
        jsmn_init(&jp);
        n = jsmn_parse(&jp, (const char *)msg->data, msg->len, ctx->toks, ctx->cfg.json_max_tokens);
        if (n < 0) return n == JSMN_ERROR_NOMEM ? HL_E_MSG_TOO_BIG : HL_E_INVALID;
        ctx->tok_msg = msg->data;
        ctx->tok_n = n;
    }
    *toks = (const hl_json_tok *)(const void *)ctx->toks;
    return ctx->tok_n;
}

/* hl_json_tok must be jsmntok_t with parent links, field for field, and HL_JSON_* its types. */
typedef char hl__tok_layout_check[(sizeof(hl_json_tok) == sizeof(jsmntok_t) &&
                                   offsetof(hl_json_tok, parent) == offsetof(jsmntok_t, parent) &&
                                   HL_JSON_OBJECT == JSMN_OBJECT && HL_JSON_ARRAY == JSMN_ARRAY &&
                                   HL_JSON_STRING == JSMN_STRING && HL_JSON_PRIMITIVE == JSMN_PRIMITIVE)
                                      ? 1
                                      : -1];
