/* test_corruption.c: damage in the switch's data directory never passes in
 * silence. A write-ahead log cut short after a SIGKILL under load stops the
 * start with a message naming it; `lexctl repair` keeps what is readable
 * and writes a signed gap record, after which the switch numbers on past
 * the lost records and verify reports the gap for good. A flipped byte in a
 * table is reported as damaged with its range, and the walk goes on; the
 * switch starts on it and says so. A cut MANIFEST, a dropped column family,
 * a head behind the newest signed checkpoint and records missing under the
 * head each refuse the start. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <rocksdb/c.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "traffic.h"
#include "lex_auditlog.h"
#include "lex_error.h"
#include "lex_status.h"

static lex_test_switch_t sw;

static void setup(void)
{
    lex_test_switch_prepare(&sw);
}

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(corruption, .init = setup, .fini = teardown, .timeout = 120);

/* Starts lexswitch on sw's data directory and expects it to refuse: returns
 * its exit status, with what it wrote to stderr in out. */
static int start_refused(char *out, size_t outlen)
{
    char log[LEX_TEST_PATH + 32], ready[LEX_TEST_PATH + 32];
    snprintf(log, sizeof log, "%s/refused.log", sw.dir);
    snprintf(ready, sizeof ready, "%s/refused.ready", sw.dir);
    unlink(log);
    char *args[] = {NULL, "--bind-tcp", "", "--bind-ipc", sw.endpoint, "--data", sw.data,
                    "--rules", sw.rules, "--directory", sw.directory, "--ready-file", ready,
                    "--set", "dev_plain=1", NULL};
    pid_t pid = lex_test_spawn("lexswitch", args, log);
    int status = 0;
    uint64_t deadline = lex_mono_us() + 20000000u;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (access(ready, F_OK) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("the switch started on a damaged log");
        }
        cr_assert_lt(lex_mono_us(), deadline, "the switch neither started nor refused");
        usleep(10000);
    }
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(out, 1, outlen - 1, f) : 0;
    out[n] = 0;
    if (f)
        fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int lexctl(char *out, size_t outlen, const char *fmt, const char *arg)
{
    char cmd[1536], part[1024];
    snprintf(part, sizeof part, fmt, arg);
    snprintf(cmd, sizeof cmd, "%s/lexctl %s 2>&1", LEX_BIN_DIR, part);
    return lex_test_run(cmd, out, outlen);
}

static uint64_t last_seq(const char *data)
{
    lex_log_t *log = NULL;
    char err[512];
    cr_assert_eq(lex_log_open_reader(data, &log, err, sizeof err), 0, "%s", err);
    uint64_t last = lex_log_last_seq(log);
    lex_log_close(&log);
    return last;
}

/* The newest write-ahead log (by file number) that holds anything. */
static void newest_wal(const char *data, char out[LEX_TEST_PATH * 2])
{
    DIR *d = opendir(data);
    cr_assert_not_null(d);
    struct dirent *e;
    long best = -1;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        char path[LEX_TEST_PATH * 2];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", data, e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".log") == 0 && stat(path, &st) == 0 &&
            st.st_size > 0 && atol(e->d_name) > best) {
            best = atol(e->d_name);
            snprintf(out, LEX_TEST_PATH * 2, "%s", path);
        }
    }
    closedir(d);
    cr_assert_geq(best, 0, "no write-ahead log with records in %s", data);
}

/* Cuts bytes (one more where the cut would fall on a page boundary: that
 * is a write a kill interrupted, which the open cuts off by itself). */
static void cut_tail(const char *path, off_t bytes)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    if ((st.st_size - bytes) % 4096 == 0)
        bytes++;
    cr_assert_gt(st.st_size, bytes);
    cr_assert_eq(truncate(path, st.st_size - bytes), 0);
}

/* Cuts the WAL back to the page boundary inside its last record, as the
 * kernel leaves a write a SIGKILL interrupted. */
static void cut_to_page(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    off_t to = st.st_size / 4096 * 4096;
    if (to == st.st_size)
        to -= 4096;
    cr_assert_gt(to, 0);
    cr_assert_eq(truncate(path, to), 0);
}

