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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "traffic.h"
#include "lex_auditlog.h"
#include "lex_error.h"
#include "lex_status.h"

#define SEEN_MAX 8000
#define ASKED_MAX 2000

static lex_test_switch_t sw;
static lex_test_seen_t seen[SEEN_MAX];
static uint64_t asked[ASKED_MAX];
static lex_test_traffic_t tr;

static void setup(void)
{
    tr = (lex_test_traffic_t){
        .seen = seen, .seen_max = SEEN_MAX, .asked = asked, .asked_max = ASKED_MAX};
    lex_test_switch_prepare(&sw);
}

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(ioerror, .init = setup, .fini = teardown, .timeout = 120);

/* Every message a node received (but the unrecorded ST log-failed) has
 * its out-record, and the log verifies; returns the last seq. */
static uint64_t check_log(const char *when)
{
    lex_log_verify_t res;
    uint64_t last = lex_test_traffic_check_log(&tr, sw.data, when, &res);
    cr_assert_eq(res.last_seq, last);
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
    lex_node_t *resp = lex_test_nv_responder(&sw, NULL);
    lex_node_t *req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));

    unsigned sent = 0;
    for (int r = 0; r < 10; r++)
        lex_test_traffic_round(&tr, req, resp, &sent, 20);
    cr_assert_eq(lex_test_traffic_unanswered(&tr), 0, "%zu queries unanswered before the fault",
                 lex_test_traffic_unanswered(&tr));
    size_t before = tr.nseen;

    /* the fault: the next WAL fsync (or write) fails; one more round */
    FILE *f = fopen(control, "w");
    cr_assert_not_null(f);
    fclose(f);
    uint64_t fault_us = lex_mono_us();
    lex_test_traffic_round(&tr, req, resp, &sent, 40);
    cr_assert_eq(access(hits, F_OK), 0, "the fault was never hit");
    cr_assert_eq(lex_test_traffic_unanswered(&tr), 0,
                 "%zu of %zu queries got neither an answer nor a status",
                 lex_test_traffic_unanswered(&tr), tr.nasked);
    size_t log_failed = 0;
    for (size_t i = before; i < tr.nseen; i++)
        log_failed += seen[i].status == LEX_ST_LOG_FAILED;
    cr_assert_gt(log_failed, 0, "no ST log-failed after the fault");

    /* the switch stops by itself, promptly, with its own exit status */
    int status = 0;
    pid_t got = 0;
    uint64_t deadline = lex_mono_us() + 10000000u;
    while ((got = waitpid(sw.pid, &status, WNOHANG)) == 0 && lex_mono_us() < deadline)
        lex_test_traffic_pump(&tr, req, resp, 20, 0);
    cr_assert_eq(got, sw.pid, "the switch did not stop after the log failed");
    uint64_t stop_ms = (lex_mono_us() - fault_us) / 1000u;
    sw.pid = 0;
    cr_assert(WIFEXITED(status), "the switch died of signal %d", WTERMSIG(status));
    cr_assert_eq(WEXITSTATUS(status), 74);
    lex_test_traffic_pump(&tr, req, resp, 50, 0);

    /* statuses and forwards counted only when sent: every one reached a
     * node (the two WELCOMEs are forwards libnode keeps to itself) */
    char text[4096];
    f = fopen(stats, "r");
    cr_assert_not_null(f, "no stats file");
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    unsigned long long counted = json_count(text, "routed") + json_count(text, "statuses");
    cr_assert_eq(counted, tr.nseen + 2, "the switch counts %llu messages sent, the nodes got %zu",
                 counted, tr.nseen + 2);
    size_t lines = error_lines(log);
    cr_assert_leq(lines, 12, "%zu error lines on stderr", lines);
    uint64_t at_fault = check_log("after the fault");

    /* a restart on the same log continues the chain (the nodes were told
     * BYE: they connect again) */
    unlink(control);
    lex_node_destroy(&req);
    lex_node_destroy(&resp);
    lex_test_switch_start(&sw, NULL);
    resp = lex_test_nv_responder(&sw, NULL);
    req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    tr.nasked = 0;
    for (int r = 0; r < 3; r++)
        lex_test_traffic_round(&tr, req, resp, &sent, 20);
    cr_assert_eq(lex_test_traffic_unanswered(&tr), 0);
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
