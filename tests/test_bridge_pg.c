/* test_bridge_pg.c: `lexnode bridge` over a real PostgreSQL server. The
 * test starts its own server (Debian's initdb/pg_ctl, on 127.0.0.1 and a
 * free port, data in a temp dir; as root it runs them as `nobody`, since
 * PostgreSQL refuses to run as root), loads rows with psql, and asks DQ,
 * KQ and RQ through a real switch; a dropped table answers internal-error.
 * Skipped, saying why, only when PostgreSQL or libpq is not installed. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <glob.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"
#include "lex_body.h"
#include "lex_status.h"

static lex_test_switch_t sw;
static char pg_bin[256];        /* /usr/lib/postgresql/N/bin */
static char pg_dir[64];         /* temp dir owned by the server's user */
static char as_user[32];        /* "runuser -u nobody -- " when root, else "" */
static int pg_port, pg_started;
static pid_t bridge_pid;
static lex_node_t *agency;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int find_pg(void)
{
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0)
        return 0;
    snprintf(pg_bin, sizeof pg_bin, "%.*s", (int)(strlen(g.gl_pathv[g.gl_pathc - 1]) - 7),
             g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    return 1;
}

static void psql(const char *sql)
{
    char path[LEX_TEST_PATH + 32], cmd[1024], out[2048];
    snprintf(path, sizeof path, "%s/load.sql", sw.dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(sql, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s/psql -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p %d -U lexbridge "
             "-d postgres -f %s 2>&1", pg_bin, pg_port, path);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "psql failed: %s", out);
}

static void start_postgres(void)
{
    snprintf(pg_dir, sizeof pg_dir, "/tmp/lexpg.XXXXXX");
    cr_assert_not_null(mkdtemp(pg_dir));
    as_user[0] = 0;
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("nobody");
        cr_assert_not_null(pw, "running as root needs the user 'nobody' for PostgreSQL");
        cr_assert_eq(chown(pg_dir, pw->pw_uid, pw->pw_gid), 0);
        snprintf(as_user, sizeof as_user, "runuser -u nobody -- ");
    }
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "cd %s && %s%s/initdb -D %s/data -A trust -U lexbridge -E UTF8 "
             "--locale=C --no-sync 2>&1", pg_dir, as_user, pg_bin, pg_dir);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "initdb failed: %s", out);
    pg_port = free_port();
    snprintf(cmd, sizeof cmd, "cd %s && %s%s/pg_ctl -D %s/data -l %s/server.log -w -t 60 -o "
             "\"-k %s -c listen_addresses=127.0.0.1 -p %d -c fsync=off\" start 2>&1",
             pg_dir, as_user, pg_bin, pg_dir, pg_dir, pg_dir, pg_port);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "pg_ctl start failed: %s", out);
    pg_started = 1;
}

static void setup(void)
{
    lex_test_switch_prepare(&sw);
}

static void teardown(void)
{
    lex_node_destroy(&agency);
    if (bridge_pid > 0)
        cr_expect_eq(lex_test_stop_pid(bridge_pid), 0, "the bridge did not stop cleanly");
    bridge_pid = 0;
    lex_test_switch_cleanup(&sw);
    if (pg_started) {
        char cmd[512], out[1024];
        snprintf(cmd, sizeof cmd, "cd %s && %s%s/pg_ctl -D %s/data -m immediate -w stop 2>&1",
                 pg_dir, as_user, pg_bin, pg_dir);
        lex_test_run(cmd, out, sizeof out);
        pg_started = 0;
    }
    if (pg_dir[0])
        lex_test_rmrf(pg_dir);
    pg_dir[0] = 0;
}

TestSuite(bridge_pg, .init = setup, .fini = teardown, .timeout = 120);

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

static void ask(const char *key, const char *const *words, const char *want_key,
                lex_message_t *m, msgpack_unpacked *up)
{
    cr_assert_eq(lex_test_ask(agency, key, "NV", words, m), 0, "no answer to %s", key);
    cr_assert_str_eq(m->env.key, want_key, "%s answered with %s (status %d)", key, m->env.key,
                     lex_test_status_code(m));
    cr_assert_eq(lex_body_parse(m->body, m->body_len, up), 0);
}

