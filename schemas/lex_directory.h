/* lex_directory.h: the agency directory, every ORI the network knows with
 * its name, level, family and home state (format: docs/PROTOCOL.md,
 * "Agency directory"). The switch loads it to give rules the requester's
 * attributes; nodes load it to know whom they speak for. */
#ifndef LEX_DIRECTORY_H
#define LEX_DIRECTORY_H

#include <stddef.h>
#include <stdio.h>
#include "lex_limits.h"

typedef enum {
    LEX_LEVEL_LOCAL,
    LEX_LEVEL_STATE,
    LEX_LEVEL_FEDERAL,
    LEX_LEVEL_TRIBAL,
} lex_level_t;

#define LEX_FAMILY_MAX 15
#define LEX_AGENCY_NAME_MAX 79

typedef struct {
    char ori[LEX_ORI_LEN + 1];
    lex_level_t level;
    char family[LEX_FAMILY_MAX + 1];     /* "PD", "SO", "SP", "DMV", "FBI", "ICE-ERO", "HSI" ... */
    char home_state[LEX_STATE_LEN + 1];  /* state the agency sits in */
    char name[LEX_AGENCY_NAME_MAX + 1];
} lex_agency_t;

/* A CURVE public key, the role its holder plays and the scope of that role
 * (directory lines `@key|<Z85 public key>|label|role|scope[|broad]`,
 * docs/PROTOCOL.md "Key bindings"):
 *  - agency: the ORIs it may claim as a requester;
 *  - responder: the ORIs that answer queries, with `states=NV,IL` the
 *    states it may register as responder for, with `keys=DQ,RQ` the only
 *    query keys it may answer (without: any);
 *  - operator: exact ORIs of one state's review desk, or `national ORI...`
 *    for the switch's own operations desk;
 *  - switch: the destination patterns a joined switch may serve.
 * A wildcard (`*`, `?`) binds more than one agency: the line must end in
 * `|broad`, or it is refused. Keys are bound by lex_keybind_parse. */
#define LEX_KEY_LABEL_MAX 31
#define LEX_KEY_PATTERNS_MAX 4096   /* as many as one HELLO may register */
#define LEX_KEY_STATES_MAX 64
#define LEX_KEY_KEYS_MAX 32
#define LEX_KEY_LINE_MAX 65536      /* an @key line, bytes (agency lines: 1023) */

typedef enum {
    LEX_KEY_AGENCY,      /* a requester */
    LEX_KEY_RESPONDER,   /* answers queries for its ORIs (and its states=) */
    LEX_KEY_OPERATOR,    /* a state's review desk, or the national desk */
    LEX_KEY_SWITCH,      /* another switch that joins this one */
} lex_key_role_t;

typedef struct {
    char public_z85[41];
    char label[LEX_KEY_LABEL_MAX + 1];
    lex_key_role_t role;
    char state[LEX_STATE_LEN + 1];    /* operator of one state: that state; else "" */
    int national;                     /* operator scope `national`: the switch's own desk */
    int broad;                        /* the line is marked `|broad` (it binds a wildcard) */
    char (*patterns)[LEX_ORI_LEN + 1];  /* ORIs or patterns; owned by the key (lex_keybind_free) */
    size_t npatterns;
    char states[LEX_KEY_STATES_MAX][LEX_STATE_LEN + 1];  /* responder: states= */
    size_t nstates;
    char keys[LEX_KEY_KEYS_MAX][LEX_KEY_MAX + 1];  /* responder: keys= (none: any query key) */
    size_t nkeys;
    size_t line;                      /* line in the directory file, for messages */
} lex_keybind_t;

/* Parses the fields after "@key|" (modified in place) into *k. On
 * LEX_EPARSE *why says what is wrong; k owns its patterns either way
 * (lex_keybind_free). */
int lex_keybind_parse(char *fields, lex_keybind_t *k, const char **why);
void lex_keybind_free(lex_keybind_t *k);

/* 1 when the key may speak for the ORI (one of its patterns matches). */
int lex_keybind_allows(const lex_keybind_t *k, const char *ori);
/* 1 when the key is a responder key whose states= holds state. */
int lex_keybind_serves_state(const lex_keybind_t *k, const char *state);
/* 1 when the key may answer query key `key` (a responder whose keys= holds
 * it, or has no keys=). */
int lex_keybind_answers(const lex_keybind_t *k, const char *key);
/* 1 when both bind the same key to the same role and scope (a reload that
 * changed nothing for this key); the line number is not compared. */
int lex_keybind_equal(const lex_keybind_t *a, const lex_keybind_t *b);
/* 1 when one of the key's patterns holds a wildcard. */
int lex_keybind_is_wild(const lex_keybind_t *k);

/* "agency", "responder", "operator", "switch". */
const char *lex_key_role_name(lex_key_role_t role);
/* Role for a name, or -1. */
int lex_key_role_from_name(const char *name);

/* Writes one key binding as a directory line. */
void lex_directory_write_key(FILE *f, const lex_keybind_t *k);

typedef struct lex_directory lex_directory_t;

/* Loads a directory file. Caller owns *out (lex_directory_destroy).
 * On LEX_EPARSE/LEX_EIO, err holds "path:line: reason". */
int lex_directory_load(const char *path, lex_directory_t **out, char *err, size_t errlen);

/* Parses directory text held in memory (same format). */
int lex_directory_parse(const char *text, const char *name, lex_directory_t **out,
                        char *err, size_t errlen);
void lex_directory_destroy(lex_directory_t **dir);

/* Agency for an ORI, or NULL. O(log n). */
const lex_agency_t *lex_directory_find(const lex_directory_t *dir, const char *ori);
size_t lex_directory_count(const lex_directory_t *dir);
const lex_agency_t *lex_directory_at(const lex_directory_t *dir, size_t i);

/* Key binding for a Z85 public key, or NULL. O(log n). */
const lex_keybind_t *lex_directory_key(const lex_directory_t *dir, const char *public_z85);
size_t lex_directory_key_count(const lex_directory_t *dir);

/* The i-th key binding (sorted by public key), or NULL. */
const lex_keybind_t *lex_directory_key_at(const lex_directory_t *dir, size_t i);
/* Key bindings marked broad (their patterns bind more than one agency). */
size_t lex_directory_broad_count(const lex_directory_t *dir);

/* 1 when ori may register as state's responder without CURVE (dev_plain):
 * the directory lists it as the state's DMV (family DMV, home state), or a
 * responder key binds it with that state in states=. */
int lex_directory_state_responder(const lex_directory_t *dir, const char *ori,
                                  const char *state);

/* Writes one agency as a directory line. */
void lex_directory_write_line(FILE *f, const lex_agency_t *a);

const char *lex_level_name(lex_level_t level);
/* Level for a name ("local", "state", "federal", "tribal"), or -1. */
int lex_level_from_name(const char *name);

#endif
