/* test_body.c: body helpers: status bodies and redaction at any depth. */
#include <criterion/criterion.h>
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
