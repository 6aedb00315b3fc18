/* test_auditlog.c: the audit log on a real RocksDB in a temporary
 * directory: records come back whole and in order, restarts continue the
 * sequence and the chain, the indexes find the right records, readers see
 * only what was committed, and a changed record is detected. */
#include <criterion/criterion.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include "lex_body.h"
#include "harness.h"
#include "rawdb.h"
#include "lex_auditlog.h"
#include "lex_error.h"

static char dir[128];

static void setup(void)
{
    lex_test_tmpdir(dir);
}

static void teardown(void)
{
    lex_test_rmrf(dir);
}

TestSuite(auditlog, .init = setup, .fini = teardown);

static lex_log_t *open_writer(lex_durability_t mode)
{
    lex_log_t *log = NULL;
    char err[256];
    cr_assert_eq(lex_log_open(dir, mode, &log, err, sizeof err), 0, "%s", err);
    return log;
}

static lex_log_t *open_reader(void)
{
    lex_log_t *log = NULL;
    char err[256];
    cr_assert_eq(lex_log_open_reader(dir, &log, err, sizeof err), 0, "%s", err);
    return log;
}

static void append(lex_log_t *log, const char *key, const char *src, const char *dst,
                   const char *decision, const char *body)
{
    lex_log_record_t r;
    memset(&r, 0, sizeof r);
    r.dir = LEX_DIR_IN;
    strcpy(r.conn, "00aa");
    strcpy(r.key, key);
    strcpy(r.src, src);
    strcpy(r.dst, dst);
    r.msg_id = 42;
    strcpy(r.decision, decision);
    strcpy(r.rule_id, "r1");
    r.status = 2;
    r.envelope = "ENV";
    r.envelope_len = 3;
    r.body = body;
    r.body_len = strlen(body);
    cr_assert_eq(lex_log_append(log, &r), 0);
}

typedef struct {
    int n;
    uint64_t seqs[64];
    char keys[64][16];
    char bodies[64][32];
} seen_t;

static int collect(const lex_log_record_t *r, void *arg)
{
    seen_t *s = arg;
    s->seqs[s->n] = r->seq;
    snprintf(s->keys[s->n], 16, "%s", r->key);
    snprintf(s->bodies[s->n], 32, "%.*s", (int)r->body_len, (const char *)r->body);
    s->n++;
    return 0;
}

Test(auditlog, records_come_back_whole_and_in_order)
{
    lex_log_t *log = open_writer(LEX_DURABILITY_SYNC);
    append(log, "DQ", "CA0190000", "NV", "allow", "first");
    append(log, "DR", "NVDMV0000", "CA0190000", "redact", "second");
    cr_assert_eq(lex_log_pending(log), 2);
    cr_assert_eq(lex_log_commit(log), 0);
    cr_assert_eq(lex_log_last_seq(log), 2);
    lex_log_close(&log);

    log = open_reader();
    seen_t s = {0};
    cr_assert_eq(lex_log_scan(log, 0, 0, collect, &s), 0);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.seqs[0], 1);
    cr_assert_str_eq(s.keys[1], "DR");
    cr_assert_str_eq(s.bodies[0], "first");
    cr_assert_str_eq(s.bodies[1], "second");
    lex_log_close(&log);
}

Test(auditlog, reopening_continues_the_sequence_and_the_chain)
{
    for (int run = 0; run < 3; run++) {
        lex_log_t *log = open_writer(LEX_DURABILITY_BATCH);
        cr_assert_eq(lex_log_last_seq(log), (uint64_t)run * 2);
        append(log, "DQ", "CA0190000", "NV", "allow", "x");
        append(log, "ST", "NV", "CA0190000", "deny", "y");
        lex_log_close(&log); /* close commits what is pending */
    }
    lex_log_t *log = open_reader();
    cr_assert_eq(lex_log_last_seq(log), 6);
    uint64_t bad = 99;
    cr_assert_eq(lex_log_verify(log, &bad), 0);
    cr_assert_eq(bad, 0);
    lex_log_close(&log);
}

