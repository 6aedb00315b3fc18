/* test_ioerror.c: one failed write or fsync of the audit log's WAL, under
 * load, never leaves a half-alive switch. The switch runs with
 * tests/faults/faultfs.c preloaded; once the test creates the control file,
 * the next WAL fsync (or write) fails with EIO (or ENOSPC). The switch must answer
 * every query it holds (ST 42 log-failed where it cannot log), stop with
 * exit status 74, write a bounded number of error lines, and count as sent
 * only what it sent; a restart continues the sequence and the chain, and
 * every message a node received is in the log (the unrecorded ST 42s
 * apart, docs/LOG.md "Disk space and I/O errors"). */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "lex_auditlog.h"
#include "lex_body.h"
#include "lex_buf.h"
#include "lex_error.h"
#include "lex_query_text.h"
#include "lex_status.h"

#define SEEN_MAX 8000
#define ASKED_MAX 2000

typedef struct {
    char key[LEX_KEY_MAX + 1];
    uint64_t id, ref;
    int status;
} seen_t;

static lex_test_switch_t sw;
static seen_t seen[SEEN_MAX];
static size_t nseen;
static uint64_t asked[ASKED_MAX]; /* query ids; 0 once answered */
static size_t nasked;

static void setup(void)
{
    nseen = nasked = 0;
    lex_test_switch_prepare(&sw);
}

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(ioerror, .init = setup, .fini = teardown, .timeout = 120);

static void note(const lex_message_t *m)
{
    cr_assert_lt(nseen, SEEN_MAX);
    seen_t *s = &seen[nseen++];
    snprintf(s->key, sizeof s->key, "%s", m->env.key);
    s->id = m->env.id;
    s->ref = m->env.ref;
    s->status = lex_test_status_code(m);
    for (size_t i = 0; i < nasked; i++)
        if (asked[i] == m->env.ref)
            asked[i] = 0;
}

static size_t unanswered(void)
{
    size_t n = 0;
    for (size_t i = 0; i < nasked; i++)
        n += asked[i] != 0;
    return n;
}

static lex_node_t *responder_new(void)
{
    const char *oris[] = {"NVDMV0000"}, *states[] = {"NV"}, *keys[] = {"DQ"};
    lex_node_config_t cfg = {.endpoint = sw.endpoint, .role = "state", .oris = oris, .noris = 1,
                             .states = states, .nstates = 1, .keys = keys, .nkeys = 1,
                             .heartbeat_ms = 200};
    lex_node_t *n = NULL;
    cr_assert_eq(lex_node_new(&cfg, &n), 0);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "responder: %s", lex_node_error(n));
    return n;
}

static void answer(lex_node_t *resp, const lex_message_t *q)
{
    if (strcmp(q->env.key, "DQ") != 0)
        return;
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 2);
    lex_mp_pack_str(&pk, "records");
    msgpack_pack_array(&pk, 0);
    lex_mp_pack_kv_uint(&pk, "count", 0);
    lex_envelope_t r;
    lex_envelope_init(&r);
    strcpy(r.key, "DR");
    lex_envelope_add_dst(&r, q->env.src);
    r.ref = q->env.id;
    memcpy(r.ctl, q->env.ctl, sizeof r.ctl);
    memcpy(r.purpose, q->env.purpose, sizeof r.purpose);
    lex_node_send(resp, &r, body.data, body.len);
    lex_buf_free(&body);
}

static void send_query(lex_node_t *req, unsigned i)
{
    char lic[32];
    snprintf(lic, sizeof lic, "lic=N%07u", i);
    char *words[] = {lic};
    lex_buf_t body;
    lex_buf_init(&body);
    char err[128];
    cr_assert_eq(lex_query_body_from_words("DQ", words, 1, &body, err, sizeof err), 0, "%s", err);
    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "DQ");
    strcpy(env.purpose, "C");
    lex_envelope_add_dst(&env, "NV");
    if (lex_node_send(req, &env, body.data, body.len) == 0 && nasked < ASKED_MAX)
        asked[nasked++] = env.id;
    lex_buf_free(&body);
}

