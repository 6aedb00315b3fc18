/* lex_witness.h: a switch's signed checkpoints as they travel and as a
 * witness keeps them. The CP message carries the 113 bytes the audit log
 * stores (docs/LOG.md "Checkpoints"): version, seq, hash, time, and an
 * Ed25519 signature by the log's key. A witness (lexnode state
 * --witness-dir, lexctl witness) keeps each one that verifies and extends
 * the newest it holds in DIR/checkpoints.log, one line each, and one that
 * goes back in DIR/conflicts.log as evidence (docs/LOG.md "Witnesses"). */
#ifndef LEX_WITNESS_H
#define LEX_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#define LEX_CHECKPOINT_BYTES 113
#define LEX_WITNESS_FILE "checkpoints.log"
#define LEX_WITNESS_CONFLICTS "conflicts.log"
#define LEX_WITNESS_KEY_FILE "log-key.pub"

typedef struct {
    uint64_t seq;        /* the record it vouches for */
    uint8_t hash[32];    /* that record's hash */
    uint64_t time_us;    /* when the switch signed it */
} lex_checkpoint_t;

/* Decodes a checkpoint and checks its signature with the log's public key
 * pk (32 bytes; NULL: decode only). 0 or LEX_EPARSE. */
int lex_checkpoint_open(const void *cp, size_t len, const uint8_t *pk, lex_checkpoint_t *out);

/* Keeps cp in the witness directory dir (created if missing): its
 * signature must hold with pk and its seq must be above the newest kept.
 * Returns 0 when kept, 1 for a repeat of the newest, LEX_EPARSE for a bad
 * signature, LEX_EEXIST (with err saying so) when it goes back (a rollback
 * or a rewrite, kept in conflicts.log), LEX_EIO. */
int lex_witness_keep(const char *dir, const void *cp, size_t len, const uint8_t pk[32],
                     char *err, size_t errlen);

/* Keeps cp (what the switch sends now) in conflicts.log as evidence that
 * the switch went back, and says so in err. Returns LEX_EEXIST, or LEX_EIO. */
int lex_witness_conflict(const char *dir, const void *cp, size_t len, const char *what,
                         char *err, size_t errlen);

/* The newest checkpoint kept in dir; 0 or LEX_ENOTFOUND. */
int lex_witness_newest(const char *dir, lex_checkpoint_t *out);

/* Visits every checkpoint kept in dir, oldest first, with its raw bytes and
 * line number; fn returns non-zero to stop. LEX_EPARSE for a line that is
 * not a checkpoint signed with pk (*bad_line set), LEX_ENOTFOUND when dir
 * keeps none. */
typedef int (*lex_witness_visit_fn)(const lex_checkpoint_t *cp, void *arg);
int lex_witness_each(const char *dir, const uint8_t pk[32], lex_witness_visit_fn fn, void *arg,
                     unsigned long *bad_line);

/* How many checkpoints dir kept apart because they went back. */
uint64_t lex_witness_conflicts(const char *dir);

/* The log's public key for a witness: from key_path when given (and then
 * pinned in DIR/log-key.pub), else the one pinned earlier, else the one the
 * first CP brought (offered, may be NULL), pinned from then on. 0, or
 * LEX_EEXIST when key_path or offered differs from the pinned key. */
int lex_witness_key(const char *dir, const char *key_path, const uint8_t *offered,
                    uint8_t pk[32], char *err, size_t errlen);

#endif
