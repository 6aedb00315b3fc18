/* test_metrics.c: the metrics endpoint. The strict HTTP request parser on
 * its own, then a real switch with metrics on a loopback port: real queries
 * through it, a real HTTP GET over a TCP socket, and the counters, the
 * latency histogram and the error answers (404, 405, 400) checked. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "harness.h"
#include "lex_error.h"
#include "lex_population.h"
#include "metrics.h"

static lex_test_switch_t sw;

static void teardown(void)
{
    lex_test_switch_cleanup(&sw);
}

TestSuite(metrics, .fini = teardown, .timeout = 60);

static int parse(const char *text)
{
    lex_http_request_t req;
    return lex_http_parse(text, strlen(text), &req);
}

Test(metrics, http_parser_accepts_scrapes_and_refuses_what_is_not_http)
{
    lex_http_request_t req;
    const char *ok = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
    cr_assert_eq(lex_http_parse(ok, strlen(ok), &req), 1);
    cr_assert_str_eq(req.method, "GET");
    cr_assert_str_eq(req.path, "/metrics");
    cr_assert_eq(parse("GET /metrics HTTP/1.0\r\n\r\n"), 1, "1.0 needs no Host");
    /* incomplete: more bytes may make it whole */
    cr_assert_eq(parse("GET /metr"), 0);
    cr_assert_eq(parse("GET /metrics HTTP/1.1\r\nHost: a\r\n"), 0);
    cr_assert_eq(parse("GET /metrics HTTP/1.1\r"), 0);
    /* malformed: never valid whatever follows */
    cr_assert_eq(parse("GET /metrics HTTP/1.1\n\n"), LEX_EPARSE, "bare LF");
    cr_assert_eq(parse("get /metrics HTTP/1.1\r\nHost: a\r\n\r\n"), LEX_EPARSE);
    cr_assert_eq(parse("GET metrics HTTP/1.1\r\nHost: a\r\n\r\n"), LEX_EPARSE);
    cr_assert_eq(parse("GET /metrics HTTP/2.0\r\nHost: a\r\n\r\n"), LEX_EPARSE);
    cr_assert_eq(parse("GET /metrics HTTP/1.1\r\n\r\n"), LEX_EPARSE, "1.1 without Host");
    cr_assert_eq(parse("GET /metrics HTTP/1.1\r\nHost a\r\n\r\n"), LEX_EPARSE);
    cr_assert_eq(parse("GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"), LEX_EPARSE);
    cr_assert_eq(parse("GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"),
                 LEX_EPARSE);
    cr_assert_eq(parse("\x16\x03\x01\x02"), LEX_EPARSE, "a TLS hello");
}

