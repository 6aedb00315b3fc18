/* test_bridge.c: `lexnode bridge` over SQLite through a real switch. The
 * sample database and config (`--init-sample`) answer DQ by licence and by
 * name and birth date, KQ and RQ; a miss is ST no-record; a table dropped
 * under the running bridge gives ST internal-error with the database's
 * reason and the bridge goes on; bad configs stop it at start with the
 * file, line and reason. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include "harness.h"
#include "lex_body.h"
#include "lex_status.h"

static lex_test_switch_t sw;
static pid_t bridge_pid;
static char conf[LEX_TEST_PATH + 32];
static lex_node_t *agency;

static void setup(void)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    snprintf(conf, sizeof conf, "%s/nv-bridge.conf", sw.dir);
    char cmd[1024], out[512];
    snprintf(cmd, sizeof cmd, "%s/lexnode bridge --init-sample %s 2>&1", LEX_BIN_DIR, conf);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
}

static void start_bridge(void)
{
    char ready[LEX_TEST_PATH + 32], log[LEX_TEST_PATH + 32];
    snprintf(ready, sizeof ready, "%s/bridge.ready", sw.dir);
    snprintf(log, sizeof log, "%s/bridge.log", sw.dir);
    char *args[] = {NULL, "bridge", "--config", conf, "--connect", sw.endpoint, "--ready-file",
                    ready, "--heartbeat-ms", "200", NULL};
    bridge_pid = lex_test_spawn("lexnode", args, log);
    lex_test_wait_file(ready, bridge_pid, "lexnode bridge");
    agency = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
}

static void teardown(void)
{
    lex_node_destroy(&agency);
    if (bridge_pid > 0)
        cr_expect_eq(lex_test_stop_pid(bridge_pid), 0, "the bridge did not stop cleanly");
    bridge_pid = 0;
    lex_test_switch_cleanup(&sw);
}

TestSuite(bridge, .init = setup, .fini = teardown, .timeout = 60);

/* The list field's element i of an answer, as a map. */
static const msgpack_object *record(const msgpack_object *body, const char *list, uint32_t i)
{
    const msgpack_object *l = lex_mp_get(body, list);
    cr_assert(l && l->type == MSGPACK_OBJECT_ARRAY && l->via.array.size > i, "no %s[%u]", list, i);
    return &l->via.array.ptr[i];
}

static void expect_str(const msgpack_object *map, const char *name, const char *want)
{
    char got[128] = "";
    const msgpack_object *o = lex_mp_get(map, name);
    cr_assert(o && lex_mp_str(o, got, sizeof got) == 0, "no string field %s", name);
    cr_assert_str_eq(got, want, "field %s", name);
}

static uint64_t field_uint(const msgpack_object *map, const char *name)
{
    uint64_t v = 0;
    const msgpack_object *o = lex_mp_get(map, name);
    cr_assert(o && lex_mp_uint(o, &v) == 0, "no integer field %s", name);
    return v;
}

/* Asks NV and parses the answer, which must have key want_key. */
static void ask(const char *key, const char *const *words, const char *want_key,
                lex_message_t *m, msgpack_unpacked *up)
{
    cr_assert_eq(lex_test_ask(agency, key, "NV", words, m), 0, "no answer to %s", key);
    cr_assert_str_eq(m->env.key, want_key);
    cr_assert_str_eq(m->env.src, "NVDMV0000");
    cr_assert_eq(lex_body_parse(m->body, m->body_len, up), 0);
}

Test(bridge, licence_query_returns_the_drivers_row)
{
    start_bridge();
    lex_message_t m;
    msgpack_unpacked up;
    ask("DQ", (const char *[]){"lic=NV1000001", NULL}, "DR", &m, &up);
    cr_assert_eq(field_uint(&up.data, "count"), 1);
    const msgpack_object *r = record(&up.data, "records", 0);
    expect_str(r, "name", "DOE,JANE");
    expect_str(r, "city", "RENO");
    expect_str(r, "expiry", "2028-07-12");
    msgpack_unpacked_destroy(&up);
}