static size_t pump(lex_node_t *req, lex_node_t *resp, int wait_ms)
{
    size_t got = 0;
    lex_message_t m;
    while (lex_node_recv(resp, &m, 0) == 0) {
        note(&m);
        answer(resp, &m);
        got++;
    }
    while (lex_node_recv(req, &m, got ? 0 : wait_ms) == 0) {
        note(&m);
        got++;
    }
    return got;
}

/* Sends a round of queries and pumps until every query so far is answered. */
static void round_trip(lex_node_t *req, lex_node_t *resp, unsigned *sent, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        send_query(req, (*sent)++);
    uint64_t deadline = lex_mono_us() + 10000000u;
    while (unanswered() > 0 && lex_mono_us() < deadline)
        pump(req, resp, 20);
}

typedef struct {
    const seen_t *want;
    int found;
} find_t;

static int find_out(const lex_log_record_t *r, void *arg)
{
    find_t *f = arg;
    if (r->dir == LEX_DIR_OUT && strcmp(r->key, f->want->key) == 0 && r->ref == f->want->ref)
        f->found = 1;
    return f->found;
}

/* Every message a node received (but the unrecorded ST log-failed) has
 * its out-record, and the log verifies; returns the last seq. */
static uint64_t check_log(const char *when)
{
    lex_log_t *log = NULL;
    char err[256];
    cr_assert_eq(lex_log_open_reader(sw.data, &log, err, sizeof err), 0, "%s: %s", when, err);
    size_t missing = 0;
    for (size_t i = 0; i < nseen; i++) {
        if (seen[i].status == LEX_ST_LOG_FAILED)
            continue;
        find_t f = {.want = &seen[i]};
        cr_assert_eq(lex_log_scan_id(log, seen[i].id, find_out, &f), 0);
        if (!f.found && missing++ < 5)
            cr_log_error("%s: %s id=%llu ref=%llu was received but is not in the log", when,
                         seen[i].key, (unsigned long long)seen[i].id,
                         (unsigned long long)seen[i].ref);
    }
    cr_assert_eq(missing, 0, "%s: %zu of %zu received messages have no log record", when,
                 missing, nseen);
    lex_log_verify_t res;
    cr_assert_eq(lex_log_verify_full(log, NULL, &res), 0, "%s: record %llu: %s", when,
                 (unsigned long long)res.bad_seq, res.what);
    uint64_t last = lex_log_last_seq(log);
    cr_assert_eq(res.last_seq, last);
    lex_log_close(&log);
    return last;
}

static unsigned long long json_count(const char *text, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\": ", name);
    const char *p = strstr(text, key);
    cr_assert_not_null(p, "no %s in the stats file", name);
    return strtoull(p + strlen(key), NULL, 10);
}

static size_t error_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[4096];
    size_t n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, "error") != NULL || strstr(line, "failed") != NULL;
    fclose(f);
    return n;
}

