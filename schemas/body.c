/* body.c: reading and writing message bodies (frame 2): field look-up,
 * ST bodies, and removal of named fields at any depth (the redaction a
 * state's rules ask for on responses). */
#include <stdio.h>
#include <string.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_status.h"

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* 1 when every container in data declares no more elements than there are
 * bytes left to hold them (each element takes at least one), and every
 * string, bin and ext fits. msgpack-c allocates a container's elements from
 * its declared count before reading them, so without this a 6-byte frame
 * could ask for tens of gigabytes. One pass, no allocation. */
static int counts_fit(const uint8_t *data, size_t len)
{
    uint64_t pending = 1;   /* objects still to read */
    size_t off = 0;
    while (pending > 0) {
        if (off >= len)
            return 0;
        uint8_t b = data[off++];
        pending--;
        uint64_t skip = 0, more = 0;   /* payload bytes, new elements */
        int lenbytes = 0;              /* size of a length or count that follows */
        int kind = 0;                  /* 0 scalar, 1 bytes, 2 array, 3 map, 4 ext */
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        } else if (b <= 0x8f) {
            more = 2u * (b & 0x0fu);
        } else if (b <= 0x9f) {
            more = b & 0x0fu;
        } else if (b <= 0xbf) {
            skip = b & 0x1fu;
        } else if (b == 0xc1) {
            return 0;   /* never used */
        } else if (b <= 0xc6) {
            kind = 1, lenbytes = 1 << (b - 0xc4);        /* bin 8/16/32 */
        } else if (b <= 0xc9) {
            kind = 4, lenbytes = 1 << (b - 0xc7);        /* ext 8/16/32 */
        } else if (b <= 0xd3) {
            static const uint8_t fixed[] = {4, 8, 1, 2, 4, 8, 1, 2, 4, 8}; /* 0xca..0xd3 */
            skip = fixed[b - 0xca];
        } else if (b <= 0xd8) {
            skip = 1 + (1u << (b - 0xd4));               /* fixext: type + 1..16 */
        } else if (b <= 0xdb) {
            kind = 1, lenbytes = 1 << (b - 0xd9);        /* str 8/16/32 */
        } else if (b <= 0xdd) {
            kind = 2, lenbytes = 2 << (b - 0xdc);        /* array 16/32 */
        } else {
            kind = 3, lenbytes = 2 << (b - 0xde);        /* map 16/32 */
        }
        if (lenbytes) {
            if ((size_t)lenbytes > len - off)
                return 0;
            uint64_t n = be(data + off, lenbytes);
            off += (size_t)lenbytes;
            if (kind == 1)
                skip = n;
            else if (kind == 4)
                skip = n + 1;   /* type byte, then the data */
            else
                more = kind == 3 ? 2 * n : n;
        }
        if (skip > len - off)
            return 0;
        off += (size_t)skip;
        pending += more;
        if (pending > len - off)
            return 0;
    }
    return 1;
}

int lex_body_parse(const void *data, size_t len, msgpack_unpacked *up)
{
    msgpack_unpacked_init(up);
    if (len == 0) { /* an empty frame is an empty map */
        up->data.type = MSGPACK_OBJECT_MAP;
        up->data.via.map.size = 0;
        up->data.via.map.ptr = NULL;
        return 0;
    }
    if (!counts_fit(data, len))
        return LEX_EMSGPACK;
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(up, data, len, &off);
    if (r != MSGPACK_UNPACK_SUCCESS || off != len) {
        msgpack_unpacked_destroy(up);
        return LEX_EMSGPACK;
    }
    if (up->data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(up);
        return LEX_ENOTMAP;
    }
    return 0;
}

int lex_mp_str_eq(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

const msgpack_object *lex_mp_get(const msgpack_object *map, const char *name)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (lex_mp_str_eq(&map->via.map.ptr[i].key, name))
            return &map->via.map.ptr[i].val;
    return NULL;
}

int lex_mp_str(const msgpack_object *o, char *buf, size_t size)
{
    if (!o || o->type != MSGPACK_OBJECT_STR)
        return LEX_ETYPE;
    if (o->via.str.size >= size)
        return LEX_ELENGTH;
    if (memchr(o->via.str.ptr, 0, o->via.str.size))
        return LEX_EFORMAT;
    if (!lex_utf8_valid(o->via.str.ptr, o->via.str.size))
        return LEX_EUTF8;
    memcpy(buf, o->via.str.ptr, o->via.str.size);
    buf[o->via.str.size] = 0;
    return 0;
}

int lex_mp_uint(const msgpack_object *o, uint64_t *v)
{
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return LEX_ETYPE;
    *v = o->via.u64;
    return 0;
}

