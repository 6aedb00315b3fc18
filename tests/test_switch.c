/* test_switch.c: the switch end to end: a real lexswitch process, real
 * lexnode responders and test nodes over ZeroMQ ipc, real rules files and
 * the real audit log read back after the switch stops. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <zmq.h>
#include "harness.h"
#include "traffic.h"
#include "lex_auditlog.h"
#include "lex_body.h"
#include "lex_population.h"
#include "lex_status.h"

#define DRIVERS 1000

static lex_test_switch_t sw;

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(switch_e2e, .fini = teardown, .timeout = 60);

/* The driver a state's responder holds at index i. */
static void driver_at(const char *state, uint32_t i, lex_driver_t *d)
{
    lex_population_t *pop = NULL;
    cr_assert_eq(lex_population_new(state, DRIVERS, DRIVERS, &pop), 0);
    lex_population_driver(pop, i, d);
    lex_population_destroy(&pop);
}

/* "lic=<licence>" of the driver at index i of state, for a query body. */
static const char *licence_word(const char *state, uint32_t i, lex_driver_t *d, char out[40])
{
    driver_at(state, i, d);
    snprintf(out, 40, "lic=%s", d->lic);
    return out;
}

static const msgpack_object *first_record(msgpack_unpacked *up, const lex_message_t *m,
                                          const char *array)
{
    cr_assert_eq(lex_body_parse(m->body, m->body_len, up), 0);
    const msgpack_object *recs = lex_mp_get(&up->data, array);
    cr_assert_not_null(recs, "no %s in answer", array);
    cr_assert_eq(recs->type, MSGPACK_OBJECT_ARRAY);
    cr_assert_gt(recs->via.array.size, 0);
    return &recs->via.array.ptr[0];
}

Test(switch_e2e, licence_query_gets_the_right_driver_record)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "NV", DRIVERS);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "SO", "CA"));
    lex_driver_t d;
    char lic[40];
    const char *words[] = {licence_word("NV", 42, &d, lic), NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "NV", words, &m), 0, "no answer");
    cr_assert_str_eq(m.env.key, "DR");
    msgpack_unpacked up;
    const msgpack_object *rec = first_record(&up, &m, "records");
    char got[64];
    cr_assert_eq(lex_mp_str(lex_mp_get(rec, "lic"), got, sizeof got), 0);
    cr_assert_str_eq(got, d.lic);
    cr_assert_eq(lex_mp_str(lex_mp_get(rec, "name"), got, sizeof got), 0);
    cr_assert_str_eq(got, d.name);
    msgpack_unpacked_destroy(&up);
    lex_node_destroy(&n);
    cr_assert_eq(lex_test_switch_stop(&sw), 0, "switch did not stop cleanly");
}

Test(switch_e2e, name_and_birth_date_query_finds_the_driver)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "OR", DRIVERS);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "OR"));
    lex_driver_t d;
    driver_at("OR", 7, &d);
    char name[96], dob[32];
    snprintf(name, sizeof name, "name=%s", d.name);
    snprintf(dob, sizeof dob, "dob=%s", d.dob);
    const char *words[] = {name, dob, NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "OR", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR");
    msgpack_unpacked up;
    const msgpack_object *rec = first_record(&up, &m, "records");
    char got[32];
    cr_assert_eq(lex_mp_str(lex_mp_get(rec, "dob"), got, sizeof got), 0);
    cr_assert_str_eq(got, d.dob);
    msgpack_unpacked_destroy(&up);
    lex_node_destroy(&n);
}

typedef struct {
    int found;
    char key[16];
    lex_direction_t dir;
    char decision[16];
    char rule[64];
    int status;
} find_t;

static int find_in_record(const lex_log_record_t *r, void *arg)
{
    find_t *f = arg;
    if (r->dir == f->dir && strcmp(r->key, f->key) == 0) {
        f->found++;
        snprintf(f->decision, sizeof f->decision, "%s", r->decision);
        snprintf(f->rule, sizeof f->rule, "%s", r->rule_id);
        f->status = r->status;
    }
    return 0;
}

