/* auditlog_repair.c: lexctl repair. A log the switch refuses to open
 * because its write-ahead log is damaged (or because its head fell behind
 * its newest signed checkpoint) is opened once in salvage mode, which keeps
 * every record up to the damage; then one signed gap record says which
 * numbers were lost and why, numbered past the highest one that was ever
 * used (from the damaged WAL's own bytes, the head, the newest checkpoint,
 * the witnesses, or the operator). Nothing is dropped without that record. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "auditlog_integrity.h"
#include "auditlog_internal.h"
#include "lex_auditlog_repair.h"
#include "lex_error.h"
#include "lex_witness.h"

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* The last record kept and the hash the chain goes on from. */
static int last_kept(lex_log_t *log, uint64_t *seq, uint8_t hash[32], char *err, size_t errlen)
{
    uint64_t base = lex_log_load_base(log);
    *seq = base;
    memset(hash, 0, 32);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_DEFAULT]);
    rocksdb_iter_seek_to_last(it);
    int rc = 0;
    if (rocksdb_iter_valid(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        if (klen == 8 && lex_log_get_be64((const uint8_t *)k) > base) {
            *seq = lex_log_get_be64((const uint8_t *)k);
            crypto_generichash(hash, 32, (const unsigned char *)v, vlen, NULL, 0);
        }
    } else {
        char *rerr = NULL;
        rocksdb_iter_get_error(it, &rerr);
        if (rerr)
            rc = lex_log_rocks_fail(rerr, err, errlen, "reading the last record");
    }
    rocksdb_iter_destroy(it);
    if (rc == 0 && *seq == base && base) { /* every record went to retention: the base checkpoint */
        uint8_t key[8];
        lex_log_put_be64(key, base);
        char *rerr = NULL;
        size_t len = 0;
        char *v = rocksdb_get_cf(log->db, log->ropts, log->cf[CF_CHECKPOINTS], (const char *)key, 8,
                                 &len, &rerr);
        uint64_t s, t;
        if (rerr)
            rc = lex_log_rocks_fail(rerr, err, errlen, "reading the base checkpoint");
        else if (!v || lex_log_checkpoint_decode(v, len, &s, hash, &t) != 0) {
            snprintf(err, errlen, "the checkpoint at the retention base (record %llu) is missing",
                     (unsigned long long)base);
            rc = LEX_EPARSE;
        }
        rocksdb_free(v);
    }
    return rc;
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
    char buf[65536];
    ssize_t n = 0;
    int ok = in >= 0 && out >= 0;
    while (ok && (n = read(in, buf, sizeof buf)) > 0)
        ok = write(out, buf, (size_t)n) == n;
    ok = ok && n == 0 && fsync(out) == 0;
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0)
        ok = 0;
    return ok ? 0 : LEX_EIO;
}

/* Keeps a copy of every damaged write-ahead log in dir/damaged-wal-<time>
 * (RocksDB drops them once the salvage is written): the bytes after the
 * damage may hold records a specialist can still read. */
static int keep_damaged_wals(const char *dir, char *kept, size_t n, char *err, size_t errlen)
{
    snprintf(kept, n, "%s/damaged-wal-%lld", dir, (long long)time(NULL));
    if (mkdir(kept, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", kept, strerror(errno));
        return LEX_EIO;
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".log") != 0)
            continue;
        char from[4096], to[4096], why[128];
        uint64_t at;
        snprintf(from, sizeof from, "%s/%s", dir, e->d_name);
        if (lex_log_file_check(from, &at, why, sizeof why) != 1)
            continue;
        snprintf(to, sizeof to, "%s/%s", kept, e->d_name);
        if ((rc = copy_file(from, to)) != 0)
            snprintf(err, errlen, "cannot keep a copy of %s in %s", from, kept);
    }
    if (d)
        closedir(d);
    return rc;
}

