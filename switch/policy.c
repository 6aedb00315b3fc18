/* policy.c: deciding with each state's outbound rules (lex_policy.h; the
 * language is in docs/RULES.md, parsed by policy_parse.c). A decision is a
 * first-match walk down the state's rules; its result is cached per
 * (state, requester, key, purpose, kind) until the rules are replaced or a
 * rule's from/until boundary passes, so a busy switch pays the walk once per
 * requester and key, however many rules a state writes. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_glob.h"
#include "lex_states.h"
#include "lex_status.h"
#include "lex_textfile.h"
#include "policy_internal.h"

#define CACHE_SLOTS 65536   /* power of two; about 4 MB */
#define CACHE_WAYS 4        /* a question may sit in any of 4 neighbouring slots */

typedef struct {
    uint64_t hash;               /* 0 = empty */
    int64_t expires_s;           /* INT64_MAX when no rule depends on time */
    int32_t rule;                /* rule index, -1 = the default */
    int8_t state;
    char ori[LEX_ORI_LEN + 1];
    char key[LEX_KEY_MAX + 1];
    char purpose[LEX_PURPOSE_MAX + 1];
    char kind[13];
} cache_entry_t;

struct lex_policy {
    state_rules_t *states[64];   /* by lex_state_index; NULL = no file */
    char *shared_dir;            /* for includes in load_text */
    cache_entry_t *cache;        /* CACHE_SLOTS entries, allocated on first use */
    uint64_t hits, misses;
};

const char *lex_action_name(lex_action_t a)
{
    switch (a) {
    case LEX_ACT_ALLOW: return "allow";
    case LEX_ACT_DENY: return "deny";
    case LEX_ACT_REDACT: return "redact";
    case LEX_ACT_REVIEW: return "review";
    }
    return "unknown";
}

int lex_policy_new(lex_policy_t **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : LEX_ENOMEM;
}

void lex_policy_destroy(lex_policy_t **p)
{
    if (!p || !*p)
        return;
    for (int i = 0; i < 64; i++)
        policy_free_state(&(*p)->states[i]);
    free((*p)->shared_dir);
    free((*p)->cache);
    free(*p);
    *p = NULL;
}

int lex_policy_set_shared_dir(lex_policy_t *p, const char *dir)
{
    char *copy = dir ? strdup(dir) : NULL;
    if (dir && !copy)
        return LEX_ENOMEM;
    free(p->shared_dir);
    p->shared_dir = copy;
    return 0;
}

static void cache_clear(lex_policy_t *p)
{
    if (p->cache)
        memset(p->cache, 0, CACHE_SLOTS * sizeof *p->cache);
}

static int in_values(const values_t *vals, const char *s)
{
    for (size_t i = 0; i < vals->n; i++)
        if (strcmp(vals->v[i], s) == 0)
            return 1;
    return 0;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static int rule_matches(const rule_t *r, const lex_policy_subject_t *sub, int64_t now)
{
    const lex_agency_t *a = sub->agency;
    if ((r->conds & (C_LEVEL | C_FAMILY | C_HOME)) && !a)
        return 0;
    if ((r->conds & C_KEY) && !in_values(&r->key, or_empty(sub->key)))
        return 0;
    if ((r->conds & C_FAMILY) && !in_values(&r->family, a->family))
        return 0;
    if ((r->conds & C_LEVEL) && !(r->levels & (1u << a->level)))
        return 0;
    if ((r->conds & C_HOME) && !in_values(&r->home, a->home_state))
        return 0;
    if ((r->conds & C_PURPOSE) && !in_values(&r->purpose, or_empty(sub->purpose)))
        return 0;
    if ((r->conds & C_KIND) && !in_values(&r->kind, or_empty(sub->kind)))
        return 0;
    if ((r->conds & C_FROM) && now < r->from_s)
        return 0;
    if ((r->conds & C_UNTIL) && now >= r->until_s)
        return 0;
    if (r->conds & C_ORI) {
        for (size_t i = 0; i < r->ori.n; i++)
            if (lex_glob_match(r->ori.v[i], or_empty(sub->ori)))
                return 1;
        return 0;
    }
    return 1;
}

/* The first from/until boundary after now: a cached decision is good until then. */
static int64_t next_boundary(const state_rules_t *s, int64_t now)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < s->n; i++) {
        const rule_t *r = &s->rules[i];
        if ((r->conds & C_FROM) && r->from_s > now && r->from_s < next)
            next = r->from_s;
        if ((r->conds & C_UNTIL) && r->until_s > now && r->until_s < next)
            next = r->until_s;
    }
    return next;
}

