/* test_s2s.c: switches joined to switches, as real lexswitch processes: a
 * national switch with a Nevada switch (its responder and a local agency
 * attached) and a California switch (an agency attached) joined to it over
 * TCP on 127.0.0.1 with CURVE; queries and denials across three switches,
 * each switch's audit log read back; a refused pattern claim; and two
 * switches pointed at each other, where a query ends with ST loop. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "lex_auditlog.h"
#include "lex_body.h"
#include "lex_error.h"
#include "lex_population.h"
#include "lex_status.h"

#define DRIVERS 500

static lex_test_switch_t nat, nv, ca;

static void teardown(void)
{
    lex_test_switch_cleanup(&ca);
    lex_test_switch_cleanup(&nv);
    lex_test_switch_cleanup(&nat);
}

TestSuite(s2s, .fini = teardown, .timeout = 90);

/* The TCP endpoint the switch bound (first line of its ready file). */
static void tcp_endpoint(const lex_test_switch_t *t, char out[LEX_TEST_PATH])
{
    char path[LEX_TEST_PATH + 16], line[LEX_TEST_PATH];
    snprintf(path, sizeof path, "%s/switch.ready", t->dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    out[0] = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "tcp://", 6) == 0) {
            line[strcspn(line, "\n")] = 0;
            snprintf(out, LEX_TEST_PATH, "%s", line);
            break;
        }
    fclose(f);
    cr_assert(out[0], "no TCP endpoint in %s", path);
}

/* Polls the switch's own log (stderr) until it holds text. */
static void wait_log(const lex_test_switch_t *t, const char *text)
{
    char path[LEX_TEST_PATH + 16], buf[65536];
    snprintf(path, sizeof path, "%s/switch.log", t->dir);
    for (int waited = 0; waited < 10000; waited += 20) {
        FILE *f = fopen(path, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            buf[n] = 0;
            fclose(f);
            if (strstr(buf, text))
                return;
        }
        usleep(20000);
    }
    cr_assert_fail("'%s' not in %s within 10 s", text, path);
}

/* How many times text occurs in the switch's own log. */
static int log_count(const lex_test_switch_t *t, const char *text)
{
    char path[LEX_TEST_PATH + 16], buf[65536];
    snprintf(path, sizeof path, "%s/switch.log", t->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    int count = 0;
    for (const char *p = buf; (p = strstr(p, text)); p += strlen(text))
        count++;
    return count;
}

/* Starts t joined to upstream for patterns, with CURVE when key is given. */
static void start_joined(lex_test_switch_t *t, const char *upstream, const char *patterns,
                         const char *key, const char *upstream_pub)
{
    char o_up[LEX_TEST_PATH + 16], o_serves[64], o_key[LEX_TEST_PATH + 16],
        o_pub[LEX_TEST_PATH + 32];
    snprintf(o_up, sizeof o_up, "upstream=%s", upstream);
    snprintf(o_serves, sizeof o_serves, "upstream_serves=%s", patterns);
    snprintf(o_key, sizeof o_key, "upstream_key=%s", key ? key : "");
    snprintf(o_pub, sizeof o_pub, "upstream_switch_key=%s", upstream_pub ? upstream_pub : "");
    const char *extra[] = {"--bind-tcp", "tcp://127.0.0.1:*", "--set", o_up, "--set", o_serves,
                           "--set", o_key, "--set", o_pub, NULL};
    lex_test_switch_start(t, extra);
}

/* A registered CURVE node at t for one ORI (key made by lex_test_make_key
 * before t started, when its directory was read). */
static lex_node_t *curve_node(lex_test_switch_t *t, const char *key, const char *ori)
{
    lex_node_t *n = lex_test_node_with_key(t, ori, key);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "%s: %s", ori, lex_node_error(n));
    return n;
}

static const char *licence_word(const char *state, uint32_t i, char lic[32], char out[40])
{
    lex_population_t *pop = NULL;
    lex_driver_t d;
    cr_assert_eq(lex_population_new(state, DRIVERS, DRIVERS, &pop), 0);
    lex_population_driver(pop, i, &d);
    lex_population_destroy(&pop);
    snprintf(lic, 32, "%s", d.lic);
    snprintf(out, 40, "lic=%s", d.lic);
    return out;
}

static int contains(const void *data, size_t len, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp((const char *)data + i, text, n) == 0)
            return 1;
    return 0;
}

