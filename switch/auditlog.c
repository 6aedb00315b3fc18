/* auditlog.c: the audit log in RocksDB (lex_auditlog.h; layout in
 * docs/LOG.md). The writer appends records to one WriteBatch while the
 * switch handles a pass of messages and commits it once; each record's value
 * holds the hash of the previous value, and a head entry (last seq and hash)
 * is written with every batch so truncation is detectable too. Readers open
 * the database read-only and reopen to catch up. Never forwards anything:
 * it only records. */
#include <rocksdb/c.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <msgpack.h>
#include "auditlog_integrity.h"
#include "auditlog_internal.h"
#include "lex_body.h"
#include "lex_buf.h"
#include "lex_catalogue.h"
#include "lex_directory.h"
#include "lex_envelope.h"
#include "lex_error.h"

static const char *const cf_names[CF_COUNT] = {"default", "by_ori", "by_state", "meta",
                                              "checkpoints", "by_id", "by_time", "rollup"};
static const char head_key[] = "head";
static const char base_key[] = "base";

int lex_log_rocks_fail(char *rerr, char *err, size_t errlen, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", what, rerr ? rerr : "unknown RocksDB error");
    rocksdb_free(rerr);
    return LEX_EROCKSDB;
}

void lex_log_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

uint64_t lex_log_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

const char *lex_direction_name(lex_direction_t dir)
{
    return dir == LEX_DIR_IN ? "in" : "out";
}

int lex_durability_from_name(const char *name)
{
    if (strcmp(name, "sync") == 0)
        return LEX_DURABILITY_SYNC;
    if (strcmp(name, "batch") == 0)
        return LEX_DURABILITY_BATCH;
    if (strcmp(name, "none") == 0)
        return LEX_DURABILITY_NONE;
    return -1;
}

int lex_log_load_head(lex_log_t *log, uint64_t *seq, uint8_t hash[32], char *err, size_t errlen)
{
    char *rerr = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(log->db, log->ropts, log->cf[CF_META], head_key, sizeof head_key - 1,
                             &len, &rerr);
    if (rerr)
        return lex_log_rocks_fail(rerr, err, errlen, "reading the log head");
    *seq = 0;
    memset(hash, 0, 32);
    if (v && len == 40) {
        *seq = lex_log_get_be64((const uint8_t *)v);
        memcpy(hash, v + 8, 32);
    } else if (v) {
        rocksdb_free(v);
        if (err && errlen)
            snprintf(err, errlen, "log head entry is damaged (%zu bytes)", len);
        return LEX_EPARSE;
    }
    rocksdb_free(v);
    return 0;
}

uint64_t lex_log_load_base(lex_log_t *log)
{
    char *rerr = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(log->db, log->ropts, log->cf[CF_META], base_key, sizeof base_key - 1,
                             &len, &rerr);
    uint64_t base = v && len == 8 ? lex_log_get_be64((const uint8_t *)v) : 0;
    rocksdb_free(v);
    rocksdb_free(rerr);
    return base;
}

static int open_db(lex_log_t *log, char *err, size_t errlen)
{
    const rocksdb_options_t *cf_opts[CF_COUNT];
    for (int i = 0; i < CF_COUNT; i++)
        cf_opts[i] = i == CF_META || i == CF_ROLLUP                         ? log->read_cf_opts
                     : i == CF_BY_ORI || i == CF_BY_STATE || i == CF_BY_ID ||
                               i == CF_BY_TIME                            ? log->index_opts
                                                                          : log->opts;
    int rc = log->reader ? 0 : lex_log_integrity_precheck(log->path, err, errlen);
    if (rc != 0)
        return rc;
    for (int attempt = 0;; attempt++) {
        char *rerr = NULL;
        if (log->reader)
            log->db = rocksdb_open_for_read_only_column_families(
                log->opts, log->path, CF_COUNT, cf_names, cf_opts, log->cf, 0, &rerr);
        else
            log->db = rocksdb_open_column_families(log->opts, log->path, CF_COUNT, cf_names,
                                                   cf_opts, log->cf, &rerr);
        if (!rerr)
            return 0;
        log->db = NULL;
        /* a reader may catch the writer's last batch half-written: look again */
        if (log->reader && attempt < 5 && strstr(rerr, "orruption")) {
            rocksdb_free(rerr);
            usleep(20000u << attempt);
            continue;
        }
        return lex_log_integrity_fail(log->path, cf_names, CF_COUNT, rerr, err, errlen);
    }
}

