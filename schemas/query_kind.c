/* query_kind.c: classifies a query by its key and the fields present in its
 * body (lex_query_kind.h). The body has already passed the catalogue, so
 * only presence matters here. */
#include <string.h>
#include "lex_body.h"
#include "lex_query_kind.h"

const char *lex_query_kind(const char *key, const void *body, size_t len)
{
    if (strcmp(key, "KQ") == 0)
        return "by-number";
    if (strcmp(key, "RNQ") == 0)
        return "by-name";
    if (strcmp(key, "IMQ") == 0)
        return "photo";
    if (strcmp(key, "LPQ") == 0)
        return "plate-reader";
    if (strcmp(key, "DQ") != 0 && strcmp(key, "RQ") != 0)
        return "";
    msgpack_unpacked up;
    if (lex_body_parse(body, len, &up) != 0)
        return "";
    const char *kind = "";
    if (strcmp(key, "DQ") == 0)
        kind = lex_mp_get(&up.data, "lic") ? "by-number" : lex_mp_get(&up.data, "name") ? "by-name" : "";
    else
        kind = lex_mp_get(&up.data, "plate") ? "by-plate" : lex_mp_get(&up.data, "vin") ? "by-vin" : "";
    msgpack_unpacked_destroy(&up);
    return kind;
}
