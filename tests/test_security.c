/* test_security.c: authentication and limits through the real switch with
 * CURVE on: keys bound in the directory connect, everything else fails
 * closed (plain text, unknown keys, ORIs outside a key's binding, spoofed
 * sources, another state's or a non-operator key deciding holds), and the
 * limits answer floods and stuck responders with a status, never silence. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "lex_error.h"
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
    char cmd[1024];
    lex_test_switch_stop(&sw);
    snprintf(cmd, sizeof cmd, "%s/lexctl tail --data %s -n 100000 2>&1", LEX_BIN_DIR, sw.data);
    lex_test_run(cmd, out, sizeof out);
    return out;
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
