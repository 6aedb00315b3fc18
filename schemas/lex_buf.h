/* lex_buf.h: a growable byte buffer, used as the output of every encoder
 * (msgpack packer target) so callers own one allocation they can reuse. */
#ifndef LEX_BUF_H
#define LEX_BUF_H

#include <stddef.h>

typedef struct {
    char *data;     /* bytes, owned by the buffer; NULL while empty */
    size_t len;     /* bytes in use */
    size_t cap;     /* bytes allocated */
    int failed;     /* set when a growth failed; later appends are dropped */
} lex_buf_t;

void lex_buf_init(lex_buf_t *b);
void lex_buf_reset(lex_buf_t *b);               /* len = 0, keeps memory */
void lex_buf_free(lex_buf_t *b);                /* frees memory, re-inits */
int lex_buf_append(lex_buf_t *b, const void *p, size_t n);  /* 0 or LEX_ENOMEM */

/* msgpack_packer write callback: msgpack_packer_init(&pk, buf, lex_buf_write) */
int lex_buf_write(void *buf, const char *p, size_t n);

#endif
