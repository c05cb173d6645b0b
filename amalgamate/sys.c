/* Sockets: non-blocking TCP, poll, name resolution. The only file that knows POSIX from
   Winsock; everything above sees hl_socket and these calls. */

#define HL__AGAIN (-1000) /* would block */

#if defined(_WIN32)
typedef int hl__socklen;
#define HL__EINPROGRESS WSAEWOULDBLOCK
#define HL__ECONNREFUSED WSAECONNREFUSED
#define HL__ECONNRESET WSAECONNRESET
#define HL__ETIMEDOUT WSAETIMEDOUT
static int hl__sys_errno(void) { return WSAGetLastError(); }
static int hl__sys_would_block(int e) { return e == WSAEWOULDBLOCK; }
#else
typedef socklen_t hl__socklen;
#define HL__EINPROGRESS EINPROGRESS
#define HL__ECONNREFUSED ECONNREFUSED
#define HL__ECONNRESET ECONNRESET
#define HL__ETIMEDOUT ETIMEDOUT
static int hl__sys_errno(void) { return errno; }
static int hl__sys_would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }
#endif

static int hl__sys_startup(void)
{
#if defined(_WIN32)
    WSADATA wsa;
    return WSAStartup(MAKEWORD(2, 2), &wsa) == 0 ? HL_OK : HL_E_IO;
#else
    return HL_OK;
#endif
}

static void hl__sys_cleanup(void)
{
#if defined(_WIN32)
    WSACleanup();
#endif
}

static void hl__sys_close(hl_socket s)
{
#if defined(_WIN32)
    closesocket((SOCKET)s);
#else
    close(s);
#endif
}

