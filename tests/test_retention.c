/* test_retention.c: removing old audit-log records. Records with an old
 * reckoning are written through the real writer into a real RocksDB;
 * pruning removes them up to a signed checkpoint, a slice at a time, and
 * afterwards the chain still verifies from that checkpoint, searches find
 * only the recent records, the rollup counts stay, and a record changed
 * after the pruning is still named. Wall-clock stamps alone never make a
 * record old; a forged cut of young records fails the verifier. Through a
 * real switch: clock steps under libfaketime remove nothing and are
 * logged, counted and recorded; a cut over the share waits for `lexctl
 * retention confirm`; queries flow while a backlog is pruned in slices. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "harness.h"
#include "rawdb.h"
#include "lex_auditlog.h"
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_status.h"

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

/* n queries from a California agency to dst, at time t_us (0 = now) by
 * both the wall-clock stamp and the writer's reckoning, committed five at
 * a time. */
static void write_queries(lex_log_t *log, int n, uint64_t t_us, const char *dst)
{
    for (int i = 0; i < n; i++) {
        lex_log_record_t r;
        memset(&r, 0, sizeof r);
        r.time_us = t_us ? t_us + (uint64_t)i * 1000000u : 0;
        lex_log_set_clock(log, r.time_us);
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
    lex_log_set_clock(log, 0);
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

Test(retention, a_log_whose_every_record_was_removed_still_verifies)
{
    lex_log_t *log = open_writer(dir);
    write_queries(log, 100, lex_now_us() - 500 * DAY_US, "NV");
    uint64_t removed = 0;
    cr_assert_eq(lex_log_prune(log, lex_now_us() - 400 * DAY_US, 0, &removed), 0);
    cr_assert_eq(removed, 100);
    lex_log_close(&log);
    lex_log_verify_t res = verify(dir, 0);
    cr_assert_eq(res.records, 0);
    cr_assert_eq(res.base, 100);
    cr_assert_eq(res.cuts, 1);
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

/* Polls until the file holds needle after byte `from`; returns where the
 * needle ends. */
static size_t wait_in_file(const char *path, size_t from, const char *needle, int seconds)
{
    static char text[1 << 20];
    uint64_t deadline = lex_mono_us() + (uint64_t)seconds * 1000000u;
    for (;;) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f)
            fclose(f);
        text[n] = 0;
        const char *hit = n > from ? strstr(text + from, needle) : NULL;
        if (hit)
            return (size_t)(hit - text) + strlen(needle);
        cr_assert_lt(lex_mono_us(), deadline, "'%s' not in %s within %d s:\n%s", needle, path,
                     seconds, text + (from < n ? from : n));
        usleep(50000); /* poll again */
    }
}

static char *switch_log(void)
{
    static char path[LEX_TEST_PATH + 16];
    snprintf(path, sizeof path, "%s/switch.log", sw.dir);
    return path;
}

/* Runs lexctl with the arguments after "lexctl", the data dir appended. */
static int lexctl(char *out, size_t outlen, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/lexctl %s --data %s", LEX_BIN_DIR, args, sw.data);
    return lex_test_run(cmd, out, outlen);
}

static uint64_t base_now(void)
{
    lex_log_t *r = open_reader(sw.data);
    uint64_t b = lex_log_base(r);
    lex_log_close(&r);
    return b;
}

Test(retention, a_cut_over_the_share_waits_for_the_operator)
{
    lex_test_switch_prepare(&sw);
    lex_log_t *log = open_writer(sw.data);
    write_queries(log, 50, lex_now_us() - 500 * DAY_US, "NV");
    lex_log_close(&log);

    /* 50 of about 52 records are due: far over the default 10% */
    const char *extra[] = {"--set", "retention_days=30", "--set", "retention_check_s=1", NULL};
    lex_test_switch_start(&sw, extra);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "IL"));
    lex_node_destroy(&n);
    wait_in_file(switch_log(), 0, "audit log retention waits: removing records 1 to 50", 15);

    static char out[65536];
    cr_assert_eq(lexctl(out, sizeof out, "retention status"), 0, "%s", out);
    cr_assert(strstr(out, "waiting: records 1 to 50 (50 of ") != NULL, "%s", out);
    cr_assert_eq(lexctl(out, sizeof out, "verify"), 0, "%s", out);
    cr_assert(strstr(out, "the log starts at") == NULL, "nothing removed yet: %s", out);
    cr_assert_eq(base_now(), 0);

    cr_assert_eq(lexctl(out, sizeof out, "retention confirm"), 0, "%s", out);
    cr_assert(strstr(out, "confirmed: the switch may remove records up to 50") != NULL, "%s",
              out);
    wait_in_file(switch_log(), 0, "the log starts at record 51", 15);
    cr_assert_eq(lexctl(out, sizeof out, "retention status"), 0, "%s", out);
    cr_assert_str_eq(out, "no retention cut waits for confirmation\n");
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    cr_assert_eq(lexctl(out, sizeof out, "audit --state NV"), 0, "%s", out);
    cr_assert_str_eq(out, "0 records\n");
    cr_assert_eq(lexctl(out, sizeof out, "audit --decision retention"), 0, "%s", out);
    cr_assert(strstr(out, "3 records") != NULL, "waiting, confirmed, removed: %s", out);
    char args[128];
    snprintf(args, sizeof args, "audit --ori %s", lex_test_ori_of(&sw, "PD", "IL"));
    cr_assert_eq(lexctl(out, sizeof out, args), 0, "%s", out);
    cr_assert(strstr(out, "HELLO") != NULL, "the new session's records stay: %s", out);
    cr_assert_eq(lexctl(out, sizeof out, "verify --retention-days 30"), 0, "%s", out);
    cr_assert(strstr(out, "chain intact") != NULL, "%s", out);
    cr_assert(strstr(out, "retention: 1 cuts") != NULL, "%s", out);
}