/* What a test looks for in an audit log, and how often it was found. */
typedef struct {
    lex_direction_t dir;
    const char *key;
    const char *decision;   /* NULL = any */
    const char *rule;       /* NULL = any */
    int status;             /* -1 = any */
    int count;
    uint32_t max_hops;      /* largest envelope hop count among the matches */
} match_t;

static int count_match(const lex_log_record_t *r, void *arg)
{
    match_t *m = arg;
    if (r->dir != m->dir || strcmp(r->key, m->key) != 0 ||
        (m->decision && strcmp(r->decision, m->decision) != 0) ||
        (m->rule && strcmp(r->rule_id, m->rule) != 0) || (m->status >= 0 && r->status != m->status))
        return 0;
    m->count++;
    lex_envelope_t e;
    if (r->envelope_len && lex_envelope_decode(r->envelope, r->envelope_len, &e, NULL) == 0 &&
        e.hops > m->max_hops)
        m->max_hops = e.hops;
    return 0;
}

/* Counts the records of a stopped switch's log that match; checks the chain. */
static match_t count_in_log(const lex_test_switch_t *t, match_t m)
{
    lex_log_t *log = NULL;
    char err[256];
    cr_assert_eq(lex_log_open_reader(t->data, &log, err, sizeof err), 0, "%s", err);
    cr_assert_eq(lex_log_scan(log, 0, 0, count_match, &m), 0);
    uint64_t bad = 0;
    cr_assert_eq(lex_log_verify(log, &bad), 0, "%s: chain broken at %llu", t->data,
                 (unsigned long long)bad);
    lex_log_close(&log);
    return m;
}