/* A non-blocking TCP socket with TCP_NODELAY for the address family of a. */
static hl_socket hl__sys_socket(const hl_addr *a, int *err)
{
    const struct sockaddr *sa = (const struct sockaddr *)(const void *)a->bytes;
    int one = 1;
#if defined(_WIN32)
    u_long nb = 1;
    SOCKET s = socket(sa->sa_family, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) {
        *err = hl__sys_errno();
        return HL_INVALID_SOCKET;
    }
    if (ioctlsocket(s, FIONBIO, &nb) != 0) {
        *err = hl__sys_errno();
        closesocket(s);
        return HL_INVALID_SOCKET;
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    return (hl_socket)s;
#else
    int s = socket(sa->sa_family, SOCK_STREAM, 0);
    int fl;
    if (s < 0) {
        *err = errno;
        return HL_INVALID_SOCKET;
    }
    fl = fcntl(s, F_GETFL, 0);
    if (fl < 0 || fcntl(s, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(s, F_SETFD, FD_CLOEXEC) < 0) {
        *err = errno;
        close(s);
        return HL_INVALID_SOCKET;
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
    setsockopt(s, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return s;
#endif
}

/* Start connecting: 0 connected, 1 in progress, -1 failed (*err set). */
static int hl__sys_connect(hl_socket s, const hl_addr *a, int *err)
{
    const struct sockaddr *sa = (const struct sockaddr *)(const void *)a->bytes;
#if defined(_WIN32)
    if (connect((SOCKET)s, sa, (int)a->len) == 0) return 0;
#else
    if (connect(s, sa, (socklen_t)a->len) == 0) return 0;
#endif
    *err = hl__sys_errno();
#if !defined(_WIN32)
    if (*err == EINTR) return 1;
#endif
    return *err == HL__EINPROGRESS ? 1 : -1;
}

/* After the socket became writable: 0 connected, else the connect error. */
static int hl__sys_connect_result(hl_socket s)
{
    int e = 0;
    hl__socklen len = sizeof e;
#if defined(_WIN32)
    if (getsockopt((SOCKET)s, SOL_SOCKET, SO_ERROR, (char *)&e, &len) != 0) return hl__sys_errno();
#else
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len) != 0) return errno;
#endif
    return e;
}

/* Bytes sent, HL__AGAIN, or -1 with *err. */
static long hl__sys_send(hl_socket s, const unsigned char *p, size_t n, int *err)
{
    long r;
#if defined(_WIN32)
    r = send((SOCKET)s, (const char *)p, (int)HL__MIN(n, (size_t)0x7FFFFFFF), 0);
#elif defined(MSG_NOSIGNAL)
    do r = (long)send(s, p, n, MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
#else
    do r = (long)send(s, p, n, 0); while (r < 0 && errno == EINTR);
#endif
    if (r >= 0) return r;
    *err = hl__sys_errno();
    return hl__sys_would_block(*err) ? HL__AGAIN : -1;
}

/* Bytes received, 0 at EOF, HL__AGAIN, or -1 with *err. */
static long hl__sys_recv(hl_socket s, unsigned char *p, size_t n, int *err)
{
    long r;
#if defined(_WIN32)
    r = recv((SOCKET)s, (char *)p, (int)HL__MIN(n, (size_t)0x7FFFFFFF), 0);
#else
    do r = (long)recv(s, p, n, 0); while (r < 0 && errno == EINTR);
#endif
    if (r >= 0) return r;
    *err = hl__sys_errno();
    return hl__sys_would_block(*err) ? HL__AGAIN : -1;
}

/* Wait for readiness on fds (revents filled) or timeout_ms; 0 fds just sleeps. */
static int hl__sys_poll(hl_pollfd *fds, int n, int timeout_ms, struct pollfd *scratch)
{
    int i, r;
#if defined(_WIN32)
    if (n == 0) {
        if (timeout_ms > 0) Sleep((DWORD)timeout_ms);
        return 0;
    }
#endif
    for (i = 0; i < n; i++) {
        scratch[i].fd = fds[i].fd;
        scratch[i].events = (short)(((fds[i].events & HL_POLLIN) ? POLLIN : 0) |
                                    ((fds[i].events & HL_POLLOUT) ? POLLOUT : 0));
        scratch[i].revents = 0;
    }
#if defined(_WIN32)
    r = WSAPoll(scratch, (ULONG)n, timeout_ms);
#else
    r = poll(scratch, (nfds_t)n, timeout_ms);
    if (r < 0 && errno == EINTR) r = 0; /* a signal ends the wait: the caller's loop decides */
#endif
    if (r < 0) return HL_E_IO;
    for (i = 0; i < n; i++) {
        short re = scratch[i].revents;
        fds[i].revents = ((re & (POLLIN | POLLHUP)) ? HL_POLLIN : 0u) |
                         ((re & POLLOUT) ? HL_POLLOUT : 0u) |
                         ((re & (POLLERR | POLLNVAL)) ? HL_POLLERR : 0u);
    }
    return r;
}

/* The default resolver: getaddrinfo, which blocks (a hook replaces it). */
static int hl__sys_resolve(void *user, const char *host, uint16_t port, hl_addr *out, int max)
{
    struct addrinfo hints, *res = NULL, *ai;
    char service[8];
    int n = 0;
    (void)user;
    HL_MEMSET(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hl__fmt(service, sizeof service, "%u", (unsigned)port);
    if (getaddrinfo(host, service, &hints, &res) != 0 || !res) return HL_E_DNS;
    for (ai = res; ai && n < max; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof out[n].bytes) continue;
        HL_MEMCPY(out[n].bytes, ai->ai_addr, ai->ai_addrlen);
        out[n].len = (uint32_t)ai->ai_addrlen;
        n++;
    }
    freeaddrinfo(res);
    return n > 0 ? n : HL_E_DNS;
}

/* A readable name for a system error code, into out. */
static void hl__sys_strerror(int e, char *out, size_t cap)
{
#if defined(_WIN32)
    hl__fmt(out, cap, "WSA error %d", e);
#else
    hl__fmt(out, cap, "%s", strerror(e));
#endif
}
