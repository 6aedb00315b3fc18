/* auditlog_cuts.c: the verifier's check of retention. Every cut leaves an
 * entry (meta "cut" + last seq) with the reckoned time and the period it
 * went by; this checks that what each cut removed was older than its
 * period by the log's own proved times, that the cut's time is one the log
 * reached, and that the base is explained by a cut. Only reads.
 * Method: docs/LOG.md "Retention" and "Time". */
#include <stdio.h>
#include <string.h>
#include "auditlog_internal.h"
#include "lex_error.h"

#define DAY_US (86400ull * 1000000ull)

static int young(lex_log_verify_t *res, uint64_t seq, const char *what)
{
    snprintf(res->what, sizeof res->what, "%s", what);
    res->fault = LEX_LOG_YOUNG_CUT;
    res->bad_seq = seq;
    return LEX_EPARSE;
}

/* Whether the checkpoint at seq has a reckoned time: written by a switch
 * that keeps cut entries (a base at an older checkpoint was set before
 * them). */
static int has_reckoning(lex_log_t *log, uint64_t seq)
{
    uint64_t t;
    return lex_log_reckoned_at(log, seq, &t);
}

int lex_log_verify_cuts(lex_log_t *log, uint64_t min_period_us, lex_log_verify_t *res)
{
    uint64_t base = lex_log_load_base(log), mark = lex_log_clock_mark(log);
    char what[256];
    res->cuts = res->cut_reckoned_us = res->cut_period_us = res->cut_proved_us = 0;
    int explained = base == 0, rc = 0;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_META]);
    for (rocksdb_iter_seek(it, LOG_CUT_PREFIX, 3); rocksdb_iter_valid(it) && rc == 0;
         rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        if (klen < 3 || memcmp(k, LOG_CUT_PREFIX, 3) != 0)
            break;
        uint64_t kseq = klen == 11 ? lex_log_get_be64((const uint8_t *)k + 3) : 0;
        if (klen != 11 || vlen != LOG_CUT_LEN || v[0] != 1 ||
            lex_log_get_be64(v + 9) != kseq) {
            rc = young(res, kseq, "a retention cut entry is damaged");
            break;
        }
        uint64_t first = lex_log_get_be64(v + 1), reckoned = lex_log_get_be64(v + 17);
        uint64_t period = lex_log_get_be64(v + 25);
        /* judged by the proved time the log holds now, not the one the
         * entry states */
        uint64_t proved = lex_log_proved_time(log, kseq);
        res->cuts++;
        res->cut_reckoned_us = reckoned;
        res->cut_period_us = period;
        res->cut_proved_us = proved;
        if (kseq == base)
            explained = 1;
        if (proved == 0) {
            snprintf(what, sizeof what,
                     "the retention cut of records %llu to %llu ends where no checkpoint is",
                     (unsigned long long)first, (unsigned long long)kseq);
            rc = young(res, kseq, what);
        } else if (reckoned < period || proved >= reckoned - period) {
            snprintf(what, sizeof what,
                     "the retention cut of records %llu to %llu removed records younger than its "
                     "period: record %llu was proved at %.1f days before the cut, the period is "
                     "%.1f days",
                     (unsigned long long)first, (unsigned long long)kseq,
                     (unsigned long long)kseq,
                     reckoned > proved ? (double)(reckoned - proved) / DAY_US
                                       : -(double)(proved - reckoned) / DAY_US,
                     (double)period / DAY_US);
            rc = young(res, kseq, what);
        } else if (min_period_us && period < min_period_us) {
            snprintf(what, sizeof what,
                     "the retention cut of records %llu to %llu went by a period of %.1f days, "
                     "shorter than %.1f",
                     (unsigned long long)first, (unsigned long long)kseq,
                     (double)period / DAY_US, (double)min_period_us / DAY_US);
            rc = young(res, kseq, what);
        } else if (mark && reckoned > mark) {
            snprintf(what, sizeof what,
                     "the retention cut of records %llu to %llu states a time the log never "
                     "reached (%.1f days past its clock mark)",
                     (unsigned long long)first, (unsigned long long)kseq,
                     (double)(reckoned - mark) / DAY_US);
            rc = young(res, kseq, what);
        }
    }
    rocksdb_iter_destroy(it);
    if (rc == 0 && !explained && has_reckoning(log, base)) {
        snprintf(what, sizeof what,
                 "records up to %llu were removed without a record of the retention cut",
                 (unsigned long long)base);
        rc = young(res, base, what);
    }
    return rc;
}
