/* test_review.c: review through the real switch: a state's rule holds a
 * query, the requester hears "held" at once, the state's operator (lexctl
 * review, a real process) approves or denies it and the requester gets the
 * real answer; holds survive a restart, expire, and belong to their state's
 * operators alone. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "lex_population.h"
#include "lex_status.h"

static lex_test_switch_t sw;
static char fbi_ori[16];
static lex_driver_t d;

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(review, .fini = teardown, .timeout = 90);

static const char *il_rules = "rule il-fed-name-search-review\n"
                              "  level federal\n"
                              "  kind by-name\n"
                              "  review\n";

static void start(const char *const *extra)
{
    lex_test_switch_prepare(&sw);
    lex_test_write_rules(&sw, "IL", il_rules);
    lex_test_switch_start(&sw, extra);
    lex_test_states_start(&sw, "IL", 1000);
    snprintf(fbi_ori, sizeof fbi_ori, "%s", lex_test_ori_of(&sw, "FBI", "IL"));
    lex_population_t *pop = NULL;
    cr_assert_eq(lex_population_new("IL", 1000, 1000, &pop), 0);
    lex_population_driver(pop, 21, &d);
    lex_population_destroy(&pop);
}

/* Sends a name search from the FBI node; returns the query's id after
 * checking that the first answer is ST held-for-review. */
static uint64_t ask_and_get_held(lex_node_t *n)
{
    char name[96], dob[32];
    snprintf(name, sizeof name, "name=%s", d.name);
    snprintf(dob, sizeof dob, "dob=%s", d.dob);
    const char *words[] = {name, dob, NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "IL", words, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_HELD, "got %s", m.env.key);
    return m.env.ref;
}

static int review(const char *args, char *out, size_t outlen)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/lexctl review %s --connect %s 2>&1", LEX_BIN_DIR, args,
             sw.endpoint);
    return lex_test_run(cmd, out, outlen);
}

Test(review, held_query_is_answered_after_the_states_operator_approves)
{
    start(NULL);
    lex_node_t *fbi = lex_test_node(&sw, fbi_ori);
    uint64_t qid = ask_and_get_held(fbi);
    static char out[16384];
    cr_assert_eq(review("list --state IL", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "hold 1 ") != NULL, "%s", out);
    cr_assert(strstr(out, "1 held for IL") != NULL, "%s", out);
    cr_assert_eq(review("show 1 --state IL", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, d.dob) != NULL, "the operator sees the query: %s", out);
    cr_assert_eq(review("approve 1 --state IL", out, sizeof out), 0, "%s", out);
    lex_message_t m;
    cr_assert_eq(lex_test_recv_answer(fbi, qid, &m, 10000), 0, "no answer after approval");
    cr_assert_str_eq(m.env.key, "DR");
    cr_assert_eq(review("list --state IL", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "0 held for IL") != NULL, "%s", out);
    /* a number look-up by the same agency is not held */
    char lic[40];
    snprintf(lic, sizeof lic, "lic=%s", d.lic);
    const char *words[] = {lic, NULL};
    cr_assert_eq(lex_test_ask(fbi, "DQ", "IL", words, &m), 0);
    cr_assert_str_eq(m.env.key, "DR");
    lex_node_destroy(&fbi);
}

Test(review, denied_after_review_reaches_the_requester)
{
    start(NULL);
    lex_node_t *fbi = lex_test_node(&sw, fbi_ori);
    uint64_t qid = ask_and_get_held(fbi);
    static char out[16384];
    cr_assert_eq(review("deny 1 --state IL --note 'no warrant'", out, sizeof out), 0, "%s", out);
    lex_message_t m;
    cr_assert_eq(lex_test_recv_answer(fbi, qid, &m, 10000), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_DENIED);
    lex_node_destroy(&fbi);
}

Test(review, an_operator_of_another_state_cannot_decide_or_see_the_hold)
{
    start(NULL);
    lex_node_t *fbi = lex_test_node(&sw, fbi_ori);
    ask_and_get_held(fbi);
    static char out[16384];
    /* New York's desk asking about New York's holds cannot touch IL's */
    cr_assert_eq(review("approve 1 --state NY", out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "not-authorised") != NULL, "%s", out);
    cr_assert_eq(review("list --state NY", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "0 held for NY") != NULL, "%s", out);
    /* and New York's desk cannot claim to be Illinois' */
    cr_assert_eq(review("approve 1 --state IL --ori NYOPS0000", out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "not-authorised") != NULL, "%s", out);
    /* the hold is still there for Illinois */
    cr_assert_eq(review("list --state IL", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "1 held for IL") != NULL, "%s", out);
    lex_node_destroy(&fbi);
}

Test(review, a_hold_survives_a_switch_restart)
{
    start(NULL);
    lex_node_t *fbi = lex_test_node(&sw, fbi_ori);
    uint64_t qid = ask_and_get_held(fbi);
    lex_node_destroy(&fbi);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "IL", 1000);
    fbi = lex_test_node(&sw, fbi_ori);
    static char out[16384];
    cr_assert_eq(review("list --state IL", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "1 held for IL") != NULL, "hold lost in the restart: %s", out);
    cr_assert_eq(review("approve 1 --state IL", out, sizeof out), 0, "%s", out);
    lex_message_t m;
    cr_assert_eq(lex_test_recv_answer(fbi, qid, &m, 10000), 0, "no answer after the restart");
    cr_assert_str_eq(m.env.key, "DR");
    lex_node_destroy(&fbi);
}

Test(review, an_undecided_hold_expires_with_st_expired)
{
    const char *extra[] = {"--set", "hold_expiry_s=1", NULL};
    start(extra);
    lex_node_t *fbi = lex_test_node(&sw, fbi_ori);
    uint64_t qid = ask_and_get_held(fbi);
    lex_message_t m;
    cr_assert_eq(lex_test_recv_answer(fbi, qid, &m, 10000), 0, "no expiry status");
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_EXPIRED);
    static char out[16384];
    cr_assert_eq(review("approve 1 --state IL", out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "no-such-hold") != NULL, "%s", out);
    lex_node_destroy(&fbi);
}
