/* policy.c: each state's outbound rules (lex_policy.h; language in
 * docs/RULES.md). A rules file is parsed into a list of rules with their
 * conditions split into small fixed arrays, so deciding is a walk down the
 * list with no allocation. A file with any error changes nothing. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_policy.h"
#include "lex_states.h"
#include "lex_status.h"

#define VALUES_MAX 32
#define VALUE_LEN 31

enum { C_ORI = 1, C_LEVEL = 2, C_FAMILY = 4, C_HOME = 8, C_KEY = 16, C_PURPOSE = 32 };

typedef struct {
    size_t n;
    char v[VALUES_MAX][VALUE_LEN + 1];
} values_t;

typedef struct {
    char id[64];
    int line;
    unsigned conds;            /* C_* present */
    values_t ori, family, home, key, purpose;
    unsigned levels;           /* bit per lex_level_t */
    int has_action;
    lex_action_t action;
    int deny_status;
    size_t nredact;
    char redact[LEX_REDACT_MAX][VALUE_LEN + 1];
} rule_t;

typedef struct {
    size_t n;
    rule_t *rules;
    lex_action_t default_action;
    int default_status;
} state_rules_t;

struct lex_policy {
    state_rules_t *states[64];   /* by lex_state_index; NULL = no file */
};

const char *lex_action_name(lex_action_t a)
{
    switch (a) {
    case LEX_ACT_ALLOW: return "allow";
    case LEX_ACT_DENY: return "deny";
    case LEX_ACT_REDACT: return "redact";
    }
    return "unknown";
}

int lex_policy_new(lex_policy_t **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : LEX_ENOMEM;
}

static void free_state(state_rules_t **s)
{
    if (!*s)
        return;
    free((*s)->rules);
    free(*s);
    *s = NULL;
}

void lex_policy_destroy(lex_policy_t **p)
{
    if (!p || !*p)
        return;
    for (int i = 0; i < 64; i++)
        free_state(&(*p)->states[i]);
    free(*p);
    *p = NULL;
}

/* Glob match with * and ?. */
static int glob_match(const char *pat, const char *s)
{
    for (; *pat; pat++, s++) {
        if (*pat == '*') {
            while (pat[1] == '*')
                pat++;
            if (!pat[1])
                return 1;
            for (; *s; s++)
                if (glob_match(pat + 1, s))
                    return 1;
            return 0;
        }
        if (!*s || (*pat != '?' && *pat != *s))
            return 0;
    }
    return *s == 0;
}

static int in_values(const values_t *vals, const char *s)
{
    for (size_t i = 0; i < vals->n; i++)
        if (strcmp(vals->v[i], s) == 0)
            return 1;
    return 0;
}

static int rule_matches(const rule_t *r, const lex_policy_subject_t *sub)
{
    const lex_agency_t *a = sub->agency;
    if ((r->conds & (C_LEVEL | C_FAMILY | C_HOME)) && !a)
        return 0;
    if (r->conds & C_ORI) {
        int any = 0;
        for (size_t i = 0; i < r->ori.n && !any; i++)
            any = glob_match(r->ori.v[i], sub->ori ? sub->ori : "");
        if (!any)
            return 0;
    }
    if ((r->conds & C_LEVEL) && !(r->levels & (1u << a->level)))
        return 0;
    if ((r->conds & C_FAMILY) && !in_values(&r->family, a->family))
        return 0;
    if ((r->conds & C_HOME) && !in_values(&r->home, a->home_state))
        return 0;
    if ((r->conds & C_KEY) && !in_values(&r->key, sub->key ? sub->key : ""))
        return 0;
    if ((r->conds & C_PURPOSE) && !in_values(&r->purpose, sub->purpose ? sub->purpose : ""))
        return 0;
    return 1;
}

void lex_policy_decide(const lex_policy_t *p, const char *state,
                       const lex_policy_subject_t *subject, lex_decision_t *out)
{
    memset(out, 0, sizeof *out);
    out->rule_id = "default";
    int idx = state ? lex_state_index(state) : -1;
    const state_rules_t *s = idx >= 0 && p ? p->states[idx] : NULL;
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        const rule_t *r = &s->rules[i];
        if (!rule_matches(r, subject))
            continue;
        out->action = r->action;
        out->deny_status = r->deny_status;
        out->rule_id = r->id;
        out->nredact = r->nredact;
        for (size_t j = 0; j < r->nredact; j++)
            out->redact[j] = r->redact[j];
        return;
    }
    out->action = s->default_action;
    out->deny_status = s->default_status;
}