Test(switch_e2e, denied_query_gets_the_rules_status_and_a_log_record_naming_the_rule)
{
    lex_test_switch_prepare(&sw);
    lex_test_write_rules(&sw, "IL",
                         "default allow\n"
                         "rule il-no-ice\n"
                         "  family ICE-ERO\n"
                         "  deny no-record\n");
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "IL", DRIVERS);
    lex_node_t *ice = lex_test_node(&sw, lex_test_ori_of(&sw, "ICE-ERO", NULL));
    lex_driver_t d;
    char lic[40];
    const char *words[] = {licence_word("IL", 3, &d, lic), NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(ice, "DQ", "IL", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_NO_RECORD, "got %s", m.env.key);
    /* a rule's no-record reads exactly like a real miss from Illinois */
    cr_assert_str_eq(m.env.src, "ILDMV0000");
    char text[64];
    int code;
    cr_assert_eq(lex_status_parse(m.body, m.body_len, &code, text, sizeof text), 0);
    cr_assert_str_eq(text, LEX_NO_RECORD_TEXT);
    lex_node_destroy(&ice);

    /* a police department still gets the record */
    lex_node_t *pd = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "IL"));
    cr_assert_eq(lex_test_ask(pd, "DQ", "IL", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR");
    lex_node_destroy(&pd);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    lex_log_t *log = NULL;
    char err[256];
    cr_assert_eq(lex_log_open_reader(sw.data, &log, err, sizeof err), 0, "%s", err);
    find_t f = {.key = "DQ", .dir = LEX_DIR_IN};
    cr_assert_eq(lex_log_scan_state(log, "IL", find_in_record, &f), 0);
    cr_assert_eq(f.found, 2, "expected two DQ records in, got %d", f.found);
    lex_log_close(&log);

    cr_assert_eq(lex_log_open_reader(sw.data, &log, err, sizeof err), 0, "%s", err);
    find_t deny = {.key = "ST", .dir = LEX_DIR_OUT};
    cr_assert_eq(lex_log_scan_state(log, "IL", find_in_record, &deny), 0);
    cr_assert_eq(deny.found, 1);
    cr_assert_str_eq(deny.decision, "deny");
    cr_assert_str_eq(deny.rule, "il-no-ice");
    cr_assert_eq(deny.status, LEX_ST_NO_RECORD);
    lex_log_close(&log);
}

Test(switch_e2e, redacted_field_is_absent_from_the_response_the_requester_receives)
{
    lex_test_switch_prepare(&sw);
    lex_test_write_rules(&sw, "WA",
                         "rule wa-hsi-redact\n"
                         "  family HSI\n"
                         "  redact address photo\n");
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "WA", DRIVERS);
    lex_driver_t d;
    char lic[40];
    const char *words[] = {licence_word("WA", 11, &d, lic), NULL};

    lex_node_t *hsi = lex_test_node(&sw, lex_test_ori_of(&sw, "HSI", NULL));
    lex_message_t m;
    cr_assert_eq(lex_test_ask(hsi, "DQ", "WA", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR");
    msgpack_unpacked up;
    const msgpack_object *rec = first_record(&up, &m, "records");
    cr_assert_null(lex_mp_get(rec, "address"), "address was not redacted");
    cr_assert_null(lex_mp_get(rec, "photo"), "photo was not redacted");
    cr_assert_not_null(lex_mp_get(rec, "name"));
    msgpack_unpacked_destroy(&up);
    lex_node_destroy(&hsi);

    lex_node_t *so = lex_test_node(&sw, lex_test_ori_of(&sw, "SO", "WA"));
    cr_assert_eq(lex_test_ask(so, "DQ", "WA", words, &m), 0);
    rec = first_record(&up, &m, "records");
    cr_assert_not_null(lex_mp_get(rec, "address"), "others still get the address");
    msgpack_unpacked_destroy(&up);
    lex_node_destroy(&so);
}

Test(switch_e2e, query_to_a_state_with_no_node_gets_no_route)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "TX"));
    const char *words[] = {"lic=A00000001", NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "WY", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_NO_ROUTE);
    lex_node_destroy(&n);
}

