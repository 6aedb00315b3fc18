/* harness.c: process and node helpers for the integration tests
 * (harness.h). Uses the binaries in LEX_BIN_DIR, real sockets and files. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "lex_body.h"
#include "lex_directory.h"
#include "lex_error.h"
#include "lex_keys.h"
#include "lex_query_text.h"
#include "lex_simdir.h"
#include "lex_states.h"

extern char **environ;

void lex_test_tmpdir(char out[128])
{
    snprintf(out, 128, "/tmp/lextest.XXXXXX");
    cr_assert_not_null(mkdtemp(out), "mkdtemp failed");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void lex_test_rmrf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void lex_test_switch_prepare(lex_test_switch_t *t)
{
    memset(t, 0, sizeof *t);
    lex_test_tmpdir(t->dir);
    snprintf(t->endpoint, sizeof t->endpoint, "ipc://%s/switch.sock", t->dir);
    snprintf(t->data, sizeof t->data, "%s/data", t->dir);
    snprintf(t->rules, sizeof t->rules, "%s/rules", t->dir);
    snprintf(t->directory, sizeof t->directory, "%s/directory.txt", t->dir);
    mkdir(t->rules, 0755);
    FILE *f = fopen(t->directory, "w");
    cr_assert_not_null(f);
    cr_assert_gt(lex_simdir_write(f, 2), 0);
    fclose(f);
}

void lex_test_make_key(lex_test_switch_t *t, const char *name, const char *role,
                       const char *patterns, char path[LEX_TEST_PATH])
{
    char prefix[LEX_TEST_PATH - 8], err[512];
    snprintf(prefix, sizeof prefix, "%s/%s", t->dir, name);
    lex_keypair_t kp;
    cr_assert_eq(lex_keypair_generate(&kp), 0);
    cr_assert_eq(lex_keyfile_write(prefix, name, &kp, err, sizeof err), 0, "%s", err);
    snprintf(path, LEX_TEST_PATH, "%s.key", prefix);
    if (patterns) {
        FILE *f = fopen(t->directory, "a");
        cr_assert_not_null(f);
        fprintf(f, "@key|%s|%s|%s|%s\n", kp.public_z85, name, role, patterns);
        fclose(f);
    }
}

void lex_test_switch_use_curve(lex_test_switch_t *t)
{
    t->curve = 1;
    lex_test_make_key(t, "switch", "agency", NULL, t->switch_key);
    snprintf(t->switch_pub, sizeof t->switch_pub, "%s/switch.pub", t->dir);
    /* `lexnode state` hosts whichever states a test starts: its key is a
     * responder for every state's DMV, each ORI and state named (no wildcard) */
    char scope[2048] = "", ori[LEX_ORI_LEN + 1];
    size_t used = 0;
    for (size_t i = 0; i < lex_state_count; i++) {
        lex_simdir_dmv_ori(lex_states[i], ori);
        used += (size_t)snprintf(scope + used, sizeof scope - used, "%s ", ori);
    }
    for (size_t i = 0; i < lex_state_count; i++)
        used += (size_t)snprintf(scope + used, sizeof scope - used, "%s%s",
                                 i ? "," : "states=", lex_states[i]);
    lex_test_make_key(t, "states", "responder", scope, t->states_key);
}

void lex_test_write_rules(lex_test_switch_t *t, const char *state, const char *text)
{
    char path[LEX_TEST_PATH + 16];
    snprintf(path, sizeof path, "%s/%s.rules", t->rules, state);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static pid_t spawn_bin(const char *name, char **args, const char *log)
{
    char path[LEX_TEST_PATH * 2];
    snprintf(path, sizeof path, "%s/%s", LEX_BIN_DIR, name);
    args[0] = path;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, path, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "cannot start %s", path);
    return pid;
}

static void wait_file(const char *path, pid_t pid, const char *what)
{
    for (int waited = 0; waited < 20000; waited += 10) {
        if (access(path, F_OK) == 0)
            return;
        int status;
        cr_assert_neq(waitpid(pid, &status, WNOHANG), pid, "%s exited before it was ready", what);
        usleep(10000);
    }
    cr_assert_fail("%s not ready within 20 s", what);
}