Test(bridge, name_and_birth_date_pick_one_of_two_namesakes)
{
    start_bridge();
    lex_message_t m;
    msgpack_unpacked up;
    ask("DQ", (const char *[]){"name=ROE,RICHARD", "dob=1999-11-02", NULL}, "DR", &m, &up);
    cr_assert_eq(field_uint(&up.data, "count"), 1);
    expect_str(record(&up.data, "records", 0), "lic", "NV1000003");
    msgpack_unpacked_destroy(&up);
}

Test(bridge, history_and_vehicle_queries_return_their_rows)
{
    start_bridge();
    lex_message_t m;
    msgpack_unpacked up;
    ask("KQ", (const char *[]){"lic=NV1000002", NULL}, "KR", &m, &up);
    expect_str(&up.data, "lic", "NV1000002");
    expect_str(record(&up.data, "history", 0), "kind", "CONVICTION");
    expect_str(record(&up.data, "history", 1), "kind", "SUSPENSION");
    msgpack_unpacked_destroy(&up);

    ask("RQ", (const char *[]){"plate=NVX002", NULL}, "RR", &m, &up);
    cr_assert_eq(field_uint(&up.data, "count"), 1);
    const msgpack_object *v = record(&up.data, "vehicles", 0);
    expect_str(v, "make", "FORD");
    cr_assert_eq(field_uint(v, "year"), 2013, "an INTEGER column arrives as an integer");
    msgpack_unpacked_destroy(&up);
}

