/* TLS with BearSSL: the client engine pumped over a non-blocking socket, trust anchors parsed
   into the arena, SHA-256 public-key pinning, an explicit insecure mode, session resumption and
   readable errors. BearSSL never allocates: every context and buffer here comes from the arena
   and stays where it was put (the engine keeps pointers into itself and into the buffers). */
#if HL_ENABLE_TLS

#define HL__TLS_IBUF BR_SSL_BUFSIZE_INPUT /* a whole record from any server (16709) */
#define HL__TLS_MIN_OBUF 597
#define HL__TLS_MAX_OBUF BR_SSL_BUFSIZE_OUTPUT
#define HL__TLS_PIN_FAIL 0x7F01 /* our end_chain code: no pinned key matched */

/* TLS 1.2, ECDHE only, AEAD only: what BearSSL does well and every modern server offers. */
static const uint16_t hl__tls_suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};

/* An X.509 engine wrapping br_x509_minimal: adds key pinning, and in insecure mode accepts any
   chain. Its own decoder reads the first (the server's) certificate, for the key when minimal
   gives none: insecure mode, and a pinned IP-address host (no certificate name can match an
   address, so there the pin alone vouches for the key). */
typedef struct hl__x509 {
    const br_x509_class *vtable; /* first: BearSSL calls through it */
    br_x509_minimal_context minimal;
    br_x509_decoder_context leaf; /* decodes the first certificate */
    int cert_index;
    const unsigned char *pins;    /* pin_count SHA-256 digests of SubjectPublicKeyInfo */
    int pin_count;
    int insecure;
    int ip_host;                  /* the host is an IP address */
    int use_leaf;                 /* the key to use is the leaf decoder's */
    int pin_failed;
} hl__x509;

typedef struct hl__tls {
    br_ssl_client_context cc;
    const hl_transport *tp; /* the byte stream (NULL: OS sockets) */
    hl__x509 x509;
    unsigned char *ibuf, *obuf;
    size_t olen;
    int inited;            /* profile set up once per slot (re-init would drop the session) */
    int session_ok;        /* cc holds a session for session_host:session_port */
    char session_host[HL_URL_MAX_HOST + 1];
    uint16_t session_port;
    unsigned char offered_id[32];
    int offered;
    int resumed;
} hl__tls;

static hl__x509 *hl__x509_of(const br_x509_class **ctx)
{
    return (hl__x509 *)(void *)ctx;
}

static void hl__x509_start_chain(const br_x509_class **ctx, const char *server_name)
{
    hl__x509 *x = hl__x509_of(ctx);
    x->cert_index = 0;
    x->pin_failed = 0;
    x->use_leaf = x->insecure;
    x->minimal.vtable->start_chain(&x->minimal.vtable, server_name);
    br_x509_decoder_init(&x->leaf, 0, 0);
}

static void hl__x509_start_cert(const br_x509_class **ctx, uint32_t length)
{
    hl__x509 *x = hl__x509_of(ctx);
    x->minimal.vtable->start_cert(&x->minimal.vtable, length);
}

static void hl__x509_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
    hl__x509 *x = hl__x509_of(ctx);
    x->minimal.vtable->append(&x->minimal.vtable, buf, len);
    if (x->cert_index == 0) br_x509_decoder_push(&x->leaf, buf, len);
}

static void hl__x509_end_cert(const br_x509_class **ctx)
{
    hl__x509 *x = hl__x509_of(ctx);
    x->minimal.vtable->end_cert(&x->minimal.vtable);
    x->cert_index++;
}

/* DER of a length; returns bytes written. */
static size_t hl__der_len(unsigned char *out, size_t n)
{
    if (n < 128) { out[0] = (unsigned char)n; return 1; }
    if (n < 256) { out[0] = 0x81; out[1] = (unsigned char)n; return 2; }
    out[0] = 0x82; out[1] = (unsigned char)(n >> 8); out[2] = (unsigned char)n;
    return 3;
}

/* Hash a DER TLV whose value is given in parts (tag, then pieces) without building it. */
static void hl__der_hash_hdr(br_sha256_context *h, unsigned tag, size_t len)
{
    unsigned char hdr[4];
    size_t n;
    hdr[0] = (unsigned char)tag;
    n = 1 + hl__der_len(hdr + 1, len);
    br_sha256_update(h, hdr, n);
}

