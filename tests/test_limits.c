/* test_limits.c: limits that hold, and nodes that die or stall, through a
 * real lexswitch: a low descriptor limit under a flood of connections, a
 * requester that never reads its answers, a connection that never says
 * HELLO, a responder killed with queries open, and the switch itself
 * stopped with SIGSTOP. Each watches what a user would: answers, statuses,
 * the switch's log, its metrics, its CPU time and its memory. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>
#include "harness.h"
#include "lex_body.h"
#include "lex_error.h"
#include "lex_population.h"
#include "lex_query_text.h"
#include "lex_status.h"

#define DRIVERS 200

static lex_test_switch_t sw;

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(limits, .fini = teardown, .timeout = 120);

static int log_has(const char *text)
{
    return lex_test_log_has(&sw, text);
}

/* Waits (deadline ms) until the switch's log holds needle. */
static int wait_log(const char *needle, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        if (log_has(needle))
            return 1;
        usleep(20000);
    }
    return 0;
}

/* lexswitch with the descriptor limit (soft and hard) set in the child
 * before exec, as `ulimit -n` or LimitNOFILE= would. */
static void start_switch_with_nofile(long nofile, const char *const *extra)
{
    char ready[LEX_TEST_PATH + 16], log[LEX_TEST_PATH + 16];
    snprintf(ready, sizeof ready, "%s/switch.ready", sw.dir);
    snprintf(log, sizeof log, "%s/switch.log", sw.dir);
    char path[LEX_TEST_PATH * 2];
    snprintf(path, sizeof path, "%s/lexswitch", LEX_BIN_DIR);
    char *args[64] = {path, "--bind-tcp", "", "--bind-ipc", sw.endpoint, "--data", sw.data,
                      "--rules", sw.rules, "--directory", sw.directory, "--ready-file", ready,
                      "--heartbeat-ms", "200", "--dead-after-ms", "1000", "--set", "dev_plain=1"};
    int n = 19;
    for (int i = 0; extra && extra[i] && n < 62; i++)
        args[n++] = (char *)extra[i];
    args[n] = NULL;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {(rlim_t)nofile, (rlim_t)nofile};
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || dup2(fd, 2) < 0 || setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(126);
        for (int i = 3; i < 1024; i++)
            close(i);
        execv(path, args);
        _exit(127);
    }
    sw.pid = pid;
    lex_test_wait_file(ready, pid, "lexswitch");
}

/* The value of one metric line ("name" or "name{labels}"), or -1. */
static double metric(int port, const char *name)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    const char *req = "GET /metrics HTTP/1.0\r\n\r\n";
    cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    static char text[1 << 16];
    size_t used = 0;
    ssize_t got;
    while (used < sizeof text - 1 && (got = read(fd, text + used, sizeof text - 1 - used)) > 0)
        used += (size_t)got;
    text[used] = 0;
    close(fd);
    char want[160];
    snprintf(want, sizeof want, "\n%s ", name);
    const char *at = strstr(text, want);
    return at ? atof(at + strlen(want)) : -1;
}

static long proc_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    cr_assert_not_null(p);
    long utime = 0, stime = 0;
    /* after "pid (comm)": state is field 3, utime 14, stime 15 */
    cr_assert_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime,
                        &stime), 2);
    return utime + stime;
}

static long proc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void licence_word(uint32_t i, char out[40])
{
    lex_population_t *pop = NULL;
    cr_assert_eq(lex_population_new("NV", DRIVERS, DRIVERS, &pop), 0);
    lex_driver_t d;
    lex_population_driver(pop, i, &d);
    lex_population_destroy(&pop);
    snprintf(out, 40, "lic=%s", d.lic);
}

/* Lets ms pass while n keeps its session (heartbeats go out as it waits). */
static void idle(lex_node_t *n, int ms)
{
    lex_message_t m;
    uint64_t until = lex_mono_us() + (uint64_t)ms * 1000u;
    while (lex_mono_us() < until)
        lex_node_recv(n, &m, 20);
}

