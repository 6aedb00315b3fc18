/* test_policy.c: the rules language and first-match evaluation
 * (switch/policy.c): conditions, actions, defaults, parse errors with their
 * line, and the built-in scenario files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "harness.h"
#include "lex_error.h"
#include "lex_policy.h"
#include "lex_status.h"

static lex_policy_t *policy;

static void setup(void)
{
    cr_assert_eq(lex_policy_new(&policy), 0);
}

static void teardown(void)
{
    lex_policy_destroy(&policy);
}

TestSuite(policy, .init = setup, .fini = teardown);

static lex_agency_t agency(const char *ori, lex_level_t level, const char *family,
                           const char *home)
{
    lex_agency_t a;
    memset(&a, 0, sizeof a);
    snprintf(a.ori, sizeof a.ori, "%s", ori);
    a.level = level;
    snprintf(a.family, sizeof a.family, "%s", family);
    snprintf(a.home_state, sizeof a.home_state, "%s", home);
    return a;
}

static lex_decision_t decide(const char *state, const lex_agency_t *a, const char *key,
                             const char *purpose)
{
    lex_policy_subject_t sub = {.ori = a->ori, .agency = a, .key = key, .purpose = purpose};
    lex_decision_t d;
    lex_policy_decide(policy, state, &sub, &d);
    return d;
}

static void load(const char *state, const char *text)
{
    char err[256];
    cr_assert_eq(lex_policy_load_text(policy, state, text, "test.rules", err, sizeof err), 0,
                 "%s", err);
}

static const char *il_rules = "default allow\n"
                              "rule il-no-ice\n"
                              "  family ICE-ERO CBP\n"
                              "  deny no-record\n"
                              "rule il-hsi\n"
                              "  family HSI\n"
                              "  redact address photo\n"
                              "rule il-fed-photo\n"
                              "  level federal\n"
                              "  key IMQ\n"
                              "  deny denied\n";

Test(policy, deny_rule_blocks_ice_query_to_illinois)
{
    load("IL", il_rules);
    lex_agency_t ice = agency("ILICECG00", LEX_LEVEL_FEDERAL, "ICE-ERO", "IL");
    lex_decision_t d = decide("IL", &ice, "DQ", "C");
    cr_assert_eq(d.action, LEX_ACT_DENY);
    cr_assert_eq(d.deny_status, LEX_ST_NO_RECORD);
    cr_assert_str_eq(d.rule_id, "il-no-ice");
}

Test(policy, redact_rule_names_its_fields)
{
    load("IL", il_rules);
    lex_agency_t hsi = agency("ILHSICG00", LEX_LEVEL_FEDERAL, "HSI", "IL");
    lex_decision_t d = decide("IL", &hsi, "DQ", "C");
    cr_assert_eq(d.action, LEX_ACT_REDACT);
    cr_assert_eq(d.nredact, 2);
    cr_assert_str_eq(d.redact[0], "address");
    cr_assert_str_eq(d.redact[1], "photo");
}

Test(policy, first_match_wins_and_other_requesters_get_the_default)
{
    load("IL", il_rules);
    lex_agency_t hsi = agency("ILHSICG00", LEX_LEVEL_FEDERAL, "HSI", "IL");
    cr_assert_str_eq(decide("IL", &hsi, "IMQ", "C").rule_id, "il-hsi");
    lex_agency_t fbi = agency("ILFBICG00", LEX_LEVEL_FEDERAL, "FBI", "IL");
    cr_assert_str_eq(decide("IL", &fbi, "IMQ", "C").rule_id, "il-fed-photo");
    lex_decision_t d = decide("IL", &fbi, "DQ", "C");
    cr_assert_eq(d.action, LEX_ACT_ALLOW);
    cr_assert_str_eq(d.rule_id, "default");
    lex_agency_t pd = agency("IL0010000", LEX_LEVEL_LOCAL, "PD", "IL");
    cr_assert_eq(decide("IL", &pd, "IMQ", "C").action, LEX_ACT_ALLOW);
}

Test(policy, rules_of_one_state_do_not_touch_another)
{
    load("IL", il_rules);
    lex_agency_t ice = agency("ILICECG00", LEX_LEVEL_FEDERAL, "ICE-ERO", "IL");
    lex_decision_t d = decide("TX", &ice, "DQ", "C");
    cr_assert_eq(d.action, LEX_ACT_ALLOW);
    cr_assert_str_eq(d.rule_id, "default");
    cr_assert_eq(lex_policy_rule_count(policy, "IL"), 3);
    cr_assert_eq(lex_policy_rule_count(policy, "TX"), 0);
}

Test(policy, default_deny_applies_when_nothing_matches)
{
    load("NV", "default deny denied\nrule nv-locals\n  level local state\n  allow\n");
    lex_agency_t pd = agency("NV0010000", LEX_LEVEL_LOCAL, "PD", "NV");
    lex_agency_t fbi = agency("NVFBILV00", LEX_LEVEL_FEDERAL, "FBI", "NV");
    cr_assert_eq(decide("NV", &pd, "DQ", "C").action, LEX_ACT_ALLOW);
    lex_decision_t d = decide("NV", &fbi, "DQ", "C");
    cr_assert_eq(d.action, LEX_ACT_DENY);
    cr_assert_eq(d.deny_status, LEX_ST_DENIED);
    cr_assert_str_eq(d.rule_id, "default");
}

Test(policy, ori_globs_home_key_and_purpose_conditions)
{
    load("CA", "rule own-sheriffs\n  ori CA???0100 CA0019*\n  allow\n"
               "rule photo-needs-purpose\n  key IMQ\n  purpose C J\n  allow\n"
               "rule photo-other\n  key IMQ\n  deny denied\n"
               "rule neighbours\n  home NV OR AZ\n  redact photo\n");
    lex_agency_t so = agency("CA0030100", LEX_LEVEL_LOCAL, "SO", "CA");
    cr_assert_str_eq(decide("CA", &so, "IMQ", "X").rule_id, "own-sheriffs");
    lex_agency_t pd = agency("CA0020000", LEX_LEVEL_LOCAL, "PD", "CA");
    cr_assert_str_eq(decide("CA", &pd, "IMQ", "J").rule_id, "photo-needs-purpose");
    cr_assert_str_eq(decide("CA", &pd, "IMQ", "E").rule_id, "photo-other");
    lex_agency_t nv = agency("NV0020000", LEX_LEVEL_LOCAL, "PD", "NV");
    cr_assert_str_eq(decide("CA", &nv, "DQ", "C").rule_id, "neighbours");
    cr_assert_str_eq(decide("CA", &pd, "DQ", "C").rule_id, "default");
}

Test(policy, requester_missing_from_the_directory_matches_only_ori_and_key_rules)
{
    load("MN", "rule fed\n  level federal\n  deny denied\nrule by-ori\n  ori ZZ*\n  key DQ\n"
               "  deny no-record\n");
    lex_policy_subject_t sub = {.ori = "ZZ0000001", .agency = NULL, .key = "DQ", .purpose = "C"};
    lex_decision_t d;
    lex_policy_decide(policy, "MN", &sub, &d);
    cr_assert_str_eq(d.rule_id, "by-ori");
    sub.key = "RQ";
    lex_policy_decide(policy, "MN", &sub, &d);
    cr_assert_str_eq(d.rule_id, "default");
}

/* Each bad text, and the line its error must name. */
Test(policy, parse_errors_name_the_line_and_keep_the_old_rules)
{
    load("WA", "rule keep\n  family ICE-ERO\n  deny denied\n");
    const char *cases[][2] = {
        {"rule a\n  level galactic\n  allow\n", ":2:"},
        {"rule a\n  allow\n  deny denied\n", ":3:"},
        {"rule a\n  family HSI\n", ":1:"},
        {"rule a\n  allow\nrule a\n  allow\n", ":3:"},
        {"default allow\ndefault allow\n", ":2:"},
        {"  family HSI\n", ":1:"},
        {"rule a\n  deny maybe\n", ":2:"},
        {"rule a\n  family HSI\n  family FBI\n  allow\n", ":3:"},
        {"rule bad id!\n  allow\n", ":1:"},
        {"rule a\n  allow\n\n  frobnicate\n", ":4:"},
        {"rule a\n  home ZZ\n  allow\n", ":2:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        cr_assert_eq(lex_policy_load_text(policy, "WA", cases[i][0], "WA.rules", err, sizeof err),
                     LEX_EPARSE, "case %zu parsed", i);
        cr_assert(strstr(err, cases[i][1]) != NULL, "case %zu: %s", i, err);
    }
    lex_agency_t ice = agency("WAICESE00", LEX_LEVEL_FEDERAL, "ICE-ERO", "WA");
    cr_assert_str_eq(decide("WA", &ice, "DQ", "C").rule_id, "keep");
}

