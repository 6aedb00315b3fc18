/* stats.c: the switch's counters (messages by key, decisions by key,
 * refusals, latencies of answered queries, audit-log commits, rates) and the
 * JSON file it writes when it stops, which lexsim reads for its summary.
 * The metrics endpoint and `lexctl status` read the same counters. Counting
 * must stay cheap: it runs for every message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_error.h"
#include "switch_internal.h"

/* Query round trips: from under a millisecond on loopback to the timeout. */
static const double query_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                      0.1,    0.25,  0.5,    1,     2.5,  5,     10};
/* Commits: an fsync takes from tens of microseconds to tens of milliseconds. */
static const double commit_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                       0.01,   0.025,   0.05,   0.1,   0.25,   1};

static const char *const action_names[] = {"allow", "deny", "redact", "review"};

int lex_stats_init(stats_t *st)
{
    memset(st, 0, sizeof *st);
    st->by_key = lex_table_new();
    st->by_key_decision = lex_table_new();
    if (!st->by_key || !st->by_key_decision) {
        lex_stats_free(st);
        return LEX_ENOMEM;
    }
    lex_promhist_init(&st->query_seconds, query_bounds, sizeof query_bounds / sizeof(double));
    lex_promhist_init(&st->commit_seconds, commit_bounds, sizeof commit_bounds / sizeof(double));
    st->started_wall_us = lex_now_us();
    return 0;
}

void lex_stats_free(stats_t *st)
{
    lex_table_destroy(&st->by_key);
    lex_table_destroy(&st->by_key_decision);
    free(st->answered);
    st->answered = NULL;
    st->nanswered = st->answered_cap = 0;
}

static void bump(lex_table_t *t, const char *key, size_t len)
{
    uintptr_t n = (uintptr_t)lex_table_get(t, key, len);
    lex_table_put(t, key, len, (void *)(n + 1));
}

void lex_stats_count_key(lex_switch_t *sw, const char *key)
{
    /* keys outside the catalogue share one counter, so a sender cannot
     * grow the table (or the metrics) without bound */
    if (!lex_catalogue_find(sw->catalogue, key))
        key = "UNKNOWN";
    bump(sw->stats.by_key, key, strlen(key));
}

void lex_stats_count_decision(lex_switch_t *sw, const char *key, lex_action_t action)
{
    sw->stats.by_decision[action]++;
    char name[LEX_KEY_MAX + 16];
    int n = snprintf(name, sizeof name, "%s/%s", key, action_names[action]);
    bump(sw->stats.by_key_decision, name, (size_t)n);
}

void lex_stats_answered(lex_switch_t *sw, const flight_t *f)
{
    stats_t *st = &sw->stats;
    if (st->nanswered == st->answered_cap) {
        size_t cap = st->answered_cap ? 2 * st->answered_cap : 256;
        uint64_t *grown = realloc(st->answered, cap * sizeof *grown);
        if (!grown)
            return; /* one latency sample lost, nothing else */
        st->answered = grown;
        st->answered_cap = cap;
    }
    st->answered[st->nanswered++] = f->opened_us;
}

void lex_stats_sent(lex_switch_t *sw, uint64_t now_us)
{
    stats_t *st = &sw->stats;
    for (size_t i = 0; i < st->nanswered; i++) {
        uint64_t took = now_us > st->answered[i] ? now_us - st->answered[i] : 0;
        lex_promhist_observe(&st->query_seconds, (double)took / 1e6);
    }
    st->nanswered = 0;
}

void lex_stats_unsent(lex_switch_t *sw)
{
    sw->stats.nanswered = 0;
}

void lex_stats_commit(lex_switch_t *sw, size_t records, uint64_t took_us, int ok)
{
    stats_t *st = &sw->stats;
    if (!ok) {
        st->log_commit_failures++;
        return;
    }
    st->log_commits++;
    st->log_records += records;
    lex_promhist_observe(&st->commit_seconds, (double)took_us / 1e6);
}

#define NSAMPLES (sizeof(((stats_t *)0)->sample_us) / sizeof(uint64_t))