static int count_record(const lex_log_record_t *r, void *arg)
{
    int *counts = arg; /* [DQ in, DQ out, DR in, DR out, other] */
    int dq = strcmp(r->key, "DQ") == 0, dr = strcmp(r->key, "DR") == 0;
    if (dq)
        counts[r->dir == LEX_DIR_IN ? 0 : 1]++;
    else if (dr)
        counts[r->dir == LEX_DIR_IN ? 2 : 3]++;
    else
        counts[4]++;
    return 0;
}

Test(switch_e2e, log_holds_one_record_per_message_per_direction)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "NV", DRIVERS);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "NV"));
    lex_driver_t d;
    char lic[40];
    const char *words[] = {licence_word("NV", 5, &d, lic), NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "NV", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR");
    lex_node_destroy(&n);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    lex_log_t *log = NULL;
    char err[256];
    cr_assert_eq(lex_log_open_reader(sw.data, &log, err, sizeof err), 0, "%s", err);
    int counts[5] = {0};
    cr_assert_eq(lex_log_scan(log, 0, 0, count_record, counts), 0);
    cr_assert_eq(counts[0], 1, "DQ in: %d", counts[0]);
    cr_assert_eq(counts[1], 1, "DQ out: %d", counts[1]);
    cr_assert_eq(counts[2], 1, "DR in: %d", counts[2]);
    cr_assert_eq(counts[3], 1, "DR out: %d", counts[3]);
    uint64_t bad = 1;
    cr_assert_eq(lex_log_verify(log, &bad), 0);
    cr_assert_eq(bad, 0);
    lex_log_close(&log);
}

Test(switch_e2e, fanout_query_gets_one_answer_per_state)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "NV,AZ", DRIVERS);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "SP", "UT"));
    lex_driver_t d;
    driver_at("AZ", 9, &d);
    char name[96], dob[32];
    snprintf(name, sizeof name, "name=%s", d.name);
    snprintf(dob, sizeof dob, "dob=%s", d.dob);
    const char *words[] = {name, dob, NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "NV,AZ", words, &m), 0);
    uint64_t ref = m.env.ref;
    char first_src[16];
    snprintf(first_src, sizeof first_src, "%s", m.env.src);
    cr_assert_eq(lex_test_recv_answer(n, ref, &m, 10000), 0, "second answer missing");
    cr_assert_str_neq(m.env.src, first_src, "both answers came from the same state");
    /* AZ has the driver: one of the two answers is a DR from AZ */
    int az_dr = (strcmp(m.env.src, "AZDMV0000") == 0 && strcmp(m.env.key, "DR") == 0) ||
                strcmp(first_src, "AZDMV0000") == 0;
    cr_assert(az_dr);
    lex_node_destroy(&n);
}

Test(switch_e2e, unanswered_query_gets_a_timeout_status)
{
    lex_test_switch_prepare(&sw);
    const char *extra[] = {"--query-timeout-ms", "300", NULL};
    lex_test_switch_start(&sw, extra);
    /* a responder for KS that never answers */
    const char *oris[] = {"KSDMV0000"};
    const char *states[] = {"KS"};
    const char *keys[] = {"DQ"};
    lex_node_config_t cfg = {.endpoint = sw.endpoint, .oris = oris, .noris = 1, .states = states,
                             .nstates = 1, .keys = keys, .nkeys = 1, .heartbeat_ms = 200};
    lex_node_t *mute = NULL;
    cr_assert_eq(lex_node_new(&cfg, &mute), 0);
    cr_assert_eq(lex_node_wait_ready(mute, 5000), 0);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "KS"));
    const char *words[] = {"lic=K00000001", NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "KS", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_TIMEOUT);
    lex_node_destroy(&n);
    lex_node_destroy(&mute);
}

