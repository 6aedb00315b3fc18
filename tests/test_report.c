/* test_report.c: the transparency report through a real switch. Known
 * traffic goes through rules that allow, deny, redact and hold (single and
 * fan-out queries, and one to a state with no node); `lexctl report` in
 * every format must show exactly those counts, and the same counts as a
 * scan of the records with `lexctl audit`. The counts survive a restart and
 * a SIGKILL. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "harness.h"
#include "lex_population.h"

static lex_test_switch_t sw;
static char lic[64];

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(report, .fini = teardown, .timeout = 120);

static const char *il_rules = "rule il-ice-deny\n  family ICE-ERO\n  deny denied\n"
                              "rule il-hsi-redact\n  family HSI\n  redact address\n"
                              "rule il-fbi-review\n  family FBI\n  review\n";

static void start(void)
{
    lex_test_switch_prepare(&sw);
    lex_test_write_rules(&sw, "IL", il_rules);
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "IL,NV", 1000);
    lex_population_t *pop = NULL;
    cr_assert_eq(lex_population_new("IL", 1000, 1000, &pop), 0);
    lex_driver_t d;
    lex_population_driver(pop, 5, &d);
    lex_population_destroy(&pop);
    snprintf(lic, sizeof lic, "lic=%s", d.lic);
}

/* Sends one query and waits for every destination's answer. */
static void ask(const char *family, const char *home, const char *key, const char *dst)
{
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, family, home));
    const char *dq[] = {lic, NULL}, *rq[] = {"plate=ABC1234", "plate_state=IL", NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, key, dst, strcmp(key, "RQ") == 0 ? rq : dq, &m), 0,
                 "%s %s to %s: no answer", family, key, dst);
    uint64_t ref = m.env.ref;
    for (const char *c = strchr(dst, ','); c; c = strchr(c + 1, ','))
        cr_assert_eq(lex_test_recv_answer(n, ref, &m, 10000), 0, "fan-out answer missing");
    lex_node_destroy(&n);
}

/* The traffic, and what it must count:
 *   IL: allowed 5 DQ + 1 RQ (PD) + 2 fan-out (PD), denied 3 + 1 fan-out (ICE),
 *       redacted 2 (HSI), held 2 (FBI)                     = 16
 *   NV: allowed 2 fan-out (PD) + 1 fan-out (ICE)           = 3
 *   OR: refused 1 (no node serves Oregon)                   = 1 */
static void send_traffic(void)
{
    for (int i = 0; i < 5; i++)
        ask("PD", "IL", "DQ", "IL");
    ask("PD", "IL", "RQ", "IL");
    for (int i = 0; i < 3; i++)
        ask("ICE-ERO", NULL, "DQ", "IL");
    for (int i = 0; i < 2; i++)
        ask("HSI", NULL, "DQ", "IL");
    for (int i = 0; i < 2; i++)
        ask("FBI", "IL", "DQ", "IL");
    for (int i = 0; i < 2; i++)
        ask("PD", "IL", "DQ", "IL,NV");
    ask("ICE-ERO", NULL, "DQ", "NV,IL");
    ask("PD", "IL", "DQ", "OR");
}

static char out[1 << 20];

static void report(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/lexctl report --data %s %s", LEX_BIN_DIR, sw.data, args);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s: %s", cmd, out);
}

/* Counts CSV lines of `lexctl audit ... --format csv` whose fields match
 * (NULL = any): dir, key, src, dst, decision. */
static int audit_count(const char *filters, const char *dir, const char *key, const char *src,
                       const char *dst, const char *decision)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/lexctl audit --data %s %s --format csv", LEX_BIN_DIR, sw.data,
             filters);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        /* seq,time,dir,key,src,dst,id,ref,decision,... */
        char *f[9], *p = line;
        int nf = 0;
        for (char *t = strsep(&p, ","); t && nf < 9; t = strsep(&p, ","))
            f[nf++] = t;
        if (nf < 9 || strcmp(f[0], "seq") == 0)
            continue;
        if ((!dir || strcmp(f[2], dir) == 0) && (!key || strcmp(f[3], key) == 0) &&
            (!src || strcmp(f[4], src) == 0) && (!dst || strcmp(f[5], dst) == 0) &&
            (!decision || strcmp(f[8], decision) == 0))
            n++;
    }
    return n;
}

/* The JSON "all" object of a state's report. */
static void expect_all(const char *state, int queries, int allowed, int redacted, int denied,
                       int held, int refused)
{
    char args[64], want[256];
    snprintf(args, sizeof args, "--state %s --format json", state);
    report(args);
    snprintf(want, sizeof want,
             "\"all\": {\"queries\": %d, \"allowed\": %d, \"redacted\": %d, \"denied\": %d, "
             "\"held\": %d, \"refused\": %d}",
             queries, allowed, redacted, denied, held, refused);
    cr_assert(strstr(out, want) != NULL, "want %s in %s", want, out);
}

