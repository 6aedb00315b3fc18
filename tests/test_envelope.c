/* test_envelope.c: the envelope codec: round trips, and one error code per
 * kind of violation (schemas/envelope.c). */
#include <criterion/criterion.h>
#include <string.h>
#include "lex_body.h"
#include "lex_envelope.h"
#include "lex_error.h"

static lex_envelope_t sample(void)
{
    lex_envelope_t e;
    lex_envelope_init(&e);
    e.id = 77;
    strcpy(e.key, "DQ");
    strcpy(e.src, "CA0190000");
    lex_envelope_add_dst(&e, "NV");
    lex_envelope_add_dst(&e, "AZDMV0000");
    strcpy(e.ctl, "case 12");
    e.ref = 5;
    strcpy(e.purpose, "C");
    e.ts_us = 123456789;
    return e;
}

TestSuite(envelope);

Test(envelope, round_trip_keeps_every_field)
{
    lex_envelope_t in = sample(), out;
    lex_buf_t b;
    lex_buf_init(&b);
    cr_assert_eq(lex_envelope_encode(&in, &b), 0);
    cr_assert_eq(lex_envelope_decode(b.data, b.len, &out, NULL), 0);
    cr_assert_eq(out.id, 77);
    cr_assert_str_eq(out.key, "DQ");
    cr_assert_str_eq(out.src, "CA0190000");
    cr_assert_eq(out.ndst, 2);
    cr_assert_str_eq(out.dst[1], "AZDMV0000");
    cr_assert_str_eq(out.ctl, "case 12");
    cr_assert_eq(out.ref, 5);
    cr_assert_str_eq(out.purpose, "C");
    cr_assert_eq(out.ts_us, 123456789);
    lex_buf_free(&b);
}

/* Packs a map from alternating key/value strings; values starting with '#'
 * are packed as unsigned integers. */
static void pack_map(lex_buf_t *b, const char *const *kv)
{
    size_t n = 0;
    while (kv[2 * n])
        n++;
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, lex_buf_write);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < n; i++) {
        lex_mp_pack_str(&pk, kv[2 * i]);
        const char *v = kv[2 * i + 1];
        if (v[0] == '#')
            msgpack_pack_uint64(&pk, strtoull(v + 1, NULL, 10));
        else
            lex_mp_pack_str(&pk, v);
    }
}

static int decode_kv(const char *const *kv, const char **field)
{
    lex_buf_t b;
    lex_buf_init(&b);
    pack_map(&b, kv);
    lex_envelope_t e;
    int rc = lex_envelope_decode(b.data, b.len, &e, field);
    lex_buf_free(&b);
    return rc;
}

Test(envelope, missing_source_is_missing_field)
{
    const char *kv[] = {"v", "#1", "id", "#1", "k", "DQ", NULL};
    const char *field;
    cr_assert_eq(decode_kv(kv, &field), LEX_EMISSING);
    cr_assert_str_eq(field, "src");
}

Test(envelope, string_id_is_wrong_type)
{
    const char *kv[] = {"v", "#1", "id", "one", "k", "DQ", "src", "CA0190000", NULL};
    cr_assert_eq(decode_kv(kv, NULL), LEX_ETYPE);
}

Test(envelope, short_ori_is_bad_format)
{
    const char *kv[] = {"v", "#1", "id", "#1", "k", "DQ", "src", "CA019", NULL};
    cr_assert_eq(decode_kv(kv, NULL), LEX_EFORMAT);
}

Test(envelope, long_ori_is_too_long)
{
    const char *kv[] = {"v", "#1", "id", "#1", "k", "DQ", "src", "CA01900000000", NULL};
    cr_assert_eq(decode_kv(kv, NULL), LEX_ELENGTH);
}

Test(envelope, unknown_field_is_refused)
{
    const char *kv[] = {"v", "#1", "id", "#1", "k", "DQ", "src", "CA0190000", "zz", "x", NULL};
    cr_assert_eq(decode_kv(kv, NULL), LEX_EUNKNOWNFIELD);
}

Test(envelope, version_two_is_unsupported)
{
    const char *kv[] = {"v", "#2", "id", "#1", "k", "DQ", "src", "CA0190000", NULL};
    cr_assert_eq(decode_kv(kv, NULL), LEX_EVERSION);
}

Test(envelope, lower_case_key_is_bad_format)
{
    const char *kv[] = {"v", "#1", "id", "#1", "k", "dq", "src", "CA0190000", NULL};
    cr_assert_eq(decode_kv(kv, NULL), LEX_EFORMAT);
}

Test(envelope, unknown_state_destination_is_bad_format)
{
    lex_envelope_t e = sample();
    strcpy(e.dst[0], "ZZ");
    lex_buf_t b;
    lex_buf_init(&b);
    lex_envelope_encode(&e, &b);
    lex_envelope_t out;
    cr_assert_eq(lex_envelope_decode(b.data, b.len, &out, NULL), LEX_EFORMAT);
    lex_buf_free(&b);
}

Test(envelope, seventeen_destinations_are_too_many)
{
    lex_buf_t b;
    lex_buf_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, lex_buf_write);
    msgpack_pack_map(&pk, 5);
    lex_mp_pack_kv_uint(&pk, "v", 1);
    lex_mp_pack_kv_uint(&pk, "id", 1);
    lex_mp_pack_kv_str(&pk, "k", "DQ");
    lex_mp_pack_kv_str(&pk, "src", "CA0190000");
    lex_mp_pack_str(&pk, "dst");
    msgpack_pack_array(&pk, 17);
    for (int i = 0; i < 17; i++)
        lex_mp_pack_str(&pk, "NV");
    lex_envelope_t e;
    cr_assert_eq(lex_envelope_decode(b.data, b.len, &e, NULL), LEX_ETOOMANYDEST);
    lex_buf_free(&b);
}

