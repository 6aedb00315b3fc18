/* seeds.c: writes the binary seed inputs of the envelope and body fuzz
 * targets with our own codec, so the corpus follows the protocol as the code
 * speaks it: fuzz_seeds tests/fuzz. Envelopes go to corpus/envelope/, bodies
 * (first byte: the key's index in the catalogue) to corpus/body/, and the
 * catalogue's field names to dict/body.dict. Every body written must validate. */
#include <stdio.h>
#include <string.h>
#include <msgpack.h>
#include "lex_body.h"
#include "lex_buf.h"
#include "lex_catalogue.h"
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_status.h"

static const char *out_dir;
static int failures;

static void write_file(const char *sub, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/corpus/%s/%s", out_dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "fuzz_seeds: cannot write %s\n", path);
        failures++;
    }
}

static void envelope(const char *name, const char *key, const char *src, const char *const *dst,
                     const char *ctl, uint64_t ref, const char *purpose)
{
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = 4242;
    snprintf(env.key, sizeof env.key, "%s", key);
    snprintf(env.src, sizeof env.src, "%s", src);
    for (; dst && *dst; dst++)
        lex_envelope_add_dst(&env, *dst);
    snprintf(env.ctl, sizeof env.ctl, "%s", ctl);
    env.ref = ref;
    snprintf(env.purpose, sizeof env.purpose, "%s", purpose);
    env.ts_us = 1767225600000000ull;
    lex_buf_t b;
    lex_buf_init(&b);
    const char *field = NULL;
    if (lex_envelope_encode(&env, &b) != 0 || lex_envelope_decode(b.data, b.len, &env, &field) != 0) {
        fprintf(stderr, "fuzz_seeds: envelope %s does not round-trip (%s)\n", name, field);
        failures++;
    }
    write_file("envelope", name, b.data, b.len);
    lex_buf_free(&b);
}

static void envelopes(void)
{
    const char *nv[] = {"NV", NULL};
    const char *ori[] = {"CA0190000", NULL};
    const char *many[] = {"AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE",
                          "FL", "GA", "HI", "ID", "IL", "IN", "IA", "DC", NULL};
    const char *mixed[] = {"NV", "NV0020000", "DCICE0001", NULL};
    envelope("dq-query", "DQ", "CA0190000", nv, "case-17/a", 0, "C");
    envelope("dr-response", "DR", "NVDMV0000", ori, "case-17/a", 4242, "");
    envelope("hello", "HELLO", "NVDMV0000", NULL, "", 0, "");
    envelope("st-status", "ST", "NVDMV0000", ori, "", 77, "");
    envelope("am-sixteen-states", "AM", "DCICE0001", many, "broadcast", 0, "E");
    envelope("rq-mixed-dest", "RQ", "ILHSI0100", mixed, "x", 0, "J");
    envelope("rvq-operator", "RVQ", "ILDMV0000", NULL, "", 0, "");
}

/* Packs a value that satisfies field f. */
static void pack_value(msgpack_packer *pk, const lex_field_t *f)
{
    static const char photo[4] = {(char)0xff, (char)0xd8, (char)0xff, (char)0xe0};
    switch (f->type) {
    case LEX_FT_STR: {
        char value[16];
        snprintf(value, f->max && f->max < sizeof value ? f->max + 1 : sizeof value, "%s",
                 f->max == 2 ? "NV" : "G41936813ABCDEF");
        lex_mp_pack_str(pk, value);
        break;
    }
    case LEX_FT_INT:
        msgpack_pack_uint32(pk, 1);
        break;
    case LEX_FT_BOOL:
        msgpack_pack_true(pk);
        break;
    case LEX_FT_BIN:
        msgpack_pack_bin(pk, sizeof photo);
        msgpack_pack_bin_body(pk, photo, sizeof photo);
        break;
    case LEX_FT_ARRAY: /* one record with the names redact rules use */
        msgpack_pack_array(pk, 1);
        msgpack_pack_map(pk, 4);
        lex_mp_pack_kv_str(pk, "lic", "G41936813");
        lex_mp_pack_kv_str(pk, "dob", "1972-11-04");
        lex_mp_pack_str(pk, "address");
        msgpack_pack_map(pk, 2);
        lex_mp_pack_kv_str(pk, "street", "1 Main St");
        lex_mp_pack_kv_str(pk, "city", "Reno");
        lex_mp_pack_kv_str(pk, "photo", "ph-1");
        break;
    case LEX_FT_MAP:
        msgpack_pack_map(pk, 1);
        lex_mp_pack_kv_str(pk, "k", "v");
        break;
    }
}