/* A switch in sync mode serving Illinois: 120 answered queries (each an
 * acknowledged record), in_flight more still on their way, then SIGKILL. */
static void load_then_kill(lex_node_t **req, unsigned *next, int in_flight)
{
    lex_test_switch_start(&sw, (const char *const[]){"--durability", "sync", NULL});
    lex_test_states_start(&sw, "IL", 200);
    *req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    cr_assert_eq(lex_test_ask_answered(*req, "IL", 120, next), 120);
    for (int i = 0; i < in_flight; i++) /* still in flight at the kill */
        lex_test_send_dq(*req, "IL", (*next)++, NULL);
    cr_assert_eq(kill(sw.pid, SIGKILL), 0);
    int status;
    waitpid(sw.pid, &status, 0);
    sw.pid = 0;
}

Test(corruption, a_cut_wal_tail_refuses_start_and_repair_records_a_signed_gap)
{
    lex_node_t *req;
    unsigned next = 0;
    load_then_kill(&req, &next, 40);
    uint64_t acked = last_seq(sw.data);
    cr_assert_gt(acked, 480);

    char wal[LEX_TEST_PATH * 2], out[16384];
    newest_wal(sw.data, wal);
    cut_tail(wal, 37);
    cr_assert_neq(start_refused(out, sizeof out), 0);
    cr_assert(strstr(out, "write-ahead log") && strstr(out, strrchr(wal, '/') + 1),
              "the refusal does not name the WAL: %s", out);
    cr_assert(strstr(out, "lexctl repair"), "the refusal does not say what to do: %s", out);
    cr_assert_eq(lexctl(out, sizeof out, "verify --data %s", sw.data), 1, "%s", out);
    cr_assert(strstr(out, "write-ahead log"), "%s", out);

    cr_assert_eq(lexctl(out, sizeof out, "repair --data %s", sw.data), 0, "%s", out);
    cr_assert(strstr(out, "gap record"), "%s", out);

    /* the switch starts again and numbers on after the lost records */
    lex_test_switch_start(&sw, NULL);
    lex_test_wait_answered(req, "IL", &next);
    cr_assert_eq(lex_test_ask_answered(req, "IL", 20, &next), 20);
    lex_node_destroy(&req);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    lex_log_t *log = NULL;
    char err[512];
    cr_assert_eq(lex_log_open_reader(sw.data, &log, err, sizeof err), 0, "%s", err);
    lex_log_verify_t res;
    cr_assert_eq(lex_log_verify_full(log, NULL, &res), LEX_EPARSE);
    cr_assert_eq(res.fault, LEX_LOG_GAP, "fault %d: %s", res.fault, res.what);
    cr_assert_eq(res.gaps, 1);
    cr_assert_leq(res.gap_from, acked, "nothing acknowledged was lost?");
    cr_assert_geq(res.gap_to, res.gap_from);
    cr_assert_gt(res.gap_seq, acked, "the gap record %llu reuses a number up to %llu",
                 (unsigned long long)res.gap_seq, (unsigned long long)acked);
    cr_assert_gt(res.last_seq, res.gap_seq + 80, "the records after the restart are not there");
    lex_log_close(&log);

    /* and says so every time it is asked */
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(lexctl(out, sizeof out, "verify --data %s", sw.data), 3, "%s", out);
        char want[96];
        snprintf(want, sizeof want, "GAP: records %llu to %llu were lost",
                 (unsigned long long)res.gap_from, (unsigned long long)res.gap_to);
        cr_assert(strstr(out, want), "verify does not report the gap (%s): %s", want, out);
    }
}

static int find_recovery(const lex_log_record_t *rec, void *arg)
{
    if (strcmp(rec->decision, "recovery") == 0)
        *(uint64_t *)arg = rec->seq;
    return 0;
}

