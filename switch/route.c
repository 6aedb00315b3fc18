/* route.c: what the switch does with each message (DESIGN.md, "A message's
 * trip"). It checks frames, envelope, sender and body; asks the destination
 * state's rules; opens a flight per forwarded query copy; matches responses
 * to flights; and answers every refusal with an ST status. Every message in
 * and every message out gets an audit record; outgoing messages wait in the
 * outbox until loop.c has committed those records. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_query_kind.h"
#include "lex_status.h"
#include "logline.h"
#include "s2s.h"

/* The switch's own ORI: the source of the statuses it makes. */
#define SWITCH_ORI "LEXSWITCH"

static const char *const decision_names[] = {"allow", "deny", "redact", "review"};

/* Both run several times per routed message: plain copies, no printf. */
static void conn_hex(const uint8_t *rid, size_t rid_len, char out[LEX_CONN_MAX + 1])
{
    static const char digits[] = "0123456789abcdef";
    size_t i = 0;
    for (; i < rid_len && 2 * i + 2 < LEX_CONN_MAX + 1; i++) {
        out[2 * i] = digits[rid[i] >> 4];
        out[2 * i + 1] = digits[rid[i] & 15];
    }
    out[2 * i] = 0;
}

/* As snprintf(dst, size, "%s", src): at most size - 1 bytes, always ended. */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = 0;
}

/* Appends one audit record; a failure here is fatal for the message, so it
 * is reported loudly and counted. */
int lex_route_log_record(lex_switch_t *sw, lex_direction_t dir, const char *conn, const char *key,
                       const char *src, const char *dst, uint64_t id, uint64_t ref,
                       const char *decision, const char *rule, int status, const void *env,
                       size_t env_len, const void *body, size_t body_len)
{
    lex_log_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.dir = dir;
    copy_str(rec.conn, sizeof rec.conn, conn);
    copy_str(rec.key, sizeof rec.key, key);
    copy_str(rec.src, sizeof rec.src, src);
    copy_str(rec.dst, sizeof rec.dst, dst);
    rec.msg_id = id;
    rec.ref = ref;
    copy_str(rec.decision, sizeof rec.decision, decision);
    copy_str(rec.rule_id, sizeof rec.rule_id, rule);
    rec.status = status;
    rec.envelope = env;
    rec.envelope_len = env_len;
    rec.body = body;
    rec.body_len = body_len;
    int rc = lex_log_append(sw->log, &rec);
    static lex_logline_limit_t append_lim; /* once per record would flood stderr */
    if (rc != 0)
        lex_logline_limited(&append_lim, 5, LEX_LOG_ERROR, "AUDIT LOG APPEND FAILED: %s",
                            lex_strerror(rc));
    return rc;
}

/* Queues a message for rid and logs it as outgoing; fid names the flight
 * of a forwarded query (0 otherwise). */
static void emit_for(lex_switch_t *sw, uint64_t fid, const uint8_t *rid, size_t rid_len, const char *conn,
                 const lex_envelope_t *env, const void *body, size_t body_len,
                 const char *log_src, const char *log_dst, const char *decision, const char *rule,
                 int status)
{
    lex_buf_reset(&sw->scratch_env);
    if (lex_envelope_encode(env, &sw->scratch_env) != 0) {
        lex_logline_write(LEX_LOG_ERROR, "out of memory encoding an envelope");
        return;
    }
    lex_route_log_record(sw, LEX_DIR_OUT, conn, env->key, log_src, log_dst, env->id, env->ref, decision, rule,
               status, sw->scratch_env.data, sw->scratch_env.len, body, body_len);
    if (lex_outbox_add(sw, rid, rid_len, fid, sw->scratch_env.data, sw->scratch_env.len, body,
                       body_len) != 0)
        lex_logline_write(LEX_LOG_ERROR, "out of memory queueing a message");
    else /* counted as forwarded or as a status once it is really sent */
        sw->outbox.msgs[sw->outbox.count - 1].counts = strcmp(env->key, "ST") == 0 ? 2 : 1;
}

#define emit(sw, ...) emit_for(sw, 0, __VA_ARGS__)

/* Whom a status goes to and what it echoes of the message it answers. */
typedef struct {
    const uint8_t *rid;
    size_t rid_len;
    const char *conn;          /* the connection, as the log names it */
    const char *to_ori;        /* the addressee; "" when unknown */
    uint64_t ref;              /* id of the message answered (0: none) */
    const char *ctl, *pur;     /* echoed from it */
    const char *dest;          /* the query destination it is about (body `dst`); NULL: none */
} reply_t;

/* A status made to read as a responder's answer through this switch. */
typedef struct {
    char src[LEX_ORI_LEN + 1]; /* the responder's ORI */
    uint32_t hops;             /* the hop its answer would carry */
    uint64_t delay_us;         /* held back this long (0: at once) */
} status_as_t;

static reply_t reply_to_msg(const uint8_t *rid, size_t rid_len, const char *conn,
                            const lex_envelope_t *e, const char *dest)
{
    return (reply_t){rid, rid_len, conn, e ? e->src : "", e ? e->id : 0, e ? e->ctl : "",
                     e ? e->purpose : "", dest};
}

static reply_t reply_to_flight(const flight_t *f, const char *conn)
{
    return (reply_t){f->rid, f->rid_len, conn, f->req_ori, f->req_id, f->ctl, f->purpose,
                     f->dest};
}

/* As emit, but the message waits in mimic.c until due_us (its record is
 * appended now, so it is committed before the message can leave). */
static void emit_held(lex_switch_t *sw, uint64_t due_us, const reply_t *r,
                      const lex_envelope_t *env, const void *body, size_t body_len,
                      const char *log_src, const char *decision, const char *rule, int status)
{
    lex_buf_reset(&sw->scratch_env);
    if (lex_envelope_encode(env, &sw->scratch_env) != 0) {
        lex_logline_write(LEX_LOG_ERROR, "out of memory encoding an envelope");
        return;
    }
    lex_route_log_record(sw, LEX_DIR_OUT, r->conn, env->key, log_src, r->to_ori, env->id,
                         env->ref, decision, rule, status, sw->scratch_env.data,
                         sw->scratch_env.len, body, body_len);
    if (lex_mimic_hold(sw, due_us, r->rid, r->rid_len, sw->scratch_env.data, sw->scratch_env.len,
                       body, body_len) != 0 &&
        lex_outbox_add(sw, r->rid, r->rid_len, 0, sw->scratch_env.data, sw->scratch_env.len, body,
                       body_len) != 0)
        lex_logline_write(LEX_LOG_ERROR, "out of memory queueing a message");
    sw->stats.statuses++;
}

/* Sends an ST (docs/PROTOCOL.md, "Status codes"): `pur` and `ctl` echoed,
 * body `dst` naming the destination when it is about one. as: NULL for the
 * switch speaking for itself. on_behalf is what the log names as the
 * status's source (a state whose rule refused, or the switch). */