Test(policy, load_dir_is_all_or_nothing)
{
    char dir[128], path[256];
    lex_test_tmpdir(dir);
    snprintf(path, sizeof path, "%s/IL.rules", dir);
    FILE *f = fopen(path, "w");
    fputs(il_rules, f);
    fclose(f);
    char err[256];
    cr_assert_eq(lex_policy_load_dir(policy, dir, err, sizeof err), 0, "%s", err);
    cr_assert_eq(lex_policy_rule_count(policy, "IL"), 3);

    snprintf(path, sizeof path, "%s/NY.rules", dir);
    f = fopen(path, "w");
    fputs("rule x\n  levle federal\n  allow\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/IL.rules", dir);
    f = fopen(path, "w");
    fputs("rule only\n  allow\n", f);
    fclose(f);
    cr_assert_eq(lex_policy_load_dir(policy, dir, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "NY.rules:2:") != NULL, "%s", err);
    cr_assert_eq(lex_policy_rule_count(policy, "IL"), 3, "IL changed although NY was bad");
    lex_test_rmrf(dir);
}

Test(policy, file_name_must_be_a_state)
{
    char dir[128], path[256], err[256];
    lex_test_tmpdir(dir);
    snprintf(path, sizeof path, "%s/XX.rules", dir);
    FILE *f = fopen(path, "w");
    fputs("rule a\n  allow\n", f);
    fclose(f);
    cr_assert_eq(lex_policy_load_file(policy, path, err, sizeof err), LEX_EPARSE);
    lex_test_rmrf(dir);
}

