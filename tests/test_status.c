/* test_status.c: `lexctl status` against a running switch: the counters
 * it shows move with real queries, the connected nodes are listed with
 * their states, the JSON form is one object, and an ORI that is not an
 * operations desk is refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "traffic.h"

static lex_test_switch_t sw;

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(status, .fini = teardown, .timeout = 60);

Test(status, shows_counters_nodes_and_refuses_a_non_operator)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "NV,OR", 1000);
    lex_node_t *pd = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "NV"));
    lex_test_ask_drivers(pd, "NV", 3, 1);

    static char out[65536];
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/lexctl status --connect %s --once", LEX_BIN_DIR, sw.endpoint);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    /* four HELLOs (NV, OR, requester, status), three queries, three answers, the SSQ */
    cr_assert(strstr(out, "received 11 ") != NULL, "%s", out);
    cr_assert(strstr(out, "in flight 0") != NULL, "%s", out);
    cr_assert(strstr(out, "4 connected") != NULL, "NV, OR, requester, status: %s", out);
    cr_assert(strstr(out, "  NV\n") != NULL && strstr(out, "  OR\n") != NULL, "%s", out);
    cr_assert(strstr(out, lex_test_ori_of(&sw, "PD", "NV")) != NULL, "%s", out);

    snprintf(cmd, sizeof cmd, "%s/lexctl status --connect %s --json", LEX_BIN_DIR, sw.endpoint);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert_eq(out[0], '{', "%s", out);
    /* and the first status client's BYE (if it has arrived), HELLO and SSQ;
     * a node idle for a heartbeat interval (200 ms, easily passed in a slow
     * sanitizer run) adds its HBs, which count as received too */
    const char *received = strstr(out, "\"received\": ");
    cr_assert_not_null(received, "%s", out);
    int n = atoi(received + 12);
    cr_assert(n >= 13 && n <= 20, "%s", out);
    cr_assert(strstr(out, "\"role\": \"state\"") != NULL, "%s", out);
    int lines = 0;
    for (char *c = out; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, 1, "one JSON object on one line: %s", out);

    snprintf(cmd, sizeof cmd, "%s/lexctl status --connect %s --once --ori %s 2>&1", LEX_BIN_DIR,
             sw.endpoint, lex_test_ori_of(&sw, "PD", "OR"));
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "not-authorised") != NULL, "%s", out);
    lex_node_destroy(&pd);
}
