/* test_population.c: the synthetic state populations (nodes/population.c):
 * records are the same on every build, every code a record carries leads
 * back to it, codes nobody holds are not found, and the responder's answers
 * and the requester's queries pass the message catalogue. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "lex_body.h"
#include "lex_catalogue.h"
#include "lex_error.h"
#include "lex_population.h"
#include "lex_status.h"

#define DRIVERS 4000
#define VEHICLES 4000

static lex_population_t *pop;

static void build(void)
{
    cr_assert_eq(lex_population_new("NV", DRIVERS, VEHICLES, &pop), 0);
}

static void teardown(void)
{
    lex_population_destroy(&pop);
}

TestSuite(population, .init = build, .fini = teardown);

/* Answers a query and checks the answer against the catalogue. */
static void ask(const char *key, const lex_buf_t *q, char resp[LEX_KEY_MAX + 1], lex_buf_t *out)
{
    lex_buf_reset(out);
    cr_assert_eq(lex_population_answer(pop, key, q->data, q->len, resp, out), 0);
    const lex_msgdef_t *def = lex_catalogue_find(lex_catalogue_builtin(), resp);
    cr_assert_not_null(def, "answer key %s is not in the catalogue", resp);
    const char *field = NULL;
    int rc = lex_body_validate(def, out->data, out->len, &field);
    cr_assert_eq(rc, 0, "%s answer fails validation at '%s': %s", resp, field, lex_strerror(rc));
}

static void query_str(lex_buf_t *q, const char *k1, const char *v1, const char *k2,
                      const char *v2)
{
    msgpack_packer pk;
    lex_buf_reset(q);
    msgpack_packer_init(&pk, q, lex_buf_write);
    msgpack_pack_map(&pk, k2 ? 2 : 1);
    lex_mp_pack_kv_str(&pk, k1, v1);
    if (k2)
        lex_mp_pack_kv_str(&pk, k2, v2);
}

static int status_of(const lex_buf_t *body)
{
    int code = -1;
    cr_assert_eq(lex_status_parse(body->data, body->len, &code, NULL, 0), 0);
    return code;
}

static void field_str(const msgpack_object *map, const char *name, char *buf, size_t size)
{
    cr_assert_eq(lex_mp_str(lex_mp_get(map, name), buf, size), 0, "field %s", name);
}

Test(population, same_state_and_size_give_the_same_people_twice)
{
    lex_population_t *again = NULL;
    cr_assert_eq(lex_population_new("NV", DRIVERS, VEHICLES, &again), 0);
    for (uint32_t i = 0; i < DRIVERS; i += 7) {
        lex_driver_t a, b;
        lex_population_driver(pop, i, &a);
        lex_population_driver(again, i, &b);
        cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "driver %u differs", i);
        lex_history_t ha[4], hb[4];
        size_t na = lex_population_history(pop, i, ha, 4);
        cr_assert_eq(na, lex_population_history(again, i, hb, 4));
        cr_assert_eq(memcmp(ha, hb, na * sizeof ha[0]), 0);
    }
    for (uint32_t i = 0; i < VEHICLES; i += 7) {
        lex_vehicle_t a, b;
        lex_population_vehicle(pop, i, &a);
        lex_population_vehicle(again, i, &b);
        cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "vehicle %u differs", i);
    }
    lex_population_destroy(&again);
    cr_assert_null(again);
}

Test(population, other_states_hold_other_people)
{
    lex_population_t *ut = NULL;
    cr_assert_eq(lex_population_new("UT", DRIVERS, VEHICLES, &ut), 0);
    cr_assert_str_eq(lex_population_state(ut), "UT");
    int same = 0;
    for (uint32_t i = 0; i < 200; i++) {
        lex_driver_t a, b;
        lex_population_driver(pop, i, &a);
        lex_population_driver(ut, i, &b);
        same += strcmp(a.lic, b.lic) == 0 || strcmp(a.name, b.name) == 0;
    }
    cr_assert_lt(same, 20, "%d of 200 UT records look like NV's", same);
    lex_population_destroy(&ut);
}