Test(bridge, a_miss_is_no_record)
{
    start_bridge();
    lex_message_t m;
    cr_assert_eq(lex_test_ask(agency, "DQ", "NV", (const char *[]){"lic=NV0000000", NULL}, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_NO_RECORD);
    cr_assert_str_eq(m.env.src, "NVDMV0000");
}

Test(bridge, database_error_answers_internal_error_and_the_bridge_goes_on)
{
    start_bridge();
    char db_path[LEX_TEST_PATH + 32];
    snprintf(db_path, sizeof db_path, "%s/nv-bridge.db", sw.dir);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "DROP TABLE history", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    lex_message_t m;
    cr_assert_eq(lex_test_ask(agency, "KQ", "NV", (const char *[]){"lic=NV1000002", NULL}, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_INTERNAL);
    char text[300] = "";
    int code = 0;
    lex_status_parse(m.body, m.body_len, &code, text, sizeof text);
    cr_assert(strstr(text, "history"), "the status gives the database's reason: %s", text);

    msgpack_unpacked up;
    ask("DQ", (const char *[]){"lic=NV1000001", NULL}, "DR", &m, &up);
    msgpack_unpacked_destroy(&up);
}

/* Runs the bridge on a config with one line replaced; returns its output. */
static int run_bad_config(const char *text, char *out, size_t outlen)
{
    char path[LEX_TEST_PATH + 32], cmd[1024];
    snprintf(path, sizeof path, "%s/bad.conf", sw.dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "database = sqlite:nv-bridge.db\nori = NVDMV0000\nstates = NV\n%s\n", text);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s/lexnode bridge --config %s --connect %s 2>&1", LEX_BIN_DIR,
             path, sw.endpoint);
    return lex_test_run(cmd, out, outlen);
}

Test(bridge, bad_configs_stop_it_at_start_naming_line_and_reason)
{
    static const struct { const char *line, *says; } cases[] = {
        {"DQ = SELECT name FROM nosuchtable WHERE lic = :lic", "bad.conf:4: DQ: no such table"},
        {"DQ = SELECT name FROM drivers WHERE lic = :licence", ":licence is not a field of DQ"},
        {"DQ = SELECT name FROM drivers WHERE", "bad.conf:4: DQ:"},
        {"DQ = DELETE FROM drivers WHERE lic = :lic", "only reads"},
        {"XQ = SELECT 1", "'XQ' is not a query key"},
        {"IMQ = SELECT photo FROM drivers WHERE lic = :lic", "IMR has no list field"},
        {"colour = blue", "unknown setting 'colour'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[1024];
        cr_assert_eq(run_bad_config(cases[i].line, out, sizeof out), 1, "%s: %s", cases[i].line,
                     out);
        cr_assert(strstr(out, cases[i].says), "'%s' said: %s", cases[i].line, out);
    }
}

Test(bridge, statement_over_its_time_limit_is_stopped_and_answered)
{
    /* a DQ that would count to a billion; the limit is 100 ms */
    FILE *f = fopen(conf, "a");
    cr_assert_not_null(f);
    fputs("timeout_ms = 100\n"
          "RNQ = WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \\\n"
          "      WHERE x < 1000000000) SELECT count(*) AS plate FROM c WHERE :name <> :dob\n", f);
    fclose(f);
    start_bridge();
    lex_message_t m;
    cr_assert_eq(lex_test_ask(agency, "RNQ", "NV",
                              (const char *[]){"name=DOE,JANE", "dob=1984-07-12", NULL}, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_INTERNAL);
    char text[300] = "";
    int code = 0;
    lex_status_parse(m.body, m.body_len, &code, text, sizeof text);
    cr_assert(strstr(text, "longer than 100 ms"), "%s", text);
    msgpack_unpacked up;
    ask("DQ", (const char *[]){"lic=NV1000001", NULL}, "DR", &m, &up);
    msgpack_unpacked_destroy(&up);
}

/* With CURVE: the bridge's key files come from its config. */
static void setup_curve(void)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_use_curve(&sw);
    char key[LEX_TEST_PATH];
    lex_test_make_key(&sw, "nvbridge", "responder", "NVDMV0000 states=NV", key);
    lex_test_make_key(&sw, "capd", "agency", "CA*|broad", key);
    lex_test_switch_start(&sw, NULL);
    snprintf(conf, sizeof conf, "%s/nv-bridge.conf", sw.dir);
    char cmd[1024], out[512];
    snprintf(cmd, sizeof cmd, "%s/lexnode bridge --init-sample %s 2>&1", LEX_BIN_DIR, conf);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    FILE *f = fopen(conf, "a");
    cr_assert_not_null(f);
    fprintf(f, "key_file = %s/nvbridge.key\nswitch_key_file = %s\n", sw.dir, sw.switch_pub);
    fclose(f);
}

TestSuite(bridge_curve, .init = setup_curve, .fini = teardown, .timeout = 60);

Test(bridge_curve, bridge_with_its_key_answers_through_a_curve_switch)
{
    char ready[LEX_TEST_PATH + 32], log[LEX_TEST_PATH + 32], key[LEX_TEST_PATH + 32];
    snprintf(ready, sizeof ready, "%s/bridge.ready", sw.dir);
    snprintf(log, sizeof log, "%s/bridge.log", sw.dir);
    char *args[] = {NULL, "bridge", "--config", conf, "--connect", sw.endpoint, "--ready-file",
                    ready, "--heartbeat-ms", "200", NULL};
    bridge_pid = lex_test_spawn("lexnode", args, log);
    lex_test_wait_file(ready, bridge_pid, "lexnode bridge");
    snprintf(key, sizeof key, "%s/capd.key", sw.dir);
    agency = lex_test_node_with_key(&sw, lex_test_ori_of(&sw, "PD", "CA"), key);
    cr_assert_eq(lex_node_wait_ready(agency, 10000), 0, "%s", lex_node_error(agency));
    lex_message_t m;
    msgpack_unpacked up;
    ask("DQ", (const char *[]){"lic=NV1000001", NULL}, "DR", &m, &up);
    expect_str(record(&up.data, "records", 0), "name", "DOE,JANE");
    msgpack_unpacked_destroy(&up);
}