Test(envelope, garbage_and_trailing_bytes_are_not_msgpack)
{
    lex_envelope_t e;
    cr_assert_eq(lex_envelope_decode("\xc1", 1, &e, NULL), LEX_EMSGPACK);
    lex_envelope_t in = sample();
    lex_buf_t b;
    lex_buf_init(&b);
    lex_envelope_encode(&in, &b);
    lex_buf_append(&b, "\x01", 1);
    cr_assert_eq(lex_envelope_decode(b.data, b.len, &e, NULL), LEX_EMSGPACK);
    cr_assert_eq(lex_envelope_decode("\x93\x01\x02\x03", 4, &e, NULL), LEX_ENOTMAP);
    lex_buf_free(&b);
}

Test(envelope, oversized_envelope_is_too_big)
{
    static char big[LEX_ENVELOPE_MAX + 10];
    lex_envelope_t e;
    cr_assert_eq(lex_envelope_decode(big, sizeof big, &e, NULL), LEX_ETOOBIG);
}

Test(envelope, ori_and_state_checks)
{
    cr_assert(lex_ori_valid("NV0020000"));
    cr_assert_not(lex_ori_valid("nv0020000"));
    cr_assert_not(lex_ori_valid("NV002000"));
    cr_assert(lex_state_valid("DC"));
    cr_assert(lex_state_valid("PR"));
    cr_assert_not(lex_state_valid("XX"));
}

Test(envelope, envelope_declaring_a_huge_id_array_is_not_msgpack)
{
    /* found by fuzzing: an "id" value declared as an array of 278 million
     * elements, in a 116-byte frame */
    const unsigned char frame[] = {0x88, 0xa1, 'v', 0x01, 0xa2, 'i', 'd', 0xdd, 0x10, 0x92, 0xa1,
                                   0x6b, 0xa2, 0xc1, 0x4d};
    lex_envelope_t env;
    const char *field = NULL;
    cr_assert_eq(lex_envelope_decode(frame, sizeof frame, &env, &field), LEX_EMSGPACK);
}

Test(envelope, hop_count_is_optional_and_round_trips)
{
    lex_envelope_t in = sample(), out;
    lex_buf_t b;
    lex_buf_init(&b);
    cr_assert_eq(lex_envelope_encode(&in, &b), 0);
    size_t without = b.len;
    cr_assert_eq(lex_envelope_decode(b.data, b.len, &out, NULL), 0);
    cr_assert_eq(out.hops, 0, "no hop field means 0");
    lex_buf_reset(&b);
    in.hops = 3;
    cr_assert_eq(lex_envelope_encode(&in, &b), 0);
    cr_assert_gt(b.len, without, "a non-zero hop count is on the wire");
    cr_assert_eq(lex_envelope_decode(b.data, b.len, &out, NULL), 0);
    cr_assert_eq(out.hops, 3);
    lex_buf_free(&b);
}

Test(envelope, hop_count_over_255_or_not_a_number_is_refused)
{
    const char *field;
    const char *big[] = {"v", "#1", "id", "#1", "k", "DQ", "src", "CA0190000", "hop", "#256",
                         NULL};
    cr_assert_neq(decode_kv(big, &field), 0);
    cr_assert_str_eq(field, "hop");
    const char *text[] = {"v", "#1", "id", "#1", "k", "DQ", "src", "CA0190000", "hop", "two",
                          NULL};
    cr_assert_eq(decode_kv(text, &field), LEX_ETYPE);
    cr_assert_str_eq(field, "hop");
    const char *ok[] = {"v", "#1", "id", "#1", "k", "DQ", "src", "CA0190000", "hop", "#255",
                        NULL};
    cr_assert_eq(decode_kv(ok, NULL), 0);
}

Test(envelope, a_field_given_twice_is_refused_whichever_copy_comes_first)
{
    const char *same[] = {"v", "#1", "id", "#1", "k", "DQ", "src", "CA0190000", "src",
                          "CA0190000", NULL};
    const char *field;
    cr_assert_eq(decode_kv(same, &field), LEX_EDUPLICATE);
    cr_assert_str_eq(field, "src");
    const char *differ[] = {"v", "#1", "id", "#1", "k", "DQ", "src", "CA0190000", "pur", "C",
                            "pur", "E", NULL};
    cr_assert_eq(decode_kv(differ, &field), LEX_EDUPLICATE);
    cr_assert_str_eq(field, "pur");
    const char *ids[] = {"id", "#1", "v", "#1", "id", "#2", "k", "DQ", "src", "CA0190000", NULL};
    cr_assert_eq(decode_kv(ids, &field), LEX_EDUPLICATE);
    cr_assert_str_eq(field, "id");
}

Test(envelope, a_string_that_is_not_utf8_is_refused)
{
    const char *bad[] = {"\xff", "\xc3\x28", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                         "ok\xc3", NULL};
    for (int i = 0; bad[i]; i++) {
        const char *kv[] = {"v", "#1", "id", "#1", "k", "DQ", "src", "CA0190000", "ctl", bad[i],
                            NULL};
        const char *field;
        cr_assert_eq(decode_kv(kv, &field), LEX_EUTF8, "case %d", i);
        cr_assert_str_eq(field, "ctl");
    }
    const char *good[] = {"v", "#1", "id", "#1", "k", "DQ", "src", "CA0190000", "ctl",
                          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x93", NULL};
    cr_assert_eq(decode_kv(good, NULL), 0, "multi-byte UTF-8 is fine");
}
