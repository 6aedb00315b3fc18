/* lexctl_witness.c: `lexctl witness`, and `lexctl verify --witness`. The
 * witness connects to a switch as a node, asks for its signed audit-log
 * checkpoints (CP) and keeps each in a directory outside the switch's data
 * directory (lex_witness_client.h); verify --witness compares what a
 * witness kept with the log (lex_auditlog_repair.h), which catches a log
 * truncated, rolled back or rewritten by whoever holds the data directory. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_auditlog_repair.h"
#include "lex_error.h"
#include "lex_node.h"
#include "lex_textfile.h"
#include "lex_witness.h"
#include "lex_witness_client.h"
#include "lexctl.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

int lexctl_witness(int argc, char **argv)
{
    static const struct option opts[] = {
        {"connect", required_argument, 0, 'c'}, {"dir", required_argument, 0, 'w'},
        {"ori", required_argument, 0, 'o'},     {"log-key", required_argument, 0, 'k'},
        {"ready-file", required_argument, 0, 'r'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *endpoint = "tcp://127.0.0.1:7400", *ori = NULL, *ready = NULL;
    lex_witness_client_t w = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:w:o:k:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': endpoint = optarg; break;
        case 'w': w.dir = optarg; break;
        case 'o': ori = optarg; break;
        case 'k': w.key_path = optarg; break;
        case 'r': ready = optarg; break;
        case 'h':
            printf("usage: lexctl witness --connect EP --dir DIR --ori ORI [--log-key FILE]\n"
                   "Keeps the switch's signed audit-log checkpoints in DIR (checkpoints.log,\n"
                   "append-only), each checked against the log's public key (--log-key, or\n"
                   "the first one the switch sends, pinned in DIR/log-key.pub) and required\n"
                   "to extend the one before. One that goes back (a rolled-back or rewritten\n"
                   "log) is kept in DIR/conflicts.log and reported. Runs until Ctrl-C. Keep\n"
                   "DIR on another machine; check the log with `lexctl verify --witness DIR`.\n");
            return 0;
        default: return 2;
        }
    }
    if (!w.dir || !ori || optind < argc) {
        fprintf(stderr, "lexctl witness: --dir and --ori are required (see --help)\n");
        return 2;
    }
    const char *oris[] = {ori};
    lex_node_config_t cfg = {.endpoint = endpoint, .role = "witness", .oris = oris, .noris = 1,
                             .heartbeat_ms = 0 /* the WELCOME's */};
    lex_node_t *node = NULL;
    char err[512];
    if (lex_node_new_err(&cfg, &node, err, sizeof err) != 0) {
        fprintf(stderr, "lexctl witness: cannot connect to %s: %s\n", endpoint, err);
        return 1;
    }
    if (lex_node_wait_ready(node, 10000) != 0) {
        fprintf(stderr, "lexctl witness: not registered: %s\n", lex_node_error(node));
        lex_node_destroy(&node);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int wrote_ready = 0;
    while (!stopping) {
        lex_witness_client_tick(&w, node, 5000);
        lex_message_t m;
        if (lex_node_recv(node, &m, 200) != 0)
            continue;
        uint64_t kept = w.kept;
        if (!lex_witness_client_handle(&w, &m, err, sizeof err))
            continue;
        if (err[0])
            fprintf(stderr, "lexctl witness: %s%s\n", w.alarms ? "ALARM: " : "", err);
        else if (w.kept > kept)
            printf("kept the checkpoint of record %llu\n", (unsigned long long)w.newest);
        fflush(stdout);
        if (ready && !wrote_ready && w.kept + (err[0] == 0) > 0) {
            lex_textfile_write_atomic(ready, "ready\n");
            wrote_ready = 1;
        }
    }
    lex_node_destroy(&node);
    return w.alarms ? 1 : 0;
}

int lexctl_verify_witness(lex_log_t *log, const char *dir, const char *pubkey, const char *data)
{
    char path[4096], err[256];
    uint8_t pk[32];
    if (pubkey)
        snprintf(path, sizeof path, "%s", pubkey);
    else
        snprintf(path, sizeof path, "%s/%s", dir, LEX_WITNESS_KEY_FILE);
    if (lex_log_read_public_key(path, pk, err, sizeof err) != 0) {
        snprintf(path, sizeof path, "%s/audit-sign.pub", data);
        if (lex_log_read_public_key(path, pk, err, sizeof err) != 0) {
            printf("witness: cannot check: no public key (%s)\n", err);
            return 1;
        }
    }
    lex_log_witness_report_t r;
    int rc = lex_log_witness_check(log, dir, pk, &r);
    if (rc == 0) {
        printf("witness %s: %llu checkpoints, all in the log (%llu matched", dir,
               (unsigned long long)r.witnessed, (unsigned long long)r.matched);
        if (r.retired)
            printf(", %llu removed by retention", (unsigned long long)r.retired);
        if (r.in_gaps)
            printf(", %llu inside recorded gaps", (unsigned long long)r.in_gaps);
        printf("; newest at record %llu)\n", (unsigned long long)r.newest);
        return 0;
    }
    if (r.truncated || r.rewritten || r.conflicts)
        printf("witness %s: %s at record %llu: %s\n", dir,
               r.truncated ? "TRUNCATED OR ROLLED BACK" : r.rewritten ? "REWRITTEN" : "ROLLED BACK",
               (unsigned long long)r.bad_seq, r.what);
    else
        printf("witness %s: cannot check: %s\n", dir, r.what);
    return 1;
}