Test(auditlog, indexes_find_records_by_ori_and_by_state)
{
    lex_log_t *log = open_writer(LEX_DURABILITY_NONE);
    append(log, "DQ", "CA0190000", "NV", "allow", "a");        /* CA, NV */
    append(log, "DQ", "TX0010000", "IL", "deny", "b");         /* TX, IL */
    append(log, "DR", "NVDMV0000", "CA0190000", "allow", "c"); /* NV, CA */
    cr_assert_eq(lex_log_commit(log), 0);
    lex_log_close(&log);
    log = open_reader();
    seen_t s = {0};
    cr_assert_eq(lex_log_scan_ori(log, "CA0190000", collect, &s), 0);
    cr_assert_eq(s.n, 2);
    cr_assert_str_eq(s.bodies[0], "a");
    cr_assert_str_eq(s.bodies[1], "c");
    memset(&s, 0, sizeof s);
    cr_assert_eq(lex_log_scan_state(log, "NV", collect, &s), 0);
    cr_assert_eq(s.n, 2);
    memset(&s, 0, sizeof s);
    cr_assert_eq(lex_log_scan_state(log, "IL", collect, &s), 0);
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.bodies[0], "b");
    memset(&s, 0, sizeof s);
    cr_assert_eq(lex_log_scan_state(log, "WY", collect, &s), 0);
    cr_assert_eq(s.n, 0);
    lex_log_close(&log);
}

Test(auditlog, reader_sees_only_committed_records_and_catches_up)
{
    lex_log_t *w = open_writer(LEX_DURABILITY_SYNC);
    append(w, "DQ", "CA0190000", "NV", "allow", "one");
    cr_assert_eq(lex_log_commit(w), 0);
    append(w, "DQ", "CA0190000", "NV", "allow", "two");
    lex_log_t *r = open_reader();
    cr_assert_eq(lex_log_last_seq(r), 1, "an uncommitted record is visible");
    cr_assert_eq(lex_log_commit(w), 0);
    cr_assert_eq(lex_log_refresh(r), 0);
    cr_assert_eq(lex_log_last_seq(r), 2);
    seen_t s = {0};
    cr_assert_eq(lex_log_scan(r, 2, 0, collect, &s), 0);
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.bodies[0], "two");
    lex_log_close(&r);
    lex_log_close(&w);
}

static void seq_key(uint64_t seq, char key[8])
{
    for (int i = 0; i < 8; i++)
        key[i] = (char)(seq >> (56 - 8 * i));
}

/* The stored value of a record (caller frees with free()). */
static char *raw_get(lex_test_rawdb_t *r, uint64_t seq, size_t *len)
{
    char key[8], *err = NULL;
    seq_key(seq, key);
    char *v = rocksdb_get_cf(r->db, r->ro, lex_test_rawdb_cf(r, "default"), key, 8, len, &err);
    cr_assert_null(err);
    cr_assert_not_null(v, "record %llu not stored", (unsigned long long)seq);
    return v;
}

static void raw_put(lex_test_rawdb_t *r, uint64_t seq, const char *v, size_t len)
{
    char key[8], *err = NULL;
    seq_key(seq, key);
    rocksdb_put_cf(r->db, r->wo, lex_test_rawdb_cf(r, "default"), key, 8, v, len, &err);
    cr_assert_null(err);
}

static void raw_delete(lex_test_rawdb_t *r, uint64_t seq)
{
    char key[8], *err = NULL;
    seq_key(seq, key);
    rocksdb_delete_cf(r->db, r->wo, lex_test_rawdb_cf(r, "default"), key, 8, &err);
    cr_assert_null(err);
}

