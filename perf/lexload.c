/* lexload.c: the load generator's command line. Drives a running switch (or
 * the bare forwarder of perf/baseline) open loop at a set rate, or closed
 * loop with a fixed number of queries in flight, over many connections, and
 * reports throughput and latency as a table, JSON and SVG plots. The engine
 * is lexload_engine.c; the outputs lexload_report.c. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lex_error.h"
#include "lex_simdir.h"
#include "lexload.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: lexload [options]\n"
        "Drives a running switch (with responders attached) and reports throughput\n"
        "and latency. Open loop by default: query i is due at a set time whatever\n"
        "the answers do, and its latency runs from that due time.\n\n"
        "  -c, --connect EP       endpoint (default tcp://127.0.0.1:7400)\n"
        "      --bare             the target is perf/baseline's lexfwd, not a switch\n"
        "  -r, --rate R           open loop: 500, 500/s, 2k/s, 290M/y, 3x (default 1x)\n"
        "      --x N              the same as --rate Nx: N times the national average\n"
        "                         of 290 million queries a year (about 9.2/s)\n"
        "      --poisson          Poisson arrivals (default: evenly spaced)\n"
        "      --replay-day S     follow a day's traffic cycle compressed into S\n"
        "                         seconds (the rate is the day's mean)\n"
        "      --inflight N       closed loop: keep N queries in flight (throughput)\n"
        "  -t, --duration S       seconds of sending (default 10)\n"
        "      --count N          stop sending after N queries (or at the duration)\n"
        "      --warmup S         answers to queries sent before S are not measured\n"
        "      --grace S          wait this long for the last answers (default 6)\n"
        "      --conns N          connections the agencies are spread over (default 64)\n"
        "      --agencies A[:N]   use N requesting agencies from the A-th on (default all)\n"
        "      --hold             only connect, register and stay alive (idle nodes)\n"
        "      --ready-file FILE  written once every connection is registered\n"
        "      --body-bytes B     DQ queries of about B bytes (as the catalogue allows);\n"
        "                         default: the simulation's query mix\n"
        "  -D, --directory FILE   the switch's agency directory (default: the\n"
        "                         simulation's, as `lexctl directory` writes it)\n"
        "      --locals N         local agencies per state of that default (40)\n"
        "      --drivers N        population per state of the responders (20000)\n"
        "      --federal-pct P    share of queries from federal agencies (12)\n"
        "      --seed N           random seed (1)\n"
        "      --label TEXT       name of the run in the outputs\n"
        "      --json FILE        write the result as JSON\n"
        "      --svg PREFIX       write PREFIX-latency.svg and PREFIX-throughput.svg\n"
        "  -q, --quiet            no progress line and no table\n"
        "  -h, --help             this text\n"
        "Exit status: 0, or 1 when an answer was missing or a send failed.\n");
}

static lex_directory_t *default_directory(unsigned locals)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    lex_simdir_write(f, locals);
    fclose(f);
    lex_directory_t *dir = NULL;
    char err[256];
    if (lex_directory_parse(text, "simulation", &dir, err, sizeof err) != 0)
        fprintf(stderr, "lexload: %s\n", err);
    free(text);
    return dir;
}

static int bad(const char *what, const char *value)
{
    fprintf(stderr, "lexload: bad %s '%s'\n", what, value);
    return 2;
}

int main(int argc, char **argv)
{
    enum { O_BARE = 1, O_X, O_POISSON, O_REPLAY, O_INFLIGHT, O_WARMUP, O_GRACE, O_CONNS,
           O_AGENCIES, O_HOLD, O_BODY, O_LOCALS, O_DRIVERS, O_FEDERAL, O_SEED, O_LABEL,
           O_JSON, O_SVG, O_COUNT, O_READY };
    static const struct option opts[] = {
        {"connect", required_argument, 0, 'c'},    {"bare", no_argument, 0, O_BARE},
        {"rate", required_argument, 0, 'r'},       {"x", required_argument, 0, O_X},
        {"poisson", no_argument, 0, O_POISSON},    {"replay-day", required_argument, 0, O_REPLAY},
        {"inflight", required_argument, 0, O_INFLIGHT},
        {"duration", required_argument, 0, 't'},   {"warmup", required_argument, 0, O_WARMUP},
        {"grace", required_argument, 0, O_GRACE},  {"conns", required_argument, 0, O_CONNS},
        {"agencies", required_argument, 0, O_AGENCIES}, {"hold", no_argument, 0, O_HOLD},
        {"body-bytes", required_argument, 0, O_BODY},
        {"directory", required_argument, 0, 'D'},  {"locals", required_argument, 0, O_LOCALS},
        {"drivers", required_argument, 0, O_DRIVERS},
        {"federal-pct", required_argument, 0, O_FEDERAL},
        {"seed", required_argument, 0, O_SEED},    {"label", required_argument, 0, O_LABEL},
        {"json", required_argument, 0, O_JSON},    {"svg", required_argument, 0, O_SVG},
        {"count", required_argument, 0, O_COUNT}, {"ready-file", required_argument, 0, O_READY},
        {"quiet", no_argument, 0, 'q'},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    ll_config_t cfg;
    ll_config_defaults(&cfg);
    cfg.rate = ll_rate_parse("1x");
    const char *dirpath = NULL, *json = NULL, *svg = NULL, *label = NULL;
    unsigned locals = 40;
    int quiet = 0, c;
    char *end;
    while ((c = getopt_long(argc, argv, "c:r:t:D:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cfg.endpoint = optarg; break;
        case O_BARE: cfg.target = LL_TARGET_BARE; break;
        case 'r':
            if ((cfg.rate = ll_rate_parse(optarg)) <= 0)
                return bad("rate", optarg);
            break;
        case O_X:
            if ((cfg.rate = strtod(optarg, &end)) <= 0 || *end)
                return bad("multiple", optarg);
            cfg.rate *= 290e6 / (365.25 * 86400);
            break;
        case O_POISSON: cfg.arrival = LL_ARRIVAL_POISSON; break;
        case O_REPLAY:
            if ((cfg.replay_day_s = strtod(optarg, &end)) <= 0 || *end)
                return bad("day length", optarg);
            break;
        case O_INFLIGHT:
            if ((cfg.inflight = (unsigned)strtoul(optarg, &end, 10)) == 0 || *end)
                return bad("in-flight count", optarg);
            break;
        case 't':
            if ((cfg.duration_s = strtod(optarg, &end)) <= 0 || *end)
                return bad("duration", optarg);
            break;
        case O_WARMUP:
            if ((cfg.warmup_s = strtod(optarg, &end)) < 0 || *end)
                return bad("warm-up", optarg);
            break;
        case O_GRACE:
            if ((cfg.grace_s = strtod(optarg, &end)) < 0 || *end)
                return bad("grace", optarg);
            break;
        case O_CONNS:
            if ((cfg.conns = (unsigned)strtoul(optarg, &end, 10)) == 0 || *end)
                return bad("connection count", optarg);
            break;
        case O_AGENCIES: {
            unsigned long a = strtoul(optarg, &end, 10), n = 0;
            if (*end == ':')
                n = strtoul(end + 1, &end, 10);
            if (*end)
                return bad("agency slice", optarg);
            cfg.first_agency = a;
            cfg.agencies = n;
            break;
        }
        case O_HOLD: cfg.hold = 1; break;
        case O_COUNT:
            if ((cfg.count = strtoull(optarg, &end, 10)) == 0 || *end)
                return bad("count", optarg);
            break;
        case O_READY: cfg.ready_file = optarg; break;
        case O_BODY:
            if ((cfg.body_bytes = (unsigned)strtoul(optarg, &end, 10)) == 0 || *end)
                return bad("body size", optarg);
            break;
        case 'D': dirpath = optarg; break;
        case O_LOCALS: locals = (unsigned)atoi(optarg); break;
        case O_DRIVERS: cfg.drivers = (uint32_t)atoi(optarg); break;
        case O_FEDERAL: cfg.federal_pct = (unsigned)atoi(optarg); break;
        case O_SEED: cfg.seed = strtoull(optarg, NULL, 10); break;
        case O_LABEL: label = optarg; break;
        case O_JSON: json = optarg; break;
        case O_SVG: svg = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || locals < 1 || cfg.drivers < 100 || cfg.federal_pct > 100 ||
        cfg.warmup_s >= cfg.duration_s) {
        usage(stderr);
        return 2;
    }
    if (!label)
        label = cfg.hold ? "hold" : cfg.inflight ? "closed" : "open";
    cfg.progress = !quiet && isatty(STDERR_FILENO);
    lex_directory_t *dir = NULL;
    char err[512];
    if (dirpath) {
        if (lex_directory_load(dirpath, &dir, err, sizeof err) != 0) {
            fprintf(stderr, "lexload: %s\n", err);
            return 1;
        }
    } else if (!(dir = default_directory(locals))) {
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    cfg.directory = dir;
    cfg.stop = &stop_flag;
    ll_result_t *res = calloc(1, sizeof *res);
    int rc = res ? ll_run(&cfg, res) : LEX_ENOMEM;
    if (rc != 0) {
        fprintf(stderr, "lexload: %s\n", lex_strerror(rc));
    } else {
        if (!quiet)
            ll_report_text(&cfg, res, label, stdout);
        if (json && ll_report_json(&cfg, res, label, json) != 0) {
            fprintf(stderr, "lexload: cannot write %s\n", json);
            rc = LEX_EIO;
        }
        if (svg && !cfg.hold && ll_report_svg(&cfg, res, label, svg) != 0) {
            fprintf(stderr, "lexload: cannot write %s-*.svg\n", svg);
            rc = LEX_EIO;
        }
        if (res->unanswered || res->send_errors)
            rc = LEX_ETIMEOUT;
    }
    if (res)
        free(res->series);
    free(res);
    lex_directory_destroy(&dir);
    return rc == 0 ? 0 : 1;
}