Test(retention, wall_clock_stamps_alone_never_make_a_record_old)
{
    /* stamped 500 days ago by a wrong wall clock, written now by the
     * writer's reckoning */
    lex_log_t *log = open_writer(dir);
    for (int i = 0; i < 40; i++) {
        lex_log_record_t r;
        memset(&r, 0, sizeof r);
        r.time_us = lex_now_us() - 500 * DAY_US;
        strcpy(r.key, "DQ");
        strcpy(r.src, "CA0190000");
        strcpy(r.dst, "NV");
        strcpy(r.decision, "allow");
        cr_assert_eq(lex_log_append(log, &r), 0);
        cr_assert_eq(lex_log_commit(log), 0);
    }
    uint64_t removed = 1;
    cr_assert_eq(lex_log_prune(log, lex_now_us() - 400 * DAY_US, 0, &removed), 0);
    cr_assert_eq(removed, 0, "records proved young by the reckoning stay");
    cr_assert_eq(lex_log_base(log), 0);
    lex_log_close(&log);
    cr_assert_eq(verify(dir, 0).records, 40);
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Removes records 1..upto behind the writer's back and moves the base, as
 * retention would, with a cut entry claiming the given reckoning (or none
 * when reckoned_us is 0). */
static void forge_cut(uint64_t upto, uint64_t reckoned_us, uint64_t period_us)
{
    lex_test_rawdb_t r;
    lex_test_rawdb_open(&r, dir);
    char *err = NULL;
    uint8_t from[8], to[8], v[8];
    be64(from, 1);
    be64(to, upto + 1);
    rocksdb_delete_range_cf(r.db, r.wo, lex_test_rawdb_cf(&r, "default"), (const char *)from, 8,
                            (const char *)to, 8, &err);
    cr_assert_null(err, "%s", err);
    be64(v, upto);
    rocksdb_put_cf(r.db, r.wo, lex_test_rawdb_cf(&r, "meta"), "base", 4, (const char *)v, 8, &err);
    cr_assert_null(err, "%s", err);
    if (reckoned_us) {
        uint8_t key[11], cut[49];
        memcpy(key, "cut", 3);
        be64(key + 3, upto);
        cut[0] = 1;
        be64(cut + 1, 1);
        be64(cut + 9, upto);
        be64(cut + 17, reckoned_us);
        be64(cut + 25, period_us);
        be64(cut + 33, reckoned_us - period_us - 1); /* what it claims, not what the log says */
        be64(cut + 41, reckoned_us);
        rocksdb_put_cf(r.db, r.wo, lex_test_rawdb_cf(&r, "meta"), (const char *)key, sizeof key,
                       (const char *)cut, sizeof cut, &err);
        cr_assert_null(err, "%s", err);
    }
    lex_test_rawdb_close(&r);
}

Test(retention, verify_flags_a_cut_that_removed_young_records)
{
    lex_log_t *log = open_writer(dir);
    write_queries(log, 100, 0, "NV");
    lex_log_close(&log);
    cr_assert_eq(verify(dir, 0).records, 100);
    /* a cut of 50 records written moments ago, claiming a 400-day period */
    forge_cut(50, lex_now_us(), 400 * DAY_US);
    lex_log_verify_t res = verify(dir, LEX_EPARSE);
    cr_assert_eq(res.fault, LEX_LOG_YOUNG_CUT, "%s", res.what);
    cr_assert_eq(res.bad_seq, 50, "%s", res.what);
    cr_assert(strstr(res.what, "younger than its period") != NULL, "%s", res.what);

    static char out[4096];
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/lexctl verify --data %s", LEX_BIN_DIR, dir);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "chain BROKEN at record 50: YOUNG CUT") != NULL, "%s", out);
}

Test(retention, verify_flags_a_base_no_cut_explains)
{
    lex_log_t *log = open_writer(dir);
    write_queries(log, 100, 0, "NV");
    lex_log_close(&log);
    forge_cut(50, 0, 0);
    lex_log_verify_t res = verify(dir, LEX_EPARSE);
    cr_assert_eq(res.fault, LEX_LOG_YOUNG_CUT, "%s", res.what);
    cr_assert(strstr(res.what, "without a record of the retention cut") != NULL, "%s", res.what);
}

Test(retention, a_base_set_before_reckoned_times_were_stored_is_taken_as_it_is)
{
    lex_log_t *log = open_writer(dir);
    write_queries(log, 100, 0, "NV");
    lex_log_close(&log);
    /* as an older switch left it: checkpoints up to 50 without a reckoned
     * time, records up to 50 removed, no cut entry */
    lex_test_rawdb_t r;
    lex_test_rawdb_open(&r, dir);
    for (uint64_t seq = 10; seq <= 50; seq += 10) {
        uint8_t key[10];
        memcpy(key, "rk", 2);
        be64(key + 2, seq);
        char *err = NULL;
        rocksdb_delete_cf(r.db, r.wo, lex_test_rawdb_cf(&r, "meta"), (const char *)key, sizeof key,
                          &err);
        cr_assert_null(err, "%s", err);
    }
    lex_test_rawdb_close(&r);
    forge_cut(50, 0, 0);
    lex_log_verify_t res = verify(dir, 0);
    cr_assert_eq(res.base, 50);
    cr_assert_eq(res.cuts, 0);
}

Test(retention, compaction_drops_the_index_entries_of_removed_records)
{
    old_and_new(dir);
    lex_log_t *log = open_writer(dir);
    uint64_t removed = 0;
    cr_assert_eq(lex_log_prune(log, lex_now_us() - 400 * DAY_US, 0, &removed), 0);
    cr_assert_eq(removed, 100);
    lex_log_close(&log);
    log = open_writer(dir);
    cr_assert_eq(lex_log_compact(log), 0);
    lex_log_close(&log);
    lex_test_rawdb_t r;
    lex_test_rawdb_open(&r, dir);
    const char *cfs[] = {"by_ori", "by_state", "by_id", "by_time"};
    for (int i = 0; i < 4; i++) {
        rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
        rocksdb_iterator_t *it =
            rocksdb_create_iterator_cf(r.db, ro, lex_test_rawdb_cf(&r, cfs[i]));
        int n = 0, below = 0;
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
            size_t klen;
            const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
            uint64_t seq = 0;
            for (size_t j = klen - 8; j < klen; j++)
                seq = (seq << 8) | k[j];
            n++;
            below += seq <= 100;
        }
        rocksdb_iter_destroy(it);
        rocksdb_readoptions_destroy(ro);
        cr_assert_eq(below, 0, "%s keeps %d entries of removed records", cfs[i], below);
        cr_assert_gt(n, 0, "%s keeps the entries of the records left", cfs[i]);
    }
    lex_test_rawdb_close(&r);
}