Test(corruption, a_write_cut_on_a_page_boundary_by_a_kill_is_cut_off_and_recorded_at_start)
{
    lex_node_t *req;
    unsigned next = 0;
    load_then_kill(&req, &next, 0);

    /* what the kernel leaves of a write a SIGKILL interrupted */
    char wal[LEX_TEST_PATH * 2], out[16384];
    newest_wal(sw.data, wal);
    cut_to_page(wal);
    cr_assert_eq(lexctl(out, sizeof out, "verify --data %s", sw.data), 1,
                 "a reader takes the cut WAL as intact: %s", out);

    /* the switch starts by itself, says what it cut, and records it */
    lex_test_switch_start(&sw, NULL);
    lex_test_wait_answered(req, "IL", &next);
    cr_assert_eq(lex_test_ask_answered(req, "IL", 20, &next), 20);
    lex_node_destroy(&req);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    char path[LEX_TEST_PATH + 16];
    snprintf(path, sizeof path, "%s/switch.log", sw.dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    fclose(f);
    cr_assert(strstr(out, "killed while writing") && strstr(out, "interrupted-wal-"),
              "the start does not say what it cut: %s", out);

    lex_log_t *log = NULL;
    char err[512];
    cr_assert_eq(lex_log_open_reader(sw.data, &log, err, sizeof err), 0, "%s", err);
    uint64_t recovery = 0;
    cr_assert_eq(lex_log_scan(log, 1, 0, find_recovery, &recovery), 0);
    cr_assert_gt(recovery, 0, "no recovery record in the log");
    lex_log_verify_t res;
    cr_assert_eq(lex_log_verify_full(log, NULL, &res), 0, "%s", res.what);
    lex_log_close(&log);
    cr_assert_eq(lexctl(out, sizeof out, "verify --data %s", sw.data), 0, "%s", out);
}

/* Writes n records through the real writer, then compacts them into tables. */
static void write_and_compact(const char *data, int n)
{
    lex_log_t *log = NULL;
    char err[512];
    cr_assert_eq(lex_log_open(data, LEX_DURABILITY_BATCH, &log, err, sizeof err), 0, "%s", err);
    lex_log_set_checkpoint_interval(log, 500, 3600 * 1000);
    for (int i = 0; i < n; i++) {
        lex_log_record_t r;
        memset(&r, 0, sizeof r);
        r.dir = LEX_DIR_IN;
        strcpy(r.key, "DQ");
        strcpy(r.src, "CA0010000");
        strcpy(r.dst, "IL");
        strcpy(r.decision, "allow");
        r.msg_id = (uint64_t)i + 1;
        char body[64];
        snprintf(body, sizeof body, "record %d of a test that flips a byte", i);
        r.body = body;
        r.body_len = strlen(body);
        cr_assert_eq(lex_log_append(log, &r), 0);
        if (i % 50 == 49)
            cr_assert_eq(lex_log_commit(log), 0);
    }
    cr_assert_eq(lex_log_commit(log), 0);
    cr_assert_eq(lex_log_compact(log), 0);
    lex_log_close(&log);
}

static const char *const cf_names[] = {"default", "by_ori", "by_state", "meta",
                                       "checkpoints", "by_id", "by_time", "rollup"};
#define NCF 8

/* Opens the log's RocksDB directly, as an intruder or a broken disk would. */
static rocksdb_t *raw_open(const char *data, rocksdb_column_family_handle_t *cf[NCF])
{
    rocksdb_options_t *o = rocksdb_options_create();
    const rocksdb_options_t *cfo[NCF];
    for (int i = 0; i < NCF; i++)
        cfo[i] = o;
    char *err = NULL;
    rocksdb_t *db = rocksdb_open_column_families(o, data, NCF, cf_names, cfo, cf, &err);
    cr_assert_null(err, "%s", err);
    rocksdb_options_destroy(o);
    return db;
}

static void raw_close(rocksdb_t *db, rocksdb_column_family_handle_t *cf[NCF])
{
    for (int i = 0; i < NCF; i++)
        if (cf[i])
            rocksdb_column_family_handle_destroy(cf[i]);
    rocksdb_close(db);
}

/* The table file holding the records (the default column family). */
static void records_table(const char *data, char out[LEX_TEST_PATH * 2])
{
    rocksdb_column_family_handle_t *cf[NCF];
    rocksdb_t *db = raw_open(data, cf);
    const rocksdb_livefiles_t *lf = rocksdb_livefiles(db);
    size_t best = 0;
    for (int i = 0; i < rocksdb_livefiles_count(lf); i++)
        if (strcmp(rocksdb_livefiles_column_family_name(lf, i), "default") == 0 &&
            rocksdb_livefiles_size(lf, i) > best) {
            best = rocksdb_livefiles_size(lf, i);
            snprintf(out, LEX_TEST_PATH * 2, "%s%s", data, rocksdb_livefiles_name(lf, i));
        }
    rocksdb_livefiles_destroy(lf);
    raw_close(db, cf);
    cr_assert_gt(best, 20000, "the records are not in a table");
}

Test(corruption, a_flipped_byte_in_a_table_is_damaged_with_its_range_and_the_walk_goes_on)
{
    write_and_compact(sw.data, 3000);
    char table[LEX_TEST_PATH * 2], out[16384];
    records_table(sw.data, table);
    struct stat st;
    cr_assert_eq(stat(table, &st), 0);
    int fd = open(table, O_RDWR);
    cr_assert_geq(fd, 0);
    off_t at = st.st_size / 3; /* inside a data block: the index and footer are at the end */
    unsigned char b;
    cr_assert_eq(pread(fd, &b, 1, at), 1);
    b ^= 0x5a;
    cr_assert_eq(pwrite(fd, &b, 1, at), 1);
    close(fd);

    lex_log_t *log = NULL;
    char err[512];
    cr_assert_eq(lex_log_open_reader(sw.data, &log, err, sizeof err), 0, "%s", err);
    lex_log_verify_t res;
    cr_assert_eq(lex_log_verify_full(log, NULL, &res), LEX_EPARSE);
    cr_assert_eq(res.fault, LEX_LOG_DAMAGED, "fault %d: %s", res.fault, res.what);
    cr_assert_gt(res.damaged_from, 1);
    cr_assert_lt(res.damaged_to, 3000);
    cr_assert_geq(res.damaged_to, res.damaged_from);
    cr_assert_eq(res.last_seq, 3000, "the walk stopped at %llu", (unsigned long long)res.last_seq);
    cr_assert_eq(res.records + res.damaged, 3000, "%llu walked + %llu damaged",
                 (unsigned long long)res.records, (unsigned long long)res.damaged);
    lex_log_close(&log);

    cr_assert_eq(lexctl(out, sizeof out, "verify --data %s", sw.data), 1, "%s", out);
    char want[96];
    snprintf(want, sizeof want, "DAMAGED: records %llu to %llu",
             (unsigned long long)res.damaged_from, (unsigned long long)res.damaged_to);
    cr_assert(strstr(out, want), "verify does not say %s: %s", want, out);
    cr_assert_null(strstr(out, "REMOVED"), "%s", out);

    /* the switch starts on it (the damage is old and read-only) and says so */
    lex_test_switch_start(&sw, NULL);
    char path[LEX_TEST_PATH + 32];
    snprintf(path, sizeof path, "%s/switch.log", sw.dir);
    uint64_t deadline = lex_mono_us() + 20000000u;
    int said = 0;
    while (!said && lex_mono_us() < deadline) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
        out[n] = 0;
        if (f)
            fclose(f);
        said = strstr(out, want + strlen("DAMAGED: ")) && strstr(out, "AUDIT LOG DAMAGED");
        if (!said)
            usleep(20000);
    }
    cr_assert(said, "the switch did not report the damaged records: %s", out);
}

