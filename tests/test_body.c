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