static void expect_driver_answer(lex_node_t *n)
{
    char lic[40];
    licence_word(3, lic);
    const char *words[] = {lic, NULL};
    lex_message_t m;
    cr_assert_eq(lex_test_ask(n, "DQ", "NV", words, &m), 0, "no answer to a DQ");
    cr_assert_str_eq(m.env.key, "DR", "got %s (status %d) instead of DR", m.env.key,
                     lex_test_status_code(&m));
}

/* Sends a query without waiting; returns its id. */
static uint64_t send_query(lex_node_t *n, const char *key, const char *word)
{
    const char *words[] = {word, NULL};
    uint64_t id = 0;
    cr_assert_eq(lex_test_send(n, key, "NV", words, &id), 0);
    return id;
}

/* --- a raw DEALER speaking the protocol by hand (it decides when to read) */

static void raw_send(void *sock, lex_envelope_t *env, const void *body, size_t len)
{
    lex_buf_t e;
    lex_buf_init(&e);
    env->ts_us = lex_now_us();
    cr_assert_eq(lex_envelope_encode(env, &e), 0);
    cr_assert_geq(zmq_send(sock, e.data, e.len, ZMQ_SNDMORE), 0);
    cr_assert_geq(zmq_send(sock, body, len, 0), 0);
    lex_buf_free(&e);
}

static void raw_hello(void *sock, const char *ori)
{
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = 1;
    strcpy(env.key, "HELLO");
    strcpy(env.src, ori);
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 2);
    lex_mp_pack_str(&pk, "oris");
    msgpack_pack_array(&pk, 1);
    lex_mp_pack_str(&pk, ori);
    lex_mp_pack_kv_str(&pk, "role", "test");
    raw_send(sock, &env, body.data, body.len);
    lex_buf_free(&body);
}

static void raw_query(void *sock, const char *ori, uint64_t id, const char *key,
                      const char *word)
{
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = id;
    snprintf(env.key, sizeof env.key, "%s", key);
    strcpy(env.src, ori);
    strcpy(env.purpose, "C");
    lex_envelope_add_dst(&env, "NV");
    lex_buf_t body;
    lex_buf_init(&body);
    char *words[] = {(char *)word};
    char err[128];
    cr_assert_eq(lex_query_body_from_words(key, words, 1, &body, err, sizeof err), 0, "%s", err);
    raw_send(sock, &env, body.data, body.len);
    lex_buf_free(&body);
}

/* Receives one two-frame message into env (0), or -1 on timeout. */
static int raw_recv(void *raw, lex_envelope_t *env)
{
    char frame[4096];
    int n = zmq_recv(raw, frame, sizeof frame, 0);
    if (n < 0)
        return -1;
    const char *field;
    int rc = lex_envelope_decode(frame, (size_t)n < sizeof frame ? (size_t)n : sizeof frame,
                                 env, &field);
    int more = 0;
    size_t size = sizeof more;
    zmq_getsockopt(raw, ZMQ_RCVMORE, &more, &size);
    if (more)
        zmq_recv(raw, frame, sizeof frame, 0);
    return rc == 0 ? 0 : 1;
}