Test(switch_e2e, spoofed_source_ori_is_refused)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "NV", DRIVERS);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "NV"));
    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "DQ");
    strcpy(env.src, lex_test_ori_of(&sw, "ICE-ERO", NULL)); /* not ours */
    lex_envelope_add_dst(&env, "NV");
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_kv_str(&pk, "lic", "A00000001");
    cr_assert_eq(lex_node_send(n, &env, body.data, body.len), 0);
    lex_buf_free(&body);
    lex_message_t m;
    cr_assert_eq(lex_test_recv_answer(n, env.id, &m, 5000), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_SPOOFED_ORI);
    lex_node_destroy(&n);
}

Test(switch_e2e, response_that_answers_no_open_query_is_refused)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    const char *oris[] = {"MTDMV0000"};
    const char *states[] = {"MT"};
    const char *keys[] = {"DQ"};
    lex_node_config_t cfg = {.endpoint = sw.endpoint, .oris = oris, .noris = 1, .states = states,
                             .nstates = 1, .keys = keys, .nkeys = 1, .heartbeat_ms = 200};
    lex_node_t *rogue = NULL;
    cr_assert_eq(lex_node_new(&cfg, &rogue), 0);
    cr_assert_eq(lex_node_wait_ready(rogue, 5000), 0);
    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "DR");
    lex_envelope_add_dst(&env, lex_test_ori_of(&sw, "PD", "MT"));
    env.ref = 987654321;
    lex_buf_t body;
    lex_buf_init(&body);
    lex_test_pack_empty_dr(&body);
    cr_assert_eq(lex_node_send(rogue, &env, body.data, body.len), 0);
    lex_buf_free(&body);
    lex_message_t m;
    cr_assert_eq(lex_test_recv_answer(rogue, env.id, &m, 5000), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_UNSOLICITED);
    lex_node_destroy(&rogue);
}

/* Sends raw frames on a bare DEALER and returns the ST code answered. */
static int raw_exchange(void *sock, const void *const *frames, const size_t *lens, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_geq(zmq_send(sock, frames[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0), 0);
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    for (;;) {
        cr_assert_gt(zmq_poll(&item, 1, 5000), 0, "no status came back");
        zmq_msg_t env, body;
        zmq_msg_init(&env);
        zmq_msg_init(&body);
        zmq_msg_recv(&env, sock, 0);
        cr_assert(zmq_msg_more(&env));
        zmq_msg_recv(&body, sock, 0);
        lex_message_t m;
        cr_assert_eq(lex_envelope_decode(zmq_msg_data(&env), zmq_msg_size(&env), &m.env, NULL), 0);
        m.body = zmq_msg_data(&body);
        m.body_len = zmq_msg_size(&body);
        int code = lex_test_status_code(&m);
        zmq_msg_close(&env);
        zmq_msg_close(&body);
        if (strcmp(m.env.key, "HB") != 0)
            return code;
    }
}

Test(switch_e2e, malformed_frames_get_a_status_and_the_switch_keeps_serving)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "NV", DRIVERS);
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    cr_assert_eq(zmq_connect(sock, sw.endpoint), 0);

    const char garbage[] = "\xc1\xff not msgpack";
    const void *f1[] = {garbage, ""};
    size_t l1[] = {sizeof garbage - 1, 0};
    cr_assert_eq(raw_exchange(sock, f1, l1, 2), LEX_ST_BAD_FRAME);

    const void *f2[] = {"a", "b", "c"};
    size_t l2[] = {1, 1, 1};
    cr_assert_eq(raw_exchange(sock, f2, l2, 3), LEX_ST_BAD_FRAME);

    const void *f3[] = {"x"};
    size_t l3[] = {1};
    cr_assert_eq(raw_exchange(sock, f3, l3, 1), LEX_ST_BAD_FRAME);

    /* a well-formed envelope with a bad source ORI */
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = 1;
    strcpy(env.key, "DQ");
    strcpy(env.src, "bad");
    lex_buf_t b;
    lex_buf_init(&b);
    lex_envelope_encode(&env, &b);
    const void *f4[] = {b.data, ""};
    size_t l4[] = {b.len, 0};
    cr_assert_eq(raw_exchange(sock, f4, l4, 2), LEX_ST_BAD_ENVELOPE);

    /* a valid envelope before HELLO */
    lex_envelope_init(&env);
    env.id = 2;
    strcpy(env.key, "DQ");
    strcpy(env.src, "NV0000001");
    lex_envelope_add_dst(&env, "NV");
    lex_buf_reset(&b);
    lex_envelope_encode(&env, &b);
    const char dq_body[] = "\x81\xa3lic\xa9" "A00000001";
    const void *f5[] = {b.data, dq_body};
    size_t l5[] = {b.len, sizeof dq_body - 1};
    cr_assert_eq(raw_exchange(sock, f5, l5, 2), LEX_ST_NOT_REGISTERED);

    /* an oversized message */
    size_t big = 300 * 1024;
    char *huge = calloc(1, big);
    const void *f6[] = {b.data, huge};
    size_t l6[] = {b.len, big};
    cr_assert_eq(raw_exchange(sock, f6, l6, 2), LEX_ST_TOO_LARGE);
    free(huge);
    lex_buf_free(&b);
    zmq_close(sock);
    zmq_ctx_term(ctx);

    /* and the switch still serves */
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "NV"));
    lex_driver_t d;
    char lic[40];
    const char *words[] = {licence_word("NV", 1, &d, lic), NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "NV", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR");
    lex_node_destroy(&n);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
}

