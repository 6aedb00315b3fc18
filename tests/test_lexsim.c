/* test_lexsim.c: lexsim's HTML report from a short real run: the file is
 * written, self-contained (no scripts, nothing fetched), and holds the
 * plots (SVG) of rates over time and of decisions by state; and the run's
 * keys: each state's responder and each agency node on its own narrow key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

TestSuite(lexsim, .timeout = 120);

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

Test(lexsim, html_report_has_rate_and_decision_plots)
{
    char dir[128], path[256], cmd[1024];
    lex_test_tmpdir(dir);
    snprintf(path, sizeof path, "%s/report.html", dir);
    static char out[65536];
    snprintf(cmd, sizeof cmd, "%s/lexsim --duration 3 --rate 300 --locals 4 --drivers 2000 "
                              "--federal-pct 40 --html %s 2>&1",
             LEX_BIN_DIR, path);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, " s  in ") == NULL, "no progress lines off a terminal: %s", out);
    cr_assert(strstr(out, "report written to") != NULL, "%s", out);

    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "no report at %s", path);
    static char html[1 << 20];
    size_t n = fread(html, 1, sizeof html - 1, f);
    fclose(f);
    html[n] = 0;
    cr_assert(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    cr_assert(strstr(html, "</html>") != NULL, "the page is complete");
    cr_assert_eq(count(html, "<svg"), 3, "rates, queues, decisions by state");
    cr_assert_eq(count(html, "</svg>"), 3);
    cr_assert_geq(count(html, "<polyline"), 3, "a line per rate series");
    cr_assert(strstr(html, "Decisions by state") != NULL);
    /* the built-in rules deny federal immigration queries in Illinois */
    cr_assert(strstr(html, "<title>IL: ") != NULL, "Illinois has a bar");
    cr_assert(strstr(html, " denied</title>") != NULL, "some state's bar shows denials");
    /* self-contained: no scripts, stylesheets or images from elsewhere */
    cr_assert(strstr(html, "<script") == NULL);
    cr_assert(strstr(html, "<link") == NULL && strstr(html, "<img") == NULL);
    cr_assert(strstr(html, "src=") == NULL);
    lex_test_rmrf(dir);
}

Test(lexsim, every_state_and_agency_node_speaks_on_its_own_narrow_key)
{
    char dir[128], cmd[1024];
    lex_test_tmpdir(dir);
    static char out[65536];
    snprintf(cmd, sizeof cmd, "%s/lexsim --duration 2 --rate 200 --locals 4 --drivers 1000 "
                              "--json --workdir %s/sim 2>/dev/null",
             LEX_BIN_DIR, dir);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "\"keys\": {\"bound\": 120, \"responder\": 56, \"agency\": 63, "
                          "\"operator\": 1, \"broad\": 0, \"hello_refused\": 0, "
                          "\"handshake_failures\": 0}"),
              "%s", out);
    /* the switch's directory: no wildcard, one state per responder key */
    char path[256];
    snprintf(path, sizeof path, "%s/sim/switch-directory.txt", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char line[65536];
    int responders = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "@key|", 5) != 0)
            continue;
        const char *scope = line + 5 + 40; /* past the public key: |label|role|scope */
        for (int bars = 0; bars < 3 && scope; bars++)
            scope = strchr(scope, '|') ? strchr(scope, '|') + 1 : NULL;
        cr_assert(scope && !strpbrk(scope, "*?|"), "%s", line);
        if (strstr(line, "|responder|")) {
            char ori[16], st[8];
            cr_assert_eq(sscanf(strstr(line, "|responder|") + 11, "%9s states=%2s", ori, st), 2,
                         "%s", line);
            cr_assert(strncmp(ori, st, 2) == 0 && strstr(ori, "DMV0000"), "%s", line);
            responders++;
        }
    }
    fclose(f);
    cr_assert_eq(responders, 56);
    lex_test_rmrf(dir);
}
