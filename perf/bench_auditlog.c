/* bench_auditlog.c: how long audit-log searches take on a large log. Writes
 * N records (default ten million) through the log API with durability none,
 * spread over 400 days, between 2,600 synthetic agencies and the states,
 * then times lexctl audit's searches (lex_log_query) and lexctl report's
 * read of a state's rollups against a plain walk of every record measured in
 * the same run, and reports bytes on disk per record after compaction.
 * With --backlog it only writes the records, 800 to 400 days old by their
 * stamps and by the writer's reckoning (a retention backlog for
 * perf/retention-bench.sh), and stops.
 * Usage: bench_auditlog [--records N] [--dir DIR] [--keep] [--backlog] */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "lex_auditlog.h"
#include "lex_envelope.h"
#include "lex_error.h"
#include "lex_states.h"

#define AGENCIES 2600
#define DAY_US (86400ull * 1000000ull)

typedef struct {
    char ori[LEX_ORI_LEN + 1];
    const char *family;
    const char *level;
} agency_t;

static agency_t agencies[AGENCIES];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void make_agencies(void)
{
    static const char *const local[] = {"PD", "SO"};
    for (int i = 0; i < AGENCIES; i++) {
        agency_t *a = &agencies[i];
        if (i % 100 == 0) { /* one in a hundred federal */
            snprintf(a->ori, sizeof a->ori, "DC%s%04d", i % 200 ? "ICE" : "HSI", i / 100);
            a->family = i % 200 ? "ICE-ERO" : "HSI";
            a->level = "federal";
        } else {
            const char *st = lex_states[(size_t)i % lex_state_count];
            snprintf(a->ori, sizeof a->ori, "%s%07d", st, i);
            a->family = i % 10 == 1 ? "SP" : local[i % 2];
            a->level = i % 10 == 1 ? "state" : "local";
        }
    }
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int generate(const char *dir, uint64_t n, uint64_t t0, int reckon)
{
    lex_log_t *log = NULL;
    char err[256];
    int rc = lex_log_open(dir, LEX_DURABILITY_NONE, &log, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "bench_auditlog: %s\n", err);
        return rc;
    }
    uint64_t seed = 88172645463325252ull;
    static const char body[] = "\x81\xa3lic\xa9" "D12345678";
    static const char *const decisions[] = {"allow", "allow", "allow", "allow", "allow",
                                            "allow", "redact", "deny", "review", "refuse"};
    double start = now_s();
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        uint64_t r = next_rand(&seed);
        const agency_t *a = &agencies[r % AGENCIES];
        const char *dst = lex_states[(r >> 16) % lex_state_count];
        lex_log_record_t rec;
        memset(&rec, 0, sizeof rec);
        rec.time_us = t0 + i * (400 * DAY_US / n);
        if (reckon) /* the writer's reckoning: checkpoints prove these times */
            lex_log_set_clock(log, rec.time_us);
        rec.dir = (i & 1) ? LEX_DIR_OUT : LEX_DIR_IN;
        strcpy(rec.conn, "00b81c2a4e");
        strcpy(rec.key, (r >> 24) % 3 ? "DQ" : "RQ");
        strcpy(rec.src, a->ori);
        strcpy(rec.dst, dst);
        rec.msg_id = i / 2 + 1;
        strcpy(rec.decision, decisions[(r >> 32) % 10]);
        strcpy(rec.rule_id, "r1");
        strcpy(rec.req_family, a->family);
        strcpy(rec.req_level, a->level);
        rec.envelope = "\x86\xa1v\x01\xa2id\xcd\x01\x02\xa1k\xa2" "DQ\xa3src\xa9" "CA0190000";
        rec.envelope_len = 27;
        rec.body = body;
        rec.body_len = sizeof body - 1;
        rc = lex_log_append(log, &rec);
        if (rc == 0 && lex_log_pending(log) >= 1000)
            rc = lex_log_commit(log);
        if (i && i % 1000000 == 0)
            fprintf(stderr, "  %llu records, %.0f/s\n", (unsigned long long)i,
                    (double)i / (now_s() - start));
    }
    double wrote = now_s() - start;
    printf("wrote %llu records in %.1f s (%.0f records/s)\n", (unsigned long long)n, wrote,
           (double)n / wrote);
    /* bytes on disk are measured on compacted tables (zstd at the last level) */
    double t = now_s();
    if (rc == 0)
        rc = lex_log_compact(log);
    printf("compacted in %.1f s\n", now_s() - t);
    lex_log_close(&log);
    return rc;
}