static void status_out(lex_switch_t *sw, const reply_t *r, const status_as_t *as,
                       const char *on_behalf, int code, const char *decision, const char *rule,
                       const char *text)
{
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = ++sw->next_status_id;
    strcpy(env.key, "ST");
    copy_str(env.src, sizeof env.src, as ? as->src : SWITCH_ORI);
    if (r->to_ori && lex_ori_valid(r->to_ori))
        lex_envelope_add_dst(&env, r->to_ori);
    env.ref = r->ref;
    copy_str(env.ctl, sizeof env.ctl, r->ctl);
    copy_str(env.purpose, sizeof env.purpose, r->pur);
    env.hops = as ? as->hops : 0;
    uint64_t delay = as ? as->delay_us : 0;
    env.ts_us = lex_now_us() + delay; /* when it leaves, as a responder's would read */
    lex_buf_reset(&sw->scratch_body);
    lex_status_body_dst(&sw->scratch_body, code, text, r->dest);
    if (delay)
        emit_held(sw, lex_mono_us() + delay, r, &env, sw->scratch_body.data,
                  sw->scratch_body.len, on_behalf, decision, rule, code);
    else
        emit(sw, r->rid, r->rid_len, r->conn, &env, sw->scratch_body.data, sw->scratch_body.len,
             on_behalf, r->to_ori, decision, rule, code);
}

static void reply_status(lex_switch_t *sw, const reply_t *r, const char *on_behalf, int code,
                         const char *decision, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void reply_status(lex_switch_t *sw, const reply_t *r, const char *on_behalf, int code,
                         const char *decision, const char *rule, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    status_out(sw, r, NULL, on_behalf, code, decision, rule, text);
}

/* The older form: a status about no destination, with nothing but ctl to
 * echo. Prefer reply_status. */
static void send_status(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, const char *conn,
                        const char *to_ori, uint64_t ref, const char *ctl, const char *on_behalf,
                        int code, const char *decision, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 12, 13), unused));

static void send_status(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, const char *conn,
                        const char *to_ori, uint64_t ref, const char *ctl, const char *on_behalf,
                        int code, const char *decision, const char *rule, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    reply_t r = {rid, rid_len, conn, to_ori, ref, ctl, "", NULL};
    status_out(sw, &r, NULL, on_behalf, code, decision, rule, text);
}

/* A state's rule refused. A no-record reads as a real miss through this
 * switch would, field for field: the responder's ORI and hop, the same
 * words, and, refused at query time, sent after a delay drawn from the
 * state's responders' own answer times. answer: the responder's answer
 * when the rule refused that (its timing is already real), else NULL. */
static void send_denial(lex_switch_t *sw, const reply_t *r, const session_t *responder,
                        const char *state, const lex_envelope_t *answer,
                        const lex_decision_t *d)
{
    if (d->deny_status != LEX_ST_NO_RECORD) {
        reply_status(sw, r, state, d->deny_status, "deny", d->rule_id,
                     "%s: denied by the state's policy", r->dest ? r->dest : state);
        return;
    }
    status_as_t as = {{0}, 0, 0};
    if (answer) {
        copy_str(as.src, sizeof as.src, answer->src);
        as.hops = answer->hops + 1;
    } else {
        lex_mimic_plan(sw, state, responder, &as.delay_us, &as.hops, as.src);
    }
    status_out(sw, r, &as, state, LEX_ST_NO_RECORD, "deny", d->rule_id, LEX_NO_RECORD_TEXT);
}

/* Refuses a received message outright: one in-record, one ST back. */
static void refuse(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, const char *conn,
                   const lex_envelope_t *e, const void *env, size_t env_len, const void *body,
                   size_t body_len, int code, const char *fmt, const char *detail)
{
    char text[256];
    snprintf(text, sizeof text, fmt, detail ? detail : "");
    sw->stats.refused++;
    lex_route_log_record(sw, LEX_DIR_IN, conn, e && e->key[0] ? e->key : "?", e ? e->src : "",
               e && e->ndst ? e->dst[0] : "", e ? e->id : 0, e ? e->ref : 0, "refuse", "", code,
               env, env_len, body, body_len);
    reply_t r = reply_to_msg(rid, rid_len, conn, e, NULL);
    reply_status(sw, &r, SWITCH_ORI, code, "status", "", "%s", text);
}

/* 1 when a HELLO's src is one of the ORIs it registers (or, for a switch
 * that serves patterns, the switch's own name): a node may not introduce
 * itself as one ORI and register others. */
static int hello_names_src(const void *body, size_t body_len, const char *src)
{
    msgpack_unpacked up;
    if (lex_body_parse(body, body_len, &up) != 0)
        return 0;
    int found = lex_mp_get(&up.data, "serves") && strcmp(src, SWITCH_ORI) == 0;
    const msgpack_object *oris = lex_mp_get(&up.data, "oris");
    for (uint32_t i = 0; !found && oris && oris->type == MSGPACK_OBJECT_ARRAY &&
                         i < oris->via.array.size; i++)
        found = lex_mp_str_eq(&oris->via.array.ptr[i], src);
    msgpack_unpacked_destroy(&up);
    return found;
}

static void handle_hello(lex_switch_t *sw, const uint8_t *rid, size_t rid_len,
                         const char *peer_key, const char *conn, const lex_envelope_t *e,
                         const void *env, size_t env_len, const void *body, size_t body_len)
{
    char why[256];
    session_t *s = NULL;
    if (!hello_names_src(body, body_len, e->src)) {
        lex_logline_write(LEX_LOG_WARN, "HELLO from %s refused: src %s is not among its oris",
                          conn, e->src);
        refuse(sw, rid, rid_len, conn, e, env, env_len, body, body_len, LEX_ST_HELLO_REFUSED,
               "HELLO src %s is not one of the ORIs it registers (oris)", e->src);
        return;
    }
    int st = lex_session_register(sw, rid, rid_len, peer_key, body, body_len, &s, why, sizeof why);
    if (st != 0) {
        sw->stats.spoofed += st == LEX_ST_SPOOFED_ORI;
        sw->stats.ori_in_use += st == LEX_ST_ORI_IN_USE;
        /* the record of each is below; the log line thins out under a flood */
        if (++sw->stats.hello_refused <= 100 || sw->stats.hello_refused % 1000 == 0 ||
            sw->cfg.verbose)
            lex_logline_write(LEX_LOG_WARN, "HELLO from %s refused (%s): %s", conn,
                              lex_status_name(st), why);
        refuse(sw, rid, rid_len, conn, e, env, env_len, body, body_len, st, "%s", why);
        return;
    }
    lex_conns_bind(sw, s, sw->cur_srcfd);
    lex_route_log_record(sw, LEX_DIR_IN, s->conn, e->key, e->src, "", e->id, 0, "session", "", 0, env,
               env_len, body, body_len);
    lex_envelope_t w;
    lex_envelope_init(&w);
    w.id = ++sw->next_status_id;
    strcpy(w.key, "WELCOME");
    strcpy(w.src, SWITCH_ORI);
    lex_envelope_add_dst(&w, e->src);
    w.ref = e->id;
    w.ts_us = lex_now_us();
    lex_buf_reset(&sw->scratch_body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sw->scratch_body, lex_buf_write);
    msgpack_pack_map(&pk, 2);
    lex_mp_pack_kv_str(&pk, "session", s->conn);
    lex_mp_pack_kv_uint(&pk, "heartbeat_ms", (uint64_t)sw->cfg.heartbeat_ms);
    emit(sw, rid, rid_len, s->conn, &w, sw->scratch_body.data, sw->scratch_body.len, SWITCH_ORI,
         e->src, "session", "", 0);
    if (sw->cfg.verbose)
        lex_logline_write(LEX_LOG_INFO, "node %s registered (%s, %zu ORIs, %zu states)", s->conn,
                s->role, s->noris, s->nstates);
}

