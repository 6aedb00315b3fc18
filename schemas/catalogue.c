/* catalogue.c: parses the message catalogue files (schemas/catalogue/NAME.msg,
 * format in docs/PROTOCOL.md "Catalogue files") and validates bodies against
 * them. The built-in catalogue is compiled in by cmake/embed.cmake and
 * parsed once per process. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_body.h"
#include "lex_catalogue.h"
#include "lex_error.h"

extern const char *const lex_catalogue_files[];
extern const char *const lex_catalogue_files_names[];

struct lex_catalogue {
    size_t count;
    lex_msgdef_t *defs;   /* sorted by key */
};

static int parse_err(char *err, size_t errlen, const char *name, int line, const char *why,
                     const char *word)
{
    if (err && errlen)
        snprintf(err, errlen, "%s:%d: %s%s%s", name, line, why, word ? ": " : "",
                 word ? word : "");
    return LEX_EPARSE;
}

static int class_from(const char *w)
{
    static const char *names[] = {"query", "response", "admin", "status", "session", "operator"};
    for (int i = 0; i < 6; i++)
        if (strcmp(w, names[i]) == 0)
            return i;
    return -1;
}

static int type_from(const char *w)
{
    static const char *names[] = {"str", "int", "bool", "bin", "array", "map"};
    for (int i = 0; i < 6; i++)
        if (strcmp(w, names[i]) == 0)
            return i;
    return -1;
}

/* Splits line into at most max words in place; returns the count. */
static int split(char *line, char **words, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t\r", &save); w && n < max; w = strtok_r(NULL, " \t\r", &save))
        words[n++] = w;
    return n;
}

static int parse_one(const char *text, const char *name, lex_msgdef_t *def, char *err,
                     size_t errlen)
{
    memset(def, 0, sizeof *def);
    int lineno = 0;
    const char *p = text;
    char line[512];
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (n >= sizeof line)
            return parse_err(err, errlen, name, lineno, "line too long", NULL);
        memcpy(line, p, n);
        line[n] = 0;
        p += n + (nl ? 1 : 0);
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *w[LEX_MSG_FIELDS_MAX + 2];
        int nw = split(line, w, LEX_MSG_FIELDS_MAX + 2);
        if (nw == 0)
            continue;
        if (strcmp(w[0], "key") == 0 && nw == 2) {
            if (strlen(w[1]) > LEX_KEY_MAX)
                return parse_err(err, errlen, name, lineno, "key too long", w[1]);
            strcpy(def->key, w[1]);
        } else if (strcmp(w[0], "class") == 0 && nw == 2) {
            int c = class_from(w[1]);
            if (c < 0)
                return parse_err(err, errlen, name, lineno, "unknown class", w[1]);
            def->cls = (lex_msg_class_t)c;
        } else if (strcmp(w[0], "pair") == 0 && nw == 2) {
            if (strlen(w[1]) > LEX_KEY_MAX)
                return parse_err(err, errlen, name, lineno, "pair key too long", w[1]);
            strcpy(def->pair, w[1]);
        } else if (strcmp(w[0], "title") == 0) {
            def->title[0] = 0;
            for (int i = 1; i < nw; i++) {
                if (i > 1)
                    strncat(def->title, " ", sizeof def->title - strlen(def->title) - 1);
                strncat(def->title, w[i], sizeof def->title - strlen(def->title) - 1);
            }
        } else if (strcmp(w[0], "field") == 0 && nw >= 3) {
            if (def->nfields >= LEX_MSG_FIELDS_MAX)
                return parse_err(err, errlen, name, lineno, "too many fields", NULL);
            lex_field_t *f = &def->fields[def->nfields];
            if (strlen(w[1]) > LEX_FIELD_NAME_MAX)
                return parse_err(err, errlen, name, lineno, "field name too long", w[1]);
            if (lex_msgdef_field(def, w[1]) >= 0)
                return parse_err(err, errlen, name, lineno, "duplicate field", w[1]);
            strcpy(f->name, w[1]);
            int t = type_from(w[2]);
            if (t < 0)
                return parse_err(err, errlen, name, lineno, "unknown type", w[2]);
            f->type = (lex_field_type_t)t;
            for (int i = 3; i < nw; i++) {
                if (strncmp(w[i], "max=", 4) == 0) {
                    char *end;
                    unsigned long v = strtoul(w[i] + 4, &end, 10);
                    if (*end || v == 0 || v > LEX_MSG_MAX)
                        return parse_err(err, errlen, name, lineno, "bad max", w[i]);
                    f->max = (uint32_t)v;
                } else if (strcmp(w[i], "required") == 0) {
                    f->required = 1;
                } else if (strcmp(w[i], "personal") == 0) {
                    f->personal = 1;
                } else {
                    return parse_err(err, errlen, name, lineno, "unknown field option", w[i]);
                }
            }
            def->nfields++;
        } else if ((strcmp(w[0], "anyof") == 0 || strcmp(w[0], "together") == 0) && nw >= 3) {
            if (def->ngroups >= LEX_MSG_GROUPS_MAX)
                return parse_err(err, errlen, name, lineno, "too many groups", NULL);
            lex_field_group_t *g = &def->groups[def->ngroups];
            g->kind = strcmp(w[0], "together") == 0;
            g->n = 0;
            for (int i = 1; i < nw; i++) {
                int fi = lex_msgdef_field(def, w[i]);
                if (fi < 0)
                    return parse_err(err, errlen, name, lineno, "group names an undeclared field",
                                     w[i]);
                g->field[g->n++] = (uint8_t)fi;
            }
            def->ngroups++;
        } else {
            return parse_err(err, errlen, name, lineno, "unknown or malformed line", w[0]);
        }
    }
    if (!def->key[0])
        return parse_err(err, errlen, name, lineno, "no key line", NULL);
    return 0;
}

