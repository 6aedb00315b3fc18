/* test_tools.c: the command-line tools as a user runs them: lexctl send
 * through a real switch, lexctl audit/tail/verify on the log it wrote,
 * lexctl rules check/test on real files, and a short lexsim run. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "lex_population.h"

static lex_test_switch_t sw;

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(tools, .fini = teardown, .timeout = 120);

#define run lex_test_run

static int count_lines(const char *text)
{
    int lines = 0;
    for (; *text; text++)
        lines += *text == '\n';
    return lines;
}

Test(tools, lexctl_send_prints_the_answer_and_audit_finds_it)
{
    lex_test_switch_prepare(&sw);
    lex_test_write_rules(&sw, "IL", "rule il-no-ice\n  family ICE-ERO\n  deny denied\n");
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "IL", 1000);
    lex_population_t *pop = NULL;
    cr_assert_eq(lex_population_new("IL", 1000, 1000, &pop), 0);
    lex_driver_t d;
    lex_population_driver(pop, 17, &d);
    lex_population_destroy(&pop);

    static char out[65536];
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/lexctl send --connect %s --ori %s --to IL DQ lic=%s",
             LEX_BIN_DIR, sw.endpoint, lex_test_ori_of(&sw, "PD", "IL"), d.lic);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "\"key\": \"DR\"") != NULL, "%s", out);
    cr_assert(strstr(out, d.lic) != NULL, "%s", out);

    snprintf(cmd, sizeof cmd, "%s/lexctl send --connect %s --ori %s --to IL DQ lic=%s",
             LEX_BIN_DIR, sw.endpoint, lex_test_ori_of(&sw, "ICE-ERO", NULL), d.lic);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "\"name\": \"denied\"") != NULL, "%s", out);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    snprintf(cmd, sizeof cmd, "%s/lexctl audit --data %s --state IL --decision deny", LEX_BIN_DIR,
             sw.data);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "rule=il-no-ice") != NULL, "%s", out);
    cr_assert(strstr(out, "\n2 records\n") != NULL, "in and out of the denied query: %s", out);

    snprintf(cmd, sizeof cmd, "%s/lexctl tail --data %s -n 3 --json", LEX_BIN_DIR, sw.data);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    int lines = 0;
    for (char *c = out; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, 3, "%s", out);

    snprintf(cmd, sizeof cmd, "%s/lexctl verify --data %s", LEX_BIN_DIR, sw.data);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "chain intact") != NULL, "%s", out);

    /* the ICE node's session, its query and the status it got, found by
     * the requester's family */
    snprintf(cmd, sizeof cmd, "%s/lexctl audit --data %s --family ICE-ERO --format csv",
             LEX_BIN_DIR, sw.data);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strncmp(out, "seq,time,dir,key,", 17) == 0, "%s", out);
    cr_assert_eq(count_lines(out), 6, "header, HELLO, WELCOME, DQ in, ST out, BYE: %s", out);
    cr_assert(strstr(out, ",in,DQ,") && strstr(out, ",out,ST,") && strstr(out, ",federal,"),
              "%s", out);

    snprintf(cmd, sizeof cmd, "%s/lexctl audit --data %s --from 2001-01-01 --to 2001-12-31",
             LEX_BIN_DIR, sw.data);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert_str_eq(out, "0 records\n");
    snprintf(cmd, sizeof cmd, "%s/lexctl audit --data %s --from 2001-01-01 --key DR "
             "--format jsonl", LEX_BIN_DIR, sw.data);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert_eq(count_lines(out), 2, "the DR in and out: %s", out);
    snprintf(cmd, sizeof cmd, "%s/lexctl audit --data %s --from yesterday", LEX_BIN_DIR, sw.data);
    cr_assert_eq(run(cmd, out, sizeof out), 2, "%s", out);

    snprintf(cmd, sizeof cmd, "%s/lexctl export --data %s", LEX_BIN_DIR, sw.data);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    int records = count_lines(out);
    cr_assert_geq(records, 6, "%s", out);
    cr_assert(strncmp(out, "{\"seq\": 1, ", 11) == 0, "%s", out);
    cr_assert(strstr(out, "\"body\": \"") && strstr(out, "\"hash\": \""), "%s", out);
}