Test(switch_e2e, body_that_breaks_the_catalogue_is_refused_with_bad_body)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "NV", DRIVERS);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "NV"));
    const char *words[] = {"sex=M", NULL}; /* neither lic nor name */
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "NV", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_BAD_BODY);
    lex_node_destroy(&n);
}

Test(switch_e2e, restart_continues_the_log_sequence_and_chain)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "NV"));
    const char *words[] = {"lic=A00000001", NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "WY", words, &m), 0);
    lex_node_destroy(&n);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    lex_log_t *log = NULL;
    char err[256];
    cr_assert_eq(lex_log_open_reader(sw.data, &log, err, sizeof err), 0, "%s", err);
    uint64_t first_run = lex_log_last_seq(log);
    lex_log_close(&log);
    cr_assert_gt(first_run, 0);

    lex_test_switch_start(&sw, NULL);
    n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "NV"));
    cr_assert_eq(lex_test_ask(n, "DQ", "WY", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_NO_ROUTE);
    lex_node_destroy(&n);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    cr_assert_eq(lex_log_open_reader(sw.data, &log, err, sizeof err), 0, "%s", err);
    cr_assert_gt(lex_log_last_seq(log), first_run);
    uint64_t bad = 1;
    cr_assert_eq(lex_log_verify(log, &bad), 0, "chain broken at %llu", (unsigned long long)bad);
    lex_log_close(&log);
}

