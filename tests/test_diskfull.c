/* test_diskfull.c: a full disk under the audit log never aborts the switch.
 * The log lives on a small filesystem the test makes (an ext4 image on a
 * loop device, or a tmpfs with size=; skipped, with the reason, where
 * neither can be mounted). A filler file takes the space under load: new
 * queries get ST 39 log-full while open ones are answered and logged; the
 * switch resumes by itself when the filler goes, starts on a full disk
 * without aborting, and everything a node received is in the log. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "traffic.h"
#include "lex_auditlog.h"
#include "lex_error.h"
#include "lex_status.h"

#define SEEN_MAX 8000
#define ASKED_MAX 4000
#define RESERVE_MB 16

static lex_test_switch_t sw;
static char mnt[LEX_TEST_PATH - 8], filler[LEX_TEST_PATH + 16];
static int mounted;
static lex_test_seen_t seen[SEEN_MAX];
static uint64_t asked[ASKED_MAX];
static lex_message_t pending[ASKED_MAX]; /* queries the responder holds */
static lex_test_traffic_t tr;

static void setup(void)
{
    tr = (lex_test_traffic_t){.seen = seen, .seen_max = SEEN_MAX, .asked = asked,
                              .asked_max = ASKED_MAX, .strict = 1, .held = pending,
                              .held_max = ASKED_MAX};
    mounted = 0;
    lex_test_switch_prepare(&sw);
}

static void teardown(void)
{
    lex_test_switch_stop(&sw);
    if (mounted) {
        char cmd[2 * LEX_TEST_PATH + 48], out[256];
        snprintf(cmd, sizeof cmd, "umount '%s' 2>&1 || umount -l '%s' 2>&1", mnt, mnt);
        lex_test_run(cmd, out, sizeof out);
    }
    lex_test_switch_cleanup(&sw);
}

TestSuite(diskfull, .init = setup, .fini = teardown, .timeout = 150);

/* A 64 MB filesystem at sw.dir/mnt holding the switch's data; skips the
 * test when none can be mounted. */
static void mount_small_fs(void)
{
    char cmd[3 * LEX_TEST_PATH], out[512];
    snprintf(mnt, sizeof mnt, "%s/mnt", sw.dir);
    cr_assert_eq(mkdir(mnt, 0700), 0);
    const char *kind = "ext4 on a loop device";
    snprintf(cmd, sizeof cmd,
             "truncate -s 64M '%s/disk.img' && mkfs.ext4 -q -F -m 0 '%s/disk.img' >/dev/null "
             "2>&1 && mount -o loop '%s/disk.img' '%s' 2>&1",
             sw.dir, sw.dir, sw.dir, mnt);
    if (lex_test_run(cmd, out, sizeof out) != 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", out);
        kind = "tmpfs";
        snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=64m,mode=0700 tmpfs '%s' 2>&1", mnt);
        if (lex_test_run(cmd, out, sizeof out) != 0)
            cr_skip_test("skipped: cannot mount a small filesystem (loop ext4: %s; tmpfs: %s)",
                         why, out);
    }
    mounted = 1;
    fprintf(stderr, "test_diskfull: the log on %s\n", kind);
    snprintf(sw.data, sizeof sw.data, "%s/data", mnt);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
}

static uint64_t free_bytes(void)
{
    struct statvfs v;
    cr_assert_eq(statvfs(mnt, &v), 0);
    return (uint64_t)v.f_bavail * v.f_frsize;
}

/* Takes the free space down to `leave` bytes with a filler file. */
static void fill(uint64_t leave)
{
    uint64_t free = free_bytes();
    int fd = open(filler, O_WRONLY | O_CREAT, 0600);
    cr_assert_geq(fd, 0);
    struct stat st;
    fstat(fd, &st);
    if (leave > 0 && free > leave) {
        int rc = posix_fallocate(fd, st.st_size, (off_t)(free - leave));
        close(fd); /* before any assertion: an open file keeps the mount busy */
        cr_assert_eq(rc, 0, "cannot fill the disk: %s", strerror(rc));
        return;
    } else if (leave == 0) {
        /* to the last block: the file's own metadata takes some as it grows */
        off_t at = st.st_size;
        for (off_t chunk = 1 << 20; chunk >= 4096; chunk /= 2)
            while (posix_fallocate(fd, at, chunk) == 0)
                at += chunk;
        char block[512] = {0};
        lseek(fd, 0, SEEK_END);
        while (write(fd, block, sizeof block) > 0)
            ;
    }
    close(fd);
}

