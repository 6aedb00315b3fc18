/* lex_auditlog.h: the audit log, and the reader API tools link.
 * One record per message per direction, appended to RocksDB under the
 * switch's data directory before the message is forwarded; records are keyed
 * by a sequence number and chained by a BLAKE2b hash of the previous record.
 * Index column families find records by ORI and by state (on-disk layout:
 * docs/LOG.md). The writer is single-threaded: the switch's loop appends
 * records for everything it received in one pass, then commits once (group
 * commit, one fsync in sync mode). */
#ifndef LEX_AUDITLOG_H
#define LEX_AUDITLOG_H

#include <stddef.h>
#include <stdint.h>
#include "lex_directory.h"
#include "lex_limits.h"

typedef enum {
    LEX_DIR_IN = 0,    /* received by the switch */
    LEX_DIR_OUT = 1,   /* sent by the switch (forwarded, or a status it made) */
} lex_direction_t;

typedef enum {
    LEX_DURABILITY_SYNC = 0,   /* fsync before forwarding (default) */
    LEX_DURABILITY_BATCH = 1,  /* written to the OS before forwarding: survives a process crash */
    LEX_DURABILITY_NONE = 2,   /* no WAL: benchmarks only */
} lex_durability_t;

#define LEX_DECISION_MAX 15
#define LEX_RULE_ID_MAX 63
#define LEX_CONN_MAX 31

typedef struct {
    uint64_t seq;                          /* set by lex_log_append */
    uint64_t time_us;                      /* switch clock; set by append if 0 */
    lex_direction_t dir;
    char conn[LEX_CONN_MAX + 1];           /* connection (hex routing id) */
    char key[LEX_KEY_MAX + 1];             /* message key */
    char src[LEX_ORI_LEN + 1];             /* source ORI ("" if undecodable) */
    char dst[LEX_ORI_LEN + 1];             /* the destination this record concerns (state or ORI) */
    uint64_t msg_id;                       /* envelope id */
    uint64_t ref;                          /* envelope ref */
    char decision[LEX_DECISION_MAX + 1];   /* "allow", "deny", "redact", "refuse", "status", "session" */
    char rule_id[LEX_RULE_ID_MAX + 1];     /* rule that decided, "" if none */
    int status;                            /* ST code for refusals and statuses, else 0 */
    const void *envelope;                  /* raw envelope frame (not owned) */
    size_t envelope_len;
    const void *body;                      /* raw body frame (not owned) */
    size_t body_len;
    char req_family[16];                   /* requesting agency's family ("ICE-ERO"), "" if unknown */
    char req_level[12];                    /* and its level ("federal"); set by append from
                                              the directory (lex_log_set_directory) */
    uint8_t prev_hash[32];                 /* filled by append and by readers */
    uint8_t hash[32];
} lex_log_record_t;

typedef struct lex_log lex_log_t;

/* Counters of the writer since it opened, for the switch's metrics. */
typedef struct {
    uint64_t records;      /* records committed */
    uint64_t commits;      /* batches written */
    uint64_t fsyncs;       /* batches written with fsync (sync mode) */
    uint64_t checkpoints;  /* signed checkpoints written */
    uint64_t failures;     /* batches that failed to write */
} lex_log_stats_t;

/* What lex_log_verify_full found. */
typedef enum {
    LEX_LOG_OK = 0,
    LEX_LOG_CHANGED,       /* a record's stored value differs from what the chain says */
    LEX_LOG_REMOVED,       /* a record is missing (a gap, or records after the last one) */
    LEX_LOG_MISPLACED,     /* a record is stored under another record's seq (reordered) */
    LEX_LOG_UNREADABLE,    /* a record's value does not decode */
    LEX_LOG_ADDED,         /* records after the head entry (appended behind the switch) */
    LEX_LOG_BAD_CHECKPOINT,/* a checkpoint's signature does not verify */
    LEX_LOG_DAMAGED,       /* records in table blocks that fail their checksum */
    LEX_LOG_GAP,           /* records lost and said so by a signed gap record (lexctl repair) */
    LEX_LOG_YOUNG_CUT,     /* retention removed records younger than its period, or without
                              a record of the cut */
} lex_log_fault_t;

