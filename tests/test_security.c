/* test_security.c: authentication and limits through the real switch with
 * CURVE on: keys bound in the directory connect, everything else fails
 * closed (plain text, unknown keys, wrong switch keys, ORIs, states and
 * roles outside a key's binding, spoofed sources, another state's or a
 * non-operator key deciding holds), each refusal leaves an audit record
 * naming the key or the peer, and the limits answer floods and stuck
 * responders with a status, never silence. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#include "harness.h"
#include "lex_auditlog.h"
#include "lex_body.h"
#include "lex_error.h"
#include "lex_keys.h"
#include "lex_population.h"
#include "lex_status.h"

static lex_test_switch_t sw;
static char out[65536];

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(security, .fini = teardown, .timeout = 90);

static void start_curve(void)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_use_curve(&sw);
}

static void finish_start(const char *const *extra, const char *states)
{
    lex_test_switch_start(&sw, extra);
    if (states)
        lex_test_states_start(&sw, states, 1000);
}

static void lic_word(const char *state, char *word, size_t len)
{
    lex_population_t *pop = NULL;
    lex_driver_t d;
    cr_assert_eq(lex_population_new(state, 1000, 1000, &pop), 0);
    lex_population_driver(pop, 7, &d);
    snprintf(word, len, "lic=%s", d.lic);
    lex_population_destroy(&pop);
}

/* The audit log as text, read by the real tool after the switch stopped. */
static const char *audit_text(void)
{
    return lex_test_audit_text(&sw, out, sizeof out);
}

/* A node with any role, one ORI and (when state is set) one state it
 * answers DQ for; key_file NULL connects without CURVE. Does not wait. */
static lex_node_t *node_as(const char *role, const char *ori, const char *state,
                           const char *key_file)
{
    const char *oris[] = {ori}, *states[] = {state}, *keys[] = {"DQ"};
    lex_node_config_t cfg = {.endpoint = sw.endpoint, .role = role, .oris = oris, .noris = 1,
                             .states = state ? states : NULL, .nstates = state ? 1 : 0,
                             .keys = state ? keys : NULL, .nkeys = state ? 1 : 0,
                             .heartbeat_ms = 200, .key_file = key_file ? key_file : "",
                             .switch_key_file = key_file ? sw.switch_pub : ""};
    lex_node_t *n = NULL;
    char err[512] = "";
    cr_assert_eq(lex_node_new_err(&cfg, &n, err, sizeof err), 0, "%s", err);
    return n;
}

/* Asserts that the switch refuses n's HELLO with a status whose text holds want. */
static void assert_refused(lex_node_t *n, const char *status, const char *want)
{
    cr_assert_eq(lex_node_wait_ready(n, 10000), LEX_ECLOSED, "registered: expected %s (%s)",
                 status, want);
    cr_assert(strstr(lex_node_error(n), status) && strstr(lex_node_error(n), want),
              "expected %s with '%s': %s", status, want, lex_node_error(n));
}

static const char *public_of(const char *key_file)
{
    static lex_keypair_t kp;
    char err[512];
    cr_assert_eq(lex_keyfile_load(key_file, &kp, err, sizeof err), 0, "%s", err);
    return kp.public_z85;
}

typedef struct {
    int status;
    const char *needle;
    int found;
} find_t;

static int find_visit(const lex_log_record_t *r, void *arg)
{
    find_t *f = arg;
    size_t n = f->needle ? strlen(f->needle) : 0;
    if (r->status == f->status &&
        (!n || (r->body && memmem(r->body, r->body_len, f->needle, n)) ||
         (r->envelope && memmem(r->envelope, r->envelope_len, f->needle, n))))
        f->found++;
    return 0;
}

/* Records in the audit log (the switch may be running) with this status
 * whose frames hold needle (NULL: any). */
static int count_records(int status, const char *needle)
{
    lex_log_t *log = NULL;
    char err[256];
    if (lex_log_open_reader(sw.data, &log, err, sizeof err) != 0)
        return 0;
    find_t f = {status, needle, 0};
    lex_log_scan(log, 1, 0, find_visit, &f);
    lex_log_close(&log);
    return f.found;
}