pid_t lex_test_switch_spawn(lex_test_switch_t *t, const char *const *extra)
{
    char ready[LEX_TEST_PATH + 16], log[LEX_TEST_PATH + 16];
    snprintf(ready, sizeof ready, "%s/switch.ready", t->dir);
    snprintf(log, sizeof log, "%s/switch.log", t->dir);
    unlink(ready);
    char *args[64] = {NULL, "--bind-tcp", "", "--bind-ipc", t->endpoint, "--data", t->data,
                      "--rules", t->rules, "--directory", t->directory, "--ready-file", ready,
                      "--heartbeat-ms", "200", "--dead-after-ms", "1000"};
    int n = 17;
    char curve_opt[LEX_TEST_PATH + 32];
    snprintf(curve_opt, sizeof curve_opt, "curve_key=%s", t->switch_key);
    args[n++] = "--set";
    args[n++] = t->curve ? curve_opt : "dev_plain=1";
    for (int i = 0; extra && extra[i] && n < 62; i++)
        args[n++] = (char *)extra[i];
    args[n] = NULL;
    t->pid = spawn_bin("lexswitch", args, log);
    return t->pid;
}

void lex_test_switch_start(lex_test_switch_t *t, const char *const *extra)
{
    char ready[LEX_TEST_PATH + 16];
    snprintf(ready, sizeof ready, "%s/switch.ready", t->dir);
    lex_test_switch_spawn(t, extra);
    wait_file(ready, t->pid, "lexswitch");
}

void lex_test_states_start(lex_test_switch_t *t, const char *states, unsigned drivers)
{
    char ready[LEX_TEST_PATH + 16], log[LEX_TEST_PATH + 16], n[16];
    snprintf(ready, sizeof ready, "%s/states.ready", t->dir);
    snprintf(log, sizeof log, "%s/states.log", t->dir);
    snprintf(n, sizeof n, "%u", drivers);
    unlink(ready);
    char *args[] = {NULL, "state", "--connect", t->endpoint, "--states", (char *)states,
                    "--drivers", n, "--vehicles", n, "--ready-file", ready,
                    "--heartbeat-ms", "200", NULL, NULL, NULL, NULL, NULL};
    if (t->curve) {
        args[14] = "--key-file";
        args[15] = t->states_key;
        args[16] = "--switch-key";
        args[17] = t->switch_pub;
    }
    t->states_pid = spawn_bin("lexnode", args, log);
    wait_file(ready, t->states_pid, "lexnode state");
}

