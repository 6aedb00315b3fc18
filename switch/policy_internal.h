/* policy_internal.h: the compiled form of a state's rules, shared by the
 * parser (policy_parse.c) and the evaluator (policy.c). Nothing outside the
 * policy library includes it. */
#ifndef LEX_POLICY_INTERNAL_H
#define LEX_POLICY_INTERNAL_H

#include <stdint.h>
#include "lex_envelope.h"
#include "lex_policy.h"

#define POLICY_VALUE_LEN 31
#define POLICY_INCLUDE_DEPTH 4
/* largest rules file read (a state with tens of thousands of rules fits) */
#define POLICY_FILE_MAX ((size_t)64 << 20)

enum {
    C_ORI = 1 << 0,
    C_LEVEL = 1 << 1,
    C_FAMILY = 1 << 2,
    C_HOME = 1 << 3,
    C_KEY = 1 << 4,
    C_PURPOSE = 1 << 5,
    C_KIND = 1 << 6,
    C_FROM = 1 << 7,
    C_UNTIL = 1 << 8,
};

typedef struct {
    size_t n;
    char (*v)[POLICY_VALUE_LEN + 1];   /* heap, n entries */
} values_t;

typedef struct {
    char id[64];
    char file[128];            /* file the rule was read from (includes differ) */
    int line;
    unsigned conds;            /* C_* present */
    values_t ori, family, home, key, purpose, kind;
    unsigned levels;           /* bit per lex_level_t */
    int64_t from_s, until_s;   /* valid from (inclusive) / until (exclusive), unix seconds */
    int has_action;
    lex_action_t action;
    int deny_status;
    size_t nredact;
    char redact[LEX_REDACT_MAX][POLICY_VALUE_LEN + 1];
} rule_t;

/* Rules whose ori condition names exact ORIs (no wildcard) are indexed by
 * ORI; all others are "general". A decision looks at the requester's
 * exact rules and the general rules, both in file order, and takes the
 * earlier match, so thousands of per-agency rules cost a hash look-up. */
typedef struct {
    char ori[LEX_ORI_LEN + 1];
    uint32_t start, count;     /* into exact_rules */
} ori_slot_t;

typedef struct {
    size_t n, cap;
    rule_t *rules;
    lex_action_t default_action;
    int default_status;
    int has_time;              /* some rule has from/until: cached decisions expire */
    uint32_t *general;         /* rule indexes in order */
    size_t ngeneral;
    uint32_t *exact_rules;     /* rule indexes grouped by ORI, in order */
    ori_slot_t *ori_slots;     /* open addressing, nslots a power of two */
    size_t nslots;
} state_rules_t;

/* Builds the indexes of a parsed state. */
int policy_compile(state_rules_t *s);
uint64_t policy_ori_hash(const char *ori);

/* Parses text into s; includes are read from include_dir (may be NULL). */
int policy_parse(const char *text, const char *name, const char *include_dir, state_rules_t *s,
                 char *err, size_t errlen);
void policy_free_state(state_rules_t **s);

#endif