/* Overwrites the stored value of one record behind the log's back. */
static void tamper(uint64_t seq, const char *with, size_t len)
{
    lex_test_rawdb_t r;
    lex_test_rawdb_open(&r, dir);
    raw_put(&r, seq, with, len);
    lex_test_rawdb_close(&r);
}

static lex_log_verify_t verify_log(int expect_rc)
{
    lex_log_t *r = open_reader();
    lex_log_verify_t res;
    cr_assert_eq(lex_log_verify_full(r, NULL, &res), expect_rc, "%s", res.what);
    lex_log_close(&r);
    return res;
}

static void write_records(int n, uint32_t every)
{
    lex_log_t *log = open_writer(LEX_DURABILITY_BATCH);
    lex_log_set_checkpoint_interval(log, every, 3600 * 1000);
    for (int i = 0; i < n; i++) {
        char body[32];
        snprintf(body, sizeof body, "record body %d", i + 1);
        append(log, "DQ", "CA0190000", "NV", "allow", body);
        if (i % 3 == 2)
            cr_assert_eq(lex_log_commit(log), 0);
    }
    lex_log_close(&log);
}

Test(auditlog, an_untouched_log_verifies_with_its_checkpoints)
{
    write_records(20, 4);
    lex_log_verify_t res = verify_log(0);
    cr_assert_eq(res.fault, LEX_LOG_OK);
    cr_assert_eq(res.records, 20);
    cr_assert(res.signed_ok);
    cr_assert_geq(res.checkpoints, 4, "%llu checkpoints", (unsigned long long)res.checkpoints);
    cr_assert_eq(res.last_checkpoint, 20, "the clean close signs the last record");
}

Test(auditlog, a_changed_byte_anywhere_in_a_record_is_named)
{
    write_records(12, 5);
    lex_test_rawdb_t r;
    lex_test_rawdb_open(&r, dir);
    size_t len;
    char *orig = raw_get(&r, 7, &len);
    lex_test_rawdb_close(&r);
    /* every 5th byte of record 7 in turn, each time restored afterwards */
    for (size_t off = 0; off < len; off += 5) {
        char *v = malloc(len);
        memcpy(v, orig, len);
        v[off] ^= 0x20;
        tamper(7, v, len);
        free(v);
        lex_log_verify_t res = verify_log(LEX_EPARSE);
        cr_assert_eq(res.bad_seq, 7, "byte %zu: reported %llu (%s)", off,
                     (unsigned long long)res.bad_seq, res.what);
        cr_assert(res.fault == LEX_LOG_CHANGED || res.fault == LEX_LOG_UNREADABLE ||
                  res.fault == LEX_LOG_MISPLACED, "byte %zu: fault %d", off, res.fault);
    }
    tamper(7, orig, len);
    free(orig);
    verify_log(0);
}

Test(auditlog, a_changed_record_next_to_a_checkpoint_is_named)
{
    write_records(12, 5); /* commits every 3 records: checkpoints at 6 and 12 */
    uint64_t targets[] = {5, 6, 7, 11, 12, 1};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        lex_test_rawdb_t r;
        lex_test_rawdb_open(&r, dir);
        size_t len;
        char *orig = raw_get(&r, targets[i], &len);
        orig[len - 40] ^= 1; /* a byte in the body, not in the link */
        raw_put(&r, targets[i], orig, len);
        lex_test_rawdb_close(&r);
        lex_log_verify_t res = verify_log(LEX_EPARSE);
        cr_assert_eq(res.bad_seq, targets[i], "reported %llu (%s)",
                     (unsigned long long)res.bad_seq, res.what);
        orig[len - 40] ^= 1;
        tamper(targets[i], orig, len);
        free(orig);
    }
    verify_log(0);
}

