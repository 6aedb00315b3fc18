/* traffic.c: driver queries, a Nevada responder answering them, and the
 * note of what each node received, shared by the audit-log fault tests
 * (traffic.h says what each call does). The log check reads the log the
 * way lexctl does, beside or after the switch. */
#include "traffic.h"

#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_population.h"
#include "lex_status.h"

void lex_test_pack_empty_dr(lex_buf_t *body)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, body, lex_buf_write);
    msgpack_pack_map(&pk, 2);
    lex_mp_pack_str(&pk, "records");
    msgpack_pack_array(&pk, 0);
    lex_mp_pack_kv_uint(&pk, "count", 0);
}

int lex_test_send_dq(lex_node_t *req, const char *state, unsigned i, uint64_t *id)
{
    char lic[32];
    snprintf(lic, sizeof lic, "lic=%c%07u", state[0], i);
    const char *words[] = {lic, NULL};
    return lex_test_send(req, "DQ", state, words, id);
}

unsigned lex_test_ask_answered(lex_node_t *req, const char *state, unsigned n, unsigned *next)
{
    unsigned got = 0;
    uint64_t deadline = lex_mono_us() + 30000000u;
    while (got < n && lex_mono_us() < deadline) {
        unsigned round = n - got < 20 ? n - got : 20;
        for (unsigned i = 0; i < round; i++)
            lex_test_send_dq(req, state, (*next)++, NULL);
        lex_message_t m;
        for (unsigned i = 0; i < round && lex_node_recv(req, &m, 3000) == 0;)
            if (strcmp(m.env.key, "DR") == 0 || lex_test_status_code(&m) == LEX_ST_NO_RECORD) {
                got++;
                i++;
            }
    }
    return got;
}

void lex_test_wait_answered(lex_node_t *req, const char *state, unsigned *next)
{
    uint64_t deadline = lex_mono_us() + 20000000u;
    while (lex_test_ask_answered(req, state, 1, next) < 1 && lex_mono_us() < deadline)
        ;
}

void lex_test_ask_drivers(lex_node_t *n, const char *state, unsigned count, int want_dr)
{
    lex_population_t *pop = NULL;
    cr_assert_eq(lex_population_new(state, 1000, 1000, &pop), 0);
    for (unsigned i = 0; i < count; i++) {
        lex_driver_t d;
        lex_population_driver(pop, i, &d);
        char word[64];
        snprintf(word, sizeof word, "lic=%s", d.lic);
        const char *words[] = {word, NULL};
        lex_message_t m;
        cr_assert_eq(lex_test_ask(n, "DQ", state, words, &m), 0);
        if (want_dr)
            cr_assert_str_eq(m.env.key, "DR");
    }
    lex_population_destroy(&pop);
}

lex_node_t *lex_test_nv_responder(const lex_test_switch_t *t, const char *key_file)
{
    const char *oris[] = {"NVDMV0000"}, *states[] = {"NV"}, *keys[] = {"DQ"};
    lex_node_config_t cfg = {.endpoint = t->endpoint, .role = "state", .oris = oris, .noris = 1,
                             .states = states, .nstates = 1, .keys = keys, .nkeys = 1,
                             .heartbeat_ms = 200, .key_file = key_file,
                             .switch_key_file = key_file && key_file[0] ? t->switch_pub : key_file};
    lex_node_t *n = NULL;
    char err[512] = "";
    cr_assert_eq(lex_node_new_err(&cfg, &n, err, sizeof err), 0, "responder: %s", err);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "responder: %s", lex_node_error(n));
    return n;
}

void lex_test_answer_empty(lex_node_t *resp, const lex_message_t *q)
{
    if (strcmp(q->env.key, "DQ") != 0)
        return;
    lex_buf_t body;
    lex_buf_init(&body);
    lex_test_pack_empty_dr(&body);
    lex_envelope_t r;
    lex_envelope_init(&r);
    strcpy(r.key, "DR");
    lex_envelope_add_dst(&r, q->env.src);
    r.ref = q->env.id;
    memcpy(r.ctl, q->env.ctl, sizeof r.ctl);
    memcpy(r.purpose, q->env.purpose, sizeof r.purpose);
    lex_node_send(resp, &r, body.data, body.len); /* EAGAIN while the switch is down: a loss */
    lex_buf_free(&body);
}

