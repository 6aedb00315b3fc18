/* policy_parse.c: reads a state's rules file (language: docs/RULES.md)
 * into its compiled form (policy_internal.h). Every error names the file,
 * the line and the reason, and leaves nothing half-built behind. Shared rule
 * sets come in with `include NAME`, read from the rules directory's
 * shared/ folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_states.h"
#include "lex_status.h"
#include "lex_textfile.h"
#include "policy_internal.h"

#define VALUES_MAX 64

static const char *const kinds[] = {"by-number", "by-name", "by-plate", "by-vin", "photo",
                                    "plate-reader"};

static void free_values(values_t *v)
{
    free(v->v);
    v->v = NULL;
    v->n = 0;
}

static void free_rule(rule_t *r)
{
    free_values(&r->ori);
    free_values(&r->family);
    free_values(&r->home);
    free_values(&r->key);
    free_values(&r->purpose);
    free_values(&r->kind);
}

void policy_free_state(state_rules_t **s)
{
    if (!s || !*s)
        return;
    for (size_t i = 0; i < (*s)->n; i++)
        free_rule(&(*s)->rules[i]);
    free((*s)->rules);
    free((*s)->general);
    free((*s)->exact_rules);
    free((*s)->ori_slots);
    free(*s);
    *s = NULL;
}

static int perr(char *err, size_t errlen, const char *name, int line, const char *fmt,
                const char *word)
{
    char why[1100]; /* room for an include path of 1023 */
    snprintf(why, sizeof why, fmt, word ? word : "");
    if (err && errlen)
        snprintf(err, errlen, "%s:%d: %s", name, line, why);
    return LEX_EPARSE;
}

static int id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static int deny_status_from(const char *w)
{
    if (strcmp(w, "denied") == 0)
        return LEX_ST_DENIED;
    if (strcmp(w, "no-record") == 0)
        return LEX_ST_NO_RECORD;
    return -1;
}

/* "2026-01-31" or "2026-01-31T08:30" (UTC) to unix seconds; -1 if bad.
 * Digits exactly where the form has them (no signs or spaces), and a day
 * the month has: timegm would quietly turn 2026-02-31 into March 3rd. */
static int64_t parse_time(const char *s)
{
    static const char form[] = "dddd-dd-ddTdd:dd";
    size_t n = strlen(s);
    if (n != 10 && n != 16)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (form[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != form[i])
            return -1;
    int y = atoi(s), mo = atoi(s + 5), d = atoi(s + 8);
    int h = n == 16 ? atoi(s + 11) : 0, mi = n == 16 ? atoi(s + 14) : 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59)
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    int64_t t = (int64_t)timegm(&tm);
    if (tm.tm_mday != d || tm.tm_mon != mo - 1) /* normalised: no such day */
        return -1;
    return t;
}

static int fill_values(values_t *vals, char **w, int nw, const char *name, int line, char *err,
                       size_t errlen)
{
    if (nw < 2)
        return perr(err, errlen, name, line, "'%s' needs at least one value", w[0]);
    vals->v = calloc((size_t)(nw - 1), sizeof *vals->v);
    if (!vals->v)
        return LEX_ENOMEM;
    for (int i = 1; i < nw; i++) {
        if (strlen(w[i]) > POLICY_VALUE_LEN)
            return perr(err, errlen, name, line, "value too long: %s", w[i]);
        strcpy(vals->v[vals->n++], w[i]);
    }
    return 0;
}

static int check_values(const rule_t *r, unsigned bit, const values_t *vals, const char *name,
                        int line, char *err, size_t errlen)
{
    for (size_t i = 0; i < vals->n; i++) {
        const char *v = vals->v[i];
        if (bit == C_HOME && !lex_state_valid(v))
            return perr(err, errlen, name, line, "unknown state '%s'", v);
        if (bit == C_ORI && strlen(v) > 16)
            return perr(err, errlen, name, line, "ORI pattern too long: %s", v);
        if (bit == C_KIND) {
            int ok = 0;
            for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
                ok |= strcmp(v, kinds[k]) == 0;
            if (!ok)
                return perr(err, errlen, name, line,
                            "unknown query kind '%s' (by-number, by-name, by-plate, by-vin, "
                            "photo, plate-reader)",
                            v);
        }
    }
    (void)r;
    return 0;
}