typedef struct {
    lex_log_fault_t fault;
    uint64_t bad_seq;            /* the first record at fault (0 when intact) */
    char what[256];              /* one line for the operator */
    uint64_t first_seq, last_seq;/* records walked */
    uint64_t records;
    uint64_t checkpoints;        /* checkpoints whose signature verified */
    uint64_t last_checkpoint;    /* seq of the newest good checkpoint */
    int signed_ok;               /* 1 if the public key was found and used */
    uint64_t base;               /* records up to it were removed by retention (0: none) */
    uint64_t base_time_us;       /* when the checkpoint at base was signed */
    /* damage and recorded loss, walked past (docs/LOG.md "Damage") */
    uint64_t damaged;            /* records in table blocks that fail their checksum */
    uint64_t damaged_from, damaged_to; /* the first damaged range */
    unsigned damaged_ranges;
    char damage_what[128];       /* what RocksDB said of the first */
    uint64_t gaps;               /* signed gap records */
    uint64_t gap_lost;           /* records they say were lost */
    uint64_t gap_seq, gap_from, gap_to; /* the first: its own seq and the range it covers */
    char gap_reason[400];
    uint64_t cuts;               /* retention cuts on record (lex_log_verify_cuts) */
    uint64_t cut_reckoned_us;    /* the newest cut: the switch's reckoned time then, */
    uint64_t cut_period_us;      /* its retention period, */
    uint64_t cut_proved_us;      /* and the proved time of the last record it removed */
} lex_log_verify_t;

/* Opens (creating if needed) the log for writing. Continues the sequence and
 * the hash chain of an existing log. Caller owns *out (lex_log_close). */
int lex_log_open(const char *dir, lex_durability_t mode, lex_log_t **out,
                 char *err, size_t errlen);

/* When the open cut off a write the previous process was killed in the
 * middle of (docs/LOG.md "Damage"): one line saying what was cut and where
 * the copy is; NULL otherwise. Owned by the log. */
const char *lex_log_interrupted_write(const lex_log_t *log);

/* Opens the log for reading while a writer may hold it (RocksDB secondary
 * instance; lex_log_refresh catches up with the writer). */
int lex_log_open_reader(const char *dir, lex_log_t **out, char *err, size_t errlen);

/* Flushes pending records (lex_log_commit) and closes; sets *log to NULL. */
void lex_log_close(lex_log_t **log);

/* Gives the writer the agency directory, so that each record stores the
 * requesting agency's family and level (the requester is the source of a
 * query or AM, the destination of anything else). Not owned; may be NULL. */
void lex_log_set_directory(lex_log_t *log, const lex_directory_t *dir);

/* The requesting agency of a record, from dir: the destination of a
 * response or status, otherwise the source when the directory knows it
 * (a query, an AM, a HELLO), else the destination (a WELCOME). NULL when
 * neither is in the directory. */
const lex_agency_t *lex_log_requester(const lex_log_record_t *rec, const lex_directory_t *dir);

/* Adds a record to the current batch and assigns rec->seq and hashes.
 * Nothing is durable until lex_log_commit. */
int lex_log_append(lex_log_t *log, lex_log_record_t *rec);

/* Writes the current batch (one fsync in sync mode). Returns 0 when the
 * batch is empty. */
int lex_log_commit(lex_log_t *log);

/* Records appended but not yet committed. */
size_t lex_log_pending(const lex_log_t *log);

/* Highest committed sequence number (0 = empty log). */
uint64_t lex_log_last_seq(const lex_log_t *log);

/* Reader: catch up with the writer. */
int lex_log_refresh(lex_log_t *log);

/* Visitor for scans: return 0 to go on, non-zero to stop. The record's
 * envelope and body pointers are valid only during the call. */
typedef int (*lex_log_visit_fn)(const lex_log_record_t *rec, void *arg);

