/* review.c: the store of queries held for review (review.h). RocksDB keeps
 * one record per hold (key: id big-endian; value: a msgpack map); writes are
 * synced, since a held query must not be lost between the requester hearing
 * "held" and an operator deciding. The in-memory list stays in id order. */
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "lex_auditlog.h"
#include "lex_body.h"
#include "lex_buf.h"
#include "lex_error.h"
#include "logline.h"
#include "review.h"

struct lex_holds {
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wopts;
    rocksdb_readoptions_t *ropts;
    rocksdb_t *db;
    lex_hold_t *head, *tail;   /* id order */
    size_t count;
    uint64_t next_id;
};

static void put_be64(char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (char)(v & 0xff);
}

static void free_hold(lex_hold_t *h)
{
    if (h) {
        free(h->body);
        free(h);
    }
}

static void append(lex_holds_t *s, lex_hold_t *h)
{
    h->next = NULL;
    if (s->tail)
        s->tail->next = h;
    else
        s->head = h;
    s->tail = h;
    s->count++;
    if (h->id >= s->next_id)
        s->next_id = h->id + 1;
}

static int encode(const lex_hold_t *h, lex_buf_t *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lex_buf_write);
    msgpack_pack_map(&pk, 14);
    lex_mp_pack_kv_uint(&pk, "id", h->id);
    lex_mp_pack_kv_str(&pk, "state", h->state);
    lex_mp_pack_kv_str(&pk, "dest", h->dest);
    lex_mp_pack_kv_str(&pk, "req_ori", h->req_ori);
    lex_mp_pack_kv_uint(&pk, "req_id", h->req_id);
    lex_mp_pack_kv_str(&pk, "key", h->key);
    lex_mp_pack_kv_str(&pk, "kind", h->kind);
    lex_mp_pack_kv_str(&pk, "purpose", h->purpose);
    lex_mp_pack_kv_str(&pk, "ctl", h->ctl);
    lex_mp_pack_kv_str(&pk, "rule", h->rule_id);
    lex_mp_pack_kv_uint(&pk, "held_us", h->held_us);
    lex_mp_pack_kv_uint(&pk, "expires_us", h->expires_us);
    lex_mp_pack_str(&pk, "body");
    msgpack_pack_bin(&pk, h->body_len);
    msgpack_pack_bin_body(&pk, h->body, h->body_len);
    lex_mp_pack_kv_uint(&pk, "v", 1);
    return out->failed ? LEX_ENOMEM : 0;
}

static void take(const msgpack_object *m, const char *name, char *dst, size_t size)
{
    if (lex_mp_str(lex_mp_get(m, name), dst, size) != 0)
        dst[0] = 0;
}

static lex_hold_t *decode(const char *v, size_t len)
{
    msgpack_unpacked up;
    if (lex_body_parse(v, len, &up) != 0)
        return NULL;
    lex_hold_t *h = calloc(1, sizeof *h);
    const msgpack_object *m = &up.data, *body = lex_mp_get(m, "body");
    if (h && body && body->type == MSGPACK_OBJECT_BIN &&
        (h->body = malloc(body->via.bin.size ? body->via.bin.size : 1))) {
        memcpy(h->body, body->via.bin.ptr, body->via.bin.size);
        h->body_len = body->via.bin.size;
        lex_mp_uint(lex_mp_get(m, "id"), &h->id);
        take(m, "state", h->state, sizeof h->state);
        take(m, "dest", h->dest, sizeof h->dest);
        take(m, "req_ori", h->req_ori, sizeof h->req_ori);
        lex_mp_uint(lex_mp_get(m, "req_id"), &h->req_id);
        take(m, "key", h->key, sizeof h->key);
        take(m, "kind", h->kind, sizeof h->kind);
        take(m, "purpose", h->purpose, sizeof h->purpose);
        take(m, "ctl", h->ctl, sizeof h->ctl);
        take(m, "rule", h->rule_id, sizeof h->rule_id);
        lex_mp_uint(lex_mp_get(m, "held_us"), &h->held_us);
        lex_mp_uint(lex_mp_get(m, "expires_us"), &h->expires_us);
    } else {
        free(h);
        h = NULL;
    }
    msgpack_unpacked_destroy(&up);
    return h;
}

