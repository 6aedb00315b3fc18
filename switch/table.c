/* table.c: open-addressing hash table with linear probing and tombstones
 * (table.h). Sized to stay under 70% full; keys hashed with FNV-1a. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lex_error.h"
#include "table.h"

typedef struct {
    void *key;       /* NULL = empty; TOMBSTONE = deleted */
    size_t len;
    uint64_t hash;
    void *value;
} slot_t;

static char tombstone_mark;
#define TOMBSTONE ((void *)&tombstone_mark)

struct lex_table {
    slot_t *slots;
    size_t cap;      /* power of two */
    size_t count;    /* live entries */
    size_t used;     /* live + tombstones */
};

static uint64_t hash_bytes(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

lex_table_t *lex_table_new(void)
{
    lex_table_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cap = 64;
    t->slots = calloc(t->cap, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    return t;
}

void lex_table_destroy(lex_table_t **tp)
{
    if (!tp || !*tp)
        return;
    lex_table_t *t = *tp;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].key && t->slots[i].key != TOMBSTONE)
            free(t->slots[i].key);
    free(t->slots);
    free(t);
    *tp = NULL;
}

static slot_t *find(const lex_table_t *t, const void *key, size_t len, uint64_t h)
{
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        slot_t *s = &t->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != TOMBSTONE && s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
            return s;
    }
}

static int grow(lex_table_t *t)
{
    size_t cap = t->count * 2 >= t->cap / 2 ? t->cap * 2 : t->cap; /* rehash drops tombstones */
    slot_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return LEX_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        slot_t *s = &t->slots[i];
        if (!s->key || s->key == TOMBSTONE)
            continue;
        size_t j = s->hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    t->used = t->count;
    return 0;
}

void *lex_table_get(const lex_table_t *t, const void *key, size_t len)
{
    slot_t *s = find(t, key, len, hash_bytes(key, len));
    return s ? s->value : NULL;
}

int lex_table_put(lex_table_t *t, const void *key, size_t len, void *value)
{
    uint64_t h = hash_bytes(key, len);
    slot_t *s = find(t, key, len, h);
    if (s) {
        s->value = value;
        return 0;
    }
    if ((t->used + 1) * 10 >= t->cap * 7 && grow(t) != 0)
        return LEX_ENOMEM;
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return LEX_ENOMEM;
    memcpy(copy, key, len);
    size_t mask = t->cap - 1;
    size_t i = h & mask;
    while (t->slots[i].key && t->slots[i].key != TOMBSTONE)
        i = (i + 1) & mask;
    if (!t->slots[i].key)
        t->used++;
    t->slots[i] = (slot_t){copy, len, h, value};
    t->count++;
    return 0;
}

void *lex_table_del(lex_table_t *t, const void *key, size_t len)
{
    slot_t *s = find(t, key, len, hash_bytes(key, len));
    if (!s)
        return NULL;
    void *value = s->value;
    free(s->key);
    s->key = TOMBSTONE;
    s->value = NULL;
    t->count--;
    return value;
}

size_t lex_table_count(const lex_table_t *t)
{
    return t->count;
}

void lex_table_each(const lex_table_t *t,
                    void (*fn)(const void *key, size_t len, void *value, void *arg), void *arg)
{
    for (size_t i = 0; i < t->cap; i++) {
        slot_t *s = &t->slots[i];
        if (s->key && s->key != TOMBSTONE)
            fn(s->key, s->len, s->value, arg);
    }
}
