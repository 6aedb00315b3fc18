/* auditlog_internal.h: what the audit log's own files share (auditlog.c
 * writes and scans, auditlog_sign.c keeps the signing key and the signed
 * checkpoints, auditlog_verify.c walks the chain). Nothing outside the log
 * library includes it: tools use lex_auditlog.h. */
#ifndef LEX_AUDITLOG_INTERNAL_H
#define LEX_AUDITLOG_INTERNAL_H

#include <msgpack.h>
#include <rocksdb/c.h>
#include <sodium.h>
#include "lex_auditlog.h"
#include "lex_buf.h"

/* Column families; layout in docs/LOG.md "On disk". */
enum {
    CF_DEFAULT,
    CF_BY_ORI,
    CF_BY_STATE,
    CF_META,
    CF_CHECKPOINTS,
    CF_BY_ID,
    CF_BY_TIME,
    CF_ROLLUP,
    CF_COUNT
};

#define LOG_KEY_FILE "audit-sign.key"
#define LOG_PUB_FILE "audit-sign.pub"
#define CHECKPOINT_LEN (1 + 8 + 32 + 8 + crypto_sign_BYTES)
#define ROLLUP_KEY_MAX 80

/* One rollup row's count added by the batch being built. */
typedef struct {
    char key[ROLLUP_KEY_MAX];      /* "" = free slot */
    uint64_t add;
} rollup_slot_t;

/* The writer's rollup state (auditlog_rollup.c). */
typedef struct {
    rollup_slot_t *slots;          /* open addressing, cap a power of two */
    size_t cap, used;
    /* a fan-out query whose per-destination outcomes (one out-record each,
     * in destination order) follow its in-record */
    size_t fan_left, fan_idx, fan_n;
    uint64_t fan_id;
    char fan_src[LEX_ORI_LEN + 1];
    char fan_key[LEX_KEY_MAX + 1];
    char fan_family[16], fan_level[12];
    char fan_dst[LEX_DEST_MAX][LEX_ORI_LEN + 1];
    /* the month of the last record, and its bounds */
    uint64_t month_from_us, month_to_us;
    char month[8];
} lex_rollup_acc_t;

struct lex_log {
    char *path;
    int reader;
    char interrupted[1024];        /* the unfinished write cut off at open (auditlog_torn.c), or "" */
    lex_durability_t mode;
    rocksdb_options_t *opts;
    rocksdb_options_t *read_cf_opts;  /* column families read while writing: skiplist memtable */
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[CF_COUNT];
    rocksdb_writeoptions_t *wopts;
    rocksdb_readoptions_t *ropts;
    rocksdb_writebatch_t *batch;
    size_t pending;
    uint64_t last_seq;             /* last appended (pending included) */
    uint8_t last_hash[32];
    uint64_t committed_seq;        /* last durable */
    uint8_t committed_hash[32];
    lex_buf_t value;               /* scratch for encoding */

    /* signed checkpoints (writer only) */
    int can_sign;                  /* the secret key is loaded */
    uint8_t sign_sk[crypto_sign_SECRETKEYBYTES];
    uint64_t cp_seq;               /* seq of the newest checkpoint (durable or in the batch) */
    uint64_t cp_time_us;           /* when it was made */
    uint64_t cp_committed_seq;     /* newest durable checkpoint, to roll back on failure */
    uint64_t cp_committed_time_us;
    uint32_t cp_every_records;
    uint32_t cp_every_ms;

    lex_log_stats_t stats;
    int deferred_sync;             /* sync mode, fsync left to lex_log_sync */
    _Atomic int failed;            /* a write or fsync failed: RocksDB's WAL is never
                                      touched again (auditlog_options.c says why) */
    const lex_directory_t *directory; /* requester family/level, may be NULL */
    lex_rollup_acc_t rollup;          /* counts this batch adds (writer only) */

    /* time and retention (auditlog_clock.c, auditlog_prune.c) */
    uint64_t clock_us;             /* the caller's reckoned time, 0 = the wall clock */
    uint64_t clock_mark_us;        /* the highest reckoned time stored */
    uint64_t cp_mono_us;           /* monotonic clock at the newest checkpoint made here (0: none) */
    rocksdb_options_t *index_opts;   /* index column families: with the filter below */
    rocksdb_compactionfilter_t *index_filter;
    /* index entries at or below index_base are dropped by compaction; it
     * moves up to a prune's base once that write is durable (base_written,
     * base_syncing: what lex_log_sync covers). Atomic: compaction threads. */
    uint64_t index_base, base_written, base_syncing;
};

/* Sets the options that keep a full or failing disk from reaching one of
 * RocksDB's assertions; may replace *opts (auditlog_options.c). */
