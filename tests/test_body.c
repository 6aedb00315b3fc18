/* test_body.c: body helpers: status bodies and redaction at any depth. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_status.h"

TestSuite(body);

Test(body, status_body_round_trips_code_and_text)
{
    lex_buf_t b;
    lex_buf_init(&b);
    cr_assert_eq(lex_status_body(&b, LEX_ST_DENIED, "denied by rule"), 0);
    int code;
    char text[64];
    cr_assert_eq(lex_status_parse(b.data, b.len, &code, text, sizeof text), 0);
    cr_assert_eq(code, LEX_ST_DENIED);
    cr_assert_str_eq(text, "denied by rule");
    cr_assert_str_eq(lex_status_name(code), "denied");
    cr_assert_eq(lex_status_from_name("no-record"), LEX_ST_NO_RECORD);
    lex_buf_free(&b);
}

Test(body, redaction_removes_named_fields_inside_records)
{
    lex_buf_t in, out;
    lex_buf_init(&in);
    lex_buf_init(&out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &in, lex_buf_write);
    msgpack_pack_map(&pk, 2);
    lex_mp_pack_str(&pk, "records");
    msgpack_pack_array(&pk, 2);
    for (int i = 0; i < 2; i++) {
        msgpack_pack_map(&pk, 3);
        lex_mp_pack_kv_str(&pk, "name", "DOE,JANE");
        lex_mp_pack_kv_str(&pk, "address", "1 Main St");
        lex_mp_pack_kv_str(&pk, "photo", "img:1");
    }
    lex_mp_pack_kv_uint(&pk, "count", 2);
    const char *fields[] = {"address", "photo"};
    size_t removed = 0;
    cr_assert_eq(lex_body_remove_fields(in.data, in.len, fields, 2, &out, &removed), 0);
    cr_assert_eq(removed, 4);
    msgpack_unpacked up;
    cr_assert_eq(lex_body_parse(out.data, out.len, &up), 0);
    const msgpack_object *recs = lex_mp_get(&up.data, "records");
    cr_assert_eq(recs->via.array.size, 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_null(lex_mp_get(&recs->via.array.ptr[i], "address"));
        cr_assert_null(lex_mp_get(&recs->via.array.ptr[i], "photo"));
        cr_assert_not_null(lex_mp_get(&recs->via.array.ptr[i], "name"));
    }
    cr_assert_not_null(lex_mp_get(&up.data, "count"));
    msgpack_unpacked_destroy(&up);
    lex_buf_free(&in);
    lex_buf_free(&out);
}

Test(body, empty_frame_is_an_empty_map)
{
    msgpack_unpacked up;
    cr_assert_eq(lex_body_parse("", 0, &up), 0);
    cr_assert_eq(up.data.type, MSGPACK_OBJECT_MAP);
    cr_assert_eq(up.data.via.map.size, 0);
    msgpack_unpacked_destroy(&up);
}

Test(body, every_error_code_has_text)
{
    int codes[] = {LEX_ENOMEM, LEX_EMSGPACK, LEX_EMISSING, LEX_ETYPE, LEX_ELENGTH, LEX_EPARSE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        cr_assert_str_neq(lex_strerror(codes[i]), "unknown error");
    cr_assert_eq(lex_status_for_error(LEX_ETYPE), LEX_ST_BAD_BODY);
    cr_assert_eq(lex_status_for_error(LEX_EMSGPACK), LEX_ST_BAD_FRAME);
    cr_assert_eq(lex_status_for_error(LEX_ETOOBIG), LEX_ST_TOO_LARGE);
}

Test(body, frame_declaring_more_elements_than_bytes_is_refused)
{
    /* {"r": array32 of 4294967295 elements} and {"r": map32 ...} in 8 bytes:
     * msgpack-c would allocate every declared element before reading one */
    const unsigned char huge_array[] = {0x81, 0xa1, 'r', 0xdd, 0xff, 0xff, 0xff, 0xff};
    const unsigned char huge_map[] = {0x81, 0xa1, 'r', 0xdf, 0x10, 0x00, 0x00, 0x00};
    const unsigned char long_str[] = {0x81, 0xa1, 'r', 0xdb, 0x7f, 0xff, 0xff, 0xff, 'x'};
    const unsigned char two_short[] = {0x81, 0xa1, 'r', 0x93, 0xc0, 0xc0};
    msgpack_unpacked up;
    cr_assert_eq(lex_body_parse(huge_array, sizeof huge_array, &up), LEX_EMSGPACK);
    cr_assert_eq(lex_body_parse(huge_map, sizeof huge_map, &up), LEX_EMSGPACK);
    cr_assert_eq(lex_body_parse(long_str, sizeof long_str, &up), LEX_EMSGPACK);
    cr_assert_eq(lex_body_parse(two_short, sizeof two_short, &up), LEX_EMSGPACK);

    /* exactly as many elements as bytes, of every width, still parse */
    const unsigned char fits[] = {0x83, 0xa1, 'a', 0xdd, 0x00, 0x00, 0x00, 0x03, 0xc0, 0xc2, 0x01,
                                  0xa1, 'b', 0xdf, 0x00, 0x00, 0x00, 0x01, 0xa0, 0xd4, 0x01, 0x02,
                                  0xa1, 'c', 0xc7, 0x02, 0x05, 'h', 'i'};
    cr_assert_eq(lex_body_parse(fits, sizeof fits, &up), 0);
    cr_assert_eq(lex_mp_get(&up.data, "a")->via.array.size, 3);
    cr_assert_eq(lex_mp_get(&up.data, "b")->via.map.size, 1);
    cr_assert_eq(lex_mp_get(&up.data, "c")->type, MSGPACK_OBJECT_EXT);
    msgpack_unpacked_destroy(&up);
}

