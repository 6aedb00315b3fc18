/* auditlog_verify.c: the verifier behind `lexctl verify`. It walks the
 * records in seq order next to the signed checkpoints and names the first
 * record that was changed, removed or moved, using every trusted anchor it
 * has: the next record's link, a checkpoint at that seq, the head entry.
 * It only reads. Method: docs/LOG.md "Verifying". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "auditlog_internal.h"
#include "auditlog_verify_loss.h"
#include "lex_error.h"

typedef struct {
    lex_log_t *log;
    lex_log_verify_t *res;
    const uint8_t *pk;             /* NULL: signatures not checked */
    rocksdb_iterator_t *cp;        /* checkpoints, walked alongside */
    int unlinked;                  /* the next record follows damage: its link is not checked */
} walk_t;

static int fault(lex_log_verify_t *res, lex_log_fault_t f, uint64_t seq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->what, sizeof res->what, fmt, ap);
    va_end(ap);
    res->fault = f;
    res->bad_seq = seq;
    return LEX_EPARSE;
}

/* Checks the signature of the checkpoint under the iterator. */
static int check_checkpoint(walk_t *w, uint64_t *seq, uint8_t hash[32])
{
    size_t klen, vlen;
    const char *k = rocksdb_iter_key(w->cp, &klen);
    const char *v = rocksdb_iter_value(w->cp, &vlen);
    uint64_t t;
    uint64_t kseq = klen == 8 ? lex_log_get_be64((const uint8_t *)k) : 0;
    if (lex_log_checkpoint_decode(v, vlen, seq, hash, &t) != 0 || *seq != kseq)
        return fault(w->res, LEX_LOG_BAD_CHECKPOINT, kseq,
                     "the checkpoint at record %llu is damaged", (unsigned long long)kseq);
    if (w->pk && lex_log_checkpoint_check(v, vlen, w->pk) != 0)
        return fault(w->res, LEX_LOG_BAD_CHECKPOINT, kseq,
                     "the checkpoint at record %llu has a bad signature (changed, or signed "
                     "with another key)", (unsigned long long)kseq);
    w->res->checkpoints++;
    w->res->last_checkpoint = kseq;
    return 0;
}

/* Advances the checkpoint iterator past every checkpoint below seq
 * (checking them) and reports whether one sits at seq, with its hash. */
static int checkpoint_at(walk_t *w, uint64_t seq, int *found, uint8_t hash[32])
{
    *found = 0;
    while (rocksdb_iter_valid(w->cp)) {
        size_t klen;
        const char *k = rocksdb_iter_key(w->cp, &klen);
        if (klen == 8 && lex_log_get_be64((const uint8_t *)k) > seq)
            return 0;
        uint64_t cseq;
        int rc = check_checkpoint(w, &cseq, hash);
        if (rc != 0)
            return rc;
        rocksdb_iter_next(w->cp);
        if (cseq == seq) {
            *found = 1;
            return 0;
        }
    }
    return 0;
}

/* The hash the first remaining record links to: zeros for a whole log, the
 * checkpoint at the retention base otherwise. */
static int base_link(walk_t *w, uint64_t base, uint8_t prev[32])
{
    memset(prev, 0, 32);
    if (base == 0)
        return 0;
    uint8_t key[8];
    lex_log_put_be64(key, base);
    rocksdb_iter_seek(w->cp, (const char *)key, 8);
    w->res->base = base;
    if (rocksdb_iter_valid(w->cp)) { /* when the retention base was signed, for the report */
        size_t vlen;
        const char *v = rocksdb_iter_value(w->cp, &vlen);
        uint64_t cseq, t;
        uint8_t h[32];
        if (lex_log_checkpoint_decode(v, vlen, &cseq, h, &t) == 0 && cseq == base)
            w->res->base_time_us = t;
    }
    int found = 0;
    int rc = rocksdb_iter_valid(w->cp) ? checkpoint_at(w, base, &found, prev) : 0;
    if (rc == 0 && !found)
        rc = fault(w->res, LEX_LOG_REMOVED, base + 1,
                   "records up to %llu were removed but the checkpoint they end on is missing",
                   (unsigned long long)base);
    rocksdb_iter_seek_to_first(w->cp);
    return rc;
}

/* A link into record `seq` is broken: either the record before it was
 * changed, or this record's own link was. anchored says whether this
 * record's hash is confirmed by something after it. */
static int blame(walk_t *w, uint64_t seq, int anchored)
{
    uint64_t bad = anchored && seq > w->res->first_seq ? seq - 1 : seq;
    return fault(w->res, LEX_LOG_CHANGED, bad,
                 "record %llu was changed (its hash no longer matches the chain)",
                 (unsigned long long)bad);
}

