/* directory.c: loads the agency directory (docs/PROTOCOL.md, "Agency
 * directory"): one agency a line, `ORI|level|family|home_state|name`, and
 * key bindings, `@key|public|label|role|scope` (keybind.c). Both are kept as arrays
 * sorted by their key so look-ups are a binary search. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dirline_internal.h"
#include "lex_directory.h"
#include "lex_textfile.h"
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_keys.h"

/* a directory file of every agency of a large country is a few megabytes */
#define LEX_DIRECTORY_FILE_MAX ((size_t)256 << 20)

struct lex_directory {
    size_t count;
    lex_agency_t *agencies; /* sorted by ORI */
    size_t nkeys;
    lex_keybind_t *keys;    /* sorted by public key */
};

static const char *level_names[] = {"local", "state", "federal", "tribal"};

const char *lex_level_name(lex_level_t level)
{
    return (unsigned)level < 4 ? level_names[level] : "unknown";
}

int lex_level_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

static int cmp_agency(const void *a, const void *b)
{
    return strcmp(((const lex_agency_t *)a)->ori, ((const lex_agency_t *)b)->ori);
}

static int fail(char *err, size_t errlen, const char *name, size_t line, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "%s:%zu: %s", name, line, why);
    return LEX_EPARSE;
}

static int parse_line(char *line, lex_agency_t *a, const char **why)
{
    char *parts[5];
    int n = lex_dirline_split(line, parts, 5);
    if (n != 5 || strchr(parts[4], '|')) {
        *why = "expected 5 fields: ORI|level|family|home_state|name";
        return LEX_EPARSE;
    }
    memset(a, 0, sizeof *a);
    if (!lex_ori_valid(parts[0])) {
        *why = "ORI must be 9 characters A-Z 0-9";
        return LEX_EPARSE;
    }
    strcpy(a->ori, parts[0]);
    int level = lex_level_from_name(parts[1]);
    if (level < 0) {
        *why = "level must be local, state, federal or tribal";
        return LEX_EPARSE;
    }
    a->level = (lex_level_t)level;
    if (!parts[2][0] || strlen(parts[2]) > LEX_FAMILY_MAX) {
        *why = "family must be 1 to 15 characters";
        return LEX_EPARSE;
    }
    strcpy(a->family, parts[2]);
    if (!lex_state_valid(parts[3])) {
        *why = "home_state is not a known state code";
        return LEX_EPARSE;
    }
    strcpy(a->home_state, parts[3]);
    if (strlen(parts[4]) > LEX_AGENCY_NAME_MAX) {
        *why = "name longer than 79 characters";
        return LEX_EPARSE;
    }
    strcpy(a->name, parts[4]);
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const lex_keybind_t *)a)->public_z85, ((const lex_keybind_t *)b)->public_z85);
}

static int add_key_line(lex_directory_t *dir, size_t *cap, char *line, size_t lineno,
                        const char **why)
{
    if (dir->nkeys == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 16;
        lex_keybind_t *grown = realloc(dir->keys, grown_cap * sizeof *grown);
        if (!grown) {
            *why = "out of memory";
            return LEX_ENOMEM;
        }
        dir->keys = grown;
        *cap = grown_cap;
    }
    lex_keybind_t *k = &dir->keys[dir->nkeys];
    int rc = lex_keybind_parse(line, k, why);
    k->line = lineno;
    if (rc == 0)
        dir->nkeys++;
    else
        lex_keybind_free(k);
    return rc;
}