/* Polls the log until at least want such records are there (10 s). */
static int wait_records(int status, const char *needle, int want)
{
    int n = 0;
    for (uint64_t end = lex_mono_us() + 10000000u; lex_mono_us() < end; usleep(20000))
        if ((n = count_records(status, needle)) >= want)
            break;
    return n;
}

Test(security, node_with_a_bound_key_gets_answers_over_curve)
{
    char key[LEX_TEST_PATH], lic[64];
    start_curve();
    const char *pd = lex_test_ori_of(&sw, "PD", "NV");
    char ori[16];
    snprintf(ori, sizeof ori, "%s", pd);
    lex_test_make_key(&sw, "pd", "agency", ori, key);
    finish_start(NULL, "NV");
    lex_node_t *n = lex_test_node_with_key(&sw, ori, key);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "%s", lex_node_error(n));
    lic_word("NV", lic, sizeof lic);
    const char *words[] = {lic, NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "NV", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR");
    lex_node_destroy(&n);
}

Test(security, plain_text_and_unknown_keys_never_register_and_are_logged)
{
    char bound[LEX_TEST_PATH], stranger[LEX_TEST_PATH];
    start_curve();
    char ori[16];
    snprintf(ori, sizeof ori, "%s", lex_test_ori_of(&sw, "PD", "CA"));
    lex_test_make_key(&sw, "pd", "agency", ori, bound);
    lex_test_make_key(&sw, "stranger", "agency", NULL, stranger); /* never bound */
    finish_start(NULL, NULL);

    lex_node_t *plain = lex_test_node_with_key(&sw, ori, NULL);
    lex_node_t *unknown = lex_test_node_with_key(&sw, ori, stranger);
    cr_assert_eq(lex_node_wait_ready(plain, 1500), LEX_ETIMEOUT, "plain text got in");
    cr_assert_eq(lex_node_wait_ready(unknown, 1500), LEX_ETIMEOUT, "unknown key got in");
    /* the switch still serves the bound key meanwhile */
    lex_node_t *good = lex_test_node_with_key(&sw, ori, bound);
    cr_assert_eq(lex_node_wait_ready(good, 10000), 0, "%s", lex_node_error(good));
    lex_node_destroy(&plain);
    lex_node_destroy(&unknown);
    lex_node_destroy(&good);
    const char *log = audit_text();
    cr_assert(strstr(log, "CURVE") && strstr(log, "unknown-peer-key"),
              "no audit record of the refused key:\n%s", log);
}

Test(security, hello_for_an_ori_outside_the_keys_binding_is_refused_as_spoofed)
{
    char key[LEX_TEST_PATH];
    start_curve();
    char mine[16], theirs[16];
    snprintf(mine, sizeof mine, "%s", lex_test_ori_of(&sw, "PD", "NV"));
    snprintf(theirs, sizeof theirs, "%s", lex_test_ori_of(&sw, "ICE-ERO", NULL));
    lex_test_make_key(&sw, "pd", "agency", mine, key);
    finish_start(NULL, NULL);
    lex_node_t *n = lex_test_node_with_key(&sw, theirs, key);
    cr_assert_eq(lex_node_wait_ready(n, 10000), LEX_ECLOSED, "claimed %s with %s's key", theirs,
                 mine);
    cr_assert(strstr(lex_node_error(n), "spoofed-ori"), "%s", lex_node_error(n));
    lex_node_destroy(&n);
    const char *log = audit_text();
    cr_assert(strstr(log, "HELLO") && strstr(log, "status=spoofed-ori"), "%s", log);
    cr_assert_geq(count_records(LEX_ST_SPOOFED_ORI, public_of(key)), 1,
                  "the refusal's record names the key");
}

Test(security, message_with_a_source_ori_the_session_did_not_register_is_refused)
{
    char key[LEX_TEST_PATH], lic[64];
    start_curve();
    char mine[16], other[16];
    snprintf(mine, sizeof mine, "%s", lex_test_ori_of(&sw, "PD", "NV"));
    snprintf(other, sizeof other, "%s", lex_test_ori_of(&sw, "SO", "NV"));
    char bind[32];
    snprintf(bind, sizeof bind, "%s %s", mine, other);
    lex_test_make_key(&sw, "pd", "agency", bind, key);
    finish_start(NULL, "NV");
    lex_node_t *n = lex_test_node_with_key(&sw, mine, key);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "%s", lex_node_error(n));
    lic_word("NV", lic, sizeof lic);
    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "DQ");
    strcpy(env.src, other); /* bound to the key, but not registered by this session */
    lex_envelope_add_dst(&env, "NV");
    static const uint8_t body[] = {0x81, 0xa3, 'l', 'i', 'c', 0xa2, 'X', '1'};
    cr_assert_eq(lex_node_send(n, &env, body, sizeof body), 0);
    lex_message_t m;
    cr_assert_eq(lex_test_recv_answer(n, env.id, &m, 10000), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_SPOOFED_ORI);
    lex_node_destroy(&n);
}