Test(tools, rules_check_accepts_the_scenario_and_names_the_bad_line)
{
    static char out[65536];
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/lexctl rules check %s/tools/scenario/*.rules", LEX_BIN_DIR,
             LEX_SOURCE_DIR);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "IL.rules: ok") != NULL, "%s", out);

    char dir[128], path[256];
    lex_test_tmpdir(dir);
    snprintf(path, sizeof path, "%s/NV.rules", dir);
    FILE *f = fopen(path, "w");
    fputs("default allow\n\nrule r1\n  family ICE-ERO\n  deny maybe\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s/lexctl rules check %s", LEX_BIN_DIR, path);
    cr_assert_eq(run(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "NV.rules:5:") != NULL, "%s", out);
    lex_test_rmrf(dir);
}

Test(tools, rules_test_names_the_deciding_rule)
{
    lex_test_switch_prepare(&sw); /* for its directory file */
    static char out[65536];
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s/lexctl rules test --rules %s/tools/scenario --directory %s --ori %s --state IL "
             "--key DQ",
             LEX_BIN_DIR, LEX_SOURCE_DIR, sw.directory, lex_test_ori_of(&sw, "ICE-ERO", NULL));
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "rule il-no-immigration-enforcement") != NULL, "%s", out);
    cr_assert(strstr(out, "no-record") != NULL, "%s", out);
}

Test(tools, lexsim_reports_routed_messages_and_every_kind_of_decision)
{
    static char out[65536];
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/lexsim --duration 3 --rate 400 --locals 4 --drivers 2000 "
                              "--federal-pct 40 --quiet --json 2>/dev/null",
             LEX_BIN_DIR);
    cr_assert_eq(run(cmd, out, sizeof out), 0, "%s", out);
    const char *routed = strstr(out, "\"routed\": ");
    cr_assert_not_null(routed, "%s", out);
    cr_assert_gt(atol(routed + 10), 1000, "%s", out);
    const char *dec = strstr(out, "\"by_decision\": {");
    cr_assert_not_null(dec);
    long allow = atol(strstr(dec, "\"allow\": ") + 9), deny = atol(strstr(dec, "\"deny\": ") + 8),
         redact = atol(strstr(dec, "\"redact\": ") + 10);
    cr_assert(allow > 0 && deny > 0 && redact > 0, "%s", out);
    cr_assert(strstr(out, "\"unanswered\": 0") != NULL, "every query was answered: %s", out);
    cr_assert(strstr(out, "\"p99\": ") != NULL);
}

Test(tools, rules_reload_under_load_loses_no_message_and_reports_refusals)
{
    lex_test_switch_prepare(&sw);
    lex_test_write_rules(&sw, "IL", "rule il-no-ice\n  family ICE-ERO\n  deny denied\n");
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "IL,NY,TX", 1000);
    static char out[65536];
    char cmd[1024], result[256];
    snprintf(result, sizeof result, "%s/load.json", sw.dir);
    /* agencies querying in the background while the rules change */
    snprintf(cmd, sizeof cmd,
             "%s/lexload --connect %s --directory %s --drivers 1000 --rate 300 --duration 3 "
             "--quiet --json %s > /dev/null 2>&1 &",
             LEX_BIN_DIR, sw.endpoint, sw.directory, result);
    cr_assert_eq(system(cmd), 0);
    for (int i = 0; i < 6; i++) {
        int good = i % 2 == 0;
        lex_test_write_rules(&sw, "NY",
                             good ? "rule ny-no-ice\n  family ICE-ERO\n  deny no-record\n"
                                  : "rule ny-broken\n  family\n  deny denied\n");
        snprintf(cmd, sizeof cmd, "%s/lexctl rules reload --data %s", LEX_BIN_DIR, sw.data);
        int rc = run(cmd, out, sizeof out);
        if (good) {
            cr_assert_eq(rc, 0, "%s", out);
            cr_assert(strstr(out, "reloaded") != NULL, "%s", out);
        } else {
            cr_assert_eq(rc, 1, "%s", out);
            cr_assert(strstr(out, "NY.rules:2:") != NULL, "%s", out);
        }
        usleep(300000);
    }
    /* wait for lexload to write its result */
    FILE *f = NULL;
    for (int waited = 0; waited < 20000 && !f; waited += 100) {
        usleep(100000);
        f = fopen(result, "r");
        if (f) {
            size_t n = fread(out, 1, sizeof out - 1, f);
            out[n] = 0;
            fclose(f);
            if (!strchr(out, '\n'))
                f = NULL;
        }
    }
    cr_assert_not_null(f, "lexload wrote no result");
    cr_assert(strstr(out, "\"unanswered\": 0") != NULL, "messages lost: %s", out);
    cr_assert(strstr(out, "\"send_errors\": 0") != NULL, "%s", out);
    const char *sent = strstr(out, "\"sent\": ");
    cr_assert(sent && atol(sent + 8) >= 800, "%s", out);
}