static void close_db(lex_log_t *log)
{
    if (!log->db)
        return;
    for (int i = 0; i < CF_COUNT; i++)
        if (log->cf[i]) {
            rocksdb_column_family_handle_destroy(log->cf[i]);
            log->cf[i] = NULL;
        }
    rocksdb_close(log->db);
    log->db = NULL;
}

static int open_common(const char *dir, int reader, lex_durability_t mode,
                       lex_log_open_mode_t how, lex_log_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (sodium_init() < 0)
        return LEX_ESODIUM;
    lex_log_t *log = calloc(1, sizeof *log);
    if (!log || !(log->path = strdup(dir))) {
        free(log);
        return LEX_ENOMEM;
    }
    log->reader = reader;
    log->mode = mode;
    lex_buf_init(&log->value);
    log->opts = rocksdb_options_create();
    if (lex_log_options_apply(&log->opts, reader, err, errlen) != 0) {
        lex_log_close(&log);
        return LEX_EROCKSDB;
    }
    rocksdb_options_set_create_if_missing(log->opts, !reader);
    lex_log_integrity_options(log->opts, dir, reader, how);
    /* lz4 while records are fresh, zstd once compacted to the last level
     * (Debian's librocksdb has both; docs/LOG.md "On disk") */
    rocksdb_options_set_compression(log->opts, rocksdb_lz4_compression);
    rocksdb_options_set_bottommost_compression(log->opts, rocksdb_zstd_compression);
    /* meta and rollup are read while the writer runs (the rollup flush reads
     * each counter it adds to): they keep the default skiplist memtable,
     * since every read of a vector memtable sorts all of it */
    log->read_cf_opts = rocksdb_options_create_copy(log->opts);
    if (!reader) {
        /* The writer only appends to the records and their indexes:
         * an unsorted (vector) memtable takes an insert for the price of an
         * append and sorts once when flushing, where a skiplist pays a
         * search per index entry (the largest cost of a routed message). */
        rocksdb_options_set_memtable_vector_rep(log->opts);
        rocksdb_options_set_allow_concurrent_memtable_write(log->opts, 0);
    }
    lex_log_index_filter_setup(log); /* retention: index entries below the base go */
    log->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(log->wopts, mode == LEX_DURABILITY_SYNC);
    if (mode == LEX_DURABILITY_NONE)
        rocksdb_writeoptions_disable_WAL(log->wopts, 1);
    log->ropts = rocksdb_readoptions_create();
    log->batch = rocksdb_writebatch_create();
    log->cp_every_records = 1000;
    log->cp_every_ms = 10000;
    int rc = 0;
    if (!reader && how == LEX_LOG_OPEN_STRICT &&
        lex_log_trim_interrupted_write(dir, log->interrupted, sizeof log->interrupted) < 0) {
        snprintf(err, errlen, "%s", log->interrupted);
        rc = LEX_EIO;
    }
    if (rc == 0)
        rc = open_db(log, err, errlen);
    if (rc == 0)
        rc = lex_log_load_head(log, &log->committed_seq, log->committed_hash, err, errlen);
    if (rc == 0 && !reader)
        rc = lex_log_keys_load(log, err, errlen);
    if (rc == 0 && !reader)
        rc = lex_log_checkpoints_load(log, err, errlen);
    if (rc == 0 && !reader) {
        lex_log_clock_load(log);
        uint64_t base = lex_log_load_base(log);
        log->index_base = log->base_written = log->base_syncing = base;
    }
    if (rc == 0 && !reader && how == LEX_LOG_OPEN_STRICT)
        rc = lex_log_integrity_check_head(log, err, errlen);
    if (rc != 0) {
        lex_log_close(&log);
        return rc;
    }
    log->last_seq = log->committed_seq;
    memcpy(log->last_hash, log->committed_hash, 32);
    *out = log;
    return 0;
}

