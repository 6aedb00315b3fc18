/* test_auditlog.c: the audit log on a real RocksDB in a temporary
 * directory: records come back whole and in order, restarts continue the
 * sequence and the chain, the indexes find the right records, readers see
 * only what was committed, and a changed record is detected. */
#include <criterion/criterion.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <string.h>
#include "lex_body.h"
#include "harness.h"
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

/* Overwrites the stored value of one record behind the log's back. */
static void tamper(uint64_t seq, const char *with, size_t len)
{
    rocksdb_options_t *o = rocksdb_options_create();
    const char *names[] = {"default", "by_ori", "by_state", "meta"};
    const rocksdb_options_t *opts[] = {o, o, o, o};
    rocksdb_column_family_handle_t *cf[4];
    char *err = NULL;
    rocksdb_t *db = rocksdb_open_column_families(o, dir, 4, names, opts, cf, &err);
    cr_assert_null(err, "%s", err);
    char key[8];
    for (int i = 0; i < 8; i++)
        key[i] = (char)(seq >> (56 - 8 * i));
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_put_cf(db, wo, cf[0], key, 8, with, len, &err);
    cr_assert_null(err);
    rocksdb_writeoptions_destroy(wo);
    for (int i = 0; i < 4; i++)
        rocksdb_column_family_handle_destroy(cf[i]);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
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
