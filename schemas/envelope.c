/* envelope.c: encode and decode the envelope, frame 1 of every message
 * (docs/PROTOCOL.md, "Envelope"). The switch decodes this on every message,
 * so decode works into a fixed struct and rejects anything off-spec: wrong
 * types, unknown fields, a field given twice, strings that are not UTF-8,
 * over-long strings, malformed ORIs and state codes. */
#include <string.h>
#include <time.h>
#include <msgpack.h>
#include "lex_body.h"
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_states.h"

void lex_envelope_init(lex_envelope_t *env)
{
    memset(env, 0, sizeof *env);
    env->version = LEX_PROTOCOL_VERSION;
}

uint64_t lex_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t lex_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int lex_ori_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return n == LEX_ORI_LEN;
}

int lex_state_valid(const char *s)
{
    return lex_state_index(s) >= 0;
}

static int key_valid(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(*s >= 'A' && *s <= 'Z'))
            return 0;
    return 1;
}

int lex_envelope_add_dst(lex_envelope_t *env, const char *dst)
{
    if (env->ndst >= LEX_DEST_MAX)
        return LEX_ETOOMANYDEST;
    if (strlen(dst) > LEX_ORI_LEN)
        return LEX_ELENGTH;
    strcpy(env->dst[env->ndst++], dst);
    return 0;
}

int lex_envelope_encode(const lex_envelope_t *env, lex_buf_t *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, lex_buf_write);
    size_t n = 5 + (env->ndst > 0) + (env->ctl[0] != 0) + (env->ref != 0) +
               (env->purpose[0] != 0) + (env->hops != 0);
    msgpack_pack_map(&pk, n);
    lex_mp_pack_kv_uint(&pk, "v", env->version);
    lex_mp_pack_kv_uint(&pk, "id", env->id);
    lex_mp_pack_kv_str(&pk, "k", env->key);
    lex_mp_pack_kv_str(&pk, "src", env->src);
    if (env->ndst > 0) {
        lex_mp_pack_str(&pk, "dst");
        msgpack_pack_array(&pk, env->ndst);
        for (uint32_t i = 0; i < env->ndst; i++)
            lex_mp_pack_str(&pk, env->dst[i]);
    }
    if (env->ctl[0])
        lex_mp_pack_kv_str(&pk, "ctl", env->ctl);
    if (env->ref)
        lex_mp_pack_kv_uint(&pk, "ref", env->ref);
    if (env->purpose[0])
        lex_mp_pack_kv_str(&pk, "pur", env->purpose);
    lex_mp_pack_kv_uint(&pk, "ts", env->ts_us);
    if (env->hops)
        lex_mp_pack_kv_uint(&pk, "hop", env->hops);
    return out->failed ? LEX_ENOMEM : 0;
}

/* Copies a string field, mapping lex_mp_str errors and naming the field. */
static int take_str(const msgpack_object *v, char *dst, size_t size,
                    const char *name, const char **field)
{
    int rc = lex_mp_str(v, dst, size);
    if (rc != 0 && field)
        *field = name;
    return rc;
}

/* The envelope's fields, in the order the encoder writes them. */
static const char *const envelope_fields[] = {"v", "id", "k", "src", "dst", "ctl",
                                              "ref", "pur", "ts", "hop"};
#define N_ENVELOPE_FIELDS (sizeof envelope_fields / sizeof envelope_fields[0])

/* A field given twice is refused, whichever copy a reader would keep:
 * the raw frame in the audit record must read one way only. */
static int first_time(const msgpack_object *k, unsigned *seen, const char **field)
{
    for (unsigned i = 0; i < N_ENVELOPE_FIELDS; i++)
        if (lex_mp_str_eq(k, envelope_fields[i])) {
            if (*seen & (1u << i)) {
                if (field)
                    *field = envelope_fields[i];
                return LEX_EDUPLICATE;
            }
            *seen |= 1u << i;
            return 0;
        }
    return 0; /* unknown: refused below */
}

