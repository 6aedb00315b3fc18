/* conn_limits.c: connections as a resource. At start the descriptor limit
 * is raised to its hard limit and the connection cap derived from it (a
 * reserve stays for the audit log, the metrics endpoint and the switch's
 * own sockets); conn_gate.c holds libzmq to that cap at accept. The
 * ROUTER's monitor says when a connection opens and closes: a closed
 * connection ends its session as soon as what it sent has been read, and
 * one that has no session
 * (never sent HELLO, or lost it) is closed after hello_timeout_ms.
 * docs/OPERATIONS.md, "Limits", says what an operator sees. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <zmq.h>
#include "conn_gate.h"
#include "lex_error.h"
#include "logline.h"
#include "switch_internal.h"

#define NOFILE_CEILING 1048576   /* Linux's default fs.nr_open */
#define RESERVE_BASE 64          /* descriptors the switch keeps for itself ... */
#define RESERVE_SHARE 16         /* ... plus one in this many of the limit ... */
#define RESERVE_SHARE_MAX 1024   /* ... up to this many (max_connections may use them) */
#define SCAN_US 100000u          /* HELLO deadlines are looked at this often */
#define REFUSAL_LOG_US 10000000u /* refusals are summed up in one line this often */

typedef struct {
    uint64_t deadline_us;      /* closed then unless a session holds it */
    uint32_t gen;              /* which accept this is (descriptors are reused) */
    uint8_t open;              /* accepted, not yet seen closed */
    uint8_t closing;           /* shut down by us; libzmq will notice */
    uint8_t early;             /* opened by lex_conns_bind before its ACCEPTED was read */
    session_t *s;              /* the session registered on it, or NULL */
} conn_t;

struct lex_conns {
    void *mon;                 /* PAIR reading the ROUTER's monitor */
    conn_t *by_fd;             /* indexed by descriptor */
    size_t nby_fd;
    uint32_t next_gen;
    uint64_t accepted_seen;    /* ACCEPTED events read */
    unsigned long admitted_last;  /* the gate's count at the last tick */
    long nofile, nofile_before, cap;
    uint64_t hello_timeouts;
    uint64_t next_scan_us;
    uint64_t refusal_logged_us;
    unsigned long refused_logged;
};

static int raise_nofile(long *before, long *now)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return LEX_EIO;
    *before = rl.rlim_cur == RLIM_INFINITY ? NOFILE_CEILING : (long)rl.rlim_cur;
    rlim_t want = rl.rlim_max;
    if (want == RLIM_INFINITY || want > NOFILE_CEILING)
        want = NOFILE_CEILING;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = old;
    }
    *now = rl.rlim_cur == RLIM_INFINITY ? NOFILE_CEILING : (long)rl.rlim_cur;
    return 0;
}

static long reserve_for(long nofile)
{
    long share = nofile / RESERVE_SHARE;
    return RESERVE_BASE + (share < RESERVE_SHARE_MAX ? share : RESERVE_SHARE_MAX);
}

int lex_conns_open(lex_switch_t *sw, char *err, size_t errlen)
{
    struct lex_conns *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return LEX_ENOMEM;
    }
    sw->conns = c;
    if (raise_nofile(&c->nofile_before, &c->nofile) != 0) {
        snprintf(err, errlen, "cannot read the descriptor limit: %s", strerror(errno));
        return LEX_EIO;
    }
    /* by default the whole reserve; an operator who knows the log's needs
     * may set max_connections into its share, never into its base */
    long fit = c->nofile - reserve_for(c->nofile);
    long most = c->nofile - RESERVE_BASE;
    if (most < 1) {
        most = c->nofile / 4 > 0 ? c->nofile / 4 : 1;
        lex_logline_write(LEX_LOG_WARN, "descriptor limit %ld leaves almost nothing for "
                          "connections: raise it (ulimit -n, LimitNOFILE=)", c->nofile);
    }
    if (fit < 1 || fit > most)
        fit = most;
    c->cap = sw->cfg.max_connections > 0 ? sw->cfg.max_connections : fit;
    if (c->cap > most) {
        lex_logline_write(LEX_LOG_WARN, "max_connections %d does not fit the descriptor limit "
                          "%ld: at most %ld connections", sw->cfg.max_connections, c->nofile, most);
        c->cap = most;
    }
    lex_logline_write(LEX_LOG_INFO, "descriptors: limit %ld%s; up to %ld connections, %ld kept "
                      "for the audit log, metrics and the switch", c->nofile,
                      c->nofile > c->nofile_before ? " (raised to the hard limit)" : "", c->cap,
                      c->nofile - c->cap);

    /* a peer that never finishes the ZMTP/CURVE handshake is dropped by
     * libzmq; one that finishes it and never says HELLO, by the tick */
    int ivl = sw->cfg.hello_timeout_ms;
    /* libzmq's pipe in messages; the rest waits in the session's outq,
     * counted in bytes (docs/OPERATIONS.md, "Limits") */
    int hwm = sw->cfg.conn_queue_bytes / 32768;
    hwm = hwm < 64 ? 64 : hwm > 4096 ? 4096 : hwm;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://lexswitch-monitor-%p", (void *)sw);
    int zero = 0;
    if (zmq_setsockopt(sw->router, ZMQ_HANDSHAKE_IVL, &ivl, sizeof ivl) != 0 ||
        zmq_setsockopt(sw->router, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        /* the socket's one monitor: handshake_watch.c gets its events too */
        zmq_socket_monitor(sw->router, ep,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
        !(c->mon = zmq_socket(sw->zctx, ZMQ_PAIR)) ||
        /* no limit on our side: libzmq's I/O thread blocks on a full monitor */
        zmq_setsockopt(c->mon, ZMQ_RCVHWM, &zero, sizeof zero) != 0 ||
        zmq_connect(c->mon, ep) != 0) {
        snprintf(err, errlen, "cannot watch the ROUTER's connections: %s",
                 zmq_strerror(zmq_errno()));
        return LEX_EZMQ;
    }
    lex_gate_start(c->cap);
    return 0;
}

int lex_conns_monitor_fd(lex_switch_t *sw)
{
    int fd = -1;
    size_t size = sizeof fd;
    if (!sw->conns || zmq_getsockopt(sw->conns->mon, ZMQ_FD, &fd, &size) != 0)
        return -1;
    return fd;
}

static conn_t *slot(struct lex_conns *c, int fd)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= c->nby_fd) {
        size_t n = c->nby_fd ? c->nby_fd : 256;
        while (n <= (size_t)fd)
            n *= 2;
        conn_t *grown = realloc(c->by_fd, n * sizeof *grown);
        if (!grown)
            return NULL;
        memset(grown + c->nby_fd, 0, (n - c->nby_fd) * sizeof *grown);
        c->by_fd = grown;
        c->nby_fd = n;
    }
    return &c->by_fd[fd];
}