Test(policy, every_scenario_file_parses)
{
    char err[512];
    char path[512];
    snprintf(path, sizeof path, "%s/tools/scenario", LEX_SOURCE_DIR);
    cr_assert_eq(lex_policy_load_dir(policy, path, err, sizeof err), 0, "%s", err);
    const char *states[] = {"IL", "NY", "MA", "MN", "WA"};
    lex_agency_t ice = agency("DCICEWA00", LEX_LEVEL_FEDERAL, "ICE-ERO", "DC");
    for (size_t i = 0; i < 5; i++) {
        cr_assert_gt(lex_policy_rule_count(policy, states[i]), 0);
        cr_assert_neq(decide(states[i], &ice, "DQ", "C").action, LEX_ACT_ALLOW,
                      "%s lets ICE-ERO read records whole", states[i]);
    }
}

Test(policy, kind_condition_separates_name_searches_from_number_look_ups)
{
    load("MN", "rule fed-name-search\n  level federal\n  kind by-name\n  deny denied\n");
    lex_agency_t fbi = agency("MNFBIMP00", LEX_LEVEL_FEDERAL, "FBI", "MN");
    lex_policy_subject_t sub = {.ori = fbi.ori, .agency = &fbi, .key = "DQ", .kind = "by-name"};
    lex_decision_t d;
    lex_policy_decide(policy, "MN", &sub, &d);
    cr_assert_eq(d.action, LEX_ACT_DENY);
    sub.kind = "by-number";
    lex_policy_decide(policy, "MN", &sub, &d);
    cr_assert_eq(d.action, LEX_ACT_ALLOW, "the cache must keep kinds apart");
}

