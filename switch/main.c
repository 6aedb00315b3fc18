/* main.c: lexswitch, the switch daemon. Reads an optional config file, then
 * command-line flags (which win), builds the switch and runs it until
 * SIGINT/SIGTERM. All logic lives in the library (lex_switch.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "lex_switch.h"
#include "logline.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: lexswitch [options]\n"
        "Routes law-enforcement queries between nodes, applies each state's rules,\n"
        "and logs every message to an audit log before forwarding it.\n\n"
        "  -c, --config FILE        read 'name = value' options from FILE first\n"
        "      --bind-tcp EP        TCP endpoint (default tcp://127.0.0.1:7400; '' for none)\n"
        "      --bind-ipc EP        IPC endpoint, e.g. ipc:///tmp/lexswitch.sock\n"
        "  -d, --data DIR           audit log directory (default lexswitch-data)\n"
        "  -r, --rules DIR          directory of <STATE>.rules files\n"
        "  -D, --directory FILE     agency directory (ORI|level|family|home|name lines,\n"
        "                           and @key|Z85|label|role|scope lines binding CURVE keys)\n"
        "      --durability MODE    sync (default), batch or none\n"
        "      --query-timeout-ms N unanswered queries get ST timeout (default 5000)\n"
        "      --heartbeat-ms N     heartbeat interval (default 1000)\n"
        "      --dead-after-ms N    drop nodes silent this long (default 3500)\n"
        "      --drain-ms N         on SIGINT/SIGTERM wait this long for open queries (default 5000)\n"
        "      --ready-file FILE    write the bound endpoints here once serving\n"
        "      --stats-file FILE    write counters as JSON here when stopping\n"
        "      --metrics-bind IP:PORT  serve Prometheus metrics at http://IP:PORT/metrics\n"
        "      --log-format FMT     text (default) or json (one JSON object a line)\n"
        "      --log-level LEVEL    error, warn, info (default) or debug\n"
        "      --set NAME=VALUE     set any config option by name\n"
        "  -v, --verbose            log node registrations, and at debug level\n"
        "  -h, --help               this text\n\n"
        "Signals: SIGINT/SIGTERM drain and stop; SIGHUP reloads the rules and the\n"
        "directory with its keys (a removed key's sessions are cut off).\n\n"
        "Exit status: 0 stopped; 1 cannot start (rules, directory, keys, or an audit\n"
        "log that is damaged: the message says what to do, e.g. `lexctl repair`);\n"
        "2 a bad option or config file; 74 an audit-log write or fsync failed\n"
        "(what was open got ST log-failed; restart it).\n"
        "Every option, --set names included, is in docs/CONFIG.md.\n");
}

static const struct option long_opts[] = {
    {"config", required_argument, 0, 'c'},       {"bind-tcp", required_argument, 0, 1},
    {"bind-ipc", required_argument, 0, 2},       {"data", required_argument, 0, 'd'},
    {"rules", required_argument, 0, 'r'},        {"directory", required_argument, 0, 'D'},
    {"durability", required_argument, 0, 3},     {"query-timeout-ms", required_argument, 0, 4},
    {"heartbeat-ms", required_argument, 0, 5},   {"dead-after-ms", required_argument, 0, 6},
    {"drain-ms", required_argument, 0, 7},       {"ready-file", required_argument, 0, 8},
    {"stats-file", required_argument, 0, 9},     {"set", required_argument, 0, 10},
    {"metrics-bind", required_argument, 0, 11},  {"log-format", required_argument, 0, 12},
    {"log-level", required_argument, 0, 13},
    {"verbose", no_argument, 0, 'v'},            {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

static const char *option_name(int c)
{
    switch (c) {
    case 1: return "bind_tcp";
    case 2: return "bind_ipc";
    case 'd': return "data_dir";
    case 'r': return "rules_dir";
    case 'D': return "directory";
    case 3: return "durability";
    case 4: return "query_timeout_ms";
    case 5: return "heartbeat_ms";
    case 6: return "dead_after_ms";
    case 7: return "drain_ms";
    case 8: return "ready_file";
    case 9: return "stats_file";
    case 11: return "metrics_bind";
    case 12: return "log_format";
    case 13: return "log_level";
    default: return NULL;
    }
}

int main(int argc, char **argv)
{
    lex_switch_config_t cfg;
    lex_switch_config_defaults(&cfg);
    char err[1024];
    int c, verbose = 0;

    /* pass 1: help and config file */
    while ((c = getopt_long(argc, argv, "c:d:r:D:vh", long_opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        if (c == '?') {
            usage(stderr);
            return 2;
        }
        if (c == 'c' && lex_switch_config_load(&cfg, optarg, err, sizeof err) != 0) {
            fprintf(stderr, "lexswitch: %s\n", err);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lexswitch: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    /* pass 2: flags override the file */
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:r:D:vh", long_opts, NULL)) != -1) {
        const char *name = option_name(c);
        int rc = 0;
        if (c == 'v') {
            verbose++;
        } else if (c == 10) {
            char *eq = strchr(optarg, '=');
            if (!eq) {
                fprintf(stderr, "lexswitch: --set wants NAME=VALUE\n");
                return 2;
            }
            *eq = 0;
            rc = lex_switch_config_set(&cfg, optarg, eq + 1, err, sizeof err);
        } else if (name) {
            rc = lex_switch_config_set(&cfg, name, optarg, err, sizeof err);
        }
        if (rc != 0) {
            fprintf(stderr, "lexswitch: %s\n", err);
            return 2;
        }
    }
    if (verbose)
        cfg.verbose = verbose;
    /* -v (verbose) logs node registrations and everything at debug level */
    lex_logline_setup(cfg.log_json, cfg.verbose ? LEX_LOG_DEBUG : (lex_loglevel_t)cfg.log_level);

    lex_switch_t *sw = NULL;
    if (lex_switch_new(&cfg, &sw, err, sizeof err) != 0) {
        lex_logline_write(LEX_LOG_ERROR, "cannot start: %s", err);
        return 1;
    }
    int rc = lex_switch_run(sw);
    int code = rc == 0 ? lex_switch_exit_code(sw) : 1;
    lex_switch_destroy(&sw);
    return code;
}
