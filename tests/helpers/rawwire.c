/* rawwire.c: envelopes and HELLO bodies packed by hand with msgpack-c, as
 * an endpoint that does not link the schemas codec would pack them
 * (rawwire.h says what each call packs). */
#include "rawwire.h"

#include <string.h>

void lex_raw_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

void lex_raw_pack_head(msgpack_packer *pk, size_t extra, uint64_t id, const char *key,
                       const char *src)
{
    msgpack_pack_map(pk, 4 + extra);
    lex_raw_pack_str(pk, "v");
    msgpack_pack_uint64(pk, 1);
    lex_raw_pack_str(pk, "id");
    msgpack_pack_uint64(pk, id);
    lex_raw_pack_str(pk, "k");
    lex_raw_pack_str(pk, key);
    lex_raw_pack_str(pk, "src");
    lex_raw_pack_str(pk, src);
}

void lex_raw_pack_env_pairs(msgpack_packer *pk, uint64_t id, const char *key, const char *src,
                            uint64_t ts, const char *const *pairs)
{
    size_t n = 0;
    while (pairs[2 * n])
        n++;
    lex_raw_pack_head(pk, 1 + n, id, key, src);
    lex_raw_pack_str(pk, "ts");
    msgpack_pack_uint64(pk, ts);
    for (size_t i = 0; i < n; i++) {
        lex_raw_pack_str(pk, pairs[2 * i]);
        if (strcmp(pairs[2 * i], "dst") == 0)
            msgpack_pack_array(pk, 1);
        lex_raw_pack_str(pk, pairs[2 * i + 1]);
    }
}

void lex_raw_pack_oris(msgpack_packer *pk, const char *ori)
{
    msgpack_pack_map(pk, 1);
    lex_raw_pack_str(pk, "oris");
    msgpack_pack_array(pk, 1);
    lex_raw_pack_str(pk, ori);
}