Test(auditlog, a_deleted_record_is_named)
{
    write_records(12, 5);
    uint64_t targets[] = {1, 6, 12};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        lex_test_rawdb_t r;
        lex_test_rawdb_open(&r, dir);
        size_t len;
        char *orig = raw_get(&r, targets[i], &len);
        raw_delete(&r, targets[i]);
        lex_test_rawdb_close(&r);
        lex_log_verify_t res = verify_log(LEX_EPARSE);
        cr_assert_eq(res.fault, LEX_LOG_REMOVED, "%s", res.what);
        cr_assert_eq(res.bad_seq, targets[i], "reported %llu (%s)",
                     (unsigned long long)res.bad_seq, res.what);
        tamper(targets[i], orig, len);
        free(orig);
    }
}

Test(auditlog, swapped_records_are_named)
{
    write_records(12, 5);
    lex_test_rawdb_t r;
    lex_test_rawdb_open(&r, dir);
    size_t l3, l9;
    char *v3 = raw_get(&r, 3, &l3), *v9 = raw_get(&r, 9, &l9);
    raw_put(&r, 3, v9, l9);
    raw_put(&r, 9, v3, l3);
    lex_test_rawdb_close(&r);
    free(v3);
    free(v9);
    lex_log_verify_t res = verify_log(LEX_EPARSE);
    cr_assert_eq(res.fault, LEX_LOG_MISPLACED, "%s", res.what);
    cr_assert_eq(res.bad_seq, 3, "reported %llu (%s)", (unsigned long long)res.bad_seq, res.what);
}

Test(auditlog, a_forged_checkpoint_fails_its_signature)
{
    write_records(10, 5);
    lex_test_rawdb_t r;
    lex_test_rawdb_open(&r, dir);
    char key[8], *err = NULL;
    seq_key(6, key); /* commits every 3 records: the first checkpoint is at 6 */
    size_t len;
    char *v = rocksdb_get_cf(r.db, r.ro, lex_test_rawdb_cf(&r, "checkpoints"), key, 8, &len, &err);
    cr_assert_not_null(v);
    v[20] ^= 1; /* inside the hash it vouches for */
    rocksdb_put_cf(r.db, r.wo, lex_test_rawdb_cf(&r, "checkpoints"), key, 8, v, len, &err);
    cr_assert_null(err);
    free(v);
    lex_test_rawdb_close(&r);
    lex_log_verify_t res = verify_log(LEX_EPARSE);
    cr_assert_eq(res.fault, LEX_LOG_BAD_CHECKPOINT, "%s", res.what);
    cr_assert_eq(res.bad_seq, 6);
}

Test(auditlog, the_signing_key_is_private_and_kept_across_restarts)
{
    write_records(3, 5);
    char path[256], first[200] = "", again[200] = "";
    snprintf(path, sizeof path, "%s/audit-sign.key", dir);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    FILE *f = fopen(path, "r");
    cr_assert(fgets(first, sizeof first, f));
    fclose(f);
    write_records(3, 5);
    f = fopen(path, "r");
    cr_assert(fgets(again, sizeof again, f));
    fclose(f);
    cr_assert_str_eq(first, again);
    verify_log(0);
}

Test(auditlog, stats_count_records_and_fsyncs)
{
    lex_log_t *log = open_writer(LEX_DURABILITY_SYNC);
    for (int i = 0; i < 6; i++) {
        append(log, "DQ", "CA0190000", "NV", "allow", "x");
        if (i % 2 == 1)
            cr_assert_eq(lex_log_commit(log), 0);
    }
    lex_log_stats_t st;
    lex_log_get_stats(log, &st);
    cr_assert_eq(st.records, 6);
    cr_assert_eq(st.commits, 3);
    cr_assert_eq(st.fsyncs, 3);
    lex_log_close(&log);
}