Test(switch_e2e, silent_responder_is_dropped_and_its_open_query_gets_node_lost)
{
    lex_test_switch_prepare(&sw);
    const char *extra[] = {"--query-timeout-ms", "20000", NULL};
    lex_test_switch_start(&sw, extra); /* harness: heartbeat 200 ms, dead after 1000 ms */
    /* a KS responder that registers, then never speaks again (no ticks) */
    const char *oris[] = {"KSDMV0000"};
    const char *states[] = {"KS"};
    const char *keys[] = {"DQ"};
    lex_node_config_t cfg = {.endpoint = sw.endpoint, .oris = oris, .noris = 1, .states = states,
                             .nstates = 1, .keys = keys, .nkeys = 1, .heartbeat_ms = 200};
    lex_node_t *mute = NULL;
    cr_assert_eq(lex_node_new(&cfg, &mute), 0);
    cr_assert_eq(lex_node_wait_ready(mute, 5000), 0);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "KS"));
    const char *words[] = {"lic=K00000001", NULL};
    lex_message_t m;
    uint64_t t0 = lex_mono_us();
    cr_assert_eq(lex_test_ask(n, "DQ", "KS", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_NODE_LOST);
    cr_assert_lt(lex_mono_us() - t0, 15000000u, "node-lost must come before the query timeout");
    /* the state now has no responder */
    cr_assert_eq(lex_test_ask(n, "DQ", "KS", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_NO_ROUTE, "got %s code %d", m.env.key, lex_test_status_code(&m));
    lex_node_destroy(&n);
    lex_node_destroy(&mute);
}

Test(switch_e2e, node_without_its_own_interval_heartbeats_at_the_switchs)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL); /* harness: heartbeat 200 ms, dead after 1000 ms */
    /* a KS responder with no interval of its own: at libnode's 1000 ms it
     * would be dropped as silent; it must take the WELCOME's 200 ms */
    const char *oris[] = {"KSDMV0000"};
    const char *states[] = {"KS"};
    const char *keys[] = {"DQ"};
    lex_node_config_t cfg = {.endpoint = sw.endpoint, .oris = oris, .noris = 1, .states = states,
                             .nstates = 1, .keys = keys, .nkeys = 1};
    lex_node_t *ks = NULL;
    cr_assert_eq(lex_node_new(&cfg, &ks), 0);
    cr_assert_eq(lex_node_wait_ready(ks, 5000), 0);
    /* idle for three dead-after windows, the node ticking */
    lex_message_t m;
    for (uint64_t until = lex_mono_us() + 3000000u; lex_mono_us() < until;)
        lex_node_recv(ks, &m, 20);
    cr_assert(lex_node_ready(ks), "%s", lex_node_error(ks));
    lex_node_destroy(&ks);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    char path[LEX_TEST_PATH + 16], log[65536];
    snprintf(path, sizeof path, "%s/switch.log", sw.dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(log, 1, sizeof log - 1, f);
    fclose(f);
    log[n] = 0;
    cr_assert(strstr(log, "KSDMV0000) silent for over") == NULL, "the responder was dropped:\n%s",
              log);
}

Test(switch_e2e, sighup_reloads_rules_and_a_bad_file_keeps_the_old_ones)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "OR", DRIVERS);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "SP", "OR"));
    lex_driver_t d;
    char lic[40];
    const char *words[] = {licence_word("OR", 2, &d, lic), NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "OR", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR");

    lex_test_write_rules(&sw, "OR", "rule or-closed\n  key DQ\n  deny denied\n");
    kill(sw.pid, SIGHUP);
    int code = -1;
    for (int tries = 0; tries < 200 && code != LEX_ST_DENIED; tries++) {
        cr_assert_eq(lex_test_ask(n, "DQ", "OR", words, &m), 0);
        code = lex_test_status_code(&m);
    }
    cr_assert_eq(code, LEX_ST_DENIED, "new rule never took effect");

    lex_test_write_rules(&sw, "OR", "rule broken\n  level galactic\n  allow\n");
    kill(sw.pid, SIGHUP);
    /* the reload is refused; the deny rule stays in force */
    for (int tries = 0; tries < 20; tries++) {
        cr_assert_eq(lex_test_ask(n, "DQ", "OR", words, &m), 0);
        cr_assert_eq(lex_test_status_code(&m), LEX_ST_DENIED);
    }
    lex_node_destroy(&n);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
}

Test(switch_e2e, query_addressed_to_a_responder_ori_and_am_to_an_agency_ori_are_delivered)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "NV", DRIVERS);
    char from[16], to[16];
    snprintf(from, sizeof from, "%s", lex_test_ori_of(&sw, "PD", "AZ"));
    snprintf(to, sizeof to, "%s", lex_test_ori_of(&sw, "SO", "UT"));
    lex_node_t *a = lex_test_node(&sw, from);
    lex_node_t *b = lex_test_node(&sw, to);
    lex_driver_t d;
    char lic[40];
    const char *words[] = {licence_word("NV", 8, &d, lic), NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(a, "DQ", "NVDMV0000", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR");

    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "AM");
    lex_envelope_add_dst(&env, to);
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_kv_str(&pk, "text", "BOLO: silver pickup, partial plate TYP");
    cr_assert_eq(lex_node_send(a, &env, body.data, body.len), 0);
    lex_buf_free(&body);
    cr_assert_eq(lex_node_recv(b, &m, 5000), 0, "AM not delivered");
    cr_assert_str_eq(m.env.key, "AM");
    cr_assert_str_eq(m.env.src, from);
    lex_node_destroy(&a);
    lex_node_destroy(&b);
}

