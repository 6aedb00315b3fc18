/* outbox.c: messages the switch will send once the log records for them
 * are committed. route.c fills it while handling a pass of received
 * messages; loop.c commits the log and then flushes it. What a full pipe
 * will not take waits in the session's outq (outq.c); past its budget a
 * query is failed back with ST busy and anything else recorded as
 * undelivered; a send that finds the connection gone ends its session
 * after the flush. Nothing is lost silently. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "lex_error.h"
#include "logline.h"
#include "s2s.h"

#define OUTBOX_KEEP_BYTES (8u << 20) /* a flushed outbox keeps at most this much */

int lex_outbox_append(outbox_t *ob, size_t first_cap, const outmsg_t *like, const void *env,
                      size_t env_len, const void *body, size_t body_len)
{
    if (ob->count == ob->cap) {
        size_t cap = ob->cap ? ob->cap * 2 : first_cap;
        outmsg_t *grown = realloc(ob->msgs, cap * sizeof *grown);
        if (!grown)
            return LEX_ENOMEM;
        ob->msgs = grown;
        ob->cap = cap;
    }
    outmsg_t *m = &ob->msgs[ob->count];
    *m = *like;
    m->env_off = ob->data.len;
    m->env_len = env_len;
    m->body_off = m->env_off + env_len;
    m->body_len = body_len;
    if (lex_buf_append(&ob->data, env, env_len) != 0 ||
        lex_buf_append(&ob->data, body, body_len) != 0)
        return LEX_ENOMEM;
    ob->count++;
    return 0;
}

int lex_outbox_add(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, uint64_t fid,
                   const void *env, size_t env_len, const void *body, size_t body_len)
{
    outmsg_t like = {.rid_len = rid_len, .fid = fid, .counts = 0};
    memcpy(like.rid, rid, rid_len);
    return lex_outbox_append(&sw->outbox, 256, &like, env, env_len, body, body_len);
}

/* A query the responder's queue would not take: with ROUTER_MANDATORY a
 * full queue answers EAGAIN instead of dropping, so the query is failed
 * back to its requester rather than lost. */
static int remember_bounce(lex_switch_t *sw, uint64_t fid)
{
    if (sw->nbounced == sw->bounced_cap) {
        size_t cap = sw->bounced_cap ? sw->bounced_cap * 2 : 64;
        uint64_t *grown = realloc(sw->bounced, cap * sizeof *grown);
        if (!grown)
            return LEX_ENOMEM;
        sw->bounced = grown;
        sw->bounced_cap = cap;
    }
    sw->bounced[sw->nbounced++] = fid;
    return 0;
}

/* Moves src's messages to the end of dst (a swap when dst is empty). */
int lex_outbox_take(outbox_t *dst, outbox_t *src)
{
    if (dst->count == 0) {
        lex_buf_reset(&dst->data);
        outbox_t t = *dst;
        *dst = *src;
        *src = t;
        return 0;
    }
    int rc = 0;
    for (size_t i = 0; i < src->count && rc == 0; i++) {
        const outmsg_t *m = &src->msgs[i];
        rc = lex_outbox_append(dst, 256, m, src->data.data + m->env_off, m->env_len,
                               src->data.data + m->body_off, m->body_len);
    }
    src->count = 0;
    lex_buf_reset(&src->data);
    return rc;
}

void lex_outbox_flush(lex_switch_t *sw)
{
    lex_outbox_flush_box(sw, &sw->outbox);
}

int lex_outbox_note_gone(lex_switch_t *sw, const uint8_t *rid, size_t rid_len)
{
    for (size_t i = 0; i < sw->ngone; i++)
        if (sw->gone[i].len == rid_len && memcmp(sw->gone[i].rid, rid, rid_len) == 0)
            return 0;
    if (sw->ngone == sw->gone_cap) {
        size_t cap = sw->gone_cap ? sw->gone_cap * 2 : 16;
        void *grown = realloc(sw->gone, cap * sizeof *sw->gone);
        if (!grown)
            return LEX_ENOMEM;
        sw->gone = grown;
        sw->gone_cap = cap;
    }
    memcpy(sw->gone[sw->ngone].rid, rid, rid_len);
    sw->gone[sw->ngone++].len = rid_len;
    return 0;
}

/* A message its connection's pipe would not take: it waits in the
 * session's outq; over that budget a query is failed back with ST busy
 * and anything else is recorded as undelivered. */
static void queue_or_refuse(lex_switch_t *sw, session_t *s, const outmsg_t *m, const char *d)
{
    if (s && lex_outq_push(sw, s, m, d) == 0)
        return;
    if (m->fid && remember_bounce(sw, m->fid) == 0)
        return; /* the requester gets ST busy (lex_route_fail_bounced) */
    lex_route_undelivered(sw, m->rid, m->rid_len, d + m->env_off, m->env_len);
}

void lex_outbox_count_sent(lex_switch_t *sw, int counts)
{
    if (counts == 1)
        sw->stats.forwarded++;
    else if (counts == 2)
        sw->stats.statuses++;
}

void lex_outbox_flush_box(lex_switch_t *sw, outbox_t *ob)
{
    if (sw->nbacklogged)
        lex_outq_retry(sw); /* what waited goes first */
    for (size_t i = 0; i < ob->count; i++) {
        outmsg_t *m = &ob->msgs[i];
        const char *d = ob->data.data;
        if (lex_upstream_is_rid(m->rid, m->rid_len)) {
            if (lex_upstream_send(sw, d + m->env_off, m->env_len, d + m->body_off,
                                  m->body_len) == 0) {
                lex_outbox_count_sent(sw, m->counts);
                continue;
            }
            if (m->fid && zmq_errno() == EAGAIN && remember_bounce(sw, m->fid) == 0)
                continue;
            sw->stats.send_failures++;
            continue;
        }
        session_t *s = lex_session_find(sw, m->rid, m->rid_len);
        if (s && lex_outq_waiting(s)) {
            queue_or_refuse(sw, s, m, d); /* behind what waits, in order */
            continue;
        }
        if (zmq_send(sw->router, m->rid, m->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
            zmq_send(sw->router, d + m->env_off, m->env_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
            zmq_send(sw->router, d + m->body_off, m->body_len, ZMQ_DONTWAIT) >= 0) {
            lex_outbox_count_sent(sw, m->counts);
            continue;
        }
        int why = zmq_errno();
        if (why == EAGAIN) {
            queue_or_refuse(sw, s, m, d);
            continue;
        }
        if (why == EHOSTUNREACH && s)
            lex_outbox_note_gone(sw, m->rid, m->rid_len); /* ended after this flush */
        sw->stats.send_failures++;
        if (sw->stats.send_failures < 10 || sw->cfg.verbose)
            lex_logline_write(LEX_LOG_WARN, "could not deliver a message (%s); "
                            "%llu undeliverable so far",
                    zmq_strerror(why), (unsigned long long)sw->stats.send_failures);
    }
    ob->count = 0;
    /* a burst of large messages (a pass of photos) must not keep its
     * memory for the switch's lifetime */
    if (ob->data.cap > OUTBOX_KEEP_BYTES)
        lex_buf_free(&ob->data);
    else
        lex_buf_reset(&ob->data);
}

void lex_outbox_free(outbox_t *ob)
{
    free(ob->msgs);
    lex_buf_free(&ob->data);
    memset(ob, 0, sizeof *ob);
}