/* Per-destination outcome of a query. */
typedef struct {
    const char *rules_state;   /* "" when no state's rules apply */
    char rules_state_buf[LEX_STATE_LEN + 1];
    lex_decision_t decision;
    session_t *responder;
    int status;                /* 0 = forward, else ST code to the requester */
    const char *why;
} dest_plan_t;

static void plan_destination(lex_switch_t *sw, const session_t *from, const lex_envelope_t *e,
                             const char *dst, const lex_policy_subject_t *subject, dest_plan_t *p)
{
    memset(p, 0, sizeof *p);
    p->rules_state = "";
    if (strlen(dst) == LEX_STATE_LEN) {
        copy_str(p->rules_state_buf, sizeof p->rules_state_buf, dst);
        p->rules_state = p->rules_state_buf;
        p->responder = lex_session_for_state(sw, dst);
        if (!p->responder)
            p->responder = lex_peer_route(sw, dst, e->src, from);
    } else {
        p->responder = lex_session_by_ori(sw, dst);
        if (!p->responder)
            p->responder = lex_peer_route(sw, dst, e->src, from);
        const lex_agency_t *a = sw->directory ? lex_directory_find(sw->directory, dst) : NULL;
        if (!p->responder && sw->directory && !a) {
            p->status = LEX_ST_UNKNOWN_DEST;
            p->why = "destination ORI is not in the agency directory";
            return;
        }
        if (p->responder && p->responder->nstates > 0) {
            copy_str(p->rules_state_buf, sizeof p->rules_state_buf, p->responder->states[0]);
            p->rules_state = p->rules_state_buf;
        }
    }
    lex_policy_decide(sw->policy, p->rules_state, subject, &p->decision);
    lex_stats_count_decision(sw, e->key, p->decision.action);
    if (p->decision.action == LEX_ACT_DENY) {
        p->status = p->decision.deny_status;
    } else if (p->decision.action == LEX_ACT_REVIEW) {
        /* held whether or not a responder is there now: it may be later */
    } else if (!p->responder) {
        p->status = LEX_ST_NO_ROUTE;
        p->why = "no node is serving this destination";
    } else if (!lex_session_answers_key(p->responder, e->key)) {
        p->status = LEX_ST_NOT_SERVED;
        p->why = "the destination does not answer this message key";
    } else if (lex_outq_full(sw, p->responder)) {
        /* it is not reading what it was sent: more would only wait */
        sw->stats.busy++;
        p->status = LEX_ST_BUSY;
        p->why = "the destination is not reading its queue; try again later";
    } else if (p->responder->open_flights >= (uint64_t)sw->cfg.node_inflight_max) {
        /* a slow or stuck responder: refuse now rather than queue without end */
        sw->stats.busy++;
        p->status = LEX_ST_BUSY;
        p->why = "the destination has too many queries waiting; try again later";
    }
}

/* Opens a flight for one destination of a query and queues the copy for
 * the responder. */
static void forward_query(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, const char *conn,
                          const lex_envelope_t *e, const char *dest, const char *rules_state,
                          const char *answer_key, const char *kind, session_t *responder,
                          const void *body, size_t body_len, const char *decision,
                          const char *rule, int approved)
{
    flight_t *f = lex_flight_open(sw);
    if (!f) {
        reply_t r = reply_to_msg(rid, rid_len, conn, e, dest);
        reply_status(sw, &r, SWITCH_ORI, LEX_ST_INTERNAL, "status", "", "%s: out of memory",
                     dest);
        return;
    }
    memcpy(f->rid, rid, rid_len);
    f->rid_len = rid_len;
    f->req_id = e->id;
    copy_str(f->req_ori, sizeof f->req_ori, e->src);
    copy_str(f->dest, sizeof f->dest, dest);
    copy_str(f->rules_state, sizeof f->rules_state, rules_state);
    copy_str(f->key, sizeof f->key, e->key);
    copy_str(f->answer_key, sizeof f->answer_key, answer_key);
    copy_str(f->ctl, sizeof f->ctl, e->ctl);
    copy_str(f->purpose, sizeof f->purpose, e->purpose);
    copy_str(f->kind, sizeof f->kind, kind);
    f->approved = approved;
    f->responder = responder;
    responder->open_flights++;

    lex_envelope_t fwd = *e;
    fwd.id = f->fid;
    fwd.ndst = 0;
    lex_envelope_add_dst(&fwd, dest);
    fwd.ref = 0;
    fwd.hops = e->hops + 1;
    emit_for(sw, f->fid, responder->rid, responder->rid_len, responder->conn, &fwd, body, body_len,
             e->src, dest, decision, rule, 0);
}

/* A state's rule says review: the query is stored durably and the
 * requester told at once; an operator of the state decides later. */
static void hold_query(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, const char *conn,
                       const lex_envelope_t *e, const char *dest, const char *state,
                       const char *kind, const char *rule, const void *body, size_t body_len)
{
    lex_hold_t h;
    memset(&h, 0, sizeof h);
    copy_str(h.state, sizeof h.state, state);
    copy_str(h.dest, sizeof h.dest, dest);
    copy_str(h.req_ori, sizeof h.req_ori, e->src);
    h.req_id = e->id;
    copy_str(h.key, sizeof h.key, e->key);
    copy_str(h.kind, sizeof h.kind, kind);
    copy_str(h.purpose, sizeof h.purpose, e->purpose);
    copy_str(h.ctl, sizeof h.ctl, e->ctl);
    copy_str(h.rule_id, sizeof h.rule_id, rule);
    h.held_us = lex_now_us();
    h.expires_us = h.held_us + (uint64_t)sw->cfg.hold_expiry_s * 1000000u;
    h.body = (char *)body;
    h.body_len = body_len;
    reply_t r = reply_to_msg(rid, rid_len, conn, e, dest);
    if (lex_holds_add(sw->holds, &h) != 0) {
        reply_status(sw, &r, SWITCH_ORI, LEX_ST_INTERNAL, "status", "",
                     "%s: the query could not be held for review", dest);
        return;
    }
    reply_status(sw, &r, state, LEX_ST_HELD, "review", rule,
                 "%s: held for review by the state (hold %llu)", dest, (unsigned long long)h.id);
}

