/* test_endpoint.c: the public API of liblexnode (nodes/include/lexnode.h)
 * through a real switch, with both ends written against that header only:
 * a responder reading fields and replying with records, an agency sending
 * to two states and matching answers by ref, ctl and purpose echoed,
 * statuses, and the calls' refusals of bad arguments. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "harness.h"
#include "lexnode.h"

static lex_test_switch_t sw;
static lex_node_t *nv, *il, *agency;
static char agency_ori[16];

static lex_node_t *open_node(const char *ori, const char *state)
{
    const char *oris[] = {ori}, *states[] = {state}, *keys[] = {"DQ", "RQ"};
    lex_node_config_t cfg = {.endpoint = sw.endpoint, .role = state ? "state" : "agency",
                             .oris = oris, .noris = 1, .states = states,
                             .nstates = state ? 1 : 0, .keys = keys, .nkeys = state ? 2 : 0,
                             .heartbeat_ms = 200};
    char err[256] = "";
    lex_node_t *n = NULL;
    cr_assert_eq(lex_node_new_err(&cfg, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "%s", lex_node_error(n));
    return n;
}

static void setup(void)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    snprintf(agency_ori, sizeof agency_ori, "%s", lex_test_ori_of(&sw, "PD", "CA"));
    nv = open_node("NVDMV0000", "NV");
    il = open_node("ILDMV0000", "IL");
    agency = open_node(agency_ori, NULL);
}

static void teardown(void)
{
    lex_node_destroy(&nv);
    lex_node_destroy(&il);
    lex_node_destroy(&agency);
    lex_test_switch_cleanup(&sw);
}

TestSuite(endpoint, .init = setup, .fini = teardown, .timeout = 60);

/* Waits for the next query at a responder. */
static void next_query(lex_node_t *n, lex_node_msg_t *q)
{
    cr_assert_eq(lex_node_next(n, q, 5000), 0, "no query arrived");
    cr_assert(q->is_query, "got %s, not a query", q->key);
}

Test(endpoint, query_to_two_states_gets_one_answer_from_each)
{
    lex_fields_t *body = lex_fields_new();
    cr_assert_eq(lex_fields_str(body, "plate", "ABC123"), 0);
    cr_assert_eq(lex_fields_int(body, "year", 2019), 0);
    const char *dst[] = {"NV", "IL"};
    lex_node_query_t q = {.key = "RQ", .dst = dst, .ndst = 2, .ctl = "case-7", .purpose = "C"};
    uint64_t id = 0;
    cr_assert_eq(lex_node_query(agency, &q, body, &id), 0);
    cr_assert_neq(id, 0);

    /* Nevada has the car; Illinois does not */
    lex_node_msg_t in;
    next_query(nv, &in);
    cr_assert_str_eq(in.key, "RQ");
    cr_assert_str_eq(in.src, agency_ori);
    cr_assert_str_eq(in.dst, "NV");
    cr_assert_str_eq(in.ctl, "case-7");
    cr_assert_str_eq(in.purpose, "C");
    char plate[16];
    int64_t year = 0;
    cr_assert_eq(lex_node_msg_str(&in, "plate", plate, sizeof plate), 0);
    cr_assert_str_eq(plate, "ABC123");
    cr_assert_eq(lex_node_msg_int(&in, "year", &year), 0);
    cr_assert_eq(year, 2019);
    char year_text[8];
    cr_assert_eq(lex_node_msg_str(&in, "year", year_text, sizeof year_text), 0);
    cr_assert_str_eq(year_text, "2019", "integers read as text");
    cr_assert_eq(lex_node_msg_str(&in, "vin", plate, sizeof plate), LEX_ENOTFOUND);
    cr_assert_eq(lex_node_msg_int(&in, "plate", &year), LEX_ETYPE);
    cr_assert_eq(lex_node_msg_str(&in, "plate", plate, 4), LEX_ELENGTH);
    lex_fields_clear(body);
    cr_assert_eq(lex_fields_record(body, "vehicles"), 0);
    cr_assert_eq(lex_fields_str(body, "plate", "ABC123"), 0);
    cr_assert_eq(lex_fields_bool(body, "stolen", 1), 0);
    cr_assert_eq(lex_fields_end_record(body), 0);
    cr_assert_eq(lex_fields_int(body, "count", 1), 0);
    cr_assert_eq(lex_node_reply(nv, &in, body), 0);

    next_query(il, &in);
    cr_assert_str_eq(in.dst, "IL");
    cr_assert_eq(lex_node_reply_status(il, &in, LEX_ST_NO_RECORD, "no record"), 0);

    int got_rr = 0, got_st = 0;
    for (int i = 0; i < 2; i++) {
        lex_node_msg_t a;
        cr_assert_eq(lex_node_next(agency, &a, 5000), 0, "answer %d missing", i);
        cr_assert_eq(a.ref, id, "answers carry the query's id");
        cr_assert_str_eq(a.ctl, "case-7");
        if (strcmp(a.key, "RR") == 0) {
            got_rr = 1;
            int64_t count = 0;
            cr_assert_eq(lex_node_msg_int(&a, "count", &count), 0);
            cr_assert_eq(count, 1);
            cr_assert_str_eq(a.src, "NVDMV0000");
            cr_assert_eq(lex_node_msg_str(&a, "vehicles", plate, sizeof plate), LEX_ETYPE,
                         "a list is not text");
        } else {
            int code = -1;
            char text[64];
            cr_assert_eq(lex_node_msg_status(&a, &code, text, sizeof text), 0);
            cr_assert_eq(code, LEX_ST_NO_RECORD);
            cr_assert_str_eq(a.src, "ILDMV0000");
            got_st = 1;
        }
    }
    cr_assert(got_rr && got_st);
    lex_fields_destroy(&body);
    cr_assert_null(body);
}

