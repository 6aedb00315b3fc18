/* main.c: lexnode, the node program. `lexnode state` hosts state DMV
 * responders (all jurisdictions in one process by default); `lexnode agency`
 * runs requesting agencies from a directory, at a rate or from a scenario
 * file; `lexnode bridge` answers a state's queries from a SQL database.
 * Logic lives in libnode (lex_roles.h, lex_query_text.h, lex_bridge.h). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_bridge.h"
#include "lex_error.h"
#include "lex_node.h"
#include "lex_query_text.h"
#include "lex_roles.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: lexnode state  [options]   answer queries as state DMVs\n"
        "       lexnode agency [options]   send queries as requesting agencies\n"
        "       lexnode bridge [options]   answer queries from a SQL database\n\n"
        "common:\n"
        "  -c, --connect EP        switch endpoint (default tcp://127.0.0.1:7400)\n"
        "      --drivers N         synthetic drivers per state (default 20000)\n"
        "      --vehicles N        synthetic vehicles per state (default 20000)\n"
        "      --heartbeat-ms N    heartbeat interval (default 1000)\n"
        "      --key-file FILE     this process's CURVE key file (or env LEX_KEY)\n"
        "      --switch-key FILE   the switch's public key file (or env LEX_SWITCH_KEY)\n"
        "      --key-dir DIR       a key per node instead: DIR/<ST>.key for each state's\n"
        "                          responder; for agencies DIR/<GROUP>.key, GROUP the\n"
        "                          home state of local, state and tribal agencies or the\n"
        "                          family of federal ones (ICE-ERO.key)\n"
        "state:\n"
        "  -s, --states LIST       comma-separated state codes (default: all 56)\n"
        "      --ready-file FILE   written once every responder is registered\n"
        "      --witness-dir DIR   keep the switch's signed audit-log checkpoints in DIR\n"
        "      --log-key FILE      the switch's log public key (default: pin the first one)\n"
        "agency:\n"
        "  -D, --directory FILE    agency directory (required for --rate)\n"
        "  -r, --rate R            queries per second (or 2k/s, 290M/y, 1x)\n"
        "  -t, --duration S        seconds of sending (default 10)\n"
        "      --grace S           seconds to wait for late answers (default 6)\n"
        "      --federal-pct P     share of queries from federal agencies (default 12)\n"
        "      --miss-pct P        share of queries about nobody (default 5)\n"
        "      --fanout-pct P      share of queries to 2-3 states (default 2)\n"
        "      --seed N            random seed (default 1)\n"
        "      --stats-file FILE   write results as JSON (default: stdout)\n"
        "      --scenario FILE     send the queries of FILE one by one and print answers\n"
        "                          (lines: ORI KEY DEST[,DEST] [field=value ...])\n"
        "  -q, --quiet             no progress lines\n"
        "bridge:\n"
        "      --config FILE       bridge config: database, ori, states, one SQL\n"
        "                          statement per query key (see README)\n"
        "      --check             check the config and its statements, then exit\n"
        "      --init-sample FILE  write a sample config FILE and SQLite database\n"
        "                          (FILE with .db) to start from\n"
        "      --ready-file FILE   written once registered\n");
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* lexnode bridge: its own options, since the endpoint may come from its
 * config file. */
static int run_bridge(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'f'},  {"check", no_argument, 0, 'k'},
        {"init-sample", required_argument, 0, 'i'}, {"connect", required_argument, 0, 'c'},
        {"ready-file", required_argument, 0, 'r'},  {"heartbeat-ms", required_argument, 0, 'b'},
        {"key-file", required_argument, 0, 'K'},    {"switch-key", required_argument, 0, 'S'},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    const char *conf = NULL, *sample = NULL, *endpoint = NULL, *ready = NULL;
    unsigned long hb = 1000;
    int c, check = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': conf = optarg; break;
        case 'k': check = 1; break;
        case 'i': sample = optarg; break;
        case 'c': endpoint = optarg; break;
        case 'r': ready = optarg; break;
        case 'b':
            if (parse_uint(optarg, 600000, &hb) || hb < 50) {
                fprintf(stderr, "lexnode bridge: bad --heartbeat-ms %s\n", optarg);
                return 2;
            }
            break;
        case 'K': setenv("LEX_KEY", optarg, 1); break;
        case 'S': setenv("LEX_SWITCH_KEY", optarg, 1); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    char err[768] = "";
    if (sample) {
        if (lex_bridge_init_sample(sample, err, sizeof err) != 0) {
            fprintf(stderr, "lexnode bridge: %s\n", err);
            return 1;
        }
        printf("wrote %s and its SQLite database; run: lexnode bridge --config %s\n", sample,
               sample);
        return 0;
    }
    if (!conf || optind < argc) {
        fprintf(stderr, "lexnode bridge: --config FILE is required (or --init-sample FILE)\n");
        return 2;
    }
    lex_bridge_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg || lex_bridge_config_load(conf, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "lexnode bridge: %s\n", cfg ? err : "out of memory");
        free(cfg);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    lex_bridge_run_t run = {.config = cfg, .endpoint = endpoint, .ready_file = ready,
                            .heartbeat_ms = (int)hb, .check_only = check, .stop = &stop_flag};
    int rc = lex_bridge_run(&run, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "lexnode bridge: %s\n", err[0] ? err : lex_strerror(rc));
    else if (check)
        printf("%s: %zu statement(s) prepared against %s\n", conf, cfg->nstmts, cfg->database);
    lex_bridge_config_free(cfg);
    free(cfg);
    return rc == 0 ? 0 : 1;
}

