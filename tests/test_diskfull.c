/* test_diskfull.c: a full disk under the audit log never aborts the switch.
 * The log lives on a small filesystem the test makes (an ext4 image on a
 * loop device, or a tmpfs with size=; skipped, with the reason, where
 * neither can be mounted). A filler file takes the space under load: new
 * queries get ST 39 log-full while open ones are answered and logged; the
 * switch resumes by itself when the filler goes, starts on a full disk
 * without aborting, and everything a node received is in the log. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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
#define ASKED_MAX 4000
#define RESERVE_MB 16

typedef struct {
    char key[LEX_KEY_MAX + 1];
    uint64_t id, ref;
    int status;
} seen_t;

static lex_test_switch_t sw;
static char mnt[LEX_TEST_PATH - 8], filler[LEX_TEST_PATH + 16];
static int mounted;
static seen_t seen[SEEN_MAX];
static size_t nseen;
static uint64_t asked[ASKED_MAX]; /* query ids; 0 once answered */
static size_t nasked;
static lex_message_t pending[ASKED_MAX]; /* queries the responder holds */
static size_t npending;

static void setup(void)
{
    nseen = nasked = npending = 0;
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
    cr_assert_eq(lex_node_send(req, &env, body.data, body.len), 0);
    cr_assert_lt(nasked, ASKED_MAX);
    asked[nasked++] = env.id;
    lex_buf_free(&body);
}

/* Receives what waits at both nodes; the responder answers at once, or
 * holds the queries (hold = 1) to answer later. Returns the requester's
 * messages with status code `code` (-1: any). */
static size_t pump(lex_node_t *req, lex_node_t *resp, int wait_ms, int hold, int code)
{
    size_t got = 0, matching = 0;
    lex_message_t m;
    while (lex_node_recv(resp, &m, 0) == 0) {
        note(&m);
        if (strcmp(m.env.key, "DQ") == 0) {
            if (hold) {
                cr_assert_lt(npending, ASKED_MAX);
                pending[npending] = m; /* envelope only: the body is not needed */
                pending[npending].body = NULL;
                pending[npending++].body_len = 0;
            } else {
                answer(resp, &m);
            }
        }
        got++;
    }
    while (lex_node_recv(req, &m, got ? 0 : wait_ms) == 0) {
        note(&m);
        matching += code < 0 || lex_test_status_code(&m) == code;
        got++;
    }
    return matching;
}

static void round_trip(lex_node_t *req, lex_node_t *resp, unsigned *sent, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        send_query(req, (*sent)++);
    uint64_t deadline = lex_mono_us() + 10000000u;
    while (unanswered() > 0 && lex_mono_us() < deadline)
        pump(req, resp, 20, 0, -1);
    cr_assert_eq(unanswered(), 0, "%zu queries unanswered", unanswered());
}

/* Sends a query at a time until one gets a status with `code`. */
static void ask_until(lex_node_t *req, lex_node_t *resp, unsigned *sent, int code, int hold,
                      const char *what)
{
    uint64_t deadline = lex_mono_us() + 20000000u;
    size_t from = nseen;
    int found = 0;
    while (!found && lex_mono_us() < deadline) {
        send_query(req, (*sent)++);
        pump(req, resp, 50, hold, code);
        for (size_t i = from; i < nseen && !found; i++)
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
    char path[LEX_TEST_PATH + 16], line[4096];
    snprintf(path, sizeof path, "%s/switch.log", sw.dir);
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return found;
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

static uint64_t check_log(const char *when)
{
    lex_log_t *log = NULL;
    char err[256];
    cr_assert_eq(lex_log_open_reader(sw.data, &log, err, sizeof err), 0, "%s: %s", when, err);
    size_t missing = 0;
    for (size_t i = 0; i < nseen; i++) {
        if (seen[i].status == LEX_ST_LOG_FAILED)
            continue; /* sent without a record, by design */
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
    lex_log_close(&log);
    return last;
}

static const char *const reserve_opt[] = {"--set", "log_reserve_mb=16", NULL};

Test(diskfull, a_filled_disk_refuses_new_queries_answers_open_ones_and_resumes_by_itself)
{
    mount_small_fs();
    lex_test_switch_start(&sw, reserve_opt);
    lex_node_t *resp = responder_new();
    lex_node_t *req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    unsigned sent = 0;
    for (int r = 0; r < 10; r++)
        round_trip(req, resp, &sent, 20);

    /* 20 queries open at the responder, then the disk fills to half the
     * reserve: new queries get log-full */
    for (int i = 0; i < 20; i++)
        send_query(req, sent++);
    uint64_t deadline = lex_mono_us() + 10000000u;
    while (npending < 20 && lex_mono_us() < deadline)
        pump(req, resp, 20, 1, -1);
    cr_assert_eq(npending, 20);
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
    for (size_t i = 0; i < npending; i++)
        answer(resp, &pending[i]);
    npending = 0;
    deadline = lex_mono_us() + 10000000u;
    while (unanswered() > 0 && lex_mono_us() < deadline)
        pump(req, resp, 20, 0, -1);
    cr_assert_eq(unanswered(), 0, "%zu queries got neither an answer nor a status",
                 unanswered());
    size_t refused = 0;
    for (size_t i = 0; i < nseen; i++)
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
    resp = responder_new();
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

/* Starts the switch without waiting for it to serve. */
static pid_t start_nowait(void)
{
    char ready[LEX_TEST_PATH + 16], log[LEX_TEST_PATH + 16];
    snprintf(ready, sizeof ready, "%s/switch.ready", sw.dir);
    snprintf(log, sizeof log, "%s/switch.log", sw.dir);
    unlink(ready);
    char *args[] = {NULL, "--bind-tcp", "", "--bind-ipc", sw.endpoint, "--data", sw.data,
                    "--rules", sw.rules, "--directory", sw.directory, "--ready-file", ready,
                    "--heartbeat-ms", "200", "--dead-after-ms", "1000", "--set", "dev_plain=1",
                    "--set", "log_reserve_mb=16", NULL};
    return lex_test_spawn("lexswitch", args, log);
}

Test(diskfull, a_disk_full_to_the_last_block_never_aborts_the_switch)
{
    mount_small_fs();
    lex_test_switch_start(&sw, reserve_opt);
    lex_node_t *resp = responder_new();
    lex_node_t *req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    unsigned sent = 0;
    for (int r = 0; r < 5; r++)
        round_trip(req, resp, &sent, 20);

    /* every block taken: nothing more can be written, even a refusal */
    fill(0);
    uint64_t deadline = lex_mono_us() + 20000000u;
    size_t cap = nasked + 400;
    while (switch_alive() && lex_mono_us() < deadline) {
        if (nasked < cap)
            send_query(req, sent++);
        pump(req, resp, 20, 0, -1);
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
    pid_t pid = start_nowait();
    sw.pid = pid;
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
    resp = responder_new();
    req = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    nasked = 0;
    round_trip(req, resp, &sent, 20);
    lex_node_destroy(&req);
    lex_node_destroy(&resp);
    cr_assert_eq(lex_test_switch_stop(&sw), 0);
    check_log("at the end");
}
