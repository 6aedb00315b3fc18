/* lex_query_kind.h: what kind of look-up a query is (by licence number, by
 * name and date of birth, by plate, by VIN, photo, plate-reader history),
 * read from its key and which fields its body holds. States' rules can
 * treat kinds differently (a name search reaches more people than a licence
 * number look-up). */
#ifndef LEX_QUERY_KIND_H
#define LEX_QUERY_KIND_H

#include <stddef.h>

/* "by-number", "by-name", "by-plate", "by-vin", "photo", "plate-reader",
 * or "" for a key that is not a look-up or a body that cannot be read.
 * Static strings. */
const char *lex_query_kind(const char *key, const void *body, size_t len);

#endif
