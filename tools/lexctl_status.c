/* lexctl_status.c: `lexctl status`: asks a running switch for its status
 * (SSQ -> SSR, docs/PROTOCOL.md) as an operations desk and shows it: message
 * counts and rates, refusals, queries in flight and held, the audit log's
 * position, and every connected node with its ORIs, states and open
 * queries. Once for scripts (--once, --json), or refreshed in place on a
 * terminal until interrupted. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <msgpack.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_node.h"
#include "lex_query_text.h"
#include "lex_status.h"
#include "lexctl.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: lexctl status [options]\n"
        "Shows a running switch: messages and rates, refusals, queries in flight and\n"
        "held for review, the audit log, and the connected nodes. On a terminal the\n"
        "view refreshes until Ctrl-C; otherwise (or with --once) it prints once.\n\n"
        "  -c, --connect EP       switch endpoint (default tcp://127.0.0.1:7400)\n"
        "  -o, --ori ORI          operations desk ORI to ask as (family OPS; default DCOPS0000);\n"
        "                         with CURVE, the key (--key-file) must be an operator key\n"
        "                         bound to it (lexctl keys gen NAME --operator --bind ORI);\n"
        "                         a national desk sees the whole switch, a state's desk\n"
        "                         its state's queues and nodes only\n"
        "      --once             print once and exit\n"
        "      --json             print once as one JSON object\n"
        "  -i, --interval SECS    refresh interval of the terminal view (default 1)\n"
        "  -n, --nodes N          show at most N nodes (default 40; 0 for none)\n"
        "exit status: 0 shown, 1 switch unreachable or refused, 2 usage\n");
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

static uint64_t get_u(const msgpack_object *o, const char *name)
{
    uint64_t v = 0;
    lex_mp_uint(lex_mp_get(o, name), &v);
    return v;
}

static double rate(const msgpack_object *o, const char *count)
{
    uint64_t ms = get_u(o, "window_ms");
    return ms ? (double)get_u(o, count) * 1000.0 / (double)ms : 0;
}

static void print_strs(const msgpack_object *arr, size_t max_chars)
{
    size_t used = 0;
    for (uint32_t i = 0; arr && arr->type == MSGPACK_OBJECT_ARRAY && i < arr->via.array.size;
         i++) {
        const msgpack_object *s = &arr->via.array.ptr[i];
        if (s->type != MSGPACK_OBJECT_STR)
            continue;
        if (used + s->via.str.size + 1 > max_chars) {
            printf(" ...");
            return;
        }
        printf("%s%.*s", used ? " " : "", (int)s->via.str.size, s->via.str.ptr);
        used += s->via.str.size + 1;
    }
}

/* Nodes in a stable order: by role (responders first), then first ORI. */
static void sort_key(const msgpack_object *s, char *out, size_t len)
{
    char role[20] = "", ori[16] = "";
    lex_mp_str(lex_mp_get(s, "role"), role, sizeof role);
    const msgpack_object *oris = lex_mp_get(s, "oris");
    if (oris && oris->type == MSGPACK_OBJECT_ARRAY && oris->via.array.size)
        lex_mp_str(&oris->via.array.ptr[0], ori, sizeof ori);
    snprintf(out, len, "%d%s/%s", strcmp(role, "state") != 0, role, ori);
}

static int by_role_and_ori(const void *a, const void *b)
{
    char ka[48], kb[48];
    sort_key(a, ka, sizeof ka);
    sort_key(b, kb, sizeof kb);
    return strcmp(ka, kb);
}