int lex_log_options_apply(rocksdb_options_t **opts, int reader, char *err, size_t errlen);

void lex_log_put_be64(uint8_t *p, uint64_t v);
uint64_t lex_log_get_be64(const uint8_t *p);
int lex_log_rocks_fail(char *rerr, char *err, size_t errlen, const char *what);

/* Loads <dir>/audit-sign.key, or creates the key pair (key mode 0600, public
 * key next to it) when neither exists. */
int lex_log_keys_load(lex_log_t *log, char *err, size_t errlen);

/* Finds the newest checkpoint and sets cp_seq/cp_time_us. */
int lex_log_checkpoints_load(lex_log_t *log, char *err, size_t errlen);

/* Puts a signed checkpoint of (last_seq, last_hash) into the current batch
 * when one is due, or always when force is set and there is something new. */
void lex_log_checkpoint_maybe(lex_log_t *log, int force);

/* Reads a file holding `bytes` bytes as hex digits (one line). */
int lex_log_read_hex_file(const char *path, uint8_t *out, size_t bytes, char *err, size_t errlen);

/* A stored checkpoint: decode its fields, or check its signature. */
int lex_log_checkpoint_decode(const char *v, size_t len, uint64_t *seq, uint8_t hash[32],
                              uint64_t *time_us);
int lex_log_checkpoint_check(const char *v, size_t len, const uint8_t pk[32]);

/* Decodes a stored record value; rec points into *up (destroy it after). */
int lex_log_decode(const char *v, size_t len, msgpack_unpacked *up, lex_log_record_t *rec);

/* Visits the records an index column family lists under prefix, with
 * seq in [from_seq, to_seq]. */
int lex_log_scan_index(lex_log_t *log, int cf, const char *prefix, size_t n, uint64_t from_seq,
                       uint64_t to_seq, lex_log_visit_fn fn, void *arg);

/* Reads the head entry (seq 0 when the log is empty). */
int lex_log_load_head(lex_log_t *log, uint64_t *seq, uint8_t hash[32], char *err, size_t errlen);

/* Reads the retention base: records up to base were removed on purpose; the
 * checkpoint at base holds the hash the first remaining record links to. */
uint64_t lex_log_load_base(lex_log_t *log);

/* Puts the access-record index entry for seq into the batch
 * (auditlog_access.c). */
void lex_log_access_index(lex_log_t *log, uint64_t seq);

/* Time (auditlog_clock.c). clock_now: the reckoned time (or the wall
 * clock); checkpoint: puts the reckoned time of a checkpoint at seq, and
 * the high-water mark, into the current batch; load: reads the mark at
 * open; the index filter is set up on index_opts before the writer opens
 * and freed after close; note_base: a prune wrote base (durable per mode). */
uint64_t lex_log_clock_now(const lex_log_t *log);
/* Time since the newest checkpoint, for the interval: by the monotonic
 * clock once one was made since open (a wall-clock step neither delays nor
 * forces checkpoints), else by its signing time (a clock behind it: due). */
uint64_t lex_log_since_checkpoint_us(const lex_log_t *log);
void lex_log_clock_checkpoint(lex_log_t *log, uint64_t seq);
void lex_log_clock_load(lex_log_t *log);
/* The reckoned time stored for the checkpoint at seq (meta "rk" + seq)
 * into *t: 1 when there is one, 0 (and *t = 0) when not. */
int lex_log_reckoned_at(lex_log_t *log, uint64_t seq, uint64_t *t);
void lex_log_index_filter_setup(lex_log_t *log);
void lex_log_index_filter_free(lex_log_t *log);
void lex_log_note_base(lex_log_t *log, uint64_t base);
#define LOG_RK_PREFIX "rk"        /* meta: "rk" + seq -> reckoned time of that checkpoint */
#define LOG_CUT_PREFIX "cut"      /* meta: "cut" + last seq -> a retention cut (below) */
#define LOG_CLOCK_KEY "clock"     /* meta: the highest reckoned time stored */
/* A cut entry: version 1, first and last seq removed, the reckoned time,
 * period and proved time of the last removed checkpoint, the wall clock. */
#define LOG_CUT_LEN (1 + 6 * 8)

/* Rollups (auditlog_rollup.c): note counts a just-appended record adds to
 * the batch's rollup rows; flush puts the updated rows into the batch
 * (committed value + what the batch adds); reset forgets the batch's counts
 * after the batch was written or failed; free releases the table. */
int lex_log_rollup_note(lex_log_t *log, const lex_log_record_t *rec);
int lex_log_rollup_flush(lex_log_t *log);
void lex_log_rollup_reset(lex_log_t *log);
void lex_log_rollup_free(lex_log_t *log);

#endif
