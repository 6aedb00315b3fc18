/* lexload.c: the load generator. Registers the requesting agencies of a
 * directory with a running switch and sends a realistic query mix at a set
 * rate, open loop (sends are due by the clock, not by answers), then prints
 * throughput and latency percentiles and optionally writes them as JSON.
 * The engine is libnode's requester (lex_roles.h). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_error.h"
#include "lex_roles.h"
#include "lex_simdir.h"

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
        "Drives a running switch (with state responders attached) at a set rate,\n"
        "open loop, and reports throughput and latency percentiles.\n\n"
        "  -c, --connect EP       switch endpoint (default tcp://127.0.0.1:7400)\n"
        "  -r, --rate R           500, 500/s, 2k/s, 290M/y, or 3x the national\n"
        "                         average of 290 million a year (default 1x)\n"
        "  -t, --duration S       seconds of sending (default 10)\n"
        "  -D, --directory FILE   agency directory the switch uses (default: the\n"
        "                         simulation's, as written by `lexctl directory`)\n"
        "      --locals N         local agencies per state of that default (40)\n"
        "      --drivers N        population per state of the responders (20000)\n"
        "      --federal-pct P    share of queries from federal agencies (12)\n"
        "      --json FILE        write the result as JSON\n"
        "  -q, --quiet            no progress lines\n"
        "  -h, --help             this text\n");
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

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"connect", required_argument, 0, 'c'}, {"rate", required_argument, 0, 'r'},
        {"duration", required_argument, 0, 't'}, {"directory", required_argument, 0, 'D'},
        {"locals", required_argument, 0, 1},     {"drivers", required_argument, 0, 2},
        {"federal-pct", required_argument, 0, 3}, {"json", required_argument, 0, 4},
        {"quiet", no_argument, 0, 'q'},          {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    lex_requester_config_t cfg;
    lex_requester_config_defaults(&cfg);
    cfg.endpoint = "tcp://127.0.0.1:7400";
    cfg.rate = lex_rate_parse("1x");
    const char *dirpath = NULL, *json = NULL, *rate_text = "1x";
    unsigned locals = 40;
    int quiet = 0, c;
    while ((c = getopt_long(argc, argv, "c:r:t:D:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cfg.endpoint = optarg; break;
        case 'r':
            rate_text = optarg;
            if ((cfg.rate = lex_rate_parse(optarg)) <= 0) {
                fprintf(stderr, "lexload: bad rate '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            if ((cfg.duration_s = atof(optarg)) <= 0) {
                fprintf(stderr, "lexload: bad duration '%s'\n", optarg);
                return 2;
            }
            break;
        case 'D': dirpath = optarg; break;
        case 1: locals = (unsigned)atoi(optarg); break;
        case 2: cfg.drivers = cfg.vehicles = (uint32_t)atoi(optarg); break;
        case 3: cfg.federal_pct = (unsigned)atoi(optarg); break;
        case 4: json = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || locals < 1 || cfg.drivers < 100 || cfg.federal_pct > 100) {
        usage(stderr);
        return 2;
    }
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
    cfg.progress = !quiet;
    cfg.stop = &stop_flag;
    lex_requester_stats_t *st = malloc(sizeof *st);
    int rc = st ? lex_requester_run(&cfg, st) : LEX_ENOMEM;
    if (rc != 0) {
        fprintf(stderr, "lexload: %s\n", lex_strerror(rc));
    } else {
        const lex_hist_t *h = &st->latency;
        printf("lexload: rate asked %s (%.1f/s), achieved %.1f/s over %.1f s\n", rate_text,
               cfg.rate, st->elapsed_s > 0 ? (double)st->sent / st->elapsed_s : 0.0,
               st->elapsed_s);
        printf("  sent %llu, answers %llu of %llu expected, unanswered %llu, send errors %llu\n",
               (unsigned long long)st->sent, (unsigned long long)st->answers,
               (unsigned long long)st->expected, (unsigned long long)st->unanswered,
               (unsigned long long)st->send_errors);
        printf("  latency us: p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  max %llu\n",
               (unsigned long long)lex_hist_percentile(h, 50),
               (unsigned long long)lex_hist_percentile(h, 90),
               (unsigned long long)lex_hist_percentile(h, 99),
               (unsigned long long)lex_hist_percentile(h, 99.9), (unsigned long long)h->max);
        if (json) {
            FILE *f = fopen(json, "w");
            if (!f) {
                fprintf(stderr, "lexload: cannot write %s\n", json);
                rc = LEX_EIO;
            } else {
                lex_requester_stats_json(st, f);
                fclose(f);
            }
        }
        if (st->unanswered)
            rc = LEX_ETIMEOUT;
    }
    free(st);
    lex_directory_destroy(&dir);
    return rc == 0 ? 0 : 1;
}
