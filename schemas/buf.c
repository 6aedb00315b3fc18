/* buf.c: the growable byte buffer behind every encoder (lex_buf.h). */
#include <stdlib.h>
#include <string.h>
#include "lex_buf.h"
#include "lex_error.h"

void lex_buf_init(lex_buf_t *b)
{
    memset(b, 0, sizeof *b);
}

void lex_buf_reset(lex_buf_t *b)
{
    b->len = 0;
    b->failed = 0;
}

void lex_buf_free(lex_buf_t *b)
{
    free(b->data);
    lex_buf_init(b);
}

int lex_buf_append(lex_buf_t *b, const void *p, size_t n)
{
    if (b->failed)
        return LEX_ENOMEM;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
            b->failed = 1;
            return LEX_ENOMEM;
        }
        b->data = data;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int lex_buf_write(void *buf, const char *p, size_t n)
{
    return lex_buf_append(buf, p, n) == 0 ? 0 : -1;
}
