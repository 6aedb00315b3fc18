/* session_claim.c: one live session per ORI (docs/PROTOCOL.md, "Session",
 * "One session per ORI"). A HELLO naming an ORI that another connection
 * holds gets ST ori-in-use unless the holder is gone: libzmq has dropped
 * its connection (a probe on the ROUTER finds no route), or it is the same
 * key and has been silent longer than two heartbeats. Every takeover is
 * logged, written to the audit log and counted; nothing is moved silently.
 * Operator connections hold their desk ORI per connection, outside the
 * ORI table, so several can be open at once and none displaces a node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "lex_envelope.h"
#include "lex_status.h"
#include "logline.h"
#include "s2s.h"

int lex_session_is_operator(const session_t *s)
{
    if (s->peer || strcmp(s->role, "operator") != 0)
        return 0;
    /* with CURVE the key decides: a node key calling itself an operator
     * holds its ORIs like any node */
    return !s->bind || s->bind->role == LEX_KEY_OPERATOR;
}

/* 1 when libzmq no longer has a connection for the session's routing id:
 * its TCP or ipc connection closed (process killed, socket closed). A
 * heartbeat is the probe: harmless to a live node, EHOSTUNREACH from the
 * ROUTER (ZMQ_ROUTER_MANDATORY) for one that is gone. */
static int connection_gone(lex_switch_t *sw, const session_t *s)
{
    if (s->peer == LEX_PEER_UPSTREAM)
        return 0; /* our own link: upstream.c watches it */
    int events = 0;
    size_t size = sizeof events;
    /* ZMQ_EVENTS makes the socket take in its pending commands, among them
     * the ends of connections libzmq has seen close */
    zmq_getsockopt(sw->router, ZMQ_EVENTS, &events, &size);
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = ++sw->next_status_id;
    strcpy(env.key, "HB");
    strcpy(env.src, LEX_SWITCH_ORI);
    env.ts_us = lex_now_us();
    lex_buf_reset(&sw->scratch_env);
    if (lex_envelope_encode(&env, &sw->scratch_env) != 0)
        return 0;
    if (zmq_send(sw->router, s->rid, s->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return zmq_errno() == EHOSTUNREACH;
    zmq_send(sw->router, sw->scratch_env.data, sw->scratch_env.len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(sw->router, "", 0, ZMQ_DONTWAIT);
    return 0;
}

/* Why the holder of an ORI counts as gone, or NULL while it is live. */
static const char *holder_gone(lex_switch_t *sw, const session_t *holder, const char *peer_key,
                               uint64_t now_us)
{
    if (connection_gone(sw, holder))
        return "its connection closed";
    uint64_t silent_after = 2 * (uint64_t)sw->cfg.heartbeat_ms * 1000u;
    if (strcmp(holder->peer_key, peer_key) == 0 && now_us > holder->last_heard_us &&
        now_us - holder->last_heard_us > silent_after)
        return "the same key, and the old session was silent for over two heartbeats";
    return NULL;
}

/* Ends a session whose ORI a new connection takes: log line, audit
 * record, metric; its open queries get node-lost. */
static void take_over(lex_switch_t *sw, session_t *old, const char *ori, const char *new_conn,
                      const char *why)
{
    char text[2 * LEX_CONN_MAX + 200], more[48] = "";
    if (old->noris > 1)
        snprintf(more, sizeof more, " (and %zu more)", old->noris - 1);
    snprintf(text, sizeof text, "ORI %s%s taken over from connection %s by %s: %s", ori, more,
             old->conn, new_conn, why);
    sw->stats.takeovers++;
    lex_logline_write(LEX_LOG_WARN, "session takeover: %s", text);
    lex_route_log_record(sw, LEX_DIR_IN, new_conn, "HELLO", ori, "", 0, 0, "takeover", "", 0,
                         NULL, 0, text, strlen(text));
    lex_route_fail_flights_of(sw, old);
    lex_session_remove(sw, old);
}

int lex_session_claim(lex_switch_t *sw, const session_t *s, const uint8_t *rid, size_t rid_len,
                      const char *conn, char *why, size_t whylen)
{
    if (lex_session_is_operator(s))
        return 0;
    uint64_t now = lex_mono_us();
    /* first decide for every ORI, so that a refused HELLO ends nothing */
    for (size_t i = 0; i < s->noris; i++) {
        session_t *holder = lex_session_by_ori(sw, s->oris[i]);
        if (!holder || (holder->rid_len == rid_len && memcmp(holder->rid, rid, rid_len) == 0))
            continue;
        if (!holder_gone(sw, holder, s->peer_key, now)) {
            uint64_t idle_ms = now > holder->last_heard_us ? (now - holder->last_heard_us) / 1000 : 0;
            snprintf(why, whylen, "ORI %s is held by the live connection %s (heard %llu ms ago)",
                     s->oris[i], holder->conn, (unsigned long long)idle_ms);
            return LEX_ST_ORI_IN_USE;
        }
    }
    for (size_t i = 0; i < s->noris; i++) {
        session_t *holder = lex_session_by_ori(sw, s->oris[i]);
        if (!holder || (holder->rid_len == rid_len && memcmp(holder->rid, rid, rid_len) == 0))
            continue;
        const char *gone = holder_gone(sw, holder, s->peer_key, now);
        take_over(sw, holder, s->oris[i], conn, gone ? gone : "gone");
    }
    return 0;
}