Test(corruption, a_cut_manifest_refuses_start)
{
    write_and_compact(sw.data, 200);
    char current[LEX_TEST_PATH + 16], name[128] = "", manifest[LEX_TEST_PATH + 160], out[8192];
    snprintf(current, sizeof current, "%s/CURRENT", sw.data);
    FILE *f = fopen(current, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(name, sizeof name, f));
    fclose(f);
    name[strcspn(name, "\n")] = 0;
    snprintf(manifest, sizeof manifest, "%s/%s", sw.data, name);
    struct stat st;
    cr_assert_eq(stat(manifest, &st), 0);
    cr_assert_eq(truncate(manifest, st.st_size / 2), 0);
    cr_assert_neq(start_refused(out, sizeof out), 0);
    cr_assert(strstr(out, "MANIFEST") && strstr(out, name), "%s", out);
}

Test(corruption, a_dropped_column_family_refuses_start)
{
    write_and_compact(sw.data, 200);
    rocksdb_column_family_handle_t *cf[NCF];
    rocksdb_t *db = raw_open(sw.data, cf);
    char *err = NULL;
    rocksdb_drop_column_family(db, cf[1], &err);
    cr_assert_null(err, "%s", err);
    raw_close(db, cf);
    char out[8192];
    cr_assert_neq(start_refused(out, sizeof out), 0);
    cr_assert(strstr(out, "column family 'by_ori'"), "%s", out);
    /* nothing was re-created behind the refusal */
    rocksdb_options_t *o = rocksdb_options_create();
    size_t n = 0;
    char **names = rocksdb_list_column_families(o, sw.data, &n, &err);
    cr_assert_null(err);
    for (size_t i = 0; i < n; i++)
        cr_assert_neq(strcmp(names[i], "by_ori"), 0, "by_ori was re-created");
    rocksdb_list_column_families_destroy(names, n);
    rocksdb_options_destroy(o);
}