static size_t hl__der_tlv_size(size_t len)
{
    return 1 + (len < 128 ? 1 : len < 256 ? 2 : 3) + len;
}

/* Length of an unsigned big integer as a DER INTEGER value (leading zeros dropped, a zero
   byte added when the top bit is set). */
static size_t hl__der_uint_len(const unsigned char **p, size_t *n)
{
    while (*n > 1 && (*p)[0] == 0) { (*p)++; (*n)--; }
    return *n + (((*p)[0] & 0x80) ? 1 : 0);
}

/* SHA-256 of the SubjectPublicKeyInfo DER of a key, as `openssl pkey -pubin -outform der`
   would encode it; that is what a pin names. Returns 0, or -1 for a curve we do not know. */
static int hl__spki_sha256(const br_x509_pkey *pk, unsigned char out[32])
{
    static const unsigned char rsa_alg[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                            0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
    static const unsigned char ec_oid[] = {0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
    static const unsigned char p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    static const unsigned char p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
    static const unsigned char p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
    br_sha256_context h;
    unsigned char zero = 0;
    br_sha256_init(&h);
    if (pk->key_type == BR_KEYTYPE_RSA) {
        const unsigned char *n = pk->key.rsa.n, *e = pk->key.rsa.e;
        size_t nl = pk->key.rsa.nlen, el = pk->key.rsa.elen;
        size_t niv = hl__der_uint_len(&n, &nl), eiv = hl__der_uint_len(&e, &el);
        size_t seq = hl__der_tlv_size(niv) + hl__der_tlv_size(eiv);
        size_t bits = 1 + hl__der_tlv_size(seq);
        hl__der_hash_hdr(&h, 0x30, sizeof rsa_alg + hl__der_tlv_size(bits));
        br_sha256_update(&h, rsa_alg, sizeof rsa_alg);
        hl__der_hash_hdr(&h, 0x03, bits);
        br_sha256_update(&h, &zero, 1); /* no unused bits */
        hl__der_hash_hdr(&h, 0x30, seq);
        hl__der_hash_hdr(&h, 0x02, niv);
        if (niv > nl) br_sha256_update(&h, &zero, 1);
        br_sha256_update(&h, n, nl);
        hl__der_hash_hdr(&h, 0x02, eiv);
        if (eiv > el) br_sha256_update(&h, &zero, 1);
        br_sha256_update(&h, e, el);
    } else {
        const unsigned char *curve;
        size_t cl, alg, bits = 1 + pk->key.ec.qlen;
        switch (pk->key.ec.curve) {
        case BR_EC_secp256r1: curve = p256; cl = sizeof p256; break;
        case BR_EC_secp384r1: curve = p384; cl = sizeof p384; break;
        case BR_EC_secp521r1: curve = p521; cl = sizeof p521; break;
        default: return -1;
        }
        alg = sizeof ec_oid + cl;
        hl__der_hash_hdr(&h, 0x30, hl__der_tlv_size(alg) + hl__der_tlv_size(bits));
        hl__der_hash_hdr(&h, 0x30, alg);
        br_sha256_update(&h, ec_oid, sizeof ec_oid);
        br_sha256_update(&h, curve, cl);
        hl__der_hash_hdr(&h, 0x03, bits);
        br_sha256_update(&h, &zero, 1);
        br_sha256_update(&h, pk->key.ec.q, pk->key.ec.qlen);
    }
    br_sha256_out(&h, out);
    return 0;
}

static unsigned hl__x509_end_chain(const br_x509_class **ctx)
{
    hl__x509 *x = hl__x509_of(ctx);
    unsigned err = x->minimal.vtable->end_chain(&x->minimal.vtable);
    if (x->insecure && !x->pin_count) return 0;
    if (x->pin_count > 0 && x->ip_host && err == BR_ERR_X509_BAD_SERVER_NAME) x->use_leaf = 1;
    if (x->pin_count > 0 && (x->use_leaf || err == 0 || err == BR_ERR_X509_NOT_TRUSTED)) {
        /* A pin stands in for CA trust; name and dates are still checked by minimal, except in
           insecure mode and for an IP-address host, where the pin is the only check. */
        unsigned char d[32];
        const br_x509_pkey *pk = x->use_leaf ? br_x509_decoder_get_pkey(&x->leaf)
                                             : x->minimal.vtable->get_pkey(&x->minimal.vtable, NULL);
        int i;
        if (pk && hl__spki_sha256(pk, d) == 0)
            for (i = 0; i < x->pin_count; i++)
                if (memcmp(d, x->pins + 32 * i, 32) == 0) return 0;
        x->pin_failed = 1;
        return HL__TLS_PIN_FAIL;
    }
    return err;
}

static const br_x509_pkey *hl__x509_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
    hl__x509 *x = (hl__x509 *)(void *)ctx;
    if (x->use_leaf) {
        if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
        return br_x509_decoder_get_pkey(&x->leaf);
    }
    return x->minimal.vtable->get_pkey(&x->minimal.vtable, usages);
}

static const br_x509_class hl__x509_vtable = {
    sizeof(hl__x509),   hl__x509_start_chain, hl__x509_start_cert, hl__x509_append,
    hl__x509_end_cert,  hl__x509_end_chain,   hl__x509_get_pkey,
};

/* ---- trust anchors ---- */

/* Parsed anchors live in one arena region: DN and key bytes grow up from the start, the anchor
   structs grow down from the end, so one pass over the PEM suffices. */
typedef struct hl__anchors {
    unsigned char *base;
    size_t cap, bytes_used, count;
    int loaded;
    int overflow;
    const char *source;  /* where they came from, for messages */
    size_t dn_start, dn_len;
    br_x509_decoder_context dc;
} hl__anchors;

static br_x509_trust_anchor *hl__anchor_array(hl__anchors *a)
{
    return (br_x509_trust_anchor *)(void *)(a->base + a->cap - a->count * sizeof(br_x509_trust_anchor));
}

static unsigned char *hl__anchor_bytes(hl__anchors *a, const void *src, size_t n)
{
    unsigned char *p;
    size_t limit = a->cap - (a->count + 1) * sizeof(br_x509_trust_anchor);
    if (a->cap < (a->count + 1) * sizeof(br_x509_trust_anchor) || a->bytes_used + n > limit) {
        a->overflow = 1;
        return NULL;
    }
    p = a->base + a->bytes_used;
    if (src) HL_MEMCPY(p, src, n);
    a->bytes_used += n;
    return p;
}

static void hl__anchor_dn(void *ctx, const void *buf, size_t len)
{
    hl__anchors *a = (hl__anchors *)ctx;
    if (hl__anchor_bytes(a, buf, len)) a->dn_len += len;
}

static void hl__anchor_push(void *ctx, const void *buf, size_t len)
{
    br_x509_decoder_push((br_x509_decoder_context *)ctx, buf, len);
}

/* One certificate decoded: keep its DN and a copy of its key as an anchor. */
static void hl__anchor_finish(hl__anchors *a)
{
    const br_x509_pkey *pk = br_x509_decoder_get_pkey(&a->dc);
    br_x509_trust_anchor ta;
    HL_MEMSET(&ta, 0, sizeof ta);
    if (!pk || a->overflow) {
        if (!a->overflow) a->bytes_used = a->dn_start; /* not a usable certificate: skip it */
        return;
    }
    ta.dn.data = a->base + a->dn_start;
    ta.dn.len = a->dn_len;
    ta.flags = br_x509_decoder_isCA(&a->dc) ? BR_X509_TA_CA : 0;
    ta.pkey.key_type = pk->key_type;
    if (pk->key_type == BR_KEYTYPE_RSA) {
        ta.pkey.key.rsa.n = hl__anchor_bytes(a, pk->key.rsa.n, pk->key.rsa.nlen);
        ta.pkey.key.rsa.nlen = pk->key.rsa.nlen;
        ta.pkey.key.rsa.e = hl__anchor_bytes(a, pk->key.rsa.e, pk->key.rsa.elen);
        ta.pkey.key.rsa.elen = pk->key.rsa.elen;
    } else {
        ta.pkey.key.ec.curve = pk->key.ec.curve;
        ta.pkey.key.ec.q = hl__anchor_bytes(a, pk->key.ec.q, pk->key.ec.qlen);
        ta.pkey.key.ec.qlen = pk->key.ec.qlen;
    }
    if (a->overflow) return;
    a->count++;
    HL_MEMCPY(hl__anchor_array(a), &ta, sizeof ta);
}

/* Feed PEM text; call with len 0 at the end. */
static void hl__anchors_pem(hl__anchors *a, br_pem_decoder_context *pc, const unsigned char *p, size_t len)
{
    while (len > 0 && !a->overflow) {
        size_t k = br_pem_decoder_push(pc, p, len);
        p += k;
        len -= k;
        switch (br_pem_decoder_event(pc)) {
        case BR_PEM_BEGIN_OBJ:
            if (strcmp(br_pem_decoder_name(pc), "CERTIFICATE") == 0 ||
                strcmp(br_pem_decoder_name(pc), "X509 CERTIFICATE") == 0) {
                a->dn_start = a->bytes_used;
                a->dn_len = 0;
                br_x509_decoder_init(&a->dc, hl__anchor_dn, a);
                br_pem_decoder_setdest(pc, hl__anchor_push, &a->dc);
            } else {
                br_pem_decoder_setdest(pc, 0, 0);
            }
            break;
        case BR_PEM_END_OBJ:
            if (br_pem_decoder_name(pc)[0]) hl__anchor_finish(a);
            break;
        case BR_PEM_ERROR:
            return;
        default:
            break;
        }
    }
}

static const char *const hl__ca_paths[] = {"/etc/ssl/certs/ca-certificates.crt",
                                           "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"};

/* Load the anchors the configuration names: memory PEM, else a file, else the system bundle.
   Returns HL_OK or HL_E_TLS_CERT / HL_E_NO_MEMORY with a reason. */
static int hl__anchors_load(hl__anchors *a, const hl_config *cfg, char *detail, size_t cap)
{
    br_pem_decoder_context pc;
    size_t i;
    a->bytes_used = a->count = 0;
    a->overflow = 0;
    br_pem_decoder_init(&pc);
    if (cfg->tls_ca_pem) {
        a->source = "tls_ca_pem";
        hl__anchors_pem(a, &pc, (const unsigned char *)cfg->tls_ca_pem,
                        cfg->tls_ca_pem_len ? cfg->tls_ca_pem_len : strlen(cfg->tls_ca_pem));
    } else {
        FILE *f = NULL;
        if (cfg->tls_ca_file) {
            a->source = cfg->tls_ca_file;
            f = fopen(cfg->tls_ca_file, "rb");
        } else {
            for (i = 0; i < sizeof hl__ca_paths / sizeof hl__ca_paths[0] && !f; i++) {
                a->source = hl__ca_paths[i];
                f = fopen(hl__ca_paths[i], "rb");
            }
        }
        if (!f) {
            hl__fmt(detail, cap, "cannot read CA bundle %s (set tls_ca_file)", a->source);
            return HL_E_TLS_CERT;
        }
        for (;;) {
            unsigned char chunk[4096];
            size_t n = fread(chunk, 1, sizeof chunk, f);
            if (n == 0) break;
            hl__anchors_pem(a, &pc, chunk, n);
        }
        fclose(f);
    }
    if (a->overflow) {
        hl__fmt(detail, cap, "trust anchors from %s do not fit tls_anchor_space (%u bytes)", a->source,
                (unsigned)a->cap);
        return HL_E_NO_MEMORY;
    }
    if (a->count == 0) {
        hl__fmt(detail, cap, "no certificate found in %s", a->source);
        return HL_E_TLS_CERT;
    }
    a->loaded = 1;
    return HL_OK;
}

/* ---- the engine ---- */

static void hl__tls_profile(hl__tls *t)
{
    br_ssl_engine_context *e = &t->cc.eng;
    br_ssl_client_zero(&t->cc);
    br_ssl_engine_set_versions(e, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_suites(e, hl__tls_suites, sizeof hl__tls_suites / sizeof hl__tls_suites[0]);
    br_ssl_engine_set_default_ec(e);
    br_ssl_engine_set_default_ecdsa(e);
    br_ssl_engine_set_default_rsavrfy(e);
    br_ssl_engine_set_hash(e, br_sha256_ID, &br_sha256_vtable);
    br_ssl_engine_set_hash(e, br_sha384_ID, &br_sha384_vtable);
    br_ssl_engine_set_prf_sha256(e, &br_tls12_sha256_prf);
    br_ssl_engine_set_prf_sha384(e, &br_tls12_sha384_prf);
    br_ssl_engine_set_default_aes_gcm(e);
    br_ssl_engine_set_default_chapol(e);
    br_ssl_engine_add_flags(e, BR_OPT_NO_RENEGOTIATION);
}

/* Start a handshake with host, which is always given: BearSSL takes it for SNI and checks the
   certificate against it (a NULL name would silently skip that check). ip_host says the host is
   an IP address, allowed only with a pin or in insecure mode. */
static int hl__tls_start(hl__tls *t, hl__anchors *a, const hl_config *cfg, const char *host, int ip_host,
                         uint16_t port, const unsigned char *pins, int npins,
                         const unsigned char seed[32], int64_t unix_now)
{
    hl__x509 *x = &t->x509;
    int resume;
    t->tp = cfg->transport;
    if (!t->inited) {
        hl__tls_profile(t);
        t->inited = 1;
    }
    br_ssl_engine_inject_entropy(&t->cc.eng, seed, 32);
    br_x509_minimal_init(&x->minimal, &br_sha256_vtable,
                         a->count ? hl__anchor_array(a) : NULL, a->count);
    br_x509_minimal_set_hash(&x->minimal, br_sha256_ID, &br_sha256_vtable);
    br_x509_minimal_set_hash(&x->minimal, br_sha384_ID, &br_sha384_vtable);
    br_x509_minimal_set_hash(&x->minimal, br_sha512_ID, &br_sha512_vtable);
    br_x509_minimal_set_rsa(&x->minimal, br_ssl_engine_get_rsavrfy(&t->cc.eng));
    br_x509_minimal_set_ecdsa(&x->minimal, br_ssl_engine_get_ec(&t->cc.eng),
                              br_ssl_engine_get_ecdsa(&t->cc.eng));
    if (unix_now > 0)
        br_x509_minimal_set_time(&x->minimal, (uint32_t)(unix_now / 86400 + 719528),
                                 (uint32_t)(unix_now % 86400));
    x->vtable = &hl__x509_vtable;
    x->pins = pins;
    x->pin_count = npins;
    x->insecure = cfg->tls_insecure;
    x->ip_host = ip_host;
    br_ssl_engine_set_x509(&t->cc.eng, &x->vtable);
    br_ssl_engine_set_buffers_bidi(&t->cc.eng, t->ibuf, HL__TLS_IBUF, t->obuf, t->olen);
    /* resume only towards the endpoint the session came from */
    resume = t->session_ok && t->session_port == port && strcmp(t->session_host, host) == 0;
    if (!resume) br_ssl_client_forget_session(&t->cc);
    t->offered = resume;
    if (resume) {
        br_ssl_session_parameters sp;
        br_ssl_engine_get_session_parameters(&t->cc.eng, &sp);
        HL_MEMCPY(t->offered_id, sp.session_id, 32);
    }
    t->resumed = 0;
    if (!br_ssl_client_reset(&t->cc, host, resume)) return HL_E_TLS;
    t->session_ok = 0;
    HL_MEMCPY(t->session_host, host, strlen(host) + 1);
    t->session_port = port;
    return HL_OK;
}

/* Called once the handshake is done: remember the session, tell whether it was resumed. */
static void hl__tls_established(hl__tls *t, int host_known)
{
    br_ssl_session_parameters sp;
    br_ssl_engine_get_session_parameters(&t->cc.eng, &sp);
    t->resumed = t->offered && memcmp(sp.session_id, t->offered_id, 32) == 0;
    t->session_ok = host_known;
}

/* Move records to the socket until none is waiting or it would block. 0, HL__AGAIN or -1. */
static long hl__tls_push(hl__tls *t, hl_socket fd, int *err)
{
    br_ssl_engine_context *e = &t->cc.eng;
    while (br_ssl_engine_current_state(e) & BR_SSL_SENDREC) {
        size_t n;
        unsigned char *p = br_ssl_engine_sendrec_buf(e, &n);
        long w = hl__net_send(t->tp, fd, p, n, err);
        if (w < 0) return w;
        br_ssl_engine_sendrec_ack(e, (size_t)w);
    }
    return 0;
}

#define HL__TLS_FAIL (-1001) /* the engine failed: hl__tls_error says why */

/* Drive the handshake: 1 done, 0 waiting for the socket, 0 ... or HL__TLS_FAIL / -1 (errno) /
   -2 (TCP closed). */
static int hl__tls_handshake(hl__tls *t, hl_socket fd, int *err)
{
    br_ssl_engine_context *e = &t->cc.eng;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(e);
        long r;
        if (st & BR_SSL_CLOSED) return HL__TLS_FAIL;
        if (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) return 1;
        if (st & BR_SSL_SENDREC) {
            r = hl__tls_push(t, fd, err);
            if (r == -1) return -1;
            if (r == 0) continue;
        }
        if (!(st & BR_SSL_RECVREC)) return 0;
        {
            size_t n;
            unsigned char *p = br_ssl_engine_recvrec_buf(e, &n);
            r = hl__net_recv(t->tp, fd, p, n, err);
            if (r == HL__AGAIN) return 0;
            if (r < 0) return -1;
            if (r == 0) return -2;
            br_ssl_engine_recvrec_ack(e, (size_t)r);
        }
    }
}

/* Plaintext in: bytes copied, 0 at the end of the stream, HL__AGAIN, -1 (errno) or
   HL__TLS_FAIL. */
static long hl__tls_recv(hl__tls *t, hl_socket fd, unsigned char *dst, size_t cap, int *err)
{
    br_ssl_engine_context *e = &t->cc.eng;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(e);
        long r;
        if (st & BR_SSL_CLOSED) return br_ssl_engine_last_error(e) == BR_ERR_OK ? 0 : HL__TLS_FAIL;
        if (st & BR_SSL_RECVAPP) {
            size_t n;
            unsigned char *p = br_ssl_engine_recvapp_buf(e, &n);
            n = HL__MIN(n, cap);
            HL_MEMCPY(dst, p, n);
            br_ssl_engine_recvapp_ack(e, n);
            return (long)n;
        }
        if (st & BR_SSL_SENDREC) {
            r = hl__tls_push(t, fd, err);
            if (r == -1) return -1;
        }
        if (!(st & BR_SSL_RECVREC)) return HL__AGAIN;
        {
            size_t n;
            unsigned char *p = br_ssl_engine_recvrec_buf(e, &n);
            r = hl__net_recv(t->tp, fd, p, n, err);
            if (r <= 0) return r;
            br_ssl_engine_recvrec_ack(e, (size_t)r);
        }
    }
}