static void handle_query(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, session_t *s,
                         const lex_msgdef_t *def, const lex_envelope_t *e, const void *env,
                         size_t env_len, const void *body, size_t body_len)
{
    if (sw->draining) {
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_SHUTTING_DOWN,
               "%s", "the switch is shutting down");
        return;
    }
    if (lex_diskwatch_refuses(sw)) {
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_LOG_FULL, "%s",
               "the audit log's disk is below its reserve: no new queries for now");
        return;
    }
    if (e->ndst == 0) {
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_BAD_ENVELOPE,
               "%s", "a query must name at least one destination");
        return;
    }
    if (lex_outq_full(sw, s)) {
        /* its answers would have nowhere to go */
        sw->stats.busy++;
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_BUSY, "%s",
               "this connection is not reading its answers; read them and try again");
        return;
    }
    const char *kind = lex_query_kind(e->key, body, body_len);
    lex_policy_subject_t subject = {
        .ori = e->src,
        .agency = sw->directory ? lex_directory_find(sw->directory, e->src) : NULL,
        .key = e->key,
        .purpose = e->purpose,
        .kind = kind,
    };
    dest_plan_t plans[LEX_DEST_MAX];
    for (uint32_t i = 0; i < e->ndst; i++)
        plan_destination(sw, s, e, e->dst[i], &subject, &plans[i]);

    if (e->ndst == 1) {
        dest_plan_t *p = &plans[0];
        const char *decision = p->decision.action == LEX_ACT_DENY
                                   ? "deny"
                                   : p->status ? "refuse" : decision_names[p->decision.action];
        lex_route_log_record(sw, LEX_DIR_IN, s->conn, e->key, e->src, e->dst[0], e->id, 0, decision,
                   p->decision.rule_id, p->status, env, env_len, body, body_len);
    } else {
        lex_route_log_record(sw, LEX_DIR_IN, s->conn, e->key, e->src, "", e->id, 0, "fanout", "", 0, env,
                   env_len, body, body_len);
    }

    for (uint32_t i = 0; i < e->ndst; i++) {
        dest_plan_t *p = &plans[i];
        const char *on_behalf = p->rules_state[0] ? p->rules_state : e->dst[i];
        reply_t r = reply_to_msg(rid, rid_len, s->conn, e, e->dst[i]);
        if (p->decision.action == LEX_ACT_DENY) {
            send_denial(sw, &r, p->responder, on_behalf, NULL, &p->decision);
            continue;
        }
        if (p->status) {
            reply_status(sw, &r, SWITCH_ORI, p->status, "status", "", "%s: %s", e->dst[i],
                         p->why);
            continue;
        }
        if (p->decision.action == LEX_ACT_REVIEW) {
            hold_query(sw, rid, rid_len, s->conn, e, e->dst[i], p->rules_state, kind,
                       p->decision.rule_id, body, body_len);
            continue;
        }
        forward_query(sw, rid, rid_len, s->conn, e, e->dst[i], p->rules_state, def->pair, kind,
                      p->responder, body, body_len, decision_names[p->decision.action],
                      p->decision.rule_id, 0);
    }
}

static void handle_response(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, session_t *s,
                            const lex_envelope_t *e, const void *env, size_t env_len,
                            const void *body, size_t body_len)
{
    flight_t *f = e->ref ? lex_flight_find(sw, e->ref) : NULL;
    if ((!f || f->responder != s) && s->peer && strcmp(e->key, "ST") == 0) {
        /* a switch's status about something no longer open here (answered
         * or timed out): logged, never answered, or two switches would
         * trade statuses without end */
        lex_route_log_record(sw, LEX_DIR_IN, s->conn, e->key, e->src, "", e->id, e->ref, "refuse", "",
                   LEX_ST_UNSOLICITED, env, env_len, body, body_len);
        return;
    }
    if (!f || f->responder != s) {
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_UNSOLICITED,
               "%s", "this response answers no open query");
        return;
    }
    int is_status = strcmp(e->key, "ST") == 0;
    if (!is_status && strcmp(e->key, f->answer_key) != 0) {
        char why[64];
        snprintf(why, sizeof why, "%s does not answer %s", e->key, f->key);
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_BAD_ENVELOPE,
               "%s", why);
        return;
    }
    if (f->rules_state[0]) /* how this state's answers look and take: mimic.c */
        lex_mimic_observe(sw, f->rules_state, f->opened_us, e->hops, e->src);
    lex_policy_subject_t subject = {
        .ori = f->req_ori,
        .agency = sw->directory ? lex_directory_find(sw->directory, f->req_ori) : NULL,
        .key = f->key,
        .purpose = f->purpose,
        .kind = f->kind,
    };
    lex_decision_t d;
    lex_policy_decide(sw->policy, f->rules_state, &subject, &d);
    if (d.action == LEX_ACT_REVIEW) {
        /* an operator released this query: its answer goes through; a query
         * the rules began to hold only while it was in flight is refused */
        d.action = f->approved ? LEX_ACT_ALLOW : LEX_ACT_DENY;
        d.deny_status = LEX_ST_DENIED;
    }
    lex_stats_count_decision(sw, e->key, d.action);
    lex_stats_answered(sw, f);
    int code = 0; /* a status's code goes in its records (docs/LOG.md, `st`) */
    if (is_status && lex_status_parse(body, body_len, &code, NULL, 0) != 0)
        code = 0;
    lex_route_log_record(sw, LEX_DIR_IN, s->conn, e->key, e->src, f->req_ori, e->id, e->ref,
               decision_names[d.action], d.rule_id, code, env, env_len, body, body_len);

    const char *on_behalf = f->rules_state[0] ? f->rules_state : f->dest;
    /* conn of the out-record is the requester's connection */
    session_t *req = lex_session_find(sw, f->rid, f->rid_len);
    char conn[LEX_CONN_MAX + 1];
    conn_hex(f->rid, f->rid_len, conn);
    reply_t r = reply_to_flight(f, req ? req->conn : conn);
    if (d.action == LEX_ACT_DENY) {
        send_denial(sw, &r, s, on_behalf, e, &d);
        lex_flight_close(sw, f);
        return;
    }
    const void *out_body = body;
    size_t out_len = body_len;
    if (d.action == LEX_ACT_REDACT && !is_status) {
        lex_buf_reset(&sw->scratch_body);
        size_t removed = 0;
        if (lex_body_remove_fields(body, body_len, d.redact, d.nredact, &sw->scratch_body,
                                   &removed) != 0) {
            /* validated already, so only memory can fail: never leak the
             * unredacted body */
            reply_status(sw, &r, SWITCH_ORI, LEX_ST_INTERNAL, "status", "",
                         "%s: redaction failed", f->dest);
            lex_flight_close(sw, f);
            return;
        }
        out_body = sw->scratch_body.data;
        out_len = sw->scratch_body.len;
    } else if (is_status) {
        /* a responder's status in the switch's one shape, naming the
         * destination; a miss in the words every miss uses, so that a
         * rule's no-record (send_denial) reads the same */
        char text[257];
        lex_status_parse(body, body_len, &code, text, sizeof text);
        lex_buf_reset(&sw->scratch_body);
        lex_status_body_dst(&sw->scratch_body, code,
                            code == LEX_ST_NO_RECORD ? LEX_NO_RECORD_TEXT : text, f->dest);
        out_body = sw->scratch_body.data;
        out_len = sw->scratch_body.len;
    }
    lex_envelope_t fwd = *e;
    fwd.id = ++sw->next_status_id; /* every answer to a requester is numbered by the switch */
    fwd.ndst = 0;
    lex_envelope_add_dst(&fwd, f->req_ori);
    fwd.ref = f->req_id;
    fwd.hops = e->hops + 1;
    if (!fwd.ts_us)
        fwd.ts_us = lex_now_us();
    copy_str(fwd.ctl, sizeof fwd.ctl, f->ctl);
    copy_str(fwd.purpose, sizeof fwd.purpose, f->purpose);
    emit(sw, f->rid, f->rid_len, r.conn, &fwd, out_body, out_len, e->src, f->req_ori,
         decision_names[d.action], d.rule_id, code);
    lex_flight_close(sw, f);
}