Test(auditlog, verify_names_the_first_broken_link)
{
    lex_log_t *log = open_writer(LEX_DURABILITY_SYNC);
    for (int i = 0; i < 5; i++)
        append(log, "DQ", "CA0190000", "NV", "allow", "rec");
    lex_log_close(&log);
    lex_log_t *r = open_reader();
    uint64_t bad = 0;
    cr_assert_eq(lex_log_verify(r, &bad), 0);
    lex_log_close(&r);

    /* record 3 replaced by a map holding only its seq: its link is gone */
    tamper(3, "\x81\xa3seq\x03", 6);
    r = open_reader();
    cr_assert_eq(lex_log_verify(r, &bad), LEX_EPARSE);
    cr_assert_eq(bad, 3, "reported %llu", (unsigned long long)bad);
    lex_log_close(&r);
}

static int grab_prev(const lex_log_record_t *r, void *arg)
{
    memcpy(arg, r->prev_hash, 32);
    return 1;
}

Test(auditlog, a_changed_last_record_is_caught_by_the_head)
{
    lex_log_t *log = open_writer(LEX_DURABILITY_SYNC);
    for (int i = 0; i < 3; i++)
        append(log, "DQ", "CA0190000", "NV", "allow", "rec");
    lex_log_close(&log);
    uint8_t prev[32];
    lex_log_t *r = open_reader();
    cr_assert_eq(lex_log_scan(r, 3, 1, grab_prev, prev), 0);
    lex_log_close(&r);

    /* a forged last record that links correctly to record 2: only the head
     * entry can tell it was changed */
    lex_buf_t forged;
    lex_buf_init(&forged);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &forged, lex_buf_write);
    msgpack_pack_map(&pk, 3);
    lex_mp_pack_kv_uint(&pk, "seq", 3);
    lex_mp_pack_kv_str(&pk, "dec", "allow");
    lex_mp_pack_str(&pk, "prev");
    msgpack_pack_bin(&pk, 32);
    msgpack_pack_bin_body(&pk, prev, 32);
    tamper(3, forged.data, forged.len);
    lex_buf_free(&forged);
    r = open_reader();
    uint64_t bad = 0;
    cr_assert_eq(lex_log_verify(r, &bad), LEX_EPARSE);
    cr_assert_eq(bad, 3, "reported %llu", (unsigned long long)bad);
    lex_log_close(&r);
}

Test(auditlog, reader_of_a_missing_log_fails_clearly)
{
    lex_log_t *r = NULL;
    char err[256] = "";
    char path[160];
    snprintf(path, sizeof path, "%s/none", dir);
    cr_assert_eq(lex_log_open_reader(path, &r, err, sizeof err), LEX_EROCKSDB);
    cr_assert_null(r);
    cr_assert(strlen(err) > 0);
}

Test(auditlog, deferred_sync_counts_fsyncs_apart_from_commits)
{
    lex_log_t *log = open_writer(LEX_DURABILITY_SYNC);
    lex_log_defer_sync(log);
    cr_assert(lex_log_deferring(log));
    for (int i = 0; i < 4; i++) {
        append(log, "DQ", "CA0190000", "NV", "allow", "x");
        cr_assert_eq(lex_log_commit(log), 0);
    }
    lex_log_stats_t st;
    lex_log_get_stats(log, &st);
    cr_assert_eq(st.commits, 4);
    cr_assert_eq(st.fsyncs, 0, "a deferred commit must not count as an fsync");
    cr_assert_eq(lex_log_sync(log), 0);
    lex_log_note_sync(log);
    lex_log_get_stats(log, &st);
    cr_assert_eq(st.fsyncs, 1);
    cr_assert_eq(st.records, 4);
    lex_log_close(&log);
    verify_log(0);
    lex_log_t *r = open_reader();
    cr_assert_eq(lex_log_last_seq(r), 4);
    lex_log_close(&r);
}

Test(auditlog, deferred_sync_is_only_for_sync_mode)
{
    lex_log_t *log = open_writer(LEX_DURABILITY_BATCH);
    lex_log_defer_sync(log);
    cr_assert_not(lex_log_deferring(log));
    lex_log_close(&log);
}
