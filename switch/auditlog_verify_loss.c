/* auditlog_verify_loss.c: what the verifier does with loss it can name. A
 * table block that fails its checksum stops a RocksDB iterator; instead of
 * calling everything after it "removed", the walk finds the first readable
 * record past the block, reports the range in between as damaged and goes
 * on. A signed gap record (lexctl repair) lets the walk cross the numbers
 * it says were lost, and is reported as a loss, never as "intact". Called
 * from auditlog_verify.c's walk; only reads (docs/LOG.md "Damage"). */
#include <stdio.h>
#include <string.h>
#include "auditlog_internal.h"
#include "auditlog_verify_loss.h"
#include "lex_auditlog_repair.h"
#include "lex_error.h"

/* Seeks a fresh iterator to seq (one that stopped on damage may keep its
 * error): 1 when the seek read its blocks without error (*valid says
 * whether a record is there or after), 0 when it hit damage. */
static int probe_ok(lex_log_t *log, uint64_t seq, int *valid)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_DEFAULT]);
    uint8_t key[8];
    lex_log_put_be64(key, seq);
    rocksdb_iter_seek(it, (const char *)key, 8);
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    *valid = rocksdb_iter_valid(it);
    rocksdb_iter_destroy(it);
    if (e) {
        rocksdb_free(e);
        return 0;
    }
    return 1;
}

static void note_damage(lex_log_verify_t *res, uint64_t from, uint64_t to, const char *what)
{
    if (to < from)
        return;
    if (!res->damaged_ranges++) {
        res->damaged_from = from;
        res->damaged_to = to;
        snprintf(res->damage_what, sizeof res->damage_what, "%s", what);
    }
    res->damaged += to - from + 1;
}

/* The iterator stopped on damage at lo: finds the first record after it
 * that can be read (the first seek that reads past the damaged block:
 * gallop, then halve), leaves the iterator there and sets *landed; 0 when
 * nothing after lo can be read. */
static int seek_past_damage(lex_log_t *log, rocksdb_iterator_t **itp, uint64_t lo,
                            uint64_t *landed)
{
    uint64_t step = 1, hi = 0;
    int valid = 0;
    for (; step && step < (1ull << 40); step <<= 1)
        if (probe_ok(log, lo + step, &valid)) {
            hi = lo + step;
            break;
        }
    if (!hi)
        return 0;
    /* a seek past the last record reads no damaged block either: the
     * smallest one that reads cleanly is where the damage ends */
    uint64_t bad = step > 1 ? lo + step / 2 : lo;
    while (hi - bad > 1) {
        uint64_t mid = bad + (hi - bad) / 2;
        if (probe_ok(log, mid, &valid))
            hi = mid;
        else
            bad = mid;
    }
    /* and a fresh iterator goes on from there */
    rocksdb_iter_destroy(*itp);
    rocksdb_iterator_t *it = *itp =
        rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_DEFAULT]);
    uint8_t key[8];
    lex_log_put_be64(key, hi);
    rocksdb_iter_seek(it, (const char *)key, 8);
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    if (e) {
        rocksdb_free(e);
        return 0;
    }
    if (!rocksdb_iter_valid(it))
        return 0;
    size_t klen;
    const char *k = rocksdb_iter_key(it, &klen);
    *landed = klen == 8 ? lex_log_get_be64((const uint8_t *)k) : hi;
    return 1;
}

int lex_log_verify_past_damage(lex_log_t *log, rocksdb_iterator_t **itp, rocksdb_iterator_t *cp,
                               uint64_t *expect, uint8_t prev[32], lex_log_verify_t *res)
{
    char *e = NULL;
    rocksdb_iter_get_error(*itp, &e);
    if (!e)
        return 0;
    char what[128];
    snprintf(what, sizeof what, "%s", e);
    rocksdb_free(e);
    uint64_t lo = *expect, landed;
    if (seek_past_damage(log, itp, lo, &landed)) {
        note_damage(res, lo, landed - 1, what);
        *expect = landed;
        return 1;
    }
    /* nothing readable after the damage: it runs to the head, which then
     * stands for the last record, so the walk ends without calling the
     * damaged records removed */
    uint64_t head;
    uint8_t head_hash[32];
    char err[128];
    if (lex_log_load_head(log, &head, head_hash, err, sizeof err) != 0 || head < lo)
        head = lo;
    note_damage(res, lo, head, what);
    *expect = head + 1;
    memcpy(prev, head_hash, 32);
    while (rocksdb_iter_valid(cp)) {
        size_t klen;
        const char *k = rocksdb_iter_key(cp, &klen);
        if (klen == 8 && lex_log_get_be64((const uint8_t *)k) > head)
            break;
        rocksdb_iter_next(cp);
    }
    return 0;
}