Test(s2s, query_crosses_three_switches_and_a_state_switch_denial_comes_back)
{
    lex_test_switch_prepare(&nat);
    lex_test_switch_use_curve(&nat);
    char nv_link[LEX_TEST_PATH], ca_link[LEX_TEST_PATH], nat_tcp[LEX_TEST_PATH];
    lex_test_make_key(&nat, "nvswitch", "switch", "NV*|broad", nv_link);
    lex_test_make_key(&nat, "caswitch", "switch", "CA*|broad", ca_link);
    const char *nat_extra[] = {"--bind-tcp", "tcp://127.0.0.1:*", NULL};
    lex_test_switch_start(&nat, nat_extra);
    tcp_endpoint(&nat, nat_tcp);

    lex_test_switch_prepare(&nv);
    lex_test_switch_use_curve(&nv);
    lex_test_write_rules(&nv, "NV", "rule nv-no-history-to-california\n"
                                    "  home CA\n"
                                    "  key KQ\n"
                                    "  deny denied\n");
    char reno[LEX_ORI_LEN + 1], reno_key[LEX_TEST_PATH];
    snprintf(reno, sizeof reno, "%s", lex_test_ori_of(&nv, "PD", "NV"));
    lex_test_make_key(&nv, "nvpolice", "agency", reno, reno_key);
    start_joined(&nv, nat_tcp, "NV*", nv_link, nat.switch_pub);
    lex_test_states_start(&nv, "NV", DRIVERS);
    lex_test_switch_prepare(&ca);
    lex_test_switch_use_curve(&ca);
    char sheriff[LEX_ORI_LEN + 1], sheriff_key[LEX_TEST_PATH];
    snprintf(sheriff, sizeof sheriff, "%s", lex_test_ori_of(&ca, "SO", "CA"));
    lex_test_make_key(&ca, "casheriff", "agency", sheriff, sheriff_key);
    start_joined(&ca, nat_tcp, "CA*", ca_link, nat.switch_pub);
    wait_log(&nv, "joined upstream");
    wait_log(&ca, "joined upstream");
    lex_node_t *ca_so = curve_node(&ca, sheriff_key, sheriff);
    lex_node_t *nv_pd = curve_node(&nv, reno_key, reno);

    /* CA agency -> CA switch -> national -> NV switch -> NV responder, and back */
    char lic[32], word[40];
    const char *words[] = {licence_word("NV", 42, lic, word), NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(ca_so, "DQ", "NV", words, &m), 0, "no answer across switches");
    cr_assert_str_eq(m.env.key, "DR", "got %s (status %d)", m.env.key, lex_test_status_code(&m));
    cr_assert(contains(m.body, m.body_len, lic), "the answer lacks licence %s", lic);

    /* Nevada's rule lives at Nevada's switch: the denial comes back */
    cr_assert_eq(lex_test_ask(ca_so, "KQ", "NV", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_DENIED, "got %s status %d", m.env.key,
                 lex_test_status_code(&m));

    /* a Nevada agency at its own switch: answered locally */
    cr_assert_eq(lex_test_ask(nv_pd, "KQ", "NV", words, &m), 0);
    cr_assert_str_eq(m.env.key, "KR", "got %s status %d", m.env.key, lex_test_status_code(&m));

    /* nobody serves California's records: the CA switch says so, and does
     * not send the query back up where it came from */
    cr_assert_eq(lex_test_ask(nv_pd, "DQ", "CA", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_NO_ROUTE, "got %s status %d", m.env.key,
                 lex_test_status_code(&m));

    lex_node_destroy(&ca_so);
    lex_node_destroy(&nv_pd);
    cr_assert_eq(lex_test_switch_stop(&ca), 0);
    cr_assert_eq(lex_test_switch_stop(&nv), 0);
    cr_assert_eq(lex_test_switch_stop(&nat), 0);

    /* each switch logged its own hop */
    match_t q = count_in_log(&ca, (match_t){LEX_DIR_IN, "DQ", "allow", NULL, -1, 0, 0});
    cr_assert_eq(q.count, 1, "CA switch: %d DQ in", q.count);   /* its agency's, to NV */
    q = count_in_log(&ca, (match_t){LEX_DIR_IN, "DQ", "refuse", NULL, LEX_ST_NO_ROUTE, 0, 0});
    cr_assert_eq(q.count, 1, "CA switch: the DQ for CA it could not route");
    q = count_in_log(&ca, (match_t){LEX_DIR_OUT, "DR", NULL, NULL, -1, 0, 0});
    cr_assert_eq(q.count, 1, "CA switch: the DR to its agency");
    q = count_in_log(&ca, (match_t){LEX_DIR_OUT, "ST", NULL, NULL, LEX_ST_DENIED, 0, 0});
    cr_assert_eq(q.count, 1, "CA switch: the denial to its agency");
    q = count_in_log(&nat, (match_t){LEX_DIR_IN, "DQ", "allow", NULL, -1, 0, 0});
    cr_assert_eq(q.count, 2, "national: %d DQ in", q.count);
    q = count_in_log(&nat, (match_t){LEX_DIR_IN, "DR", NULL, NULL, -1, 0, 0});
    cr_assert_eq(q.count, 1, "national: the DR from the NV switch");
    q = count_in_log(&nv, (match_t){LEX_DIR_IN, "DQ", "allow", NULL, -1, 0, 0});
    cr_assert_eq(q.count, 2, "NV switch: %d DQ in", q.count);  /* from upstream; its own agency */
    cr_assert_eq(q.max_hops, 2, "the query reached NV with hop %u", q.max_hops);
    q = count_in_log(&nv, (match_t){LEX_DIR_IN, "KQ", "deny", "nv-no-history-to-california", -1,
                                    0, 0});
    cr_assert_eq(q.count, 1, "NV switch: the denial by its rule");
    q = count_in_log(&nat, (match_t){LEX_DIR_IN, "KQ", "deny", NULL, -1, 0, 0});
    cr_assert_eq(q.count, 0, "the national switch holds no Nevada rules");
}

Test(s2s, a_switch_cannot_claim_patterns_outside_its_key_binding)
{
    lex_test_switch_prepare(&nat);
    lex_test_switch_use_curve(&nat);
    char nv_link[LEX_TEST_PATH], nat_tcp[LEX_TEST_PATH];
    lex_test_make_key(&nat, "nvswitch", "switch", "NV*|broad", nv_link);
    const char *nat_extra[] = {"--bind-tcp", "tcp://127.0.0.1:*", NULL};
    lex_test_switch_start(&nat, nat_extra);
    tcp_endpoint(&nat, nat_tcp);
    lex_test_switch_prepare(&nv);
    lex_test_switch_use_curve(&nv);
    start_joined(&nv, nat_tcp, "NV* CA*", nv_link, nat.switch_pub);
    wait_log(&nv, "REFUSED this switch");
    wait_log(&nv, "CA* is not bound");
    cr_assert_eq(lex_test_switch_stop(&nv), 0);
    cr_assert_eq(lex_test_switch_stop(&nat), 0);
    match_t h = count_in_log(&nat, (match_t){LEX_DIR_IN, "HELLO", "refuse", NULL,
                                             LEX_ST_SPOOFED_ORI, 0, 0});
    cr_assert_geq(h.count, 1, "the refused claim is in the national log");
}

Test(s2s, two_switches_pointed_at_each_other_end_a_query_with_st_loop)
{
    /* each joins the other for every destination: a query nobody serves
     * would circle for ever without the hop limit */
    lex_test_switch_prepare(&nat);
    lex_test_switch_prepare(&nv);
    const char *a_extra[] = {"--set", NULL, "--set", "upstream_serves=*", NULL};
    const char *b_extra[] = {"--set", NULL, "--set", "upstream_serves=*", NULL};
    char a_up[LEX_TEST_PATH + 16], b_up[LEX_TEST_PATH + 16];
    snprintf(a_up, sizeof a_up, "upstream=%s", nv.endpoint);
    snprintf(b_up, sizeof b_up, "upstream=%s", nat.endpoint);
    a_extra[1] = a_up;
    b_extra[1] = b_up;
    lex_test_switch_start(&nat, a_extra);
    lex_test_switch_start(&nv, b_extra);
    wait_log(&nat, "joined upstream");
    wait_log(&nv, "joined upstream");

    lex_node_t *n = lex_test_node(&nat, lex_test_ori_of(&nat, "PD", "WY"));
    const char *words[] = {"lic=W00000001", NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "WY", words, &m), 0, "no answer to a looping query");
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_LOOP, "got %s status %d", m.env.key,
                 lex_test_status_code(&m));
    /* exactly one answer: nothing else arrives for it */
    uint64_t asked = m.env.ref;
    cr_assert_eq(lex_test_recv_answer(n, asked, &m, 300), LEX_ETIMEOUT, "a second answer");
    /* an administrative message expects no answer; it stops at the limit too */
    lex_envelope_t am;
    lex_envelope_init(&am);
    strcpy(am.key, "AM");
    lex_envelope_add_dst(&am, "WY");
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_kv_str(&pk, "text", "road closed");
    cr_assert_eq(lex_node_send(n, &am, body.data, body.len), 0);
    lex_buf_free(&body);
    for (int waited = 0; log_count(&nv, "refused as a loop") < 2; waited += 20) {
        cr_assert_lt(waited, 10000, "the AM was not refused as a loop");
        usleep(20000);
    }
    lex_node_destroy(&n);
    cr_assert_eq(lex_test_switch_stop(&nv), 0);
    cr_assert_eq(lex_test_switch_stop(&nat), 0);

    /* hops 0, 2, 4, 6, 8 at the first switch; 1, 3, 5, 7 forwarded and 9
     * refused at the second: bounded, and the refusal is logged */
    match_t a = count_in_log(&nat, (match_t){LEX_DIR_IN, "DQ", NULL, NULL, -1, 0, 0});
    match_t b = count_in_log(&nv, (match_t){LEX_DIR_IN, "DQ", NULL, NULL, -1, 0, 0});
    cr_assert_eq(a.count + b.count, 10, "DQ records: %d + %d", a.count, b.count);
    match_t refused = count_in_log(&nv, (match_t){LEX_DIR_IN, "DQ", "refuse", NULL, LEX_ST_LOOP,
                                                  0, 0});
    cr_assert_eq(refused.count, 1);
    cr_assert_eq(refused.max_hops, 9);
    /* the query's status went back hop by hop (four relays at each switch
     * and the requester's copy at the first), and the AM's refusal went
     * one hop back, where it ends: no status storm */
    match_t a_st = count_in_log(&nat, (match_t){LEX_DIR_OUT, "ST", NULL, NULL, -1, 0, 0});
    match_t b_st = count_in_log(&nv, (match_t){LEX_DIR_OUT, "ST", NULL, NULL, -1, 0, 0});
    cr_assert_eq(a_st.count + b_st.count, 11, "ST records out: %d + %d", a_st.count, b_st.count);
    match_t told = count_in_log(&nat, (match_t){LEX_DIR_OUT, "ST", NULL, NULL, LEX_ST_LOOP, 0, 0});
    cr_assert_eq(told.count, 5, "ST loop records out at the first switch: %d", told.count);
    match_t am_a = count_in_log(&nat, (match_t){LEX_DIR_IN, "AM", NULL, NULL, -1, 0, 0});
    match_t am_b = count_in_log(&nv, (match_t){LEX_DIR_IN, "AM", NULL, NULL, -1, 0, 0});
    cr_assert_eq(am_a.count + am_b.count, 10, "AM records: %d + %d", am_a.count, am_b.count);
}