Test(policy, from_and_until_bound_a_rule_in_time)
{
    load("VT", "rule window\n  from 2026-03-01\n  until 2026-04-01T12:00\n  deny denied\n");
    lex_agency_t pd = agency("VT0010000", LEX_LEVEL_LOCAL, "PD", "VT");
    lex_policy_subject_t sub = {.ori = pd.ori, .agency = &pd, .key = "DQ"};
    lex_decision_t d;
    sub.now_s = 1772323199; /* 2026-02-28T23:59:59Z */
    lex_policy_decide(policy, "VT", &sub, &d);
    cr_assert_eq(d.action, LEX_ACT_ALLOW);
    sub.now_s = 1772323200; /* 2026-03-01T00:00:00Z */
    lex_policy_decide(policy, "VT", &sub, &d);
    cr_assert_eq(d.action, LEX_ACT_DENY, "a cached allow outlived the rule's start");
    sub.now_s = 1775044799; /* 2026-04-01T11:59:59Z */
    lex_policy_decide(policy, "VT", &sub, &d);
    cr_assert_eq(d.action, LEX_ACT_DENY);
    sub.now_s = 1775044800; /* 2026-04-01T12:00:00Z */
    lex_policy_decide(policy, "VT", &sub, &d);
    cr_assert_eq(d.action, LEX_ACT_ALLOW, "a cached deny outlived the rule's end");
    char err[256];
    cr_assert_eq(lex_policy_load_text(policy, "VT", "rule w\n  from 2026-13-01\n  allow\n", "VT",
                                      err, sizeof err), LEX_EPARSE);
    cr_assert_eq(lex_policy_load_text(policy, "VT",
                                      "rule w\n  from 2026-05-01\n  until 2026-04-01\n  allow\n",
                                      "VT", err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "VT:3:") != NULL, "%s", err);
}

Test(policy, dates_that_do_not_exist_are_refused)
{
    const char *bad[] = {"2026-02-31", "2026-02-29", "2026-04-31", "2026-01-01T-1:00",
                         "2026-+1-01", "2026-01-01T24:00", "2026-01-01T08:-5", " 026-01-01"};
    char text[128], err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "rule w\n  from %s\n  allow\n", bad[i]);
        cr_assert_eq(lex_policy_load_text(policy, "VT", text, "VT", err, sizeof err), LEX_EPARSE,
                     "%s was accepted", bad[i]);
        cr_assert(strstr(err, "VT:2:") != NULL, "%s", err);
    }
    cr_assert_eq(lex_policy_load_text(policy, "VT",
                                      "rule w\n  from 2028-02-29T23:59\n  until 2028-03-01\n"
                                      "  allow\n",
                                      "VT", err, sizeof err), 0, "%s", err);
}