static values_t *values_for(rule_t *r, unsigned bit)
{
    switch (bit) {
    case C_ORI: return &r->ori;
    case C_FAMILY: return &r->family;
    case C_HOME: return &r->home;
    case C_KEY: return &r->key;
    case C_PURPOSE: return &r->purpose;
    case C_KIND: return &r->kind;
    default: return NULL;
    }
}

static int parse_action(rule_t *r, char **w, int nw, const char *name, int line, char *err,
                        size_t errlen)
{
    if (r->has_action)
        return perr(err, errlen, name, line, "rule has a second action '%s'", w[0]);
    r->has_action = 1;
    if (strcmp(w[0], "allow") == 0) {
        if (nw != 1)
            return perr(err, errlen, name, line, "'allow' takes no value", NULL);
        r->action = LEX_ACT_ALLOW;
    } else if (strcmp(w[0], "review") == 0) {
        if (nw != 1)
            return perr(err, errlen, name, line, "'review' takes no value", NULL);
        r->action = LEX_ACT_REVIEW;
    } else if (strcmp(w[0], "deny") == 0) {
        if (nw != 2 || (r->deny_status = deny_status_from(w[1])) < 0)
            return perr(err, errlen, name, line, "'deny' wants 'denied' or 'no-record'", NULL);
        r->action = LEX_ACT_DENY;
    } else {
        if (nw < 2)
            return perr(err, errlen, name, line, "'redact' wants field names", NULL);
        if (nw - 1 > LEX_REDACT_MAX)
            return perr(err, errlen, name, line, "'redact' names more than 16 fields", NULL);
        for (int i = 1; i < nw; i++) {
            if (strlen(w[i]) > POLICY_VALUE_LEN)
                return perr(err, errlen, name, line, "field name too long: %s", w[i]);
            strcpy(r->redact[r->nredact++], w[i]);
        }
        r->action = LEX_ACT_REDACT;
    }
    return 0;
}

/* Parses one condition or action line into r. */
static int parse_rule_line(rule_t *r, char **w, int nw, const char *name, int line, char *err,
                           size_t errlen)
{
    static const struct {
        const char *word;
        unsigned bit;
    } conds[] = {{"ori", C_ORI},     {"level", C_LEVEL},     {"family", C_FAMILY},
                 {"home", C_HOME},   {"key", C_KEY},         {"purpose", C_PURPOSE},
                 {"kind", C_KIND},   {"from", C_FROM},       {"until", C_UNTIL}};
    for (size_t c = 0; c < sizeof conds / sizeof conds[0]; c++) {
        unsigned bit = conds[c].bit;
        if (strcmp(w[0], conds[c].word) != 0)
            continue;
        if (r->conds & bit)
            return perr(err, errlen, name, line, "condition '%s' given twice in one rule", w[0]);
        r->conds |= bit;
        if (bit == C_LEVEL) {
            if (nw < 2)
                return perr(err, errlen, name, line, "'level' needs at least one value", NULL);
            for (int i = 1; i < nw; i++) {
                int lv = lex_level_from_name(w[i]);
                if (lv < 0)
                    return perr(err, errlen, name, line,
                                "unknown level '%s' (local, state, federal, tribal)", w[i]);
                r->levels |= 1u << lv;
            }
            return 0;
        }
        if (bit == C_FROM || bit == C_UNTIL) {
            int64_t t = nw == 2 ? parse_time(w[1]) : -1;
            if (t < 0)
                return perr(err, errlen, name, line,
                            "'%s' wants one date, YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)", w[0]);
            if (bit == C_FROM)
                r->from_s = t;
            else
                r->until_s = t;
            if ((r->conds & C_FROM) && (r->conds & C_UNTIL) && r->until_s <= r->from_s)
                return perr(err, errlen, name, line, "'until' is not after 'from'", NULL);
            return 0;
        }
        values_t *vals = values_for(r, bit);
        int rc = fill_values(vals, w, nw, name, line, err, errlen);
        return rc ? rc : check_values(r, bit, vals, name, line, err, errlen);
    }
    if (strcmp(w[0], "allow") == 0 || strcmp(w[0], "deny") == 0 || strcmp(w[0], "redact") == 0 ||
        strcmp(w[0], "review") == 0)
        return parse_action(r, w, nw, name, line, err, errlen);
    return perr(err, errlen, name, line, "unknown word '%s'", w[0]);
}