Test(security, only_an_operator_key_of_the_state_decides_its_holds)
{
    char fbi_key[LEX_TEST_PATH], il_desk[LEX_TEST_PATH], nv_desk[LEX_TEST_PATH],
        il_node[LEX_TEST_PATH];
    start_curve();
    lex_test_write_rules(&sw, "IL", "rule fed-review\n  level federal\n  review\n");
    char fbi[16];
    snprintf(fbi, sizeof fbi, "%s", lex_test_ori_of(&sw, "FBI", "IL"));
    lex_test_make_key(&sw, "fbi", "agency", fbi, fbi_key);
    lex_test_make_key(&sw, "il-desk", "operator", "ILOPS0000", il_desk);
    lex_test_make_key(&sw, "nv-desk", "operator", "NVOPS0000", nv_desk);
    lex_test_make_key(&sw, "il-agency", "agency", "ILOPS0000", il_node);
    finish_start(NULL, "IL");
    lex_node_t *n = lex_test_node_with_key(&sw, fbi, fbi_key);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "%s", lex_node_error(n));
    char lic[64];
    lic_word("IL", lic, sizeof lic);
    const char *words[] = {lic, NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "IL", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_HELD);
    uint64_t qid = m.env.ref;

    char cmd[2048];
    const char *fmt = "%s/lexctl review approve 1 --state %s --connect %s --key-file %s "
                      "--switch-key %s 2>&1";
    /* Nevada's desk cannot even speak as Illinois' desk */
    snprintf(cmd, sizeof cmd, fmt, LEX_BIN_DIR, "IL", sw.endpoint, nv_desk, sw.switch_pub);
    cr_assert_neq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "spoofed-ori"), "%s", out);
    /* an agency key bound to the desk's ORI may claim it but is no operator */
    snprintf(cmd, sizeof cmd, fmt, LEX_BIN_DIR, "IL", sw.endpoint, il_node, sw.switch_pub);
    cr_assert_neq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "hello-refused") && strstr(out, "role 'operator'"), "%s", out);
    /* Illinois' operator key decides */
    snprintf(cmd, sizeof cmd, fmt, LEX_BIN_DIR, "IL", sw.endpoint, il_desk, sw.switch_pub);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert_eq(lex_test_recv_answer(n, qid, &m, 10000), 0, "no answer after approval");
    cr_assert_str_eq(m.env.key, "DR");
    lex_node_destroy(&n);
}

Test(security, queries_over_the_rate_limit_get_rate_limited_and_none_is_lost)
{
    lex_test_switch_prepare(&sw);
    const char *extra[] = {"--set", "rate_limit=5", "--set", "rate_burst=5", NULL};
    finish_start(extra, "NV");
    char ori[16], lic[64];
    snprintf(ori, sizeof ori, "%s", lex_test_ori_of(&sw, "PD", "NV"));
    lex_node_t *n = lex_test_node(&sw, ori);
    lic_word("NV", lic, sizeof lic);
    enum { SENT = 40 };
    uint64_t ids[SENT];
    for (int i = 0; i < SENT; i++) {
        lex_envelope_t env;
        lex_envelope_init(&env);
        strcpy(env.key, "DQ");
        lex_envelope_add_dst(&env, "NV");
        uint8_t body[64];
        size_t len = 0;
        body[len++] = 0x81;
        body[len++] = 0xa3;
        memcpy(body + len, "lic", 3);
        len += 3;
        size_t l = strlen(lic + 4);
        body[len++] = (uint8_t)(0xa0 | l);
        memcpy(body + len, lic + 4, l);
        len += l;
        cr_assert_eq(lex_node_send(n, &env, body, len), 0);
        ids[i] = env.id;
    }
    int answered = 0, limited = 0, records = 0;
    uint64_t deadline = lex_mono_us() + 15000000u;
    while (answered < SENT && lex_mono_us() < deadline) {
        lex_message_t m;
        if (lex_node_recv(n, &m, 100) != 0)
            continue;
        for (int i = 0; i < SENT; i++)
            if (m.env.ref == ids[i]) {
                answered++;
                if (lex_test_status_code(&m) == LEX_ST_RATE_LIMITED)
                    limited++;
                else
                    records += strcmp(m.env.key, "DR") == 0;
            }
    }
    cr_assert_eq(answered, SENT, "every query gets an answer (%d of %d)", answered, SENT);
    cr_assert_geq(limited, SENT - 5 - 10, "a burst of %d over a limit of 5/s: %d limited", SENT,
                  limited);
    cr_assert_geq(records, 5, "the first five went through: %d", records);
    lex_node_destroy(&n);
}