static const ori_slot_t *exact_slot(const state_rules_t *s, const char *ori)
{
    if (!s->nslots || !ori[0])
        return NULL;
    size_t at = policy_ori_hash(ori) & (s->nslots - 1);
    for (; s->ori_slots[at].ori[0]; at = (at + 1) & (s->nslots - 1))
        if (strcmp(s->ori_slots[at].ori, ori) == 0)
            return &s->ori_slots[at];
    return NULL;
}

/* Index of the first matching rule, or -1 for the default. */
static long first_match(const state_rules_t *s, const lex_policy_subject_t *sub, int64_t now)
{
    long best = -1;
    const ori_slot_t *slot = exact_slot(s, or_empty(sub->ori));
    for (uint32_t i = 0; slot && i < slot->count; i++) {
        uint32_t r = s->exact_rules[slot->start + i];
        if (rule_matches(&s->rules[r], sub, now)) {
            best = r;
            break;
        }
    }
    for (size_t i = 0; i < s->ngeneral; i++) {
        uint32_t r = s->general[i];
        if (best >= 0 && r >= (uint32_t)best)
            break;
        if (rule_matches(&s->rules[r], sub, now)) {
            best = r;
            break;
        }
    }
    return best;
}

static void fill_decision(const state_rules_t *s, long rule, lex_decision_t *out)
{
    if (rule < 0) {
        out->action = s->default_action;
        out->deny_status = s->default_status;
        out->rule_id = "default";
        out->nredact = 0;
        return;
    }
    const rule_t *r = &s->rules[rule];
    out->action = r->action;
    out->deny_status = r->deny_status;
    out->rule_id = r->id;
    out->nredact = r->nredact;
    for (size_t j = 0; j < r->nredact; j++)
        out->redact[j] = r->redact[j];
}

static uint64_t mix_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull;
}

/* Copies s into a fixed field; 0 when it does not fit (not cacheable). */
static int fit(char *dst, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (n >= size)
        return 0;
    memcpy(dst, s, n + 1);
    return 1;
}

void lex_policy_decide(lex_policy_t *p, const char *state, const lex_policy_subject_t *subject,
                       lex_decision_t *out)
{
    memset(out, 0, sizeof *out);
    out->rule_id = "default";
    int idx = state ? lex_state_index(state) : -1;
    const state_rules_t *s = idx >= 0 && p ? p->states[idx] : NULL;
    if (!s)
        return;
    int64_t now = subject->now_s ? subject->now_s : (s->has_time ? (int64_t)time(NULL) : 0);
    const char *ori = or_empty(subject->ori), *key = or_empty(subject->key),
               *purpose = or_empty(subject->purpose), *kind = or_empty(subject->kind);
    if (!p->cache)
        p->cache = calloc(CACHE_SLOTS, sizeof *p->cache); /* on failure: no cache */
    uint64_t h = mix_str(mix_str(mix_str(mix_str(1469598103934665603ull ^ (uint64_t)idx, ori), key),
                                 purpose),
                         kind) | 1;
    cache_entry_t *set = p->cache ? &p->cache[h & (CACHE_SLOTS - CACHE_WAYS)] : NULL;
    for (int w = 0; set && w < CACHE_WAYS; w++) {
        cache_entry_t *e = &set[w];
        if (e->hash == h && e->state == idx && now < e->expires_s && strcmp(e->ori, ori) == 0 &&
            strcmp(e->key, key) == 0 && strcmp(e->purpose, purpose) == 0 &&
            strcmp(e->kind, kind) == 0) {
            p->hits++;
            fill_decision(s, e->rule, out);
            return;
        }
    }
    p->misses++;
    long rule = first_match(s, subject, now);
    fill_decision(s, rule, out);
    if (!set)
        return;
    /* an empty way, else the one after the last replaced (round robin) */
    cache_entry_t *e = NULL;
    for (int w = 0; w < CACHE_WAYS && !e; w++)
        if (!set[w].hash)
            e = &set[w];
    if (!e)
        e = &set[(p->misses >> 2) & (CACHE_WAYS - 1)];
    if (fit(e->ori, sizeof e->ori, ori) && fit(e->key, sizeof e->key, key) &&
        fit(e->purpose, sizeof e->purpose, purpose) && fit(e->kind, sizeof e->kind, kind)) {
        e->hash = h;
        e->state = (int8_t)idx;
        e->rule = (int32_t)rule;
        e->expires_s = s->has_time ? next_boundary(s, now) : INT64_MAX;
    } else {
        e->hash = 0;
    }
}