Test(population, driver_records_are_well_formed)
{
    int female = 0, valid = 0, class_c = 0;
    for (uint32_t i = 0; i < DRIVERS; i++) {
        lex_driver_t d;
        lex_population_driver(pop, i, &d);
        cr_assert_eq(d.index, i);
        cr_assert_eq(strlen(d.lic), 9, "lic %s", d.lic);
        cr_assert(isupper((unsigned char)d.lic[0]));
        for (int k = 1; k < 9; k++)
            cr_assert(isdigit((unsigned char)d.lic[k]), "lic %s", d.lic);
        const char *comma = strchr(d.name, ',');
        cr_assert(comma && comma > d.name && comma[1], "name %s", d.name);
        int year = atoi(d.dob);
        cr_assert(year >= 1940 && year <= 2007, "dob %s", d.dob);
        cr_assert_eq(strlen(d.dob), 10);
        cr_assert(d.sex[0] == 'M' || d.sex[0] == 'F');
        cr_assert(isdigit((unsigned char)d.address[0]), "address %s", d.address);
        cr_assert_eq(strlen(d.zip), 5);
        cr_assert(d.city[0]);
        cr_assert(strchr("ABCM", d.cls[0]) && d.cls[0]);
        cr_assert_eq(strlen(d.expiry), 10);
        char photo[32];
        snprintf(photo, sizeof photo, "img:NV:%s", d.lic);
        cr_assert_str_eq(d.photo, photo);
        female += d.sex[0] == 'F';
        valid += strcmp(d.status, "VALID") == 0;
        class_c += d.cls[0] == 'C';
    }
    cr_assert(female > DRIVERS / 3 && female < DRIVERS * 2 / 3, "%d women", female);
    cr_assert_gt(valid, DRIVERS * 8 / 10);
    cr_assert_gt(class_c, DRIVERS * 7 / 10);
}

Test(population, licence_lookup_finds_the_generated_driver)
{
    for (uint32_t i = 0; i < DRIVERS; i++) {
        lex_driver_t d;
        lex_population_driver(pop, i, &d);
        uint32_t got = UINT32_MAX;
        cr_assert_eq(lex_population_find_lic(pop, d.lic, &got), 0, "lic %s", d.lic);
        cr_assert_eq(got, i);
    }
    lex_driver_t d;
    lex_population_driver(pop, 123, &d);
    char lower[16];
    snprintf(lower, sizeof lower, "%s", d.lic);
    lower[0] = (char)tolower((unsigned char)lower[0]);
    uint32_t got = 0;
    cr_assert_eq(lex_population_find_lic(pop, lower, &got), 0);
    cr_assert_eq(got, 123);
}

Test(population, licence_numbers_outside_the_population_are_not_found)
{
    lex_population_t *big = NULL;
    cr_assert_eq(lex_population_new("NV", DRIVERS * 2, VEHICLES * 2, &big), 0);
    for (uint32_t i = 0; i < DRIVERS * 2; i += 3) {
        lex_driver_t d;
        lex_population_driver(big, i, &d);
        int rc = lex_population_find_lic(pop, d.lic, NULL);
        cr_assert_eq(rc, i < DRIVERS ? 0 : LEX_ENOTFOUND, "index %u lic %s", i, d.lic);
    }
    for (uint32_t i = 0; i < VEHICLES * 2; i += 3) {
        lex_vehicle_t v;
        lex_population_vehicle(big, i, &v);
        int want = i < VEHICLES ? 0 : LEX_ENOTFOUND;
        cr_assert_eq(lex_population_find_plate(pop, v.plate, NULL), want, "plate %s", v.plate);
        cr_assert_eq(lex_population_find_vin(pop, v.vin, NULL), want, "vin %s", v.vin);
    }
    lex_population_destroy(&big);

    lex_driver_t d;
    lex_population_driver(pop, 5, &d);
    char wrong[16];
    snprintf(wrong, sizeof wrong, "%s", d.lic);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    cr_assert_eq(lex_population_find_lic(pop, wrong, NULL), LEX_ENOTFOUND);
    const char *junk[] = {"", "A1234567", "A123456789", "12345678A", "A12345X78", "ABCDEFGHI"};
    for (size_t k = 0; k < sizeof junk / sizeof junk[0]; k++)
        cr_assert_eq(lex_population_find_lic(pop, junk[k], NULL), LEX_ENOTFOUND, "%s", junk[k]);
    cr_assert_eq(lex_population_find_plate(pop, "IOQ1234", NULL), LEX_ENOTFOUND);
    cr_assert_eq(lex_population_find_plate(pop, "ABC12", NULL), LEX_ENOTFOUND);
    cr_assert_eq(lex_population_find_vin(pop, "1HGCM82633A004352", NULL), LEX_ENOTFOUND);
}