Test(metrics, counters_move_with_real_queries_and_errors_get_their_codes)
{
    lex_test_switch_prepare(&sw);
    lex_test_write_rules(&sw, "NV", "rule nv-no-ice\n  family ICE-ERO\n  deny denied\n");
    const char *extra[] = {"--metrics-bind", "127.0.0.1:0", NULL};
    lex_test_switch_start(&sw, extra);
    lex_test_states_start(&sw, "NV", 1000);
    int port = lex_test_metrics_port(&sw);

    static char out[262144];
    cr_assert_eq(lex_test_http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out),
                 200, "%s", out);
    cr_assert(strstr(out, "Content-Type: text/plain; version=0.0.4") != NULL, "%s", out);
    cr_assert(strstr(out, "# TYPE lexswitch_query_duration_seconds histogram") != NULL);
    double sessions_before = lex_test_metric(out, "lexswitch_sessions{role=\"state\"}");
    cr_assert_eq(sessions_before, 1, "%s", out);

    lex_population_t *pop = NULL;
    cr_assert_eq(lex_population_new("NV", 1000, 1000, &pop), 0);
    lex_node_t *pd = lex_test_node(&sw, lex_test_ori_of(&sw, "PD", "NV"));
    lex_node_t *ice = lex_test_node(&sw, lex_test_ori_of(&sw, "ICE-ERO", NULL));
    for (int i = 0; i < 5; i++) {
        lex_driver_t d;
        lex_population_driver(pop, (uint64_t)i, &d);
        char word[64];
        snprintf(word, sizeof word, "lic=%s", d.lic);
        const char *words[] = {word, NULL};
        lex_message_t m;
        cr_assert_eq(lex_test_ask(pd, "DQ", "NV", words, &m), 0);
        cr_assert_str_eq(m.env.key, "DR");
        if (i < 2) {
            cr_assert_eq(lex_test_ask(ice, "DQ", "NV", words, &m), 0);
            cr_assert_eq(lex_test_status_code(&m), 1, "denied");
        }
    }
    lex_population_destroy(&pop);

    cr_assert_eq(lex_test_http(port, "GET /metrics HTTP/1.0\r\n\r\n", out, sizeof out), 200);
    cr_assert_eq(lex_test_metric(out, "lexswitch_decisions_total{key=\"DQ\",decision=\"allow\"}"),
                 5, "%s", out);
    cr_assert_eq(lex_test_metric(out, "lexswitch_decisions_total{key=\"DQ\",decision=\"deny\"}"),
                 2);
    cr_assert_eq(lex_test_metric(out, "lexswitch_decisions_total{key=\"DR\",decision=\"allow\"}"),
                 5);
    cr_assert_eq(lex_test_metric(out, "lexswitch_messages_received_total{key=\"DQ\"}"), 7);
    cr_assert_eq(lex_test_metric(out, "lexswitch_query_duration_seconds_count"), 5);
    cr_assert_eq(lex_test_metric(out, "lexswitch_query_duration_seconds_bucket{le=\"+Inf\"}"), 5);
    cr_assert_gt(lex_test_metric(out, "lexswitch_query_duration_seconds_sum"), 0);
    cr_assert_eq(lex_test_metric(out, "lexswitch_queries_in_flight"), 0);
    cr_assert_eq(lex_test_metric(out, "lexswitch_sessions{role=\"state\"}"), 1);
    cr_assert_geq(lex_test_metric(out, "lexswitch_log_records_total"), 7 * 2 + 5 * 2);
    cr_assert_gt(lex_test_metric(out, "lexswitch_log_commits_total"), 0);

    /* a message with one frame is malformed and rejected */
    double malformed = lex_test_metric(out, "lexswitch_messages_malformed_total");
    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "XX");
    lex_message_t m;
    cr_assert_eq(lex_node_send(pd, &env, NULL, 0), 0);
    cr_assert_eq(lex_test_recv_answer(pd, env.id, &m, 5000), 0);
    cr_assert_eq(lex_test_status_code(&m), 23, "unknown key");
    cr_assert_eq(lex_test_http(port, "GET /metrics HTTP/1.0\r\n\r\n", out, sizeof out), 200);
    cr_assert_eq(lex_test_metric(out, "lexswitch_messages_rejected_total"), 1, "%s", out);
    cr_assert_eq(lex_test_metric(out, "lexswitch_messages_received_total{key=\"UNKNOWN\"}"), 1);
    cr_assert_eq(lex_test_metric(out, "lexswitch_messages_malformed_total"), malformed);

    cr_assert_eq(lex_test_http(port, "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out),
                 404);
    cr_assert_eq(lex_test_http(port, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out),
                 405);
    cr_assert(strstr(out, "Allow: GET") != NULL, "%s", out);
    cr_assert_eq(lex_test_http(port, "GET /metrics HTTP/1.1\n\n", out, sizeof out), 400, "%s", out);
    cr_assert_eq(lex_test_http(port, "HELLO THERE\r\n\r\n", out, sizeof out), 400);

    /* a request head larger than the cap is refused, not buffered */
    static char big[LEX_HTTP_REQ_MAX + 200];
    int n = snprintf(big, sizeof big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset(big + n, 'a', sizeof big - 1 - (size_t)n);
    cr_assert_eq(lex_test_http(port, big, out, sizeof out), 431, "%s", out);

    lex_node_destroy(&pd);
    lex_node_destroy(&ice);
    cr_assert_eq(lex_test_switch_stop(&sw), 0, "switch stops cleanly with metrics on");
}

Test(metrics, a_bad_metrics_bind_stops_the_switch_with_a_reason)
{
    lex_test_switch_prepare(&sw);
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "%s/lexswitch --data %s/d --bind-tcp '' --bind-ipc ipc://%s/s "
                              "--set dev_plain=1 --metrics-bind localhost:x 2>&1",
             LEX_BIN_DIR, sw.dir, sw.dir);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "metrics_bind") != NULL, "%s", out);
}

Test(metrics, dead_after_shorter_than_two_heartbeats_stops_the_switch_with_a_reason)
{
    lex_test_switch_prepare(&sw);
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "%s/lexswitch --data %s/d --bind-tcp '' --bind-ipc ipc://%s/s "
                              "--set dev_plain=1 --heartbeat-ms 1000 --dead-after-ms 1500 2>&1",
             LEX_BIN_DIR, sw.dir, sw.dir);
    cr_assert_eq(lex_test_run(cmd, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "at least twice heartbeat_ms") != NULL, "%s", out);
}
