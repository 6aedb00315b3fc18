/* auditlog_integrity.h: what the log library does so that a damaged data
 * directory stops the open instead of being silently repaired by RocksDB
 * (auditlog_integrity.c): the open options, a look at the MANIFEST and the
 * write-ahead logs in RocksDB's own record format, an error that names the
 * damaged file, and the head checked against the records and the newest
 * signed checkpoint (auditlog_integrity.c; the files are read by
 * auditlog_logfile.c). Internal to the log library (docs/LOG.md "Damage"). */
#ifndef LEX_AUDITLOG_INTEGRITY_H
#define LEX_AUDITLOG_INTEGRITY_H

#include <stddef.h>
#include <stdint.h>
#include <rocksdb/c.h>

typedef struct lex_log lex_log_t;

/* How the log is opened. */
typedef enum {
    LEX_LOG_OPEN_STRICT = 0,   /* the switch and the readers: any damage refuses */
    LEX_LOG_OPEN_SALVAGE = 1,  /* lexctl repair: WAL recovered up to the damage */
} lex_log_open_mode_t;

/* Opens the log for lexctl repair: the WAL replayed up to its first damaged
 * record, the head not checked (auditlog.c). Caller owns *out. */
int lex_log_open_salvage(const char *dir, lex_log_t **out, char *err, size_t errlen);

/* Paranoid checks; the WAL replayed in absolute consistency (strict) or up
 * to the first damaged record (salvage); column families created only when
 * dir holds no log yet (no CURRENT file). */
void lex_log_integrity_options(rocksdb_options_t *opts, const char *dir, int reader,
                               lex_log_open_mode_t mode);

/* Before a writer opens dir: refuses a MANIFEST that is damaged or cut
 * short, and a directory that holds tables but lost its CURRENT file.
 * 0, or LEX_EROCKSDB with err naming the file. */
int lex_log_integrity_precheck(const char *dir, char *err, size_t errlen);

/* RocksDB refused to open dir with rerr (freed here): writes into err what
 * is damaged (which WAL or MANIFEST and where, or which column family is
 * missing, of the ncf the log has) and what to do. Returns LEX_EROCKSDB. */
int lex_log_integrity_fail(const char *dir, const char *const *cf_names, int ncf, char *rerr,
                           char *err, size_t errlen);

/* After a writer opened: the head names a record that is there with that
 * hash, no record sits after it, and the newest signed checkpoint is at or
 * before the head and matches the record at its seq. 0 or LEX_EPARSE. */
int lex_log_integrity_check_head(lex_log_t *log, char *err, size_t errlen);

/* auditlog_torn.c: before a writer opens dir, cuts off the newest WAL's
 * last record when it is unfinished and the file stops on a page boundary
 * (what a write interrupted by SIGKILL leaves; never acknowledged), keeping
 * a copy in dir/interrupted-wal-<time>. 1 with what (one line for the
 * operator and the log) when it cut, 0 when there was nothing such to cut,
 * a negative code when it could not. */
int lex_log_trim_interrupted_write(const char *dir, char *what, size_t n);

/* auditlog_logfile.c. Walks a file in RocksDB's log format (WAL and MANIFEST): 0 when every
 * record is whole and its checksum holds, 1 with *bad_at (byte offset) and
 * why when not, a negative code when the file cannot be read. */
int lex_log_file_check(const char *path, uint64_t *bad_at, char *why, size_t whylen);

/* Names the write-ahead logs of dir that are damaged (file, what, byte)
 * into out; returns how many are. */
int lex_log_wal_damage(const char *dir, char *out, size_t n);

/* The highest record seq the write-ahead logs in dir still show, read from
 * their bytes (damaged parts included), for salvage. 0 when none. */
uint64_t lex_log_wal_max_seq(const char *dir);

#endif