static int cmp_def(const void *a, const void *b)
{
    return strcmp(((const lex_msgdef_t *)a)->key, ((const lex_msgdef_t *)b)->key);
}

int lex_catalogue_parse(const char *const *texts, const char *const *names, lex_catalogue_t **out,
                        char *err, size_t errlen)
{
    *out = NULL;
    size_t n = 0;
    while (texts[n])
        n++;
    lex_catalogue_t *cat = calloc(1, sizeof *cat);
    if (!cat)
        return LEX_ENOMEM;
    cat->defs = calloc(n ? n : 1, sizeof *cat->defs);
    if (!cat->defs) {
        free(cat);
        return LEX_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rc = parse_one(texts[i], names ? names[i] : "catalogue", &cat->defs[i], err, errlen);
        if (rc != 0)
            goto fail;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cat->defs[j].key, cat->defs[i].key) == 0) {
                rc = parse_err(err, errlen, names ? names[i] : "catalogue", 0, "duplicate key",
                               cat->defs[i].key);
                goto fail;
            }
    }
    cat->count = n;
    qsort(cat->defs, n, sizeof *cat->defs, cmp_def);
    *out = cat;
    return 0;
fail:
    lex_catalogue_destroy(&cat);
    return rc;
}

void lex_catalogue_destroy(lex_catalogue_t **cat)
{
    if (!cat || !*cat)
        return;
    free((*cat)->defs);
    free(*cat);
    *cat = NULL;
}

static lex_catalogue_t *builtin;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void load_builtin(void)
{
    char err[256];
    if (lex_catalogue_parse(lex_catalogue_files, lex_catalogue_files_names, &builtin, err,
                            sizeof err) != 0)
        fprintf(stderr, "lexswitch: built-in message catalogue is broken: %s\n", err);
}

const lex_catalogue_t *lex_catalogue_builtin(void)
{
    pthread_once(&builtin_once, load_builtin);
    return builtin;
}

