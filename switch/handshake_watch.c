/* handshake_watch.c: handshakes that fail before the authenticator is
 * asked. A peer that offers no CURVE, or encrypts to a wrong switch key,
 * never reaches ZAP (zap.c), so libzmq's socket monitor on the ROUTER is
 * the one place that sees it. Each failure is counted, and written to the
 * audit log and the log lines, at most a few times per peer address a
 * minute (a node with a bad key retries every 100 ms, and a flood must not
 * fill the log). The events are drained on every pass of the loop: an
 * unread monitor would in the end stall libzmq's I/O thread. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <zmq.h>
#include "lex_error.h"
#include "lex_status.h"
#include "logline.h"
#include "switch_internal.h"

#define MONITOR_ENDPOINT "inproc://lexswitch.handshakes"
#define PEERS_MAX 1024             /* addresses with a rate bucket */
#define PEER_BURST 5.0             /* records per address at once */
#define PEER_REFILL_US 12000000.0  /* then one per 12 s (5 a minute) */
#define ALL_BURST 50.0             /* records from every address together */
#define ALL_REFILL_US 1000000.0    /* then one a second */
#define ADDR_MAX 96

typedef struct {
    char key[ADDR_MAX];        /* what the rate is kept for: an IP, or a local uid */
    double tokens;
    uint64_t refilled_us;
    uint64_t suppressed;       /* failures not written since the last record */
} bucket_t;

struct lex_handshake_watch {
    void *sock;                /* PAIR connected to the ROUTER's monitor */
    uv_poll_t poll;
    int polling;
    lex_table_t *by_fd;        /* accepted fd -> char[ADDR_MAX * 2] (address, then rate key) */
    int pending_event;         /* a HANDSHAKE_FAILED_* waiting for its DISCONNECTED */
    uint32_t pending_value;
    bucket_t peers[PEERS_MAX];
    size_t npeers;
    double all_tokens;
    uint64_t all_refilled_us;
};

int lex_handshake_watch_open(lex_switch_t *sw, char *err, size_t errlen)
{
    struct lex_handshake_watch *w = calloc(1, sizeof *w);
    if (!w || !(w->by_fd = lex_table_new())) {
        free(w);
        snprintf(err, errlen, "out of memory");
        return LEX_ENOMEM;
    }
    sw->handshakes = w;
    w->all_tokens = ALL_BURST;
    /* a socket has one monitor: conn_limits.c reads it and hands every
     * event here (lex_handshake_watch_event) */
    return 0;
}

int lex_handshake_watch_start(lex_switch_t *sw, uv_poll_cb on_readable)
{
    struct lex_handshake_watch *w = sw->handshakes;
    if (!w || !w->sock)
        return 0;
    int fd;
    size_t size = sizeof fd;
    if (zmq_getsockopt(w->sock, ZMQ_FD, &fd, &size) != 0 ||
        uv_poll_init(&sw->loop, &w->poll, fd) != 0)
        return LEX_EUV;
    w->poll.data = sw;
    w->polling = 1;
    return uv_poll_start(&w->poll, UV_READABLE, on_readable) == 0 ? 0 : LEX_EUV;
}

void lex_handshake_watch_stop(lex_switch_t *sw)
{
    struct lex_handshake_watch *w = sw->handshakes;
    if (w && w->polling) {
        uv_close((uv_handle_t *)&w->poll, NULL);
        w->polling = 0;
    }
}

static void free_entry(const void *key, size_t len, void *value, void *arg)
{
    (void)key;
    (void)len;
    (void)arg;
    free(value);
}

void lex_handshake_watch_close(lex_switch_t *sw)
{
    struct lex_handshake_watch *w = sw->handshakes;
    if (!w)
        return;
    /* with a monitor of its own, stop it first: libzmq would otherwise
     * block sending an event to a PAIR nobody reads */
    if (sw->router && w->sock)
        zmq_socket_monitor(sw->router, NULL, 0);
    if (w->sock)
        zmq_close(w->sock);
    lex_table_each(w->by_fd, free_entry, NULL);
    lex_table_destroy(&w->by_fd);
    free(w);
    sw->handshakes = NULL;
}