static void accepted(lex_switch_t *sw, int fd)
{
    struct lex_conns *c = sw->conns;
    c->accepted_seen++;
    conn_t *k = slot(c, fd);
    if (!k)
        return;
    if (k->open && k->early) { /* the event for the entry bind made: keep its session */
        k->early = 0;
        return;
    }
    memset(k, 0, sizeof *k);
    k->open = 1;
    k->gen = ++c->next_gen;
    k->deadline_us = lex_mono_us() + (uint64_t)sw->cfg.hello_timeout_ms * 1000u;
}

static void disconnected(lex_switch_t *sw, int fd)
{
    struct lex_conns *c = sw->conns;
    conn_t *k = fd >= 0 && (size_t)fd < c->nby_fd ? &c->by_fd[fd] : NULL;
    if (!k || !k->open)
        return;
    k->open = 0;
    lex_gate_closed(1);
    session_t *s = k->s;
    k->s = NULL;
    /* ended once the ROUTER is drained: what it sent before it closed
     * (answers, a BYE) is still waiting to be read */
    if (s && s->conn_fd == fd && s->conn_gen == k->gen && !k->closing)
        lex_outbox_note_gone(sw, s->rid, s->rid_len);
}

void lex_conns_pump(lex_switch_t *sw)
{
    struct lex_conns *c = sw->conns;
    if (!c)
        return;
    for (;;) {
        zmq_msg_t ev, ep;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, c->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        zmq_msg_init(&ep);
        if (zmq_msg_more(&ev))
            zmq_msg_recv(&ep, c->mon, 0);
        if (zmq_msg_size(&ev) >= 6) {
            uint16_t event;
            uint32_t value;
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (char *)zmq_msg_data(&ev) + 2, 4);
            char endpoint[128];
            size_t elen = zmq_msg_size(&ep) < sizeof endpoint - 1 ? zmq_msg_size(&ep)
                                                                  : sizeof endpoint - 1;
            memcpy(endpoint, zmq_msg_data(&ep), elen);
            endpoint[elen] = 0;
            if (event == ZMQ_EVENT_ACCEPTED)
                accepted(sw, (int)value);
            lex_handshake_watch_event(sw, event, value, endpoint); /* CURVE only */
            if (event == ZMQ_EVENT_DISCONNECTED)
                disconnected(sw, (int)value);
        }
        zmq_msg_close(&ep);
        zmq_msg_close(&ev);
    }
}

/* Shuts the connection down: libzmq reads its end, closes it and tells
 * the monitor. The descriptor is libzmq's; it is only ever shut, never
 * closed, here. */