/* Plaintext out: bytes taken (they may wait in the engine until the socket drains), HL__AGAIN,
   -1 (errno) or HL__TLS_FAIL. */
static long hl__tls_send(hl__tls *t, hl_socket fd, const unsigned char *src, size_t n, int *err)
{
    br_ssl_engine_context *e = &t->cc.eng;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(e);
        if (st & BR_SSL_CLOSED) return HL__TLS_FAIL;
        if (st & BR_SSL_SENDAPP) {
            size_t room;
            unsigned char *p = br_ssl_engine_sendapp_buf(e, &room);
            room = HL__MIN(room, n);
            HL_MEMCPY(p, src, room);
            br_ssl_engine_sendapp_ack(e, room);
            br_ssl_engine_flush(e, 0);
            if (hl__tls_push(t, fd, err) == -1) return -1;
            return (long)room;
        }
        if (st & BR_SSL_SENDREC) {
            long r = hl__tls_push(t, fd, err);
            if (r < 0) return r;
            continue;
        }
        return HL__AGAIN;
    }
}

static int hl__tls_wants_write(const hl__tls *t)
{
    return (br_ssl_engine_current_state(&t->cc.eng) & BR_SSL_SENDREC) != 0;
}

/* Send close_notify if the socket takes it now; the WebSocket close already ended the talk. */
static void hl__tls_close(hl__tls *t, hl_socket fd)
{
    int err = 0;
    if (br_ssl_engine_current_state(&t->cc.eng) & BR_SSL_CLOSED) return;
    br_ssl_engine_close(&t->cc.eng);
    hl__tls_push(t, fd, &err);
}