Test(report, counts_equal_the_traffic_and_a_scan_of_the_records)
{
    start();
    send_traffic();
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    expect_all("IL", 16, 8, 2, 4, 2, 0);
    cr_assert(strstr(out, "{\"key\": \"RQ\", \"queries\": 1, \"allowed\": 1,") != NULL, "%s",
              out);
    cr_assert(strstr(out, "\"family\": \"ICE-ERO\", \"queries\": 4, \"allowed\": 0, "
                          "\"redacted\": 0, \"denied\": 4,") != NULL, "%s", out);
    cr_assert(strstr(out, "\"family\": \"FBI\", \"queries\": 2, \"allowed\": 0, \"redacted\": 0, "
                          "\"denied\": 0, \"held\": 2,") != NULL, "%s", out);
    expect_all("NV", 3, 3, 0, 0, 0, 0);
    expect_all("OR", 1, 0, 0, 0, 0, 1);
    expect_all("CA", 0, 0, 0, 0, 0, 0);

    /* the same counts from the records: what the switch sent for each query
     * to IL (forwarded copies, statuses in the state's name) */
    int allowed = audit_count("--state IL --key DQ --decision allow", "out", NULL, NULL, "IL",
                              NULL) +
                  audit_count("--state IL --key RQ --decision allow", "out", NULL, NULL, "IL",
                              NULL);
    int redacted = audit_count("--state IL --decision redact", "out", "DQ", NULL, "IL", NULL);
    int denied = audit_count("--state IL --key ST --decision deny", "out", NULL, "IL", NULL, NULL);
    int held = audit_count("--state IL --key ST --decision review", "out", NULL, "IL", NULL, NULL);
    int refused = audit_count("--state OR --decision refuse", "in", "DQ", NULL, "OR", NULL);
    cr_assert_eq(allowed, 8);
    cr_assert_eq(redacted, 2);
    cr_assert_eq(denied, 4);
    cr_assert_eq(held, 2);
    cr_assert_eq(refused, 1);

    report("--state IL --format csv");
    const char *header = "state,view,month,level,family,key,queries,allowed,redacted,denied,"
                         "held,refused,when,who,how,command,filter,scope,record\n";
    cr_assert(strncmp(out, header, strlen(header)) == 0, "%s", out);
    cr_assert(strstr(out, "\nIL,all,,,,,16,8,2,4,2,0,,,,,,,\n") != NULL, "%s", out);
    cr_assert(strstr(out, ",HSI,,2,0,2,0,0,0,,,,,,,\n") != NULL, "%s", out);
    cr_assert(strstr(out, "\nIL,key,,,,DQ,15,7,2,4,2,0,,,,,,,\n") != NULL, "%s", out);

    report("--state IL");
    cr_assert(strstr(out, "Transparency report for IL") != NULL, "%s", out);
    cr_assert(strstr(out, "16 queries: 8 allowed (50.0%), 2 redacted (12.5%), 4 denied (25.0%), "
                          "2 held (12.5%), 0 refused (0.0%).") != NULL, "%s", out);

    char html[512];
    snprintf(html, sizeof html, "%s/il.html", sw.dir);
    char args[640];
    snprintf(args, sizeof args, "--state IL --format html --out %s", html);
    report(args);
    FILE *f = fopen(html, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    fclose(f);
    cr_assert(strstr(out, "<h1>Transparency report: IL</h1>") != NULL);
    cr_assert(strstr(out, "<svg") != NULL && strstr(out, "aria-label=\"queries by month\""));
    cr_assert(strstr(out, "<b>16</b><span>queries received</span>") != NULL, "%s", out);
    cr_assert(strstr(out, "<script") == NULL && strstr(out, "https://") == NULL,
              "the page must stand alone");

    /* a month range without the traffic's month counts nothing */
    report("--state IL --from 2001-01 --to 2001-02 --format csv");
    cr_assert(strstr(out, "\nIL,all,,,,,0,0,0,0,0,0,,,,,,,\n") != NULL, "%s", out);
    cr_assert(strstr(out, "\nIL,month,2001-02,") != NULL, "%s", out);
}

Test(report, bad_arguments_get_a_clear_error)
{
    char cmd[512];
    const char *bad[] = {"", "--state XX", "--state IL --from 2025-13", "--state IL --to 2025",
                         "--state IL --from 2025-05 --to 2025-04", "--state IL --format pdf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s/lexctl report --data /nonexistent %s 2>&1", LEX_BIN_DIR,
                 bad[i]);
        cr_assert_eq(lex_test_run(cmd, out, sizeof out), 2, "%s: %s", bad[i], out);
        cr_assert(strstr(out, "lexctl report: ") != NULL, "%s", out);
    }
    snprintf(cmd, sizeof cmd, "%s/lexctl report --data /nonexistent --state IL 2>&1",
             LEX_BIN_DIR);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "cannot read the audit log") != NULL, "%s", out);
}

Test(report, counts_survive_a_restart_and_a_kill)
{
    start();
    for (int i = 0; i < 3; i++)
        ask("PD", "IL", "DQ", "IL");
    ask("ICE-ERO", NULL, "DQ", "IL");
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    expect_all("IL", 4, 3, 0, 1, 0, 0);

    /* the restarted switch adds to the counts it finds */
    lex_test_switch_start(&sw, NULL);
    lex_test_states_start(&sw, "IL,NV", 1000);
    ask("PD", "IL", "DQ", "IL");
    ask("HSI", NULL, "DQ", "IL");

    /* killed: what was answered was logged, and counted with it */
    cr_assert_eq(kill(sw.pid, SIGKILL), 0);
    int status;
    cr_assert_eq(waitpid(sw.pid, &status, 0), sw.pid);
    sw.pid = 0;
    expect_all("IL", 6, 4, 1, 1, 0, 0);
    int allowed = audit_count("--state IL --key DQ --decision allow", "out", NULL, NULL, "IL",
                              NULL);
    cr_assert_eq(allowed, 4, "the records agree with the counts");
}
