/* lex_catalogue.h: the message catalogue. Each message key is described by a
 * data file under schemas/catalogue/ (format: docs/PROTOCOL.md, "Catalogue
 * files"), compiled into the library at build time. The catalogue validates
 * bodies: required fields, types, lengths, unknown fields, cross-field rules. */
#ifndef LEX_CATALOGUE_H
#define LEX_CATALOGUE_H

#include <stddef.h>
#include <stdint.h>
#include "lex_limits.h"

#define LEX_FIELD_NAME_MAX 23
#define LEX_MSG_FIELDS_MAX 32
#define LEX_MSG_GROUPS_MAX 4

typedef enum {
    LEX_FT_STR,    /* UTF-8 string; max = bytes */
    LEX_FT_INT,    /* integer (signed or unsigned); max unused */
    LEX_FT_BOOL,
    LEX_FT_BIN,    /* bytes; max = bytes */
    LEX_FT_ARRAY,  /* array; max = element count */
    LEX_FT_MAP,    /* map; max = pair count */
} lex_field_type_t;

typedef enum {
    LEX_CLASS_QUERY,     /* asks a state for records (DQ, RQ ...) */
    LEX_CLASS_RESPONSE,  /* answers a query (DR, RR ...) */
    LEX_CLASS_ADMIN,     /* free text between agencies (AM) */
    LEX_CLASS_STATUS,    /* ST */
    LEX_CLASS_SESSION,   /* HELLO, WELCOME, HB, BYE */
    LEX_CLASS_OPERATOR,  /* RVQ/RVR: a state operator and the switch */
} lex_msg_class_t;

typedef struct {
    char name[LEX_FIELD_NAME_MAX + 1];
    lex_field_type_t type;
    uint32_t max;      /* length or count limit, 0 = none */
    int required;      /* must be present */
    int personal;      /* personal data: may be redacted by a state's rules */
} lex_field_t;

/* A group of fields with a cross-field rule. */
typedef struct {
    int kind;                                /* 0 = any-of, 1 = together */
    uint32_t n;
    uint8_t field[LEX_MSG_FIELDS_MAX];       /* indexes into fields[] */
} lex_field_group_t;

typedef struct {
    char key[LEX_KEY_MAX + 1];
    lex_msg_class_t cls;
    char pair[LEX_KEY_MAX + 1];  /* query: its response key; response: its query key */
    char title[64];              /* human description */
    uint32_t nfields;
    lex_field_t fields[LEX_MSG_FIELDS_MAX];
    uint32_t ngroups;
    lex_field_group_t groups[LEX_MSG_GROUPS_MAX];
} lex_msgdef_t;

typedef struct lex_catalogue lex_catalogue_t;

/* The catalogue compiled into the library; parsed once, never freed.
 * Aborts nothing: returns NULL only if the built-in files are broken
 * (a build error the tests catch). */
const lex_catalogue_t *lex_catalogue_builtin(void);

/* Parses catalogue files given as texts (one file each) into a new catalogue.
 * Caller owns *out (lex_catalogue_destroy). On LEX_EPARSE, err holds
 * "name:line: reason". */
int lex_catalogue_parse(const char *const *texts, const char *const *names,
                        lex_catalogue_t **out, char *err, size_t errlen);
void lex_catalogue_destroy(lex_catalogue_t **cat);

const lex_msgdef_t *lex_catalogue_find(const lex_catalogue_t *cat, const char *key);
size_t lex_catalogue_count(const lex_catalogue_t *cat);
const lex_msgdef_t *lex_catalogue_at(const lex_catalogue_t *cat, size_t i);

/* Index of a field in def, or -1. */
int lex_msgdef_field(const lex_msgdef_t *def, const char *name);

/* Validates a body (msgpack bytes) against def. Returns 0 or the LEX_E*
 * code of the first violation; *field names the offending field (points
 * into def or a static string). */
int lex_body_validate(const lex_msgdef_t *def, const void *data, size_t len,
                      const char **field);

#endif
