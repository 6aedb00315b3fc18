/* test_crash.c: the audit log survives the switch being killed (SIGKILL)
 * under load. A requester and an in-process Nevada responder note every
 * message they receive; after the kill, and again after a restart on the
 * same data directory, every one of them has its log record, the sequence
 * has no gap and the chain and its checkpoints verify. The kill point varies
 * from run to run (LEX_CRASH_SEED repeats one); LEX_CRASH_CURVE=1 runs the
 * first test with CURVE, every node on a key bound to its exact ORI;
 * perf/crash-loop.sh runs it many times. A kill in the middle of a batch's
 * write can leave the WAL cut short (the kernel stops the write at a page
 * boundary); opening the log again cuts that unfinished batch off, as
 * docs/LOG.md "Damage" says, and the test checks that it held nothing a
 * node had received and that the log still verifies as intact. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "traffic.h"
#include "lex_auditlog.h"
#include "lex_error.h"
#include "lex_status.h"

#define SEEN_MAX 40000

static lex_test_switch_t sw;
static lex_test_seen_t seen[SEEN_MAX];
static lex_test_traffic_t tr;
static int trimmed;            /* 1 once an open cut off a write the kill interrupted */
static char resp_key[LEX_TEST_PATH], req_key[LEX_TEST_PATH]; /* "" without CURVE */

static void setup(void)
{
    tr = (lex_test_traffic_t){.seen = seen, .seen_max = SEEN_MAX};
    trimmed = 0;
    resp_key[0] = req_key[0] = '\0';
    lex_test_switch_prepare(&sw);
}

/* With LEX_CRASH_CURVE=1: CURVE on, the Nevada responder's key bound to
 * NVDMV0000 as a responder for NV, the requester's to its one ORI as an
 * agency (no wildcard). Call before the switch starts. */
static void use_curve_if_asked(const char *req_ori)
{
    const char *c = getenv("LEX_CRASH_CURVE");
    if (!c || strcmp(c, "1") != 0)
        return;
    lex_test_switch_use_curve(&sw);
    lex_test_make_key(&sw, "nvdmv", "responder", "NVDMV0000 states=NV", resp_key);
    lex_test_make_key(&sw, "requester", "agency", req_ori, req_key);
    fprintf(stderr, "test_crash: CURVE, keys bound to NVDMV0000 and %s\n", req_ori);
}

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(crash, .init = setup, .fini = teardown, .timeout = 120);

/* The requester: with the key use_curve_if_asked made, else plain. */
static lex_node_t *requester_new(const char *ori)
{
    if (!req_key[0])
        return lex_test_node(&sw, ori);
    lex_node_t *n = lex_test_node_with_key(&sw, ori, req_key);
    cr_assert_eq(lex_node_wait_ready(n, 10000), 0, "requester: %s", lex_node_error(n));
    return n;
}

/* Sends a DQ to state; a send the switch cannot take is a loss. */
static void send_query(lex_node_t *req, const char *state, unsigned i)
{
    lex_test_send_dq(req, state, i, NULL);
}

/* Receives whatever is waiting at both nodes; returns how many messages. */
static size_t pump(lex_node_t *req, lex_node_t *resp, int wait_ms)
{
    return lex_test_traffic_pump(&tr, req, resp, wait_ms, 0);
}

/* After the kill: a WAL cut inside its last record on a page boundary is
 * what a write the kill interrupted leaves. Readers refuse it; the writer's
 * open (the switch's start) cuts the unfinished batch off and says what it
 * cut. Says so on stderr (perf/crash-loop.sh counts these runs). */
static void trim_if_cut(void)
{
    lex_log_t *log = NULL;
    char err[1024];
    if (lex_log_open_reader(sw.data, &log, err, sizeof err) == 0) {
        lex_log_close(&log);
        return;
    }
    cr_assert(strstr(err, "write-ahead log is damaged") && strstr(err, "ends inside a record"),
              "after SIGKILL: %s", err);
    char why[1024];
    cr_assert_eq(lex_log_open(sw.data, LEX_DURABILITY_SYNC, &log, why, sizeof why), 0,
                 "the open does not cut off the interrupted write (%s): %s", err, why);
    const char *what = lex_log_interrupted_write(log);
    cr_assert(what != NULL, "the open says nothing of the write it cut: %s", err);
    fprintf(stderr, "test_crash: WAL cut by the kill: %s\ntest_crash: cut off at open: %s\n",
            err, what);
    lex_log_close(&log);
    trimmed = 1;
}

