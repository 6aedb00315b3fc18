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

/* Writes one agency as a directory line. */
void lex_directory_write_line(FILE *f, const lex_agency_t *a);

const char *lex_level_name(lex_level_t level);
/* Level for a name ("local", "state", "federal", "tribal"), or -1. */
int lex_level_from_name(const char *name);

#endif