/* The peer of an accepted connection: "1.2.3.4:5678" (rate key the IP) or,
 * on ipc, "pid P uid U" (rate key empty: the endpoint's). 0 when the
 * socket is gone (it closed before the loop read its accept). */
static int describe_peer(int fd, char *addr, char *key)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    char ip[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(addr, ADDR_MAX, "%s:%u", ip, ntohs(in->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(addr, ADDR_MAX, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else if (ss.ss_family == AF_UNIX) {
        struct ucred cred;
        socklen_t clen = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0)
            return -1;
        snprintf(addr, ADDR_MAX, "pid %d uid %u", (int)cred.pid, (unsigned)cred.uid);
        /* ip stays empty: local peers share the endpoint's rate */
    } else {
        return -1;
    }
    snprintf(key, ADDR_MAX, "%s", ip);
    return 0;
}

/* 1 when a record may be written for this rate key now; counts it either way. */
static int take_token(struct lex_handshake_watch *w, const char *key, uint64_t now,
                      uint64_t *suppressed)
{
    bucket_t *b = NULL;
    for (size_t i = 0; i < w->npeers; i++)
        if (strcmp(w->peers[i].key, key) == 0) {
            b = &w->peers[i];
            break;
        }
    if (!b) {
        if (w->npeers < PEERS_MAX) {
            b = &w->peers[w->npeers++];
        } else { /* forget the address heard from longest ago */
            b = &w->peers[0];
            for (size_t i = 1; i < w->npeers; i++)
                if (w->peers[i].refilled_us < b->refilled_us)
                    b = &w->peers[i];
        }
        memset(b, 0, sizeof *b);
        snprintf(b->key, sizeof b->key, "%s", key);
        b->tokens = PEER_BURST;
        b->refilled_us = now;
    }
    b->tokens += (double)(now - b->refilled_us) / PEER_REFILL_US;
    if (b->tokens > PEER_BURST)
        b->tokens = PEER_BURST;
    b->refilled_us = now;
    w->all_tokens += (double)(now - w->all_refilled_us) / ALL_REFILL_US;
    if (w->all_tokens > ALL_BURST)
        w->all_tokens = ALL_BURST;
    w->all_refilled_us = now;
    if (b->tokens < 1.0 || w->all_tokens < 1.0) {
        b->suppressed++;
        return 0;
    }
    b->tokens -= 1.0;
    w->all_tokens -= 1.0;
    *suppressed = b->suppressed;
    b->suppressed = 0;
    return 1;
}

int lex_handshake_may_record(lex_switch_t *sw, const char *rate_key, uint64_t *suppressed)
{
    *suppressed = 0;
    if (!sw->handshakes)
        return 1;
    if (take_token(sw->handshakes, rate_key, lex_mono_us(), suppressed))
        return 1;
    sw->stats.handshake_suppressed++;
    return 0;
}

static const char *reason_of(int event, uint32_t value, int *kind)
{
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
        value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        *kind = LEX_HANDSHAKE_NO_CURVE;
        return "the peer offered no CURVE (plain text, or another mechanism, to a CURVE "
               "endpoint)";
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
        value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC) {
        *kind = LEX_HANDSHAKE_BAD_KEY;
        return "the peer's CURVE handshake does not open with this switch's key (a wrong "
               "switch key, or a damaged handshake)";
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        /* whichever side reads the other's greeting first ends it: a peer
         * that offers no CURVE often hangs up before the switch can say so */
        *kind = LEX_HANDSHAKE_CLOSED;
        return "the peer hung up during the handshake (as one that offers no CURVE does on "
               "seeing the switch's CURVE greeting)";
    }
    *kind = LEX_HANDSHAKE_OTHER;
    return "the peer broke the handshake protocol";
}

static void failed(lex_switch_t *sw, int event, uint32_t value, const char *endpoint,
                   const char *entry)
{
    int kind;
    const char *reason = reason_of(event, value, &kind);
    sw->stats.handshake_failures[kind]++;
    const char *addr = entry ? entry : "";
    const char *key = entry && entry[ADDR_MAX] ? entry + ADDR_MAX : endpoint;
    uint64_t suppressed = 0;
    if (!lex_handshake_may_record(sw, key, &suppressed))
        return;
    char text[400];
    char detail[80] = "";
    if (kind == LEX_HANDSHAKE_OTHER)
        snprintf(detail, sizeof detail, " (protocol error %#x)", (unsigned)value);
    else if (kind == LEX_HANDSHAKE_CLOSED && value)
        snprintf(detail, sizeof detail, " (%s)", strerror((int)value));
    int n = snprintf(text, sizeof text, "handshake from %s on %s failed: %s%s",
                     addr[0] ? addr : "an unknown peer", endpoint, reason, detail);
    if (suppressed && n > 0 && (size_t)n < sizeof text)
        snprintf(text + n, sizeof text - (size_t)n,
                 "; %llu more from this peer were not recorded",
                 (unsigned long long)suppressed);
    lex_logline_write(LEX_LOG_WARN, "%s", text);
    lex_route_log_record(sw, LEX_DIR_IN, addr[0] ? addr : endpoint, "CURVE", "", "", 0, 0,
                         "refuse", "", LEX_ST_HANDSHAKE_FAILED, "", 0, text, strlen(text));
}

void lex_handshake_watch_event(lex_switch_t *sw, int event, uint32_t value,
                               const char *endpoint)
{
    struct lex_handshake_watch *w = sw->handshakes;
    if (!w)
        return;
    int fd = (int)value;
    if (event == ZMQ_EVENT_ACCEPTED) {
        char *entry = calloc(2, ADDR_MAX);
        free(lex_table_del(w->by_fd, &fd, sizeof fd)); /* a stale one: the fd was reused */
        if (!entry || describe_peer(fd, entry, entry + ADDR_MAX) != 0 ||
            lex_table_put(w->by_fd, &fd, sizeof fd, entry) != 0)
            free(entry);
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        char *entry = lex_table_del(w->by_fd, &fd, sizeof fd);
        if (w->pending_event && w->pending_event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            failed(sw, w->pending_event, w->pending_value, endpoint, entry);
        w->pending_event = 0;
        free(entry);
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        /* the authenticator refused the key: zap.c has written that record */
        sw->stats.handshake_failures[LEX_HANDSHAKE_AUTH]++;
        w->pending_event = event;
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
               event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        /* a failure is followed at once by its connection's DISCONNECTED
         * (one I/O thread), which names the connection */
        w->pending_event = event;
        w->pending_value = value;
    }
}

/* One monitor event from a monitor of its own: frame 1 is a 16-bit event
 * and a 32-bit value, frame 2 the endpoint (for a bound socket, its own
 * address). */
static int handle_one(lex_switch_t *sw)
{
    struct lex_handshake_watch *w = sw->handshakes;
    zmq_msg_t head, addr;
    zmq_msg_init(&head);
    zmq_msg_init(&addr);
    int rc = 0;
    if (zmq_msg_recv(&head, w->sock, ZMQ_DONTWAIT) < 0) {
        rc = LEX_EAGAIN;
        goto done;
    }
    if (!zmq_msg_more(&head) || zmq_msg_recv(&addr, w->sock, 0) < 0 ||
        zmq_msg_size(&head) < 6)
        goto done;
    uint16_t event;
    uint32_t value;
    memcpy(&event, zmq_msg_data(&head), 2);
    memcpy(&value, (char *)zmq_msg_data(&head) + 2, 4);
    char endpoint[ADDR_MAX];
    size_t elen = zmq_msg_size(&addr) < sizeof endpoint - 1 ? zmq_msg_size(&addr)
                                                             : sizeof endpoint - 1;
    memcpy(endpoint, zmq_msg_data(&addr), elen);
    endpoint[elen] = 0;
    lex_handshake_watch_event(sw, event, value, endpoint);
done:
    zmq_msg_close(&head);
    zmq_msg_close(&addr);
    return rc;
}

void lex_handshake_watch_pump(lex_switch_t *sw)
{
    struct lex_handshake_watch *w = sw->handshakes;
    if (!w || !w->sock)
        return;
    for (int i = 0; i < 1024; i++) {
        int events = 0;
        size_t size = sizeof events;
        if (zmq_getsockopt(w->sock, ZMQ_EVENTS, &events, &size) != 0 ||
            !(events & ZMQ_POLLIN))
            return;
        if (handle_one(sw) != 0)
            return;
    }
}