static size_t unanswered(void)
{
    return lex_test_traffic_unanswered(&tr);
}

static void pump(lex_node_t *req, lex_node_t *resp, int wait_ms, int hold)
{
    lex_test_traffic_pump(&tr, req, resp, wait_ms, hold);
}

static void round_trip(lex_node_t *req, lex_node_t *resp, unsigned *sent, unsigned n)
{
    lex_test_traffic_round(&tr, req, resp, sent, n);
    cr_assert_eq(unanswered(), 0, "%zu queries unanswered", unanswered());
}

/* Sends a query at a time until one gets a status with `code`. */
static void ask_until(lex_node_t *req, lex_node_t *resp, unsigned *sent, int code, int hold,
                      const char *what)
{
    uint64_t deadline = lex_mono_us() + 20000000u;
    size_t from = tr.nseen;
    int found = 0;
    while (!found && lex_mono_us() < deadline) {
        lex_test_traffic_send(&tr, req, "NV", (*sent)++);
        pump(req, resp, 50, hold);
        for (size_t i = from; i < tr.nseen && !found; i++)
            found = code >= 0 ? seen[i].status == code : strcmp(seen[i].key, "DR") == 0;
    }
    cr_assert(found, "%s: not within 20 s", what);
}

/* Without reaping it, so that its exit status stays to be read. */
static int switch_alive(void)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    return waitid(P_PID, (id_t)sw.pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == 0;
}

static int log_has(const char *text)
{
    return lex_test_log_has(&sw, text);
}

/* The switch's stderr, for a failing test's report. */
static void dump_log(void)
{
    char path[LEX_TEST_PATH + 16], line[4096];
    snprintf(path, sizeof path, "%s/switch.log", sw.dir);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        fprintf(stderr, "  switch: %s", line);
    if (f)
        fclose(f);
}

static uint64_t check_log(const char *when)
{
    lex_log_verify_t res;
    return lex_test_traffic_check_log(&tr, sw.data, when, &res);
}

static const char *const reserve_opt[] = {"--set", "log_reserve_mb=16", NULL};

/* The switch on the small filesystem with a requester and the Nevada
 * responder, after `rounds` rounds of 20 answered queries. */
static void start_on_small_fs(lex_node_t **req, lex_node_t **resp, unsigned *sent, int rounds)
{
    mount_small_fs();
    lex_test_switch_start(&sw, reserve_opt);
    *resp = lex_test_nv_responder(&sw, NULL);
    *req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    for (int r = 0; r < rounds; r++)
        round_trip(*req, *resp, sent, 20);
}

