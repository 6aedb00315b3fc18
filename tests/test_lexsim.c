/* test_lexsim.c: lexsim's HTML report from a short real run: the file is
 * written, self-contained (no scripts, nothing fetched), and holds the
 * plots (SVG) of rates over time and of decisions by state. */
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