const char *lex_log_interrupted_write(const lex_log_t *log)
{
    return log->interrupted[0] ? log->interrupted : NULL;
}

int lex_log_open(const char *dir, lex_durability_t mode, lex_log_t **out, char *err,
                 size_t errlen)
{
    return open_common(dir, 0, mode, LEX_LOG_OPEN_STRICT, out, err, errlen);
}

int lex_log_open_salvage(const char *dir, lex_log_t **out, char *err, size_t errlen)
{
    return open_common(dir, 0, LEX_DURABILITY_SYNC, LEX_LOG_OPEN_SALVAGE, out, err, errlen);
}

int lex_log_open_reader(const char *dir, lex_log_t **out, char *err, size_t errlen)
{
    return open_common(dir, 1, LEX_DURABILITY_SYNC, LEX_LOG_OPEN_STRICT, out, err, errlen);
}

static int write_batch(lex_log_t *log);

void lex_log_close(lex_log_t **logp)
{
    if (!logp || !*logp)
        return;
    lex_log_t *log = *logp;
    if (!log->reader && log->db && !log->failed &&
        (log->pending || log->cp_seq < log->committed_seq)) {
        /* the last records get a checkpoint of their own on a clean stop */
        lex_log_checkpoint_maybe(log, 1);
        int rc = write_batch(log);
        if (rc != 0)
            fprintf(stderr, "lexswitch: audit log: final commit failed: %s\n", lex_strerror(rc));
    }
    if (log->deferred_sync && log->db && !log->failed)
        lex_log_sync(log);
    close_db(log);
    if (log->batch)
        rocksdb_writebatch_destroy(log->batch);
    if (log->ropts)
        rocksdb_readoptions_destroy(log->ropts);
    if (log->wopts)
        rocksdb_writeoptions_destroy(log->wopts);
    if (log->opts)
        rocksdb_options_destroy(log->opts);
    if (log->read_cf_opts)
        rocksdb_options_destroy(log->read_cf_opts);
    lex_log_index_filter_free(log);
    lex_buf_free(&log->value);
    lex_log_rollup_free(log);
    free(log->path);
    free(log);
    *logp = NULL;
}

static void pack_bin(msgpack_packer *pk, const char *k, const void *p, size_t n)
{
    lex_mp_pack_str(pk, k);
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, p, n);
}

static int encode_record(lex_buf_t *out, const lex_log_record_t *r)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lex_buf_write);
    msgpack_pack_map(&pk, 17);
    lex_mp_pack_kv_uint(&pk, "seq", r->seq);
    lex_mp_pack_kv_uint(&pk, "t", r->time_us);
    lex_mp_pack_kv_uint(&pk, "dir", (uint64_t)r->dir);
    lex_mp_pack_kv_str(&pk, "conn", r->conn);
    lex_mp_pack_kv_str(&pk, "k", r->key);
    lex_mp_pack_kv_str(&pk, "src", r->src);
    lex_mp_pack_kv_str(&pk, "dst", r->dst);
    lex_mp_pack_kv_uint(&pk, "id", r->msg_id);
    lex_mp_pack_kv_uint(&pk, "ref", r->ref);
    lex_mp_pack_kv_str(&pk, "dec", r->decision);
    lex_mp_pack_kv_str(&pk, "rule", r->rule_id);
    lex_mp_pack_kv_str(&pk, "fam", r->req_family);
    lex_mp_pack_kv_str(&pk, "lvl", r->req_level);
    lex_mp_pack_str(&pk, "st");
    msgpack_pack_int(&pk, r->status);
    pack_bin(&pk, "env", r->envelope, r->envelope ? r->envelope_len : 0);
    pack_bin(&pk, "body", r->body, r->body ? r->body_len : 0);
    pack_bin(&pk, "prev", r->prev_hash, 32);
    return out->failed ? LEX_ENOMEM : 0;
}

