/* lex_fields.h: the library side of lex_fields_t (lexnode.h): packing a
 * built body into msgpack for sending. Internal to libnode. */
#ifndef LEX_FIELDS_H
#define LEX_FIELDS_H

#include "lex_buf.h"
#include "lexnode.h"

/* Appends the body as one msgpack map to out (NULL fields: an empty map).
 * LEX_ENOMEM after a failed allocation, LEX_EINVAL with a record still open. */
int lex_fields_encode(const lex_fields_t *fields, lex_buf_t *out);

#endif