static int finish_rule(const rule_t *r, const char *name, char *err, size_t errlen)
{
    if (r && !r->has_action)
        return perr(err, errlen, name, r->line, "rule '%s' has no action", r->id);
    return 0;
}

static rule_t *new_rule(state_rules_t *s)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        rule_t *grown = realloc(s->rules, cap * sizeof *grown);
        if (!grown)
            return NULL;
        s->rules = grown;
        s->cap = cap;
    }
    rule_t *r = &s->rules[s->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static int parse_text(const char *text, const char *name, const char *include_dir, int depth,
                      state_rules_t *s, char *err, size_t errlen)
{
    int lineno = 0, seen_default = depth > 0, rc = 0;
    rule_t *cur = NULL;
    char line[2048];
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (n >= sizeof line)
            return perr(err, errlen, name, lineno, "line too long", NULL);
        memcpy(line, p, n);
        line[n] = 0;
        p += n + (nl ? 1 : 0);
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *w[VALUES_MAX + 2];
        int nw = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, " \t\r,", &save); t; t = strtok_r(NULL, " \t\r,", &save)) {
            if (nw == VALUES_MAX + 2)
                return perr(err, errlen, name, lineno, "too many values on one line", NULL);
            w[nw++] = t;
        }
        if (nw == 0)
            continue;
        if (strcmp(w[0], "default") == 0) {
            if (depth > 0)
                return perr(err, errlen, name, lineno, "a shared rule set has no 'default'", NULL);
            if (cur || s->n)
                return perr(err, errlen, name, lineno, "'default' must come before the rules",
                            NULL);
            if (seen_default)
                return perr(err, errlen, name, lineno, "a second 'default' line", NULL);
            seen_default = 1;
            if (nw == 2 && strcmp(w[1], "allow") == 0) {
                s->default_action = LEX_ACT_ALLOW;
            } else if (nw == 3 && strcmp(w[1], "deny") == 0 &&
                       (s->default_status = deny_status_from(w[2])) >= 0) {
                s->default_action = LEX_ACT_DENY;
            } else {
                return perr(err, errlen, name, lineno,
                            "default must be 'allow', 'deny denied' or 'deny no-record'", NULL);
            }
            continue;
        }
        if (strcmp(w[0], "include") == 0) {
            if ((rc = finish_rule(cur, name, err, errlen)) != 0)
                return rc;
            cur = NULL;
            if (nw != 2 || !id_valid(w[1]))
                return perr(err, errlen, name, lineno, "'include' wants one rule-set name", NULL);
            if (!include_dir)
                return perr(err, errlen, name, lineno, "'include %s' needs a rules directory",
                            w[1]);
            if (depth + 1 >= POLICY_INCLUDE_DEPTH)
                return perr(err, errlen, name, lineno, "includes nested too deep at '%s'", w[1]);
            char path[1024];
            snprintf(path, sizeof path, "%s/%s.rules", include_dir, w[1]);
            char *inc, why[600];
            if (lex_textfile_read(path, POLICY_FILE_MAX, &inc, why, sizeof why) != 0)
                return perr(err, errlen, name, lineno, "cannot read shared rule set: %s", why);
            rc = parse_text(inc, path, include_dir, depth + 1, s, err, errlen);
            free(inc);
            if (rc != 0)
                return rc;
            continue;
        }
        if (strcmp(w[0], "rule") == 0) {
            if ((rc = finish_rule(cur, name, err, errlen)) != 0)
                return rc;
            if (nw != 2 || !id_valid(w[1]))
                return perr(err, errlen, name, lineno,
                            "'rule' wants one id (letters, digits, - _ ., up to 63)", NULL);
            if (!(cur = new_rule(s)))
                return LEX_ENOMEM;
            strcpy(cur->id, w[1]);
            snprintf(cur->file, sizeof cur->file, "%s", name);
            cur->line = lineno;
            continue;
        }
        if (!cur)
            return perr(err, errlen, name, lineno, "'%s' outside a rule (start one with 'rule ID')",
                        w[0]);
        if ((rc = parse_rule_line(cur, w, nw, name, lineno, err, errlen)) != 0)
            return rc;
        if (cur->conds & (C_FROM | C_UNTIL))
            s->has_time = 1;
    }
    return finish_rule(cur, name, err, errlen);
}