Test(s2s, two_switches_share_the_country_each_serving_what_the_other_lacks)
{
    /* east hosts Illinois, west Nevada; each joins the other for its own */
    lex_test_switch_prepare(&nat);
    lex_test_switch_prepare(&nv);
    char east_up[LEX_TEST_PATH + 16], west_up[LEX_TEST_PATH + 16];
    snprintf(east_up, sizeof east_up, "upstream=%s", nv.endpoint);
    snprintf(west_up, sizeof west_up, "upstream=%s", nat.endpoint);
    const char *east_extra[] = {"--set", east_up, "--set", "upstream_serves=IL*", NULL};
    const char *west_extra[] = {"--set", west_up, "--set", "upstream_serves=NV*", NULL};
    lex_test_switch_start(&nat, east_extra);
    lex_test_switch_start(&nv, west_extra);
    lex_test_states_start(&nat, "IL", DRIVERS);
    lex_test_states_start(&nv, "NV", DRIVERS);
    wait_log(&nat, "joined upstream");
    wait_log(&nv, "joined upstream");

    lex_node_t *chicago = lex_test_node(&nat, lex_test_ori_of(&nat, "PD", "IL"));
    lex_node_t *reno = lex_test_node(&nv, lex_test_ori_of(&nv, "PD", "NV"));
    char nv_lic[32], nv_word[40], il_lic[32], il_word[40];
    const char *nv_words[] = {licence_word("NV", 7, nv_lic, nv_word), NULL};
    const char *il_words[] = {licence_word("IL", 9, il_lic, il_word), NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(chicago, "DQ", "NV", nv_words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR", "got %s status %d", m.env.key, lex_test_status_code(&m));
    cr_assert(contains(m.body, m.body_len, nv_lic));
    cr_assert_eq(lex_test_ask(reno, "DQ", "IL", il_words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR", "got %s status %d", m.env.key, lex_test_status_code(&m));
    cr_assert(contains(m.body, m.body_len, il_lic));
    /* neither serves Wyoming: one trip over and back, then no-route */
    cr_assert_eq(lex_test_ask(chicago, "DQ", "WY", nv_words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_NO_ROUTE, "got %s status %d", m.env.key,
                 lex_test_status_code(&m));
    lex_node_destroy(&chicago);
    lex_node_destroy(&reno);
    cr_assert_eq(lex_test_switch_stop(&nv), 0);
    cr_assert_eq(lex_test_switch_stop(&nat), 0);
}

Test(s2s, a_state_switch_joins_again_after_the_national_switch_restarts)
{
    lex_test_switch_prepare(&nat);
    lex_test_switch_prepare(&nv);
    lex_test_switch_start(&nat, NULL);
    char up[LEX_TEST_PATH + 16];
    snprintf(up, sizeof up, "upstream=%s", nat.endpoint);
    const char *extra[] = {"--set", up, "--set", "upstream_serves=NV*", NULL};
    lex_test_switch_start(&nv, extra);
    lex_test_states_start(&nv, "NV", DRIVERS);
    wait_log(&nv, "joined upstream");
    char lic[32], word[40];
    const char *words[] = {licence_word("NV", 3, lic, word), NULL};
    char ori[LEX_ORI_LEN + 1];
    snprintf(ori, sizeof ori, "%s", lex_test_ori_of(&nat, "SO", "AZ"));
    lex_node_t *n = lex_test_node(&nat, ori);
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "NV", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR");
    lex_node_destroy(&n);

    /* the national switch stops (BYE to the NV switch) and comes back */
    cr_assert_eq(lex_test_switch_stop(&nat), 0);
    lex_test_switch_start(&nat, NULL);
    for (int waited = 0; log_count(&nv, "joined upstream") < 2; waited += 20) {
        cr_assert_lt(waited, 10000, "the NV switch did not join again");
        usleep(20000);
    }
    n = lex_test_node(&nat, ori);
    cr_assert_eq(lex_test_ask(n, "DQ", "NV", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR", "got %s status %d", m.env.key, lex_test_status_code(&m));
    cr_assert(contains(m.body, m.body_len, lic));
    lex_node_destroy(&n);
}
