/* fields.c: lex_fields_t, the body builder of the public API (lexnode.h).
 * It holds top-level scalar fields and lists of flat records, and packs
 * them into one msgpack map when a message is sent; endpoints never touch
 * msgpack. Records hold scalars only, as every catalogue response does. */
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_fields.h"

enum { F_STR, F_INT, F_BOOL, F_LIST };

typedef struct record record_t;

typedef struct {
    char *name;
    int type;
    char *str;
    int64_t num;
    record_t *recs;            /* F_LIST */
    size_t nrecs, caprecs;
} field_t;

struct record {
    field_t *fields;
    size_t n, cap;
};

struct lex_fields {
    record_t top;
    record_t *open;            /* record taking fields, or NULL for the top level */
    int failed;                /* an allocation failed: the body is unusable */
};

lex_fields_t *lex_fields_new(void)
{
    return calloc(1, sizeof(lex_fields_t));
}

static void record_free(record_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        field_t *f = &r->fields[i];
        free(f->name);
        free(f->str);
        for (size_t k = 0; k < f->nrecs; k++)
            record_free(&f->recs[k]);
        free(f->recs);
    }
    free(r->fields);
    memset(r, 0, sizeof *r);
}

void lex_fields_clear(lex_fields_t *fs)
{
    if (!fs)
        return;
    record_free(&fs->top);
    fs->open = NULL;
    fs->failed = 0;
}

void lex_fields_destroy(lex_fields_t **fs)
{
    if (!fs || !*fs)
        return;
    lex_fields_clear(*fs);
    free(*fs);
    *fs = NULL;
}

static field_t *add_field(lex_fields_t *fs, record_t *r, const char *name, int type)
{
    if (!name || !*name)
        return NULL;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        field_t *grown = realloc(r->fields, cap * sizeof *grown);
        if (!grown) {
            fs->failed = 1;
            return NULL;
        }
        r->fields = grown;
        r->cap = cap;
    }
    field_t *f = &r->fields[r->n];
    memset(f, 0, sizeof *f);
    f->type = type;
    f->name = strdup(name);
    if (!f->name) {
        fs->failed = 1;
        return NULL;
    }
    r->n++;
    return f;
}

int lex_fields_str(lex_fields_t *fs, const char *name, const char *value)
{
    if (!fs || !value)
        return LEX_EINVAL;
    field_t *f = add_field(fs, fs->open ? fs->open : &fs->top, name, F_STR);
    if (!f)
        return fs->failed ? LEX_ENOMEM : LEX_EINVAL;
    f->str = strdup(value);
    if (!f->str) {
        fs->failed = 1;
        return LEX_ENOMEM;
    }
    return 0;
}

int lex_fields_int(lex_fields_t *fs, const char *name, int64_t value)
{
    if (!fs)
        return LEX_EINVAL;
    field_t *f = add_field(fs, fs->open ? fs->open : &fs->top, name, F_INT);
    if (!f)
        return fs->failed ? LEX_ENOMEM : LEX_EINVAL;
    f->num = value;
    return 0;
}

int lex_fields_bool(lex_fields_t *fs, const char *name, int value)
{
    if (!fs)
        return LEX_EINVAL;
    field_t *f = add_field(fs, fs->open ? fs->open : &fs->top, name, F_BOOL);
    if (!f)
        return fs->failed ? LEX_ENOMEM : LEX_EINVAL;
    f->num = value != 0;
    return 0;
}

static field_t *find_list(lex_fields_t *fs, const char *list)
{
    for (size_t i = 0; i < fs->top.n; i++)
        if (fs->top.fields[i].type == F_LIST && strcmp(fs->top.fields[i].name, list) == 0)
            return &fs->top.fields[i];
    return add_field(fs, &fs->top, list, F_LIST);
}

int lex_fields_list(lex_fields_t *fs, const char *list)
{
    if (!fs || !list || fs->open)
        return LEX_EINVAL;
    return find_list(fs, list) ? 0 : (fs->failed ? LEX_ENOMEM : LEX_EINVAL);
}

int lex_fields_record(lex_fields_t *fs, const char *list)
{
    if (!fs || !list || fs->open)
        return LEX_EINVAL;   /* records do not nest */
    field_t *f = find_list(fs, list);
    if (!f)
        return fs->failed ? LEX_ENOMEM : LEX_EINVAL;
    if (f->nrecs == f->caprecs) {
        size_t cap = f->caprecs ? f->caprecs * 2 : 4;
        record_t *grown = realloc(f->recs, cap * sizeof *grown);
        if (!grown) {
            fs->failed = 1;
            return LEX_ENOMEM;
        }
        f->recs = grown;
        f->caprecs = cap;
    }
    fs->open = &f->recs[f->nrecs++];
    memset(fs->open, 0, sizeof *fs->open);
    return 0;
}

int lex_fields_end_record(lex_fields_t *fs)
{
    if (!fs || !fs->open)
        return LEX_EINVAL;
    fs->open = NULL;
    return 0;
}

static void pack_record(msgpack_packer *pk, const record_t *r)
{
    msgpack_pack_map(pk, r->n);
    for (size_t i = 0; i < r->n; i++) {
        const field_t *f = &r->fields[i];
        lex_mp_pack_str(pk, f->name);
        switch (f->type) {
        case F_STR:
            lex_mp_pack_str(pk, f->str);
            break;
        case F_INT:
            msgpack_pack_int64(pk, f->num);
            break;
        case F_BOOL:
            if (f->num)
                msgpack_pack_true(pk);
            else
                msgpack_pack_false(pk);
            break;
        default:
            msgpack_pack_array(pk, f->nrecs);
            for (size_t k = 0; k < f->nrecs; k++)
                pack_record(pk, &f->recs[k]);
        }
    }
}

int lex_fields_encode(const lex_fields_t *fs, lex_buf_t *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lex_buf_write);
    if (!fs) {
        msgpack_pack_map(&pk, 0);
        return out->failed ? LEX_ENOMEM : 0;
    }
    if (fs->failed)
        return LEX_ENOMEM;
    if (fs->open)
        return LEX_EINVAL;   /* a record left open: the caller forgot end_record */
    pack_record(&pk, &fs->top);
    return out->failed ? LEX_ENOMEM : 0;
}
