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

/* A CURVE public key and what its holder may speak for (directory lines
 * `@key|<Z85 public key>|label|node|PATTERN PATTERN ...` or
 * `@key|<Z85 public key>|label|operator|ORI ...`). A node key binds ORI
 * patterns (lex_glob.h; "NV*" for a state's own switch); an operator key
 * binds exact ORIs of one state, and only operator keys may decide held
 * queries. The marker `national` among an operator key's ORIs makes it an
 * operator of the whole switch (state ""; its ORIs may be of any state):
 * it sees every state's status and holds, and decides none. */
#define LEX_KEY_NATIONAL "national"
#define LEX_KEY_PATTERNS_MAX 64
#define LEX_KEY_LABEL_MAX 31

typedef enum {
    LEX_KEY_NODE,
    LEX_KEY_OPERATOR,
} lex_key_role_t;

typedef struct {
    char public_z85[41];
    char label[LEX_KEY_LABEL_MAX + 1];
    lex_key_role_t role;
    char state[LEX_STATE_LEN + 1];                    /* operator keys: their state, "" national */
    char patterns[LEX_KEY_PATTERNS_MAX][LEX_ORI_LEN + 1];
    size_t npatterns;
} lex_keybind_t;

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

/* 1 when the key may speak for the ORI. */
int lex_keybind_allows(const lex_keybind_t *k, const char *ori);

/* Writes one key binding as a directory line. */
void lex_directory_write_key(FILE *f, const lex_keybind_t *k);

/* Writes one agency as a directory line. */
void lex_directory_write_line(FILE *f, const lex_agency_t *a);

const char *lex_level_name(lex_level_t level);
/* Level for a name ("local", "state", "federal", "tribal"), or -1. */
int lex_level_from_name(const char *name);

#endif
