/* test_witness.c: signed checkpoints leave the data directory. A `lexctl
 * witness` process and a state's responder (`lexnode state --witness-dir`)
 * keep the checkpoints a real switch sends them; when the data directory
 * is replaced by an older copy (a rollback, by someone who holds it and
 * its signing key), the chain alone still verifies, but `lexctl verify
 * --witness` reports the rollback, and a switch started on the old copy
 * is caught rewriting records the witnesses saw signed. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"
#include "traffic.h"
#include "lex_envelope.h"
#include "lex_status.h"
#include "lex_witness.h"

static lex_test_switch_t sw;
static pid_t witness_pid, state_pid;
static char witness_dir[LEX_TEST_PATH + 16], state_witness_dir[LEX_TEST_PATH + 16];

static void setup(void)
{
    witness_pid = state_pid = 0;
    lex_test_switch_prepare(&sw);
    snprintf(witness_dir, sizeof witness_dir, "%s/witness", sw.dir);
    snprintf(state_witness_dir, sizeof state_witness_dir, "%s/il-witness", sw.dir);
}

static void teardown(void)
{
    if (witness_pid)
        lex_test_stop_pid(witness_pid);
    if (state_pid)
        lex_test_stop_pid(state_pid);
    lex_test_switch_cleanup(&sw);
}

TestSuite(witness, .init = setup, .fini = teardown, .timeout = 120);

static int lexctl(char *out, size_t outlen, const char *fmt, const char *a, const char *b)
{
    char cmd[1536], part[1024];
    snprintf(part, sizeof part, fmt, a, b);
    snprintf(cmd, sizeof cmd, "%s/lexctl %s 2>&1", LEX_BIN_DIR, part);
    return lex_test_run(cmd, out, outlen);
}

/* Waits until the witness directory keeps a checkpoint above seq; returns
 * the newest seq it keeps. */
static uint64_t wait_witnessed(const char *dir, uint64_t above)
{
    uint64_t deadline = lex_mono_us() + 25000000u;
    lex_checkpoint_t cp = {0};
    while (lex_mono_us() < deadline) {
        if (lex_witness_newest(dir, &cp) == 0 && cp.seq > above)
            return cp.seq;
        usleep(20000);
    }
    cr_assert_fail("%s kept no checkpoint above %llu", dir, (unsigned long long)above);
    return 0;
}

static void start_witnesses(void)
{
    char log[LEX_TEST_PATH + 32], ready[LEX_TEST_PATH + 32];
    snprintf(log, sizeof log, "%s/witness.log", sw.dir);
    char *wargs[] = {NULL, "witness", "--connect", sw.endpoint, "--dir", witness_dir, "--ori",
                     (char *)lex_test_ori_of(&sw, "PD", "TX"), NULL};
    witness_pid = lex_test_spawn("lexctl", wargs, log);
    snprintf(log, sizeof log, "%s/il.log", sw.dir);
    snprintf(ready, sizeof ready, "%s/il.ready", sw.dir);
    char *sargs[] = {NULL, "state", "--connect", sw.endpoint, "--states", "IL", "--drivers", "200",
                     "--vehicles", "200", "--ready-file", ready, "--heartbeat-ms", "200",
                     "--witness-dir", state_witness_dir, NULL};
    state_pid = lex_test_spawn("lexnode", sargs, log);
    lex_test_wait_file(ready, state_pid, "lexnode state");
}

Test(witness, a_rolled_back_log_is_caught_by_its_witnesses)
{
    lex_test_switch_start(&sw, NULL);
    start_witnesses();
    lex_node_t *req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    unsigned next = 0;
    /* 1200 records: a checkpoint at 1000 */
    cr_assert_eq(lex_test_ask_answered(req, "IL", 300, &next), 300);
    uint64_t first = wait_witnessed(witness_dir, 0);
    wait_witnessed(state_witness_dir, 0);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);

    /* the older copy someone will put back */
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd, "cp -a %s %s/data-old", sw.data, sw.dir);
    cr_assert_eq(system(cmd), 0);

    lex_test_switch_start(&sw, NULL);
    lex_test_wait_answered(req, "IL", &next);
    cr_assert_eq(lex_test_ask_answered(req, "IL", 300, &next), 300);
    wait_witnessed(witness_dir, first);
    wait_witnessed(state_witness_dir, first);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    cr_assert_eq(lexctl(out, sizeof out, "verify --data %s --witness %s", sw.data, witness_dir), 0,
                 "%s", out);
    cr_assert(strstr(out, "all in the log"), "%s", out);

    /* the rollback: the chain alone cannot tell, the witnesses can */
    snprintf(cmd, sizeof cmd, "rm -rf %s && mv %s/data-old %s", sw.data, sw.dir, sw.data);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(lexctl(out, sizeof out, "verify --data %s%s", sw.data, ""), 0, "%s", out);
    const char *dirs[] = {witness_dir, state_witness_dir};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(lexctl(out, sizeof out, "verify --data %s --witness %s", sw.data, dirs[i]), 1,
                     "%s", out);
        cr_assert(strstr(out, "TRUNCATED OR ROLLED BACK"), "%s: %s", dirs[i], out);
    }

    /* a switch started on the old copy numbers new records over ones the
     * witnesses saw signed: they keep its step back apart, and verify
     * names the first rewritten record */
    lex_test_switch_start(&sw, NULL);
    uint64_t deadline = lex_mono_us() + 20000000u;
    while (lex_test_ask_answered(req, "IL", 1, &next) < 1 && lex_mono_us() < deadline)
        ;
    /* the witnesses ask again when they register with the restarted switch */
    char conflicts[LEX_TEST_PATH + 64];
    for (int i = 0; i < 2; i++) {
        snprintf(conflicts, sizeof conflicts, "%s/%s", dirs[i], LEX_WITNESS_CONFLICTS);
        while (access(conflicts, F_OK) != 0 && lex_mono_us() < deadline)
            usleep(20000);
        cr_assert_eq(access(conflicts, F_OK), 0, "%s did not notice the switch went back",
                     dirs[i]);
    }
    for (unsigned done = 0; done < 600 && lex_mono_us() < deadline + 20000000u;)
        done += lex_test_ask_answered(req, "IL", 100, &next);
    lex_node_destroy(&req);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    cr_assert_eq(lexctl(out, sizeof out, "verify --data %s --witness %s", sw.data, witness_dir), 1,
                 "%s", out);
    cr_assert(strstr(out, "REWRITTEN"), "%s", out);
    snprintf(cmd, sizeof cmd, "grep -q ALARM %s/witness.log", sw.dir);
    cr_assert_eq(system(cmd), 0, "lexctl witness did not raise the alarm");
}
