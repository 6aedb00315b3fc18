/* review.h: queries held for review by a state's operator. Each hold is
 * written to its own RocksDB (<data>/held) with fsync before the requester
 * hears that it is held, so holds survive a restart; they are also kept in
 * memory (there are few) for listing and expiry. Ids continue across
 * restarts. */
#ifndef LEX_REVIEW_H
#define LEX_REVIEW_H

#include <stddef.h>
#include <stdint.h>
#include "lex_limits.h"

typedef struct lex_hold {
    uint64_t id;                      /* set by lex_holds_add */
    char state[LEX_STATE_LEN + 1];    /* whose rules held it: its operators decide */
    char dest[LEX_ORI_LEN + 1];       /* the destination as the requester wrote it */
    char req_ori[LEX_ORI_LEN + 1];
    uint64_t req_id;                  /* requester's message id */
    char key[LEX_KEY_MAX + 1];
    char kind[16];
    char purpose[LEX_PURPOSE_MAX + 1];
    char ctl[LEX_CTL_MAX + 1];
    char rule_id[64];
    uint64_t held_us, expires_us;     /* wall clock, so expiry survives restarts */
    char *body;                       /* the query body (owned) */
    size_t body_len;
    struct lex_hold *next;
} lex_hold_t;

typedef struct lex_holds lex_holds_t;

/* Opens (creating) the store and loads every hold. Caller owns *out. */
int lex_holds_open(const char *path, lex_holds_t **out, char *err, size_t errlen);
void lex_holds_close(lex_holds_t **holds);

/* Stores a copy of *h durably and assigns h->id. */
int lex_holds_add(lex_holds_t *holds, lex_hold_t *h);

/* The hold with this id, or NULL. */
lex_hold_t *lex_holds_find(lex_holds_t *holds, uint64_t id);

/* Deletes a hold durably and frees it. */
int lex_holds_remove(lex_holds_t *holds, uint64_t id);

/* Iteration in id order: first(), then next(h). */
lex_hold_t *lex_holds_first(lex_holds_t *holds);
size_t lex_holds_count(const lex_holds_t *holds);

/* A hold whose time is up at now_us, or NULL. */
lex_hold_t *lex_holds_expired(lex_holds_t *holds, uint64_t now_us);

#endif