static int walk(walk_t *w)
{
    lex_log_verify_t *res = w->res;
    uint64_t base = lex_log_load_base(w->log);
    uint8_t prev[32], cp_hash[32];
    int rc = base_link(w, base, prev);
    if (rc != 0)
        return rc;
    uint64_t expect = base + 1;
    res->first_seq = expect;
    uint64_t pending = 0; /* a record whose incoming link broke, not yet blamed */
    int prev_anchored = 0;
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(w->log->db, w->log->ropts, w->log->cf[CF_DEFAULT]);
    for (rocksdb_iter_seek_to_first(it);
         rocksdb_iter_valid(it) ||
         (w->unlinked = lex_log_verify_past_damage(w->log, &it, w->cp, &expect, prev, res));
         rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        uint64_t seq = klen == 8 ? lex_log_get_be64((const uint8_t *)k) : 0;
        if (seq != expect && !lex_log_verify_gap_jump(w->log, w->pk, v, vlen, seq, expect, prev)) {
            if (pending)
                rc = blame(w, pending, 0);
            else if (seq > expect)
                rc = fault(res, LEX_LOG_REMOVED, expect,
                           seq == expect + 1 ? "record %llu is missing"
                                             : "records %llu to %llu are missing",
                           (unsigned long long)expect, (unsigned long long)(seq - 1));
            else
                rc = fault(res, LEX_LOG_UNREADABLE, expect,
                           "a key that is not a record sits before record %llu",
                           (unsigned long long)expect);
            break;
        }
        msgpack_unpacked up;
        lex_log_record_t rec;
        if (lex_log_decode(v, vlen, &up, &rec) != 0) {
            rc = pending ? blame(w, pending, 0)
                         : fault(res, LEX_LOG_UNREADABLE, seq, "record %llu does not decode",
                                 (unsigned long long)seq);
            break;
        }
        lex_log_verify_note_gap(w->log, w->pk, &rec, res);
        int linked = w->unlinked || memcmp(rec.prev_hash, prev, 32) == 0;
        w->unlinked = 0;
        uint64_t inner_seq = rec.seq;
        memcpy(prev, rec.hash, 32);
        msgpack_unpacked_destroy(&up);
        if (pending) {
            rc = blame(w, pending, linked);
            break;
        }
        if (inner_seq != seq) {
            rc = fault(res, LEX_LOG_MISPLACED, seq,
                       "record %llu holds the contents of record %llu (records were reordered)",
                       (unsigned long long)seq, (unsigned long long)inner_seq);
            break;
        }
        int has_cp = 0;
        if ((rc = checkpoint_at(w, seq, &has_cp, cp_hash)) != 0)
            break;
        int cp_ok = has_cp && memcmp(cp_hash, prev, 32) == 0;
        if (has_cp && !cp_ok && linked) {
            rc = fault(res, LEX_LOG_CHANGED, seq,
                       "record %llu was changed (it no longer matches its signed checkpoint)",
                       (unsigned long long)seq);
            break;
        }
        if (!linked) {
            if (has_cp) { /* this record is judged by its own checkpoint */
                rc = blame(w, seq, cp_ok && !prev_anchored);
                break;
            }
            if (prev_anchored || seq == res->first_seq) { /* the record before is confirmed */
                rc = blame(w, seq, 0);
                break;
            }
            pending = seq; /* the next record (or the head) decides */
        }
        prev_anchored = has_cp;
        res->records++;
        res->last_seq = seq;
        expect = seq + 1;
    }
    rocksdb_iter_destroy(it);
    if (rc != 0)
        return rc;

    uint64_t head_seq;
    uint8_t head_hash[32];
    char err[128];
    if (lex_log_load_head(w->log, &head_seq, head_hash, err, sizeof err) != 0)
        return fault(res, LEX_LOG_CHANGED, expect - 1, "the head entry is damaged");
    uint64_t last = expect - 1;
    int cp_found; /* checkpoints up to the last record (all of them when retention left none) */
    if ((rc = checkpoint_at(w, last, &cp_found, cp_hash)) != 0)
        return rc;
    int head_ok = head_seq == last && memcmp(head_hash, prev, 32) == 0;
    if (pending)
        return blame(w, pending, head_ok);
    if (rocksdb_iter_valid(w->cp)) {
        uint64_t cseq;
        if ((rc = check_checkpoint(w, &cseq, cp_hash)) != 0)
            return rc;
        return fault(res, LEX_LOG_REMOVED, last + 1,
                     "records from %llu on are missing (a checkpoint vouches for record %llu)",
                     (unsigned long long)(last + 1), (unsigned long long)cseq);
    }
    if (head_seq > last)
        return fault(res, LEX_LOG_REMOVED, last + 1,
                     "records %llu to %llu are missing (the head says %llu)",
                     (unsigned long long)(last + 1), (unsigned long long)head_seq,
                     (unsigned long long)head_seq);
    if (head_seq < last)
        return fault(res, LEX_LOG_ADDED, head_seq + 1,
                     "records from %llu on were added behind the switch (the head says %llu)",
                     (unsigned long long)(head_seq + 1), (unsigned long long)head_seq);
    if (!head_ok && last > base)
        return fault(res, LEX_LOG_CHANGED, last,
                     "record %llu was changed (it no longer matches the head entry)",
                     (unsigned long long)last);
    return 0;
}

int lex_log_verify_full(lex_log_t *log, const char *pubkey_path, lex_log_verify_t *res)
{
    memset(res, 0, sizeof *res);
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    char path[4096], err[200];
    if (pubkey_path)
        snprintf(path, sizeof path, "%s", pubkey_path);
    else
        snprintf(path, sizeof path, "%s/%s", log->path, LOG_PUB_FILE);
    int rc = lex_log_read_hex_file(path, pk, sizeof pk, err, sizeof err);
    if (rc != 0 && (pubkey_path || rc != LEX_ENOTFOUND)) {
        snprintf(res->what, sizeof res->what, "public key: %s", err);
        return rc;
    }
    res->signed_ok = rc == 0;
    walk_t w = {.log = log, .res = res, .pk = rc == 0 ? pk : NULL};
    w.cp = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_CHECKPOINTS]);
    rocksdb_iter_seek_to_first(w.cp);
    rc = walk(&w);
    rocksdb_iter_destroy(w.cp);
    if (rc == 0)
        rc = lex_log_verify_cuts(log, 0, res); /* retention removed only old records */
    if (rc == 0)
        rc = lex_log_verify_loss_verdict(res); /* damage walked past, recorded gaps */
    return rc;
}

int lex_log_verify(lex_log_t *log, uint64_t *bad_seq)
{
    lex_log_verify_t res;
    int rc = lex_log_verify_full(log, NULL, &res);
    *bad_seq = res.bad_seq;
    return rc;
}
