/* rawwire.h: PROTOCOL.md frames packed with msgpack-c calls only, no
 * schemas codec, for the conformance tests (plain and CURVE) that play an
 * endpoint written in another language: the envelope's head, an envelope
 * from string pairs in which keys may repeat and strings hold any bytes,
 * and the HELLO body naming one ORI. The caller owns the buffers. */
#ifndef LEX_TEST_RAWWIRE_H
#define LEX_TEST_RAWWIRE_H

#include <msgpack.h>
#include <stdint.h>

/* A msgpack str of the C string s. */
void lex_raw_pack_str(msgpack_packer *pk, const char *s);

/* An envelope map of 4 + extra entries and its first four: v (1), id, k
 * and src; the caller packs the extra entries after it. */
void lex_raw_pack_head(msgpack_packer *pk, size_t extra, uint64_t id, const char *key,
                       const char *src);

/* The envelope {v, id, k, src, ts} followed by the key/value string pairs
 * (NULL-terminated, as given; a "dst" value is packed as a one-element
 * array). */
void lex_raw_pack_env_pairs(msgpack_packer *pk, uint64_t id, const char *key, const char *src,
                            uint64_t ts, const char *const *pairs);

/* The HELLO body {oris: [ori]}. */
void lex_raw_pack_oris(msgpack_packer *pk, const char *ori);

#endif