static const rule_t *sort_base;

static int cmp_rule_id(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(sort_base[x].id, sort_base[y].id);
    return c ? c : (x > y) - (x < y);
}

/* Rule ids are unique in a state (its file and what it includes): checked
 * once, sorted, so ten thousand rules load in milliseconds. */
static int check_unique_ids(const state_rules_t *s, char *err, size_t errlen)
{
    uint32_t *order = malloc((s->n + 1) * sizeof *order);
    if (!order)
        return LEX_ENOMEM;
    for (size_t i = 0; i < s->n; i++)
        order[i] = (uint32_t)i;
    sort_base = s->rules;
    qsort(order, s->n, sizeof *order, cmp_rule_id);
    int rc = 0;
    for (size_t i = 1; i < s->n && rc == 0; i++) {
        const rule_t *later = &s->rules[order[i]];
        if (strcmp(s->rules[order[i - 1]].id, later->id) == 0)
            rc = perr(err, errlen, later->file, later->line, "duplicate rule id '%s'", later->id);
    }
    free(order);
    return rc;
}

int policy_parse(const char *text, const char *name, const char *include_dir, state_rules_t *s,
                 char *err, size_t errlen)
{
    int rc = parse_text(text, name, include_dir, 0, s, err, errlen);
    if (rc == 0)
        rc = check_unique_ids(s, err, errlen);
    return rc ? rc : policy_compile(s);
}

static int exact_only(const rule_t *r)
{
    if (!(r->conds & C_ORI))
        return 0;
    for (size_t i = 0; i < r->ori.n; i++)
        if (strpbrk(r->ori.v[i], "*?") || strlen(r->ori.v[i]) != LEX_ORI_LEN)
            return 0;
    return 1;
}

typedef struct {
    char ori[LEX_ORI_LEN + 1];
    uint32_t rule;
} pair_t;

static int cmp_pair(const void *a, const void *b)
{
    const pair_t *x = a, *y = b;
    int c = strcmp(x->ori, y->ori);
    return c ? c : (x->rule > y->rule) - (x->rule < y->rule);
}

uint64_t policy_ori_hash(const char *ori)
{
    uint64_t h = 1469598103934665603ull;
    for (; *ori; ori++)
        h = (h ^ (unsigned char)*ori) * 1099511628211ull;
    return h ^ (h >> 32);
}

int policy_compile(state_rules_t *s)
{
    size_t npairs = 0;
    for (size_t i = 0; i < s->n; i++)
        npairs += exact_only(&s->rules[i]) ? s->rules[i].ori.n : 0;
    s->general = calloc(s->n + 1, sizeof *s->general);
    pair_t *pairs = calloc(npairs + 1, sizeof *pairs);
    s->exact_rules = calloc(npairs + 1, sizeof *s->exact_rules);
    size_t slots = 16;
    while (slots < 2 * npairs)
        slots *= 2;
    s->ori_slots = calloc(slots, sizeof *s->ori_slots);
    s->nslots = slots;
    if (!s->general || !pairs || !s->exact_rules || !s->ori_slots) {
        free(pairs);
        return LEX_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        const rule_t *r = &s->rules[i];
        if (!exact_only(r)) {
            s->general[s->ngeneral++] = (uint32_t)i;
            continue;
        }
        for (size_t j = 0; j < r->ori.n; j++) {
            strcpy(pairs[k].ori, r->ori.v[j]);
            pairs[k++].rule = (uint32_t)i;
        }
    }
    qsort(pairs, npairs, sizeof *pairs, cmp_pair);
    for (size_t i = 0; i < npairs;) {
        size_t j = i;
        while (j < npairs && strcmp(pairs[j].ori, pairs[i].ori) == 0) {
            s->exact_rules[j] = pairs[j].rule;
            j++;
        }
        size_t at = policy_ori_hash(pairs[i].ori) & (slots - 1);
        while (s->ori_slots[at].ori[0])
            at = (at + 1) & (slots - 1);
        strcpy(s->ori_slots[at].ori, pairs[i].ori);
        s->ori_slots[at].start = (uint32_t)i;
        s->ori_slots[at].count = (uint32_t)(j - i);
        i = j;
    }
    free(pairs);
    return 0;
}