/* The switch with the fault library: ops "sync" or "write" fail once. */
static void start_faulty(const char *ops, const char *errno_name, const char *control,
                         const char *stats)
{
    setenv("LD_PRELOAD", LEX_FAULT_LIB, 1);
    setenv("LEX_FAULT_DIR", sw.data, 1);
    setenv("LEX_FAULT_CONTROL", control, 1);
    setenv("LEX_FAULT_OPS", ops, 1);
    setenv("LEX_FAULT_COUNT", "1", 1);
    setenv("LEX_FAULT_ERRNO", errno_name, 1);
    const char *asan = getenv("ASAN_OPTIONS");
    char asan_opts[1024];
    snprintf(asan_opts, sizeof asan_opts, "%s%sverify_asan_link_order=0", asan ? asan : "",
             asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", asan_opts, 1);
    const char *extra[] = {"--stats-file", stats, NULL};
    lex_test_switch_start(&sw, extra);
    unsetenv("LD_PRELOAD");
    unsetenv("LEX_FAULT_DIR");
}

static void one_fault_under_load(const char *ops, const char *errno_name)
{
    char control[LEX_TEST_PATH + 16], stats[LEX_TEST_PATH + 16], hits[LEX_TEST_PATH + 32],
        log[LEX_TEST_PATH + 16];
    snprintf(control, sizeof control, "%s/fault-on", sw.dir);
    snprintf(hits, sizeof hits, "%s.hits", control);
    snprintf(stats, sizeof stats, "%s/stats.json", sw.dir);
    snprintf(log, sizeof log, "%s/switch.log", sw.dir);
    start_faulty(ops, errno_name, control, stats);
    lex_node_t *resp = responder_new();
    lex_node_t *req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));

    unsigned sent = 0;
    for (int r = 0; r < 10; r++)
        round_trip(req, resp, &sent, 20);
    cr_assert_eq(unanswered(), 0, "%zu queries unanswered before the fault", unanswered());
    size_t before = nseen;

    /* the fault: the next WAL fsync (or write) fails; one more round */
    FILE *f = fopen(control, "w");
    cr_assert_not_null(f);
    fclose(f);
    uint64_t fault_us = lex_mono_us();
    round_trip(req, resp, &sent, 40);
    cr_assert_eq(access(hits, F_OK), 0, "the fault was never hit");
    cr_assert_eq(unanswered(), 0, "%zu of %zu queries got neither an answer nor a status",
                 unanswered(), nasked);
    size_t log_failed = 0;
    for (size_t i = before; i < nseen; i++)
        log_failed += seen[i].status == LEX_ST_LOG_FAILED;
    cr_assert_gt(log_failed, 0, "no ST log-failed after the fault");

    /* the switch stops by itself, promptly, with its own exit status */
    int status = 0;
    pid_t got = 0;
    uint64_t deadline = lex_mono_us() + 10000000u;
    while ((got = waitpid(sw.pid, &status, WNOHANG)) == 0 && lex_mono_us() < deadline)
        pump(req, resp, 20);
    cr_assert_eq(got, sw.pid, "the switch did not stop after the log failed");
    uint64_t stop_ms = (lex_mono_us() - fault_us) / 1000u;
    sw.pid = 0;
    cr_assert(WIFEXITED(status), "the switch died of signal %d", WTERMSIG(status));
    cr_assert_eq(WEXITSTATUS(status), 74);
    pump(req, resp, 50);

    /* statuses and forwards counted only when sent: every one reached a
     * node (the two WELCOMEs are forwards libnode keeps to itself) */
    char text[4096];
    f = fopen(stats, "r");
    cr_assert_not_null(f, "no stats file");
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    unsigned long long counted = json_count(text, "routed") + json_count(text, "statuses");
    cr_assert_eq(counted, nseen + 2, "the switch counts %llu messages sent, the nodes got %zu",
                 counted, nseen + 2);
    size_t lines = error_lines(log);
    cr_assert_leq(lines, 12, "%zu error lines on stderr", lines);
    uint64_t at_fault = check_log("after the fault");

    /* a restart on the same log continues the chain (the nodes were told
     * BYE: they connect again) */
    unlink(control);
    lex_node_destroy(&req);
    lex_node_destroy(&resp);
    lex_test_switch_start(&sw, NULL);
    resp = responder_new();
    req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    nasked = 0;
    for (int r = 0; r < 3; r++)
        round_trip(req, resp, &sent, 20);
    cr_assert_eq(unanswered(), 0);
    lex_node_destroy(&req);
    lex_node_destroy(&resp);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    uint64_t last = check_log("after the restart");
    cr_assert_gt(last, at_fault);
    fprintf(stderr, "test_ioerror (%s, %s): stopped %llu ms after the fault, %zu ST log-failed, "
                    "%zu error lines, log at %llu then %llu\n", ops, errno_name,
            (unsigned long long)stop_ms, log_failed, lines, (unsigned long long)at_fault,
            (unsigned long long)last);
}

Test(ioerror, one_failed_wal_fsync_answers_everyone_stops_and_a_restart_continues_the_chain)
{
    one_fault_under_load("sync", "EIO");
}

Test(ioerror, one_failed_wal_write_answers_everyone_stops_and_a_restart_continues_the_chain)
{
    one_fault_under_load("write", "EIO");
}

/* the write RocksDB 7.8 turned into an abort: ENOSPC on the WAL */
Test(ioerror, a_wal_write_refused_for_space_answers_everyone_and_stops_without_aborting)
{
    one_fault_under_load("write", "ENOSPC");
}