Test(body, utf8_check_takes_valid_text_and_refuses_the_rest)
{
    cr_assert(lex_utf8_valid("plain", 5));
    cr_assert(lex_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x93", 9));
    cr_assert(!lex_utf8_valid("\x80", 1), "a lone continuation byte");
    cr_assert(!lex_utf8_valid("\xc0\xaf", 2), "an overlong slash");
    cr_assert(!lex_utf8_valid("\xed\xb0\x80", 3), "a surrogate");
    cr_assert(!lex_utf8_valid("\xf5\x80\x80\x80", 4), "above U+10FFFF");
    cr_assert(!lex_utf8_valid("\xe2\x82", 2), "cut short");
}

/* Unpacks b and runs the strict check on it. */
static int check(const lex_buf_t *b)
{
    msgpack_unpacked up;
    cr_assert_eq(lex_body_parse(b->data, b->len, &up), 0);
    int rc = lex_mp_check(&up.data);
    msgpack_unpacked_destroy(&up);
    return rc;
}

Test(body, strict_check_finds_a_key_twice_at_any_depth)
{
    lex_buf_t b;
    lex_buf_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, lex_buf_write);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_str(&pk, "records");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    lex_mp_pack_kv_str(&pk, "name", "DOE,JANE");
    lex_mp_pack_kv_str(&pk, "name", "ROE,RICHARD");
    cr_assert_eq(check(&b), LEX_EDUPLICATE);

    /* a big map goes the sorted way: the duplicate is found there too */
    lex_buf_reset(&b);
    msgpack_pack_map(&pk, 1000);
    for (int i = 0; i < 1000; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i == 999 ? 17 : i);
        lex_mp_pack_kv_uint(&pk, k, (uint64_t)i);
    }
    cr_assert_eq(check(&b), LEX_EDUPLICATE);
    lex_buf_reset(&b);
    msgpack_pack_map(&pk, 1000);
    for (int i = 0; i < 1000; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        lex_mp_pack_kv_uint(&pk, k, (uint64_t)i);
    }
    cr_assert_eq(check(&b), 0, "1000 different keys");
    lex_buf_free(&b);
}

Test(body, strict_check_finds_bad_utf8_deep_and_leaves_bin_alone)
{
    lex_buf_t b;
    lex_buf_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, lex_buf_write);
    msgpack_pack_map(&pk, 2);
    lex_mp_pack_str(&pk, "photo");
    msgpack_pack_bin(&pk, 2);
    msgpack_pack_bin_body(&pk, "\xff\xfe", 2);
    lex_mp_pack_str(&pk, "records");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_kv_str(&pk, "name", "DOE,JANE");
    cr_assert_eq(check(&b), 0, "bytes in bin are not text");
    lex_buf_reset(&b);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_str(&pk, "records");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_kv_str(&pk, "name", "DOE\xc3\x28");
    cr_assert_eq(check(&b), LEX_EUTF8);
    lex_buf_free(&b);
}

Test(body, status_body_names_its_destination_and_keeps_text_utf8)
{
    lex_buf_t b;
    lex_buf_init(&b);
    cr_assert_eq(lex_status_body_dst(&b, LEX_ST_NO_ROUTE, "NV: \xff nobody", "NV"), 0);
    msgpack_unpacked up;
    cr_assert_eq(lex_body_parse(b.data, b.len, &up), 0);
    cr_assert_eq(up.data.via.map.size, 4);
    char dst[8], text[64];
    cr_assert_eq(lex_mp_str(lex_mp_get(&up.data, "dst"), dst, sizeof dst), 0);
    cr_assert_str_eq(dst, "NV");
    cr_assert_eq(lex_mp_str(lex_mp_get(&up.data, "text"), text, sizeof text), 0,
                 "the switch's own text is valid UTF-8");
    cr_assert_str_eq(text, "NV: ? nobody");
    cr_assert_eq(lex_mp_check(&up.data), 0);
    msgpack_unpacked_destroy(&up);
    lex_buf_free(&b);
}
