/* auditlog_integrity.c: damage in the data directory stops the open. RocksDB
 * left to itself replays a write-ahead log only up to its first damaged
 * record and re-creates column families a damaged MANIFEST forgot; either
 * loses acknowledged records without a word. Here the WAL is replayed in
 * absolute consistency, families are created only for a new log, the
 * MANIFEST is read record by record before the writer opens, and the head
 * is checked against the records and the newest signed checkpoint. It only
 * reads; lexctl repair (auditlog_repair.c) is the one way past. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>
#include <unistd.h>
#include "auditlog_integrity.h"
#include "auditlog_internal.h"
#include "lex_error.h"

/* RocksDB's WALRecoveryMode values (rocksdb/options.h) */
enum { WAL_TOLERATE_TAIL = 0, WAL_ABSOLUTE = 1, WAL_POINT_IN_TIME = 2 };

static int file_exists(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

void lex_log_integrity_options(rocksdb_options_t *opts, const char *dir, int reader,
                               lex_log_open_mode_t mode)
{
    rocksdb_options_set_paranoid_checks(opts, 1);
    rocksdb_options_set_wal_recovery_mode(opts, mode == LEX_LOG_OPEN_SALVAGE ? WAL_POINT_IN_TIME
                                                                              : WAL_ABSOLUTE);
    /* a family that is missing from an existing log was lost, not never made */
    rocksdb_options_set_create_missing_column_families(opts,
                                                       !reader && !file_exists(dir, "CURRENT"));
}

/* The MANIFEST that CURRENT names, into out ("" when CURRENT is missing). */
static int current_manifest(const char *dir, char *out, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/CURRENT", dir);
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : LEX_EIO;
    char name[256] = "";
    if (!fgets(name, sizeof name, f))
        name[0] = 0;
    fclose(f);
    name[strcspn(name, "\r\n")] = 0;
    if (strncmp(name, "MANIFEST-", 9) != 0 || strchr(name, '/'))
        return LEX_EPARSE;
    snprintf(out, n, "%s", name);
    return 0;
}

static int has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix);
    return n > m && strcmp(name + n - m, suffix) == 0;
}

int lex_log_integrity_precheck(const char *dir, char *err, size_t errlen)
{
    char manifest[256];
    int rc = current_manifest(dir, manifest, sizeof manifest);
    if (rc == LEX_EPARSE) {
        snprintf(err, errlen, "%s/CURRENT is damaged (it does not name a MANIFEST): refusing to "
                 "open the audit log; restore the data directory from a backup", dir);
        return LEX_EROCKSDB;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s/CURRENT cannot be read: %s", dir, strerror(errno));
        return LEX_EIO;
    }
    if (!manifest[0]) {
        /* no CURRENT: a new log, unless tables or logs say otherwise */
        DIR *d = opendir(dir);
        struct dirent *e;
        int old = 0;
        while (d && (e = readdir(d)))
            old |= has_suffix(e->d_name, ".sst") || strncmp(e->d_name, "MANIFEST-", 9) == 0;
        if (d)
            closedir(d);
        if (old) {
            snprintf(err, errlen, "%s holds audit-log tables but its CURRENT file is missing: "
                     "refusing to start a new log over them; restore CURRENT (it names the "
                     "newest MANIFEST) or the data directory from a backup", dir);
            return LEX_EROCKSDB;
        }
        return 0;
    }
    char path[4096], why[128];
    snprintf(path, sizeof path, "%s/%s", dir, manifest);
    uint64_t at = 0;
    rc = lex_log_file_check(path, &at, why, sizeof why);
    if (rc == LEX_ENOTFOUND) {
        snprintf(err, errlen, "%s is missing (CURRENT names it): refusing to open the audit log; "
                 "restore the data directory from a backup", path);
        return LEX_EROCKSDB;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s cannot be read: %s", path, lex_strerror(rc));
        return rc;
    }
    if (rc == 1) {
        snprintf(err, errlen, "the audit log's MANIFEST %s is damaged: it %s at byte %llu. "
                 "Refusing to open: RocksDB would forget the tables and column families after "
                 "that point and the records in them. Restore the data directory from a backup",
                 path, why, (unsigned long long)at);
        return LEX_EROCKSDB;
    }
    return 0;
}

