/* auditlog_witness.c: the log's side of witnessing. The switch hands its
 * newest signed checkpoint to witnesses, which keep them outside the data
 * directory (schemas/witness.c); lexctl verify --witness compares every
 * kept checkpoint with the log, which catches a log truncated, rolled back
 * or rewritten even by someone holding the data directory and the signing
 * key: each witnessed record must be there with the witnessed hash, or
 * inside a range a signed gap record gave up (docs/LOG.md "Witnesses"). */
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "auditlog_internal.h"
#include "lex_auditlog_repair.h"
#include "lex_error.h"
#include "lex_witness.h"

int lex_log_read_public_key(const char *path, uint8_t pk[32], char *err, size_t errlen)
{
    return lex_log_read_hex_file(path, pk, crypto_sign_PUBLICKEYBYTES, err, errlen);
}

int lex_log_public_key(lex_log_t *log, uint8_t pk[32])
{
    if (!log->can_sign)
        return LEX_ENOTFOUND;
    crypto_sign_ed25519_sk_to_pk(pk, log->sign_sk);
    return 0;
}

int lex_log_record_hashes(lex_log_t *log, const uint64_t *seqs, size_t n, int *found,
                          uint8_t (*hashes)[32])
{
    /* one iterator: a writer's unsorted memtable is sorted once for all */
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_DEFAULT]);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t key[8];
        lex_log_put_be64(key, seqs[i]);
        rocksdb_iter_seek(it, (const char *)key, 8);
        found[i] = 0;
        size_t klen, vlen;
        if (rocksdb_iter_valid(it)) {
            const char *k = rocksdb_iter_key(it, &klen);
            if (klen == 8 && lex_log_get_be64((const uint8_t *)k) == seqs[i]) {
                const char *v = rocksdb_iter_value(it, &vlen);
                crypto_generichash(hashes[i], 32, (const unsigned char *)v, vlen, NULL, 0);
                found[i] = 1;
            }
        } else {
            char *rerr = NULL;
            rocksdb_iter_get_error(it, &rerr);
            if (rerr) {
                rc = lex_log_rocks_fail(rerr, NULL, 0, "reading records");
                break;
            }
        }
    }
    rocksdb_iter_destroy(it);
    return rc;
}

int lex_log_newest_checkpoint(lex_log_t *log, uint8_t cp[LEX_LOG_CHECKPOINT_BYTES])
{
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_CHECKPOINTS]);
    rocksdb_iter_seek_to_last(it);
    int rc = LEX_ENOTFOUND;
    if (rocksdb_iter_valid(it)) {
        size_t len;
        const char *v = rocksdb_iter_value(it, &len);
        if (len == LEX_LOG_CHECKPOINT_BYTES) {
            memcpy(cp, v, len);
            rc = 0;
        }
    }
    rocksdb_iter_destroy(it);
    return rc;
}

/* Reads record seq's hash; *found = 0 when absent, and then *gap is set
 * when the next record is a signed gap record whose range holds seq. */
static int witnessed_record(lex_log_t *log, uint64_t seq, int *found, uint8_t hash[32], int *gap)
{
    uint8_t key[8];
    lex_log_put_be64(key, seq);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_DEFAULT]);
    rocksdb_iter_seek(it, (const char *)key, 8);
    *found = *gap = 0;
    int rc = 0;
    if (rocksdb_iter_valid(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        if (klen == 8 && lex_log_get_be64((const uint8_t *)k) == seq) {
            *found = 1;
            crypto_generichash(hash, 32, (const unsigned char *)v, vlen, NULL, 0);
        } else {
            msgpack_unpacked up;
            lex_log_record_t rec;
            uint64_t from, to;
            if (lex_log_decode(v, vlen, &up, &rec) == 0) {
                *gap = lex_log_gap_decode(&rec, &from, &to, NULL, 0) == 0 && from <= seq &&
                       seq <= to;
                msgpack_unpacked_destroy(&up);
            }
        }
    } else {
        char *rerr = NULL;
        rocksdb_iter_get_error(it, &rerr);
        if (rerr)
            rc = lex_log_rocks_fail(rerr, NULL, 0, "reading a witnessed record");
    }
    rocksdb_iter_destroy(it);
    return rc;
}

typedef struct {
    lex_log_t *log;
    uint64_t head, base;
    lex_log_witness_report_t *r;
    int rc;
} check_t;

/* Notes a failed witnessed checkpoint; the first one names the fault. */
static void first_fault(lex_log_witness_report_t *r, uint64_t seq, int *flag, const char *what)
{
    if (!r->truncated && !r->rewritten) {
        snprintf(r->what, sizeof r->what, "%s", what);
        r->bad_seq = seq;
    }
    *flag = 1;
}

static int check_one(const lex_checkpoint_t *cp, void *arg)
{
    check_t *c = arg;
    lex_log_witness_report_t *r = c->r;
    char what[256];
    r->witnessed++;
    if (cp->seq > r->newest)
        r->newest = cp->seq;
    if (cp->seq > c->head) {
        snprintf(what, sizeof what, "a witness holds a signed checkpoint of record %llu, but the "
                 "log ends at record %llu: it was truncated or rolled back",
                 (unsigned long long)cp->seq, (unsigned long long)c->head);
        first_fault(r, cp->seq, &r->truncated, what);
        return 0;
    }
    if (cp->seq <= c->base) {
        r->retired++;
        return 0;
    }
    int found, gap;
    uint8_t have[32];
    if ((c->rc = witnessed_record(c->log, cp->seq, &found, have, &gap)) != 0)
        return 1;
    if (found && memcmp(have, cp->hash, 32) == 0) {
        r->matched++;
    } else if (!found && gap) {
        r->in_gaps++;
    } else {
        snprintf(what, sizeof what, found ? "record %llu is not the one a witness saw signed: "
                 "the log was rewritten from there on" : "record %llu, which a witness saw "
                 "signed, is missing", (unsigned long long)cp->seq);
        first_fault(r, cp->seq, &r->rewritten, what);
    }
    return 0;
}

int lex_log_witness_check(lex_log_t *log, const char *dir, const uint8_t pk[32],
                          lex_log_witness_report_t *r)
{
    memset(r, 0, sizeof *r);
    check_t c = {.log = log, .head = lex_log_last_seq(log), .base = lex_log_load_base(log), .r = r};
    unsigned long bad_line = 0;
    int rc = lex_witness_each(dir, pk, check_one, &c, &bad_line);
    if (rc == LEX_EPARSE) {
        snprintf(r->what, sizeof r->what, "%.200s/%s line %lu is not a checkpoint signed with "
                 "this log's key", dir, LEX_WITNESS_FILE, bad_line);
        return rc;
    }
    if (rc == LEX_ENOTFOUND) {
        snprintf(r->what, sizeof r->what, "%.200s holds no witnessed checkpoints", dir);
        return rc;
    }
    if (rc != 0 || (rc = c.rc) != 0) {
        snprintf(r->what, sizeof r->what, "reading the witnessed checkpoints: %s", lex_strerror(rc));
        return rc;
    }
    r->conflicts = lex_witness_conflicts(dir);
    if (r->conflicts && !r->truncated && !r->rewritten)
        snprintf(r->what, sizeof r->what, "the witness saw the switch go back %llu time(s) "
                 "(%.200s/%s): the log was rolled back or rewritten while it watched",
                 (unsigned long long)r->conflicts, dir, LEX_WITNESS_CONFLICTS);
    return r->truncated || r->rewritten || r->conflicts ? LEX_EPARSE : 0;
}
