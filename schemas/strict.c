/* strict.c: the two encoding rules every frame must keep at every depth
 * (docs/PROTOCOL.md, "Frames"): no map holds the same key twice, and every
 * msgpack str is valid UTF-8 (bin is bytes and is not looked at). A parser
 * that kept the first of two keys would read a message differently from
 * one that kept the last, so the switch refuses both rather than choose. */
#include <stdlib.h>
#include <string.h>
#include "lex_body.h"
#include "lex_error.h"

int lex_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            while (i < n && p[i] < 0x80) /* runs of ASCII, the usual case */
                i++;
            continue;
        }
        size_t len;
        unsigned lo = 0x80, hi = 0xbf;   /* bounds of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0)
                lo = 0xa0;               /* overlong */
            else if (c == 0xed)
                hi = 0x9f;               /* UTF-16 surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0)
                lo = 0x90;               /* overlong */
            else if (c == 0xf4)
                hi = 0x8f;               /* above U+10FFFF */
        } else {
            return 0;                    /* continuation byte, C0/C1, F5..FF */
        }
        if (n - i < len || p[i + 1] < lo || p[i + 1] > hi)
            return 0;
        for (size_t j = 2; j < len; j++)
            if (p[i + j] < 0x80 || p[i + j] > 0xbf)
                return 0;
        i += len;
    }
    return 1;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xbf58476d1ce4e5b9ull;
}

static uint64_t hash_bytes(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return mix(h, n);
}

/* A hash of a key's value (equal keys, equal hashes); depth is bounded by
 * msgpack-c's own nesting limit. */
static uint64_t hash_object(const msgpack_object *o)
{
    uint64_t h = mix(0xcbf29ce484222325ull, (uint64_t)o->type);
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN:
        return mix(h, o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return mix(h, o->via.u64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        uint64_t bits;
        memcpy(&bits, &o->via.f64, sizeof bits);
        return mix(h, bits);
    }
    case MSGPACK_OBJECT_STR:
        return hash_bytes(h, o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return hash_bytes(h, o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return hash_bytes(mix(h, (uint64_t)(uint8_t)o->via.ext.type), o->via.ext.ptr,
                          o->via.ext.size);
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++)
            h = mix(h, hash_object(&o->via.array.ptr[i]));
        return mix(h, o->via.array.size);
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < o->via.map.size; i++)
            h = mix(mix(h, hash_object(&o->via.map.ptr[i].key)),
                    hash_object(&o->via.map.ptr[i].val));
        return mix(h, o->via.map.size);
    default:
        return h;
    }
}

/* Keys are nearly always short strings: compared directly, the general
 * msgpack comparison only for anything else. */
static int key_equal(const msgpack_object *a, const msgpack_object *b)
{
    if (a->type != b->type)
        return 0;
    if (a->type == MSGPACK_OBJECT_STR)
        return a->via.str.size == b->via.str.size &&
               memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0;
    return msgpack_object_equal(*a, *b);
}

typedef struct {
    uint64_t hash;
    uint32_t index;
} keyhash_t;

static int cmp_keyhash(const void *a, const void *b)
{
    uint64_t x = ((const keyhash_t *)a)->hash, y = ((const keyhash_t *)b)->hash;
    return x < y ? -1 : x > y;
}

/* 0 when no two keys of map are equal, LEX_EDUPLICATE (with *at the index
 * of the second) or LEX_ENOMEM. Small maps pairwise; large ones by sorted
 * hashes, so a 40,000-key map costs no more than its sort. */
static int unique_keys(const msgpack_object *map, uint32_t *at)
{
    uint32_t n = map->via.map.size;
    const msgpack_object_kv *kv = map->via.map.ptr;
    if (n <= 16) {
        for (uint32_t i = 1; i < n; i++)
            for (uint32_t j = 0; j < i; j++)
                if (key_equal(&kv[i].key, &kv[j].key)) {
                    *at = i;
                    return LEX_EDUPLICATE;
                }
        return 0;
    }
    keyhash_t *h = malloc(n * sizeof *h);
    if (!h)
        return LEX_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        h[i].hash = hash_object(&kv[i].key);
        h[i].index = i;
    }
    qsort(h, n, sizeof *h, cmp_keyhash);
    int rc = 0;
    for (uint32_t i = 1; i < n && rc == 0; i++)
        for (uint32_t j = i; j > 0 && h[j - 1].hash == h[i].hash; j--)
            if (key_equal(&kv[h[i].index].key, &kv[h[j - 1].index].key)) {
                *at = h[i].index > h[j - 1].index ? h[i].index : h[j - 1].index;
                rc = LEX_EDUPLICATE;
                break;
            }
    free(h);
    return rc;
}

/* A str is checked here rather than by a call per string. */
static inline int check_one(const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_STR)
        return lex_utf8_valid(o->via.str.ptr, o->via.str.size) ? 0 : LEX_EUTF8;
    if (o->type == MSGPACK_OBJECT_ARRAY || o->type == MSGPACK_OBJECT_MAP)
        return lex_mp_check(o);
    return 0;
}

int lex_mp_check(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        return lex_utf8_valid(o->via.str.ptr, o->via.str.size) ? 0 : LEX_EUTF8;
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            int rc = check_one(&o->via.array.ptr[i]);
            if (rc != 0)
                return rc;
        }
        return 0;
    case MSGPACK_OBJECT_MAP: {
        uint32_t at;
        int rc = unique_keys(o, &at);
        if (rc != 0)
            return rc;
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if ((rc = check_one(&o->via.map.ptr[i].key)) != 0 ||
                (rc = check_one(&o->via.map.ptr[i].val)) != 0)
                return rc;
        }
        return 0;
    }
    default:
        return 0;
    }
}