int lex_log_integrity_fail(const char *dir, const char *const *cf_names, int ncf, char *rerr,
                           char *err, size_t errlen)
{
    const char *said = rerr ? rerr : "unknown RocksDB error";
    char files[1024];
    if (strstr(said, "olumn famil")) {
        /* which of the log's families RocksDB no longer knows */
        rocksdb_options_t *o = rocksdb_options_create();
        char *lerr = NULL;
        size_t n = 0;
        char **have = rocksdb_list_column_families(o, dir, &n, &lerr);
        rocksdb_free(lerr);
        rocksdb_options_destroy(o);
        size_t used = 0;
        files[0] = 0;
        for (int i = 0; i < ncf && used < sizeof files; i++) {
            int present = 0;
            for (size_t j = 0; have && j < n; j++)
                present |= strcmp(have[j], cf_names[i]) == 0;
            if (!present)
                used += (size_t)snprintf(files + used, sizeof files - used, "%s'%s'",
                                         used ? ", " : "", cf_names[i]);
        }
        if (have)
            rocksdb_list_column_families_destroy(have, n);
        snprintf(err, errlen, "the audit log in %s has lost its column famil%s %s (a damaged "
                 "MANIFEST, or a family dropped): refusing to open it rather than re-create "
                 "%s empty; restore the data directory from a backup (RocksDB: %s)", dir,
                 strchr(files, ',') ? "ies" : "y", files[0] ? files : "(unknown)",
                 strchr(files, ',') ? "them" : "it", said);
    } else if (strstr(said, "orruption") && lex_log_wal_damage(dir, files, sizeof files) > 0) {
        snprintf(err, errlen, "the audit log's write-ahead log is damaged: %s. Refusing to "
                 "open it: replaying it up to the damage would silently drop the acknowledged "
                 "records after it. Run `lexctl repair --data %s` to keep what is readable "
                 "and write a signed gap record for the loss (RocksDB: %s)", files, dir, said);
    } else if (strstr(said, "orruption")) {
        snprintf(err, errlen, "the audit log in %s is damaged: refusing to open it (RocksDB: %s)",
                 dir, said);
    } else {
        snprintf(err, errlen, "%s: %s", dir, said);
    }
    rocksdb_free(rerr);
    return LEX_EROCKSDB;
}

/* Reads record seq's stored hash; *found = 0 when there is no such record. */
static int record_hash(lex_log_t *log, uint64_t seq, int *found, uint8_t hash[32], char *err,
                       size_t errlen)
{
    uint8_t key[8];
    lex_log_put_be64(key, seq);
    char *rerr = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(log->db, log->ropts, log->cf[CF_DEFAULT], (const char *)key, 8, &len,
                             &rerr);
    if (rerr)
        return lex_log_rocks_fail(rerr, err, errlen, "reading the audit log");
    *found = v != NULL;
    if (v)
        crypto_generichash(hash, 32, (const unsigned char *)v, len, NULL, 0);
    rocksdb_free(v);
    return 0;
}

int lex_log_integrity_check_head(lex_log_t *log, char *err, size_t errlen)
{
    uint64_t base = lex_log_load_base(log), head = log->committed_seq;
    int found = 0, rc;
    uint8_t hash[32];
    char fix[160];
    snprintf(fix, sizeof fix, "the switch would number new records over them. `lexctl repair "
             "--data %s` records the loss", log->path);
    if (head > base) {
        if ((rc = record_hash(log, head, &found, hash, err, errlen)) != 0)
            return rc;
        if (!found || memcmp(hash, log->committed_hash, 32) != 0) {
            snprintf(err, errlen, "the audit log's head says it ends at record %llu, but that "
                     "record is %s: records were lost or changed; refusing to start, since %s",
                     (unsigned long long)head, found ? "not the one it names" : "missing", fix);
            return LEX_EPARSE;
        }
    }
    /* nothing after the head: a record there would be overwritten */
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_DEFAULT]);
    uint8_t key[8];
    lex_log_put_be64(key, head + 1);
    rocksdb_iter_seek(it, (const char *)key, 8);
    uint64_t after = 0;
    if (rocksdb_iter_valid(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        after = klen == 8 ? lex_log_get_be64((const uint8_t *)k) : head + 1;
    }
    rocksdb_iter_destroy(it);
    if (after) {
        snprintf(err, errlen, "the audit log holds record %llu after its head (record %llu): "
                 "refusing to start and write over it; `lexctl verify` shows what happened",
                 (unsigned long long)after, (unsigned long long)head);
        return LEX_EPARSE;
    }
    /* the newest signed checkpoint */
    it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_CHECKPOINTS]);
    rocksdb_iter_seek_to_last(it);
    uint64_t cp_seq = 0, t;
    uint8_t cp_hash[32];
    int have_cp = 0;
    if (rocksdb_iter_valid(it)) {
        size_t len;
        const char *v = rocksdb_iter_value(it, &len);
        have_cp = lex_log_checkpoint_decode(v, len, &cp_seq, cp_hash, &t) == 0;
    }
    rocksdb_iter_destroy(it);
    if (!have_cp)
        return 0;
    if (cp_seq > head) {
        snprintf(err, errlen, "the audit log ends at record %llu, but its newest signed checkpoint "
                 "vouches for record %llu: records %llu to %llu were lost or rolled back; "
                 "refusing to start, since %s", (unsigned long long)head,
                 (unsigned long long)cp_seq, (unsigned long long)(head + 1),
                 (unsigned long long)cp_seq, fix);
        return LEX_EPARSE;
    }
    if (cp_seq > base) {
        if ((rc = record_hash(log, cp_seq, &found, hash, err, errlen)) != 0)
            return rc;
        if (!found || memcmp(hash, cp_hash, 32) != 0) {
            snprintf(err, errlen, "record %llu is %s its signed checkpoint: the log was "
                     "changed or lost records; refusing to start (`lexctl verify --data %s` "
                     "names the record)", (unsigned long long)cp_seq,
                     found ? "not the one named by" : "missing, though named by", log->path);
            return LEX_EPARSE;
        }
    }
    return 0;
}