size_t lex_policy_rule_count(const lex_policy_t *p, const char *state)
{
    int idx = lex_state_index(state);
    return idx >= 0 && p->states[idx] ? p->states[idx]->n : 0;
}

int lex_policy_rule_line(const lex_policy_t *p, const char *state, const char *rule_id)
{
    int idx = lex_state_index(state);
    const state_rules_t *s = idx >= 0 ? p->states[idx] : NULL;
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->rules[i].id, rule_id) == 0)
            return s->rules[i].line;
    return 0;
}

void lex_policy_default(const lex_policy_t *p, const char *state, lex_action_t *action,
                        int *deny_status)
{
    int idx = lex_state_index(state);
    const state_rules_t *s = idx >= 0 ? p->states[idx] : NULL;
    *action = s ? s->default_action : LEX_ACT_ALLOW;
    *deny_status = s ? s->default_status : 0;
}

static int perr(char *err, size_t errlen, const char *name, int line, const char *fmt,
                const char *word)
{
    char why[200];
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

static int fill_values(values_t *vals, char **w, int nw, const char *name, int line, char *err,
                       size_t errlen)
{
    if (nw < 2)
        return perr(err, errlen, name, line, "'%s' needs at least one value", w[0]);
    if (nw - 1 > VALUES_MAX)
        return perr(err, errlen, name, line, "'%s' has more than 32 values", w[0]);
    vals->n = 0;
    for (int i = 1; i < nw; i++) {
        if (strlen(w[i]) > VALUE_LEN)
            return perr(err, errlen, name, line, "value too long: %s", w[i]);
        strcpy(vals->v[vals->n++], w[i]);
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
    } conds[] = {{"ori", C_ORI}, {"level", C_LEVEL}, {"family", C_FAMILY},
                 {"home", C_HOME}, {"key", C_KEY}, {"purpose", C_PURPOSE}};
    for (size_t c = 0; c < sizeof conds / sizeof conds[0]; c++) {
        if (strcmp(w[0], conds[c].word) != 0)
            continue;
        if (r->conds & conds[c].bit)
            return perr(err, errlen, name, line, "condition '%s' given twice in one rule", w[0]);
        r->conds |= conds[c].bit;
        values_t *vals = conds[c].bit == C_ORI      ? &r->ori
                         : conds[c].bit == C_FAMILY ? &r->family
                         : conds[c].bit == C_HOME   ? &r->home
                         : conds[c].bit == C_KEY    ? &r->key
                                                    : &r->purpose;
        if (conds[c].bit == C_LEVEL) {
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
        int rc = fill_values(vals, w, nw, name, line, err, errlen);
        if (rc != 0)
            return rc;
        if (conds[c].bit == C_HOME)
            for (size_t i = 0; i < vals->n; i++)
                if (!lex_state_valid(vals->v[i]))
                    return perr(err, errlen, name, line, "unknown state '%s'", vals->v[i]);
        if (conds[c].bit == C_ORI)
            for (size_t i = 0; i < vals->n; i++)
                if (strlen(vals->v[i]) > 16)
                    return perr(err, errlen, name, line, "ORI pattern too long: %s", vals->v[i]);
        return 0;
    }
    int is_action = strcmp(w[0], "allow") == 0 || strcmp(w[0], "deny") == 0 ||
                    strcmp(w[0], "redact") == 0;
    if (!is_action)
        return perr(err, errlen, name, line, "unknown word '%s'", w[0]);
    if (r->has_action)
        return perr(err, errlen, name, line, "rule has a second action '%s'", w[0]);
    r->has_action = 1;
    if (strcmp(w[0], "allow") == 0) {
        if (nw != 1)
            return perr(err, errlen, name, line, "'allow' takes no value", NULL);
        r->action = LEX_ACT_ALLOW;
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
            if (strlen(w[i]) > VALUE_LEN)
                return perr(err, errlen, name, line, "field name too long: %s", w[i]);
            strcpy(r->redact[r->nredact++], w[i]);
        }
        r->action = LEX_ACT_REDACT;
    }
    return 0;
}

static int finish_rule(const rule_t *r, const char *name, char *err, size_t errlen)
{
    if (r && !r->has_action)
        return perr(err, errlen, name, r->line, "rule '%s' has no action", r->id);
    return 0;
}

static int parse_rules(const char *text, const char *name, state_rules_t *s, char *err,
                       size_t errlen)
{
    size_t cap = 0;
    int lineno = 0, seen_default = 0, rc = 0;
    rule_t *cur = NULL;
    char line[1024];
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
                return perr(err, errlen, name, lineno, "too many words on one line", NULL);
            w[nw++] = t;
        }
        if (nw == 0)
            continue;
        if (strcmp(w[0], "default") == 0) {
            if (cur)
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
        if (strcmp(w[0], "rule") == 0) {
            if ((rc = finish_rule(cur, name, err, errlen)) != 0)
                return rc;
            if (nw != 2 || !id_valid(w[1]))
                return perr(err, errlen, name, lineno,
                            "'rule' wants one id (letters, digits, - _ ., up to 63)", NULL);
            for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->rules[i].id, w[1]) == 0)
                    return perr(err, errlen, name, lineno, "duplicate rule id '%s'", w[1]);
            if (s->n == cap) {
                cap = cap ? cap * 2 : 16;
                rule_t *grown = realloc(s->rules, cap * sizeof *grown);
                if (!grown)
                    return LEX_ENOMEM;
                s->rules = grown;
            }
            cur = &s->rules[s->n++];
            memset(cur, 0, sizeof *cur);
            strcpy(cur->id, w[1]);
            cur->line = lineno;
            continue;
        }
        if (!cur)
            return perr(err, errlen, name, lineno, "'%s' outside a rule (start one with 'rule ID')",
                        w[0]);
        if ((rc = parse_rule_line(cur, w, nw, name, lineno, err, errlen)) != 0)
            return rc;
    }
    return finish_rule(cur, name, err, errlen);
}