static int close_fd(struct lex_conns *c, int fd)
{
    struct stat st;
    conn_t *k = fd >= 0 && (size_t)fd < c->nby_fd ? &c->by_fd[fd] : NULL;
    if (!k || !k->open || k->closing || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
        return LEX_ENOTFOUND;
    k->closing = 1;
    shutdown(fd, SHUT_RDWR);
    return 0;
}

void lex_conns_bind(lex_switch_t *sw, session_t *s, int fd)
{
    struct lex_conns *c = sw->conns;
    s->conn_fd = -1;
    if (!c || fd < 0)
        return;
    if ((size_t)fd >= c->nby_fd || !c->by_fd[fd].open)
        lex_conns_pump(sw); /* its ACCEPTED may still wait in the monitor */
    conn_t *k = slot(c, fd);
    if (!k)
        return;
    if (!k->open) { /* not seen yet (libzmq reports it first; this is a fallback) */
        accepted(sw, fd);
        c->accepted_seen--;
        k->early = 1;
    }
    k->s = s;
    s->conn_fd = fd;
    s->conn_gen = k->gen;
}

void lex_conns_forget_session(lex_switch_t *sw, session_t *s)
{
    lex_outq_free(sw, s);
    struct lex_conns *c = sw->conns;
    if (!c || s->conn_fd < 0 || (size_t)s->conn_fd >= c->nby_fd)
        return;
    conn_t *k = &c->by_fd[s->conn_fd];
    if (k->s == s) {
        /* the connection stays; without a session it has until the deadline */
        k->s = NULL;
        k->deadline_us = lex_mono_us() + (uint64_t)sw->cfg.hello_timeout_ms * 1000u;
    }
}

int lex_conns_close(lex_switch_t *sw, const session_t *s)
{
    struct lex_conns *c = sw->conns;
    if (!c || s->conn_fd < 0 || (size_t)s->conn_fd >= c->nby_fd ||
        c->by_fd[s->conn_fd].gen != s->conn_gen)
        return LEX_ENOTFOUND;
    return close_fd(c, s->conn_fd);
}

static void log_refusals(lex_switch_t *sw, uint64_t now_us)
{
    struct lex_conns *c = sw->conns;
    lex_gate_counts_t g;
    lex_gate_counts(&g);
    unsigned long refused = g.refused_cap + g.refused_fd;
    if (refused == c->refused_logged ||
        (c->refusal_logged_us && now_us - c->refusal_logged_us < REFUSAL_LOG_US))
        return;
    lex_logline_write(LEX_LOG_WARN, "refused %lu new connections (%lu at the cap of %ld "
                      "connections, %lu out of descriptors); %ld open, existing sessions are "
                      "served", refused - c->refused_logged, g.refused_cap, g.cap, g.refused_fd,
                      g.live);
    c->refused_logged = refused;
    c->refusal_logged_us = now_us;
}

void lex_conns_tick(lex_switch_t *sw, uint64_t now_us)
{
    struct lex_conns *c = sw->conns;
    if (!c)
        return;
    lex_conns_pump(sw);
    log_refusals(sw, now_us);
    if (now_us < c->next_scan_us)
        return;
    c->next_scan_us = now_us + SCAN_US;
    /* admitted by the gate but never reported by libzmq (it closed them
     * itself): counted as closed once the gate has been quiet a scan */
    lex_gate_counts_t g;
    lex_gate_counts(&g);
    if (g.admitted == c->admitted_last && g.admitted > c->accepted_seen) {
        lex_gate_closed((long)(g.admitted - c->accepted_seen));
        c->accepted_seen = g.admitted;
    }
    c->admitted_last = g.admitted;
    unsigned closed = 0;
    for (size_t fd = 0; fd < c->nby_fd; fd++) {
        conn_t *k = &c->by_fd[fd];
        if (!k->open || k->closing || k->s || now_us < k->deadline_us)
            continue;
        if (close_fd(c, (int)fd) == 0) {
            c->hello_timeouts++;
            closed++;
        } else {
            k->open = 0; /* not a socket any more: libzmq let it go unseen */
            lex_gate_closed(1);
        }
    }
    if (closed)
        lex_logline_write(LEX_LOG_WARN, "closed %u connection%s that held no session for %d ms "
                          "(no HELLO, or the session ended); %llu so far", closed,
                          closed == 1 ? "" : "s", sw->cfg.hello_timeout_ms,
                          (unsigned long long)c->hello_timeouts);
}

void lex_conns_counts(const lex_switch_t *sw, uint64_t out[6])
{
    lex_gate_counts_t g;
    lex_gate_counts(&g);
    const struct lex_conns *c = sw->conns;
    out[0] = g.live > 0 ? (uint64_t)g.live : 0;
    out[1] = c ? (uint64_t)c->cap : 0;
    out[2] = g.refused_cap;
    out[3] = g.refused_fd;
    out[4] = c ? c->hello_timeouts : 0;
    out[5] = c ? (uint64_t)c->nofile : 0;
}

void lex_conns_destroy(lex_switch_t *sw)
{
    struct lex_conns *c = sw->conns;
    if (!c)
        return;
    lex_gate_stop();
    if (c->mon) {
        zmq_socket_monitor(sw->router, NULL, 0);
        zmq_close(c->mon);
    }
    free(c->by_fd);
    free(c);
    sw->conns = NULL;
}