enum { O_DRIVERS = 256, O_VEHICLES, O_HB, O_READY, O_GRACE, O_FED, O_MISS, O_FAN, O_SEED,
       O_STATS, O_SCENARIO, O_KEY, O_SWITCH_KEY, O_KEY_DIR, O_WITNESS, O_LOG_KEY };

static const struct option long_opts[] = {
    {"connect", required_argument, 0, 'c'},   {"drivers", required_argument, 0, O_DRIVERS},
    {"vehicles", required_argument, 0, O_VEHICLES}, {"heartbeat-ms", required_argument, 0, O_HB},
    {"states", required_argument, 0, 's'},    {"ready-file", required_argument, 0, O_READY},
    {"directory", required_argument, 0, 'D'}, {"rate", required_argument, 0, 'r'},
    {"duration", required_argument, 0, 't'},  {"grace", required_argument, 0, O_GRACE},
    {"federal-pct", required_argument, 0, O_FED}, {"miss-pct", required_argument, 0, O_MISS},
    {"fanout-pct", required_argument, 0, O_FAN},  {"seed", required_argument, 0, O_SEED},
    {"stats-file", required_argument, 0, O_STATS}, {"scenario", required_argument, 0, O_SCENARIO},
    {"key-file", required_argument, 0, O_KEY},    {"switch-key", required_argument, 0, O_SWITCH_KEY},
    {"witness-dir", required_argument, 0, O_WITNESS}, {"log-key", required_argument, 0, O_LOG_KEY},
    {"key-dir", required_argument, 0, O_KEY_DIR},
    {"quiet", no_argument, 0, 'q'},           {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

static int run_scenario(const char *endpoint, const char *path)
{
    char(*oris)[10] = NULL;
    int n = lex_scenario_oris(path, &oris);
    if (n <= 0) {
        fprintf(stderr, "lexnode: %s: %s\n", path, n == 0 ? "names no ORI" : lex_strerror(n));
        free(oris);
        return 1;
    }
    const char **list = calloc((size_t)n, sizeof *list);
    for (int i = 0; list && i < n; i++)
        list[i] = oris[i];
    lex_node_config_t nc = {.endpoint = endpoint, .role = "agency", .oris = list,
                            .noris = (size_t)n};
    lex_node_t *node = NULL;
    int rc = list ? lex_node_new(&nc, &node) : LEX_ENOMEM;
    if (rc == 0)
        rc = lex_node_wait_ready(node, 5000);
    int failed = 1;
    if (rc != 0)
        fprintf(stderr, "lexnode: cannot register with %s: %s\n", endpoint,
                node ? lex_node_error(node) : lex_strerror(rc));
    else
        failed = lex_scenario_run(node, path, 10000, stdout);
    lex_node_destroy(&node);
    free(list);
    free(oris);
    return failed == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *role = argv[1];
    if (strcmp(role, "bridge") == 0)
        return run_bridge(argc, argv);
    if (strcmp(role, "state") != 0 && strcmp(role, "agency") != 0) {
        fprintf(stderr, "lexnode: unknown role '%s'\n", role);
        usage(stderr);
        return 2;
    }
    const char *endpoint = "tcp://127.0.0.1:7400", *ready = NULL, *dirpath = NULL;
    const char *stats_path = NULL, *scenario = NULL, *witness_dir = NULL, *log_key = NULL;
    char *states_arg = NULL;
    lex_requester_config_t rq;
    lex_requester_config_defaults(&rq);
    unsigned long v, hb = 1000;
    int c, quiet = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, "c:s:D:r:t:qh", long_opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'c': endpoint = optarg; break;
        case 's': states_arg = optarg; break;
        case 'D': dirpath = optarg; break;
        case 'r': bad = (rq.rate = lex_rate_parse(optarg)) <= 0; break;
        case 't': bad = (rq.duration_s = atof(optarg)) <= 0; break;
        case O_GRACE: bad = (rq.grace_s = atof(optarg)) < 0; break;
        case O_DRIVERS: bad = parse_uint(optarg, 10000000, &v) || !v; rq.drivers = (uint32_t)v; break;
        case O_VEHICLES: bad = parse_uint(optarg, 10000000, &v) || !v; rq.vehicles = (uint32_t)v; break;
        case O_HB: bad = parse_uint(optarg, 600000, &hb) || hb < 50; break;
        case O_READY: ready = optarg; break;
        case O_FED: bad = parse_uint(optarg, 100, &v); rq.federal_pct = (unsigned)v; break;
        case O_MISS: bad = parse_uint(optarg, 100, &v); rq.miss_pct = (unsigned)v; break;
        case O_FAN: bad = parse_uint(optarg, 100, &v); rq.fanout_pct = (unsigned)v; break;
        case O_SEED: bad = parse_uint(optarg, ~0ul, &v); rq.seed = v; break;
        case O_STATS: stats_path = optarg; break;
        case O_SCENARIO: scenario = optarg; break;
        /* every node of the process uses the same key (libnode reads these) */
        case O_KEY: setenv("LEX_KEY", optarg, 1); break;
        case O_SWITCH_KEY: setenv("LEX_SWITCH_KEY", optarg, 1); break;
        case O_WITNESS: witness_dir = optarg; break;
        case O_LOG_KEY: log_key = optarg; break;
        case O_KEY_DIR: rq.key_dir = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad) {
            fprintf(stderr, "lexnode: bad value for option: %s\n", optarg);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lexnode: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (strcmp(role, "state") == 0) {
        const char *list[64];
        size_t n = 0;
        for (char *save = NULL, *s = states_arg ? strtok_r(states_arg, ",", &save) : NULL;
             s && n < 64; s = strtok_r(NULL, ",", &save))
            list[n++] = s;
        lex_state_host_config_t sc = {.endpoint = endpoint, .states = n ? list : NULL,
                                      .nstates = n, .drivers = rq.drivers,
                                      .vehicles = rq.vehicles, .ready_file = ready,
                                      .heartbeat_ms = (int)hb, .key_dir = rq.key_dir,
                                      .stop = &stop_flag, .witness_dir = witness_dir,
                                      .log_key = log_key};
        int rc = lex_state_host_run(&sc);
        if (rc != 0)
            fprintf(stderr, "lexnode: state host failed: %s\n", lex_strerror(rc));
        return rc == 0 ? 0 : 1;
    }

    if (scenario)
        return run_scenario(endpoint, scenario);
    if (!dirpath) {
        fprintf(stderr, "lexnode agency: --directory FILE is required (or --scenario FILE)\n");
        return 2;
    }
    char err[512];
    lex_directory_t *dir = NULL;
    if (lex_directory_load(dirpath, &dir, err, sizeof err) != 0) {
        fprintf(stderr, "lexnode: %s\n", err);
        return 1;
    }
    rq.endpoint = endpoint;
    rq.directory = dir;
    rq.progress = !quiet;
    rq.stop = &stop_flag;
    lex_requester_stats_t *stats = malloc(sizeof *stats);
    int rc = stats ? lex_requester_run(&rq, stats) : LEX_ENOMEM;
    if (rc == 0) {
        FILE *out = stats_path ? fopen(stats_path, "w") : stdout;
        if (!out) {
            fprintf(stderr, "lexnode: cannot write %s\n", stats_path);
            rc = LEX_EIO;
        } else {
            lex_requester_stats_json(stats, out);
            if (out != stdout)
                fclose(out);
        }
    } else {
        fprintf(stderr, "lexnode: agency run failed: %s\n", lex_strerror(rc));
    }
    free(stats);
    lex_directory_destroy(&dir);
    return rc == 0 ? 0 : 1;
}
