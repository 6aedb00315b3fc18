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
    for (int i = 0; i < 1023 - 11; i++)
        fputc('d', f);
    fclose(f);
    cr_assert_eq(lex_switch_config_load(&cfg, path, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "data_dir: value too long") != NULL, "%s", err);
    unlink(path);
    lex_test_rmrf(dir);
}