/* Visits records with seq >= from_seq in order (at most limit, 0 = all). */
int lex_log_scan(lex_log_t *log, uint64_t from_seq, size_t limit,
                 lex_log_visit_fn fn, void *arg);

/* Visits, in sequence order, records whose src or dst is the ORI. */
int lex_log_scan_ori(lex_log_t *log, const char *ori, lex_log_visit_fn fn, void *arg);

/* Visits records whose dst is the state, or whose src ORI belongs to it
 * (first two letters), in sequence order. */
int lex_log_scan_state(lex_log_t *log, const char *state, lex_log_visit_fn fn, void *arg);

/* Visits, in sequence order, records whose envelope id is msg_id (ids are
 * unique per sender, so several senders' records may share one). */
int lex_log_scan_id(lex_log_t *log, uint64_t msg_id, lex_log_visit_fn fn, void *arg);

/* A search. Every field is a filter; NULL / 0 = any. The log picks the
 * most selective index (id, ORI, state, time) and checks the rest on each
 * record. Times are the switch's clock in microseconds, to_us exclusive. */
typedef struct {
    const char *ori;         /* src or dst is this ORI */
    const char *state;       /* src or dst is this state or one of its ORIs */
    const char *family;      /* requesting agency family (records that store it) */
    const char *key;         /* message key */
    const char *decision;
    int has_id;              /* filter on msg_id */
    uint64_t msg_id;
    uint64_t from_us, to_us;
} lex_log_query_t;

/* Visits the matching records in sequence order. */
int lex_log_query(lex_log_t *log, const lex_log_query_t *q, lex_log_visit_fn fn, void *arg);

/* First seq whose record time is >= time_us (by the time index); 0 when
 * none is. */
uint64_t lex_log_seq_at_time(lex_log_t *log, uint64_t time_us);

/* Checkpoints: a signed (Ed25519) statement of the chain head, written in
 * the same batch as the records, every `records` records or `ms`
 * milliseconds, whichever comes first (defaults 1000 and 10000). */
void lex_log_set_checkpoint_interval(lex_log_t *log, uint32_t records, uint32_t ms);

/* Called by the writer's timer: writes a checkpoint when one is due and
 * nothing else is pending. */
int lex_log_tick(lex_log_t *log);

/* Counters since open (zeros for a reader). */
void lex_log_get_stats(const lex_log_t *log, lex_log_stats_t *out);

/* Sync durability with the fsync taken out of lex_log_commit: commits then
 * write the WAL without syncing it, and nothing they cover counts as
 * durable until lex_log_sync returns 0. lex_log_sync may run on another
 * thread while commits go on; it makes durable every commit that returned
 * before it started. lex_log_note_sync counts a successful one (call it on
 * the writer's thread). No effect outside sync mode. */
void lex_log_defer_sync(lex_log_t *log);
int lex_log_deferring(const lex_log_t *log);
int lex_log_sync(lex_log_t *log);
void lex_log_note_sync(lex_log_t *log);

/* 1 once a write or an fsync of the log has failed: from then on every
 * commit and sync fails at once without touching RocksDB (a second write
 * to a file RocksDB saw fail can abort the process), and nothing more
 * becomes durable. Writers stop and restart (docs/LOG.md "Disk space and
 * I/O errors"). Thread-safe. */
int lex_log_failed(const lex_log_t *log);

/* The options that keep a full or failing disk from aborting RocksDB
 * (auditlog_options.c), for another RocksDB kept beside the log (the
 * review holds). opts: a rocksdb_options_t **, which may be replaced. */
struct rocksdb_options_t;
int lex_log_options_harden(struct rocksdb_options_t **opts, char *err, size_t errlen);

/* Walks the whole log: every record in order and linked to the one before,
 * the head entry, and every checkpoint's signature against the public key
 * in pubkey_path (NULL: <dir>/audit-sign.pub) and against the record it
 * names. Returns 0 when intact, LEX_EPARSE with *res describing the first
 * fault, or another error when the log cannot be read. */
int lex_log_verify_full(lex_log_t *log, const char *pubkey_path, lex_log_verify_t *res);