/* Every noted message has its outgoing record; the log verifies as intact.
 * Returns the last seq. */
static uint64_t check_log(const char *when)
{
    lex_log_verify_t res;
    uint64_t last = lex_test_traffic_check_log(&tr, sw.data, when, &res);
    cr_assert_eq(res.first_seq, 1);
    cr_assert_eq(res.last_seq, last, "%s: the walk ended at %llu, the head says %llu", when,
                 (unsigned long long)res.last_seq, (unsigned long long)last);
    return last;
}

Test(crash, every_received_message_is_logged_across_a_kill_and_restart)
{
    const char *seed_env = getenv("LEX_CRASH_SEED");
    unsigned seed = seed_env ? (unsigned)atoi(seed_env) : (unsigned)time(NULL) ^ (unsigned)getpid();
    srand(seed);
    unsigned kill_after = 150 + (unsigned)rand() % 600;
    fprintf(stderr, "test_crash: seed %u, SIGKILL after %u queries\n", seed, kill_after);

    const char *req_ori = lex_test_ori_of(&sw, "PD", "CA");
    use_curve_if_asked(req_ori);
    const char *extra[] = {"--durability", getenv("LEX_CRASH_DURABILITY"), NULL};
    lex_test_switch_start(&sw, extra[1] ? extra : NULL);
    lex_test_states_start(&sw, "IL", 200);
    lex_node_t *resp = lex_test_nv_responder(&sw, resp_key);
    lex_node_t *req = requester_new(req_ori);

    /* load until the kill: queries to Nevada (noted at both ends) and to
     * Illinois (a lexnode state process), 20 per round */
    unsigned sent = 0;
    while (sent < kill_after) {
        for (int i = 0; i < 20; i++, sent++)
            send_query(req, sent % 3 == 2 ? "IL" : "NV", sent);
        pump(req, resp, 3);
    }
    cr_assert_eq(kill(sw.pid, SIGKILL), 0);
    int status;
    cr_assert_eq(waitpid(sw.pid, &status, 0), sw.pid);
    sw.pid = 0;
    pump(req, resp, 20); /* whatever was already on its way to the nodes */
    size_t before = tr.nseen;
    cr_assert_gt(before, 0, "no message arrived before the kill");
    trim_if_cut();
    uint64_t killed_at = check_log("after SIGKILL");

    lex_test_switch_start(&sw, extra[1] ? extra : NULL);
    /* the nodes learn of the restart from a not-registered status and
     * register again: ask both states until real answers come back */
    uint64_t deadline = lex_mono_us() + 20000000u;
    int nv_back = 0, il_back = 0;
    while (!(nv_back && il_back) && lex_mono_us() < deadline) {
        size_t from = tr.nseen;
        send_query(req, "NV", sent++);
        send_query(req, "IL", sent++);
        pump(req, resp, 100);
        for (size_t i = from; i < tr.nseen; i++) {
            nv_back |= strcmp(seen[i].src, "NVDMV0000") == 0;
            il_back |= strncmp(seen[i].src, "IL", 2) == 0;
        }
    }
    cr_assert(nv_back && il_back, "the nodes did not register again after the restart");
    size_t restart_seen = tr.nseen;
    for (unsigned i = 0; i < 200; i++, sent++) {
        send_query(req, i % 3 == 2 ? "IL" : "NV", sent);
        if (i % 20 == 19)
            pump(req, resp, 1);
    }
    /* 200 answers at the requester and about 133 queries at the responder */
    while (tr.nseen - restart_seen < 300 && lex_mono_us() < deadline + 10000000u)
        pump(req, resp, 50);
    cr_assert_geq(tr.nseen - restart_seen, 300, "only %zu messages after the restart",
                  tr.nseen - restart_seen);
    lex_node_destroy(&req);
    lex_node_destroy(&resp);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    uint64_t last = check_log("after the restart");
    cr_assert_gt(last, killed_at);
    fprintf(stderr, "test_crash: %zu messages received before the kill, log at %llu; %zu in all, "
                    "log at %llu%s\n",
            before, (unsigned long long)killed_at, tr.nseen, (unsigned long long)last,
            trimmed ? "; WAL cut by the kill, cut off at open" : "");
}

