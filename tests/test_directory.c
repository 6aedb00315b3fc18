/* test_directory.c: the agency directory loader (schemas/directory.c) and
 * its key bindings (schemas/keybind.c): roles, scopes, the broad marker. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lex_directory.h"
#include "lex_error.h"
#include "lex_keys.h"

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

/* A directory text of one agency line and one @key line with a fresh key. */
static int parse_key(const char *fields, lex_directory_t **dir, char *err, size_t errlen)
{
    lex_keypair_t kp;
    cr_assert_eq(lex_keypair_generate(&kp), 0);
    char text[8192];
    snprintf(text, sizeof text, "NV0020000|local|PD|NV|Reno Police Department\n@key|%s|%s\n",
             kp.public_z85, fields);
    return lex_directory_parse(text, "dir.txt", dir, err, errlen);
}

static const lex_keybind_t *only_key(const lex_directory_t *dir)
{
    cr_assert_eq(lex_directory_key_count(dir), 1);
    return lex_directory_key_at(dir, 0);
}

Test(directory, key_lines_name_a_role_and_its_scope)
{
    lex_directory_t *dir = NULL;
    char err[256] = "";
    cr_assert_eq(parse_key("reno|agency|NV0020000 NV0030000", &dir, err, sizeof err), 0, "%s", err);
    const lex_keybind_t *k = only_key(dir);
    cr_assert_eq(k->role, LEX_KEY_AGENCY);
    cr_assert_eq(k->npatterns, 2);
    cr_assert(lex_keybind_allows(k, "NV0030000"));
    cr_assert_not(lex_keybind_allows(k, "NV0040000"));
    cr_assert_eq(k->nstates, 0);
    cr_assert_eq(k->line, 2);
    cr_assert_eq(lex_directory_broad_count(dir), 0);
    lex_directory_destroy(&dir);

    cr_assert_eq(parse_key("nvdmv|responder|NVDMV0000,NVDMV0001 states=NV,DC", &dir, err,
                           sizeof err), 0, "%s", err);
    k = only_key(dir);
    cr_assert_eq(k->role, LEX_KEY_RESPONDER);
    cr_assert_eq(k->npatterns, 2);
    cr_assert(lex_keybind_serves_state(k, "NV") && lex_keybind_serves_state(k, "DC"));
    cr_assert_not(lex_keybind_serves_state(k, "CA"));
    cr_assert(lex_keybind_answers(k, "DQ") && lex_keybind_answers(k, "LPQ"), "no keys=: any");
    lex_directory_destroy(&dir);

    cr_assert_eq(parse_key("nvdmv|responder|NVDMV0000 states=NV keys=DQ,RQ", &dir, err,
                           sizeof err), 0, "%s", err);
    k = only_key(dir);
    cr_assert_eq(k->nkeys, 2);
    cr_assert(lex_keybind_answers(k, "RQ"));
    cr_assert_not(lex_keybind_answers(k, "IMQ"));
    lex_directory_destroy(&dir);

    cr_assert_eq(parse_key("il-desk|operator|ILOPS0000", &dir, err, sizeof err), 0, "%s", err);
    k = only_key(dir);
    cr_assert_eq(k->role, LEX_KEY_OPERATOR);
    cr_assert_str_eq(k->state, "IL");
    cr_assert_not(k->national);
    lex_directory_destroy(&dir);

    cr_assert_eq(parse_key("ops|operator|national DCOPS9999 VAOPS0001", &dir, err, sizeof err), 0,
                 "%s", err);
    k = only_key(dir);
    cr_assert(k->national);
    cr_assert_str_eq(k->state, "");
    cr_assert_eq(k->npatterns, 2);
    lex_directory_destroy(&dir);

    cr_assert_eq(parse_key("nv-link|switch|NV*|broad", &dir, err, sizeof err), 0, "%s", err);
    k = only_key(dir);
    cr_assert_eq(k->role, LEX_KEY_SWITCH);
    cr_assert(k->broad);
    cr_assert(lex_keybind_allows(k, "NV0020000"));
    cr_assert_eq(lex_directory_broad_count(dir), 1);
    lex_directory_destroy(&dir);
}

Test(directory, the_old_node_role_is_refused_with_its_line_and_the_new_names)
{
    lex_directory_t *dir = NULL;
    char err[512] = "";
    cr_assert_eq(parse_key("reno|node|NV0020000", &dir, err, sizeof err), LEX_EPARSE);
    cr_assert_null(dir);
    cr_assert(strstr(err, "dir.txt:2:") && strstr(err, "agency") && strstr(err, "responder"),
              "%s", err);
}

Test(directory, a_wildcard_needs_the_broad_marker)
{
    const char *silent[] = {"all|agency|*", "dmvs|responder|??DMV0000 states=NV",
                            "some|agency|NV0020000 NV00*", "nv-link|switch|NV*"};
    for (size_t i = 0; i < sizeof silent / sizeof silent[0]; i++) {
        lex_directory_t *dir = NULL;
        char err[512] = "";
        cr_assert_eq(parse_key(silent[i], &dir, err, sizeof err), LEX_EPARSE, "%s", silent[i]);
        cr_assert(strstr(err, "dir.txt:2:") && strstr(err, "|broad"), "%s: %s", silent[i], err);
    }
    lex_directory_t *dir = NULL;
    char err[512] = "";
    cr_assert_eq(parse_key("all|agency|*|broad", &dir, err, sizeof err), 0, "%s", err);
    cr_assert_eq(lex_directory_broad_count(dir), 1);
    lex_directory_destroy(&dir);
    /* and a marker on a binding without a wildcard is a mistake too */
    cr_assert_eq(parse_key("reno|agency|NV0020000|broad", &dir, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "no wildcard"), "%s", err);
}

