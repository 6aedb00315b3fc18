/* admin_status.c: the switch's answer to an operator's status request (SSQ
 * -> SSR, docs/PROTOCOL.md "Switch status"): counters, counts over the last
 * window for rates, queues, and the connected nodes. Only an operations
 * desk (an ORI of family OPS) may ask when the switch has a directory.
 * Request and answer are logged like every other message, with an access
 * record naming the operator's key; the answer holds ORIs of nodes, never
 * anyone's query or record. An operator key of one state gets that state's
 * share only (access.c, lex_operator_scope). */
#include <stdio.h>
#include <string.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_status.h"
#include "logline.h"
#include "review.h"
#include "switch_internal.h"

#define STATUS_SESSIONS_MAX 500   /* SSR.msg's limit; sessions_total has the rest */
#define STATUS_ORIS_MAX 8         /* per session; nori has the count */

/* Logs one outgoing message and queues it for after the commit. */
static void send_out(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, const char *conn,
                     const lex_envelope_t *env, const lex_buf_t *body, const char *decision,
                     int status)
{
    lex_buf_reset(&sw->scratch_env);
    if (lex_envelope_encode(env, &sw->scratch_env) != 0)
        return;
    if (lex_route_log_record(sw, LEX_DIR_OUT, conn, env->key, env->src,
                             env->ndst ? env->dst[0] : "", env->id, env->ref, decision, NULL,
                             status, sw->scratch_env.data, sw->scratch_env.len, body->data,
                             body->len) != 0)
        return;
    if (lex_outbox_add(sw, rid, rid_len, 0, sw->scratch_env.data, sw->scratch_env.len, body->data,
                       body->len) != 0)
        lex_logline_write(LEX_LOG_ERROR, "out of memory queueing a message");
    else if (status) /* counted once really sent */
        sw->outbox.msgs[sw->outbox.count - 1].counts = 2;
}

static void log_in(lex_switch_t *sw, const session_t *s, const lex_envelope_t *e,
                   const char *decision, int status, const void *env, size_t env_len,
                   const void *body, size_t body_len)
{
    lex_route_log_record(sw, LEX_DIR_IN, s->conn, e->key, e->src, NULL, e->id, 0, decision, NULL,
                         status, env, env_len, body, body_len);
}

static void answer_envelope(lex_switch_t *sw, const lex_envelope_t *q, const char *key,
                            lex_envelope_t *r)
{
    lex_envelope_init(r);
    r->id = ++sw->next_status_id;
    snprintf(r->key, sizeof r->key, "%s", key);
    snprintf(r->src, sizeof r->src, "LEXSWITCH");
    lex_envelope_add_dst(r, q->src);
    r->ref = q->id;
    snprintf(r->ctl, sizeof r->ctl, "%s", q->ctl);
    snprintf(r->purpose, sizeof r->purpose, "%s", q->purpose); /* echoed, as on every answer */
    r->ts_us = lex_now_us();
}

typedef struct {
    msgpack_packer *pk;
    size_t left;              /* sessions still to pack */
    uint64_t now_us;
    const char *scope;        /* only sessions of this state; NULL = all */
    size_t count;             /* sessions in scope (counting pass) */
} pack_sessions_t;

/* A session is in a state's share when it speaks for one of the state's
 * ORIs or answers for the state. */
static int session_in(const session_t *s, const char *state)
{
    if (!state)
        return 1;
    for (size_t i = 0; i < s->noris; i++)
        if (strncmp(s->oris[i], state, LEX_STATE_LEN) == 0)
            return 1;
    for (size_t i = 0; i < s->nstates; i++)
        if (strcmp(s->states[i], state) == 0)
            return 1;
    return 0;
}

static void count_session(const void *key, size_t len, void *value, void *arg)
{
    (void)key;
    (void)len;
    pack_sessions_t *ps = arg;
    ps->count += session_in(value, ps->scope);
}

static size_t holds_in(lex_switch_t *sw, const char *state)
{
    size_t n = 0;
    for (lex_hold_t *h = lex_holds_first(sw->holds); h; h = h->next)
        n += !state || strcmp(h->state, state) == 0;
    return n;
}

