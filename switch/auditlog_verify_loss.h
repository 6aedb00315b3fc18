/* auditlog_verify_loss.h: the verifier's handling of damage it can walk
 * past and of signed gap records (auditlog_verify_loss.c), for the walk in
 * auditlog_verify.c. Internal to the log library. */
#ifndef LEX_AUDITLOG_VERIFY_LOSS_H
#define LEX_AUDITLOG_VERIFY_LOSS_H

#include <rocksdb/c.h>
#include "lex_auditlog.h"

/* The record iterator *itp stopped: if on an error (a damaged table block),
 * notes the damaged range from *expect in res and either replaces *itp by
 * an iterator on the first readable record after (sets *expect to it, returns 1: its link is
 * not checked), or, when nothing after is readable, ends the walk at the
 * head (sets *expect past it, prev to its hash, moves cp past it; 0). */
int lex_log_verify_past_damage(lex_log_t *log, rocksdb_iterator_t **itp, rocksdb_iterator_t *cp,
                               uint64_t *expect, uint8_t prev[32], lex_log_verify_t *res);

/* 1 when the record (value v) at seq, found where expect was due, is a gap
 * record for exactly expect..seq-1 that links to prev and is signed by a
 * checkpoint at seq (signature checked when pk is set). */
int lex_log_verify_gap_jump(lex_log_t *log, const uint8_t *pk, const char *v, size_t vlen,
                            uint64_t seq, uint64_t expect, const uint8_t prev[32]);

/* Counts rec in res when it is a signed gap record. */
void lex_log_verify_note_gap(lex_log_t *log, const uint8_t *pk, const lex_log_record_t *rec,
                             lex_log_verify_t *res);

/* After an intact walk: LEX_EPARSE with res->fault DAMAGED or GAP when the
 * walk crossed either, else 0. */
int lex_log_verify_loss_verdict(lex_log_verify_t *res);

#endif
