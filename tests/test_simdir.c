/* test_simdir.c: the simulation's agency directory (nodes/simdir.c): what
 * it writes loads with the directory parser, ORIs are valid and unique,
 * every jurisdiction has its DMV and locals, and the federal families the
 * state rules speak of are all present. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_directory.h"
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_simdir.h"
#include "lex_states.h"

TestSuite(simdir);

/* The directory text for a size; caller frees. */
static char *directory_text(unsigned locals, long *count)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    *count = lex_simdir_write(f, locals);
    cr_assert_eq(fclose(f), 0);
    return text;
}

static lex_directory_t *load(unsigned locals, long *count)
{
    char *text = directory_text(locals, count);
    cr_assert_gt(*count, 0, "write failed: %s", lex_strerror((int)*count));
    lex_directory_t *dir = NULL;
    char err[256] = "";
    int rc = lex_directory_parse(text, "simdir", &dir, err, sizeof err);
    free(text);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(lex_directory_count(dir), (size_t)*count);
    return dir;
}

static size_t count_where(const lex_directory_t *dir, const char *family, const char *state)
{
    size_t n = 0;
    for (size_t i = 0; i < lex_directory_count(dir); i++) {
        const lex_agency_t *a = lex_directory_at(dir, i);
        n += strcmp(a->family, family) == 0 && (!state || strcmp(a->home_state, state) == 0);
    }
    return n;
}

Test(simdir, output_loads_and_every_ori_is_valid_and_unique)
{
    long n = 0;
    lex_directory_t *dir = load(6, &n);
    for (size_t i = 0; i < lex_directory_count(dir); i++) {
        const lex_agency_t *a = lex_directory_at(dir, i);
        cr_assert(lex_ori_valid(a->ori), "bad ORI %s", a->ori);
        cr_assert(a->name[0], "%s has no name", a->ori);
        cr_assert_geq(lex_state_index(a->home_state), 0);
        if (i)
            cr_assert_str_neq(lex_directory_at(dir, i - 1)->ori, a->ori);
        if (a->level != LEX_LEVEL_FEDERAL)
            cr_assert_eq(strncmp(a->ori, a->home_state, 2), 0, "%s not in %s", a->ori,
                         a->home_state);
    }
    lex_directory_destroy(&dir);
}

Test(simdir, every_state_has_its_dmv_state_police_and_locals)
{
    long n = 0;
    unsigned locals = 5;
    lex_directory_t *dir = load(locals, &n);
    for (size_t s = 0; s < lex_state_count; s++) {
        const char *st = lex_states[s];
        char ori[10];
        lex_simdir_dmv_ori(st, ori);
        cr_assert_eq(strlen(ori), 9);
        const lex_agency_t *dmv = lex_directory_find(dir, ori);
        cr_assert_not_null(dmv, "no DMV %s", ori);
        cr_assert_str_eq(dmv->family, "DMV");
        cr_assert_eq(dmv->level, LEX_LEVEL_STATE);
        cr_assert_str_eq(dmv->home_state, st);
        cr_assert_eq(count_where(dir, "DMV", st), 1);
        cr_assert_eq(count_where(dir, "SP", st), 1, "%s state police", st);
        cr_assert_eq(count_where(dir, "PD", st), (locals + 1) / 2, "%s police", st);
        cr_assert_eq(count_where(dir, "SO", st), locals / 2, "%s sheriffs", st);
    }
    cr_assert_gt(count_where(dir, "TPD", NULL), 5);
    for (size_t i = 0; i < lex_directory_count(dir); i++) {
        const lex_agency_t *a = lex_directory_at(dir, i);
        if (strcmp(a->family, "PD") == 0 || strcmp(a->family, "SO") == 0)
            cr_assert_eq(a->level, LEX_LEVEL_LOCAL);
        if (strcmp(a->family, "TPD") == 0)
            cr_assert_eq(a->level, LEX_LEVEL_TRIBAL);
    }
    lex_directory_destroy(&dir);
}

Test(simdir, federal_families_have_offices_in_many_states)
{
    static const char *const families[] = {"FBI", "ICE-ERO", "HSI", "CBP", "USMS", "DEA", "ATF"};
    long n = 0;
    lex_directory_t *dir = load(2, &n);
    for (size_t k = 0; k < sizeof families / sizeof families[0]; k++)
        cr_assert_gt(count_where(dir, families[k], NULL), 3, "too few %s offices", families[k]);
    int states_with_fbi = 0;
    for (size_t s = 0; s < lex_state_count; s++)
        states_with_fbi += count_where(dir, "FBI", lex_states[s]) > 0;
    cr_assert(states_with_fbi >= 15 && states_with_fbi <= 30, "FBI in %d states", states_with_fbi);
    cr_assert_lt(count_where(dir, "CBP", NULL), count_where(dir, "FBI", NULL),
                 "CBP should sit only at borders and ports");
    cr_assert_eq(count_where(dir, "CBP", "CO"), 0);
    for (size_t i = 0; i < lex_directory_count(dir); i++) {
        const lex_agency_t *a = lex_directory_at(dir, i);
        int federal = 0;
        for (size_t k = 0; k < sizeof families / sizeof families[0]; k++)
            federal |= strcmp(a->family, families[k]) == 0;
        cr_assert_eq(federal, a->level == LEX_LEVEL_FEDERAL, "%s %s", a->ori, a->family);
    }
    lex_directory_destroy(&dir);
}

Test(simdir, the_same_size_writes_the_same_directory)
{
    long n1 = 0, n2 = 0, n3 = 0;
    char *a = directory_text(8, &n1), *b = directory_text(8, &n2), *c = directory_text(9, &n3);
    cr_assert_eq(n1, n2);
    cr_assert_str_eq(a, b);
    cr_assert_eq(n3, n1 + (long)lex_state_count);
    free(a);
    free(b);
    free(c);
}

Test(simdir, thousands_of_locals_keep_oris_unique)
{
    long n = 0;
    lex_directory_t *dir = load(2100, &n); /* more than one round of counties */
    cr_assert_geq(n, (long)(2100 * lex_state_count));
    lex_directory_destroy(&dir);
}

Test(simdir, zero_locals_is_refused)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(lex_simdir_write(f, 0), LEX_EINVAL);
    fclose(f);
    free(text);
}
