/* auditlog_clock.c: the log's side of time. The writer is told a reckoned
 * time by its caller (lex_log_set_clock) and stores it with every signed
 * checkpoint ("rk" + seq in meta) and as a high-water mark ("clock"), so
 * retention can go by a time that never jumps rather than by the records'
 * wall-clock stamps. Also the compaction filter that drops index entries of
 * records retention removed. Layout: docs/LOG.md "Time". */
#include <string.h>
#include "auditlog_internal.h"
#include "lex_envelope.h"
#include "lex_error.h"

uint64_t lex_log_clock_now(const lex_log_t *log)
{
    return log->clock_us ? log->clock_us : lex_now_us();
}

uint64_t lex_log_since_checkpoint_us(const lex_log_t *log)
{
    if (log->cp_mono_us)
        return lex_mono_us() - log->cp_mono_us;
    uint64_t now = lex_now_us();
    return now >= log->cp_time_us ? now - log->cp_time_us : UINT64_MAX;
}

void lex_log_set_clock(lex_log_t *log, uint64_t reckoned_us)
{
    log->clock_us = reckoned_us;
}

uint64_t lex_log_clock_mark(lex_log_t *log)
{
    if (log->reader || !log->clock_mark_us)
        lex_log_clock_load(log);
    return log->clock_mark_us;
}

static void put_mark(lex_log_t *log, rocksdb_writebatch_t *b, uint64_t t)
{
    uint8_t v[8];
    lex_log_put_be64(v, t);
    rocksdb_writebatch_put_cf(b, log->cf[CF_META], LOG_CLOCK_KEY, sizeof LOG_CLOCK_KEY - 1,
                              (const char *)v, 8);
}

/* The time a checkpoint or a mark states: never below what was stored
 * before, so proved times rise with seq. */
static uint64_t rising_now(lex_log_t *log)
{
    uint64_t t = lex_log_clock_now(log);
    return t > log->clock_mark_us ? t : log->clock_mark_us;
}

void lex_log_clock_checkpoint(lex_log_t *log, uint64_t seq)
{
    uint64_t t = rising_now(log);
    uint8_t key[2 + 8], v[8];
    memcpy(key, LOG_RK_PREFIX, 2);
    lex_log_put_be64(key + 2, seq);
    lex_log_put_be64(v, t);
    rocksdb_writebatch_put_cf(log->batch, log->cf[CF_META], (const char *)key, sizeof key,
                              (const char *)v, 8);
    put_mark(log, log->batch, t);
    log->clock_mark_us = t; /* a failed batch leaves it high: it only errs later */
}

int lex_log_save_clock(lex_log_t *log)
{
    if (log->reader)
        return LEX_EINVAL;
    if (log->failed)
        return LEX_EIO; /* never write again after a failed write (auditlog_options.c) */
    uint64_t t = rising_now(log);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    put_mark(log, b, t);
    char *rerr = NULL;
    rocksdb_write(log->db, log->wopts, b, &rerr);
    rocksdb_writebatch_destroy(b);
    if (rerr) {
        log->failed = 1;
        return lex_log_rocks_fail(rerr, NULL, 0, "storing the clock mark");
    }
    log->clock_mark_us = t;
    return 0;
}

void lex_log_clock_load(lex_log_t *log)
{
    char *rerr = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(log->db, log->ropts, log->cf[CF_META], LOG_CLOCK_KEY,
                             sizeof LOG_CLOCK_KEY - 1, &len, &rerr);
    uint64_t t = v && len == 8 ? lex_log_get_be64((const uint8_t *)v) : 0;
    rocksdb_free(v);
    rocksdb_free(rerr);
    if (t > log->clock_mark_us)
        log->clock_mark_us = t;
}

int lex_log_reckoned_at(lex_log_t *log, uint64_t seq, uint64_t *t)
{
    uint8_t key[2 + 8];
    memcpy(key, LOG_RK_PREFIX, 2);
    lex_log_put_be64(key + 2, seq);
    char *rerr = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(log->db, log->ropts, log->cf[CF_META], (const char *)key,
                             sizeof key, &len, &rerr);
    int have = v && len == 8;
    *t = have ? lex_log_get_be64((const uint8_t *)v) : 0;
    rocksdb_free(v);
    rocksdb_free(rerr);
    return have;
}

uint64_t lex_log_proved_time(lex_log_t *log, uint64_t seq)
{
    uint64_t t;
    lex_log_reckoned_at(log, seq, &t);
    uint8_t key[8];
    char *rerr = NULL;
    size_t len = 0;
    lex_log_put_be64(key, seq);
    char *cp = rocksdb_get_cf(log->db, log->ropts, log->cf[CF_CHECKPOINTS], (const char *)key, 8,
                              &len, &rerr);
    rocksdb_free(rerr);
    uint64_t cseq = 0, signed_us = 0;
    uint8_t hash[32];
    int have = cp && lex_log_checkpoint_decode(cp, len, &cseq, hash, &signed_us) == 0 &&
               cseq == seq;
    rocksdb_free(cp);
    if (!have)
        return 0;
    return t ? t : signed_us;
}

/* Compaction: an index key ends with the seq of its record. */
static unsigned char index_filter(void *state, int level, const char *key, size_t klen,
                                  const char *value, size_t vlen, char **new_value,
                                  size_t *new_len, unsigned char *changed)
{
    (void)level, (void)value, (void)vlen, (void)new_value, (void)new_len, (void)changed;
    lex_log_t *log = state;
    if (klen < 8)
        return 0;
    uint64_t seq = lex_log_get_be64((const uint8_t *)key + klen - 8);
    return seq <= __atomic_load_n(&log->index_base, __ATOMIC_ACQUIRE);
}

static void index_filter_state_free(void *state)
{
    (void)state; /* the log owns itself */
}

static const char *index_filter_name(void *state)
{
    (void)state;
    return "lexswitch.retention.index";
}

void lex_log_index_filter_setup(lex_log_t *log)
{
    log->index_opts = rocksdb_options_create_copy(log->opts);
    if (log->reader)
        return;
    log->index_filter = rocksdb_compactionfilter_create(log, index_filter_state_free, index_filter,
                                                        index_filter_name);
    rocksdb_options_set_compaction_filter(log->index_opts, log->index_filter);
}

void lex_log_index_filter_free(lex_log_t *log)
{
    if (log->index_opts)
        rocksdb_options_destroy(log->index_opts);
    if (log->index_filter)
        rocksdb_compactionfilter_destroy(log->index_filter);
    log->index_opts = NULL;
    log->index_filter = NULL;
}

void lex_log_note_base(lex_log_t *log, uint64_t base)
{
    __atomic_store_n(&log->base_written, base, __ATOMIC_RELEASE);
    if (!log->deferred_sync) /* written with fsync, or a mode that promises no more */
        __atomic_store_n(&log->index_base, base, __ATOMIC_RELEASE);
}
