/* fuzz_body.c: frame 2, the body, as the switch and nodes read it. The first
 * input byte picks a catalogue key (in catalogue order), the rest is the
 * body, validated with lex_body_validate. A valid body is then redacted (what
 * a state's redact rule does to a response) and the result must be a map
 * with none of the names left at any depth; a valid body holds no key twice
 * and no string that is not UTF-8, at any depth; ST bodies are also read
 * with lex_status_parse. */
#include <string.h>
#include <msgpack.h>
#include "fuzz.h"
#include "lex_body.h"
#include "lex_buf.h"
#include "lex_catalogue.h"
#include "lex_error.h"

/* field names the simulation's redact rules use inside records */
static const char *const rule_fields[] = {"address", "photo", "dob"};
#define RULE_FIELDS (sizeof rule_fields / sizeof rule_fields[0])

/* 1 when no map at any depth of o has one of the n names as a key. */
static int none_left(const msgpack_object *o, const char *const *names, size_t n)
{
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (!none_left(&o->via.array.ptr[i], names, n))
                return 0;
    } else if (o->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            for (size_t j = 0; j < n; j++)
                if (lex_mp_str_eq(&o->via.map.ptr[i].key, names[j]))
                    return 0;
            if (!none_left(&o->via.map.ptr[i].val, names, n))
                return 0;
        }
    }
    return 1;
}

/* Redacts names from body; the result must parse as a map holding none of
 * them, and be no larger than the body. */
static void redact_once(const uint8_t *body, size_t len, const char *const *names, size_t n)
{
    lex_buf_t out;
    lex_buf_init(&out);
    size_t removed = 0;
    FUZZ_CHECK(lex_body_remove_fields(body, len, names, n, &out, &removed) == 0);
    FUZZ_CHECK(out.len <= (len ? len : 1)); /* an empty frame comes back as {} */
    msgpack_unpacked up;
    FUZZ_CHECK(lex_body_parse(out.data, out.len, &up) == 0);
    FUZZ_CHECK(none_left(&up.data, names, n));
    msgpack_unpacked_destroy(&up);
    lex_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const lex_catalogue_t *cat = lex_catalogue_builtin();
    FUZZ_CHECK(cat != NULL && lex_catalogue_count(cat) > 0);
    if (size == 0)
        return 0;
    const lex_msgdef_t *def = lex_catalogue_at(cat, data[0] % lex_catalogue_count(cat));
    const uint8_t *body = data + 1;
    size_t len = size - 1;

    const char *field = NULL;
    int rc = lex_body_validate(def, body, len, &field);
    FUZZ_CHECK(field != NULL);
    FUZZ_CHECK(rc <= 0);
    if (rc == 0) {
        msgpack_unpacked up;
        FUZZ_CHECK(lex_body_parse(body, len, &up) == 0);
        FUZZ_CHECK(lex_mp_check(&up.data) == 0);
        msgpack_unpacked_destroy(&up);
        /* the names a rule gives, then those plus the key's personal fields */
        const char *names[RULE_FIELDS + LEX_MSG_FIELDS_MAX];
        size_t n = 0;
        for (size_t i = 0; i < RULE_FIELDS; i++)
            names[n++] = rule_fields[i];
        redact_once(body, len, names, n);
        for (uint32_t i = 0; i < def->nfields; i++)
            if (def->fields[i].personal)
                names[n++] = def->fields[i].name;
        if (n > RULE_FIELDS)
            redact_once(body, len, names, n);
    }

    if (strcmp(def->key, "ST") == 0) {
        int code = 0;
        char text[64];
        if (lex_status_parse(body, len, &code, text, sizeof text) == 0)
            FUZZ_CHECK(strlen(text) < sizeof text);
    }
    return 0;
}
