/* fuzz_rules.c: a state's rules file through lex_policy_load_text, the path
 * a rules reload takes. The input is the state's text, optionally followed
 * by a line "----" and the text of a shared set `fz` (reached with
 * `include fz`); the simulation's shared sets sit beside it. A refused text
 * must leave the rules in force untouched; an accepted one is asked for
 * decisions, which must be well formed and the same from the cache. */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "lex_directory.h"
#include "lex_error.h"
#include "lex_policy.h"
#include "lex_status.h"

extern const char *const lex_fuzz_shared[];
extern const char *const lex_fuzz_shared_names[];

/* rules in force before the fuzzed text arrives */
static const char baseline[] = "default allow\n"
                               "rule base-ice\n  family ICE-ERO\n  deny no-record\n"
                               "rule base-hsi\n  family HSI\n  redact address photo\n";

static const lex_agency_t agencies[] = {
    {"DCICE0001", LEX_LEVEL_FEDERAL, "ICE-ERO", "DC", "ICE ERO Washington"},
    {"ILHSI0100", LEX_LEVEL_FEDERAL, "HSI", "IL", "HSI Chicago"},
    {"IL0160000", LEX_LEVEL_LOCAL, "PD", "IL", "Chicago Police Department"},
    {"NV0020000", LEX_LEVEL_LOCAL, "SO", "NV", "Washoe County Sheriff"},
    {"AZ0100T00", LEX_LEVEL_TRIBAL, "TPD", "AZ", "Tribal Police"},
    {"ILSP00000", LEX_LEVEL_STATE, "SP", "IL", "Illinois State Police"},
};

static const struct {
    const char *key, *purpose, *kind;
} asks[] = {
    {"DQ", "C", "by-number"}, {"DQ", "", "by-name"}, {"RQ", "J", "by-plate"},
    {"IMQ", NULL, "photo"},   {"LPQ", "E", "plate-reader"},
};

static void shared_sets_once(void)
{
    static int done;
    if (done)
        return;
    char path[600];
    for (size_t i = 0; lex_fuzz_shared[i]; i++)
        FUZZ_CHECK(fuzz_tmp_write(lex_fuzz_shared_names[i], lex_fuzz_shared[i],
                                  strlen(lex_fuzz_shared[i]), path, sizeof path) == 0);
    done = 1;
}

static void check_decision(lex_policy_t *p, const lex_decision_t *d)
{
    FUZZ_CHECK(d->rule_id != NULL);
    FUZZ_CHECK(d->action >= LEX_ACT_ALLOW && d->action <= LEX_ACT_REVIEW);
    FUZZ_CHECK(d->nredact <= LEX_REDACT_MAX);
    if (d->action == LEX_ACT_DENY)
        FUZZ_CHECK(d->deny_status == LEX_ST_DENIED || d->deny_status == LEX_ST_NO_RECORD);
    if (d->action == LEX_ACT_REDACT)
        FUZZ_CHECK(d->nredact > 0);
    if (strcmp(d->rule_id, "default") != 0) {
        const char *file = NULL;
        FUZZ_CHECK(lex_policy_rule_source(p, "IL", d->rule_id, &file) > 0);
        FUZZ_CHECK(file && file[0]);
    }
}

static void ask(lex_policy_t *p)
{
    for (size_t a = 0; a <= sizeof agencies / sizeof agencies[0]; a++) {
        /* the last requester is not in the directory */
        const lex_agency_t *agency = a < sizeof agencies / sizeof agencies[0] ? &agencies[a] : NULL;
        for (size_t q = 0; q < sizeof asks / sizeof asks[0]; q++) {
            lex_policy_subject_t sub = {
                .ori = agency ? agency->ori : "TX9999999",
                .agency = agency,
                .key = asks[q].key,
                .purpose = asks[q].purpose,
                .kind = asks[q].kind,
                .now_s = 1767225600 + (int64_t)q * 86400 * 200, /* 2026 to 2028 */
            };
            lex_decision_t first, cached;
            lex_policy_decide(p, "IL", &sub, &first);
            check_decision(p, &first);
            lex_policy_decide(p, "IL", &sub, &cached);
            FUZZ_CHECK(strcmp(first.rule_id, cached.rule_id) == 0);
            FUZZ_CHECK(first.action == cached.action && first.nredact == cached.nredact);
        }
    }
}