Test(security, a_stuck_responder_gets_busy_instead_of_an_endless_queue)
{
    lex_test_switch_prepare(&sw);
    const char *extra[] = {"--set", "node_inflight_max=2", "--query-timeout-ms", "20000", NULL};
    finish_start(extra, NULL);
    /* a Wyoming responder that registers and then never answers */
    const char *oris[] = {"WYDMV0000"}, *states[] = {"WY"}, *keys[] = {"DQ"};
    lex_node_config_t rc = {.endpoint = sw.endpoint, .role = "state", .oris = oris, .noris = 1,
                            .states = states, .nstates = 1, .keys = keys, .nkeys = 1,
                            .heartbeat_ms = 200};
    lex_node_t *stuck = NULL;
    cr_assert_eq(lex_node_new(&rc, &stuck), 0);
    cr_assert_eq(lex_node_wait_ready(stuck, 10000), 0);
    char ori[16];
    snprintf(ori, sizeof ori, "%s", lex_test_ori_of(&sw, "PD", "WY"));
    lex_node_t *n = lex_test_node(&sw, ori);
    enum { SENT = 6 };
    for (int i = 0; i < SENT; i++) {
        lex_envelope_t env;
        lex_envelope_init(&env);
        strcpy(env.key, "DQ");
        lex_envelope_add_dst(&env, "WY");
        static const uint8_t body[] = {0x81, 0xa3, 'l', 'i', 'c', 0xa2, 'X', '1'};
        cr_assert_eq(lex_node_send(n, &env, body, sizeof body), 0);
    }
    int busy = 0;
    uint64_t deadline = lex_mono_us() + 5000000u; /* well before the 20 s timeout */
    while (busy < SENT - 2 && lex_mono_us() < deadline) {
        lex_message_t m;
        if (lex_node_recv(n, &m, 100) == 0 && lex_test_status_code(&m) == LEX_ST_BUSY)
            busy++;
        lex_message_t q;
        lex_node_recv(stuck, &q, 0); /* keeps the stuck node's session alive */
    }
    cr_assert_eq(busy, SENT - 2, "the queries over the cap of 2 get ST busy at once: %d", busy);
    lex_node_destroy(&n);
    lex_node_destroy(&stuck);
}

Test(security, a_key_bound_to_one_agency_cannot_become_a_states_responder)
{
    char sheriff_key[LEX_TEST_PATH], pd_key[LEX_TEST_PATH], lic[64];
    start_curve();
    char sheriff[16], pd[16];
    snprintf(sheriff, sizeof sheriff, "%s", lex_test_ori_of(&sw, "SO", "CA"));
    snprintf(pd, sizeof pd, "%s", lex_test_ori_of(&sw, "PD", "NV"));
    lex_test_make_key(&sw, "sheriff", "agency", sheriff, sheriff_key);
    lex_test_make_key(&sw, "pd", "agency", pd, pd_key);
    finish_start(NULL, "NV");
    /* the sheriff's own ORI, claiming to answer Nevada's queries */
    lex_node_t *fake = node_as("state", sheriff, "NV", sheriff_key);
    assert_refused(fake, "hello-refused", "state NV");
    lex_node_destroy(&fake);
    /* every Nevada query still reaches Nevada's responder, none the sheriff */
    lex_node_t *n = lex_test_node_with_key(&sw, pd, pd_key);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "%s", lex_node_error(n));
    lic_word("NV", lic, sizeof lic);
    const char *words[] = {lic, NULL};
    for (int i = 0; i < 4; i++) {
        lex_message_t m;
        cr_assert_eq(lex_test_ask(n, "DQ", "NV", words, &m), 0);
        cr_assert_str_eq(m.env.key, "DR");
        cr_assert_str_eq(m.env.src, "NVDMV0000");
    }
    lex_node_destroy(&n);
    cr_assert_geq(wait_records(LEX_ST_HELLO_REFUSED, public_of(sheriff_key), 1), 1,
                  "no audit record names the sheriff's key");
}