static size_t flights_in(lex_switch_t *sw, const char *state)
{
    if (!state)
        return lex_flight_count(sw);
    size_t n = 0;
    for (const flight_t *f = sw->flight_head; f; f = f->next)
        n += strncmp(f->dest, state, LEX_STATE_LEN) == 0 ||
             strncmp(f->req_ori, state, LEX_STATE_LEN) == 0 || strcmp(f->rules_state, state) == 0;
    return n;
}

static void pack_strs(msgpack_packer *pk, const char *name, const char *first, size_t stride,
                      size_t n)
{
    lex_mp_pack_str(pk, name);
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        lex_mp_pack_str(pk, first + i * stride);
}

static void pack_session(const void *key, size_t len, void *value, void *arg)
{
    (void)key;
    (void)len;
    pack_sessions_t *ps = arg;
    const session_t *s = value;
    if (ps->left == 0 || !session_in(s, ps->scope))
        return;
    ps->left--;
    msgpack_packer *pk = ps->pk;
    msgpack_pack_map(pk, 8);
    lex_mp_pack_kv_str(pk, "conn", s->conn);
    lex_mp_pack_kv_str(pk, "role", s->role);
    size_t shown = s->noris < STATUS_ORIS_MAX ? s->noris : STATUS_ORIS_MAX;
    pack_strs(pk, "oris", s->noris ? s->oris[0] : "", sizeof s->oris[0], shown);
    lex_mp_pack_kv_uint(pk, "nori", s->noris);
    pack_strs(pk, "states", s->states[0], sizeof s->states[0], s->nstates);
    pack_strs(pk, "keys", s->keys[0], sizeof s->keys[0], s->nkeys);
    lex_mp_pack_kv_uint(pk, "in_flight", s->open_flights);
    uint64_t idle = ps->now_us > s->last_heard_us ? ps->now_us - s->last_heard_us : 0;
    lex_mp_pack_kv_uint(pk, "idle_ms", idle / 1000u);
}

/* A state operator's share (scope a state): its sessions, holds and
 * flights; the switch-wide counters and the log go to national operators
 * only (docs/PROTOCOL.md "Switch status"). */
static void pack_scoped(lex_switch_t *sw, int with_sessions, const char *scope, lex_buf_t *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lex_buf_write);
    msgpack_pack_map(&pk, 7 + (with_sessions != 0));
    lex_mp_pack_kv_str(&pk, "scope", scope);
    lex_mp_pack_str(&pk, "log_full"); /* why the state's queries may be refused */
    if (sw->log_full)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    lex_mp_pack_kv_uint(&pk, "uptime_s", (lex_now_us() - sw->stats.started_wall_us) / 1000000u);
    lex_mp_pack_str(&pk, "draining");
    if (sw->draining)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    lex_mp_pack_kv_uint(&pk, "in_flight", flights_in(sw, scope));
    lex_mp_pack_kv_uint(&pk, "held", holds_in(sw, scope));
    pack_sessions_t ps = {&pk, 0, lex_mono_us(), scope, 0};
    lex_table_each(sw->sessions_by_rid, count_session, &ps);
    lex_mp_pack_kv_uint(&pk, "sessions_total", ps.count);
    if (with_sessions) {
        ps.left = ps.count < STATUS_SESSIONS_MAX ? ps.count : STATUS_SESSIONS_MAX;
        lex_mp_pack_str(&pk, "sessions");
        msgpack_pack_array(&pk, ps.left);
        lex_table_each(sw->sessions_by_rid, pack_session, &ps);
    }
}