Test(diskfull, a_filled_disk_refuses_new_queries_answers_open_ones_and_resumes_by_itself)
{
    lex_node_t *req, *resp;
    unsigned sent = 0;
    start_on_small_fs(&req, &resp, &sent, 10);

    /* 20 queries open at the responder, then the disk fills to half the
     * reserve: new queries get log-full */
    for (int i = 0; i < 20; i++)
        lex_test_traffic_send(&tr, req, "NV", sent++);
    uint64_t deadline = lex_mono_us() + 10000000u;
    while (tr.nheld < 20 && lex_mono_us() < deadline)
        pump(req, resp, 20, 1);
    cr_assert_eq(tr.nheld, 20);
    fill((uint64_t)RESERVE_MB << 19);
    ask_until(req, resp, &sent, LEX_ST_LOG_FULL, 1, "no ST log-full after the disk filled");
    cr_assert(log_has("AUDIT LOG DISK LOW"), "no alarm line on stderr");
    char cmd[LEX_TEST_PATH * 2], out[8192];
    snprintf(cmd, sizeof cmd, "%s/lexctl status --connect %s --json", LEX_BIN_DIR, sw.endpoint);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "lexctl status: %s", out);
    cr_assert(strstr(out, "\"log_full\": true"), "lexctl status does not say log-full: %s", out);
    snprintf(cmd, sizeof cmd, "%s/lexctl status --connect %s --once", LEX_BIN_DIR, sw.endpoint);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 0, "lexctl status: %s", out);
    cr_assert(strstr(out, "LOG-FULL"), "lexctl status does not show LOG-FULL: %s", out);

    /* the open queries are still answered, and logged */
    for (size_t i = 0; i < tr.nheld; i++)
        lex_test_answer_empty(resp, &pending[i]);
    tr.nheld = 0;
    deadline = lex_mono_us() + 10000000u;
    while (unanswered() > 0 && lex_mono_us() < deadline)
        pump(req, resp, 20, 0);
    cr_assert_eq(unanswered(), 0, "%zu queries got neither an answer nor a status",
                 unanswered());
    size_t refused = 0;
    for (size_t i = 0; i < tr.nseen; i++)
        refused += seen[i].status == LEX_ST_LOG_FULL;
    cr_assert(switch_alive(), "the switch died on the full disk");

    /* space back: service resumes by itself */
    cr_assert_eq(unlink(filler), 0);
    ask_until(req, resp, &sent, -1, 0, "service did not resume after the filler went");
    round_trip(req, resp, &sent, 20);

    /* a restart on a disk below the reserve: starts, log-full at once */
    lex_node_destroy(&req);
    lex_node_destroy(&resp);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    fill((uint64_t)RESERVE_MB << 19);
    lex_test_switch_start(&sw, reserve_opt);
    cr_assert(log_has("AUDIT LOG DISK LOW AT START"), "no alarm line at start");
    resp = lex_test_nv_responder(&sw, NULL);
    req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    ask_until(req, resp, &sent, LEX_ST_LOG_FULL, 0, "no ST log-full after a start on a full disk");
    cr_assert_eq(unlink(filler), 0);
    ask_until(req, resp, &sent, -1, 0, "service did not resume after the restart");
    lex_node_destroy(&req);
    lex_node_destroy(&resp);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    uint64_t last = check_log("at the end");
    fprintf(stderr, "test_diskfull: %zu queries refused log-full, log at %llu\n", refused,
            (unsigned long long)last);
}

Test(diskfull, a_disk_full_to_the_last_block_never_aborts_the_switch)
{
    lex_node_t *req, *resp;
    unsigned sent = 0;
    start_on_small_fs(&req, &resp, &sent, 5);

    /* every block taken: nothing more can be written, even a refusal */
    fill(0);
    uint64_t deadline = lex_mono_us() + 20000000u;
    size_t cap = tr.nasked + 400;
    while (switch_alive() && lex_mono_us() < deadline) {
        if (tr.nasked < cap)
            lex_test_traffic_send(&tr, req, "NV", sent++);
        pump(req, resp, 20, 0);
    }
    /* stopped with its exit status (the refusals cannot be logged either),
     * never by a signal */
    int status = 0;
    if (waitpid(sw.pid, &status, WNOHANG) == 0) {
        cr_assert_eq(kill(sw.pid, SIGTERM), 0);
        cr_assert_eq(waitpid(sw.pid, &status, 0), sw.pid);
    }
    sw.pid = 0;
    if (!WIFEXITED(status))
        dump_log();
    cr_assert(WIFEXITED(status), "the switch died of signal %d", WTERMSIG(status));
    cr_assert(log_has("AUDIT LOG CANNOT WRITE") || log_has("AUDIT LOG DISK LOW"),
              "no clear message on stderr");
    cr_assert(!log_has("Assertion"), "RocksDB reached an assertion");
    lex_node_destroy(&req);
    lex_node_destroy(&resp);

    /* a start on the full disk waits, saying why, and serves once space is back */
    pid_t pid = lex_test_switch_spawn(&sw, reserve_opt);
    deadline = lex_mono_us() + 20000000u;
    while (!log_has("AUDIT LOG DISK FULL") && lex_mono_us() < deadline) {
        if (!switch_alive())
            dump_log();
        cr_assert(switch_alive(), "the switch exited on a full disk");
    }
    cr_assert(log_has("AUDIT LOG DISK FULL"), "no message about the full disk at start");
    cr_assert_eq(unlink(filler), 0);
    char ready[LEX_TEST_PATH + 16];
    snprintf(ready, sizeof ready, "%s/switch.ready", sw.dir);
    lex_test_wait_file(ready, pid, "lexswitch after space came back");
    resp = lex_test_nv_responder(&sw, NULL);
    req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    tr.nasked = 0;
    round_trip(req, resp, &sent, 20);
    lex_node_destroy(&req);
    lex_node_destroy(&resp);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    check_log("at the end");
}