Test(security, an_agency_key_cannot_claim_the_operator_or_switch_role)
{
    char key[LEX_TEST_PATH];
    start_curve();
    char pd[16];
    snprintf(pd, sizeof pd, "%s", lex_test_ori_of(&sw, "PD", "NV"));
    lex_test_make_key(&sw, "pd", "agency", pd, key);
    finish_start(NULL, NULL);
    lex_node_t *op = node_as("operator", pd, NULL, key);
    assert_refused(op, "hello-refused", "role 'operator'");
    lex_node_destroy(&op);
    lex_node_t *link = node_as("switch", pd, NULL, key);
    assert_refused(link, "hello-refused", "role 'switch'");
    lex_node_destroy(&link);
    lex_node_t *fine = node_as("agency", pd, NULL, key);
    cr_assert_eq(lex_node_wait_ready(fine, 10000), 0, "%s", lex_node_error(fine));
    lex_node_destroy(&fine);
    cr_assert_geq(wait_records(LEX_ST_HELLO_REFUSED, public_of(key), 2), 2);
}

Test(security, a_responder_key_serves_only_the_states_of_its_binding)
{
    char key[LEX_TEST_PATH];
    start_curve();
    char kq_key[LEX_TEST_PATH];
    lex_test_make_key(&sw, "nvdmv", "responder", "NVDMV0000 states=NV", key);
    lex_test_make_key(&sw, "nvkq", "responder", "NVDMV0000 states=NV keys=KQ", kq_key);
    finish_start(NULL, NULL);
    lex_node_t *dq = node_as("state", "NVDMV0000", "NV", kq_key); /* answers DQ */
    assert_refused(dq, "hello-refused", "answer DQ");
    lex_node_destroy(&dq);
    lex_node_t *ca = node_as("state", "NVDMV0000", "CA", key);
    assert_refused(ca, "hello-refused", "state CA");
    lex_node_destroy(&ca);
    lex_node_t *other = node_as("state", "CADMV0000", "CA", key);
    assert_refused(other, "spoofed-ori", "CADMV0000");
    lex_node_destroy(&other);
    lex_node_t *nv = node_as("state", "NVDMV0000", "NV", key);
    cr_assert_eq(lex_node_wait_ready(nv, 10000), 0, "%s", lex_node_error(nv));
    lex_node_destroy(&nv);
    cr_assert_geq(wait_records(LEX_ST_HELLO_REFUSED, public_of(key), 1), 1);
}

/* A raw DEALER that tries its handshake once (no reconnect): with
 * server_pub NULL it offers no CURVE, else CURVE with kp to server_pub. */
static void *raw_peer(void *ctx, const char *server_pub, const lex_keypair_t *kp)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int never = -1, linger = 0;
    cr_assert_not_null(s);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &never, sizeof never);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (server_pub) {
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_pub, 41);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, kp->public_z85, 41);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, kp->secret_z85, 41);
    }
    cr_assert_eq(zmq_connect(s, sw.endpoint), 0);
    return s;
}