/* Walks the hash chain. *bad_seq = 0 when intact, else the first record
 * whose link is broken (returns LEX_EPARSE in that case). */
int lex_log_verify(lex_log_t *log, uint64_t *bad_seq);

/* Rollups: running counts of queries per destination state, kept by the
 * writer in the same write batch as the records they count (docs/LOG.md
 * "Rollups"). One row per state, month (UTC), requesting agency level and
 * family, query key and decision ("allow", "redact", "deny", "review",
 * "refuse"); fields are "" when unknown. */
typedef struct {
    char state[3];
    char month[8];                        /* "2025-03" */
    char level[12];
    char family[16];
    char key[LEX_KEY_MAX + 1];
    char decision[LEX_DECISION_MAX + 1];
    uint64_t count;
} lex_log_rollup_t;

typedef int (*lex_log_rollup_fn)(const lex_log_rollup_t *row, void *arg);

/* Visits the state's rollup rows with from_month <= month <= to_month
 * ("YYYY-MM"; NULL = no bound), in key order (month first). */
int lex_log_rollups(lex_log_t *log, const char *state, const char *from_month,
                    const char *to_month, lex_log_rollup_fn fn, void *arg);

/* The writer's clock. Records keep the wall clock in time_us (evidence of
 * what the host said); retention goes by the writer's reckoned time, set
 * here by the caller (the switch: a time that only rises with the monotonic
 * clock, docs/LOG.md "Time"). Every checkpoint stores the reckoned time it
 * was made at ("proved time" of the records up to it); 0 = the wall clock. */
void lex_log_set_clock(lex_log_t *log, uint64_t reckoned_us);

/* The highest reckoned time the log has stored (its high-water mark), 0 for
 * a log written without one. */
uint64_t lex_log_clock_mark(lex_log_t *log);

/* Stores the current reckoned time as the high-water mark on its own (the
 * writer does it with every checkpoint; an idle switch calls this). */
int lex_log_save_clock(lex_log_t *log);

/* The proved time of the records up to checkpoint seq: the reckoned time
 * stored with it, or for a checkpoint written without one its signing
 * time. 0 when no checkpoint is at seq. */
uint64_t lex_log_proved_time(lex_log_t *log, uint64_t seq);

/* Retention, step one: the newest checkpoint above the base whose proved
 * time, and that of every checkpoint before it, is older than cutoff_us
 * (reckoned time). *upto = its seq (0: nothing is due), *records = how
 * many records it would remove, *stored = records now in the log. Reads
 * only. */
int lex_log_prune_due(lex_log_t *log, uint64_t cutoff_us, uint64_t *upto, uint64_t *records,
                      uint64_t *stored);

/* Retention, step two: removes records from the base up to upto (a value
 * from lex_log_prune_due), a slice of at most about max_records (0 = no
 * limit) ending on a checkpoint, provided that checkpoint's proved time is
 * older than reckoned_us - period_us (else LEX_EINVAL: nothing younger
 * than the period is ever removed). One write: a range delete of the
 * records, the new base, and a cut entry (meta "cut"+seq) saying what was
 * removed, the reckoned time and the period, for the verifier. Index
 * entries of removed records are left to compaction (a filter drops those
 * at or below the base) and readers skip them. Rollups and checkpoints
 * stay. Sets *removed. Returns 0 when the range up to upto is gone, 1 when
 * more remains (call again), or an error. Writer only. */
int lex_log_prune_slice(lex_log_t *log, uint64_t upto, uint64_t reckoned_us, uint64_t period_us,
                        uint64_t max_records, uint64_t *removed);

/* Both steps at once, with the reckoned time lex_log_set_clock gave (or the
 * wall clock): removes records whose checkpoints are older than cutoff_us,
 * at most about max_records per call. Returns as lex_log_prune_slice. */
int lex_log_prune(lex_log_t *log, uint64_t cutoff_us, uint64_t max_records, uint64_t *removed);