static uint64_t dir_bytes(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (e->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

static int count_visit(const lex_log_record_t *r, void *arg)
{
    (void)r;
    (*(uint64_t *)arg)++;
    return 0;
}

static int sum_rollups(const lex_log_rollup_t *row, void *arg)
{
    ((uint64_t *)arg)[0] += row->count;
    ((uint64_t *)arg)[1]++;
    return 0;
}

/* What lexctl report reads: every rollup row of one state over a year. */
static void timed_report(lex_log_t *log, const char *state, double base)
{
    uint64_t sums[2] = {0, 0};
    double t = now_s();
    int rc = lex_log_rollups(log, state, "2025-01", "2025-12", sum_rollups, sums);
    t = now_s() - t;
    if (rc != 0)
        fprintf(stderr, "bench_auditlog: report: %s\n", lex_strerror(rc));
    printf("report --state %s --from 2025-01 --to 2025-12: %llu queries in %llu rows %8.4f s"
           "  %7.5fx the full walk\n", state, (unsigned long long)sums[0],
           (unsigned long long)sums[1], t, t / base);
}

static double timed(lex_log_t *log, const char *what, const lex_log_query_t *q, double base)
{
    uint64_t n = 0;
    double t = now_s();
    int rc = q ? lex_log_query(log, q, count_visit, &n) : lex_log_scan(log, 0, 0, count_visit, &n);
    t = now_s() - t;
    if (rc != 0)
        fprintf(stderr, "bench_auditlog: %s: %s\n", what, lex_strerror(rc));
    printf("%-58s %9llu records %8.3f s", what, (unsigned long long)n, t);
    if (base > 0)
        printf("  %7.4fx the full walk", t / base);
    printf("\n");
    return t;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"records", required_argument, 0, 'n'},
                                         {"dir", required_argument, 0, 'd'},
                                         {"keep", no_argument, 0, 'k'},
                                         {"backlog", no_argument, 0, 'b'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    uint64_t n = 10000000;
    char dir[256] = "";
    int keep = 0, backlog = 0, c;
    while ((c = getopt_long(argc, argv, "n:d:kbh", opts, NULL)) != -1) {
        switch (c) {
        case 'b': backlog = 1; break;
        case 'n': n = strtoull(optarg, NULL, 10); break;
        case 'd': snprintf(dir, sizeof dir, "%s", optarg); break;
        case 'k': keep = 1; break;
        case 'h':
            printf("usage: bench_auditlog [--records N] [--dir DIR] [--keep] [--backlog]\n"
                   "Writes N records (default 10,000,000) into DIR (default a new temp dir,\n"
                   "removed afterwards unless --keep; an existing log in DIR is reused) and\n"
                   "times searches against a walk of every record. --backlog: only write\n"
                   "them into DIR, 800 to 400 days old (a retention backlog), and stop.\n");
            return 0;
        default: return 2;
        }
    }
    make_agencies();
    int fresh = 0;
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/bench_auditlog.XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
        fresh = 1;
    }
    uint64_t t0 = 1735689600ull * 1000000ull; /* 2025-01-01 */
    char err[256];
    lex_log_t *log = NULL;
    int rc = 0;
    if (backlog) {
        uint64_t old = (uint64_t)time(NULL) * 1000000ull - 800 * DAY_US;
        return generate(dir, n, old, 1) == 0 ? 0 : 1;
    }
    if (lex_log_open_reader(dir, &log, err, sizeof err) == 0 && lex_log_last_seq(log) >= n) {
        printf("reusing %llu records in %s\n", (unsigned long long)lex_log_last_seq(log), dir);
    } else {
        lex_log_close(&log);
        if ((rc = generate(dir, n, t0, 0)) != 0)
            return 1;
        if ((rc = lex_log_open_reader(dir, &log, err, sizeof err)) != 0) {
            fprintf(stderr, "bench_auditlog: %s\n", err);
            return 1;
        }
    }
    uint64_t bytes = dir_bytes(dir);
    printf("on disk: %.1f MB, %.1f bytes per record (records, indexes, checkpoints)\n",
           (double)bytes / 1e6, (double)bytes / (double)n);

    double base = timed(log, "walk of every record (baseline)", NULL, 0);
    timed_report(log, "IL", base);
    timed_report(log, "CA", base);
    const char *ice = agencies[100].ori;
    char what[128];
    lex_log_query_t q = {.state = "IL", .key = "DQ", .decision = "deny"};
    timed(log, "--state IL --key DQ --decision deny", &q, base);
    q = (lex_log_query_t){.state = "IL", .from_us = t0 + 31 * DAY_US, .to_us = t0 + 59 * DAY_US};
    timed(log, "--state IL --from 2025-02-01 --to 2025-02-28", &q, base);
    q = (lex_log_query_t){.state = "IL", .family = "ICE-ERO"};
    timed(log, "--state IL --family ICE-ERO", &q, base);
    q = (lex_log_query_t){.ori = ice};
    snprintf(what, sizeof what, "--ori %s", ice);
    timed(log, what, &q, base);
    q = (lex_log_query_t){.has_id = 1, .msg_id = n / 4};
    timed(log, "--id N", &q, base);
    q = (lex_log_query_t){.from_us = t0 + 200 * DAY_US, .to_us = t0 + 201 * DAY_US};
    timed(log, "--from/--to one day", &q, base);
    q = (lex_log_query_t){.family = "HSI"};
    timed(log, "--family HSI (no index: a walk with a filter)", &q, base);
    lex_log_close(&log);
    if (fresh && !keep) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_auditlog: could not remove %s\n", dir);
    } else {
        printf("log kept in %s\n", dir);
    }
    return rc == 0 ? 0 : 1;
}