void lex_test_traffic_note(lex_test_traffic_t *tr, const lex_message_t *m)
{
    cr_assert_lt(tr->nseen, tr->seen_max);
    lex_test_seen_t *s = &tr->seen[tr->nseen++];
    snprintf(s->key, sizeof s->key, "%s", m->env.key);
    snprintf(s->src, sizeof s->src, "%s", m->env.src);
    s->id = m->env.id;
    s->ref = m->env.ref;
    s->status = lex_test_status_code(m);
    for (size_t i = 0; i < tr->nasked; i++)
        if (tr->asked[i] == m->env.ref)
            tr->asked[i] = 0;
}

size_t lex_test_traffic_unanswered(const lex_test_traffic_t *tr)
{
    size_t n = 0;
    for (size_t i = 0; i < tr->nasked; i++)
        n += tr->asked[i] != 0;
    return n;
}

void lex_test_traffic_send(lex_test_traffic_t *tr, lex_node_t *req, const char *state,
                           unsigned i)
{
    uint64_t id = 0;
    int rc = lex_test_send_dq(req, state, i, &id);
    if (tr->strict) {
        cr_assert_eq(rc, 0);
        cr_assert_lt(tr->nasked, tr->asked_max);
    }
    if (rc == 0 && tr->asked && tr->nasked < tr->asked_max)
        tr->asked[tr->nasked++] = id;
}

size_t lex_test_traffic_pump(lex_test_traffic_t *tr, lex_node_t *req, lex_node_t *resp,
                             int wait_ms, int hold)
{
    size_t got = 0;
    lex_message_t m;
    while (lex_node_recv(resp, &m, 0) == 0) {
        lex_test_traffic_note(tr, &m);
        if (hold && strcmp(m.env.key, "DQ") == 0) {
            cr_assert_lt(tr->nheld, tr->held_max);
            tr->held[tr->nheld] = m; /* envelope only: the body is not needed */
            tr->held[tr->nheld].body = NULL;
            tr->held[tr->nheld++].body_len = 0;
        } else {
            lex_test_answer_empty(resp, &m);
        }
        got++;
    }
    while (lex_node_recv(req, &m, got ? 0 : wait_ms) == 0) {
        lex_test_traffic_note(tr, &m);
        got++;
    }
    return got;
}

void lex_test_traffic_round(lex_test_traffic_t *tr, lex_node_t *req, lex_node_t *resp,
                            unsigned *sent, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        lex_test_traffic_send(tr, req, "NV", (*sent)++);
    uint64_t deadline = lex_mono_us() + 10000000u;
    while (lex_test_traffic_unanswered(tr) > 0 && lex_mono_us() < deadline)
        lex_test_traffic_pump(tr, req, resp, 20, 0);
}

typedef struct {
    const lex_test_seen_t *want;
    int found;
} find_t;

static int find_out(const lex_log_record_t *r, void *arg)
{
    find_t *f = arg;
    if (r->dir == LEX_DIR_OUT && strcmp(r->key, f->want->key) == 0 && r->ref == f->want->ref)
        f->found = 1;
    return f->found;
}

uint64_t lex_test_traffic_check_log(const lex_test_traffic_t *tr, const char *data,
                                    const char *when, lex_log_verify_t *res)
{
    lex_log_t *log = NULL;
    char err[256];
    cr_assert_eq(lex_log_open_reader(data, &log, err, sizeof err), 0, "%s: %s", when, err);
    size_t missing = 0;
    for (size_t i = 0; i < tr->nseen; i++) {
        const lex_test_seen_t *s = &tr->seen[i];
        if (s->status == LEX_ST_LOG_FAILED)
            continue; /* sent without a record, by design */
        find_t f = {.want = s};
        cr_assert_eq(lex_log_scan_id(log, s->id, find_out, &f), 0);
        if (!f.found && missing++ < 5)
            cr_log_error("%s: %s id=%llu ref=%llu was received but is not in the log", when,
                         s->key, (unsigned long long)s->id, (unsigned long long)s->ref);
    }
    cr_assert_eq(missing, 0, "%s: %zu of %zu received messages have no log record", when,
                 missing, tr->nseen);
    cr_assert_eq(lex_log_verify_full(log, NULL, res), 0, "%s: record %llu: %s", when,
                 (unsigned long long)res->bad_seq, res->what);
    uint64_t last = lex_log_last_seq(log);
    lex_log_close(&log);
    return last;
}