/* The checkpoint at seq holds hash, with a good signature when pk is set. */
static int signed_at(lex_log_t *log, const uint8_t *pk, uint64_t seq, const uint8_t hash[32])
{
    uint8_t key[8], h[32];
    lex_log_put_be64(key, seq);
    char *rerr = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(log->db, log->ropts, log->cf[CF_CHECKPOINTS], (const char *)key, 8,
                             &len, &rerr);
    uint64_t s, t;
    int ok = !rerr && v && lex_log_checkpoint_decode(v, len, &s, h, &t) == 0 && s == seq &&
             memcmp(h, hash, 32) == 0 && (!pk || lex_log_checkpoint_check(v, len, pk) == 0);
    rocksdb_free(rerr);
    rocksdb_free(v);
    return ok;
}

int lex_log_verify_gap_jump(lex_log_t *log, const uint8_t *pk, const char *v, size_t vlen,
                            uint64_t seq, uint64_t expect, const uint8_t prev[32])
{
    if (seq <= expect)
        return 0;
    msgpack_unpacked up;
    lex_log_record_t rec;
    if (lex_log_decode(v, vlen, &up, &rec) != 0)
        return 0;
    uint64_t from, to;
    int ok = lex_log_gap_decode(&rec, &from, &to, NULL, 0) == 0 && from == expect &&
             to + 1 == seq && rec.seq == seq && memcmp(rec.prev_hash, prev, 32) == 0 &&
             signed_at(log, pk, seq, rec.hash);
    msgpack_unpacked_destroy(&up);
    return ok;
}

void lex_log_verify_note_gap(lex_log_t *log, const uint8_t *pk, const lex_log_record_t *rec,
                             lex_log_verify_t *res)
{
    uint64_t from, to;
    char reason[sizeof res->gap_reason];
    if (lex_log_gap_decode(rec, &from, &to, reason, sizeof reason) != 0 ||
        !signed_at(log, pk, rec->seq, rec->hash))
        return;
    if (!res->gaps++) {
        res->gap_seq = rec->seq;
        res->gap_from = from;
        res->gap_to = to;
        snprintf(res->gap_reason, sizeof res->gap_reason, "%s", reason);
    }
    res->gap_lost += to >= from ? to - from + 1 : 0;
}

int lex_log_verify_loss_verdict(lex_log_verify_t *res)
{
    if (res->damaged_ranges) {
        res->fault = LEX_LOG_DAMAGED;
        res->bad_seq = res->damaged_from;
        snprintf(res->what, sizeof res->what, "records %llu to %llu are in a table block that "
                 "fails its checksum (%u damaged range%s, %llu records; the walk went on past)",
                 (unsigned long long)res->damaged_from, (unsigned long long)res->damaged_to,
                 res->damaged_ranges, res->damaged_ranges > 1 ? "s" : "",
                 (unsigned long long)res->damaged);
        return LEX_EPARSE;
    }
    if (res->gaps) {
        res->fault = LEX_LOG_GAP;
        res->bad_seq = res->gap_from;
        if (res->gap_to >= res->gap_from)
            snprintf(res->what, sizeof res->what, "records %llu to %llu were lost; the signed gap "
                     "record %llu says so", (unsigned long long)res->gap_from,
                     (unsigned long long)res->gap_to, (unsigned long long)res->gap_seq);
        else
            snprintf(res->what, sizeof res->what, "records after %llu may have been lost (how many "
                     "is not known); the signed gap record %llu says so",
                     (unsigned long long)(res->gap_from - 1), (unsigned long long)res->gap_seq);
        return LEX_EPARSE;
    }
    return 0;
}

int lex_log_scrub_step(lex_log_t *log, uint64_t *cursor, size_t max, uint64_t *from,
                       uint64_t *to, char *what, size_t whatlen)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_DEFAULT]);
    uint8_t key[8];
    lex_log_put_be64(key, *cursor);
    rocksdb_iter_seek(it, (const char *)key, 8);
    int rc = 0;
    for (size_t n = 0;; n++) {
        if (!rocksdb_iter_valid(it)) {
            char *e = NULL;
            rocksdb_iter_get_error(it, &e);
            if (!e) {
                rc = 2; /* the end: every record read */
                break;
            }
            snprintf(what, whatlen, "%s", e);
            rocksdb_free(e);
            uint64_t landed;
            *from = *cursor;
            if (seek_past_damage(log, &it, *cursor, &landed)) {
                *to = landed - 1;
                *cursor = landed;
            } else {
                *to = lex_log_last_seq(log);
                *cursor = *to + 1;
            }
            rc = 1;
            break;
        }
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        rocksdb_iter_value(it, &vlen);
        if (klen == 8)
            *cursor = lex_log_get_be64((const uint8_t *)k) + 1;
        if (n >= max)
            break;
        rocksdb_iter_next(it);
    }
    rocksdb_iter_destroy(it);
    return rc;
}