Test(directory, scopes_outside_their_role_are_refused)
{
    const char *cases[][2] = {
        {"reno|agency|NV0020000 states=NV", "responder"},
        {"x|responder|NVDMV0000 states=XX", "unknown state"},
        {"x|responder|NVDMV0000 states=", "no state"},
        {"x|responder|NVDMV0000 keys=DR", "not a query key"},
        {"x|agency|NV0020000 keys=DQ", "responder"},
        {"x|agency|national DCOPS9999", "operator"},
        {"x|operator|ILOPS0000 NVOPS0000", "one state"},
        {"x|operator|IL*|broad", "exact ORIs"},
        {"x|auditor|NV0020000", "role must be"},
        {"x|agency|", "at least one"},
        {"x|agency|NV0020000|wide", "only be 'broad'"},
        {"x|agency|NV0020000|broad|more", "expected"},
        {"x|agency|NV00200000000", "pattern"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lex_directory_t *dir = NULL;
        char err[512] = "";
        cr_assert_eq(parse_key(cases[i][0], &dir, err, sizeof err), LEX_EPARSE, "%s",
                     cases[i][0]);
        cr_assert(strstr(err, "dir.txt:2:") && strstr(err, cases[i][1]), "%s: %s", cases[i][0],
                  err);
    }
}

Test(directory, a_key_may_list_hundreds_of_oris_on_one_line)
{
    char fields[6000] = "hub|agency|";
    size_t used = strlen(fields);
    for (int i = 0; i < 400; i++)
        used += (size_t)snprintf(fields + used, sizeof fields - used, "NV%03d0000 ", i);
    lex_directory_t *dir = NULL;
    char err[256] = "";
    cr_assert_eq(parse_key(fields, &dir, err, sizeof err), 0, "%s", err);
    const lex_keybind_t *k = only_key(dir);
    cr_assert_eq(k->npatterns, 400);
    cr_assert(lex_keybind_allows(k, "NV3990000"));
    lex_directory_destroy(&dir);
    /* an agency line stays short */
    char line[1200];
    memset(line, 'x', sizeof line - 2);
    memcpy(line, "NV0020000|local|PD|NV|", 22);
    line[sizeof line - 2] = '\n';
    line[sizeof line - 1] = 0;
    cr_assert_eq(lex_directory_parse(line, "t", &dir, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "too long"), "%s", err);
}

Test(directory, a_written_key_line_parses_back_the_same)
{
    lex_directory_t *dir = NULL, *again = NULL;
    char err[256] = "";
    cr_assert_eq(parse_key("nvdmv|responder|NVDMV0000 NV*  states=NV keys=DQ|broad", &dir, err,
                           sizeof err), 0, "%s", err);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    lex_directory_write_key(f, only_key(dir));
    fclose(f);
    cr_assert_eq(lex_directory_parse(text, "w", &again, err, sizeof err), 0, "%s: %s", text, err);
    const lex_keybind_t *a = only_key(dir), *b = only_key(again);
    cr_assert_eq(a->role, b->role);
    cr_assert_eq(a->npatterns, b->npatterns);
    cr_assert_eq(a->nstates, b->nstates);
    cr_assert_eq(a->broad, b->broad);
    cr_assert(lex_keybind_equal(a, b), "%s", text);
    free(text);
    lex_directory_destroy(&dir);
    lex_directory_destroy(&again);
}

Test(directory, without_curve_a_states_responder_is_its_dmv_or_a_responder_binding)
{
    lex_keypair_t kp;
    cr_assert_eq(lex_keypair_generate(&kp), 0);
    char text[1024];
    snprintf(text, sizeof text,
             "NVDMV0000|state|DMV|NV|Nevada DMV\n"
             "NV0020000|local|PD|NV|Reno Police Department\n"
             "NVSP00000|state|SP|NV|Nevada State Police\n"
             "@key|%s|nvsp|responder|NVSP00000 states=NV\n", kp.public_z85);
    lex_directory_t *dir = NULL;
    char err[256] = "";
    cr_assert_eq(lex_directory_parse(text, "t", &dir, err, sizeof err), 0, "%s", err);
    cr_assert(lex_directory_state_responder(dir, "NVDMV0000", "NV"));
    cr_assert(lex_directory_state_responder(dir, "NVSP00000", "NV"));
    cr_assert_not(lex_directory_state_responder(dir, "NVDMV0000", "CA"));
    cr_assert_not(lex_directory_state_responder(dir, "NV0020000", "NV"));
    cr_assert_not(lex_directory_state_responder(dir, "NVSP00000", "CA"));
    lex_directory_destroy(&dir);
}