/* A responder on a raw DEALER registered for NV (after its WELCOME). */
static void *raw_responder(void *ctx)
{
    void *raw = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 2000, timeout = 10000;
    zmq_setsockopt(raw, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(raw, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    cr_assert_eq(zmq_connect(raw, sw.endpoint), 0);
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = 1;
    strcpy(env.key, "HELLO");
    strcpy(env.src, "NVDMV0000");
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 3);
    const char *lists[3][2] = {{"oris", "NVDMV0000"}, {"states", "NV"}, {"keys", "DQ"}};
    for (int i = 0; i < 3; i++) {
        lex_mp_pack_str(&pk, lists[i][0]);
        msgpack_pack_array(&pk, 1);
        lex_mp_pack_str(&pk, lists[i][1]);
    }
    raw_send(raw, &env, body.data, body.len);
    lex_buf_free(&body);
    lex_envelope_t w;
    do
        cr_assert_geq(raw_recv(raw, &w), 0, "no WELCOME for the raw responder");
    while (strcmp(w.key, "WELCOME") != 0);
    return raw;
}

/* Answers the next DQ with ST no-record and closes at once. */
static void answer_and_close(void *raw)
{
    lex_envelope_t q;
    do
        cr_assert_geq(raw_recv(raw, &q), 0, "the raw responder got no query");
    while (strcmp(q.key, "DQ") != 0);
    lex_envelope_t a;
    lex_envelope_init(&a);
    a.id = 2;
    strcpy(a.key, "ST");
    strcpy(a.src, "NVDMV0000");
    lex_envelope_add_dst(&a, q.src);
    a.ref = q.id;
    lex_buf_t body;
    lex_buf_init(&body);
    lex_status_body(&body, LEX_ST_NO_RECORD, LEX_NO_RECORD_TEXT);
    raw_send(raw, &a, body.data, body.len);
    lex_buf_free(&body);
    zmq_close(raw); /* gone right behind its answer */
}

Test(limits, an_answer_sent_just_before_the_responder_exits_still_arrives)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    char lic[40];
    licence_word(2, lic);
    void *ctx = zmq_ctx_new();
    for (int round = 0; round < 10; round++) {
        void *raw = raw_responder(ctx);
        uint64_t id = send_query(n, "DQ", lic);
        answer_and_close(raw);
        lex_message_t m;
        cr_assert_eq(lex_test_recv_answer(n, id, &m, 10000), 0, "round %d: no answer", round);
        cr_assert_eq(lex_test_status_code(&m), LEX_ST_NO_RECORD,
                     "round %d: the answer was lost with its responder (got %d)", round,
                     lex_test_status_code(&m));
        /* and the session ends with the connection: no route until the next */
        int code = -1;
        for (int waited = 0; waited < 10000 && code != LEX_ST_NO_ROUTE; waited += 20) {
            uint64_t probe = send_query(n, "DQ", lic);
            cr_assert_eq(lex_test_recv_answer(n, probe, &m, 10000), 0);
            code = lex_test_status_code(&m);
        }
        cr_assert_eq(code, LEX_ST_NO_ROUTE, "round %d: the closed responder still routed", round);
    }
    zmq_ctx_term(ctx);
    lex_node_destroy(&n);
}

/* The endpoint of the ready file starting with scheme ("tcp://"). */
static void ready_endpoint(const char *scheme, char out[LEX_TEST_PATH])
{
    char path[LEX_TEST_PATH + 16], line[LEX_TEST_PATH];
    snprintf(path, sizeof path, "%s/switch.ready", sw.dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    out[0] = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, scheme, strlen(scheme)) == 0) {
            line[strcspn(line, "\n")] = 0;
            snprintf(out, LEX_TEST_PATH, "%s", line);
        }
    fclose(f);
    cr_assert(out[0], "the switch serves no %s endpoint", scheme);
}

/* 400 connections to flood_scheme's endpoint against a limit of 256
 * descriptors, a session on ipc meanwhile. */