int lex_policy_load_text(lex_policy_t *p, const char *state, const char *text, const char *name,
                         char *err, size_t errlen)
{
    int idx = lex_state_index(state);
    if (idx < 0)
        return perr(err, errlen, name, 0, "'%s' is not a state code", state);
    state_rules_t *s = calloc(1, sizeof *s);
    if (!s)
        return LEX_ENOMEM;
    int rc = parse_rules(text, name, s, err, errlen);
    if (rc != 0) {
        free_state(&s);
        return rc;
    }
    free_state(&p->states[idx]);
    p->states[idx] = s;
    return 0;
}

static char *slurp(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open", path);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len + 1 < cap)
            break;
        cap *= 2;
        char *grown = realloc(buf, cap);
        if (!grown) {
            free(buf);
            buf = NULL;
        }
        buf = grown;
    }
    fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

int lex_policy_load_file(lex_policy_t *p, const char *path, char *err, size_t errlen)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    char state[3] = "";
    if (n == 8 && strcmp(base + 2, ".rules") == 0) {
        state[0] = base[0];
        state[1] = base[1];
    }
    if (!lex_state_valid(state)) {
        snprintf(err, errlen, "%s: a rules file is named <STATE>.rules, e.g. IL.rules", path);
        return LEX_EPARSE;
    }
    char *text = slurp(path, err, errlen);
    if (!text)
        return LEX_EIO;
    int rc = lex_policy_load_text(p, state, text, path, err, errlen);
    free(text);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int lex_policy_load_dir(lex_policy_t *p, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: cannot open rules directory", dir);
        return LEX_EIO;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 7 || strcmp(e->d_name + len - 6, ".rules") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) {
                rc = LEX_ENOMEM;
                goto cleanup;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = LEX_ENOMEM;
            goto cleanup;
        }
        n++;
    }
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    /* load into a scratch policy so one bad file changes nothing */
    lex_policy_t *scratch = NULL;
    if ((rc = lex_policy_new(&scratch)) != 0)
        goto cleanup;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        rc = lex_policy_load_file(scratch, path, err, errlen);
    }
    if (rc == 0)
        for (int i = 0; i < 64; i++)
            if (scratch->states[i]) {
                free_state(&p->states[i]);
                p->states[i] = scratch->states[i];
                scratch->states[i] = NULL;
            }
    lex_policy_destroy(&scratch);
cleanup:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}