void lex_policy_forget_decisions(lex_policy_t *p)
{
    if (p)
        cache_clear(p);
}

void lex_policy_cache_stats(const lex_policy_t *p, uint64_t *hits, uint64_t *misses)
{
    *hits = p->hits;
    *misses = p->misses;
}

size_t lex_policy_rule_count(const lex_policy_t *p, const char *state)
{
    int idx = lex_state_index(state);
    return idx >= 0 && p->states[idx] ? p->states[idx]->n : 0;
}

int lex_policy_rule_source(const lex_policy_t *p, const char *state, const char *rule_id,
                           const char **file)
{
    int idx = lex_state_index(state);
    const state_rules_t *s = idx >= 0 ? p->states[idx] : NULL;
    *file = "";
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->rules[i].id, rule_id) == 0) {
            *file = s->rules[i].file;
            return s->rules[i].line;
        }
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

static int load_text_from(lex_policy_t *p, const char *state, const char *text, const char *name,
                          const char *include_dir, char *err, size_t errlen)
{
    int idx = lex_state_index(state);
    if (idx < 0) {
        snprintf(err, errlen, "%s: '%s' is not a state code", name, state);
        return LEX_EPARSE;
    }
    state_rules_t *s = calloc(1, sizeof *s);
    if (!s)
        return LEX_ENOMEM;
    int rc = policy_parse(text, name, include_dir, s, err, errlen);
    if (rc != 0) {
        policy_free_state(&s);
        return rc;
    }
    policy_free_state(&p->states[idx]);
    p->states[idx] = s;
    cache_clear(p);
    return 0;
}

int lex_policy_load_text(lex_policy_t *p, const char *state, const char *text, const char *name,
                         char *err, size_t errlen)
{
    return load_text_from(p, state, text, name, p->shared_dir, err, errlen);
}

int lex_policy_load_file(lex_policy_t *p, const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char state[3] = "";
    if (strlen(base) == 8 && strcmp(base + 2, ".rules") == 0) {
        state[0] = base[0];
        state[1] = base[1];
    }
    if (!lex_state_valid(state)) {
        snprintf(err, errlen, "%s: a rules file is named <STATE>.rules, e.g. IL.rules", path);
        return LEX_EPARSE;
    }
    char shared[1024];
    snprintf(shared, sizeof shared, "%.*s/shared", slash ? (int)(slash - path) : 1,
             slash ? path : ".");
    char *text;
    int read_rc = lex_textfile_read(path, POLICY_FILE_MAX, &text, err, errlen);
    if (read_rc != 0)
        return read_rc;
    int rc = load_text_from(p, state, text, path, shared, err, errlen);
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
    lex_policy_t *scratch = NULL;
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
    if ((rc = lex_policy_new(&scratch)) != 0)
        goto cleanup;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        rc = lex_policy_load_file(scratch, path, err, errlen);
    }
    if (rc == 0) {
        for (int i = 0; i < 64; i++)
            if (scratch->states[i]) {
                policy_free_state(&p->states[i]);
                p->states[i] = scratch->states[i];
                scratch->states[i] = NULL;
            }
        cache_clear(p);
    }
cleanup:
    lex_policy_destroy(&scratch);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}