static int decode_fields(const msgpack_object *map, lex_envelope_t *env, const char **field)
{
    int seen_v = 0, seen_id = 0, seen_k = 0, seen_src = 0;
    unsigned seen = 0;
    int rc = 0;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        const msgpack_object *v = &map->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR) {
            if (field)
                *field = "(non-string key)";
            return LEX_ETYPE;
        }
        if ((rc = first_time(k, &seen, field)) != 0)
            return rc;
        uint64_t num;
        if (lex_mp_str_eq(k, "v")) {
            if ((rc = lex_mp_uint(v, &num)) != 0)
                goto bad_v;
            if (num != LEX_PROTOCOL_VERSION) {
                rc = LEX_EVERSION;
                goto bad_v;
            }
            env->version = (uint32_t)num;
            seen_v = 1;
        } else if (lex_mp_str_eq(k, "id")) {
            if ((rc = lex_mp_uint(v, &env->id)) != 0) {
                if (field)
                    *field = "id";
                return rc;
            }
            seen_id = 1;
        } else if (lex_mp_str_eq(k, "k")) {
            if ((rc = take_str(v, env->key, sizeof env->key, "k", field)) != 0)
                return rc;
            if (!key_valid(env->key)) {
                if (field)
                    *field = "k";
                return LEX_EFORMAT;
            }
            seen_k = 1;
        } else if (lex_mp_str_eq(k, "src")) {
            if ((rc = take_str(v, env->src, sizeof env->src, "src", field)) != 0)
                return rc;
            if (!lex_ori_valid(env->src)) {
                if (field)
                    *field = "src";
                return LEX_EFORMAT;
            }
            seen_src = 1;
        } else if (lex_mp_str_eq(k, "dst")) {
            if (v->type != MSGPACK_OBJECT_ARRAY) {
                if (field)
                    *field = "dst";
                return LEX_ETYPE;
            }
            if (v->via.array.size > LEX_DEST_MAX) {
                if (field)
                    *field = "dst";
                return LEX_ETOOMANYDEST;
            }
            env->ndst = 0;
            for (uint32_t j = 0; j < v->via.array.size; j++) {
                char *d = env->dst[env->ndst];
                if ((rc = take_str(&v->via.array.ptr[j], d, LEX_ORI_LEN + 1, "dst", field)) != 0)
                    return rc;
                if (!lex_state_valid(d) && !lex_ori_valid(d)) {
                    if (field)
                        *field = "dst";
                    return LEX_EFORMAT;
                }
                env->ndst++;
            }
        } else if (lex_mp_str_eq(k, "ctl")) {
            if ((rc = take_str(v, env->ctl, sizeof env->ctl, "ctl", field)) != 0)
                return rc;
        } else if (lex_mp_str_eq(k, "ref")) {
            if ((rc = lex_mp_uint(v, &env->ref)) != 0) {
                if (field)
                    *field = "ref";
                return rc;
            }
        } else if (lex_mp_str_eq(k, "pur")) {
            if ((rc = take_str(v, env->purpose, sizeof env->purpose, "pur", field)) != 0)
                return rc;
        } else if (lex_mp_str_eq(k, "ts")) {
            if ((rc = lex_mp_uint(v, &env->ts_us)) != 0) {
                if (field)
                    *field = "ts";
                return rc;
            }
        } else if (lex_mp_str_eq(k, "hop")) {
            if ((rc = lex_mp_uint(v, &num)) != 0 || num > LEX_HOPS_WIRE_MAX) {
                if (field)
                    *field = "hop";
                return rc ? rc : LEX_ELENGTH;
            }
            env->hops = (uint32_t)num;
        } else {
            if (field)
                *field = "(unknown envelope field)";
            return LEX_EUNKNOWNFIELD;
        }
    }
    if (!seen_v || !seen_id || !seen_k || !seen_src) {
        if (field)
            *field = !seen_v ? "v" : !seen_id ? "id" : !seen_k ? "k" : "src";
        return LEX_EMISSING;
    }
    return 0;
bad_v:
    if (field)
        *field = "v";
    return rc;
}

int lex_envelope_decode(const void *data, size_t len, lex_envelope_t *env, const char **field)
{
    if (field)
        *field = "";
    memset(env, 0, sizeof *env);
    if (len > LEX_ENVELOPE_MAX)
        return LEX_ETOOBIG;
    msgpack_unpacked up;
    int rc = lex_body_parse(data, len, &up);
    if (rc != 0)
        return rc;
    rc = decode_fields(&up.data, env, field);
    msgpack_unpacked_destroy(&up);
    return rc;
}