static void index_put(lex_log_t *log, int cf, const char *name, size_t n, uint64_t seq)
{
    uint8_t key[LEX_ORI_LEN + 8];
    memcpy(key, name, n);
    lex_log_put_be64(key + n, seq);
    rocksdb_writebatch_put_cf(log->batch, log->cf[cf], (const char *)key, n + 8, "", 0);
}

/* The state a name belongs to: a state code itself, or an ORI's first two
 * letters when they are a state. */
static int state_of(const char *name, char out[3])
{
    if (strlen(name) < 2)
        return 0;
    out[0] = name[0];
    out[1] = name[1];
    out[2] = 0;
    return lex_state_valid(out);
}

void lex_log_set_directory(lex_log_t *log, const lex_directory_t *dir)
{
    log->directory = dir;
}

const lex_agency_t *lex_log_requester(const lex_log_record_t *rec, const lex_directory_t *dir)
{
    const lex_msgdef_t *def = lex_catalogue_find(lex_catalogue_builtin(), rec->key);
    if (def && (def->cls == LEX_CLASS_RESPONSE || def->cls == LEX_CLASS_STATUS))
        return lex_directory_find(dir, rec->dst);
    const lex_agency_t *a = lex_directory_find(dir, rec->src);
    return a ? a : lex_directory_find(dir, rec->dst);
}

static void fill_requester(const lex_log_t *log, lex_log_record_t *rec)
{
    if (!log->directory || rec->req_family[0])
        return;
    const lex_agency_t *a = lex_log_requester(rec, log->directory);
    if (!a)
        return;
    /* per record: plain bounded copies rather than snprintf */
    size_t n = strnlen(a->family, sizeof rec->req_family - 1);
    memcpy(rec->req_family, a->family, n);
    rec->req_family[n] = 0;
    const char *level = lex_level_name(a->level);
    n = strnlen(level, sizeof rec->req_level - 1);
    memcpy(rec->req_level, level, n);
    rec->req_level[n] = 0;
}

int lex_log_append(lex_log_t *log, lex_log_record_t *rec)
{
    if (log->reader)
        return LEX_EINVAL;
    /* an access record's source is a person, not an ORI: no requester,
     * no rollup, no ORI index for it (docs/LOG.md "Access records") */
    int access = strcmp(rec->decision, "access") == 0;
    if (!access)
        fill_requester(log, rec);
    rec->seq = log->last_seq + 1;
    if (!rec->time_us)
        rec->time_us = lex_now_us();
    memcpy(rec->prev_hash, log->last_hash, 32);
    lex_buf_reset(&log->value);
    int rc = encode_record(&log->value, rec);
    if (rc != 0)
        return rc;
    if (!access && (rc = lex_log_rollup_note(log, rec)) != 0)
        return rc;
    crypto_generichash(rec->hash, 32, (const unsigned char *)log->value.data, log->value.len, NULL,
                       0);
    uint8_t key[8];
    lex_log_put_be64(key, rec->seq);
    rocksdb_writebatch_put_cf(log->batch, log->cf[CF_DEFAULT], (const char *)key, 8,
                              log->value.data, log->value.len);
    if (access)
        lex_log_access_index(log, rec->seq);
    if (!access && lex_ori_valid(rec->src))
        index_put(log, CF_BY_ORI, rec->src, LEX_ORI_LEN, rec->seq);
    if (lex_ori_valid(rec->dst) && strcmp(rec->dst, rec->src) != 0)
        index_put(log, CF_BY_ORI, rec->dst, LEX_ORI_LEN, rec->seq);
    char s1[3], s2[3];
    int has1 = !access && state_of(rec->src, s1), has2 = state_of(rec->dst, s2);
    if (has1)
        index_put(log, CF_BY_STATE, s1, 2, rec->seq);
    if (has2 && (!has1 || strcmp(s1, s2) != 0))
        index_put(log, CF_BY_STATE, s2, 2, rec->seq);
    uint8_t idkey[16];
    lex_log_put_be64(idkey, rec->msg_id);
    lex_log_put_be64(idkey + 8, rec->seq);
    rocksdb_writebatch_put_cf(log->batch, log->cf[CF_BY_ID], (const char *)idkey, 16, "", 0);
    lex_log_put_be64(idkey, rec->time_us);
    rocksdb_writebatch_put_cf(log->batch, log->cf[CF_BY_TIME], (const char *)idkey, 16, "", 0);
    log->last_seq = rec->seq;
    memcpy(log->last_hash, rec->hash, 32);
    log->pending++;
    return 0;
}