int lex_log_repair(const char *dir, const lex_log_repair_opts_t *o, lex_log_repair_t *res,
                   char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    lex_log_t *log = NULL;
    char why[1024] = "";
    lex_checkpoint_t newest;
    uint64_t witnessed =
        o->witness_dir && lex_witness_newest(o->witness_dir, &newest) == 0 ? newest.seq : 0;
    int rc = lex_log_open(dir, LEX_DURABILITY_SYNC, &log, why, sizeof why), rc_strict = rc;
    if (rc == 0) {
        uint64_t last = lex_log_last_seq(log);
        lex_log_close(&log);
        if (max_u64(witnessed, o->lost_to) <= last) {
            snprintf(res->found, sizeof res->found, "nothing to repair: the log opens and ends at "
                     "record %llu", (unsigned long long)last);
            res->kept_to = last;
            return 0;
        }
        snprintf(why, sizeof why, "records up to %llu were used (%s), but the log ends at %llu",
                 (unsigned long long)max_u64(witnessed, o->lost_to),
                 witnessed > o->lost_to ? "a witness holds a checkpoint of it" : "as given",
                 (unsigned long long)last);
    }
    /* what the write-ahead logs show, before the salvage replays (and drops) them */
    char wal[512];
    int wal_damaged = lex_log_wal_damage(dir, wal, sizeof wal);
    uint64_t wal_max = lex_log_wal_max_seq(dir);
    char kept_wals[4096] = "";
    if (wal_damaged && (rc = keep_damaged_wals(dir, kept_wals, sizeof kept_wals, err, errlen)) != 0)
        return rc;
    if ((rc = lex_log_open_salvage(dir, &log, err, errlen)) != 0)
        return rc;
    uint8_t kept_hash[32];
    uint64_t kept;
    if ((rc = last_kept(log, &kept, kept_hash, err, errlen)) != 0)
        goto done;
    if (lex_log_last_seq(log) < kept) {
        snprintf(err, errlen, "records after the head (up to %llu) are not a loss repair can "
                 "record: run `lexctl verify`", (unsigned long long)kept);
        rc = LEX_EPARSE;
        goto done;
    }
    if (!log->can_sign) {
        snprintf(err, errlen, "the signing key cannot be loaded: a gap record must be signed");
        rc = LEX_ENOTFOUND;
        goto done;
    }
    uint64_t used = max_u64(max_u64(lex_log_last_seq(log), log->cp_seq),
                            max_u64(max_u64(wal_max, witnessed), o->lost_to));
    res->kept_to = kept;
    res->lost_from = kept + 1;
    res->lost_to = max_u64(used, kept);
    const char *what = wal_damaged ? wal
                       : rc_strict == LEX_EPARSE
                           ? "the log ended before the records its newest signed checkpoint names"
                           : why;
    int n = snprintf(res->found, sizeof res->found, "%s%s",
                     wal_damaged ? "write-ahead log damaged: " : "", what);
    if (n > 0 && (size_t)n < sizeof res->found) {
        if (res->lost_to >= res->lost_from)
            n += snprintf(res->found + n, sizeof res->found - (size_t)n,
                          "; records %llu to %llu were lost (kept up to %llu)",
                          (unsigned long long)res->lost_from, (unsigned long long)res->lost_to,
                          (unsigned long long)kept);
        else
            n += snprintf(res->found + n, sizeof res->found - (size_t)n,
                          "; no record number after %llu survives in the damaged part, so how "
                          "many records were lost is not known", (unsigned long long)kept);
    }
    if (kept_wals[0] && n > 0 && (size_t)n < sizeof res->found)
        snprintf(res->found + n, sizeof res->found - (size_t)n,
                 "; the damaged WAL is kept in %.300s", kept_wals);
    char reason[1024];
    snprintf(reason, sizeof reason, "%s%s%s", o->reason ? o->reason : "",
             o->reason ? ": " : "", res->found);
    if ((rc = lex_log_append_gap(log, kept, kept_hash, res->lost_from, res->lost_to, reason)) != 0) {
        snprintf(err, errlen, "writing the gap record failed: %s", lex_strerror(rc));
        goto done;
    }
    res->gap_seq = res->lost_to + 1;
done:
    lex_log_close(&log);
    return rc;
}