Test(switch_e2e, rules_on_query_kind_and_purpose_apply_through_the_switch)
{
    lex_test_switch_prepare(&sw);
    lex_test_write_rules(&sw, "MN",
                         "rule fed-name-search\n  level federal\n  kind by-name\n  deny denied\n"
                         "rule photo-needs-purpose\n  key DQ\n  purpose E\n  redact photo\n");
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "MN", DRIVERS);
    lex_node_t *fbi = lex_test_node(&sw, lex_test_ori_of(&sw, "FBI", NULL));
    lex_driver_t d;
    char lic[40];
    const char *by_number[] = {licence_word("MN", 4, &d, lic), NULL};
    char name[96], dob[32];
    snprintf(name, sizeof name, "name=%s", d.name);
    snprintf(dob, sizeof dob, "dob=%s", d.dob);
    const char *by_name[] = {name, dob, NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(fbi, "DQ", "MN", by_number, &m), 0);
    cr_assert_str_eq(m.env.key, "DR", "a federal look-up by number is allowed");
    cr_assert_eq(lex_test_ask(fbi, "DQ", "MN", by_name, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_DENIED, "a federal name search is denied");
    lex_node_destroy(&fbi);

    /* purpose E (employment) gets the record without its photo */
    lex_node_t *pd = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "MN"));
    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "DQ");
    strcpy(env.purpose, "E");
    lex_envelope_add_dst(&env, "MN");
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_kv_str(&pk, "lic", d.lic);
    cr_assert_eq(lex_node_send(pd, &env, body.data, body.len), 0);
    lex_buf_free(&body);
    cr_assert_eq(lex_test_recv_answer(pd, env.id, &m, 5000), 0);
    cr_assert_str_eq(m.env.key, "DR");
    msgpack_unpacked up;
    const msgpack_object *rec = first_record(&up, &m, "records");
    cr_assert_null(lex_mp_get(rec, "photo"));
    cr_assert_not_null(lex_mp_get(rec, "address"));
    msgpack_unpacked_destroy(&up);
    lex_node_destroy(&pd);
}

Test(switch_e2e, rules_on_ori_pattern_home_state_and_time_apply_through_the_switch)
{
    lex_test_switch_prepare(&sw);
    lex_test_write_rules(&sw, "CO",
                         "rule expired-ban\n  until 2020-01-01\n  deny denied\n"
                         "rule future-ban\n  from 2999-01-01\n  deny denied\n"
                         "rule utah-agencies\n  home UT\n  redact address\n"
                         "rule one-sheriff\n  ori AZ???0000\n  deny no-record\n");
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "CO", DRIVERS);
    lex_driver_t d;
    char lic[40];
    const char *words[] = {licence_word("CO", 6, &d, lic), NULL};
    lex_message_t m;
    msgpack_unpacked up;

    lex_node_t *ut = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "UT"));
    cr_assert_eq(lex_test_ask(ut, "DQ", "CO", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR", "time-bounded rules outside their window must not apply");
    const msgpack_object *rec = first_record(&up, &m, "records");
    cr_assert_null(lex_mp_get(rec, "address"), "home UT rule did not redact");
    msgpack_unpacked_destroy(&up);
    lex_node_destroy(&ut);

    char so[16];
    snprintf(so, sizeof so, "%s", lex_test_ori_of(&sw, "SO", "AZ")); /* AZnnn0000 */
    cr_assert_str_eq(so + 5, "0000");
    lex_node_t *az = lex_test_node(&sw, so);
    cr_assert_eq(lex_test_ask(az, "DQ", "CO", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_NO_RECORD, "ORI pattern rule did not apply");
    lex_node_destroy(&az);

    lex_node_t *pd = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "AZ"));
    cr_assert_eq(lex_test_ask(pd, "DQ", "CO", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR");
    rec = first_record(&up, &m, "records");
    cr_assert_not_null(lex_mp_get(rec, "address"));
    msgpack_unpacked_destroy(&up);
    lex_node_destroy(&pd);
}