/* Writes what the batch holds: records (with the head entry) and/or a
 * checkpoint. On failure the chain and the checkpoint state roll back to
 * what is durable, so the next batch links to the right record. */
static int write_batch(lex_log_t *log)
{
    /* the rollup rows this batch changes go in the same batch */
    int rollup_failed = log->pending && lex_log_rollup_flush(log) != 0;
    if (log->pending) {
        uint8_t head[40];
        lex_log_put_be64(head, log->last_seq);
        memcpy(head + 8, log->last_hash, 32);
        rocksdb_writebatch_put_cf(log->batch, log->cf[CF_META], head_key, sizeof head_key - 1,
                                  (const char *)head, sizeof head);
    }
    if (rocksdb_writebatch_count(log->batch) == 0)
        return 0;
    char *rerr = NULL;
    int dead = log->failed; /* after one failed write, never another (no retry) */
    if (!rollup_failed && !dead)
        rocksdb_write(log->db, log->wopts, log->batch, &rerr);
    rocksdb_writebatch_clear(log->batch);
    lex_log_rollup_reset(log);
    size_t records = log->pending;
    log->pending = 0;
    if (rerr || rollup_failed || dead) {
        log->last_seq = log->committed_seq;
        memcpy(log->last_hash, log->committed_hash, 32);
        log->cp_seq = log->cp_committed_seq;
        log->cp_time_us = log->cp_committed_time_us;
        log->stats.failures++;
        if (rerr) {
            log->failed = 1;
            fprintf(stderr, "lexswitch: audit log write of %zu records failed: %s\n", records,
                    rerr);
        } else if (!dead) {
            fprintf(stderr, "lexswitch: audit log write of %zu records failed: reading a "
                            "rollup row failed\n", records);
        }
        rocksdb_free(rerr);
        return dead || rerr ? LEX_EIO : LEX_EROCKSDB;
    }
    log->committed_seq = log->last_seq;
    memcpy(log->committed_hash, log->last_hash, 32);
    if (log->cp_seq != log->cp_committed_seq) {
        log->stats.checkpoints++;
        log->cp_committed_seq = log->cp_seq;
        log->cp_committed_time_us = log->cp_time_us;
    }
    log->stats.records += records;
    log->stats.commits++;
    if (log->mode == LEX_DURABILITY_SYNC && !log->deferred_sync)
        log->stats.fsyncs++;
    return 0;
}

void lex_log_defer_sync(lex_log_t *log)
{
    if (log->reader || log->mode != LEX_DURABILITY_SYNC)
        return;
    rocksdb_writeoptions_set_sync(log->wopts, 0);
    log->deferred_sync = 1;
}

int lex_log_deferring(const lex_log_t *log)
{
    return log->deferred_sync;
}

int lex_log_sync(lex_log_t *log)
{
    if (log->failed)
        return LEX_EIO;
    char *rerr = NULL;
    /* a prune written before this fsync starts is durable once it returns */
    uint64_t base = __atomic_load_n(&log->base_written, __ATOMIC_ACQUIRE);
    rocksdb_flush_wal(log->db, 1, &rerr); /* with automatic WAL flushes: an fsync of the WAL */
    if (rerr) {
        log->failed = 1;
        fprintf(stderr, "lexswitch: audit log fsync failed: %s\n", rerr);
        rocksdb_free(rerr);
        return LEX_EROCKSDB;
    }
    __atomic_store_n(&log->base_syncing, base, __ATOMIC_RELEASE);
    return 0;
}