int lex_holds_open(const char *path, lex_holds_t **out, char *err, size_t errlen)
{
    *out = NULL;
    lex_holds_t *s = calloc(1, sizeof *s);
    if (!s)
        return LEX_ENOMEM;
    s->next_id = 1;
    s->opts = rocksdb_options_create();
    if (lex_log_options_harden(&s->opts, err, errlen) != 0) { /* a full disk must not abort */
        lex_holds_close(&s);
        return LEX_EROCKSDB;
    }
    rocksdb_options_set_create_if_missing(s->opts, 1);
    s->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wopts, 1);
    s->ropts = rocksdb_readoptions_create();
    char *rerr = NULL;
    s->db = rocksdb_open(s->opts, path, &rerr);
    if (rerr) {
        snprintf(err, errlen, "%s: %s", path, rerr);
        rocksdb_free(rerr);
        s->db = NULL;
        lex_holds_close(&s);
        return LEX_EROCKSDB;
    }
    rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, s->ropts);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t vlen;
        const char *v = rocksdb_iter_value(it, &vlen);
        lex_hold_t *h = decode(v, vlen);
        if (h)
            append(s, h);
        else
            lex_logline_write(LEX_LOG_WARN, "%s: an unreadable held query was skipped", path);
    }
    rocksdb_iter_destroy(it);
    *out = s;
    return 0;
}

void lex_holds_close(lex_holds_t **sp)
{
    if (!sp || !*sp)
        return;
    lex_holds_t *s = *sp;
    for (lex_hold_t *h = s->head, *next; h; h = next) {
        next = h->next;
        free_hold(h);
    }
    if (s->db)
        rocksdb_close(s->db);
    if (s->ropts)
        rocksdb_readoptions_destroy(s->ropts);
    if (s->wopts)
        rocksdb_writeoptions_destroy(s->wopts);
    if (s->opts)
        rocksdb_options_destroy(s->opts);
    free(s);
    *sp = NULL;
}

int lex_holds_add(lex_holds_t *s, lex_hold_t *proto)
{
    lex_hold_t *h = malloc(sizeof *h);
    if (!h)
        return LEX_ENOMEM;
    *h = *proto;
    h->id = s->next_id;
    h->body = malloc(proto->body_len ? proto->body_len : 1);
    if (!h->body) {
        free(h);
        return LEX_ENOMEM;
    }
    memcpy(h->body, proto->body, proto->body_len);
    lex_buf_t value;
    lex_buf_init(&value);
    int rc = encode(h, &value);
    char key[8];
    put_be64(key, h->id);
    char *rerr = NULL;
    if (rc == 0)
        rocksdb_put(s->db, s->wopts, key, 8, value.data, value.len, &rerr);
    lex_buf_free(&value);
    if (rc != 0 || rerr) {
        if (rerr) {
            lex_logline_write(LEX_LOG_ERROR, "cannot store a held query: %s", rerr);
            rocksdb_free(rerr);
        }
        free_hold(h);
        return rc ? rc : LEX_EROCKSDB;
    }
    append(s, h);
    proto->id = h->id;
    return 0;
}

lex_hold_t *lex_holds_find(lex_holds_t *s, uint64_t id)
{
    for (lex_hold_t *h = s->head; h; h = h->next)
        if (h->id == id)
            return h;
    return NULL;
}

int lex_holds_remove(lex_holds_t *s, uint64_t id)
{
    lex_hold_t *prev = NULL, *h = s->head;
    while (h && h->id != id) {
        prev = h;
        h = h->next;
    }
    if (!h)
        return LEX_ENOTFOUND;
    char key[8];
    put_be64(key, id);
    char *rerr = NULL;
    rocksdb_delete(s->db, s->wopts, key, 8, &rerr);
    if (rerr) {
        lex_logline_write(LEX_LOG_ERROR, "cannot delete held query %llu: %s",
                (unsigned long long)id, rerr);
        rocksdb_free(rerr);
        return LEX_EROCKSDB;
    }
    if (prev)
        prev->next = h->next;
    else
        s->head = h->next;
    if (s->tail == h)
        s->tail = prev;
    s->count--;
    free_hold(h);
    return 0;
}

lex_hold_t *lex_holds_first(lex_holds_t *s)
{
    return s->head;
}

size_t lex_holds_count(const lex_holds_t *s)
{
    return s->count;
}

lex_hold_t *lex_holds_expired(lex_holds_t *s, uint64_t now_us)
{
    for (lex_hold_t *h = s->head; h; h = h->next)
        if (h->expires_us <= now_us)
            return h;
    return NULL;
}
