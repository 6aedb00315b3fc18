/* lex_envelope.h: the envelope, frame 1 of every message (docs/PROTOCOL.md,
 * "Envelope"). Routing needs only this frame, so it decodes into a fixed-size
 * struct with no allocation. decode() checks types, lengths and formats and
 * returns the LEX_E* code of the first violation. */
#ifndef LEX_ENVELOPE_H
#define LEX_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include "lex_buf.h"
#include "lex_limits.h"

typedef struct {
    uint32_t version;                        /* protocol version (1) */
    uint64_t id;                             /* message id, unique per sender */
    char key[LEX_KEY_MAX + 1];               /* message key, e.g. "DQ" */
    char src[LEX_ORI_LEN + 1];               /* source ORI */
    uint32_t ndst;                           /* entries used in dst */
    char dst[LEX_DEST_MAX][LEX_ORI_LEN + 1]; /* state codes or ORIs */
    char ctl[LEX_CTL_MAX + 1];               /* sender's reference, echoed back */
    uint64_t ref;                            /* id of the query answered; 0 = none */
    char purpose[LEX_PURPOSE_MAX + 1];       /* purpose code, e.g. "C" */
    uint64_t ts_us;                          /* sender clock, microseconds */
    uint32_t hops;                           /* switches passed so far (0 from a node) */
} lex_envelope_t;

/* Zeroes *env and sets the version. */
void lex_envelope_init(lex_envelope_t *env);

/* Appends the msgpack encoding of env to out. 0 or LEX_E*. */
int lex_envelope_encode(const lex_envelope_t *env, lex_buf_t *out);

/* Decodes and checks one envelope. On error, *field (if given) names the
 * offending field (static string) for the status text. */
int lex_envelope_decode(const void *data, size_t len, lex_envelope_t *env,
                        const char **field);

/* Adds a destination; LEX_ETOOMANYDEST or LEX_ELENGTH on failure. */
int lex_envelope_add_dst(lex_envelope_t *env, const char *dst);

/* 1 when s is a well-formed ORI (9 chars, A-Z 0-9), else 0. */
int lex_ori_valid(const char *s);

/* 1 when s is a known state or territory code (see lex_states.h). */
int lex_state_valid(const char *s);

/* Microseconds since the epoch (CLOCK_REALTIME). */
uint64_t lex_now_us(void);

/* Microseconds from CLOCK_MONOTONIC, for deadlines and latency. */
uint64_t lex_mono_us(void);

#endif
