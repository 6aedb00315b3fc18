/* test_programs.c: every program as an operator first meets it: --help on
 * each program, role and subcommand prints its usage and exits 0; the
 * switch's log lines carry levels and, with --log-format json, are one JSON
 * object a line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "harness.h"

TestSuite(programs, .timeout = 60);

static const char *const commands[] = {
    "lexswitch",        "lexnode",           "lexnode state",   "lexnode agency",
    "lexnode bridge",
    "lexctl",           "lexctl send",       "lexctl tail",     "lexctl audit",
    "lexctl verify",    "lexctl rules",      "lexctl rules check", "lexctl rules test",
    "lexctl rules reload", "lexctl review",  "lexctl status",   "lexctl directory",
    "lexctl sample",    "lexsim",            "lexload",         "lexctl export",
    "lexctl keys",      "lexctl keys gen",   "lexctl keys show", "lexctl review list",
    "lexecho",          "lexfwd",            "lexgc",           "bench_auditlog",
    "bench_policy",
};

Test(programs, every_program_role_and_subcommand_answers_help)
{
    static char out[65536];
    char cmd[512];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s/%s --help 2>/dev/null", LEX_BIN_DIR, commands[i]);
        int rc = lex_test_run(cmd, out, sizeof out);
        cr_expect_eq(rc, 0, "%s --help exits %d", commands[i], rc);
        cr_expect(strstr(out, "usage") != NULL, "%s --help prints no usage: '%s'", commands[i],
                  out);
    }
}

Test(programs, switch_log_lines_are_json_objects_with_levels)
{
    char dir[128];
    lex_test_tmpdir(dir);
    static char out[65536];
    char cmd[1024];
    /* it starts, serves, and stops at once on SIGTERM from the shell */
    snprintf(cmd, sizeof cmd,
             "cd %s && (%s/lexswitch --data d --bind-tcp '' --bind-ipc ipc://%s/s "
             "--log-format json --ready-file r --set dev_plain=1 2> log & pid=$!; "
             "while [ ! -e r ]; do kill -0 $pid || exit 1; sleep 0.05; done; "
             "kill -TERM $pid; wait $pid) && cat log",
             dir, LEX_BIN_DIR, dir);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    int lines = 0, warn = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        lines++;
        size_t n = strlen(line);
        cr_assert(line[0] == '{' && line[n - 1] == '}', "not a JSON object: %s", line);
        cr_assert(strncmp(line, "{\"ts\": \"", 8) == 0, "%s", line);
        cr_assert(strstr(line, "\"level\": \"") != NULL && strstr(line, "\"msg\": \"") != NULL,
                  "%s", line);
        warn += strstr(line, "\"level\": \"warn\"") != NULL;
    }
    cr_assert_geq(lines, 3, "serving, warning, stopped");
    cr_assert_geq(warn, 1, "running without CURVE is a warning");

    snprintf(cmd, sizeof cmd, "%s/lexswitch --log-format xml 2>&1", LEX_BIN_DIR);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "log_format must be text or json") != NULL, "%s", out);
    lex_test_rmrf(dir);
}