/* Checks the log's retention cuts (lex_log_verify_full calls it): each cut
 * entry's last removed record must have a proved time older than the cut's
 * reckoned time minus its period, at least min_period_us (0: the period the
 * cut states), and no later than the log's high-water mark; a base at a
 * checkpoint with a reckoned time that no cut entry explains is a fault too
 * (a base set before reckoned times were stored is taken as it is).
 * Returns 0 or LEX_EPARSE with res->fault = LEX_LOG_YOUNG_CUT. */
int lex_log_verify_cuts(lex_log_t *log, uint64_t min_period_us, lex_log_verify_t *res);

/* The lowest seq still stored: records up to lex_log_base(log) were removed
 * by retention (0 = none were). */
uint64_t lex_log_base(lex_log_t *log);

/* Compacts every column family (benchmarks: bytes on disk after
 * compaction). Writer only. */
int lex_log_compact(lex_log_t *log);

const char *lex_direction_name(lex_direction_t dir);
/* Parses "sync" | "batch" | "none"; -1 if unknown. */
int lex_durability_from_name(const char *name);

/* ---- Access records (docs/LOG.md "Access records") ----
 * Every read of the log and every operator request leaves a record with
 * decision "access": who (an OS user, or an operator key), what (the
 * command and its filter) and which state it concerns ("" = national).
 * Tools cannot write the log while the switch holds it, so they note the
 * access in a journal under <data>/access/ first (lex_access_note), and the
 * writer moves journal entries into the chain (lex_log_access_ingest). */

/* What a reader is about to do, for lex_access_note. */
typedef struct {
    const char *tool;     /* "lexctl" */
    const char *cmd;      /* subcommand: "audit", "export", "tail", "report", "verify" */
    const char *filter;   /* the query as given ("--state IL --key DQ"), may be "" */
    const char *state;    /* the state it is limited to, NULL/"" = national */
    const char *ori;      /* the ORI it is limited to, or NULL */
} lex_access_t;

/* An access record's details, decoded from its body. */
typedef struct {
    char who[64];         /* OS user name, or the operator key's label */
    uint64_t uid;         /* OS uid (lexctl), 0 for the wire */
    uint64_t pid;
    char key[41];         /* operator key (Z85), "" for lexctl */
    char ori[LEX_ORI_LEN + 1];   /* the operator desk, or the ORI a read was limited to */
    char tool[16];        /* "lexctl" or "wire" */
    char cmd[32];
    char filter[256];
    char state[LEX_STATE_LEN + 1];  /* "" = national */
    uint64_t time_us;     /* when the access was made */
    uint64_t id;          /* journal id (lexctl), 0 for the wire */
} lex_access_info_t;

#define LEX_ACCESS_DIR "access"   /* under the data directory */

/* Writes one journal entry for the calling process (user from the
 * effective uid) into <data_dir>/access/ and makes it durable (file and
 * directory fsync'd, mode 0600) before returning 0. A reader must not show
 * anything when this fails. */
int lex_access_note(const char *data_dir, const lex_access_t *a, char *err, size_t errlen);

/* Writer: appends a record for each journal entry under data_dir (at most
 * max, 0 = all, oldest first), commits them durably (fsync, even when the
 * sync is deferred), then removes the entries. An entry already in the chain
 * (a crash between commit and removal) is removed without a second record.
 * Does nothing while other records are pending. Sets *ingested. */
int lex_log_access_ingest(lex_log_t *log, const char *data_dir, size_t max, size_t *ingested);

/* Decodes an access record's body (0, or LEX_EINVAL when rec is not an
 * access record, LEX_EPARSE when its body is unreadable). */
int lex_access_info(const lex_log_record_t *rec, lex_access_info_t *out);

/* Visits the access records in sequence order (by their own index, so the
 * cost is the number of access records, not the size of the log). */
int lex_log_scan_access(lex_log_t *log, lex_log_visit_fn fn, void *arg);

/* Visits the journal entries not yet in the chain (a switch has not run
 * since); rec is a record built from the entry (seq 0). */
int lex_access_pending(const char *data_dir, lex_log_visit_fn fn, void *arg);

#endif