int lex_log_failed(const lex_log_t *log)
{
    return log->failed;
}

void lex_log_note_sync(lex_log_t *log)
{
    log->stats.fsyncs++;
    __atomic_store_n(&log->index_base, __atomic_load_n(&log->base_syncing, __ATOMIC_ACQUIRE),
                     __ATOMIC_RELEASE);
}

int lex_log_commit(lex_log_t *log)
{
    if (log->reader || log->pending == 0)
        return 0;
    lex_log_checkpoint_maybe(log, 0);
    return write_batch(log);
}

int lex_log_tick(lex_log_t *log)
{
    if (log->reader || log->pending || !log->can_sign || log->cp_seq >= log->committed_seq)
        return 0;
    if (lex_log_since_checkpoint_us(log) < (uint64_t)log->cp_every_ms * 1000u)
        return 0;
    lex_log_checkpoint_maybe(log, 1);
    return write_batch(log);
}

void lex_log_set_checkpoint_interval(lex_log_t *log, uint32_t records, uint32_t ms)
{
    log->cp_every_records = records ? records : 1;
    log->cp_every_ms = ms;
}

void lex_log_get_stats(const lex_log_t *log, lex_log_stats_t *out)
{
    *out = log->stats;
}

size_t lex_log_pending(const lex_log_t *log)
{
    return log->pending;
}

uint64_t lex_log_last_seq(const lex_log_t *log)
{
    return log->committed_seq;
}

int lex_log_refresh(lex_log_t *log)
{
    if (!log->reader)
        return 0;
    close_db(log);
    char err[256];
    int rc = open_db(log, err, sizeof err);
    if (rc == 0)
        rc = lex_log_load_head(log, &log->committed_seq, log->committed_hash, err, sizeof err);
    return rc;
}

static void copy_field(const msgpack_object *map, const char *name, char *dst, size_t size)
{
    const msgpack_object *o = lex_mp_get(map, name);
    dst[0] = 0;
    if (o && o->type == MSGPACK_OBJECT_STR) {
        size_t n = o->via.str.size < size - 1 ? o->via.str.size : size - 1;
        memcpy(dst, o->via.str.ptr, n);
        dst[n] = 0;
    }
}

static uint64_t uint_field(const msgpack_object *map, const char *name)
{
    uint64_t v = 0;
    lex_mp_uint(lex_mp_get(map, name), &v);
    return v;
}

static void bin_field(const msgpack_object *map, const char *name, const void **p, size_t *n)
{
    const msgpack_object *o = lex_mp_get(map, name);
    *p = NULL;
    *n = 0;
    if (o && o->type == MSGPACK_OBJECT_BIN) {
        *p = o->via.bin.ptr;
        *n = o->via.bin.size;
    }
}

int lex_log_decode(const char *v, size_t len, msgpack_unpacked *up, lex_log_record_t *r)
{
    memset(r, 0, sizeof *r);
    int rc = lex_body_parse(v, len, up);
    if (rc != 0)
        return rc;
    const msgpack_object *m = &up->data;
    r->seq = uint_field(m, "seq");
    r->time_us = uint_field(m, "t");
    r->dir = uint_field(m, "dir") ? LEX_DIR_OUT : LEX_DIR_IN;
    copy_field(m, "conn", r->conn, sizeof r->conn);
    copy_field(m, "k", r->key, sizeof r->key);
    copy_field(m, "src", r->src, sizeof r->src);
    copy_field(m, "dst", r->dst, sizeof r->dst);
    r->msg_id = uint_field(m, "id");
    r->ref = uint_field(m, "ref");
    copy_field(m, "dec", r->decision, sizeof r->decision);
    copy_field(m, "rule", r->rule_id, sizeof r->rule_id);
    copy_field(m, "fam", r->req_family, sizeof r->req_family);
    copy_field(m, "lvl", r->req_level, sizeof r->req_level);
    const msgpack_object *st = lex_mp_get(m, "st");
    r->status = st ? (int)st->via.i64 : 0;
    bin_field(m, "env", &r->envelope, &r->envelope_len);
    bin_field(m, "body", &r->body, &r->body_len);
    const void *prev;
    size_t plen;
    bin_field(m, "prev", &prev, &plen);
    if (plen == 32)
        memcpy(r->prev_hash, prev, 32);
    crypto_generichash(r->hash, 32, (const unsigned char *)v, len, NULL, 0);
    return 0;
}