static void print_text(const char *endpoint, const msgpack_object *st, int max_nodes)
{
    uint64_t up = get_u(st, "uptime_s");
    const msgpack_object *dr = lex_mp_get(st, "draining");
    int draining = dr && dr->type == MSGPACK_OBJECT_BOOLEAN && dr->via.boolean;
    printf("lexswitch %s  up %lluh%02llum%02llus%s\n", endpoint,
           (unsigned long long)(up / 3600), (unsigned long long)(up / 60 % 60),
           (unsigned long long)(up % 60), draining ? "  DRAINING" : "");
    char scope[16] = "national";
    lex_mp_str(lex_mp_get(st, "scope"), scope, sizeof scope);
    int national = strcmp(scope, "national") == 0;
    if (!national)
        printf("scope      %s only: this key is one state's operator; the switch's totals "
               "and its log are for national operators\n", scope);
    printf("queues     in flight %llu  held for review %llu\n",
           (unsigned long long)get_u(st, "in_flight"), (unsigned long long)get_u(st, "held"));
    const msgpack_object *lf = lex_mp_get(st, "log_full");
    int log_full = lf && lf->type == MSGPACK_OBJECT_BOOLEAN && lf->via.boolean;
    if (national) {
        uint64_t commits = get_u(st, "log_commits");
        printf("messages   received %llu (%.1f/s)  forwarded %llu (%.1f/s)  statuses %llu\n",
               (unsigned long long)get_u(st, "received"), rate(st, "received_window"),
               (unsigned long long)get_u(st, "forwarded"), rate(st, "forwarded_window"),
               (unsigned long long)get_u(st, "statuses"));
        printf("refused    rejected %llu  malformed %llu  timeouts %llu  send failures %llu\n",
               (unsigned long long)get_u(st, "rejected"),
               (unsigned long long)get_u(st, "malformed"), (unsigned long long)get_u(st, "timeouts"),
               (unsigned long long)get_u(st, "send_failures"));
        printf("audit log  last seq %llu  commits %llu  records/commit %.1f  disk free %llu MB%s\n",
               (unsigned long long)get_u(st, "log_seq"), (unsigned long long)commits,
               commits ? (double)get_u(st, "log_records") / (double)commits : 0.0,
               (unsigned long long)get_u(st, "disk_free_mb"),
               log_full ? "  LOG-FULL: new queries refused" : "");
    } else if (log_full) {
        printf("audit log  LOG-FULL: new queries refused\n");
    }
    uint64_t total = get_u(st, "sessions_total");
    printf("nodes      %llu connected\n", (unsigned long long)total);
    const msgpack_object *ss = lex_mp_get(st, "sessions");
    if (!ss || ss->type != MSGPACK_OBJECT_ARRAY || max_nodes == 0 || ss->via.array.size == 0)
        return;
    qsort(ss->via.array.ptr, ss->via.array.size, sizeof(msgpack_object), by_role_and_ori);
    printf("  %-12s %-9s %6s %9s %8s  %s\n", "CONN", "ROLE", "ORIS", "IN-FLIGHT", "IDLE",
           "STATES (responders) / ORIS");
    uint32_t shown = 0;
    for (uint32_t i = 0; i < ss->via.array.size && shown < (uint32_t)max_nodes; i++, shown++) {
        const msgpack_object *s = &ss->via.array.ptr[i];
        char conn[40] = "", role[20] = "";
        lex_mp_str(lex_mp_get(s, "conn"), conn, sizeof conn);
        lex_mp_str(lex_mp_get(s, "role"), role, sizeof role);
        printf("  %-12.12s %-9s %6llu %9llu %6llums  ", conn, role,
               (unsigned long long)get_u(s, "nori"), (unsigned long long)get_u(s, "in_flight"),
               (unsigned long long)get_u(s, "idle_ms"));
        const msgpack_object *states = lex_mp_get(s, "states");
        if (states && states->type == MSGPACK_OBJECT_ARRAY && states->via.array.size)
            print_strs(states, 40);
        else
            print_strs(lex_mp_get(s, "oris"), 40);
        printf("\n");
    }
    if (total > shown)
        printf("  ... and %llu more (--nodes N)\n", (unsigned long long)(total - shown));
}