int lex_directory_parse(const char *text, const char *name, lex_directory_t **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    lex_directory_t *dir = calloc(1, sizeof *dir);
    size_t cap = 0, key_cap = 0, lineno = 0;
    int rc = 0;
    char *line = malloc(LEX_KEY_LINE_MAX);
    if (!dir || !line) {
        free(dir);
        free(line);
        return LEX_ENOMEM;
    }
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (n >= LEX_KEY_LINE_MAX || (n >= 1024 && strncmp(p, "@key|", 5) != 0)) {
            rc = fail(err, errlen, name, lineno, "line too long");
            goto fail;
        }
        memcpy(line, p, n);
        line[n] = 0;
        p += n + (nl ? 1 : 0);
        char *t = lex_dirline_trim(line);
        if (!*t || *t == '#')
            continue;
        if (strncmp(t, "@key|", 5) == 0) {
            const char *why = NULL;
            if ((rc = add_key_line(dir, &key_cap, t + 5, lineno, &why)) != 0) {
                fail(err, errlen, name, lineno, why);
                goto fail;
            }
            continue;
        }
        if (dir->count == cap) {
            cap = cap ? cap * 2 : 1024;
            lex_agency_t *grown = realloc(dir->agencies, cap * sizeof *grown);
            if (!grown) {
                rc = LEX_ENOMEM;
                goto fail;
            }
            dir->agencies = grown;
        }
        const char *why = NULL;
        if (parse_line(t, &dir->agencies[dir->count], &why) != 0) {
            rc = fail(err, errlen, name, lineno, why);
            goto fail;
        }
        dir->count++;
    }
    if (dir->count)
        qsort(dir->agencies, dir->count, sizeof *dir->agencies, cmp_agency);
    for (size_t i = 1; i < dir->count; i++)
        if (strcmp(dir->agencies[i - 1].ori, dir->agencies[i].ori) == 0) {
            char why[64];
            snprintf(why, sizeof why, "ORI %s listed twice", dir->agencies[i].ori);
            rc = fail(err, errlen, name, 0, why);
            goto fail;
        }
    if (dir->nkeys)
        qsort(dir->keys, dir->nkeys, sizeof *dir->keys, cmp_key);
    for (size_t i = 1; i < dir->nkeys; i++)
        if (strcmp(dir->keys[i - 1].public_z85, dir->keys[i].public_z85) == 0) {
            char why[128];
            snprintf(why, sizeof why, "key %s listed twice (also line %zu)", dir->keys[i].label,
                     dir->keys[i - 1].line < dir->keys[i].line ? dir->keys[i - 1].line
                                                                : dir->keys[i].line);
            rc = fail(err, errlen, name,
                      dir->keys[i - 1].line > dir->keys[i].line ? dir->keys[i - 1].line
                                                                : dir->keys[i].line,
                      why);
            goto fail;
        }
    free(line);
    *out = dir;
    return 0;
fail:
    free(line);
    lex_directory_destroy(&dir);
    return rc;
}

int lex_directory_load(const char *path, lex_directory_t **out, char *err, size_t errlen)
{
    *out = NULL;
    char *text;
    int rc = lex_textfile_read(path, LEX_DIRECTORY_FILE_MAX, &text, err, errlen);
    if (rc != 0)
        return rc;
    rc = lex_directory_parse(text, path, out, err, errlen);
    free(text);
    return rc;
}

void lex_directory_destroy(lex_directory_t **dir)
{
    if (!dir || !*dir)
        return;
    free((*dir)->agencies);
    for (size_t i = 0; i < (*dir)->nkeys; i++)
        lex_keybind_free(&(*dir)->keys[i]);
    free((*dir)->keys);
    free(*dir);
    *dir = NULL;
}

const lex_agency_t *lex_directory_find(const lex_directory_t *dir, const char *ori)
{
    lex_agency_t probe;
    if (!dir || !dir->count || strlen(ori) != LEX_ORI_LEN)
        return NULL;
    memcpy(probe.ori, ori, LEX_ORI_LEN + 1);
    return bsearch(&probe, dir->agencies, dir->count, sizeof probe, cmp_agency);
}

size_t lex_directory_count(const lex_directory_t *dir)
{
    return dir->count;
}

const lex_agency_t *lex_directory_at(const lex_directory_t *dir, size_t i)
{
    return i < dir->count ? &dir->agencies[i] : NULL;
}

void lex_directory_write_line(FILE *f, const lex_agency_t *a)
{
    fprintf(f, "%s|%s|%s|%s|%s\n", a->ori, lex_level_name(a->level), a->family, a->home_state,
            a->name);
}

const lex_keybind_t *lex_directory_key(const lex_directory_t *dir, const char *public_z85)
{
    lex_keybind_t probe;
    if (!dir || !dir->nkeys || strlen(public_z85) != LEX_Z85_KEY_LEN)
        return NULL;
    memcpy(probe.public_z85, public_z85, LEX_Z85_KEY_LEN + 1);
    return bsearch(&probe, dir->keys, dir->nkeys, sizeof probe, cmp_key);
}

size_t lex_directory_key_count(const lex_directory_t *dir)
{
    return dir ? dir->nkeys : 0;
}

const lex_keybind_t *lex_directory_key_at(const lex_directory_t *dir, size_t i)
{
    return dir && i < dir->nkeys ? &dir->keys[i] : NULL;
}

size_t lex_directory_broad_count(const lex_directory_t *dir)
{
    size_t n = 0;
    for (size_t i = 0; dir && i < dir->nkeys; i++)
        n += dir->keys[i].broad != 0;
    return n;
}

int lex_directory_state_responder(const lex_directory_t *dir, const char *ori, const char *state)
{
    const lex_agency_t *a = lex_directory_find(dir, ori);
    if (a && strcmp(a->family, "DMV") == 0 && strcmp(a->home_state, state) == 0)
        return 1;
    for (size_t i = 0; dir && i < dir->nkeys; i++) {
        const lex_keybind_t *k = &dir->keys[i];
        if (k->role == LEX_KEY_RESPONDER && lex_keybind_serves_state(k, state) &&
            lex_keybind_allows(k, ori))
            return 1;
    }
    return 0;
}
