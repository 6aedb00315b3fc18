/* test_directory.c: the agency directory loader (schemas/directory.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lex_directory.h"
#include "lex_error.h"

TestSuite(directory);

Test(directory, parses_and_finds_agencies_by_ori)
{
    const char *text = "# test\n"
                       "NV0020000|local|PD|NV|Reno Police Department\n"
                       "DCICE0001|federal|ICE-ERO|DC|ICE ERO Washington\n"
                       "\n"
                       "ILDMV0000|state|DMV|IL|Illinois Secretary of State\n";
    lex_directory_t *dir = NULL;
    char err[128];
    cr_assert_eq(lex_directory_parse(text, "t", &dir, err, sizeof err), 0, "%s", err);
    cr_assert_eq(lex_directory_count(dir), 3);
    const lex_agency_t *a = lex_directory_find(dir, "DCICE0001");
    cr_assert_not_null(a);
    cr_assert_eq(a->level, LEX_LEVEL_FEDERAL);
    cr_assert_str_eq(a->family, "ICE-ERO");
    cr_assert_str_eq(a->home_state, "DC");
    cr_assert_null(lex_directory_find(dir, "XX0000000"));
    lex_directory_destroy(&dir);
    cr_assert_null(dir);
}

Test(directory, bad_lines_name_their_line)
{
    const char *cases[][2] = {
        {"NV0020000|local|PD|NV\n", "t:1:"},
        {"# c\nNV00200|local|PD|NV|x\n", "t:2:"},
        {"NV0020000|county|PD|NV|x\n", "t:1:"},
        {"NV0020000|local|PD|XX|x\n", "t:1:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lex_directory_t *dir = NULL;
        char err[128] = "";
        cr_assert_eq(lex_directory_parse(cases[i][0], "t", &dir, err, sizeof err), LEX_EPARSE);
        cr_assert(strstr(err, cases[i][1]) != NULL, "case %zu: %s", i, err);
    }
}

Test(directory, duplicate_ori_is_refused)
{
    const char *text = "NV0020000|local|PD|NV|a\nNV0020000|local|SO|NV|b\n";
    lex_directory_t *dir = NULL;
    char err[128];
    cr_assert_eq(lex_directory_parse(text, "t", &dir, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "twice") != NULL);
}

Test(directory, file_with_a_nul_byte_is_refused_not_cut_short)
{
    char dir[] = "/tmp/lexdir-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/agencies.txt", dir);
    FILE *f = fopen(path, "wb");
    const char text[] = "NV0020000|local|PD|NV|Reno PD\n\0ILICE0001|federal|ICE-ERO|IL|ICE\n";
    fwrite(text, 1, sizeof text - 1, f);
    fclose(f);
    lex_directory_t *d = NULL;
    char err[256] = "";
    cr_assert_eq(lex_directory_load(path, &d, err, sizeof err), LEX_EPARSE);
    cr_assert_null(d);
    cr_assert(strstr(err, "agencies.txt:2: NUL byte") != NULL, "%s", err);
    unlink(path);
    rmdir(dir);
}