Test(corruption, a_head_behind_the_newest_checkpoint_refuses_start)
{
    write_and_compact(sw.data, 1500); /* checkpoints at 500, 1000, 1500 */
    /* roll the records back to 1200 and the head with them, but not the
     * signed checkpoints: what a careless rollback leaves */
    rocksdb_column_family_handle_t *cf[NCF];
    rocksdb_t *db = raw_open(sw.data, cf);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    char *err = NULL;
    uint8_t key[8] = {0, 0, 0, 0, 0, 0, 1200 >> 8, 1200 & 0xff}, end[8] = {0, 0, 0, 0, 0, 0, 0x10};
    size_t len;
    char *v = rocksdb_get_cf(db, ro, cf[0], (const char *)key, 8, &len, &err);
    cr_assert_not_null(v);
    uint8_t head[40];
    memcpy(head, key, 8);
    crypto_generichash(head + 8, 32, (const unsigned char *)v, len, NULL, 0);
    rocksdb_free(v);
    key[7]++;
    rocksdb_delete_range_cf(db, wo, cf[0], (const char *)key, 8, (const char *)end, 8, &err);
    cr_assert_null(err);
    rocksdb_put_cf(db, wo, cf[3], "head", 4, (const char *)head, 40, &err);
    cr_assert_null(err);
    rocksdb_readoptions_destroy(ro);
    rocksdb_writeoptions_destroy(wo);
    raw_close(db, cf);

    char out[8192];
    cr_assert_neq(start_refused(out, sizeof out), 0);
    cr_assert(strstr(out, "ends at record 1200") && strstr(out, "vouches for record 1500"), "%s",
              out);
    /* repair records records 1201 to 1500 as lost; the switch then starts */
    cr_assert_eq(lexctl(out, sizeof out, "repair --data %s", sw.data), 0, "%s", out);
    cr_assert(strstr(out, "records 1201 to 1500 lost"), "%s", out);
    lex_test_switch_start(&sw, NULL);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    cr_assert_eq(lexctl(out, sizeof out, "verify --data %s", sw.data), 3, "%s", out);
    cr_assert(strstr(out, "GAP: records 1201 to 1500 were lost"), "%s", out);
}

Test(corruption, records_missing_under_the_head_refuse_start)
{
    write_and_compact(sw.data, 300);
    /* the last records go, the head and checkpoints stay */
    rocksdb_column_family_handle_t *cf[NCF];
    rocksdb_t *db = raw_open(sw.data, cf);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    char *err = NULL;
    uint8_t from[8] = {0, 0, 0, 0, 0, 0, 291 >> 8, 291 & 0xff}, to[8] = {0, 0, 0, 0, 0, 0, 0x10, 0};
    rocksdb_delete_range_cf(db, wo, cf[0], (const char *)from, 8, (const char *)to, 8, &err);
    cr_assert_null(err);
    rocksdb_writeoptions_destroy(wo);
    raw_close(db, cf);
    char out[8192];
    cr_assert_neq(start_refused(out, sizeof out), 0);
    cr_assert(strstr(out, "head says it ends at record 300, but that record is missing"), "%s",
              out);
}