Test(security, plain_text_and_wrong_switch_key_peers_leave_audit_records)
{
    char key[LEX_TEST_PATH], err[512];
    start_curve();
    char pd[16];
    snprintf(pd, sizeof pd, "%s", lex_test_ori_of(&sw, "PD", "NV"));
    lex_test_make_key(&sw, "pd", "agency", pd, key);
    const char *extra[] = {"--metrics-bind", "127.0.0.1:0", NULL};
    finish_start(extra, NULL);
    lex_keypair_t mine, not_the_switch;
    cr_assert_eq(lex_keyfile_load(key, &mine, err, sizeof err), 0, "%s", err);
    cr_assert_eq(lex_keypair_generate(&not_the_switch), 0);
    void *ctx = zmq_ctx_new();
    void *plain = raw_peer(ctx, NULL, NULL);
    cr_assert_geq(wait_records(LEX_ST_HANDSHAKE_FAILED, "no CURVE", 1), 1,
                  "no record of the plain-text peer");
    void *wrong = raw_peer(ctx, not_the_switch.public_z85, &mine);
    cr_assert_geq(wait_records(LEX_ST_HANDSHAKE_FAILED, "wrong switch key", 1), 1,
                  "no record of the peer with a wrong switch key");
    static char text[262144];
    lex_test_metrics(&sw, text, sizeof text);
    cr_assert_geq(lex_test_metric(text, "lexswitch_handshake_failures_total{reason=\"no-curve\"}") +
                      lex_test_metric(text, "lexswitch_handshake_failures_total{reason=\"hung-up\"}"),
                  1, "%s", text);
    cr_assert_geq(lex_test_metric(text, "lexswitch_handshake_failures_total{reason=\"bad-key\"}"),
                  1, "%s", text);
    zmq_close(plain);
    zmq_close(wrong);
    zmq_ctx_term(ctx);
    /* the bound key with the right switch key still gets in */
    lex_node_t *good = lex_test_node_with_key(&sw, pd, key);
    cr_assert_eq(lex_node_wait_ready(good, 10000), 0, "%s", lex_node_error(good));
    lex_node_destroy(&good);
}

Test(security, a_flood_of_failed_handshakes_is_counted_but_recorded_a_few_times)
{
    start_curve();
    const char *extra[] = {"--metrics-bind", "127.0.0.1:0", NULL};
    finish_start(extra, NULL);
    enum { PEERS = 30 };
    void *ctx = zmq_ctx_new(), *peers[PEERS];
    for (int i = 0; i < PEERS; i++)
        peers[i] = raw_peer(ctx, NULL, NULL);
    static char text[262144];
    double failures = 0;
    for (uint64_t end = lex_mono_us() + 10000000u; lex_mono_us() < end && failures < PEERS;
         usleep(20000)) {
        lex_test_metrics(&sw, text, sizeof text);
        /* the switch sees the mismatch, or the peer hangs up first */
        failures = 0;
        for (size_t k = 0; k < 3; k++) {
            static const char *const reasons[] = {"no-curve", "hung-up", "other"};
            char name[96];
            snprintf(name, sizeof name, "lexswitch_handshake_failures_total{reason=\"%s\"}",
                     reasons[k]);
            failures += lex_test_metric(text, name);
        }
    }
    cr_assert_eq(failures, PEERS, "every failed handshake is counted: %g\n%s", failures,
                 strstr(text, "# HELP lexswitch_handshake_failures_total"));
    /* at most 5 records per peer address a minute; a connection that fails
     * before the loop reads its accept event is named by the listening
     * endpoint instead, so one process's flood can fill two such buckets */
    cr_assert_geq(lex_test_metric(text, "lexswitch_handshake_records_suppressed_total"),
                  PEERS - 10, "%s", text);
    int records = wait_records(LEX_ST_HANDSHAKE_FAILED, NULL, 1);
    cr_assert(records >= 1 && records <= 10, "%d records for %d failures from one peer",
              records, PEERS);
    for (int i = 0; i < PEERS; i++)
        zmq_close(peers[i]);
    zmq_ctx_term(ctx);
}

/* Appends a key binding line to the directory; returns its line number. */
static int append_binding(const char *fields)
{
    FILE *f = fopen(sw.directory, "r");
    cr_assert_not_null(f);
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    lex_keypair_t kp;
    cr_assert_eq(lex_keypair_generate(&kp), 0);
    f = fopen(sw.directory, "a");
    fprintf(f, "@key|%s|%s\n", kp.public_z85, fields);
    fclose(f);
    return lines + 1;
}