static int visit_value(const char *v, size_t len, lex_log_visit_fn fn, void *arg, int *stop)
{
    msgpack_unpacked up;
    lex_log_record_t rec;
    int rc = lex_log_decode(v, len, &up, &rec);
    if (rc != 0)
        return rc;
    *stop = fn(&rec, arg);
    msgpack_unpacked_destroy(&up);
    return 0;
}

int lex_log_scan(lex_log_t *log, uint64_t from_seq, size_t limit, lex_log_visit_fn fn, void *arg)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_DEFAULT]);
    uint8_t key[8];
    lex_log_put_be64(key, from_seq);
    size_t seen = 0;
    int rc = 0, stop = 0;
    for (rocksdb_iter_seek(it, (const char *)key, 8); rocksdb_iter_valid(it) && !stop;
         rocksdb_iter_next(it)) {
        size_t vlen;
        const char *v = rocksdb_iter_value(it, &vlen);
        if ((rc = visit_value(v, vlen, fn, arg, &stop)) != 0)
            break;
        if (limit && ++seen >= limit)
            break;
    }
    rocksdb_iter_destroy(it);
    return rc;
}

/* Walks an index column family for one prefix and visits each record. */
int lex_log_scan_index(lex_log_t *log, int cf, const char *prefix, size_t n, uint64_t from_seq,
                       uint64_t to_seq, lex_log_visit_fn fn, void *arg)
{
    uint64_t base = lex_log_load_base(log); /* entries up to it wait for compaction */
    if (from_seq <= base)
        from_seq = base + 1;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[cf]);
    int rc = 0, stop = 0;
    char start[24];
    memcpy(start, prefix, n);
    lex_log_put_be64((uint8_t *)start + n, from_seq);
    for (rocksdb_iter_seek(it, start, n + 8); rocksdb_iter_valid(it) && !stop;
         rocksdb_iter_next(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen != n + 8 || memcmp(k, prefix, n) != 0 ||
            lex_log_get_be64((const uint8_t *)k + n) > to_seq)
            break;
        char *rerr = NULL;
        size_t vlen = 0;
        char *v = rocksdb_get_cf(log->db, log->ropts, log->cf[CF_DEFAULT], k + n, 8, &vlen, &rerr);
        if (rerr) {
            rc = lex_log_rocks_fail(rerr, NULL, 0, "index look-up");
            break;
        }
        if (!v)
            continue; /* index entry without its record: verify reports it */
        rc = visit_value(v, vlen, fn, arg, &stop);
        rocksdb_free(v);
        if (rc != 0)
            break;
    }
    rocksdb_iter_destroy(it);
    return rc;
}

int lex_log_scan_ori(lex_log_t *log, const char *ori, lex_log_visit_fn fn, void *arg)
{
    if (!lex_ori_valid(ori))
        return LEX_EINVAL;
    return lex_log_scan_index(log, CF_BY_ORI, ori, LEX_ORI_LEN, 0, UINT64_MAX, fn, arg);
}

int lex_log_scan_state(lex_log_t *log, const char *state, lex_log_visit_fn fn, void *arg)
{
    if (!lex_state_valid(state))
        return LEX_EINVAL;
    return lex_log_scan_index(log, CF_BY_STATE, state, 2, 0, UINT64_MAX, fn, arg);
}

int lex_log_scan_id(lex_log_t *log, uint64_t msg_id, lex_log_visit_fn fn, void *arg)
{
    uint8_t prefix[8];
    lex_log_put_be64(prefix, msg_id);
    return lex_log_scan_index(log, CF_BY_ID, (const char *)prefix, 8, 0, UINT64_MAX, fn, arg);
}