/* The reason the engine failed, as a result code and a sentence. */
static int hl__tls_error(const hl__tls *t, const char *host, char *detail, size_t cap)
{
    int e = br_ssl_engine_last_error(&t->cc.eng);
    if (t->x509.pin_failed || e == HL__TLS_PIN_FAIL) {
        hl__fmt(detail, cap, "server key matches none of the pinned SHA-256 keys");
        return HL_E_TLS_CERT;
    }
    switch (e) {
    case BR_ERR_X509_EXPIRED:
        hl__fmt(detail, cap, "certificate expired or not yet valid (BearSSL %d; check the clock)", e);
        return HL_E_TLS_CERT;
    case BR_ERR_X509_BAD_SERVER_NAME:
        hl__fmt(detail, cap, "certificate is not for host '%s' (BearSSL %d)", host, e);
        return HL_E_TLS_CERT;
    case BR_ERR_X509_NOT_TRUSTED:
        hl__fmt(detail, cap, "certificate chain does not end at a trusted CA: unknown CA, self-signed, "
                             "or a missing intermediate (BearSSL %d)", e);
        return HL_E_TLS_CERT;
    case BR_ERR_X509_EMPTY_CHAIN:
        hl__fmt(detail, cap, "server sent no certificate (BearSSL %d)", e);
        return HL_E_TLS_CERT;
    case BR_ERR_UNSUPPORTED_VERSION:
    case BR_ERR_BAD_VERSION:
        hl__fmt(detail, cap, "server answered with something that is not TLS 1.2: an old TLS version, "
                             "or not TLS at all (a plain ws:// or http:// port?) (BearSSL %d)", e);
        return HL_E_TLS;
    case BR_ERR_RECV_FATAL_ALERT + 70: /* protocol_version */
        hl__fmt(detail, cap, "server does not speak TLS 1.2: it requires TLS 1.3 (or an older version), "
                             "and BearSSL supports TLS 1.2 only (BearSSL %d)", e);
        return HL_E_TLS;
    case BR_ERR_RECV_FATAL_ALERT + 40: /* handshake_failure */
        hl__fmt(detail, cap, "server refused the handshake: no common ECDHE+AEAD cipher suite or it "
                             "requires an extension BearSSL lacks (alert 40)");
        return HL_E_TLS;
    default:
        break;
    }
    if (e >= 32 && e < 64) {
        hl__fmt(detail, cap, "certificate rejected (BearSSL X.509 error %d)", e);
        return HL_E_TLS_CERT;
    }
    if (e >= BR_ERR_SEND_FATAL_ALERT) hl__fmt(detail, cap, "TLS failed; we sent fatal alert %d", e - BR_ERR_SEND_FATAL_ALERT);
    else if (e >= BR_ERR_RECV_FATAL_ALERT) hl__fmt(detail, cap, "server sent fatal TLS alert %d", e - BR_ERR_RECV_FATAL_ALERT);
    else hl__fmt(detail, cap, "TLS failed (BearSSL error %d)", e);
    return HL_E_TLS;
}

