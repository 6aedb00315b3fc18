/* test_config.c: the switch's config file and option names. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "lex_error.h"
#include "lex_switch.h"

TestSuite(config);

Test(config, file_sets_options_and_bad_lines_name_their_line)
{
    char dir[128], path[LEX_TEST_PATH + 16], err[256];
    lex_test_tmpdir(dir);
    snprintf(path, sizeof path, "%s/sw.conf", dir);
    FILE *f = fopen(path, "w");
    fputs("# comment\nquery_timeout_ms = 750\ndurability = batch\ndata_dir=/var/x\n", f);
    fclose(f);
    lex_switch_config_t cfg;
    lex_switch_config_defaults(&cfg);
    cr_assert_eq(lex_switch_config_load(&cfg, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cfg.query_timeout_ms, 750);
    cr_assert_eq(cfg.durability, LEX_DURABILITY_BATCH);
    cr_assert_str_eq(cfg.data_dir, "/var/x");

    f = fopen(path, "w");
    fputs("heartbeat_ms = 1000\nheartbeat_ms = fast\n", f);
    fclose(f);
    cr_assert_eq(lex_switch_config_load(&cfg, path, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, ":2:") != NULL, "%s", err);
    cr_assert_neq(lex_switch_config_set(&cfg, "no_such_option", "1", err, sizeof err), 0);
    cr_assert_neq(lex_switch_config_set(&cfg, "durability", "maybe", err, sizeof err), 0);
    unlink(path);
    lex_test_rmrf(dir);
}

/* docs/CONFIG.md's table rows: "| `name` | ..." */
static int doc_lists(const char *text, const char *name)
{
    char row[128];
    snprintf(row, sizeof row, "\n| `%s` |", name);
    return strstr(text, row) != NULL;
}

Test(config, docs_config_md_lists_exactly_the_options_the_switch_knows)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docs/CONFIG.md", LEX_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "docs/CONFIG.md is missing");
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;

    size_t known = 0;
    char err[256];
    lex_switch_config_t cfg;
    for (const char *name; (name = lex_switch_config_option(known)); known++) {
        cr_assert(doc_lists(text, name), "docs/CONFIG.md does not list option '%s'", name);
        lex_switch_config_defaults(&cfg);
        err[0] = 0;
        /* every listed name is one the switch accepts (a bad value aside) */
        lex_switch_config_set(&cfg, name, "", err, sizeof err);
        cr_assert(strstr(err, "unknown option") == NULL, "%s", err);
    }
    cr_assert_gt(known, 10);
    /* and every row of the table names a known option */
    size_t rows = 0;
    for (const char *p = text; (p = strstr(p, "\n| `")); p += 4) {
        char name[64];
        cr_assert_eq(sscanf(p + 4, "%63[a-z_]`", name), 1);
        lex_switch_config_defaults(&cfg);
        err[0] = 0;
        lex_switch_config_set(&cfg, name, "", err, sizeof err);
        cr_assert(strstr(err, "unknown option") == NULL, "docs/CONFIG.md lists '%s': %s", name,
                  err);
        rows++;
    }
    cr_assert_eq(rows, known, "docs/CONFIG.md has %zu option rows, the switch %zu options", rows,
                 known);
}

Test(config, log_format_and_level_are_checked)
{
    char err[256];
    lex_switch_config_t cfg;
    lex_switch_config_defaults(&cfg);
    cr_assert_eq(lex_switch_config_set(&cfg, "log_format", "json", err, sizeof err), 0);
    cr_assert_eq(cfg.log_json, 1);
    cr_assert_eq(lex_switch_config_set(&cfg, "log_level", "warn", err, sizeof err), 0);
    cr_assert_eq(cfg.log_level, 1);
    cr_assert_neq(lex_switch_config_set(&cfg, "log_format", "xml", err, sizeof err), 0);
    cr_assert_neq(lex_switch_config_set(&cfg, "log_level", "chatty", err, sizeof err), 0);
    cr_assert_eq(lex_switch_config_set(&cfg, "metrics_bind", "", err, sizeof err), 0,
                 "an empty metrics_bind turns the endpoint off");
}

Test(config, over_long_line_is_refused_not_read_in_pieces)
{
    char dir[128], path[LEX_TEST_PATH + 16], err[256];
    lex_test_tmpdir(dir);
    snprintf(path, sizeof path, "%s/sw.conf", dir);
    /* a comment long enough that its tail used to be read as an option */
    FILE *f = fopen(path, "w");
    fputs("verbose = 1\n# ", f);
    for (int i = 0; i < 1021; i++)
        fputc('x', f);
    fputs("heartbeat_ms = 50\n", f);
    fclose(f);
    lex_switch_config_t cfg;
    lex_switch_config_defaults(&cfg);
    cr_assert_eq(lex_switch_config_load(&cfg, path, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, ":2: line longer than") != NULL, "%s", err);
    cr_assert_eq(cfg.heartbeat_ms, 1000);

    /* a last line of exactly the limit without a newline is still read */
    f = fopen(path, "w");
    fputs("data_dir = ", f);
    for (int i = 0; i < 1022 - 11; i++)
        fputc('d', f);
    fclose(f);
    cr_assert_eq(lex_switch_config_load(&cfg, path, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "data_dir: value too long") != NULL, "%s", err);
    unlink(path);
    lex_test_rmrf(dir);
}

Test(config, nul_byte_is_refused_with_its_line)
{
    char dir[128], path[LEX_TEST_PATH + 16], err[256];
    lex_test_tmpdir(dir);
    snprintf(path, sizeof path, "%s/sw.conf", dir);
    /* a NUL inside a comment used to hide the rest of the line, so its
     * tail was read as the next line and took effect */
    FILE *f = fopen(path, "wb");
    const char text[] = "verbose = 1\n# note\0 heartbeat_ms = 50\n";
    fwrite(text, 1, sizeof text - 1, f);
    fclose(f);
    lex_switch_config_t cfg;
    lex_switch_config_defaults(&cfg);
    cr_assert_eq(lex_switch_config_load(&cfg, path, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "sw.conf:2: NUL byte") != NULL, "%s", err);
    cr_assert_eq(cfg.heartbeat_ms, 1000);
    unlink(path);
    lex_test_rmrf(dir);
}