static int stop_pid(pid_t pid)
{
    if (pid <= 0)
        return 0;
    kill(pid, SIGTERM);
    int status = 0;
    for (int waited = 0; waited < 20000; waited += 10) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int lex_test_switch_stop(lex_test_switch_t *t)
{
    stop_pid(t->states_pid);
    t->states_pid = 0;
    int rc = stop_pid(t->pid);
    t->pid = 0;
    return rc;
}

void lex_test_switch_cleanup(lex_test_switch_t *t)
{
    lex_test_switch_stop(t);
    if (!getenv("LEX_TEST_KEEP")) lex_test_rmrf(t->dir);
}

lex_node_t *lex_test_node(const lex_test_switch_t *t, const char *ori)
{
    const char *oris[] = {ori};
    lex_node_config_t cfg = {.endpoint = t->endpoint, .role = "test", .oris = oris, .noris = 1,
                             .heartbeat_ms = 200};
    lex_node_t *n = NULL;
    cr_assert_eq(lex_node_new(&cfg, &n), 0);
    int rc = lex_node_wait_ready(n, 10000);
    cr_assert_eq(rc, 0, "node %s not registered: %s", ori, lex_node_error(n));
    return n;
}

lex_node_t *lex_test_node_with_key(const lex_test_switch_t *t, const char *ori,
                                   const char *key_file)
{
    const char *oris[] = {ori};
    lex_node_config_t cfg = {.endpoint = t->endpoint, .role = "test", .oris = oris, .noris = 1,
                             .heartbeat_ms = 200, .key_file = key_file ? key_file : "",
                             .switch_key_file = key_file ? t->switch_pub : ""};
    lex_node_t *n = NULL;
    char err[512] = "";
    cr_assert_eq(lex_node_new_err(&cfg, &n, err, sizeof err), 0, "%s", err);
    return n;
}

int lex_test_recv_answer(lex_node_t *n, uint64_t ref, lex_message_t *m, int timeout_ms)
{
    uint64_t deadline = lex_mono_us() + (uint64_t)timeout_ms * 1000u;
    while (lex_mono_us() < deadline) {
        if (lex_node_recv(n, m, 50) == 0 && m->env.ref == ref)
            return 0;
    }
    return LEX_ETIMEOUT;
}

int lex_test_send(lex_node_t *n, const char *key, const char *dst, const char *const *words,
                  uint64_t *id)
{
    lex_envelope_t env;
    lex_envelope_init(&env);
    snprintf(env.key, sizeof env.key, "%s", key);
    strcpy(env.purpose, "C");
    char list[128];
    snprintf(list, sizeof list, "%s", dst);
    for (char *save = NULL, *d = strtok_r(list, ",", &save); d; d = strtok_r(NULL, ",", &save))
        lex_envelope_add_dst(&env, d);
    int nw = 0;
    while (words && words[nw])
        nw++;
    lex_buf_t body;
    lex_buf_init(&body);
    char err[128];
    cr_assert_eq(lex_query_body_from_words(key, (char *const *)words, nw, &body, err, sizeof err),
                 0, "%s", err);
    int rc = lex_node_send(n, &env, body.data, body.len);
    lex_buf_free(&body);
    if (id)
        *id = env.id;
    return rc;
}

int lex_test_ask(lex_node_t *n, const char *key, const char *dst, const char *const *words,
                 lex_message_t *m)
{
    uint64_t id = 0;
    cr_assert_eq(lex_test_send(n, key, dst, words, &id), 0);
    return lex_test_recv_answer(n, id, m, 10000);
}

int lex_test_status_code(const lex_message_t *m)
{
    int code = -1;
    if (strcmp(m->env.key, "ST") != 0 || lex_status_parse(m->body, m->body_len, &code, NULL, 0))
        return -1;
    return code;
}

const char *lex_test_ori_of(const lex_test_switch_t *t, const char *family, const char *home)
{
    static char ori[LEX_ORI_LEN + 1];
    char err[256];
    lex_directory_t *dir = NULL;
    cr_assert_eq(lex_directory_load(t->directory, &dir, err, sizeof err), 0, "%s", err);
    ori[0] = 0;
    for (size_t i = 0; i < lex_directory_count(dir); i++) {
        const lex_agency_t *a = lex_directory_at(dir, i);
        if (strcmp(a->family, family) == 0 && (!home || strcmp(a->home_state, home) == 0)) {
            strcpy(ori, a->ori);
            break;
        }
    }
    lex_directory_destroy(&dir);
    cr_assert(ori[0], "no %s agency in %s", family, home ? home : "any state");
    return ori;
}

int lex_test_run(const char *cmd, char *out, size_t outlen)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run %s", cmd);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = 0;
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int lex_test_log_has(const lex_test_switch_t *t, const char *text)
{
    char path[LEX_TEST_PATH + 16], line[4096];
    snprintf(path, sizeof path, "%s/switch.log", t->dir);
    FILE *f = fopen(path, "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return found;
}

const char *lex_test_audit_text(lex_test_switch_t *t, char *out, size_t outlen)
{
    char cmd[1024];
    lex_test_switch_stop(t);
    snprintf(cmd, sizeof cmd, "%s/lexctl tail --data %s -n 100000 2>&1", LEX_BIN_DIR, t->data);
    lex_test_run(cmd, out, outlen);
    return out;
}

pid_t lex_test_spawn(const char *name, char **args, const char *log)
{
    return spawn_bin(name, args, log);
}

void lex_test_wait_file(const char *path, pid_t pid, const char *what)
{
    wait_file(path, pid, what);
}

int lex_test_stop_pid(pid_t pid)
{
    return stop_pid(pid);
}

int lex_test_metrics_port(const lex_test_switch_t *t)
{
    char path[LEX_TEST_PATH + 16], line[256];
    snprintf(path, sizeof path, "%s/switch.ready", t->dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    int port = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "http://127.0.0.1:%d/metrics", &port) == 1)
            break;
    fclose(f);
    cr_assert_gt(port, 0, "the ready file names no metrics URL (--metrics-bind)");
    return port;
}

int lex_test_http(int port, const char *request, char *out, size_t outlen)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect to metrics port");
    cr_assert_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    size_t len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        cr_assert_eq(poll(&p, 1, 10000), 1, "the server neither answered nor closed");
        ssize_t n = read(fd, out + len, outlen - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        cr_assert_lt(len, outlen - 1, "response too large for the test buffer");
    }
    out[len] = 0;
    close(fd);
    int code = 0;
    if (sscanf(out, "HTTP/1.1 %d", &code) != 1)
        return 0;
    return code;
}

void lex_test_metrics(const lex_test_switch_t *t, char *out, size_t outlen)
{
    lex_test_http(lex_test_metrics_port(t), "GET /metrics HTTP/1.0\r\n\r\n", out, outlen);
}

double lex_test_metric(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)); p += n)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}