/* libfaketime, if installed (Debian: libfaketime). */
static const char *faketime_lib(void)
{
    static const char *const paths[] = {"/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                                        "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
                                        "/usr/lib/faketime/libfaketimeMT.so.1"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], R_OK) == 0)
            return paths[i];
    return NULL;
}

static char fake_rc[LEX_TEST_PATH + 16];

static void set_fake_offset(const char *offset)
{
    char tmp[LEX_TEST_PATH + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp", fake_rc);
    FILE *f = fopen(tmp, "w");
    cr_assert_not_null(f);
    fprintf(f, "%s\n", offset);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(rename(tmp, fake_rc), 0);
}

/* Starts the switch with its wall clock under libfaketime at offset,
 * read from a file the test rewrites (the monotonic clock stays real). */
static void start_with_fake_clock(const char *const *extra, const char *offset)
{
    const char *lib = faketime_lib();
    if (!lib)
        cr_skip_test("libfaketime is not installed (Debian package libfaketime; setup.sh)");
    snprintf(fake_rc, sizeof fake_rc, "%s/faketime.rc", sw.dir);
    set_fake_offset(offset);
    /* a sanitizer build: the preloaded library comes before ASan's runtime */
    static char asan[1024];
    const char *old_asan = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "%s", old_asan ? old_asan : "");
    char with[1100];
    snprintf(with, sizeof with, "%s%sverify_asan_link_order=0", asan, asan[0] ? ":" : "");
    setenv("ASAN_OPTIONS", with, 1);
    setenv("LD_PRELOAD", lib, 1);
    setenv("FAKETIME_TIMESTAMP_FILE", fake_rc, 1);
    setenv("FAKETIME_NO_CACHE", "1", 1);
    setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1", 1);
    lex_test_switch_start(&sw, extra);
    unsetenv("LD_PRELOAD");
    if (asan[0])
        setenv("ASAN_OPTIONS", asan, 1);
    else
        unsetenv("ASAN_OPTIONS");
    unsetenv("FAKETIME_TIMESTAMP_FILE");
}