static void print_json(const char *endpoint, const msgpack_object *st)
{
    printf("{\"endpoint\": \"%s\", \"received_per_s\": %.3f, \"forwarded_per_s\": %.3f, "
           "\"status\": ",
           endpoint, rate(st, "received_window"), rate(st, "forwarded_window"));
    lex_msgpack_print_json(stdout, st);
    printf("}\n");
}

/* One SSQ/SSR exchange; prints the answer. 0, 1 when refused, or < 0. */
static int ask(lex_node_t *node, const char *endpoint, int json, int max_nodes, int clear)
{
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_str(&pk, "sessions");
    if (max_nodes != 0)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "SSQ");
    int rc = lex_node_send(node, &env, body.data, body.len);
    lex_buf_free(&body);
    if (rc != 0)
        return rc;
    uint64_t deadline = lex_mono_us() + 5000000u;
    lex_message_t m;
    while (lex_mono_us() < deadline && !interrupted) {
        if (lex_node_recv(node, &m, 200) != 0 || m.env.ref != env.id)
            continue;
        if (strcmp(m.env.key, "ST") == 0) {
            int code = 0;
            char text[256] = "";
            lex_status_parse(m.body, m.body_len, &code, text, sizeof text);
            fprintf(stderr, "lexctl status: refused: %s (%s)\n", lex_status_name(code), text);
            return 1;
        }
        msgpack_unpacked up;
        if (lex_body_parse(m.body, m.body_len, &up) != 0)
            return LEX_EPARSE;
        if (clear)
            printf("\033[H\033[2J");
        if (json)
            print_json(endpoint, &up.data);
        else
            print_text(endpoint, &up.data, max_nodes);
        fflush(stdout);
        msgpack_unpacked_destroy(&up);
        return 0;
    }
    return LEX_ETIMEOUT;
}

int lexctl_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"connect", required_argument, 0, 'c'}, {"ori", required_argument, 0, 'o'},
        {"once", no_argument, 0, 1},            {"json", no_argument, 0, 2},
        {"interval", required_argument, 0, 'i'}, {"nodes", required_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *endpoint = "tcp://127.0.0.1:7400", *ori = "DCOPS0000";
    int once = 0, json = 0, max_nodes = 40, c;
    double interval = 1;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:i:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': endpoint = optarg; break;
        case 'o': ori = optarg; break;
        case 1: once = 1; break;
        case 2: json = once = 1; break;
        case 'i':
            interval = strtod(optarg, &end);
            if (*end || interval < 0.1 || interval > 3600) {
                fprintf(stderr, "lexctl status: --interval wants seconds from 0.1 to 3600\n");
                return 2;
            }
            break;
        case 'n':
            max_nodes = (int)strtol(optarg, &end, 10);
            if (*end || max_nodes < 0) {
                fprintf(stderr, "lexctl status: --nodes wants a count\n");
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (!lex_ori_valid(ori)) {
        fprintf(stderr, "lexctl status: '%s' is not a 9-character ORI\n", ori);
        return 2;
    }
    if (!isatty(STDOUT_FILENO))
        once = 1;
    lex_node_t *node = lexctl_operator_connect("status", endpoint, ori);
    if (!node)
        return 1;
    int rc;
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
    for (;;) {
        rc = ask(node, endpoint, json, max_nodes, !once);
        if (rc != 0 || once || interrupted)
            break;
        uint64_t next = lex_mono_us() + (uint64_t)(interval * 1e6);
        while (!interrupted && lex_mono_us() < next) {
            lex_message_t m; /* keeps heartbeats flowing while waiting */
            lex_node_recv(node, &m, 100);
        }
        if (interrupted)
            break;
    }
    if (rc < 0)
        fprintf(stderr, "lexctl status: no answer from %s: %s\n", endpoint, lex_strerror(rc));
    lex_node_destroy(&node);
    return rc == 0 ? 0 : 1;
}