static void handle_admin(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, session_t *s,
                         const lex_envelope_t *e, const void *env, size_t env_len,
                         const void *body, size_t body_len)
{
    if (e->ndst == 0) {
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_BAD_ENVELOPE,
               "%s", "an administrative message must name a destination");
        return;
    }
    lex_route_log_record(sw, LEX_DIR_IN, s->conn, e->key, e->src, e->ndst == 1 ? e->dst[0] : "", e->id, 0,
               "allow", "", 0, env, env_len, body, body_len);
    for (uint32_t i = 0; i < e->ndst; i++) {
        const char *dst = e->dst[i];
        session_t *to = strlen(dst) == LEX_STATE_LEN ? lex_session_for_state(sw, dst)
                                                      : lex_session_by_ori(sw, dst);
        if (!to)
            to = lex_peer_route(sw, dst, e->src, s);
        if (!to) {
            reply_t r = reply_to_msg(rid, rid_len, s->conn, e, dst);
            reply_status(sw, &r, SWITCH_ORI, LEX_ST_NO_ROUTE, "status", "",
                         "%s: no node is serving this destination", dst);
            continue;
        }
        lex_envelope_t fwd = *e;
        fwd.ndst = 0;
        lex_envelope_add_dst(&fwd, dst);
        fwd.hops = e->hops + 1;
        emit(sw, to->rid, to->rid_len, to->conn, &fwd, body, body_len, e->src, dst, "allow", "",
             0);
    }
}

/* The RVR answer to an operator's RVQ; entries is called to pack the holds. */
static void send_review_answer(lex_switch_t *sw, const uint8_t *rid, size_t rid_len,
                               const char *conn, const lex_envelope_t *q, lex_hold_t *only,
                               const char *state, int with_body, const char *fmt, ...)
{
    char result[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(result, sizeof result, fmt, ap);
    va_end(ap);
    lex_buf_reset(&sw->scratch_body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sw->scratch_body, lex_buf_write);
    size_t n = 0;
    int every = strcmp(state, "*") == 0; /* a national operator's list */
    for (lex_hold_t *h = lex_holds_first(sw->holds); h; h = h->next)
        n += only ? h == only : every || strcmp(h->state, state) == 0;
    if (n > 1000)
        n = 1000;
    msgpack_pack_map(&pk, 3);
    lex_mp_pack_str(&pk, "held");
    msgpack_pack_array(&pk, n);
    size_t packed = 0;
    for (lex_hold_t *h = lex_holds_first(sw->holds); h && packed < n; h = h->next) {
        if (only ? h != only : !every && strcmp(h->state, state) != 0)
            continue;
        const lex_agency_t *a = sw->directory ? lex_directory_find(sw->directory, h->req_ori) : NULL;
        msgpack_pack_map(&pk, with_body ? 12 : 11);
        lex_mp_pack_kv_uint(&pk, "id", h->id);
        lex_mp_pack_kv_str(&pk, "state", h->state);
        lex_mp_pack_kv_str(&pk, "requester", h->req_ori);
        lex_mp_pack_kv_str(&pk, "agency", a ? a->name : "");
        lex_mp_pack_kv_str(&pk, "family", a ? a->family : "");
        lex_mp_pack_kv_str(&pk, "key", h->key);
        lex_mp_pack_kv_str(&pk, "kind", h->kind);
        lex_mp_pack_kv_str(&pk, "purpose", h->purpose);
        lex_mp_pack_kv_str(&pk, "rule", h->rule_id);
        lex_mp_pack_kv_uint(&pk, "held_at", h->held_us / 1000000u);
        lex_mp_pack_kv_uint(&pk, "expires_at", h->expires_us / 1000000u);
        if (with_body) {
            lex_mp_pack_str(&pk, "query");
            if (h->body_len)
                lex_buf_append(&sw->scratch_body, h->body, h->body_len); /* already msgpack */
            else
                msgpack_pack_map(&pk, 0);
        }
        packed++;
    }
    lex_mp_pack_kv_uint(&pk, "count", n);
    lex_mp_pack_kv_str(&pk, "result", result);
    lex_envelope_t r;
    lex_envelope_init(&r);
    r.id = ++sw->next_status_id;
    strcpy(r.key, "RVR");
    strcpy(r.src, SWITCH_ORI);
    lex_envelope_add_dst(&r, q->src);
    r.ref = q->id;
    copy_str(r.ctl, sizeof r.ctl, q->ctl);
    copy_str(r.purpose, sizeof r.purpose, q->purpose);
    r.ts_us = lex_now_us();
    emit(sw, rid, rid_len, conn, &r, sw->scratch_body.data, sw->scratch_body.len, SWITCH_ORI,
         q->src, "operator", "", 0);
}

/* Releases a held query to its state's responder. 0, or why it stays held. */
static const char *approve_hold(lex_switch_t *sw, lex_hold_t *h, const char *operator_ori)
{
    session_t *req = lex_session_by_ori(sw, h->req_ori);
    if (!req)
        return "the requester is not connected; the query stays held";
    session_t *responder = strlen(h->dest) == LEX_STATE_LEN ? lex_session_for_state(sw, h->dest)
                                                             : lex_session_by_ori(sw, h->dest);
    if (!responder || !lex_session_answers_key(responder, h->key))
        return "no responder for this query is connected; the query stays held";
    const lex_msgdef_t *def = lex_catalogue_find(sw->catalogue, h->key);
    lex_envelope_t q;
    lex_envelope_init(&q);
    q.id = h->req_id;
    copy_str(q.key, sizeof q.key, h->key);
    copy_str(q.src, sizeof q.src, h->req_ori);
    copy_str(q.ctl, sizeof q.ctl, h->ctl);
    copy_str(q.purpose, sizeof q.purpose, h->purpose);
    q.ts_us = lex_now_us();
    /* copy what the flight needs before the hold is freed */
    lex_hold_t copy = *h;
    char *body = malloc(h->body_len ? h->body_len : 1);
    if (!body || !def) {
        free(body);
        return "out of memory; the query stays held";
    }
    memcpy(body, h->body, h->body_len);
    if (lex_holds_remove(sw->holds, h->id) != 0) {
        free(body);
        return "the hold could not be updated; the query stays held";
    }
    forward_query(sw, req->rid, req->rid_len, req->conn, &q, copy.dest, copy.state, def->pair,
                  copy.kind, responder, body, copy.body_len, "approve", operator_ori, 1);
    free(body);
    return NULL;
}

static void handle_operator(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, session_t *s,
                            const lex_envelope_t *e, const void *env, size_t env_len,
                            const void *body, size_t body_len)
{
    if (strcmp(e->key, "SSQ") == 0) {
        lex_admin_status(sw, rid, rid_len, s, e, env, env_len, body, body_len);
        return;
    }
    if (strcmp(e->key, "RVQ") != 0) {
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_BAD_ENVELOPE,
               "%s is sent by the switch, not by nodes", e->key);
        return;
    }
    msgpack_unpacked up;
    char op[16] = "", state[4] = "";
    uint64_t id = 0;
    if (lex_body_parse(body, body_len, &up) == 0) {
        lex_mp_str(lex_mp_get(&up.data, "op"), op, sizeof op);
        lex_mp_str(lex_mp_get(&up.data, "state"), state, sizeof state);
        lex_mp_uint(lex_mp_get(&up.data, "id"), &id);
        msgpack_unpacked_destroy(&up);
    }
    const lex_agency_t *a = sw->directory ? lex_directory_find(sw->directory, e->src) : NULL;
    /* a national operator sees every state's holds; deciding stays with
     * each state's own operators */
    char scope[LEX_STATE_LEN + 1];
    int sees_all = s->bind && lex_operator_scope(s, scope) &&
                   (strcmp(op, "list") == 0 || strcmp(op, "show") == 0);
    if (sees_all) {
        lex_hold_t *shown = strcmp(op, "show") == 0 ? lex_holds_find(sw->holds, id) : NULL;
        if (shown)
            copy_str(state, sizeof state, shown->state);
        else if (!state[0])
            copy_str(state, sizeof state, "*");
    }
    if (s->bind && !sees_all &&
        (s->bind->role != LEX_KEY_OPERATOR || strcmp(s->bind->state, state) != 0)) {
        /* with CURVE, only a state's own operator keys decide its holds */
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_NOT_AUTHORISED,
               "key '%s' is not an operator key of this state", s->bind->label);
        return;
    }
    if (!a || strcmp(a->family, "OPS") != 0 || (!sees_all && strcmp(a->home_state, state) != 0)) {
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_NOT_AUTHORISED,
               "%s is not a review desk of this state", e->src);
        return;
    }
    int listing = strcmp(op, "list") == 0;
    lex_hold_t *h = listing ? NULL : lex_holds_find(sw->holds, id);
    if (!listing && strcmp(op, "show") != 0 && strcmp(op, "approve") != 0 &&
        strcmp(op, "deny") != 0) {
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_BAD_BODY,
               "op '%s' is not list, show, approve or deny", op);
        return;
    }
    if (!listing && !h) {
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_NO_SUCH_HOLD,
               "%s", "no query is held with that id");
        return;
    }
    if (h && strcmp(h->state, state) != 0 && strcmp(state, "*") != 0) {
        /* another state's hold: its operators alone decide */
        refuse(sw, rid, rid_len, s->conn, e, env, env_len, body, body_len, LEX_ST_NOT_AUTHORISED,
               "that query is held for %s", h->state);
        return;
    }
    lex_route_log_record(sw, LEX_DIR_IN, s->conn, e->key, e->src, state, e->id, 0, op, "", 0, env, env_len,
               body, body_len);
    char cmd[32], filter[64];
    snprintf(cmd, sizeof cmd, "review %s", op);
    if (listing)
        snprintf(filter, sizeof filter, "state=%s", state);
    else
        snprintf(filter, sizeof filter, "state=%s id=%llu", state, (unsigned long long)id);
    lex_operator_access(sw, s, e, cmd, filter, strcmp(state, "*") == 0 ? "" : state);
    if (listing) {
        size_t n = 0;
        for (lex_hold_t *x = lex_holds_first(sw->holds); x; x = x->next)
            n += strcmp(state, "*") == 0 || strcmp(x->state, state) == 0;
        send_review_answer(sw, rid, rid_len, s->conn, e, NULL, state, 0, "%zu held for %s", n,
                           state);
        return;
    }
    if (strcmp(op, "show") == 0) {
        send_review_answer(sw, rid, rid_len, s->conn, e, h, state, 1, "hold %llu",
                           (unsigned long long)id);
        return;
    }
    if (strcmp(op, "approve") == 0) {
        const char *why = approve_hold(sw, h, e->src);
        send_review_answer(sw, rid, rid_len, s->conn, e, why ? h : NULL, state, 0,
                           why ? "hold %llu NOT approved: %s" : "hold %llu approved%s",
                           (unsigned long long)id, why ? why : ": query forwarded");
        return;
    }
    /* deny */
    lex_hold_t copy = *h;
    if (lex_holds_remove(sw->holds, id) != 0) {
        send_review_answer(sw, rid, rid_len, s->conn, e, h, state, 0,
                           "hold %llu could not be updated", (unsigned long long)id);
        return;
    }
    session_t *req = lex_session_by_ori(sw, copy.req_ori);
    if (req) {
        reply_t r = {req->rid, req->rid_len, req->conn, copy.req_ori, copy.req_id, copy.ctl,
                     copy.purpose, copy.dest};
        reply_status(sw, &r, copy.state, LEX_ST_DENIED, "deny", e->src,
                     "%s: denied after review", copy.dest);
    } else
        lex_route_log_record(sw, LEX_DIR_OUT, "", "ST", copy.state, copy.req_ori, 0, copy.req_id, "deny",
                   e->src, LEX_ST_DENIED, NULL, 0, NULL, 0);
    send_review_answer(sw, rid, rid_len, s->conn, e, NULL, "", 0, "hold %llu denied%s",
                       (unsigned long long)id, req ? "" : " (requester not connected)");
}