void lex_stats_sample(lex_switch_t *sw, uint64_t now_us)
{
    stats_t *st = &sw->stats;
    st->sample_pos = (st->sample_pos + 1) % NSAMPLES;
    st->sample_us[st->sample_pos] = now_us;
    st->sample_received[st->sample_pos] = st->received;
    st->sample_forwarded[st->sample_pos] = st->forwarded;
    if (st->nsamples < NSAMPLES)
        st->nsamples++;
}

void lex_stats_window(const lex_switch_t *sw, uint64_t *ms, uint64_t *received,
                      uint64_t *forwarded)
{
    const stats_t *st = &sw->stats;
    *ms = *received = *forwarded = 0;
    if (st->nsamples < 2)
        return;
    unsigned newest = st->sample_pos;
    unsigned oldest = (st->sample_pos + NSAMPLES - (st->nsamples - 1)) % NSAMPLES;
    *ms = (st->sample_us[newest] - st->sample_us[oldest]) / 1000u;
    *received = st->sample_received[newest] - st->sample_received[oldest];
    *forwarded = st->sample_forwarded[newest] - st->sample_forwarded[oldest];
}

typedef struct {
    FILE *f;
    int first;
} json_each_t;

static void write_key(const void *key, size_t len, void *value, void *arg)
{
    json_each_t *j = arg;
    fprintf(j->f, "%s\"%.*s\": %llu", j->first ? "" : ", ", (int)len, (const char *)key,
            (unsigned long long)(uintptr_t)value);
    j->first = 0;
}

int lex_stats_write(lex_switch_t *sw, const char *path)
{
    char tmp[LEX_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    const stats_t *s = &sw->stats;
    fprintf(f, "{\"received\": %llu, \"routed\": %llu, \"statuses\": %llu, \"refused\": %llu, "
               "\"bad_frames\": %llu, \"timeouts\": %llu, \"send_failures\": %llu, ",
            (unsigned long long)s->received, (unsigned long long)s->forwarded,
            (unsigned long long)s->statuses, (unsigned long long)s->refused,
            (unsigned long long)s->bad_frames, (unsigned long long)s->timeouts,
            (unsigned long long)s->send_failures);
    uint64_t handshakes = 0;
    for (size_t i = 0; i < LEX_HANDSHAKE_KINDS; i++)
        handshakes += s->handshake_failures[i];
    fprintf(f, "\"hello_refused\": %llu, \"handshake_failures\": %llu, \"keys_bound\": %zu, "
               "\"keys_broad\": %zu, ",
            (unsigned long long)s->hello_refused, (unsigned long long)handshakes,
            lex_directory_key_count(sw->directory), lex_directory_broad_count(sw->directory));
    uint64_t conns[6];
    lex_conns_counts(sw, conns);
    fprintf(f, "\"busy\": %llu, \"undelivered\": %llu, \"sessions_lost\": %llu, "
               "\"sessions_stuck\": %llu, \"stalls\": %llu, \"connections_refused\": %llu, "
               "\"hello_timeouts\": %llu, ",
            (unsigned long long)s->busy, (unsigned long long)s->undelivered,
            (unsigned long long)s->sessions_lost, (unsigned long long)s->sessions_stuck,
            (unsigned long long)s->stalls, (unsigned long long)(conns[2] + conns[3]),
            (unsigned long long)conns[4]);
    fprintf(f, "\"by_decision\": {\"allow\": %llu, \"deny\": %llu, \"redact\": %llu, "
               "\"review\": %llu}, ",
            (unsigned long long)s->by_decision[0], (unsigned long long)s->by_decision[1],
            (unsigned long long)s->by_decision[2], (unsigned long long)s->by_decision[3]);
    fprintf(f, "\"by_key\": {");
    json_each_t j = {f, 1};
    lex_table_each(s->by_key, write_key, &j);
    lex_log_stats_t ls;
    lex_log_get_stats(sw->log, &ls);
    fprintf(f, "}, \"log_last_seq\": %llu, \"log_records\": %llu, \"log_commits\": %llu, "
               "\"log_fsyncs\": %llu}\n",
            (unsigned long long)lex_log_last_seq(sw->log), (unsigned long long)ls.records,
            (unsigned long long)ls.commits, (unsigned long long)ls.fsyncs);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return -1;
    return rename(tmp, path);
}