/* One GET of the metrics page; the value of a sample line. */
static double metric(const char *name)
{
    char path[LEX_TEST_PATH + 16], line[256];
    snprintf(path, sizeof path, "%s/switch.ready", sw.dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    int port = 0;
    while (fgets(line, sizeof line, f) && port == 0)
        sscanf(line, "http://127.0.0.1:%d/metrics", &port);
    fclose(f);
    cr_assert_gt(port, 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    static char out[262144];
    size_t len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        cr_assert_eq(poll(&p, 1, 10000), 1);
        ssize_t n = read(fd, out + len, sizeof out - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    out[len] = 0;
    close(fd);
    size_t n = strlen(name);
    for (const char *p = out; (p = strstr(p, name)); p += n)
        if (p[-1] == '\n' && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

static const char *const clock_opts[] = {
    "--set", "retention_days=400", "--set", "retention_check_s=1", "--set",
    "retention_max_share=100", "--set", "clock_step_ms=1000", "--set", "log_level=debug",
    "--metrics-bind", "127.0.0.1:0", NULL};

#define NOTHING_DUE "audit log retention: nothing older than 400 days"

Test(retention, a_wall_clock_step_forward_past_the_period_removes_nothing)
{
    lex_test_switch_prepare(&sw);
    start_with_fake_clock(clock_opts, "+0");
    lex_node_t *a = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "IL"));
    size_t at = wait_in_file(switch_log(), 0, NOTHING_DUE, 15);

    set_fake_offset("+500d");
    at = wait_in_file(switch_log(), at, "the wall clock stepped +", 15);
    lex_node_t *b = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "NV"));
    /* two retention passes after the step, each finding nothing due */
    at = wait_in_file(switch_log(), at, NOTHING_DUE, 15);
    at = wait_in_file(switch_log(), at, NOTHING_DUE, 15);
    cr_assert_eq(metric("lexswitch_clock_steps_total"), 1);
    cr_assert_eq(metric("lexswitch_retention_removed_total"), 0);
    lex_node_destroy(&a);
    lex_node_destroy(&b);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    static char out[65536];
    cr_assert_eq(lexctl(out, sizeof out, "verify"), 0, "%s", out);
    cr_assert(strstr(out, "chain intact") != NULL, "%s", out);
    cr_assert(strstr(out, "the log starts at") == NULL, "nothing was removed: %s", out);
    cr_assert_eq(lexctl(out, sizeof out, "audit --decision clock --format jsonl"), 0, "%s", out);
    cr_assert(strstr(out, "\"CLOCK\"") != NULL, "the step is in the audit log: %s", out);
    char args[128];
    snprintf(args, sizeof args, "audit --ori %s", lex_test_ori_of(&sw, "PD", "IL"));
    cr_assert_eq(lexctl(out, sizeof out, args), 0, "%s", out);
    cr_assert(strstr(out, "HELLO") != NULL, "the records before the step stay: %s", out);

    /* restarted with the clock still 500 days ahead, the switch cannot tell
     * the gap from downtime: the cut of every record is over the share and
     * waits for the operator */
    const char *again[] = {"--set", "retention_days=400", "--set", "retention_check_s=1", NULL};
    start_with_fake_clock(again, "+500d");
    wait_in_file(switch_log(), 0, "audit log retention waits", 15);
    cr_assert_eq(base_now(), 0, "nothing removed without confirmation");
}

Test(retention, a_wall_clock_stepped_back_and_corrected_removes_nothing)
{
    /* records before the step, covered by the checkpoint of a clean stop */
    lex_test_switch_prepare(&sw);
    start_with_fake_clock(clock_opts, "+0");
    lex_node_t *a = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "IL"));
    size_t at = wait_in_file(switch_log(), 0, NOTHING_DUE, 15);
    lex_node_destroy(&a);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    /* started 30 days back: the reckoning stays at the log's mark */
    start_with_fake_clock(clock_opts, "-30d");
    at = wait_in_file(switch_log(), at, "behind the audit log's reckoning", 15);
    lex_node_t *b = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "NV"));
    at = wait_in_file(switch_log(), at, NOTHING_DUE, 15);
    /* corrected while running */
    set_fake_offset("+0");
    at = wait_in_file(switch_log(), at, "the wall clock stepped +", 15);
    lex_node_t *c = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "OR"));
    at = wait_in_file(switch_log(), at, NOTHING_DUE, 15);
    at = wait_in_file(switch_log(), at, NOTHING_DUE, 15);
    cr_assert_eq(metric("lexswitch_clock_steps_total"), 2);
    cr_assert_eq(metric("lexswitch_retention_removed_total"), 0);
    lex_node_destroy(&b);
    lex_node_destroy(&c);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    /* and a start on the true clock, whose first pass sees records stamped
     * 30 days back between younger ones */
    lex_test_switch_start(&sw, clock_opts);
    wait_in_file(switch_log(), at, NOTHING_DUE, 15);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    static char out[65536];
    cr_assert_eq(lexctl(out, sizeof out, "verify"), 0, "%s", out);
    cr_assert(strstr(out, "the log starts at") == NULL, "nothing was removed: %s", out);
    cr_assert_eq(lexctl(out, sizeof out, "audit --decision clock"), 0, "%s", out);
    cr_assert(strstr(out, "2 records") != NULL, "both steps are recorded: %s", out);
    char args[128];
    snprintf(args, sizeof args, "audit --ori %s", lex_test_ori_of(&sw, "PD", "IL"));
    cr_assert_eq(lexctl(out, sizeof out, args), 0, "%s", out);
    cr_assert(strstr(out, "HELLO") != NULL, "the records before the step stay: %s", out);
}

