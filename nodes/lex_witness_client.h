/* lex_witness_client.h: a node that witnesses the switch's audit log. It
 * asks for signed checkpoints with CP, and keeps every CP the switch sends
 * in a witness directory (schemas/lex_witness.h), checking the signature
 * with the log's public key (given, or pinned from the first CP). Used by
 * `lexnode state --witness-dir` and `lexctl witness` (docs/LOG.md
 * "Witnesses"). */
#ifndef LEX_WITNESS_CLIENT_H
#define LEX_WITNESS_CLIENT_H

#include <stdint.h>
#include "lex_node.h"

typedef struct {
    const char *dir;          /* witness directory (created if missing) */
    const char *key_path;     /* the log's public key file; NULL: pin the first CP's */
    uint64_t asked_us;        /* monotonic time of the last CP request */
    uint64_t asked_seq;       /* the newest seq it held then */
    int was_ready;            /* the node was registered at the last tick */
    uint64_t kept;            /* checkpoints kept */
    uint64_t newest;          /* newest seq kept */
    uint64_t alarms;          /* checkpoints that went back (rollback or rewrite) */
} lex_witness_client_t;

/* Asks the switch for checkpoints when the node (re)registers, and again
 * when the last request is older than every_ms (the switch forgets a
 * request when it restarts; asking again costs one checkpoint). Call from
 * the node's loop. */
void lex_witness_client_tick(lex_witness_client_t *w, lex_node_t *node, int every_ms);

/* Handles a received message: 1 when it was a CP (kept, a repeat, or
 * refused: err says why, and a rollback counts an alarm), 0 when it was
 * something else. A CP that says the log now holds another record (or
 * none) where this witness holds a checkpoint is a rollback too. */
int lex_witness_client_handle(lex_witness_client_t *w, const lex_message_t *m, char *err,
                              size_t errlen);

#endif