Test(security, a_wildcard_binding_needs_the_broad_marker_and_is_warned_about)
{
    start_curve();
    int line = append_binding("everyone|agency|*");
    char cmd[2048], where[LEX_TEST_PATH + 16];
    snprintf(cmd, sizeof cmd, "%s/lexswitch --bind-tcp '' --bind-ipc %s --data %s --directory %s "
                              "--set curve_key=%s 2>&1", LEX_BIN_DIR, sw.endpoint, sw.data,
             sw.directory, sw.switch_key);
    cr_assert_neq(lex_test_run(cmd, out, sizeof out), 0, "started with a silent wildcard");
    snprintf(where, sizeof where, "%s:%d:", sw.directory, line);
    cr_assert(strstr(out, where) && strstr(out, "|broad"), "%s", out);

    /* the same binding, marked */
    lex_test_switch_cleanup(&sw);
    start_curve();
    line = append_binding("everyone|agency|*|broad");
    const char *extra[] = {"--metrics-bind", "127.0.0.1:0", NULL};
    finish_start(extra, NULL);
    static char text[262144];
    lex_test_metrics(&sw, text, sizeof text);
    cr_assert_eq(lex_test_metric(text, "lexswitch_broad_key_bindings"), 1, "%s", text);
    char path[LEX_TEST_PATH + 16];
    snprintf(path, sizeof path, "%s/switch.log", sw.dir);
    snprintf(where, sizeof where, "%s:%d:", sw.directory, line);
    lex_test_switch_stop(&sw);
    snprintf(cmd, sizeof cmd, "cat %s", path);
    lex_test_run(cmd, out, sizeof out);
    cr_assert(strstr(out, where) && strstr(out, "bound broadly"), "%s", out);
}

Test(security, without_curve_an_agency_ori_cannot_register_a_state)
{
    lex_test_switch_prepare(&sw);
    /* Nevada's state police answers for Nevada through a responder binding */
    lex_test_make_key(&sw, "nvsp", "responder", "NVSP00000 states=NV", (char[LEX_TEST_PATH]){0});
    finish_start(NULL, NULL);
    char pd[16];
    snprintf(pd, sizeof pd, "%s", lex_test_ori_of(&sw, "PD", "NV"));
    lex_node_t *fake = node_as("state", pd, "NV", NULL);
    assert_refused(fake, "hello-refused", "state NV");
    lex_node_destroy(&fake);
    lex_node_t *other = node_as("state", "CADMV0000", "NV", NULL);
    assert_refused(other, "hello-refused", "state NV");
    lex_node_destroy(&other);
    lex_node_t *dmv = node_as("state", "NVDMV0000", "NV", NULL);
    cr_assert_eq(lex_node_wait_ready(dmv, 10000), 0, "%s", lex_node_error(dmv));
    lex_node_t *sp = node_as("state", "NVSP00000", "NV", NULL);
    cr_assert_eq(lex_node_wait_ready(sp, 10000), 0, "%s", lex_node_error(sp));
    lex_node_destroy(&dmv);
    lex_node_destroy(&sp);
    cr_assert_geq(wait_records(LEX_ST_HELLO_REFUSED, pd, 1), 1);
}

Test(security, a_reload_that_narrows_a_responders_states_ends_its_session)
{
    char key[LEX_TEST_PATH];
    start_curve();
    lex_test_make_key(&sw, "nvdmv", "responder", "NVDMV0000 states=NV", key);
    finish_start(NULL, NULL);
    lex_node_t *nv = node_as("state", "NVDMV0000", "NV", key);
    cr_assert_eq(lex_node_wait_ready(nv, 10000), 0, "%s", lex_node_error(nv));
    /* the directory now lets the key serve California only */
    const char *pub = public_of(key);
    FILE *f = fopen(sw.directory, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    fclose(f);
    out[n] = 0;
    char *line = strstr(out, pub);
    cr_assert_not_null(line);
    *strstr(line, "states=NV") = 0;
    f = fopen(sw.directory, "w");
    fprintf(f, "%sstates=CA\n", out);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/lexctl directory reload --data %s 2>&1", LEX_BIN_DIR, sw.data);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    int code = -1;
    char text[256] = "";
    lex_message_t m;
    for (uint64_t end = lex_mono_us() + 10000000u; lex_mono_us() < end && code != LEX_ST_REVOKED;)
        if (lex_node_recv(nv, &m, 50) == 0 && strcmp(m.env.key, "ST") == 0)
            lex_status_parse(m.body, m.body_len, &code, text, sizeof text);
    cr_assert_eq(code, LEX_ST_REVOKED, "the session outlived its binding");
    cr_assert(strstr(text, "state NV"), "%s", text);
    lex_node_destroy(&nv);
}