Test(bridge_pg, answers_from_a_real_postgresql_server)
{
#ifndef LEX_HAVE_PG
    cr_skip_test("lexnode was built without libpq (install libpq-dev: setup.sh does)");
#endif
    if (!find_pg())
        cr_skip_test("no PostgreSQL server installed (/usr/lib/postgresql/*/bin/initdb; "
                     "setup.sh installs the postgresql package)");
    start_postgres();
    psql("CREATE TABLE drivers (lic text PRIMARY KEY, name text, dob date, city text);\n"
         "CREATE TABLE vehicles (plate text, vin text, year integer, make text, stolen boolean);\n"
         "CREATE TABLE history (lic text, day date, kind text);\n"
         "INSERT INTO drivers VALUES ('NV2000001','POE,EDGAR','1980-01-19','RENO'),\n"
         "  ('NV2000002','LEE,ANN','1990-05-05',NULL);\n"
         "INSERT INTO vehicles VALUES ('PGX001','1HGCM82633A004352',2003,'HONDA',true);\n"
         "INSERT INTO history VALUES ('NV2000001','2025-02-01','CONVICTION');\n");
    char conf[LEX_TEST_PATH + 32];
    snprintf(conf, sizeof conf, "%s/pg-bridge.conf", sw.dir);
    FILE *f = fopen(conf, "w");
    cr_assert_not_null(f);
    fprintf(f, "database = postgresql:host=127.0.0.1 port=%d dbname=postgres user=lexbridge\n"
               "ori = NVDMV0000\nstates = NV\ntimeout_ms = 300\n"
               "RNQ = SELECT plate FROM vehicles, pg_sleep(2) WHERE :name <> :dob\n"
               "DQ = SELECT lic, name, to_char(dob, 'YYYY-MM-DD') AS dob, city FROM drivers \\\n"
               "     WHERE lic = :lic OR (name = :name AND dob = to_date(:dob, 'YYYY-MM-DD'))\n"
               "KQ = SELECT to_char(day, 'YYYY-MM-DD') AS date, kind FROM history WHERE lic = :lic\n"
               "RQ = SELECT plate, vin, year, make, stolen FROM vehicles WHERE plate = :plate\n",
            pg_port);
    fclose(f);

    lex_test_switch_start(&sw, NULL);
    char ready[LEX_TEST_PATH + 32], log[LEX_TEST_PATH + 32];
    snprintf(ready, sizeof ready, "%s/bridge.ready", sw.dir);
    snprintf(log, sizeof log, "%s/bridge.log", sw.dir);
    char *args[] = {NULL, "bridge", "--config", conf, "--connect", sw.endpoint, "--ready-file",
                    ready, "--heartbeat-ms", "200", NULL};
    bridge_pid = lex_test_spawn("lexnode", args, log);
    lex_test_wait_file(ready, bridge_pid, "lexnode bridge");
    agency = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));

    lex_message_t m;
    msgpack_unpacked up;
    ask("DQ", (const char *[]){"name=POE,EDGAR", "dob=1980-01-19", NULL}, "DR", &m, &up);
    const msgpack_object *r = record(&up.data, "records", 0);
    expect_str(r, "lic", "NV2000001");
    expect_str(r, "city", "RENO");
    msgpack_unpacked_destroy(&up);

    ask("DQ", (const char *[]){"lic=NV2000002", NULL}, "DR", &m, &up);
    cr_assert_null(lex_mp_get(record(&up.data, "records", 0), "city"), "NULL is left out");
    msgpack_unpacked_destroy(&up);

    ask("KQ", (const char *[]){"lic=NV2000001", NULL}, "KR", &m, &up);
    expect_str(&up.data, "lic", "NV2000001");
    expect_str(record(&up.data, "history", 0), "date", "2025-02-01");
    msgpack_unpacked_destroy(&up);

    ask("RQ", (const char *[]){"plate=PGX001", NULL}, "RR", &m, &up);
    const msgpack_object *v = record(&up.data, "vehicles", 0);
    const msgpack_object *year = lex_mp_get(v, "year"), *stolen = lex_mp_get(v, "stolen");
    cr_assert(year && year->type == MSGPACK_OBJECT_POSITIVE_INTEGER && year->via.u64 == 2003);
    cr_assert(stolen && stolen->type == MSGPACK_OBJECT_BOOLEAN && stolen->via.boolean);
    msgpack_unpacked_destroy(&up);

    cr_assert_eq(lex_test_ask(agency, "DQ", "NV", (const char *[]){"lic=NV9999999", NULL}, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_NO_RECORD);

    /* a statement over the timeout is cancelled by the server: the bridge
     * stays responsive and heartbeating */
    cr_assert_eq(lex_test_ask(agency, "RNQ", "NV",
                              (const char *[]){"name=POE,EDGAR", "dob=1980-01-19", NULL}, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_INTERNAL);

    psql("DROP TABLE history;\n");
    cr_assert_eq(lex_test_ask(agency, "KQ", "NV", (const char *[]){"lic=NV2000001", NULL}, &m), 0);
    cr_assert_eq(lex_test_status_code(&m), LEX_ST_INTERNAL);
    char text[300] = "";
    int code = 0;
    lex_status_parse(m.body, m.body_len, &code, text, sizeof text);
    cr_assert(strstr(text, "history"), "the status gives the database's reason: %s", text);
    ask("RQ", (const char *[]){"plate=PGX001", NULL}, "RR", &m, &up);
    msgpack_unpacked_destroy(&up);
}

Test(bridge_pg, statement_the_server_rejects_stops_the_bridge_at_start)
{
#ifndef LEX_HAVE_PG
    cr_skip_test("lexnode was built without libpq (install libpq-dev: setup.sh does)");
#endif
    if (!find_pg())
        cr_skip_test("no PostgreSQL server installed (setup.sh installs the postgresql package)");
    start_postgres();
    psql("CREATE TABLE drivers (lic text PRIMARY KEY, name text);\n");
    char conf[LEX_TEST_PATH + 32], cmd[1024], out[1024];
    snprintf(conf, sizeof conf, "%s/pg-bad.conf", sw.dir);
    FILE *f = fopen(conf, "w");
    cr_assert_not_null(f);
    fprintf(f, "database = postgresql:host=127.0.0.1 port=%d dbname=postgres user=lexbridge\n"
               "ori = NVDMV0000\nstates = NV\n"
               "DQ = SELECT lic, nmae FROM drivers WHERE lic = :lic\n", pg_port);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s/lexnode bridge --config %s --check 2>&1", LEX_BIN_DIR, conf);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "pg-bad.conf:4: DQ:") && strstr(out, "nmae"), "said: %s", out);
    /* a server that is not there: a clear error too */
    snprintf(cmd, sizeof cmd, "sed -i 's/port=%d/port=1/' %s && %s/lexnode bridge --config %s "
             "--check 2>&1", pg_port, conf, LEX_BIN_DIR, conf);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "cannot connect to PostgreSQL"), "said: %s", out);
}