/* 1 when s is a real UTC date as docs/RULES.md writes it:
 * YYYY-MM-DD or YYYY-MM-DDTHH:MM, digits where digits go, a day the month has. */
static int date_ok(const char *s)
{
    static const char form[] = "dddd-dd-ddTdd:dd";
    size_t n = strlen(s);
    if (n != 10 && n != 16)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (form[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != form[i])
            return 0;
    int y = atoi(s), mo = atoi(s + 5), d = atoi(s + 8);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days[mo - 1] + (mo == 2 && leap))
        return 0;
    return n == 10 || (atoi(s + 11) <= 23 && atoi(s + 14) <= 59);
}

/* 1 when a line of text (comments aside) is `include fz`: a comment that
 * merely mentions the words does not reach the shared set. */
static int includes_fz(const char *text)
{
    char *copy = fuzz_strndup((const uint8_t *)text, strlen(text));
    FUZZ_CHECK(copy != NULL);
    int found = 0;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line && !found;
         line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *wsave = NULL;
        char *word = strtok_r(line, " \t\r,", &wsave);
        char *name = word ? strtok_r(NULL, " \t\r,", &wsave) : NULL;
        found = word && name && strcmp(word, "include") == 0 && strcmp(name, "fz") == 0;
    }
    free(copy);
    return found;
}

/* Every from/until value in an accepted text must be a real date. */
static void check_dates(char *text)
{
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *wsave = NULL;
        char *word = strtok_r(line, " \t\r,", &wsave);
        if (word && (strcmp(word, "from") == 0 || strcmp(word, "until") == 0)) {
            char *value = strtok_r(NULL, " \t\r,", &wsave);
            FUZZ_CHECK(value && date_ok(value));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    shared_sets_once();
    char *text = fuzz_strndup(data, size);
    FUZZ_CHECK(text != NULL);
    char *cut = strstr(text, "\n----\n");
    const char *shared = "";
    if (cut) {
        *cut = 0;
        shared = cut + 6;
    }
    char path[600];
    FUZZ_CHECK(fuzz_tmp_write("fz.rules", shared, strlen(shared), path, sizeof path) == 0);

    lex_policy_t *p = NULL;
    char err[512] = "";
    FUZZ_CHECK(lex_policy_new(&p) == 0);
    FUZZ_CHECK(lex_policy_set_shared_dir(p, fuzz_tmp_dir()) == 0);
    FUZZ_CHECK(lex_policy_load_text(p, "IL", baseline, "base.rules", err, sizeof err) == 0);
    size_t before = lex_policy_rule_count(p, "IL");

    int rc = lex_policy_load_text(p, "IL", text, "IL.rules", err, sizeof err);
    if (rc != 0) {
        FUZZ_CHECK(rc == LEX_EPARSE || rc == LEX_ENOMEM);
        if (rc == LEX_EPARSE)
            FUZZ_CHECK(err[0] != 0);
        const char *file = NULL;
        FUZZ_CHECK(lex_policy_rule_count(p, "IL") == before);
        FUZZ_CHECK(lex_policy_rule_source(p, "IL", "base-hsi", &file) == 5);
        FUZZ_CHECK(strcmp(file, "base.rules") == 0);
    } else {
        ask(p); /* only here: the decision cache costs 4 MB per policy */
        int reaches_fz = includes_fz(text);
        check_dates(text);
        if (reaches_fz)
            check_dates((char *)shared);
    }
    lex_policy_destroy(&p);
    FUZZ_CHECK(p == NULL);
    free(text);
    return 0;
}
