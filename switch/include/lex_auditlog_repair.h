/* lex_auditlog_repair.h: what lexctl repair and lexctl witness use from the
 * log library. Repair salvages a log whose write-ahead log was damaged (or
 * whose head fell behind its newest checkpoint): it keeps every record up
 * to the damage and writes one signed gap record that says which numbers
 * were lost and why, so the loss stays in the chain and verify reports it
 * ever after. Witnesses keep signed checkpoints outside the data directory
 * and compare them with the log. Formats: docs/LOG.md "Damage" and
 * "Witnesses". */
#ifndef LEX_AUDITLOG_REPAIR_H
#define LEX_AUDITLOG_REPAIR_H

#include <stddef.h>
#include <stdint.h>
#include "lex_auditlog.h"

#define LEX_LOG_GAP_KEY "GAP"       /* message key of a gap record */
#define LEX_LOG_GAP_DECISION "gap"  /* its decision */

typedef struct {
    const char *witness_dir;   /* checkpoints witnessed elsewhere: numbers they name were used */
    uint64_t lost_to;          /* records up to this seq were acknowledged (0: not known) */
    const char *reason;        /* added to the gap record (NULL: what repair found) */
} lex_log_repair_opts_t;

typedef struct {
    uint64_t kept_to;          /* the last record kept */
    uint64_t lost_from, lost_to; /* the numbers given up (lost_to < lost_from: none known) */
    uint64_t gap_seq;          /* the gap record written (0: nothing needed repair) */
    char found[768];           /* what was damaged, for the operator */
} lex_log_repair_t;

/* Salvages the log in dir (the switch must be stopped). Returns 0 with
 * res->gap_seq = 0 when nothing needs repair, 0 with the gap record's seq
 * after a repair, or an error with err saying why it could not (a damaged
 * MANIFEST or a lost column family is not repaired: restore a backup). */
int lex_log_repair(const char *dir, const lex_log_repair_opts_t *o, lex_log_repair_t *res,
                   char *err, size_t errlen);

/* Writer: records from..to were lost. Continues the chain from the last
 * record kept (kept_hash), numbers the gap record to+1 (so no lost number is
 * used again) and signs it with a checkpoint in the same batch, then
 * commits. reason is stored in the record. */
int lex_log_append_gap(lex_log_t *log, uint64_t kept_to, const uint8_t kept_hash[32],
                       uint64_t from, uint64_t to, const char *reason);

/* Reads a gap record's range and reason from its body; 0, or LEX_EPARSE
 * when rec is not a well-formed gap record. */
int lex_log_gap_decode(const lex_log_record_t *rec, uint64_t *from, uint64_t *to, char *reason,
                       size_t reason_len);

/* Reads (and so checks the table checksums of) up to max records from
 * *cursor on, advancing it. Returns 0 when more remain, 2 at the end, 1
 * when records *from to *to cannot be read (what: RocksDB's words); the
 * cursor is then past them. For a reader (auditlog_verify_loss.c). */
int lex_log_scrub_step(lex_log_t *log, uint64_t *cursor, size_t max, uint64_t *from,
                       uint64_t *to, char *what, size_t whatlen);

/* Witnesses (auditlog_witness.c; the witness directory: lex_witness.h). */
#define LEX_LOG_CHECKPOINT_BYTES 113

/* The newest signed checkpoint of an open log (writer or reader) into cp;
 * 0, or LEX_ENOTFOUND when it has none. */
int lex_log_newest_checkpoint(lex_log_t *log, uint8_t cp[LEX_LOG_CHECKPOINT_BYTES]);

/* The hashes of records seqs[0..n) as the log holds them now, in one pass
 * (found[i] = 0 when it has no such record). 0 or an error. */
int lex_log_record_hashes(lex_log_t *log, const uint64_t *seqs, size_t n, int *found,
                          uint8_t (*hashes)[32]);

/* The log's public key (32 bytes) of the log open as log. */
int lex_log_public_key(lex_log_t *log, uint8_t pk[32]);

/* What the witnessed checkpoints say of a log. */
typedef struct {
    uint64_t witnessed;        /* checkpoints read from the witness directory */
    uint64_t matched;          /* found in the log with the same hash */
    uint64_t retired;          /* at or below the retention base (records removed on purpose) */
    uint64_t in_gaps;          /* inside a range a signed gap record says was lost */
    uint64_t newest;           /* highest witnessed seq */
    uint64_t conflicts;        /* rollbacks the witness itself saw (conflicts.log) */
    int truncated;             /* a witnessed seq is beyond the log's head */
    int rewritten;             /* a witnessed record is missing or has another hash */
    uint64_t bad_seq;          /* the first witnessed seq that failed */
    char what[512];
} lex_log_witness_report_t;

/* Compares every checkpoint kept in dir with the log (signatures checked
 * with pk). 0 when all match, LEX_EPARSE when the log was truncated, rolled
 * back or rewritten (report says which and where), another error when the
 * witness directory cannot be read. */
int lex_log_witness_check(lex_log_t *log, const char *dir, const uint8_t pk[32],
                          lex_log_witness_report_t *report);

/* Reads the log's public key (hex file). */
int lex_log_read_public_key(const char *path, uint8_t pk[32], char *err, size_t errlen);

#endif
