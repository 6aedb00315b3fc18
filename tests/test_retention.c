/* test_retention.c: removing old audit-log records. Records with old times
 * are written through the real writer into a real RocksDB; pruning removes
 * them up to a signed checkpoint, a chunk at a time, and afterwards the
 * chain still verifies from that checkpoint, searches find only the recent
 * records, the rollup counts stay, and a record changed after the pruning
 * is still named. A switch started with retention_days prunes on its own. */
#include <criterion/criterion.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "lex_auditlog.h"
#include "lex_envelope.h"
#include "lex_error.h"

#define DAY_US (86400ull * 1000000ull)

static char dir[128];
static lex_test_switch_t sw;

static void setup(void)
{
    lex_test_tmpdir(dir);
}

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
    lex_test_rmrf(dir);
}

TestSuite(retention, .init = setup, .fini = teardown, .timeout = 90);

static lex_log_t *open_writer(const char *path)
{
    lex_log_t *log = NULL;
    char err[256];
    cr_assert_eq(lex_log_open(path, LEX_DURABILITY_BATCH, &log, err, sizeof err), 0, "%s", err);
    lex_log_set_checkpoint_interval(log, 10, 3600 * 1000);
    return log;
}

static lex_log_t *open_reader(const char *path)
{
    lex_log_t *log = NULL;
    char err[256];
    cr_assert_eq(lex_log_open_reader(path, &log, err, sizeof err), 0, "%s", err);
    return log;
}

/* n queries from a California agency to dst, at time t_us (0 = now),
 * committed five at a time. */
static void write_queries(lex_log_t *log, int n, uint64_t t_us, const char *dst)
{
    for (int i = 0; i < n; i++) {
        lex_log_record_t r;
        memset(&r, 0, sizeof r);
        r.time_us = t_us ? t_us + (uint64_t)i * 1000000u : 0;
        r.dir = LEX_DIR_IN;
        strcpy(r.key, "DQ");
        strcpy(r.src, "CA0190000");
        strcpy(r.dst, dst);
        r.msg_id = 1000 + (uint64_t)lex_log_last_seq(log) + lex_log_pending(log);
        strcpy(r.decision, "allow");
        r.body = "\x81\xa3lic\xa2X1";
        r.body_len = 8;
        cr_assert_eq(lex_log_append(log, &r), 0);
        if (lex_log_pending(log) == 5)
            cr_assert_eq(lex_log_commit(log), 0);
    }
    cr_assert_eq(lex_log_commit(log), 0);
}

static int count_visit(const lex_log_record_t *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
    return 0;
}

static int first_visit(const lex_log_record_t *r, void *arg)
{
    *(uint64_t *)arg = r->seq;
    return 1;
}

static int sum_rollups(const lex_log_rollup_t *row, void *arg)
{
    *(uint64_t *)arg += row->count;
    return 0;
}

static lex_log_verify_t verify(const char *path, int expect_rc)
{
    lex_log_t *r = open_reader(path);
    lex_log_verify_t res;
    cr_assert_eq(lex_log_verify_full(r, NULL, &res), expect_rc, "%s", res.what);
    lex_log_close(&r);
    return res;
}

/* 100 queries to NV 500 days ago, then 30 to NV now. */
static void old_and_new(const char *path)
{
    lex_log_t *log = open_writer(path);
    write_queries(log, 100, lex_now_us() - 500 * DAY_US, "NV");
    write_queries(log, 30, 0, "NV");
    lex_log_close(&log);
}

Test(retention, pruning_keeps_the_chain_verifiable_and_only_recent_records)
{
    old_and_new(dir);
    cr_assert_eq(verify(dir, 0).records, 130);

    lex_log_t *log = open_writer(dir);
    uint64_t removed = 0;
    cr_assert_eq(lex_log_prune(log, lex_now_us() - 400 * DAY_US, 0, &removed), 0);
    cr_assert_eq(removed, 100, "every old record ends on the checkpoint at 100");
    cr_assert_eq(lex_log_base(log), 100);
    /* nothing more is due: a second pass removes nothing */
    cr_assert_eq(lex_log_prune(log, lex_now_us() - 400 * DAY_US, 0, &removed), 0);
    cr_assert_eq(removed, 0);
    /* the writer goes on after the pruning */
    write_queries(log, 3, 0, "NV");
    lex_log_close(&log);

    lex_log_verify_t res = verify(dir, 0);
    cr_assert_eq(res.base, 100);
    cr_assert_eq(res.first_seq, 101);
    cr_assert_eq(res.records, 33);
    cr_assert_gt(res.base_time_us, 0, "the base checkpoint's signing time");

    lex_log_t *r = open_reader(dir);
    int n = 0;
    lex_log_query_t q = {.state = "NV"};
    cr_assert_eq(lex_log_query(r, &q, count_visit, &n), 0);
    cr_assert_eq(n, 33, "the state index lists only what is left");
    n = 0;
    q = (lex_log_query_t){.ori = "CA0190000"};
    cr_assert_eq(lex_log_query(r, &q, count_visit, &n), 0);
    cr_assert_eq(n, 33);
    n = 0;
    q = (lex_log_query_t){.has_id = 1, .msg_id = 1000 + 50};
    cr_assert_eq(lex_log_query(r, &q, count_visit, &n), 0);
    cr_assert_eq(n, 0, "an old record's id entry went with it");
    uint64_t first = 0;
    cr_assert_eq(lex_log_scan(r, 0, 0, first_visit, &first), 0);
    cr_assert_eq(first, 101);
    cr_assert_eq(lex_log_seq_at_time(r, 0), 101, "the time index starts at the base too");
    uint64_t counted = 0;
    cr_assert_eq(lex_log_rollups(r, "NV", NULL, NULL, sum_rollups, &counted), 0);
    cr_assert_eq(counted, 133, "the rollup counts of removed months stay");
    lex_log_close(&r);
}

