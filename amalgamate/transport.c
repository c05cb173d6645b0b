/* The byte streams the driver and TLS talk through: the OS sockets, or the caller's transport
   (config.transport). Same conventions as the sys calls: bytes, HL__AGAIN, or -1 with *err. */

/* Open a stream to a: 0 connected, 1 in progress, -1 failed (*err set). */
static int hl__net_open(const hl_transport *tp, const hl_addr *a, hl_socket *out, int *err)
{
    if (tp) {
        int r = tp->connect(tp->user, a, out, err);
        return r == 0 || r == 1 ? r : -1;
    }
    *out = hl__sys_socket(a, err);
    if (*out == HL_INVALID_SOCKET) return -1;
    {
        int r = hl__sys_connect(*out, a, err);
        if (r < 0) {
            hl__sys_close(*out);
            *out = HL_INVALID_SOCKET;
        }
        return r;
    }
}

static int hl__net_connect_result(const hl_transport *tp, hl_socket s)
{
    return tp ? tp->connect_result(tp->user, s) : hl__sys_connect_result(s);
}

static long hl__net_send(const hl_transport *tp, hl_socket s, const unsigned char *p, size_t n, int *err)
{
    long r;
    if (!tp) return hl__sys_send(s, p, n, err);
    r = tp->send(tp->user, s, p, n, err);
    return r == HL_IO_AGAIN ? HL__AGAIN : r < 0 ? -1 : r;
}

static long hl__net_recv(const hl_transport *tp, hl_socket s, unsigned char *p, size_t n, int *err)
{
    long r;
    if (!tp) return hl__sys_recv(s, p, n, err);
    r = tp->recv(tp->user, s, p, n, err);
    return r == HL_IO_AGAIN ? HL__AGAIN : r < 0 ? -1 : r;
}

static void hl__net_close(const hl_transport *tp, hl_socket s)
{
    if (tp) tp->close(tp->user, s);
    else hl__sys_close(s);
}
