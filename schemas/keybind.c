/* keybind.c: one `@key` line of the agency directory: a CURVE public key,
 * the role its holder plays (agency, responder, operator, switch) and the
 * scope of that role (docs/PROTOCOL.md, "Key bindings"). The switch checks
 * every HELLO of a CURVE connection against it (switch/hello_check.c). A
 * wildcard binds more than one agency and is refused unless the line says
 * `|broad`, so no key is ever bound widely by accident. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dirline_internal.h"
#include "lex_catalogue.h"
#include "lex_directory.h"
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_glob.h"
#include "lex_keys.h"

static const char *const role_names[] = {"agency", "responder", "operator", "switch"};

const char *lex_key_role_name(lex_key_role_t role)
{
    return (unsigned)role < 4 ? role_names[role] : "unknown";
}

int lex_key_role_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, role_names[i]) == 0)
            return i;
    return -1;
}

static int has_wildcard(const char *p)
{
    return strpbrk(p, "*?") != NULL;
}

/* states=NV,IL (value after '='). */
static int parse_states(lex_keybind_t *k, char *list, const char **why)
{
    if (k->role != LEX_KEY_RESPONDER) {
        *why = "states= belongs to a responder key only";
        return LEX_EPARSE;
    }
    if (k->nstates) {
        *why = "states= given twice";
        return LEX_EPARSE;
    }
    char *save = NULL;
    for (char *st = strtok_r(list, ",", &save); st; st = strtok_r(NULL, ",", &save)) {
        if (!lex_state_valid(st)) {
            *why = "states= holds an unknown state code";
            return LEX_EPARSE;
        }
        if (lex_keybind_serves_state(k, st))
            continue;
        if (k->nstates == LEX_KEY_STATES_MAX) {
            *why = "too many states in states=";
            return LEX_EPARSE;
        }
        strcpy(k->states[k->nstates++], st);
    }
    if (k->nstates == 0) {
        *why = "states= names no state";
        return LEX_EPARSE;
    }
    return 0;
}

/* keys=DQ,RQ (value after '='): query keys of the catalogue. */
static int parse_keys(lex_keybind_t *k, char *list, const char **why)
{
    if (k->role != LEX_KEY_RESPONDER) {
        *why = "keys= belongs to a responder key only";
        return LEX_EPARSE;
    }
    if (k->nkeys) {
        *why = "keys= given twice";
        return LEX_EPARSE;
    }
    char *save = NULL;
    for (char *key = strtok_r(list, ",", &save); key; key = strtok_r(NULL, ",", &save)) {
        const lex_msgdef_t *def = lex_catalogue_find(lex_catalogue_builtin(), key);
        if (!def || def->cls != LEX_CLASS_QUERY) {
            *why = "keys= holds a key that is not a query key of the catalogue";
            return LEX_EPARSE;
        }
        if (lex_keybind_answers(k, key) && k->nkeys)
            continue;
        if (k->nkeys == LEX_KEY_KEYS_MAX) {
            *why = "too many keys in keys=";
            return LEX_EPARSE;
        }
        strcpy(k->keys[k->nkeys++], key);
    }
    if (k->nkeys == 0) {
        *why = "keys= names no key";
        return LEX_EPARSE;
    }
    return 0;
}

static int add_pattern(lex_keybind_t *k, const char *tok, size_t *cap, const char **why)
{
    if (!lex_glob_pattern_valid(tok)) {
        *why = "an ORI pattern is 1 to 9 characters of A-Z, 0-9, * and ?";
        return LEX_EPARSE;
    }
    if (has_wildcard(tok) && !k->broad) {
        *why = "a wildcard binds more than one agency: end the line with |broad if that is "
               "meant, or list the ORIs";
        return LEX_EPARSE;
    }
    if (k->role == LEX_KEY_OPERATOR) {
        if (!lex_ori_valid(tok)) {
            *why = "an operator key binds exact ORIs, not patterns";
            return LEX_EPARSE;
        }
        char st[LEX_STATE_LEN + 1] = {tok[0], tok[1], 0};
        if (!k->national) {
            if (!lex_state_valid(st) || (k->state[0] && strcmp(k->state, st) != 0)) {
                *why = "an operator key is bound to the ORIs of one state (or is 'national')";
                return LEX_EPARSE;
            }
            strcpy(k->state, st);
        }
    }
    if (k->npatterns == LEX_KEY_PATTERNS_MAX) {
        *why = "more than 4096 ORIs or patterns for one key";
        return LEX_EPARSE;
    }
    if (k->npatterns == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 8;
        void *grown = realloc(k->patterns, grown_cap * sizeof *k->patterns);
        if (!grown) {
            *why = "out of memory";
            return LEX_ENOMEM;
        }
        k->patterns = grown;
        *cap = grown_cap;
    }
    strcpy(k->patterns[k->npatterns++], tok);
    return 0;
}

/* The scope field: ORIs and patterns (space or comma separated), with
 * `states=` and `keys=` (responder) or `national` (operator). */