Test(retention, a_backlog_is_removed_a_chunk_at_a_time_on_checkpoints)
{
    old_and_new(dir);
    lex_log_t *log = open_writer(dir);
    uint64_t removed = 0, bases[8];
    int passes = 0, rc;
    do {
        rc = lex_log_prune(log, lex_now_us() - 400 * DAY_US, 25, &removed);
        cr_assert_geq(rc, 0);
        bases[passes++] = lex_log_base(log);
        cr_assert_eq(lex_log_base(log) % 10, 0, "each chunk ends on a checkpoint");
        lex_log_close(&log);
        cr_assert_eq(verify(dir, 0).first_seq, bases[passes - 1] + 1);
        log = open_writer(dir);
    } while (rc == 1 && passes < 8);
    lex_log_close(&log);
    cr_assert_eq(passes, 5, "20, 40, 60, 80, 100");
    cr_assert_eq(bases[0], 20);
    cr_assert_eq(bases[4], 100);
}

/* Overwrites a record's stored value, or deletes a checkpoint, behind the
 * log's back. */
static void raw_change(const char *cf_name, uint64_t seq, const char *value, size_t len)
{
    rocksdb_options_t *opts = rocksdb_options_create();
    char *err = NULL;
    size_t ncf = 0;
    char **names = rocksdb_list_column_families(opts, dir, &ncf, &err);
    cr_assert_null(err, "%s", err);
    rocksdb_column_family_handle_t *cf[16];
    const rocksdb_options_t *cf_opts[16];
    cr_assert(ncf <= 16);
    for (size_t i = 0; i < ncf; i++)
        cf_opts[i] = opts;
    rocksdb_t *db = rocksdb_open_column_families(opts, dir, (int)ncf, (const char *const *)names,
                                                 cf_opts, cf, &err);
    cr_assert_null(err, "%s", err);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    char key[8];
    for (int i = 0; i < 8; i++)
        key[i] = (char)(seq >> (56 - 8 * i));
    for (size_t i = 0; i < ncf; i++) {
        if (strcmp(names[i], cf_name) != 0)
            continue;
        if (value)
            rocksdb_put_cf(db, wo, cf[i], key, 8, value, len, &err);
        else
            rocksdb_delete_cf(db, wo, cf[i], key, 8, &err);
        cr_assert_null(err, "%s", err);
    }
    for (size_t i = 0; i < ncf; i++)
        rocksdb_column_family_handle_destroy(cf[i]);
    rocksdb_close(db);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_list_column_families_destroy(names, ncf);
    rocksdb_options_destroy(opts);
}

Test(retention, tampering_after_pruning_is_still_detected)
{
    old_and_new(dir);
    lex_log_t *log = open_writer(dir);
    uint64_t removed = 0;
    cr_assert_eq(lex_log_prune(log, lex_now_us() - 400 * DAY_US, 0, &removed), 0);
    lex_log_close(&log);
    cr_assert_eq(verify(dir, 0).first_seq, 101);
    /* the first remaining record: only the checkpoint at the base vouches
     * for what it links to */
    raw_change("default", 101, "\x81\xa3seq\x65", 6);
    lex_log_verify_t res = verify(dir, LEX_EPARSE);
    cr_assert_eq(res.fault, LEX_LOG_CHANGED, "%s", res.what);
    cr_assert_eq(res.bad_seq, 101, "%s", res.what);
}

Test(retention, a_missing_base_checkpoint_fails_the_verifier)
{
    old_and_new(dir);
    lex_log_t *log = open_writer(dir);
    uint64_t removed = 0;
    cr_assert_eq(lex_log_prune(log, lex_now_us() - 400 * DAY_US, 0, &removed), 0);
    lex_log_close(&log);
    raw_change("checkpoints", 100, NULL, 0);
    lex_log_verify_t res = verify(dir, LEX_EPARSE);
    cr_assert_eq(res.fault, LEX_LOG_REMOVED, "%s", res.what);
}

Test(retention, the_switch_removes_old_records_at_start)
{
    lex_test_switch_prepare(&sw);
    lex_log_t *log = open_writer(sw.data);
    write_queries(log, 50, lex_now_us() - 500 * DAY_US, "NV");
    lex_log_close(&log);

    const char *extra[] = {"--set", "retention_days=30", NULL};
    lex_test_switch_start(&sw, extra);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "IL"));
    lex_node_destroy(&n);

    static char out[65536];
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/lexctl verify --data %s", LEX_BIN_DIR, sw.data);
    uint64_t deadline = lex_mono_us() + 15000000u;
    int pruned = 0;
    while (!pruned && lex_mono_us() < deadline) {
        cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
        pruned = strstr(out, "the log starts at record 51:") != NULL;
        if (!pruned)
            usleep(100000); /* poll again */
    }
    cr_assert(pruned, "old records not removed: %s", out);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    snprintf(cmd, sizeof cmd, "%s/lexctl audit --data %s --state NV", LEX_BIN_DIR, sw.data);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert_str_eq(out, "0 records\n");
    snprintf(cmd, sizeof cmd, "%s/lexctl audit --data %s --ori %s", LEX_BIN_DIR, sw.data,
             lex_test_ori_of(&sw, "PD", "IL"));
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "HELLO") != NULL, "the new session's records stay: %s", out);
    snprintf(cmd, sizeof cmd, "%s/lexctl verify --data %s", LEX_BIN_DIR, sw.data);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "chain intact") != NULL, "%s", out);
}
