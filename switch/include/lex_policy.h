/* lex_policy.h: each state's outbound rules (syntax: docs/RULES.md).
 * The switch asks, for every query to a state and every response from it,
 * what that state's rules decide for this requester and key: allow, deny
 * (with the status the requester sees) or redact named fields. First match
 * wins; each state has a default (allow unless its file says otherwise).
 * A query whose decision is review is held by the switch until an operator
 * of that state approves or denies it. */
#ifndef LEX_POLICY_H
#define LEX_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include "lex_directory.h"

typedef enum {
    LEX_ACT_ALLOW = 0,
    LEX_ACT_DENY = 1,
    LEX_ACT_REDACT = 2,
    LEX_ACT_REVIEW = 3,   /* hold the query until a state operator decides */
} lex_action_t;

#define LEX_REDACT_MAX 16

typedef struct {
    lex_action_t action;
    int deny_status;                        /* LEX_ST_DENIED or LEX_ST_NO_RECORD */
    const char *rule_id;                    /* "default" for the default; owned by the policy */
    size_t nredact;
    const char *redact[LEX_REDACT_MAX];     /* field names; owned by the policy */
} lex_decision_t;

/* What the rules look at. agency may be NULL when the ORI is not in the
 * directory (such a requester matches only rules on ori, key, purpose, kind
 * and time). Decisions are cached by (state, ori, key, purpose, kind), so a
 * policy assumes one ORI always has the same directory entry. */
typedef struct {
    const char *ori;              /* requester ORI */
    const lex_agency_t *agency;   /* requester's directory entry */
    const char *key;              /* the query key (for responses: the key of the query answered) */
    const char *purpose;          /* purpose code, may be "" or NULL */
    const char *kind;             /* query kind (lex_query_kind), may be "" or NULL */
    int64_t now_s;                /* unix time for from/until; 0 = the clock */
} lex_policy_subject_t;

typedef struct lex_policy lex_policy_t;

/* Empty policy: every state allows everything. Caller owns *out. */
int lex_policy_new(lex_policy_t **out);

/* Where `include NAME` finds NAME.rules for lex_policy_load_text (files
 * loaded with load_file/load_dir use the shared/ folder beside them). */
int lex_policy_set_shared_dir(lex_policy_t *p, const char *dir);
void lex_policy_destroy(lex_policy_t **p);

/* Parses rules text for one state and installs it in p (replacing what p had
 * for that state). On LEX_EPARSE, err holds "name:line: reason" and p is
 * unchanged. */
int lex_policy_load_text(lex_policy_t *p, const char *state, const char *text,
                         const char *name, char *err, size_t errlen);

/* Loads a rules file; the state is the file's base name ("IL.rules" -> IL). */
int lex_policy_load_file(lex_policy_t *p, const char *path, char *err, size_t errlen);

/* Loads every *.rules file in dir. Stops at the first bad file (err says which). */
int lex_policy_load_dir(lex_policy_t *p, const char *dir, char *err, size_t errlen);

/* Decides for a message carrying state's data. Never fails: unknown states
 * get allow/"default". Repeated questions are answered from a cache, so the
 * cost does not grow with the number of rules. Not thread-safe. */
void lex_policy_decide(lex_policy_t *p, const char *state, const lex_policy_subject_t *subject,
                       lex_decision_t *out);

/* Drops every cached decision: call when the agency directory changed
 * (a requester's family, level or home state may differ now). */
void lex_policy_forget_decisions(lex_policy_t *p);

/* Decision cache counters (for benchmarks and metrics). */
void lex_policy_cache_stats(const lex_policy_t *p, uint64_t *hits, uint64_t *misses);

/* Number of rules in force for a state (0 when it has no file). */
size_t lex_policy_rule_count(const lex_policy_t *p, const char *state);

/* Where a state's rule is written: returns its line (0 when unknown) and
 * sets *file to the file it came from (the state's file or a shared set). */
int lex_policy_rule_source(const lex_policy_t *p, const char *state, const char *rule_id,
                           const char **file);

/* The state's default action (allow when it has no file). */
void lex_policy_default(const lex_policy_t *p, const char *state, lex_action_t *action,
                        int *deny_status);

const char *lex_action_name(lex_action_t a);

#endif
