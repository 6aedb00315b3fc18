/* outq.c: each session's own queue in front of libzmq's. libzmq's pipe to
 * a connection holds a few messages (ZMQ_SNDHWM, set by conn_limits.c);
 * what it will not take waits here, in order, counted in bytes. Past
 * conn_queue_bytes the connection counts as full: queries to it and from
 * it get ST busy, messages for it are recorded as undelivered, and if it
 * stays full for conn_stuck_ms its session is dropped and the connection
 * closed. A reader that keeps up never sees any of this: its pipe drains
 * and what waited goes out on the next turn of the loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "lex_error.h"
#include "logline.h"
#include "switch_internal.h"

struct lex_outq {
    outbox_t box;              /* messages in order; [head, count) still to send */
    size_t head;
    size_t bytes;              /* envelope + body bytes waiting */
    int full;                  /* a message was refused for the budget */
    uint64_t full_since_us;    /* monotonic, while full */
};

int lex_outq_full(const lex_switch_t *sw, const session_t *s)
{
    (void)sw;
    return s->outq && s->outq->full;
}

int lex_outq_waiting(const session_t *s)
{
    return s->outq && s->outq->head < s->outq->box.count;
}

static int track(lex_switch_t *sw, session_t *s)
{
    if (sw->nbacklogged == sw->backlogged_cap) {
        size_t cap = sw->backlogged_cap ? sw->backlogged_cap * 2 : 16;
        session_t **grown = realloc(sw->backlogged, cap * sizeof *grown);
        if (!grown)
            return LEX_ENOMEM;
        sw->backlogged = grown;
        sw->backlogged_cap = cap;
    }
    sw->backlogged[sw->nbacklogged++] = s;
    return 0;
}

int lex_outq_push(lex_switch_t *sw, session_t *s, const outmsg_t *from, const char *data)
{
    const char *env = data + from->env_off, *body = data + from->body_off;
    size_t env_len = from->env_len, body_len = from->body_len;
    struct lex_outq *q = s->outq;
    if (!q) {
        if (!(q = calloc(1, sizeof *q)))
            return LEX_ENOMEM;
        if (track(sw, s) != 0) {
            free(q);
            return LEX_ENOMEM;
        }
        s->outq = q;
    }
    if (q->bytes + env_len + body_len > (size_t)sw->cfg.conn_queue_bytes) {
        if (!q->full) {
            q->full = 1;
            q->full_since_us = lex_mono_us();
            lex_logline_write(LEX_LOG_WARN, "node %s (%s, ORI %s) is not reading: %zu bytes wait "
                              "for it (conn_queue_bytes %d); queries to and from it get busy",
                              s->conn, s->role, s->noris ? s->oris[0] : "-", q->bytes,
                              sw->cfg.conn_queue_bytes);
        }
        return LEX_EAGAIN;
    }
    outmsg_t like = *from;
    like.rid_len = 0; /* the session's own */
    if (lex_outbox_append(&q->box, 64, &like, env, env_len, body, body_len) != 0)
        return LEX_ENOMEM;
    q->bytes += env_len + body_len;
    return 0;
}

/* Sends from the head of s's queue until the pipe is full; 1 when empty. */
static int drain(lex_switch_t *sw, session_t *s)
{
    struct lex_outq *q = s->outq;
    const char *d = q->box.data.data;
    while (q->head < q->box.count) {
        const outmsg_t *m = &q->box.msgs[q->head];
        if (zmq_send(sw->router, s->rid, s->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(sw->router, d + m->env_off, m->env_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(sw->router, d + m->body_off, m->body_len, ZMQ_DONTWAIT) < 0) {
            if (zmq_errno() == EHOSTUNREACH)
                lex_outbox_note_gone(sw, s->rid, s->rid_len);
            break;
        }
        lex_outbox_count_sent(sw, m->counts);
        q->bytes -= m->env_len + m->body_len;
        q->head++;
    }
    if (q->full && q->bytes <= (size_t)sw->cfg.conn_queue_bytes / 2) {
        q->full = 0;
        lex_logline_write(LEX_LOG_INFO, "node %s reads again (%zu bytes wait)", s->conn,
                          q->bytes);
    }
    if (q->head < q->box.count)
        return 0;
    q->head = q->box.count = 0;
    lex_buf_reset(&q->box.data);
    return !q->full;
}

static void untrack(lex_switch_t *sw, session_t *s)
{
    for (size_t i = 0; i < sw->nbacklogged; i++)
        if (sw->backlogged[i] == s) {
            sw->backlogged[i] = sw->backlogged[--sw->nbacklogged];
            return;
        }
}

void lex_outq_free(lex_switch_t *sw, session_t *s)
{
    struct lex_outq *q = s->outq;
    if (!q)
        return;
    untrack(sw, s);
    for (size_t i = q->head; i < q->box.count; i++) {
        const outmsg_t *m = &q->box.msgs[i];
        lex_route_undelivered(sw, s->rid, s->rid_len, q->box.data.data + m->env_off, m->env_len);
    }
    lex_outbox_free(&q->box);
    free(q);
    s->outq = NULL;
}

void lex_outq_retry(lex_switch_t *sw)
{
    for (size_t i = 0; i < sw->nbacklogged;) {
        session_t *s = sw->backlogged[i];
        if (drain(sw, s)) {
            lex_outbox_free(&s->outq->box);
            free(s->outq);
            s->outq = NULL;
            sw->backlogged[i] = sw->backlogged[--sw->nbacklogged];
        } else {
            i++;
        }
    }
}

void lex_outq_tick(lex_switch_t *sw, uint64_t now_us)
{
    lex_outq_retry(sw);
    uint64_t limit = (uint64_t)sw->cfg.conn_stuck_ms * 1000u;
    for (size_t i = 0; i < sw->nbacklogged;) {
        session_t *s = sw->backlogged[i];
        struct lex_outq *q = s->outq;
        if (q->full && now_us - q->full_since_us >= limit) {
            sw->stats.sessions_stuck++;
            char why[160];
            snprintf(why, sizeof why, "it read nothing for %d ms with its queue full (%zu bytes)",
                     sw->cfg.conn_stuck_ms, q->bytes);
            lex_route_end_session(sw, s, why, 1); /* removes it from the list */
            continue;
        }
        i++;
    }
}
