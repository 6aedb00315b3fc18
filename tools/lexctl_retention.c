/* lexctl_retention.c: `lexctl retention status|confirm`. A retention pass
 * that would remove more than retention_max_share of the audit log waits;
 * the switch writes what it would remove to DATA/retention-pending, and
 * confirm answers with DATA/retention-confirm (upto SEQ), which the switch
 * reads within a second. Both need the data directory, as verify does. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "lexctl.h"

typedef struct {
    unsigned long long upto, from, records, stored, cutoff_us;
    int share_max;
} pending_t;

static int read_pending(const char *data, pending_t *p)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/retention-pending", data);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    memset(p, 0, sizeof *p);
    int n = fscanf(f, "upto %llu\nfrom %llu\nrecords %llu\nstored %llu\ncutoff_us %llu\n"
                      "share_max %d",
                   &p->upto, &p->from, &p->records, &p->stored, &p->cutoff_us, &p->share_max);
    fclose(f);
    return n == 6 ? 0 : -2;
}

static void print_pending(const pending_t *p)
{
    char when[32] = "?";
    time_t t = (time_t)(p->cutoff_us / 1000000u);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("waiting: records %llu to %llu (%llu of %llu stored, %.1f%%, more than the %d%% "
           "one pass may remove), older than %s by the switch's reckoning\n",
           p->from, p->upto, p->records, p->stored,
           p->stored ? 100.0 * (double)p->records / (double)p->stored : 0.0, p->share_max, when);
}

int lexctl_retention(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"upto", required_argument, 0, 'u'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *data = LEXCTL_DEFAULT_DATA;
    unsigned long long upto = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:u:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'u': upto = strtoull(optarg, NULL, 10); break;
        case 'h':
            printf("usage: lexctl retention status|confirm [--data DIR] [--upto SEQ]\n"
                   "status: the retention cut that waits for confirmation, if any.\n"
                   "confirm: lets the running switch remove it (records up to SEQ, default\n"
                   "the waiting cut's last); it still removes only records older than\n"
                   "retention_days by its reckoning.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind + 1 != argc ||
        (strcmp(argv[optind], "status") != 0 && strcmp(argv[optind], "confirm") != 0)) {
        fprintf(stderr, "lexctl retention: say status or confirm (see --help)\n");
        return 2;
    }
    pending_t p;
    int have = read_pending(data, &p);
    if (have == -2) {
        fprintf(stderr, "lexctl retention: %s/retention-pending is damaged\n", data);
        return 1;
    }
    if (strcmp(argv[optind], "status") == 0) {
        if (have != 0)
            printf("no retention cut waits for confirmation\n");
        else
            print_pending(&p);
        return 0;
    }
    if (have != 0 && !upto) {
        fprintf(stderr, "lexctl retention: no retention cut waits for confirmation\n");
        return 1;
    }
    if (!upto)
        upto = p.upto;
    if (have == 0)
        print_pending(&p);
    char path[4096], tmp[4100];
    snprintf(path, sizeof path, "%s/retention-confirm", data);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    mode_t old = umask(077);
    FILE *f = fopen(tmp, "w");
    umask(old);
    if (!f || fprintf(f, "upto %llu\n", upto) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "lexctl retention: cannot write %s\n", path);
        return 1;
    }
    printf("confirmed: the switch may remove records up to %llu\n", upto);
    return 0;
}