Test(population, plate_and_vin_lookups_find_the_generated_vehicle)
{
    for (uint32_t i = 0; i < VEHICLES; i++) {
        lex_vehicle_t v;
        lex_population_vehicle(pop, i, &v);
        cr_assert_eq(strlen(v.plate), 7, "plate %s", v.plate);
        for (int k = 0; k < 3; k++)
            cr_assert(isupper((unsigned char)v.plate[k]), "plate %s", v.plate);
        for (int k = 3; k < 7; k++)
            cr_assert(isdigit((unsigned char)v.plate[k]), "plate %s", v.plate);
        cr_assert_eq(strlen(v.vin), 17, "vin %s", v.vin);
        cr_assert_null(strpbrk(v.vin, "IOQ"), "vin %s", v.vin);
        cr_assert(v.year >= 1990 && v.year <= 2026);
        cr_assert_lt(v.owner, DRIVERS);
        uint32_t got = UINT32_MAX;
        cr_assert_eq(lex_population_find_plate(pop, v.plate, &got), 0, "plate %s", v.plate);
        cr_assert_eq(got, i);
        got = UINT32_MAX;
        cr_assert_eq(lex_population_find_vin(pop, v.vin, &got), 0, "vin %s", v.vin);
        cr_assert_eq(got, i);
    }
}

Test(population, a_vin_with_one_character_changed_is_not_found)
{
    lex_vehicle_t v;
    lex_population_vehicle(pop, 77, &v);
    for (int pos = 0; pos < 17; pos++) {
        char bent[18];
        memcpy(bent, v.vin, sizeof bent);
        bent[pos] = bent[pos] == '7' ? '8' : '7';
        uint32_t got = UINT32_MAX;
        int rc = lex_population_find_vin(pop, bent, &got);
        cr_assert(rc == LEX_ENOTFOUND || got != 77, "changed position %d still finds 77", pos);
    }
}

Test(population, every_vehicle_is_listed_under_its_owner)
{
    size_t total = 0;
    for (uint32_t d = 0; d < DRIVERS; d++) {
        uint32_t owned[8];
        size_t n = lex_population_vehicles_of(pop, d, owned, 8);
        cr_assert_leq(n, 3, "driver %u owns %zu vehicles", d, n);
        for (size_t k = 0; k < n; k++) {
            lex_vehicle_t v;
            lex_population_vehicle(pop, owned[k], &v);
            cr_assert_eq(v.owner, d);
        }
        total += n;
    }
    cr_assert_eq(total, VEHICLES);
    for (uint32_t i = 0; i < VEHICLES; i += 13) {
        lex_vehicle_t v;
        lex_population_vehicle(pop, i, &v);
        uint32_t owned[8];
        size_t n = lex_population_vehicles_of(pop, v.owner, owned, 8), k = 0;
        while (k < n && owned[k] != i)
            k++;
        cr_assert_lt(k, n, "vehicle %u missing from its owner's list", i);
    }
}

Test(population, name_and_birth_date_find_the_driver)
{
    for (uint32_t i = 0; i < DRIVERS; i += 3) {
        lex_driver_t d;
        lex_population_driver(pop, i, &d);
        uint32_t found[16];
        size_t n = lex_population_find_name(pop, d.name, d.dob, NULL, found, 16), k = 0;
        while (k < n && found[k] != i)
            k++;
        cr_assert_lt(k, n, "%s %s not found", d.name, d.dob);
        for (k = 0; k < n; k++) {
            lex_driver_t o;
            lex_population_driver(pop, found[k], &o);
            cr_assert_str_eq(o.name, d.name);
            cr_assert_str_eq(o.dob, d.dob);
        }
    }
}

