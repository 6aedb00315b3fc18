/* auditlog_prune.c: retention. The switch removes records older than its
 * retention period a chunk at a time: up to the newest signed checkpoint
 * among them, so the verifier can start from that checkpoint's hash. The
 * records go by range (DeleteRange on the record keys and on each ORI's and
 * state's index range), their id and time index entries one by one, and
 * the new base is written in the same batch. Rollups and checkpoints stay.
 * Layout and rules: docs/LOG.md "Retention". */
#include <stdlib.h>
#include <string.h>
#include "auditlog_internal.h"
#include "lex_envelope.h"
#include "lex_error.h"

static const char base_key[] = "base";

/* A set of index prefixes (ORIs, state codes) seen in the records removed. */
typedef struct {
    char (*names)[LEX_ORI_LEN + 1];
    size_t cap, used;
} name_set_t;

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int set_add(name_set_t *set, const char *name)
{
    if ((set->used + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        char(*names)[LEX_ORI_LEN + 1] = calloc(cap, sizeof *names);
        if (!names)
            return LEX_ENOMEM;
        for (size_t i = 0; i < set->cap; i++) {
            if (!set->names[i][0])
                continue;
            size_t j = hash_name(set->names[i]) & (cap - 1);
            while (names[j][0])
                j = (j + 1) & (cap - 1);
            memcpy(names[j], set->names[i], sizeof names[j]);
        }
        free(set->names);
        set->names = names;
        set->cap = cap;
    }
    size_t j = hash_name(name) & (set->cap - 1);
    while (set->names[j][0] && strcmp(set->names[j], name) != 0)
        j = (j + 1) & (set->cap - 1);
    if (!set->names[j][0]) {
        snprintf(set->names[j], sizeof set->names[j], "%s", name);
        set->used++;
    }
    return 0;
}

/* The newest checkpoint with base < seq <= limit, or 0. */
static uint64_t checkpoint_at_or_before(lex_log_t *log, uint64_t base, uint64_t limit)
{
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_CHECKPOINTS]);
    uint8_t key[8];
    lex_log_put_be64(key, limit);
    rocksdb_iter_seek_for_prev(it, (const char *)key, 8);
    uint64_t seq = 0;
    if (rocksdb_iter_valid(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen == 8)
            seq = lex_log_get_be64((const uint8_t *)k);
    }
    rocksdb_iter_destroy(it);
    return seq > base ? seq : 0;
}

typedef struct {
    lex_log_t *log;
    rocksdb_writebatch_t *batch;
    uint64_t last;            /* remove records up to this seq */
    uint64_t removed;
    name_set_t oris, states;
    int rc;
} pruner_t;

static int prune_visit(const lex_log_record_t *r, void *arg)
{
    pruner_t *p = arg;
    if (r->seq > p->last)
        return 1;
    uint8_t k[16];
    lex_log_put_be64(k, r->msg_id);
    lex_log_put_be64(k + 8, r->seq);
    rocksdb_writebatch_delete_cf(p->batch, p->log->cf[CF_BY_ID], (const char *)k, 16);
    lex_log_put_be64(k, r->time_us);
    rocksdb_writebatch_delete_cf(p->batch, p->log->cf[CF_BY_TIME], (const char *)k, 16);
    const char *names[2] = {r->src, r->dst};
    for (int i = 0; i < 2 && p->rc == 0; i++) {
        if (lex_ori_valid(names[i]))
            p->rc = set_add(&p->oris, names[i]);
        char st[3] = {names[i][0], names[i][0] ? names[i][1] : 0, 0};
        if (p->rc == 0 && lex_state_valid(st))
            p->rc = set_add(&p->states, st);
    }
    p->removed++;
    return p->rc != 0;
}

/* Deletes [prefix|0, prefix|last+1) in an index column family. */
static void delete_prefix_range(pruner_t *p, int cf, const name_set_t *set, size_t n)
{
    for (size_t i = 0; i < set->cap; i++) {
        if (!set->names[i][0])
            continue;
        char from[LEX_ORI_LEN + 8], to[LEX_ORI_LEN + 8];
        memcpy(from, set->names[i], n);
        memcpy(to, set->names[i], n);
        lex_log_put_be64((uint8_t *)from + n, 0);
        lex_log_put_be64((uint8_t *)to + n, p->last + 1);
        rocksdb_writebatch_delete_range_cf(p->batch, p->log->cf[cf], from, n + 8, to, n + 8);
    }
}

int lex_log_prune(lex_log_t *log, uint64_t cutoff_us, uint64_t max_records, uint64_t *removed)
{
    *removed = 0;
    if (log->reader)
        return LEX_EINVAL;
    if (log->failed)
        return LEX_EIO; /* never write again after a failed write (auditlog_options.c) */
    uint64_t base = lex_log_load_base(log);
    uint64_t first_new = lex_log_seq_at_time(log, cutoff_us); /* 0: every record is older */
    uint64_t due = first_new ? first_new - 1 : log->committed_seq;
    if (due > log->committed_seq)
        due = log->committed_seq;
    uint64_t limit = due;
    if (max_records && limit > base + max_records)
        limit = base + max_records;
    uint64_t last = limit > base ? checkpoint_at_or_before(log, base, limit) : 0;
    if (last == 0)
        return 0; /* nothing old enough ends on a checkpoint yet */

    pruner_t p = {.log = log, .batch = rocksdb_writebatch_create(), .last = last};
    int rc = lex_log_scan(log, base + 1, 0, prune_visit, &p);
    if (rc == 0)
        rc = p.rc;
    if (rc == 0) {
        uint8_t from[8], to[8], value[8];
        lex_log_put_be64(from, base + 1);
        lex_log_put_be64(to, last + 1);
        rocksdb_writebatch_delete_range_cf(p.batch, log->cf[CF_DEFAULT], (const char *)from, 8,
                                           (const char *)to, 8);
        delete_prefix_range(&p, CF_BY_ORI, &p.oris, LEX_ORI_LEN);
        delete_prefix_range(&p, CF_BY_STATE, &p.states, 2);
        lex_log_put_be64(value, last);
        rocksdb_writebatch_put_cf(p.batch, log->cf[CF_META], base_key, sizeof base_key - 1,
                                  (const char *)value, 8);
        char *rerr = NULL;
        rocksdb_write(log->db, log->wopts, p.batch, &rerr);
        if (rerr) {
            log->failed = 1;
            rc = lex_log_rocks_fail(rerr, NULL, 0, "removing old records");
        }
    }
    rocksdb_writebatch_destroy(p.batch);
    free(p.oris.names);
    free(p.states.names);
    if (rc != 0)
        return rc;
    *removed = p.removed;
    return last < due && checkpoint_at_or_before(log, last, due) ? 1 : 0;
}

uint64_t lex_log_base(lex_log_t *log)
{
    return lex_log_load_base(log);
}

int lex_log_compact(lex_log_t *log)
{
    if (log->reader)
        return LEX_EINVAL;
    for (int i = 0; i < CF_COUNT; i++)
        rocksdb_compact_range_cf(log->db, log->cf[i], NULL, 0, NULL, 0);
    return 0;
}