#endif /* HL_ENABLE_TLS */

/* A pin as text: 64 hex digits or 44 characters of base64 (as HPKP's pin-sha256 writes it). */
HL_API int hl_tls_pin_parse(const char *text, unsigned char out[32])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n, i;
    if (!text || !out) return HL_E_INVALID;
    n = strlen(text);
    if (n == 64) {
        for (i = 0; i < 32; i++) {
            int v = 0, k;
            for (k = 0; k < 2; k++) {
                int c = hl__lower((unsigned char)text[2 * i + k]);
                if (c >= '0' && c <= '9') v = v * 16 + (c - '0');
                else if (c >= 'a' && c <= 'f') v = v * 16 + (c - 'a' + 10);
                else return HL_E_INVALID;
            }
            out[i] = (unsigned char)v;
        }
        return HL_OK;
    }
    if (n == 44 && text[43] == '=' && text[42] != '=') {
        uint32_t acc = 0;
        size_t o = 0;
        int bits = 0;
        for (i = 0; i < 43; i++) {
            const char *p = strchr(b64, text[i]);
            if (!p || !text[i]) return HL_E_INVALID;
            acc = acc << 6 | (uint32_t)(p - b64);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                if (o < 32) out[o++] = (unsigned char)(acc >> bits);
                acc &= (1u << bits) - 1;
            }
        }
        return o == 32 ? HL_OK : HL_E_INVALID;
    }
    return HL_E_INVALID;
}