Test(population, sex_narrows_a_name_search)
{
    lex_driver_t d;
    lex_population_driver(pop, 321, &d);
    uint32_t found[16];
    size_t n = lex_population_find_name(pop, d.name, d.dob, d.sex, found, 16);
    cr_assert_geq(n, 1);
    const char *other = d.sex[0] == 'M' ? "F" : "M";
    size_t m = lex_population_find_name(pop, d.name, d.dob, other, found, 16);
    for (size_t k = 0; k < m; k++)
        cr_assert_neq(found[k], 321);
}

Test(population, name_search_ignores_case_and_spaces_at_the_comma)
{
    lex_driver_t d;
    lex_population_driver(pop, 999, &d);
    char loose[96];
    const char *comma = strchr(d.name, ',');
    snprintf(loose, sizeof loose, " %.*s , %s ", (int)(comma - d.name), d.name, comma + 1);
    for (char *p = loose; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    uint32_t found[16];
    size_t n = lex_population_find_name(pop, loose, d.dob, NULL, found, 16), k = 0;
    while (k < n && found[k] != 999)
        k++;
    cr_assert_lt(k, n, "'%s' did not find %s", loose, d.name);
    cr_assert_eq(lex_population_find_name(pop, d.name, "1900-01-01", NULL, found, 16), 0);
    cr_assert_eq(lex_population_find_name(pop, "NOBODY,ATALL", d.dob, NULL, found, 16), 0);
}

Test(population, history_is_short_dated_and_explains_suspensions)
{
    int with_history = 0;
    for (uint32_t i = 0; i < DRIVERS; i++) {
        lex_history_t h[4];
        size_t n = lex_population_history(pop, i, h, 4);
        cr_assert_leq(n, 4);
        with_history += n > 0;
        for (size_t k = 0; k < n; k++) {
            cr_assert_eq(strlen(h[k].date), 10);
            cr_assert(strcmp(h[k].kind, "conviction") == 0 || strcmp(h[k].kind, "suspension") == 0);
            cr_assert(h[k].text[0]);
            if (k)
                cr_assert_leq(strcmp(h[k - 1].date, h[k].date), 0, "history out of order");
        }
        lex_driver_t d;
        lex_population_driver(pop, i, &d);
        if (strcmp(d.status, "SUSPENDED") == 0 || strcmp(d.status, "REVOKED") == 0) {
            int suspended = 0;
            for (size_t k = 0; k < n; k++)
                suspended |= strcmp(h[k].kind, "suspension") == 0;
            cr_assert(suspended, "driver %u is %s with no suspension on file", i, d.status);
        }
        lex_history_t one[1];
        cr_assert_eq(lex_population_history(pop, i, one, 1), n ? 1 : 0);
    }
    cr_assert(with_history > DRIVERS / 10 && with_history < DRIVERS * 7 / 10);
}

Test(population, licence_query_answers_with_the_driver_record)
{
    lex_driver_t d;
    lex_population_driver(pop, 42, &d);
    lex_buf_t q, out;
    lex_buf_init(&q);
    lex_buf_init(&out);
    char resp[LEX_KEY_MAX + 1];
    query_str(&q, "lic", d.lic, NULL, NULL);
    ask("DQ", &q, resp, &out);
    cr_assert_str_eq(resp, "DR");
    msgpack_unpacked up;
    cr_assert_eq(lex_body_parse(out.data, out.len, &up), 0);
    const msgpack_object *recs = lex_mp_get(&up.data, "records");
    cr_assert_eq(recs->type, MSGPACK_OBJECT_ARRAY);
    cr_assert_eq(recs->via.array.size, 1);
    uint64_t count = 0;
    cr_assert_eq(lex_mp_uint(lex_mp_get(&up.data, "count"), &count), 0);
    cr_assert_eq(count, 1);
    const msgpack_object *rec = &recs->via.array.ptr[0];
    char got[96];
    field_str(rec, "lic", got, sizeof got);
    cr_assert_str_eq(got, d.lic);
    field_str(rec, "name", got, sizeof got);
    cr_assert_str_eq(got, d.name);
    field_str(rec, "address", got, sizeof got);
    cr_assert_str_eq(got, d.address);
    field_str(rec, "photo", got, sizeof got);
    cr_assert_str_eq(got, d.photo);
    field_str(rec, "class", got, sizeof got);
    cr_assert_str_eq(got, d.cls);
    msgpack_unpacked_destroy(&up);
    lex_buf_free(&q);
    lex_buf_free(&out);
}

Test(population, name_query_answers_with_every_match)
{
    lex_driver_t d;
    lex_population_driver(pop, 1234, &d);
    lex_buf_t q, out;
    lex_buf_init(&q);
    lex_buf_init(&out);
    char resp[LEX_KEY_MAX + 1];
    query_str(&q, "name", d.name, "dob", d.dob);
    ask("DQ", &q, resp, &out);
    cr_assert_str_eq(resp, "DR");
    msgpack_unpacked up;
    cr_assert_eq(lex_body_parse(out.data, out.len, &up), 0);
    const msgpack_object *recs = lex_mp_get(&up.data, "records");
    int seen = 0;
    for (uint32_t k = 0; k < recs->via.array.size; k++) {
        char lic[32];
        field_str(&recs->via.array.ptr[k], "lic", lic, sizeof lic);
        seen |= strcmp(lic, d.lic) == 0;
    }
    cr_assert(seen);
    msgpack_unpacked_destroy(&up);
    lex_buf_free(&q);
    lex_buf_free(&out);
}

Test(population, history_vehicle_owner_and_photo_queries_answer_in_catalogue_form)
{
    lex_buf_t q, out;
    lex_buf_init(&q);
    lex_buf_init(&out);
    char resp[LEX_KEY_MAX + 1];
    lex_vehicle_t v;
    lex_population_vehicle(pop, 300, &v);
    lex_driver_t owner;
    lex_population_driver(pop, v.owner, &owner);

    query_str(&q, "lic", owner.lic, NULL, NULL);
    ask("KQ", &q, resp, &out);
    cr_assert_str_eq(resp, "KR");

    query_str(&q, "plate", v.plate, "plate_state", "NV");
    ask("RQ", &q, resp, &out);
    cr_assert_str_eq(resp, "RR");
    msgpack_unpacked up;
    cr_assert_eq(lex_body_parse(out.data, out.len, &up), 0);
    const msgpack_object *veh = &lex_mp_get(&up.data, "vehicles")->via.array.ptr[0];
    char got[64];
    field_str(veh, "vin", got, sizeof got);
    cr_assert_str_eq(got, v.vin);
    field_str(lex_mp_get(veh, "owner"), "lic", got, sizeof got);
    cr_assert_str_eq(got, owner.lic);
    msgpack_unpacked_destroy(&up);

    query_str(&q, "vin", v.vin, NULL, NULL);
    ask("RQ", &q, resp, &out);
    cr_assert_str_eq(resp, "RR");

    query_str(&q, "name", owner.name, "dob", owner.dob);
    ask("RNQ", &q, resp, &out);
    cr_assert_str_eq(resp, "RNR");
    cr_assert_eq(lex_body_parse(out.data, out.len, &up), 0);
    const msgpack_object *list = lex_mp_get(&up.data, "vehicles");
    int seen = 0;
    for (uint32_t k = 0; k < list->via.array.size; k++) {
        field_str(&list->via.array.ptr[k], "plate", got, sizeof got);
        seen |= strcmp(got, v.plate) == 0;
    }
    cr_assert(seen, "RNR lacks the owner's vehicle %s", v.plate);
    msgpack_unpacked_destroy(&up);

    query_str(&q, "lic", owner.lic, NULL, NULL);
    ask("IMQ", &q, resp, &out);
    cr_assert_str_eq(resp, "IMR");
    cr_assert_eq(lex_body_parse(out.data, out.len, &up), 0);
    const msgpack_object *photo = lex_mp_get(&up.data, "photo");
    cr_assert_eq(photo->type, MSGPACK_OBJECT_BIN);
    cr_assert(photo->via.bin.size >= 20 * 1024 && photo->via.bin.size <= 40 * 1024);
    const unsigned char *b = (const unsigned char *)photo->via.bin.ptr;
    cr_assert(b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF, "not a JPEG start");
    field_str(&up.data, "format", got, sizeof got);
    cr_assert_str_eq(got, "jpeg");
    msgpack_unpacked_destroy(&up);

    lex_buf_free(&q);
    lex_buf_free(&out);
}

Test(population, misses_answer_with_a_no_record_status)
{
    lex_population_t *big = NULL;
    cr_assert_eq(lex_population_new("NV", DRIVERS + 10, VEHICLES + 10, &big), 0);
    lex_driver_t stranger;
    lex_population_driver(big, DRIVERS + 3, &stranger);
    lex_vehicle_t ghost, mine;
    lex_population_vehicle(big, VEHICLES + 3, &ghost);
    lex_population_vehicle(pop, 3, &mine);
    lex_population_destroy(&big);

    lex_buf_t q, out;
    lex_buf_init(&q);
    lex_buf_init(&out);
    char resp[LEX_KEY_MAX + 1];
    struct {
        const char *key, *k1, *v1, *k2, *v2;
    } cases[] = {
        {"DQ", "lic", stranger.lic, NULL, NULL},
        {"DQ", "name", "ZZTOP,NOBODY", "dob", "1970-01-01"},
        {"KQ", "lic", stranger.lic, NULL, NULL},
        {"IMQ", "lic", stranger.lic, NULL, NULL},
        {"RQ", "plate", ghost.plate, NULL, NULL},
        {"RQ", "vin", ghost.vin, NULL, NULL},
        {"RQ", "plate", mine.plate, "plate_state", "AZ"},
        {"RNQ", "name", "ZZTOP,NOBODY", "dob", "1970-01-01"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        query_str(&q, cases[k].k1, cases[k].v1, cases[k].k2, cases[k].v2);
        ask(cases[k].key, &q, resp, &out);
        cr_assert_str_eq(resp, "ST", "case %zu answered %s", k, resp);
        cr_assert_eq(status_of(&out), LEX_ST_NO_RECORD, "case %zu", k);
    }
    lex_buf_free(&q);
    lex_buf_free(&out);
}

Test(population, malformed_queries_answer_with_a_bad_body_status)
{
    lex_buf_t q, out;
    lex_buf_init(&q);
    lex_buf_init(&out);
    char resp[LEX_KEY_MAX + 1];

    const char junk[] = {(char)0xC1, 0x01, 0x02};
    lex_buf_append(&q, junk, sizeof junk);
    ask("DQ", &q, resp, &out);
    cr_assert_str_eq(resp, "ST");
    cr_assert_eq(status_of(&out), LEX_ST_BAD_BODY);

    msgpack_packer pk;
    lex_buf_reset(&q);
    msgpack_packer_init(&pk, &q, lex_buf_write);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_str(&pk, "lic");
    msgpack_pack_int(&pk, 12345);
    ask("KQ", &q, resp, &out);
    cr_assert_str_eq(resp, "ST");
    cr_assert_eq(status_of(&out), LEX_ST_BAD_BODY);

    query_str(&q, "name", "SMITH,JOHN", NULL, NULL); /* name without dob */
    ask("DQ", &q, resp, &out);
    cr_assert_eq(status_of(&out), LEX_ST_BAD_BODY);
    query_str(&q, "year", "2010", NULL, NULL); /* neither plate nor vin */
    ask("RQ", &q, resp, &out);
    cr_assert_eq(status_of(&out), LEX_ST_BAD_BODY);
    lex_buf_reset(&q);
    ask("IMQ", &q, resp, &out); /* empty body: no lic */
    cr_assert_eq(status_of(&out), LEX_ST_BAD_BODY);

    cr_assert_eq(lex_population_answer(pop, "LPQ", NULL, 0, resp, &out), LEX_EUNKNOWNKEY);
    cr_assert_eq(lex_population_answer(pop, "XYZ", NULL, 0, resp, &out), LEX_EUNKNOWNKEY);
    lex_buf_free(&q);
    lex_buf_free(&out);
}

static const char *const query_keys[] = {"DQ", "KQ", "RQ", "RNQ", "IMQ"};

/* Draws n queries per key; returns how many were answered with a record. */
static unsigned sample_and_answer(unsigned miss_pct, unsigned n)
{
    const lex_catalogue_t *cat = lex_catalogue_builtin();
    lex_buf_t q, out;
    lex_buf_init(&q);
    lex_buf_init(&out);
    unsigned hits = 0;
    for (size_t k = 0; k < sizeof query_keys / sizeof query_keys[0]; k++) {
        const lex_msgdef_t *def = lex_catalogue_find(cat, query_keys[k]);
        for (uint64_t r = 0; r < n; r++) {
            lex_buf_reset(&q);
            cr_assert_eq(lex_population_sample_query(pop, query_keys[k], r * 7919 + k, miss_pct, &q),
                         0);
            const char *field = NULL;
            int rc = lex_body_validate(def, q.data, q.len, &field);
            cr_assert_eq(rc, 0, "%s sample fails at '%s': %s", query_keys[k], field,
                         lex_strerror(rc));
            char resp[LEX_KEY_MAX + 1];
            ask(query_keys[k], &q, resp, &out);
            if (strcmp(resp, "ST") == 0)
                cr_assert_eq(status_of(&out), LEX_ST_NO_RECORD);
            else
                hits++;
        }
    }
    lex_buf_free(&q);
    lex_buf_free(&out);
    return hits;
}

Test(population, sampled_queries_find_someone_when_no_misses_are_asked_for)
{
    cr_assert_eq(sample_and_answer(0, 400), 5 * 400);
}

Test(population, sampled_queries_all_miss_at_one_hundred_percent)
{
    cr_assert_eq(sample_and_answer(100, 200), 0);
}

Test(population, sampled_queries_miss_about_as_often_as_asked)
{
    unsigned hits = sample_and_answer(20, 400);
    cr_assert(hits > 5 * 400 * 70 / 100 && hits < 5 * 400 * 90 / 100, "%u hits of 2000", hits);
}

Test(population, sampled_queries_use_every_form)
{
    int by_lic = 0, by_name = 0, by_plate = 0, by_vin = 0, with_state = 0;
    lex_buf_t q;
    lex_buf_init(&q);
    for (uint64_t r = 0; r < 1000; r++) {
        msgpack_unpacked up;
        lex_buf_reset(&q);
        cr_assert_eq(lex_population_sample_query(pop, "DQ", r, 0, &q), 0);
        cr_assert_eq(lex_body_parse(q.data, q.len, &up), 0);
        by_lic += lex_mp_get(&up.data, "lic") != NULL;
        by_name += lex_mp_get(&up.data, "name") != NULL && lex_mp_get(&up.data, "dob") != NULL;
        msgpack_unpacked_destroy(&up);
        lex_buf_reset(&q);
        cr_assert_eq(lex_population_sample_query(pop, "RQ", r, 0, &q), 0);
        cr_assert_eq(lex_body_parse(q.data, q.len, &up), 0);
        by_plate += lex_mp_get(&up.data, "plate") != NULL;
        const msgpack_object *ps = lex_mp_get(&up.data, "plate_state");
        with_state += ps && lex_mp_str_eq(ps, "NV");
        by_vin += lex_mp_get(&up.data, "vin") != NULL;
        msgpack_unpacked_destroy(&up);
    }
    lex_buf_free(&q);
    cr_assert(by_lic > 550 && by_lic < 750, "%d by licence", by_lic);
    cr_assert_eq(by_lic + by_name, 1000);
    cr_assert(by_plate > 780 && by_plate < 920, "%d by plate", by_plate);
    cr_assert_eq(with_state, by_plate);
    cr_assert_eq(by_plate + by_vin, 1000);
    cr_assert_eq(lex_population_sample_query(pop, "AM", 1, 0, &q), LEX_EUNKNOWNKEY);
    lex_buf_free(&q);
}

Test(population, sizes_out_of_range_are_refused)
{
    lex_population_t *p = NULL;
    cr_assert_eq(lex_population_new("NV", 0, 10, &p), LEX_EINVAL);
    cr_assert_null(p);
    cr_assert_eq(lex_population_new("NEV", 10, 10, &p), LEX_EINVAL);
    cr_assert_eq(lex_population_new("NV", 10, 0, &p), 0);
    lex_buf_t q, out;
    lex_buf_init(&q);
    lex_buf_init(&out);
    char resp[LEX_KEY_MAX + 1];
    cr_assert_eq(lex_population_sample_query(p, "RQ", 5, 0, &q), 0);
    cr_assert_eq(lex_population_answer(p, "RQ", q.data, q.len, resp, &out), 0);
    cr_assert_str_eq(resp, "ST", "a state with no vehicles found one");
    lex_buf_free(&q);
    lex_buf_free(&out);
    lex_population_destroy(&p);
}