void lex_route_expire_holds(lex_switch_t *sw)
{
    uint64_t now = lex_now_us();
    lex_hold_t *h;
    while ((h = lex_holds_expired(sw->holds, now))) {
        lex_hold_t copy = *h;
        if (lex_holds_remove(sw->holds, h->id) != 0)
            return; /* reported; tried again next tick */
        session_t *req = lex_session_by_ori(sw, copy.req_ori);
        if (req) {
            reply_t r = {req->rid, req->rid_len, req->conn, copy.req_ori, copy.req_id, copy.ctl,
                         copy.purpose, copy.dest};
            reply_status(sw, &r, copy.state, LEX_ST_EXPIRED, "expired", copy.rule_id,
                         "%s: not reviewed in time", copy.dest);
        } else
            lex_route_log_record(sw, LEX_DIR_OUT, "", "ST", copy.state, copy.req_ori, 0, copy.req_id,
                       "expired", copy.rule_id, LEX_ST_EXPIRED, NULL, 0, NULL, 0);
    }
}

/* Token bucket per session: 0 when the query may go, else LEX_EAGAIN. */
static int take_token(lex_switch_t *sw, session_t *s)
{
    if (sw->cfg.rate_limit <= 0 || s->peer)
        return 0; /* a switch carries many agencies: each is limited where it connects */
    uint64_t now = sw->pass_us ? sw->pass_us : lex_mono_us();
    if (s->refilled_us == 0) {
        s->tokens = sw->cfg.rate_burst;
    } else if (now > s->refilled_us) {
        s->tokens += (double)(now - s->refilled_us) * sw->cfg.rate_limit / 1e6;
        if (s->tokens > sw->cfg.rate_burst)
            s->tokens = sw->cfg.rate_burst;
    }
    s->refilled_us = now;
    if (s->tokens < 1.0)
        return LEX_EAGAIN;
    s->tokens -= 1.0;
    return 0;
}

void lex_route_log_refused_peer(lex_switch_t *sw, const char *address, const char *key_z85,
                                const char *why)
{
    /* no session exists to answer: the record is all there is, and the
     * client sees its handshake fail */
    lex_route_log_record(sw, LEX_DIR_IN, address, "CURVE", "", "", 0, 0, "refuse", "", LEX_ST_UNKNOWN_PEER,
               key_z85, strlen(key_z85), why, strlen(why));
}