static int parse_scope(lex_keybind_t *k, char *scope, const char **why)
{
    size_t cap = 0;
    char *save = NULL;
    for (char *tok = strtok_r(scope, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (strncmp(tok, "states=", 7) == 0) {
            int rc = parse_states(k, tok + 7, why);
            if (rc)
                return rc;
            continue;
        }
        if (strncmp(tok, "keys=", 5) == 0) {
            int rc = parse_keys(k, tok + 5, why);
            if (rc)
                return rc;
            continue;
        }
        if (strcmp(tok, "national") == 0) {
            if (k->role != LEX_KEY_OPERATOR) {
                *why = "'national' is the scope of an operator key only";
                return LEX_EPARSE;
            }
            if (k->npatterns) {
                *why = "'national' comes before the desk's ORIs";
                return LEX_EPARSE;
            }
            k->national = 1;
            continue;
        }
        char *save2 = NULL;
        for (char *p = strtok_r(tok, ",", &save2); p; p = strtok_r(NULL, ",", &save2)) {
            int rc = add_pattern(k, p, &cap, why);
            if (rc)
                return rc;
        }
    }
    if (k->npatterns == 0) {
        *why = "a key must be bound to at least one ORI or pattern";
        return LEX_EPARSE;
    }
    if (k->broad && !lex_keybind_is_wild(k)) {
        *why = "marked broad but binds no wildcard: drop |broad";
        return LEX_EPARSE;
    }
    return 0;
}

int lex_keybind_parse(char *fields, lex_keybind_t *k, const char **why)
{
    char *parts[6];
    memset(k, 0, sizeof *k);
    int n = lex_dirline_split(fields, parts, 6);
    if (n < 4 || n > 5) {
        *why = "expected @key|public key|label|role|scope[|broad]";
        return LEX_EPARSE;
    }
    if (!lex_z85_key_valid(parts[0])) {
        *why = "the public key must be 40 Z85 characters";
        return LEX_EPARSE;
    }
    strcpy(k->public_z85, parts[0]);
    if (!parts[1][0] || strlen(parts[1]) > LEX_KEY_LABEL_MAX) {
        *why = "label must be 1 to 31 characters";
        return LEX_EPARSE;
    }
    strcpy(k->label, parts[1]);
    if (strcmp(parts[2], "node") == 0) {
        *why = "role 'node' is no longer accepted: use agency (the ORIs a requester may "
               "claim) or responder (ORIs that answer, with states=ST for a state's responder)";
        return LEX_EPARSE;
    }
    int role = lex_key_role_from_name(parts[2]);
    if (role < 0) {
        *why = "role must be agency, responder, operator or switch";
        return LEX_EPARSE;
    }
    k->role = (lex_key_role_t)role;
    if (n == 5) {
        if (strcmp(parts[4], "broad") != 0) {
            *why = "the field after the scope may only be 'broad'";
            return LEX_EPARSE;
        }
        k->broad = 1;
    }
    return parse_scope(k, parts[3], why);
}

void lex_keybind_free(lex_keybind_t *k)
{
    if (!k)
        return;
    free(k->patterns);
    k->patterns = NULL;
    k->npatterns = 0;
}

int lex_keybind_allows(const lex_keybind_t *k, const char *ori)
{
    for (size_t i = 0; i < k->npatterns; i++)
        if (lex_glob_match(k->patterns[i], ori))
            return 1;
    return 0;
}

int lex_keybind_serves_state(const lex_keybind_t *k, const char *state)
{
    for (size_t i = 0; i < k->nstates; i++)
        if (strcmp(k->states[i], state) == 0)
            return 1;
    return 0;
}

int lex_keybind_answers(const lex_keybind_t *k, const char *key)
{
    if (k->role != LEX_KEY_RESPONDER)
        return 0;
    if (k->nkeys == 0)
        return 1;
    for (size_t i = 0; i < k->nkeys; i++)
        if (strcmp(k->keys[i], key) == 0)
            return 1;
    return 0;
}

int lex_keybind_is_wild(const lex_keybind_t *k)
{
    for (size_t i = 0; i < k->npatterns; i++)
        if (has_wildcard(k->patterns[i]))
            return 1;
    return 0;
}

int lex_keybind_equal(const lex_keybind_t *a, const lex_keybind_t *b)
{
    if (strcmp(a->public_z85, b->public_z85) || strcmp(a->label, b->label) ||
        a->role != b->role || strcmp(a->state, b->state) || a->national != b->national ||
        a->broad != b->broad || a->npatterns != b->npatterns || a->nstates != b->nstates ||
        a->nkeys != b->nkeys)
        return 0;
    for (size_t i = 0; i < a->nkeys; i++)
        if (strcmp(a->keys[i], b->keys[i]))
            return 0;
    for (size_t i = 0; i < a->npatterns; i++)
        if (strcmp(a->patterns[i], b->patterns[i]))
            return 0;
    for (size_t i = 0; i < a->nstates; i++)
        if (strcmp(a->states[i], b->states[i]))
            return 0;
    return 1;
}

void lex_directory_write_key(FILE *f, const lex_keybind_t *k)
{
    fprintf(f, "@key|%s|%s|%s|%s", k->public_z85, k->label, lex_key_role_name(k->role),
            k->national ? "national " : "");
    for (size_t i = 0; i < k->npatterns; i++)
        fprintf(f, "%s%s", i ? " " : "", k->patterns[i]);
    for (size_t i = 0; i < k->nstates; i++)
        fprintf(f, "%s%s", i ? "," : " states=", k->states[i]);
    for (size_t i = 0; i < k->nkeys; i++)
        fprintf(f, "%s%s", i ? "," : " keys=", k->keys[i]);
    fputs(k->broad ? "|broad\n" : "\n", f);
}
