/* auditlog_prune.c: retention. Records go by sequence range only, from the
 * base up to a signed checkpoint whose proved (reckoned) time is older than
 * the cutoff, so a wall clock that jumps cannot make young records look
 * old. Each slice is one write: a range delete of the record keys, the new
 * base and a cut entry saying what went and why; the index entries of the
 * removed records are dropped later by compaction (auditlog_clock.c's
 * filter) and skipped by readers. Rollups and checkpoints stay.
 * Layout and rules: docs/LOG.md "Retention". */
#include <string.h>
#include "auditlog_internal.h"
#include "lex_envelope.h"
#include "lex_error.h"

static const char base_key[] = "base";

/* The checkpoint found by seeking from seq `at`: the newest at or before
 * it (before = 1), or the first at or after it; its seq, or 0. */
static uint64_t checkpoint_seek(lex_log_t *log, uint64_t at, int before)
{
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_CHECKPOINTS]);
    uint8_t key[8];
    lex_log_put_be64(key, at);
    if (before)
        rocksdb_iter_seek_for_prev(it, (const char *)key, 8);
    else
        rocksdb_iter_seek(it, (const char *)key, 8);
    uint64_t seq = 0;
    if (rocksdb_iter_valid(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen == 8)
            seq = lex_log_get_be64((const uint8_t *)k);
    }
    rocksdb_iter_destroy(it);
    return seq;
}

/* The newest checkpoint with from < seq <= limit, or 0. */
static uint64_t checkpoint_at_or_before(lex_log_t *log, uint64_t from, uint64_t limit)
{
    uint64_t seq = checkpoint_seek(log, limit, 1);
    return seq > from ? seq : 0;
}

/* The first checkpoint with seq > from, or 0. */
static uint64_t checkpoint_after(lex_log_t *log, uint64_t from)
{
    return checkpoint_seek(log, from + 1, 0);
}

/* The first reckoned-time entry with seq >= from: its seq (0 if none) and
 * time. */
static uint64_t rk_at_or_after(lex_log_t *log, uint64_t from, uint64_t *t)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_META]);
    uint8_t key[2 + 8];
    memcpy(key, LOG_RK_PREFIX, 2);
    lex_log_put_be64(key + 2, from);
    rocksdb_iter_seek(it, (const char *)key, sizeof key);
    uint64_t seq = 0;
    if (rocksdb_iter_valid(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        if (klen == sizeof key && memcmp(k, LOG_RK_PREFIX, 2) == 0 && vlen == 8) {
            seq = lex_log_get_be64((const uint8_t *)k + 2);
            *t = lex_log_get_be64((const uint8_t *)v);
        }
    }
    rocksdb_iter_destroy(it);
    return seq;
}

int lex_log_prune_due(lex_log_t *log, uint64_t cutoff_us, uint64_t *upto, uint64_t *records,
                      uint64_t *stored)
{
    uint64_t base = lex_log_load_base(log), last = log->reader ? 0 : log->committed_seq;
    if (log->reader) {
        uint8_t h[32];
        if (lex_log_load_head(log, &last, h, NULL, 0) != 0)
            return LEX_EPARSE;
    }
    *upto = 0;
    *records = 0;
    *stored = last > base ? last - base : 0;
    uint64_t t0 = 0, first_rk = rk_at_or_after(log, base + 1, &t0);
    uint64_t found = 0, prev_t = 0;
    /* checkpoints written before reckoned times were stored: their signing
     * time, walked in order, stopping at the first young one */
    uint64_t c = base;
    while ((c = checkpoint_after(log, c)) != 0 && c <= last && (!first_rk || c < first_rk)) {
        uint64_t t = lex_log_proved_time(log, c);
        if (t < prev_t)
            t = prev_t;
        if (t >= cutoff_us)
            goto done;
        found = c;
        prev_t = t;
    }
    /* reckoned times rise with seq: find the newest one older than the
     * cutoff by halving */
    if (first_rk && first_rk <= last && t0 < cutoff_us) {
        uint64_t lo = first_rk, hi = last + 1;
        for (;;) {
            uint64_t mid = lo + (hi - lo) / 2, t = 0;
            if (mid == lo)
                break;
            uint64_t s = rk_at_or_after(log, mid, &t);
            if (s == 0 || s >= hi || t >= cutoff_us)
                hi = mid;
            else
                lo = s;
        }
        found = lo;
    }
done:
    if (found && lex_log_proved_time(log, found) == 0)
        found = checkpoint_at_or_before(log, base, found); /* an entry without its checkpoint */
    *upto = found;
    *records = found > base ? found - base : 0;
    return 0;
}