static void pack_status(lex_switch_t *sw, int with_sessions, lex_buf_t *out)
{
    const stats_t *st = &sw->stats;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lex_buf_write);
    msgpack_pack_map(&pk, 22 + (with_sessions != 0));
    lex_mp_pack_kv_str(&pk, "scope", "national");
    lex_mp_pack_kv_uint(&pk, "uptime_s", (lex_now_us() - st->started_wall_us) / 1000000u);
    lex_mp_pack_str(&pk, "draining");
    if (sw->draining)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    lex_mp_pack_kv_uint(&pk, "received", st->received);
    lex_mp_pack_kv_uint(&pk, "forwarded", st->forwarded);
    lex_mp_pack_kv_uint(&pk, "statuses", st->statuses);
    lex_mp_pack_kv_uint(&pk, "rejected", st->refused);
    lex_mp_pack_kv_uint(&pk, "malformed", st->bad_frames);
    lex_mp_pack_kv_uint(&pk, "timeouts", st->timeouts);
    lex_mp_pack_kv_uint(&pk, "send_failures", st->send_failures);
    uint64_t ms, rin, rout;
    lex_stats_window(sw, &ms, &rin, &rout);
    lex_mp_pack_kv_uint(&pk, "window_ms", ms);
    lex_mp_pack_kv_uint(&pk, "received_window", rin);
    lex_mp_pack_kv_uint(&pk, "forwarded_window", rout);
    lex_mp_pack_kv_uint(&pk, "in_flight", lex_flight_count(sw));
    lex_mp_pack_kv_uint(&pk, "held", lex_holds_count(sw->holds));
    lex_mp_pack_kv_uint(&pk, "log_seq", lex_log_last_seq(sw->log));
    lex_mp_pack_kv_uint(&pk, "log_commits", st->log_commits);
    lex_mp_pack_kv_uint(&pk, "log_records", st->log_records);
    lex_mp_pack_str(&pk, "log_full"); /* diskwatch.c: below the disk reserve */
    if (sw->log_full)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    lex_mp_pack_kv_uint(&pk, "disk_free_mb", sw->disk_free_bytes >> 20);
    lex_mp_pack_kv_uint(&pk, "log_full_refused", st->log_full_refused);
    size_t total = lex_table_count(sw->sessions_by_rid);
    lex_mp_pack_kv_uint(&pk, "sessions_total", total);
    if (with_sessions) {
        size_t n = total < STATUS_SESSIONS_MAX ? total : STATUS_SESSIONS_MAX;
        lex_mp_pack_str(&pk, "sessions");
        msgpack_pack_array(&pk, n);
        pack_sessions_t ps = {&pk, n, lex_mono_us(), NULL, 0};
        lex_table_each(sw->sessions_by_rid, pack_session, &ps);
    }
}

void lex_admin_status(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, session_t *s,
                      const lex_envelope_t *e, const void *env, size_t env_len,
                      const void *body, size_t body_len)
{
    lex_envelope_t r;
    const lex_agency_t *a = sw->directory ? lex_directory_find(sw->directory, e->src) : NULL;
    /* with CURVE the desk must also hold an operator key */
    if ((sw->directory && (!a || strcmp(a->family, "OPS") != 0)) ||
        (s->bind && s->bind->role != LEX_KEY_OPERATOR)) {
        sw->stats.refused++;
        log_in(sw, s, e, "refuse", LEX_ST_NOT_AUTHORISED, env, env_len, body, body_len);
        answer_envelope(sw, e, "ST", &r);
        lex_buf_reset(&sw->scratch_body);
        char text[96];
        snprintf(text, sizeof text, "%s is not an operations desk (family OPS, operator key)",
                 e->src);
        lex_status_body(&sw->scratch_body, LEX_ST_NOT_AUTHORISED, text);
        send_out(sw, rid, rid_len, s->conn, &r, &sw->scratch_body, "status",
                 LEX_ST_NOT_AUTHORISED);
        return;
    }
    int with_sessions = 1;
    msgpack_unpacked up;
    if (body_len && lex_body_parse(body, body_len, &up) == 0) {
        const msgpack_object *o = lex_mp_get(&up.data, "sessions");
        if (o && o->type == MSGPACK_OBJECT_BOOLEAN)
            with_sessions = o->via.boolean;
        msgpack_unpacked_destroy(&up);
    }
    char scope[LEX_STATE_LEN + 1];
    int national = lex_operator_scope(s, scope);
    log_in(sw, s, e, "status", 0, env, env_len, body, body_len);
    lex_operator_access(sw, s, e, "status", with_sessions ? "sessions" : "counters", scope);
    answer_envelope(sw, e, "SSR", &r);
    lex_buf_reset(&sw->scratch_body);
    if (national)
        pack_status(sw, with_sessions, &sw->scratch_body);
    else
        pack_scoped(sw, with_sessions, scope, &sw->scratch_body);
    send_out(sw, rid, rid_len, s->conn, &r, &sw->scratch_body, "operator", 0);
}