const lex_msgdef_t *lex_catalogue_find(const lex_catalogue_t *cat, const char *key)
{
    size_t lo = 0, hi = cat->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(key, cat->defs[mid].key);
        if (c == 0)
            return &cat->defs[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t lex_catalogue_count(const lex_catalogue_t *cat)
{
    return cat->count;
}

const lex_msgdef_t *lex_catalogue_at(const lex_catalogue_t *cat, size_t i)
{
    return i < cat->count ? &cat->defs[i] : NULL;
}

int lex_msgdef_field(const lex_msgdef_t *def, const char *name)
{
    for (uint32_t i = 0; i < def->nfields; i++)
        if (strcmp(def->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int field_by_object(const lex_msgdef_t *def, const msgpack_object *k)
{
    for (uint32_t i = 0; i < def->nfields; i++)
        if (lex_mp_str_eq(k, def->fields[i].name))
            return (int)i;
    return -1;
}

static int check_value(const lex_field_t *f, const msgpack_object *v)
{
    switch (f->type) {
    case LEX_FT_STR:
        if (v->type != MSGPACK_OBJECT_STR)
            return LEX_ETYPE;
        if (f->max && v->via.str.size > f->max)
            return LEX_ELENGTH;
        return lex_utf8_valid(v->via.str.ptr, v->via.str.size) ? 0 : LEX_EUTF8;
    case LEX_FT_INT:
        return (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) ? 0 : LEX_ETYPE;
    case LEX_FT_BOOL:
        return v->type == MSGPACK_OBJECT_BOOLEAN ? 0 : LEX_ETYPE;
    case LEX_FT_BIN:
        if (v->type != MSGPACK_OBJECT_BIN)
            return LEX_ETYPE;
        if (f->max && v->via.bin.size > f->max)
            return LEX_ELENGTH;
        return 0;
    case LEX_FT_ARRAY:
        if (v->type != MSGPACK_OBJECT_ARRAY)
            return LEX_ETYPE;
        if (f->max && v->via.array.size > f->max)
            return LEX_ELENGTH;
        return lex_mp_check(v); /* what it holds: no key twice, UTF-8 strings */
    case LEX_FT_MAP:
        if (v->type != MSGPACK_OBJECT_MAP)
            return LEX_ETYPE;
        if (f->max && v->via.map.size > f->max)
            return LEX_ELENGTH;
        return lex_mp_check(v);
    }
    return LEX_ETYPE;
}

static int validate_map(const lex_msgdef_t *def, const msgpack_object *map, const char **field)
{
    uint32_t present = 0;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR) {
            *field = "(non-string key)";
            return LEX_ETYPE;
        }
        int fi = field_by_object(def, k);
        if (fi < 0) {
            *field = "(undeclared field)";
            return LEX_EUNKNOWNFIELD;
        }
        *field = def->fields[fi].name;
        if (present & (1u << fi))
            return LEX_EDUPLICATE; /* the same field twice */
        present |= 1u << fi;
        int rc = check_value(&def->fields[fi], &map->via.map.ptr[i].val);
        if (rc != 0)
            return rc;
    }
    for (uint32_t i = 0; i < def->nfields; i++)
        if (def->fields[i].required && !(present & (1u << i))) {
            *field = def->fields[i].name;
            return LEX_EMISSING;
        }
    for (uint32_t g = 0; g < def->ngroups; g++) {
        const lex_field_group_t *grp = &def->groups[g];
        uint32_t have = 0;
        for (uint32_t j = 0; j < grp->n; j++)
            have += (present >> grp->field[j]) & 1u;
        if (grp->kind == 0 && have == 0) {
            *field = def->fields[grp->field[0]].name;
            return LEX_ECONSTRAINT;
        }
        if (grp->kind == 1 && have != 0 && have != grp->n) {
            for (uint32_t j = 0; j < grp->n; j++)
                if (!((present >> grp->field[j]) & 1u)) {
                    *field = def->fields[grp->field[j]].name;
                    break;
                }
            return LEX_EMISSING;
        }
    }
    *field = "";
    return 0;
}

int lex_body_validate(const lex_msgdef_t *def, const void *data, size_t len, const char **field)
{
    const char *dummy;
    if (!field)
        field = &dummy;
    *field = "";
    if (len > LEX_MSG_MAX)
        return LEX_ETOOBIG;
    msgpack_unpacked up;
    int rc = lex_body_parse(data, len, &up);
    if (rc != 0)
        return rc;
    rc = validate_map(def, &up.data, field);
    msgpack_unpacked_destroy(&up);
    return rc;
}