static void flood_at_the_descriptor_limit(const char *flood_scheme)
{
    lex_test_switch_prepare(&sw);
    const char *extra[] = {"--metrics-bind", "127.0.0.1:0", "--set", "hello_timeout_ms=60000",
                           "--bind-tcp", "tcp://127.0.0.1:0", NULL};
    start_switch_with_nofile(256, extra);
    int port = lex_test_metrics_port(&sw);
    char target[LEX_TEST_PATH];
    ready_endpoint(flood_scheme, target);
    lex_test_states_start(&sw, "NV", DRIVERS);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    expect_driver_answer(n);

    /* 400 connections against a limit of 256 descriptors */
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 4096);
    void *flood[400];
    for (int i = 0; i < 400; i++) {
        flood[i] = zmq_socket(ctx, ZMQ_DEALER);
        cr_assert_not_null(flood[i]);
        int linger = 0;
        zmq_setsockopt(flood[i], ZMQ_LINGER, &linger, sizeof linger);
        cr_assert_eq(zmq_connect(flood[i], target), 0);
    }
    double refused = -1;
    for (int waited = 0; waited < 20000 && refused <= 0; waited += 50) {
        idle(n, 50);
        refused = metric(port, "lexswitch_connections_refused_total{reason=\"cap\"}");
    }
    cr_assert_gt(refused, 0, "no connection was refused at the cap");
    int status;
    cr_assert_eq(waitpid(sw.pid, &status, WNOHANG), 0, "the switch died under the flood");
    double cap = metric(port, "lexswitch_connections_max");
    cr_assert_gt(cap, 0);
    cr_assert_lt(cap, 256, "the cap leaves descriptors for the log and metrics");
    cr_assert_leq(metric(port, "lexswitch_connections"), cap);
    for (int waited = 0; waited < 15000 && !log_has("refused"); waited += 50)
        idle(n, 50);
    cr_assert(log_has("refused"), "no log line about the refused connections");

    /* with the flood still knocking, the switch does not spin ... */
    long before = proc_cpu_ticks(sw.pid);
    long hz = sysconf(_SC_CLK_TCK);
    idle(n, 2000);
    long used = proc_cpu_ticks(sw.pid) - before;
    fprintf(stderr, "limits: the switch used %ld of %ld CPU ticks in 2 s under the flood\n", used,
            2 * hz);
    cr_assert_lt(used, hz, "the switch used %ld of %ld ticks in 2 s: it spins", used, 2 * hz);
    /* ... and the session it had keeps being served */
    expect_driver_answer(n);

    for (int i = 0; i < 400; i++)
        zmq_close(flood[i]);
    zmq_ctx_term(ctx);
    /* once the flood is gone there is room again */
    lex_node_t *late = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "NV"));
    expect_driver_answer(late);
    lex_node_destroy(&late);
    lex_node_destroy(&n);
}

/* libzmq 4.3's ipc listener aborts the process at EMFILE */
Test(limits, out_of_descriptors_new_ipc_connections_are_refused_and_existing_sessions_served)
{
    flood_at_the_descriptor_limit("ipc://");
}

/* and its TCP listener retries accept() at full speed */
Test(limits, out_of_descriptors_new_tcp_connections_are_refused_and_the_switch_does_not_spin)
{
    flood_at_the_descriptor_limit("tcp://");
}