#define SLOW_ANSWER_MS 3000   /* how long the Nevada responder takes to answer */

typedef struct {
    uint64_t ref;
    int found;                 /* the out ST no-record answering ref */
} find_st_t;

static int find_no_record(const lex_log_record_t *r, void *arg)
{
    find_st_t *f = arg;
    if (r->dir == LEX_DIR_OUT && strcmp(r->key, "ST") == 0 && r->ref == f->ref &&
        r->status == LEX_ST_NO_RECORD && strcmp(r->decision, "deny") == 0)
        f->found = 1;
    return f->found;
}

/* 1 when the log (read beside the running switch) holds the out ST no-record
 * answering ref. */
static int no_record_logged(uint64_t ref)
{
    lex_log_t *log = NULL;
    char err[256];
    if (lex_log_open_reader(sw.data, &log, err, sizeof err) != 0)
        return 0;
    find_st_t f = {ref, 0};
    lex_log_scan(log, 0, 0, find_no_record, &f);
    lex_log_close(&log);
    return f.found;
}

Test(crash, a_rules_no_record_waiting_like_a_real_miss_is_logged_before_a_kill)
{
    lex_test_write_rules(&sw, "NV", "rule nv-no-history\n"
                                    "  key KQ\n"
                                    "  deny no-record\n");
    const char *extra[] = {"--set", "no_record_delay_max_ms=60000", NULL};
    lex_test_switch_start(&sw, extra);
    lex_node_t *resp = lex_test_nv_responder(&sw, resp_key);
    lex_node_t *req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));

    /* a slow real answer teaches the switch how long Nevada takes */
    send_query(req, "NV", 1);
    lex_message_t m;
    cr_assert_eq(lex_node_recv(resp, &m, 5000), 0, "the responder got no query");
    lex_message_t q = m;
    uint64_t answer_at = lex_mono_us() + SLOW_ANSWER_MS * 1000u;
    while (lex_mono_us() < answer_at) /* heartbeats keep both sessions */
        lex_node_recv(resp, &m, 50), lex_node_recv(req, &m, 0);
    lex_test_answer_empty(resp, &q);
    int got_dr = 0;
    for (uint64_t until = lex_mono_us() + 5000000u; !got_dr && lex_mono_us() < until;)
        got_dr = lex_node_recv(req, &m, 100) == 0 && strcmp(m.env.key, "DR") == 0;
    cr_assert(got_dr, "the requester got no DR");

    /* the rule's no-record is held for about as long, its record already in */
    const char *words[] = {"lic=N0000001", NULL};
    uint64_t kq = 0;
    cr_assert_eq(lex_test_send(req, "KQ", "NV", words, &kq), 0);
    int logged = 0;
    for (uint64_t until = lex_mono_us() + 2000000u; !logged && lex_mono_us() < until;)
        logged = no_record_logged(kq);
    cr_assert(logged, "the no-record's record is not in the log while it waits");
    int early = 0;
    while (lex_node_recv(req, &m, 0) == 0)
        early |= strcmp(m.env.key, "ST") == 0 && m.env.ref == kq;
    cr_assert(!early, "the no-record came at once, not when a real miss would");

    cr_assert_eq(kill(sw.pid, SIGKILL), 0);
    int status;
    cr_assert_eq(waitpid(sw.pid, &status, 0), sw.pid);
    sw.pid = 0;
    cr_assert(no_record_logged(kq), "the record survives the kill");
    lex_node_destroy(&req);
    lex_node_destroy(&resp);
}