void lex_route_fail_bounced(lex_switch_t *sw)
{
    for (size_t i = 0; i < sw->nbounced; i++) {
        flight_t *f = lex_flight_find(sw, sw->bounced[i]);
        if (!f)
            continue;
        sw->stats.busy++;
        session_t *req = lex_session_find(sw, f->rid, f->rid_len);
        char conn[LEX_CONN_MAX + 1];
        conn_hex(f->rid, f->rid_len, conn);
        reply_t r = reply_to_flight(f, req ? req->conn : conn);
        reply_status(sw, &r, f->dest, LEX_ST_BUSY, "status", "",
                     "%s: the destination's queue is full", f->dest);
        lex_flight_close(sw, f);
    }
    sw->nbounced = 0;
}

void lex_route_end_session(lex_switch_t *sw, session_t *s, const char *why, int close_conn)
{
    lex_logline_write(LEX_LOG_WARN, "node %s (%s, ORI %s) dropped: %s; %llu open queries get "
                      "node-lost", s->conn, s->role, s->noris ? s->oris[0] : "-", why,
                      (unsigned long long)s->open_flights);
    /* the record says the session ended and why (no BYE came from it) */
    lex_route_log_record(sw, LEX_DIR_OUT, s->conn, "BYE", LEX_SWITCH_ORI,
                         s->noris ? s->oris[0] : "", 0, 0, close_conn ? "dropped" : "conn-lost",
                         "", LEX_ST_NODE_LOST, NULL, 0, why, strlen(why));
    lex_route_fail_flights_of(sw, s);
    if (close_conn)
        lex_conns_close(sw, s);
    lex_session_remove(sw, s);
}

void lex_route_end_gone(lex_switch_t *sw)
{
    for (size_t i = 0; i < sw->ngone; i++) {
        session_t *s = lex_session_find(sw, sw->gone[i].rid, sw->gone[i].len);
        if (s) {
            sw->stats.sessions_lost++;
            lex_route_end_session(sw, s, "its connection closed", 0);
        }
    }
    sw->ngone = 0;
}

void lex_route_undelivered(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, const void *env,
                           size_t env_len)
{
    static uint64_t logged_us, logged_count;
    sw->stats.undelivered++;
    lex_envelope_t e;
    const char *field = "";
    char conn[LEX_CONN_MAX + 1];
    conn_hex(rid, rid_len, conn);
    if (lex_envelope_decode(env, env_len, &e, &field) != 0)
        lex_envelope_init(&e);
    /* the message's own out-record is committed; this one says it never left */
    lex_route_log_record(sw, LEX_DIR_OUT, conn, e.key[0] ? e.key : "?", e.src,
                         e.ndst ? e.dst[0] : "", e.id, e.ref, "undelivered", "", LEX_ST_BUSY, env,
                         env_len, NULL, 0);
    uint64_t now = lex_mono_us();
    if (logged_us == 0 || now - logged_us >= 10000000u) {
        lex_logline_write(LEX_LOG_WARN, "%llu messages undelivered since the last report: the "
                          "queue of connection %s is full (it does not read); %llu in all",
                          (unsigned long long)(sw->stats.undelivered - logged_count), conn,
                          (unsigned long long)sw->stats.undelivered);
        logged_us = now;
        logged_count = sw->stats.undelivered;
    }
}

void lex_route_message(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, const char *peer_key,
                       int nframes, const void *env, size_t env_len, const void *body,
                       size_t body_len)
{
    sw->stats.received++;
    session_t *s = lex_session_find(sw, rid, rid_len);
    char conn[LEX_CONN_MAX + 1];
    conn_hex(rid, rid_len, conn);
    if (s)
        s->last_heard_us = lex_mono_us();

    if (nframes != 2) {
        sw->stats.bad_frames++;
        char detail[64];
        snprintf(detail, sizeof detail, "%d", nframes);
        refuse(sw, rid, rid_len, conn, NULL, env, env_len, body, body_len, LEX_ST_BAD_FRAME,
               "expected 2 frames (envelope, body), got %s", detail);
        return;
    }
    if (env_len + body_len > LEX_MSG_MAX) {
        refuse(sw, rid, rid_len, conn, NULL, env, env_len < 4096 ? env_len : 0, NULL, 0,
               LEX_ST_TOO_LARGE, "message larger than %s bytes", "262144");
        return;
    }
    if (env_len > LEX_ENVELOPE_MAX) {
        refuse(sw, rid, rid_len, conn, NULL, NULL, 0, NULL, 0, LEX_ST_TOO_LARGE,
               "envelope larger than %s bytes", "2048");
        return;
    }
    if (s && strcmp(s->peer_key, peer_key) != 0) {
        /* a routing id reused by another key: never inherit its session */
        sw->stats.spoofed++;
        refuse(sw, rid, rid_len, conn, NULL, env, env_len, body, body_len, LEX_ST_SPOOFED_ORI,
               "%s", "this connection's key does not own the session");
        return;
    }
    lex_envelope_t e;
    const char *field = "";
    int rc = lex_envelope_decode(env, env_len, &e, &field);
    if (rc != 0) {
        sw->stats.bad_frames++;
        char detail[128];
        snprintf(detail, sizeof detail, "envelope%s%s: %s", field[0] ? " field " : "", field,
                 lex_strerror(rc));
        int code = lex_status_for_error(rc);
        if (code == LEX_ST_BAD_BODY)
            code = LEX_ST_BAD_ENVELOPE;
        lex_envelope_t *partial = e.src[0] && lex_ori_valid(e.src) ? &e : NULL;
        refuse(sw, rid, rid_len, conn, partial, env, env_len, body, body_len, code, "%s", detail);
        return;
    }
    lex_stats_count_key(sw, e.key);
    const lex_msgdef_t *def = lex_catalogue_find(sw->catalogue, e.key);
    if (!def) {
        refuse(sw, rid, rid_len, s ? s->conn : conn, &e, env, env_len, body, body_len,
               LEX_ST_UNKNOWN_KEY, "message key '%s' is not in the catalogue", e.key);
        return;
    }
    if (s && (def->cls == LEX_CLASS_QUERY || def->cls == LEX_CLASS_ADMIN ||
              def->cls == LEX_CLASS_OPERATOR) && take_token(sw, s) != 0) {
        sw->stats.rate_limited++;
        char rate[24];
        snprintf(rate, sizeof rate, "%d", sw->cfg.rate_limit);
        refuse(sw, rid, rid_len, s->conn, &e, env, env_len, body, body_len, LEX_ST_RATE_LIMITED,
               "more than %s queries a second from this connection", rate);
        return;
    }
    rc = lex_body_validate(def, body, body_len, &field);
    if (rc != 0) {
        char detail[160];
        snprintf(detail, sizeof detail, "%s body%s%s: %s", e.key, field[0] ? " field " : "", field,
                 lex_strerror(rc));
        refuse(sw, rid, rid_len, s ? s->conn : conn, &e, env, env_len, body, body_len,
               lex_status_for_error(rc), "%s", detail);
        return;
    }
    if (!s && peer_key[0] && !lex_directory_key(sw->directory, peer_key)) {
        /* admitted by the authenticator, then revoked by a directory reload */
        refuse(sw, rid, rid_len, conn, &e, env, env_len, body, body_len, LEX_ST_REVOKED, "%s",
               "this connection's key was removed from the directory");
        return;
    }
    if (strcmp(e.key, "HELLO") == 0) {
        handle_hello(sw, rid, rid_len, peer_key, conn, &e, env, env_len, body, body_len);
        return;
    }
    if (!s) {
        refuse(sw, rid, rid_len, conn, &e, env, env_len, body, body_len, LEX_ST_NOT_REGISTERED,
               "%s", "send HELLO before anything else");
        return;
    }
    if (!lex_session_owns_ori(sw, s, e.src) &&
        !(s->peer && lex_peer_owns(s, e.src, def->cls == LEX_CLASS_SESSION ||
                                                 def->cls == LEX_CLASS_STATUS))) {
        sw->stats.spoofed++;
        refuse(sw, rid, rid_len, s->conn, &e, env, env_len, body, body_len, LEX_ST_SPOOFED_ORI,
               "source ORI %s is not registered to this connection", e.src);
        return;
    }
    if (e.hops > LEX_HOPS_MAX && (def->cls == LEX_CLASS_QUERY || def->cls == LEX_CLASS_ADMIN)) {
        lex_logline_write(LEX_LOG_WARN, "%s %llu from %s passed %u switches: refused as a loop",
                          e.key, (unsigned long long)e.id, e.src, e.hops);
        char limit[16];
        snprintf(limit, sizeof limit, "%d", LEX_HOPS_MAX);
        refuse(sw, rid, rid_len, s->conn, &e, env, env_len, body, body_len, LEX_ST_LOOP,
               "passed more than %s switches: a routing loop", limit);
        return;
    }
    switch (def->cls) {
    case LEX_CLASS_SESSION:
        if (strcmp(e.key, "HB") == 0)
            return; /* liveness only; not logged */
        if (strcmp(e.key, "CP") == 0) {
            lex_witness_subscribe(sw, s, &e, env, env_len, body, body_len);
            return;
        }
        if (strcmp(e.key, "BYE") == 0) {
            lex_route_log_record(sw, LEX_DIR_IN, s->conn, e.key, e.src, "", e.id, 0, "session", "", 0, env,
                       env_len, body, body_len);
            lex_route_fail_flights_of(sw, s);
            lex_session_remove(sw, s);
            return;
        }
        refuse(sw, rid, rid_len, s->conn, &e, env, env_len, body, body_len, LEX_ST_BAD_ENVELOPE,
               "%s is sent by the switch, not by nodes", e.key);
        return;
    case LEX_CLASS_QUERY:
        handle_query(sw, rid, rid_len, s, def, &e, env, env_len, body, body_len);
        return;
    case LEX_CLASS_RESPONSE:
    case LEX_CLASS_STATUS:
        handle_response(sw, rid, rid_len, s, &e, env, env_len, body, body_len);
        return;
    case LEX_CLASS_ADMIN:
        handle_admin(sw, rid, rid_len, s, &e, env, env_len, body, body_len);
        return;
    case LEX_CLASS_OPERATOR:
        handle_operator(sw, rid, rid_len, s, &e, env, env_len, body, body_len);
        return;
    }
}