Test(limits, a_requester_that_never_reads_is_bounded_refused_busy_then_dropped)
{
    lex_test_switch_prepare(&sw);
    /* it sends no heartbeats: only its full queue may end its session */
    const char *extra[] = {"--metrics-bind", "127.0.0.1:0", "--set", "conn_queue_bytes=1048576",
                           "--set", "conn_stuck_ms=3000", "--dead-after-ms", "60000", NULL};
    lex_test_switch_start(&sw, extra);
    int port = lex_test_metrics_port(&sw);
    lex_test_states_start(&sw, "NV", DRIVERS);
    lex_node_t *good = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    expect_driver_answer(good);

    void *ctx = zmq_ctx_new();
    void *raw = zmq_socket(ctx, ZMQ_DEALER);
    int one = 1, small = 4096, linger = 0;
    zmq_setsockopt(raw, ZMQ_RCVHWM, &one, sizeof one);
    zmq_setsockopt(raw, ZMQ_RCVBUF, &small, sizeof small);
    zmq_setsockopt(raw, ZMQ_LINGER, &linger, sizeof linger);
    cr_assert_eq(zmq_connect(raw, sw.endpoint), 0);
    const char *ori = lex_test_ori_of(&sw, "SO", "CA");
    raw_hello(raw, ori);
    long rss_before = proc_rss_kb(sw.pid);

    /* photos (20 to 40 KB each) it will never read */
    char lic[40];
    licence_word(7, lic);
    uint64_t id = 10;
    for (int i = 0; i < 200; i++)
        raw_query(raw, ori, id++, "IMQ", lic);
    for (int waited = 0; waited < 20000 && !log_has("is not reading"); waited += 50)
        idle(good, 50);
    cr_assert(log_has("is not reading"), "the switch never noticed the full queue");
    /* every photo of the first batch answered (sent, waiting or undelivered) */
    double open = -1;
    for (int waited = 0; waited < 20000 && open != 0; waited += 50) {
        idle(good, 50);
        open = metric(port, "lexswitch_queries_in_flight");
    }
    cr_assert_eq(open, 0, "the first batch never settled");
    long rss_full = proc_rss_kb(sw.pid);
    for (int i = 0; i < 1800; i++)
        raw_query(raw, ori, id++, "IMQ", lic);
    double busy = 0;
    for (int waited = 0; waited < 20000 && busy < 1000; waited += 50) {
        idle(good, 50);
        busy = metric(port, "lexswitch_busy_total");
    }
    cr_assert_geq(busy, 1000, "its later queries were not refused busy (%g)", busy);
    cr_assert_gt(metric(port, "lexswitch_messages_undelivered_total"), 0);
    long rss_after = proc_rss_kb(sw.pid);
    fprintf(stderr, "limits: switch RSS %ld KB at start, %ld when full, %ld after 1800 more\n",
            rss_before, rss_full, rss_after);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan keeps freed memory in quarantine: RSS says nothing here */
    rss_after = rss_full = rss_before;
#endif
    cr_assert_lt(rss_after - rss_full, 24 * 1024, "the switch grew %ld KB for 1800 answers "
                 "nobody reads", rss_after - rss_full);
    cr_assert_lt(rss_after - rss_before, 128 * 1024, "the switch grew %ld KB for a reader that "
                 "never reads", rss_after - rss_before);
    /* other nodes are served meanwhile */
    expect_driver_answer(good);
    /* and a queue that stays full loses its session */
    for (int waited = 0; waited < 15000 && !log_has("it read nothing for"); waited += 50)
        idle(good, 50);
    cr_assert(log_has("it read nothing for 3000 ms"), "the stuck session was kept");
    cr_assert_geq(metric(port, "lexswitch_sessions_stuck_total"), 1);
    expect_driver_answer(good);
    zmq_close(raw);
    zmq_ctx_term(ctx);
    lex_node_destroy(&good);
}