Test(policy, shared_rule_sets_are_included_by_several_states)
{
    char dir[128], path[256], err[256];
    lex_test_tmpdir(dir);
    snprintf(path, sizeof path, "%s/shared", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/shared/no-civil-immigration.rules", dir);
    FILE *f = fopen(path, "w");
    fputs("# shared\nrule shared-no-ice\n  family ICE-ERO CBP\n  deny no-record\n", f);
    fclose(f);
    const char *states[] = {"OR", "NJ"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s.rules", dir, states[i]);
        f = fopen(path, "w");
        fprintf(f, "default allow\nrule %s-first\n  key LPQ\n  deny denied\n"
                   "include no-civil-immigration\nrule last\n  family HSI\n  redact photo\n",
                states[i]);
        fclose(f);
    }
    cr_assert_eq(lex_policy_load_dir(policy, dir, err, sizeof err), 0, "%s", err);
    lex_agency_t ice = agency("NJICENK00", LEX_LEVEL_FEDERAL, "ICE-ERO", "NJ");
    for (int i = 0; i < 2; i++) {
        lex_decision_t d = decide(states[i], &ice, "DQ", "C");
        cr_assert_str_eq(d.rule_id, "shared-no-ice");
        const char *file;
        cr_assert_eq(lex_policy_rule_source(policy, states[i], "shared-no-ice", &file), 2);
        cr_assert(strstr(file, "shared/no-civil-immigration.rules") != NULL, "%s", file);
        cr_assert_eq(lex_policy_rule_count(policy, states[i]), 3);
    }
    /* an error inside the shared set names the shared file and its line */
    snprintf(path, sizeof path, "%s/shared/no-civil-immigration.rules", dir);
    f = fopen(path, "w");
    fputs("rule x\n  family ICE-ERO\n  deny sometimes\n", f);
    fclose(f);
    cr_assert_eq(lex_policy_load_dir(policy, dir, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "no-civil-immigration.rules:3:") != NULL, "%s", err);
    cr_assert_str_eq(decide("OR", &ice, "DQ", "C").rule_id, "shared-no-ice");
    lex_test_rmrf(dir);
}

Test(policy, cached_decisions_match_fresh_ones_and_are_counted)
{
    load("IL", il_rules);
    lex_agency_t who[] = {agency("ILICECG00", LEX_LEVEL_FEDERAL, "ICE-ERO", "IL"),
                          agency("ILHSICG00", LEX_LEVEL_FEDERAL, "HSI", "IL"),
                          agency("ILFBICG00", LEX_LEVEL_FEDERAL, "FBI", "IL"),
                          agency("IL0010000", LEX_LEVEL_LOCAL, "PD", "IL")};
    const char *keys[] = {"DQ", "IMQ", "RQ"};
    lex_decision_t first[4][3];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 3; k++) {
                lex_decision_t d = decide("IL", &who[i], keys[k], "C");
                if (round == 0)
                    first[i][k] = d;
                cr_assert_eq(d.action, first[i][k].action);
                cr_assert_str_eq(d.rule_id, first[i][k].rule_id);
            }
    uint64_t hits, misses;
    lex_policy_cache_stats(policy, &hits, &misses);
    cr_assert_eq(misses, 12);
    cr_assert_eq(hits, 24);
    /* replacing the rules empties the cache */
    load("IL", "default deny denied\n");
    cr_assert_eq(decide("IL", &who[3], "DQ", "C").action, LEX_ACT_DENY);
}

Test(policy, per_agency_rules_and_general_rules_keep_file_order)
{
    load("CT", "rule general-first\n  family ICE-ERO\n  deny no-record\n"
               "rule exact-after\n  ori CTICEHF00\n  allow\n"
               "rule exact-before\n  ori CT0010000 CT0020000\n  deny denied\n"
               "rule general-after\n  level local\n  redact photo\n");
    lex_agency_t ice = agency("CTICEHF00", LEX_LEVEL_FEDERAL, "ICE-ERO", "CT");
    cr_assert_str_eq(decide("CT", &ice, "DQ", "C").rule_id, "general-first");
    lex_agency_t pd = agency("CT0020000", LEX_LEVEL_LOCAL, "PD", "CT");
    cr_assert_str_eq(decide("CT", &pd, "DQ", "C").rule_id, "exact-before");
    lex_agency_t so = agency("CT0030100", LEX_LEVEL_LOCAL, "SO", "CT");
    cr_assert_str_eq(decide("CT", &so, "DQ", "C").rule_id, "general-after");
}

Test(policy, rules_file_with_a_nul_byte_is_refused_with_its_line)
{
    char dir[128], path[256], err[256];
    lex_test_tmpdir(dir);
    snprintf(path, sizeof path, "%s/IL.rules", dir);
    /* read as a C string the deny rule after the NUL would vanish */
    const char text[] = "default allow\n\0rule ice\n  family ICE-ERO\n  deny denied\n";
    FILE *f = fopen(path, "wb");
    fwrite(text, 1, sizeof text - 1, f);
    fclose(f);
    cr_assert_eq(lex_policy_load_file(policy, path, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "IL.rules:2: NUL byte") != NULL, "%s", err);
    lex_test_rmrf(dir);
}