Test(endpoint, switch_statuses_reach_the_agency_as_messages)
{
    const char *dst[] = {"TX"};
    lex_node_query_t q = {.key = "DQ", .dst = dst, .ndst = 1};
    lex_fields_t *body = lex_fields_new();
    lex_fields_str(body, "lic", "T1");
    uint64_t id = 0;
    cr_assert_eq(lex_node_query(agency, &q, body, &id), 0);
    lex_node_msg_t a;
    cr_assert_eq(lex_node_next(agency, &a, 5000), 0);
    int code = -1;
    cr_assert_eq(lex_node_msg_status(&a, &code, NULL, 0), 0);
    cr_assert_eq(code, LEX_ST_NO_ROUTE);
    cr_assert_eq(a.ref, id);
    cr_assert_str_eq(a.src, "LEXSWITCH");
    cr_assert_str_eq(lex_status_name(code), "no-route");
    lex_fields_destroy(&body);
}

Test(endpoint, bad_arguments_are_refused_not_sent)
{
    lex_fields_t *body = lex_fields_new();
    cr_assert_eq(lex_fields_record(body, "records"), 0);
    cr_assert_eq(lex_fields_record(body, "records"), LEX_EINVAL, "records do not nest");
    const char *dst[] = {"NV"};
    lex_node_query_t q = {.key = "DQ", .dst = dst, .ndst = 1};
    cr_assert_eq(lex_node_query(agency, &q, body, NULL), LEX_EINVAL, "a record left open");
    cr_assert_eq(lex_fields_end_record(body), 0);
    cr_assert_eq(lex_fields_end_record(body), LEX_EINVAL);
    cr_assert_eq(lex_fields_str(body, "", "x"), LEX_EINVAL);
    cr_assert_eq(lex_fields_str(body, "name", NULL), LEX_EINVAL);
    lex_node_query_t long_ctl = {.key = "DQ", .dst = dst, .ndst = 1,
                                 .ctl = "a reference longer than thirty-two bytes"};
    cr_assert_eq(lex_node_query(agency, &long_ctl, NULL, NULL), LEX_ELENGTH);
    lex_node_query_t no_dst = {.key = "DQ", .dst = dst, .ndst = 0};
    cr_assert_eq(lex_node_query(agency, &no_dst, NULL, NULL), LEX_EINVAL);
    lex_node_msg_t not_query = {.key = "DR", .is_query = 0};
    cr_assert_eq(lex_node_reply(nv, &not_query, NULL), LEX_EINVAL);
    cr_assert_eq(lex_node_msg_status(&not_query, &(int){0}, NULL, 0), LEX_EINVAL);
    lex_fields_destroy(&body);
    lex_fields_destroy(&body);   /* a second destroy of a NULLed pointer is harmless */
    cr_assert_str_neq(lex_strerror(LEX_ELENGTH), "");
}
