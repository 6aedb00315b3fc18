/* test_catalogue.c: the message catalogue files and body validation: every
 * built-in key is present, and each kind of violation has its own code. */
#include <criterion/criterion.h>
#include <string.h>
#include "lex_body.h"
#include "lex_catalogue.h"
#include "lex_error.h"

TestSuite(catalogue);

static const lex_msgdef_t *def(const char *key)
{
    const lex_catalogue_t *cat = lex_catalogue_builtin();
    cr_assert_not_null(cat, "built-in catalogue failed to parse");
    const lex_msgdef_t *d = lex_catalogue_find(cat, key);
    cr_assert_not_null(d, "%s missing", key);
    return d;
}

Test(catalogue, every_first_set_key_is_built_in_with_its_pair)
{
    const char *pairs[][2] = {{"DQ", "DR"}, {"KQ", "KR"}, {"RQ", "RR"}, {"RNQ", "RNR"},
                              {"IMQ", "IMR"}, {"LPQ", "LPR"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        cr_assert_eq(def(pairs[i][0])->cls, LEX_CLASS_QUERY);
        cr_assert_str_eq(def(pairs[i][0])->pair, pairs[i][1]);
        cr_assert_eq(def(pairs[i][1])->cls, LEX_CLASS_RESPONSE);
    }
    cr_assert_eq(def("AM")->cls, LEX_CLASS_ADMIN);
    cr_assert_eq(def("ST")->cls, LEX_CLASS_STATUS);
    cr_assert_eq(def("HELLO")->cls, LEX_CLASS_SESSION);
    cr_assert_null(lex_catalogue_find(lex_catalogue_builtin(), "ZZ"));
}

typedef void (*packer_fn)(msgpack_packer *pk);

static int validate(const char *key, packer_fn fn, const char **field)
{
    lex_buf_t b;
    lex_buf_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, lex_buf_write);
    fn(&pk);
    int rc = lex_body_validate(def(key), b.data, b.len, field);
    lex_buf_free(&b);
    return rc;
}

static void dq_by_lic(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    lex_mp_pack_kv_str(pk, "lic", "A12345678");
}
static void dq_empty(msgpack_packer *pk) { msgpack_pack_map(pk, 0); }
static void dq_name_without_dob(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    lex_mp_pack_kv_str(pk, "name", "DOE,JANE");
}
static void dq_lic_int(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    lex_mp_pack_str(pk, "lic");
    msgpack_pack_int(pk, 5);
}
static void dq_lic_long(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    lex_mp_pack_kv_str(pk, "lic", "A123456789012345678901234567890");
}
static void dq_extra(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    lex_mp_pack_kv_str(pk, "lic", "A1");
    lex_mp_pack_kv_str(pk, "ssn", "123");
}
static void dq_twice(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    lex_mp_pack_kv_str(pk, "lic", "A1");
    lex_mp_pack_kv_str(pk, "lic", "A2");
}
static void kq_empty(msgpack_packer *pk) { msgpack_pack_map(pk, 0); }
static void not_map(msgpack_packer *pk) { msgpack_pack_array(pk, 0); }

Test(catalogue, licence_query_is_valid)
{
    cr_assert_eq(validate("DQ", dq_by_lic, NULL), 0);
}

Test(catalogue, query_with_neither_licence_nor_name_breaks_any_of)
{
    cr_assert_eq(validate("DQ", dq_empty, NULL), LEX_ECONSTRAINT);
}

Test(catalogue, name_without_birth_date_is_missing_dob)
{
    const char *field;
    cr_assert_eq(validate("DQ", dq_name_without_dob, &field), LEX_EMISSING);
    cr_assert_str_eq(field, "dob");
}

Test(catalogue, each_violation_has_its_own_code)
{
    const char *field;
    cr_assert_eq(validate("DQ", dq_lic_int, &field), LEX_ETYPE);
    cr_assert_str_eq(field, "lic");
    cr_assert_eq(validate("DQ", dq_lic_long, NULL), LEX_ELENGTH);
    cr_assert_eq(validate("DQ", dq_extra, NULL), LEX_EUNKNOWNFIELD);
    cr_assert_eq(validate("DQ", dq_twice, NULL), LEX_EDUPLICATE);
    cr_assert_eq(validate("KQ", kq_empty, &field), LEX_EMISSING);
    cr_assert_str_eq(field, "lic");
    cr_assert_eq(validate("DQ", not_map, NULL), LEX_ENOTMAP);
    cr_assert_eq(lex_body_validate(def("DQ"), "\xc1", 1, NULL), LEX_EMSGPACK);
}

Test(catalogue, bad_catalogue_file_reports_line_and_reason)
{
    const char *texts[] = {"key XQ\nclass query\nfield a strng\n", NULL};
    const char *names[] = {"XQ.msg", NULL};
    lex_catalogue_t *cat = NULL;
    char err[256];
    cr_assert_eq(lex_catalogue_parse(texts, names, &cat, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "XQ.msg:3:") != NULL, "%s", err);
    cr_assert_null(cat);
}
