/* bench_policy.c: cost of a rules decision as a state's rules grow. Builds
 * Illinois with 10 and with 10,000 rules (the large set names agencies one
 * by one, as a state listing its partners would, plus the simulation's
 * general rules at the end), then times a million decisions for requesters
 * and keys drawn from the simulation's directory: first every distinct
 * question once (cold: no cached answers), then the mixed stream (warm).
 * Prints ns per decision for both sizes and their ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lex_directory.h"
#include "lex_error.h"
#include "lex_policy.h"
#include "lex_simdir.h"

#define DECISIONS 1000000

static const char *const keys[] = {"DQ", "RQ", "KQ", "RNQ", "IMQ"};
static const char *const kinds[] = {"by-number", "by-plate", "by-number", "by-name", "photo"};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static lex_directory_t *directory(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    lex_simdir_write(f, 40);
    fclose(f);
    lex_directory_t *dir = NULL;
    char err[256];
    if (lex_directory_parse(text, "sim", &dir, err, sizeof err) != 0)
        fprintf(stderr, "bench_policy: %s\n", err);
    free(text);
    return dir;
}

/* Rules text: n - 3 per-agency rules, then three general ones. */
static char *rules_text(const lex_directory_t *dir, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "default allow\n");
    size_t count = lex_directory_count(dir);
    for (size_t i = 0; i + 3 < n; i++) {
        const lex_agency_t *a = lex_directory_at(dir, (i * 7919) % count);
        fprintf(f, "rule agency-%zu\n  ori %s\n  key %s\n  %s\n", i, a->ori, keys[i % 5],
                i % 3 == 0 ? "redact photo" : i % 3 == 1 ? "allow" : "deny denied");
    }
    fprintf(f, "rule no-ice\n  family ICE-ERO CBP\n  deny no-record\n"
               "rule hsi\n  family HSI\n  redact address photo\n"
               "rule fed-photo\n  level federal\n  key IMQ\n  deny denied\n");
    fclose(f);
    return text;
}

typedef struct {
    double cold_ns, warm_ns, load_ms;
    uint64_t hits, misses;
} result_t;

static int run(const lex_directory_t *dir, size_t nrules, result_t *res)
{
    char *text = rules_text(dir, nrules);
    lex_policy_t *p = NULL;
    char err[256];
    lex_policy_new(&p);
    double t0 = now_ns();
    int rc = lex_policy_load_text(p, "IL", text, "IL.rules", err, sizeof err);
    res->load_ms = (now_ns() - t0) / 1e6;
    free(text);
    if (rc != 0) {
        fprintf(stderr, "bench_policy: %s\n", err);
        lex_policy_destroy(&p);
        return rc;
    }
    size_t count = lex_directory_count(dir);
    lex_decision_t d;
    volatile int sink = 0;
    /* cold: every distinct (agency, key) once */
    t0 = now_ns();
    for (size_t i = 0; i < count; i++)
        for (int k = 0; k < 5; k++) {
            const lex_agency_t *a = lex_directory_at(dir, i);
            lex_policy_subject_t sub = {a->ori, a, keys[k], "C", kinds[k], 0};
            lex_policy_decide(p, "IL", &sub, &d);
            sink += d.action;
        }
    res->cold_ns = (now_ns() - t0) / (double)(count * 5);
    /* warm: a random stream over the same questions */
    uint64_t x = 88172645463325252ull;
    t0 = now_ns();
    for (int i = 0; i < DECISIONS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const lex_agency_t *a = lex_directory_at(dir, (size_t)(x % count));
        int k = (int)((x >> 32) % 5);
        lex_policy_subject_t sub = {a->ori, a, keys[k], "C", kinds[k], 0};
        lex_policy_decide(p, "IL", &sub, &d);
        sink += d.action;
    }
    res->warm_ns = (now_ns() - t0) / DECISIONS;
    lex_policy_cache_stats(p, &res->hits, &res->misses);
    lex_policy_destroy(&p);
    return sink < 0;
}

int main(int argc, char **argv)
{
    int json = argc > 1 && strcmp(argv[1], "--json") == 0;
    if (argc > 1 && !json) {
        printf("usage: bench_policy [--json]\n");
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    lex_directory_t *dir = directory();
    if (!dir)
        return 1;
    /* each size twice, alternating, keeping the second: the first pass of a
     * process pays page faults and clock ramp-up */
    result_t small, large;
    for (int round = 0; round < 2; round++)
        if (run(dir, 10, &small) != 0 || run(dir, 10000, &large) != 0)
            return 1;
    if (json) {
        printf("{\"rules_10\": {\"cold_ns\": %.1f, \"warm_ns\": %.1f, \"load_ms\": %.2f}, "
               "\"rules_10000\": {\"cold_ns\": %.1f, \"warm_ns\": %.1f, \"load_ms\": %.2f}, "
               "\"warm_ratio\": %.2f, \"cold_ratio\": %.2f}\n",
               small.cold_ns, small.warm_ns, small.load_ms, large.cold_ns, large.warm_ns,
               large.load_ms, large.warm_ns / small.warm_ns, large.cold_ns / small.cold_ns);
    } else {
        printf("rules  load_ms  cold_ns/decision  warm_ns/decision  cache hits/misses\n");
        printf("%5d  %7.2f  %16.1f  %16.1f  %llu/%llu\n", 10, small.load_ms, small.cold_ns,
               small.warm_ns, (unsigned long long)small.hits, (unsigned long long)small.misses);
        printf("%5d  %7.2f  %16.1f  %16.1f  %llu/%llu\n", 10000, large.load_ms, large.cold_ns,
               large.warm_ns, (unsigned long long)large.hits, (unsigned long long)large.misses);
        printf("10,000 rules vs 10: warm %.2fx, cold %.2fx\n", large.warm_ns / small.warm_ns,
               large.cold_ns / small.cold_ns);
    }
    lex_directory_destroy(&dir);
    return 0;
}