Test(limits, a_connection_that_never_says_hello_is_closed_after_the_timeout)
{
    lex_test_switch_prepare(&sw);
    const char *extra[] = {"--metrics-bind", "127.0.0.1:0", "--set", "hello_timeout_ms=500",
                           NULL};
    lex_test_switch_start(&sw, extra);
    int port = lex_test_metrics_port(&sw);
    void *ctx = zmq_ctx_new();
    void *raw = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(raw, ZMQ_LINGER, &linger, sizeof linger);
    cr_assert_eq(zmq_socket_monitor(raw, "inproc://raw-monitor", ZMQ_EVENT_DISCONNECTED), 0);
    void *mon = zmq_socket(ctx, ZMQ_PAIR);
    cr_assert_eq(zmq_connect(mon, "inproc://raw-monitor"), 0);
    cr_assert_eq(zmq_connect(raw, sw.endpoint), 0);
    int timeout = 10000;
    zmq_setsockopt(mon, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_msg_t ev;
    zmq_msg_init(&ev);
    cr_assert_geq(zmq_msg_recv(&ev, mon, 0), 0, "the silent connection was never closed");
    uint16_t event;
    memcpy(&event, zmq_msg_data(&ev), 2);
    cr_assert_eq(event, ZMQ_EVENT_DISCONNECTED);
    zmq_msg_close(&ev);
    cr_assert(wait_log("held no session for 500 ms", 5000));
    cr_assert_geq(metric(port, "lexswitch_hello_timeouts_total"), 1);

    /* a peer that connects and never even finishes the ZMTP greeting */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    const char *path = sw.endpoint + strlen("ipc://");
    cr_assert_lt(strlen(path), sizeof un.sun_path);
    memcpy(un.sun_path, path, strlen(path) + 1);
    cr_assert_eq(connect(fd, (struct sockaddr *)&un, sizeof un), 0);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char buf[256];
    ssize_t got = 1;
    uint64_t deadline = lex_mono_us() + 10000000u;
    while (got != 0 && lex_mono_us() < deadline) /* the switch's greeting, then its close */
        if (poll(&pfd, 1, 100) > 0 && (got = read(fd, buf, sizeof buf)) < 0)
            break;
    cr_assert_leq(got, 0, "a connection that never finished its handshake was kept");
    close(fd);
    zmq_close(mon);
    zmq_close(raw);
    zmq_ctx_term(ctx);
}

Test(limits, a_killed_responder_loses_its_queries_at_once_and_its_successor_gets_all_new_ones)
{
    lex_test_switch_prepare(&sw);
    const char *extra[] = {"--dead-after-ms", "30000", "--query-timeout-ms", "60000",
                           "--metrics-bind", "127.0.0.1:0", NULL};
    lex_test_switch_start(&sw, extra);
    int port = lex_test_metrics_port(&sw);
    lex_test_states_start(&sw, "NV", DRIVERS);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    expect_driver_answer(n);

    /* the responder stops answering, queries wait at it, then it dies */
    cr_assert_eq(kill(sw.states_pid, SIGSTOP), 0);
    char lic[40];
    licence_word(5, lic);
    uint64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = send_query(n, "DQ", lic);
    double open = 0;
    for (int waited = 0; waited < 10000 && open < 5; waited += 20) {
        usleep(20000);
        open = metric(port, "lexswitch_queries_in_flight");
    }
    cr_assert_eq(open, 5, "the queries never reached the stopped responder");
    cr_assert_eq(kill(sw.states_pid, SIGKILL), 0);
    int status;
    waitpid(sw.states_pid, &status, 0);
    sw.states_pid = 0;
    uint64_t t0 = lex_mono_us();
    for (int i = 0; i < 5; i++) {
        lex_message_t m;
        cr_assert_eq(lex_test_recv_answer(n, ids[i], &m, 10000), 0, "query %d unanswered", i);
        cr_assert_eq(lex_test_status_code(&m), LEX_ST_NODE_LOST, "query %d got %s/%d", i,
                     m.env.key, lex_test_status_code(&m));
    }
    /* well before dead_after_ms (30 s) */
    cr_assert_lt(lex_mono_us() - t0, 10000000u);
    fprintf(stderr, "limits: node-lost %.0f ms after kill -9 of the responder\n",
            (double)(lex_mono_us() - t0) / 1000.0);
    cr_assert(log_has("dropped: its connection"));

    /* a new responder gets every new query: none goes to the dead one */
    lex_test_states_start(&sw, "NV", DRIVERS);
    for (int i = 0; i < 10; i++)
        expect_driver_answer(n);
    lex_node_destroy(&n);
}

Test(limits, after_the_switch_is_stopped_for_5_s_no_node_is_dropped_as_silent)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL); /* heartbeat 200 ms, dead after 1000 ms */
    lex_test_states_start(&sw, "NV", DRIVERS);
    lex_node_t *n = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "CA"));
    expect_driver_answer(n);

    cr_assert_eq(kill(sw.pid, SIGSTOP), 0);
    uint64_t until = lex_mono_us() + 5000000u;
    lex_message_t m;
    while (lex_mono_us() < until)
        lex_node_recv(n, &m, 50); /* the node keeps sending heartbeats meanwhile */
    cr_assert_eq(kill(sw.pid, SIGCONT), 0);
    cr_assert(wait_log("did not run for", 10000), "the switch did not notice its own stall");
    /* a full dead_after_ms later, nobody was judged silent */
    until = lex_mono_us() + 1500000u;
    while (lex_mono_us() < until)
        lex_node_recv(n, &m, 50);
    cr_assert(!log_has("silent for over"), "a node was dropped as silent after the stall");
    expect_driver_answer(n);
    lex_node_destroy(&n);
}