int lex_log_prune_slice(lex_log_t *log, uint64_t upto, uint64_t reckoned_us, uint64_t period_us,
                        uint64_t max_records, uint64_t *removed)
{
    *removed = 0;
    if (log->reader)
        return LEX_EINVAL;
    if (log->failed)
        return LEX_EIO;
    uint64_t base = lex_log_load_base(log);
    if (upto > log->committed_seq)
        upto = log->committed_seq;
    if (upto <= base)
        return 0;
    uint64_t limit = max_records && upto > base + max_records ? base + max_records : upto;
    uint64_t last = checkpoint_at_or_before(log, base, limit);
    if (last == 0)
        last = checkpoint_after(log, base);
    if (last == 0 || last > upto)
        return 0; /* nothing old enough ends on a checkpoint */
    if (reckoned_us < period_us)
        return LEX_EINVAL;
    uint64_t proved = lex_log_proved_time(log, last);
    if ((proved == 0 || proved >= reckoned_us - period_us) && last < upto) {
        /* a checkpoint of an older switch signed by a clock that was ahead:
         * the slice goes to upto, which prune_due found old enough */
        last = upto;
        proved = lex_log_proved_time(log, last);
    }
    if (proved == 0 || proved >= reckoned_us - period_us)
        return LEX_EINVAL; /* never a record younger than the period */

    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    uint8_t from[8], to[8], value[8];
    lex_log_put_be64(from, base + 1);
    lex_log_put_be64(to, last + 1);
    rocksdb_writebatch_delete_range_cf(b, log->cf[CF_DEFAULT], (const char *)from, 8,
                                       (const char *)to, 8);
    lex_log_put_be64(value, last);
    rocksdb_writebatch_put_cf(b, log->cf[CF_META], base_key, sizeof base_key - 1,
                              (const char *)value, 8);
    uint8_t ckey[3 + 8], cut[LOG_CUT_LEN];
    memcpy(ckey, LOG_CUT_PREFIX, 3);
    lex_log_put_be64(ckey + 3, last);
    cut[0] = 1;
    lex_log_put_be64(cut + 1, base + 1);
    lex_log_put_be64(cut + 9, last);
    lex_log_put_be64(cut + 17, reckoned_us);
    lex_log_put_be64(cut + 25, period_us);
    lex_log_put_be64(cut + 33, proved);
    lex_log_put_be64(cut + 41, lex_now_us());
    rocksdb_writebatch_put_cf(b, log->cf[CF_META], (const char *)ckey, sizeof ckey,
                              (const char *)cut, sizeof cut);
    if (reckoned_us > log->clock_mark_us) { /* the cut's time is one the log reached */
        lex_log_put_be64(value, reckoned_us);
        rocksdb_writebatch_put_cf(b, log->cf[CF_META], LOG_CLOCK_KEY, sizeof LOG_CLOCK_KEY - 1,
                                  (const char *)value, 8);
    }
    char *rerr = NULL;
    rocksdb_write(log->db, log->wopts, b, &rerr);
    rocksdb_writebatch_destroy(b);
    if (rerr) {
        log->failed = 1; /* never write again after a failed write (auditlog_options.c) */
        return lex_log_rocks_fail(rerr, NULL, 0, "removing old records");
    }
    if (reckoned_us > log->clock_mark_us)
        log->clock_mark_us = reckoned_us;
    lex_log_note_base(log, last);
    *removed = last - base;
    return last < upto ? 1 : 0;
}

int lex_log_prune(lex_log_t *log, uint64_t cutoff_us, uint64_t max_records, uint64_t *removed)
{
    *removed = 0;
    if (log->reader)
        return LEX_EINVAL;
    if (log->failed)
        return LEX_EIO; /* never write again after a failed write (auditlog_options.c) */
    uint64_t upto, records, stored, now = lex_log_clock_now(log);
    int rc = lex_log_prune_due(log, cutoff_us, &upto, &records, &stored);
    if (rc != 0 || upto == 0)
        return rc;
    if (now <= cutoff_us)
        return LEX_EINVAL;
    return lex_log_prune_slice(log, upto, now, now - cutoff_us, max_records, removed);
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