Test(retention, queries_flow_while_a_backlog_is_pruned_in_slices)
{
    lex_test_switch_prepare(&sw);
    lex_log_t *log = open_writer(sw.data);
    write_queries(log, 3000, lex_now_us() - 500 * DAY_US, "WY");
    lex_log_close(&log);
    /* the pass waits (over the share) until the traffic runs, then goes in
     * slices of 20 records, one a tick */
    const char *extra[] = {"--set", "retention_days=30", "--set", "retention_check_s=1",
                           "--set", "retention_slice=20", NULL};
    lex_test_switch_start(&sw, extra);
    lex_test_states_start(&sw, "NV", 1000);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    wait_in_file(switch_log(), 0, "audit log retention waits", 15);
    static char out[65536];
    cr_assert_eq(lexctl(out, sizeof out, "retention confirm"), 0, "%s", out);

    int during = 0, asked = 0;
    uint64_t deadline = lex_mono_us() + 60000000u, b = 0;
    while ((b = base_now()) < 3000) {
        cr_assert_lt(lex_mono_us(), deadline, "pruning did not end (base %llu)",
                     (unsigned long long)b);
        const char *words[] = {"lic=X1", NULL};
        lex_message_t m;
        cr_assert_eq(lex_test_ask(n, "DQ", "NV", words, &m), 0, "a query got no answer");
        int code = lex_test_status_code(&m);
        cr_assert(code != LEX_ST_BUSY && code != LEX_ST_TIMEOUT, "status %d", code);
        asked++;
        uint64_t after = base_now();
        during += b > 0 && after < 3000; /* asked and answered inside the pass */
    }
    cr_assert_geq(during, 1, "no query was answered while the pass ran (%d asked)", asked);
    lex_node_destroy(&n);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    cr_assert_eq(lexctl(out, sizeof out, "audit --state WY"), 0, "%s", out);
    cr_assert_str_eq(out, "0 records\n");
    cr_assert_eq(lexctl(out, sizeof out, "verify"), 0, "%s", out);
    cr_assert(strstr(out, "the log starts at record 3001:") != NULL, "%s", out);
    cr_assert(strstr(out, "retention: 150 cuts") != NULL, "one cut entry a slice: %s", out);
}