void lex_mp_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void lex_mp_pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    lex_mp_pack_str(pk, k);
    lex_mp_pack_str(pk, v);
}

void lex_mp_pack_kv_uint(msgpack_packer *pk, const char *k, uint64_t v)
{
    lex_mp_pack_str(pk, k);
    msgpack_pack_uint64(pk, v);
}

/* Copies text into out (at most size - 1 bytes) as valid UTF-8: a byte
 * that starts no valid sequence becomes '?', and a character the limit
 * would cut is left out, so a status never carries what the protocol
 * refuses from others. */
static void clip_utf8(char *out, size_t size, const char *text)
{
    size_t o = 0;
    for (size_t i = 0; text[i];) {
        unsigned char c = (unsigned char)text[i];
        size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        size_t have = strnlen(text + i, len);
        int ok = have == len && lex_utf8_valid(text + i, len);
        if (!ok)
            len = 1;
        if (o + len > size - 1)
            break;
        if (ok)
            memcpy(out + o, text + i, len);
        else
            out[o] = '?';
        o += len;
        i += ok ? len : 1;
    }
    out[o] = 0;
}

int lex_status_body(lex_buf_t *out, int code, const char *text)
{
    return lex_status_body_dst(out, code, text, NULL);
}

int lex_status_body_dst(lex_buf_t *out, int code, const char *text, const char *dst)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lex_buf_write);
    int with_dst = dst && dst[0];
    msgpack_pack_map(&pk, 3 + with_dst);
    lex_mp_pack_str(&pk, "code");
    msgpack_pack_int(&pk, code);
    lex_mp_pack_kv_str(&pk, "name", lex_status_name(code));
    char clipped[257];
    clip_utf8(clipped, sizeof clipped, text ? text : "");
    lex_mp_pack_kv_str(&pk, "text", clipped);
    if (with_dst)
        lex_mp_pack_kv_str(&pk, "dst", dst);
    return out->failed ? LEX_ENOMEM : 0;
}

int lex_status_parse(const void *data, size_t len, int *code, char *text, size_t textlen)
{
    msgpack_unpacked up;
    int rc = lex_body_parse(data, len, &up);
    if (rc != 0)
        return rc;
    const msgpack_object *c = lex_mp_get(&up.data, "code");
    if (!c || (c->type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
               c->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
        rc = LEX_EMISSING;
        goto cleanup;
    }
    *code = (int)c->via.i64;
    if (text && textlen) {
        text[0] = 0;
        const msgpack_object *t = lex_mp_get(&up.data, "text");
        if (t && t->type == MSGPACK_OBJECT_STR) {
            size_t n = t->via.str.size < textlen - 1 ? t->via.str.size : textlen - 1;
            memcpy(text, t->via.str.ptr, n);
            text[n] = 0;
        }
    }
cleanup:
    msgpack_unpacked_destroy(&up);
    return rc;
}

static int key_listed(const msgpack_object *k, const char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lex_mp_str_eq(k, fields[i]))
            return 1;
    return 0;
}

/* Re-packs o without listed map keys. Depth is bounded by msgpack-c's own
 * unpack nesting limit, so the recursion is too. */
static void pack_without(msgpack_packer *pk, const msgpack_object *o,
                         const char *const *fields, size_t n, size_t *removed)
{
    if (o->type == MSGPACK_OBJECT_MAP) {
        uint32_t keep = 0;
        for (uint32_t i = 0; i < o->via.map.size; i++)
            keep += !key_listed(&o->via.map.ptr[i].key, fields, n);
        *removed += o->via.map.size - keep;
        msgpack_pack_map(pk, keep);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (key_listed(&o->via.map.ptr[i].key, fields, n))
                continue;
            msgpack_pack_object(pk, o->via.map.ptr[i].key);
            pack_without(pk, &o->via.map.ptr[i].val, fields, n, removed);
        }
    } else if (o->type == MSGPACK_OBJECT_ARRAY) {
        msgpack_pack_array(pk, o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size; i++)
            pack_without(pk, &o->via.array.ptr[i], fields, n, removed);
    } else {
        msgpack_pack_object(pk, *o);
    }
}

int lex_body_remove_fields(const void *data, size_t len, const char *const *fields,
                           size_t nfields, lex_buf_t *out, size_t *removed)
{
    msgpack_unpacked up;
    size_t count = 0;
    int rc = lex_body_parse(data, len, &up);
    if (rc != 0)
        return rc;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lex_buf_write);
    pack_without(&pk, &up.data, fields, nfields, &count);
    msgpack_unpacked_destroy(&up);
    if (removed)
        *removed = count;
    return out->failed ? LEX_ENOMEM : 0;
}