static void fail_flight(lex_switch_t *sw, flight_t *f, int code, const char *why)
{
    session_t *req = lex_session_find(sw, f->rid, f->rid_len);
    char conn[LEX_CONN_MAX + 1];
    conn_hex(f->rid, f->rid_len, conn);
    if (code == LEX_ST_TIMEOUT)
        sw->stats.timeouts++;
    reply_t r = reply_to_flight(f, req ? req->conn : conn);
    reply_status(sw, &r, f->dest, code, "status", "", "%s: %s", f->dest, why);
    lex_flight_close(sw, f);
}

void lex_route_expire(lex_switch_t *sw, uint64_t now_us)
{
    while (sw->flight_head && sw->flight_head->deadline_us <= now_us)
        fail_flight(sw, sw->flight_head, LEX_ST_TIMEOUT, "no answer in time");
}

void lex_route_fail_flights_of(lex_switch_t *sw, session_t *s)
{
    flight_t *f = sw->flight_head;
    while (f && s->open_flights > 0) {
        flight_t *next = f->next;
        if (f->responder == s)
            fail_flight(sw, f, LEX_ST_NODE_LOST, "the responding node went away");
        f = next;
    }
}

typedef struct {
    const lex_switch_t *sw;
    session_t **list;
    size_t n;
    uint64_t cutoff;
} reap_t;

static void collect_dead(const void *key, size_t len, void *value, void *arg)
{
    (void)key;
    (void)len;
    reap_t *r = arg;
    session_t *s = value;
    /* after a stall of the switch itself, silence counts from its resumption */
    if (lex_stall_heard_since(r->sw, s->last_heard_us) < r->cutoff)
        r->list[r->n++] = s;
}

void lex_route_reap(lex_switch_t *sw, uint64_t now_us)
{
    uint64_t window = (uint64_t)sw->cfg.dead_after_ms * 1000u;
    if (now_us < window)
        return;
    size_t total = lex_table_count(sw->sessions_by_rid);
    if (total == 0)
        return;
    reap_t r = {sw, calloc(total, sizeof(session_t *)), 0, now_us - window};
    if (!r.list)
        return;
    lex_table_each(sw->sessions_by_rid, collect_dead, &r);
    for (size_t i = 0; i < r.n; i++) {
        session_t *s = r.list[i];
        lex_logline_write(LEX_LOG_WARN, "node %s (%s, ORI %s) silent for over %d ms: dropped",
                s->conn, s->role, s->noris ? s->oris[0] : "-", sw->cfg.dead_after_ms);
        lex_route_fail_flights_of(sw, s);
        lex_session_remove(sw, s);
    }
    free(r.list);
}

static void send_session_msg(lex_switch_t *sw, session_t *s, const char *key)
{
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = ++sw->next_status_id;
    strcpy(env.key, key);
    strcpy(env.src, SWITCH_ORI);
    env.ts_us = lex_now_us();
    lex_buf_reset(&sw->scratch_env);
    if (lex_envelope_encode(&env, &sw->scratch_env) != 0)
        return;
    if (zmq_send(sw->router, s->rid, s->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sw->router, sw->scratch_env.data, sw->scratch_env.len,
                 ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sw->router, "", 0, ZMQ_DONTWAIT) < 0) {
        sw->stats.send_failures++;
        if (zmq_errno() == EHOSTUNREACH) /* ended after the walk (lex_route_end_gone) */
            lex_outbox_note_gone(sw, s->rid, s->rid_len);
    }
}

typedef struct {
    lex_switch_t *sw;
    const char *key;
} each_session_t;

static void session_msg_each(const void *key, size_t len, void *value, void *arg)
{
    (void)key;
    (void)len;
    each_session_t *a = arg;
    session_t *s = value;
    if (s->peer != LEX_PEER_UPSTREAM) /* upstream.c keeps its own link alive */
        send_session_msg(a->sw, s, a->key);
}

void lex_route_heartbeat(lex_switch_t *sw)
{
    each_session_t a = {sw, "HB"};
    lex_table_each(sw->sessions_by_rid, session_msg_each, &a);
}

void lex_route_bye_all(lex_switch_t *sw)
{
    each_session_t a = {sw, "BYE"};
    lex_table_each(sw->sessions_by_rid, session_msg_each, &a);
}
