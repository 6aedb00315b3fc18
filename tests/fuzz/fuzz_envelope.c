/* fuzz_envelope.c: frame 1 of every message, as the switch meets it on its
 * ROUTER socket: lex_envelope_decode over arbitrary bytes. What decodes must
 * encode again and decode to the same envelope (a round trip through our own
 * codec), so nothing is accepted that the switch could not forward intact;
 * and no accepted frame holds a key twice or a string that is not UTF-8. */
#include <string.h>
#include "fuzz.h"
#include "lex_body.h"
#include "lex_buf.h"
#include "lex_envelope.h"
#include "lex_error.h"

static void check_same(const lex_envelope_t *a, const lex_envelope_t *b)
{
    FUZZ_CHECK(a->version == b->version);
    FUZZ_CHECK(a->id == b->id);
    FUZZ_CHECK(strcmp(a->key, b->key) == 0);
    FUZZ_CHECK(strcmp(a->src, b->src) == 0);
    FUZZ_CHECK(a->ndst == b->ndst);
    for (uint32_t i = 0; i < a->ndst; i++)
        FUZZ_CHECK(strcmp(a->dst[i], b->dst[i]) == 0);
    FUZZ_CHECK(strcmp(a->ctl, b->ctl) == 0);
    FUZZ_CHECK(a->ref == b->ref);
    FUZZ_CHECK(strcmp(a->purpose, b->purpose) == 0);
    FUZZ_CHECK(a->ts_us == b->ts_us);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lex_envelope_t env;
    const char *field = NULL;
    int rc = lex_envelope_decode(data, size, &env, &field);
    FUZZ_CHECK(field != NULL);
    if (rc != 0) {
        FUZZ_CHECK(rc < 0);
        FUZZ_CHECK(lex_strerror(rc) != NULL);
        return 0;
    }
    FUZZ_CHECK(env.version == LEX_PROTOCOL_VERSION);
    FUZZ_CHECK(lex_ori_valid(env.src));
    FUZZ_CHECK(env.ndst <= LEX_DEST_MAX);
    msgpack_unpacked up;
    FUZZ_CHECK(lex_body_parse(data, size, &up) == 0);
    FUZZ_CHECK(lex_mp_check(&up.data) == 0);
    msgpack_unpacked_destroy(&up);

    lex_buf_t out;
    lex_buf_init(&out);
    FUZZ_CHECK(lex_envelope_encode(&env, &out) == 0);
    /* a decoded envelope re-encodes minimally; only an input that left out
     * the optional ts can grow past the limit by adding it */
    if (out.len <= LEX_ENVELOPE_MAX) {
        lex_envelope_t again;
        FUZZ_CHECK(lex_envelope_decode(out.data, out.len, &again, &field) == 0);
        check_same(&env, &again);
    }
    lex_buf_free(&out);
    return 0;
}