/* Writes a body of def with the fields in mask (bit i = field i). */
static void body(size_t index, const lex_msgdef_t *def, const char *what, uint32_t mask)
{
    lex_buf_t b;
    lex_buf_init(&b);
    unsigned char tag = (unsigned char)index;
    lex_buf_append(&b, &tag, 1);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, lex_buf_write);
    size_t n = 0;
    for (uint32_t i = 0; i < def->nfields; i++)
        n += (mask >> i) & 1u;
    msgpack_pack_map(&pk, n);
    for (uint32_t i = 0; i < def->nfields; i++)
        if (mask & (1u << i)) {
            lex_mp_pack_str(&pk, def->fields[i].name);
            pack_value(&pk, &def->fields[i]);
        }
    const char *field = NULL;
    int rc = lex_body_validate(def, b.data + 1, b.len - 1, &field);
    if (rc == 0) {
        char name[64];
        snprintf(name, sizeof name, "%s-%s", def->key, what);
        write_file("body", name, b.data, b.len);
    } else if (strcmp(what, "all") == 0) {
        fprintf(stderr, "fuzz_seeds: %s with every field is invalid: %s %s\n", def->key,
                lex_errname(rc), field);
        failures++;
    }
    lex_buf_free(&b);
}

static void bodies(void)
{
    const lex_catalogue_t *cat = lex_catalogue_builtin();
    char path[1024];
    snprintf(path, sizeof path, "%s/dict/body.dict", out_dir);
    FILE *dict = fopen(path, "w");
    if (!dict) {
        fprintf(stderr, "fuzz_seeds: cannot write %s\n", path);
        failures++;
        return;
    }
    fprintf(dict, "# body.dict: field names of the message catalogue (written by fuzz_seeds)\n");
    for (size_t k = 0; k < lex_catalogue_count(cat); k++) {
        const lex_msgdef_t *def = lex_catalogue_at(cat, k);
        uint32_t all = def->nfields >= 32 ? 0xffffffffu : (1u << def->nfields) - 1;
        uint32_t required = 0;
        for (uint32_t i = 0; i < def->nfields; i++) {
            required |= (uint32_t)def->fields[i].required << i;
            fprintf(dict, "\"%s\"\n", def->fields[i].name);
        }
        body(k, def, "all", all);
        if (required != all)
            body(k, def, "required", required);
        for (uint32_t i = 0; i < def->nfields; i++) /* each optional field alone, on top */
            if (!def->fields[i].required)
                body(k, def, def->fields[i].name, required | 1u << i);
    }
    fclose(dict);
    /* a real status body, as the switch writes it */
    lex_buf_t b;
    lex_buf_init(&b);
    const lex_msgdef_t *st = lex_catalogue_find(cat, "ST");
    for (size_t k = 0; k < lex_catalogue_count(cat); k++)
        if (lex_catalogue_at(cat, k) == st) {
            unsigned char tag = (unsigned char)k;
            lex_buf_append(&b, &tag, 1);
        }
    lex_status_body(&b, LEX_ST_DENIED, "denied by rule il-hsi-other");
    write_file("body", "ST-switch", b.data, b.len);
    lex_buf_free(&b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds tests/fuzz   (writes corpus/envelope, corpus/body, "
                        "dict/body.dict)\n");
        return 2;
    }
    out_dir = argv[1];
    envelopes();
    bodies();
    return failures ? 1 : 0;
}
