/* metrics.c: the switch's counters in the Prometheus text exposition format
 * (version 0.0.4): a HELP and a TYPE line per family, labels for message
 * key, decision, session role and state, histograms with cumulative
 * _bucket{le}, _sum and _count. Read-only over the switch's state; the
 * metric names are listed in docs/OPERATIONS.md. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_error.h"
#include "switch_internal.h"

void lex_promhist_init(lex_promhist_t *h, const double *bounds, size_t nbounds)
{
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->nbounds = nbounds < LEX_PROMHIST_MAX ? nbounds : LEX_PROMHIST_MAX;
}

void lex_promhist_observe(lex_promhist_t *h, double seconds)
{
    size_t i = 0;
    while (i < h->nbounds && seconds > h->bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += seconds;
}

static void put(lex_buf_t *out, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        lex_buf_append(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void family(lex_buf_t *out, const char *name, const char *type, const char *help)
{
    put(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void single(lex_buf_t *out, const char *name, const char *type, const char *help,
                   uint64_t value)
{
    family(out, name, type, help);
    put(out, "%s %llu\n", name, (unsigned long long)value);
}

/* A label value with \\, \" and \n escaped, as the format requires. */
static void label_value(lex_buf_t *out, const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = v[i];
        if (c == '\\' || c == '"')
            put(out, "\\%c", c);
        else if (c == '\n')
            put(out, "\\n");
        else
            lex_buf_append(out, &c, 1);
    }
}

void lex_promhist_render(const lex_promhist_t *h, const char *name, const char *help,
                         lex_buf_t *out)
{
    family(out, name, "histogram", help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h->nbounds; i++) {
        cumulative += h->counts[i];
        put(out, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i],
            (unsigned long long)cumulative);
    }
    put(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
    put(out, "%s_sum %.9g\n", name, h->sum);
    put(out, "%s_count %llu\n", name, (unsigned long long)h->count);
}

/* Table entries sorted by name, so the output is stable between scrapes. */
typedef struct {
    const char *name;
    size_t len;
    uint64_t value;
} entry_t;

typedef struct {
    entry_t *v;
    size_t n, cap;
} entries_t;

static void collect(const void *key, size_t len, void *value, void *arg)
{
    entries_t *e = arg;
    if (e->n < e->cap)
        e->v[e->n++] = (entry_t){key, len, (uint64_t)(uintptr_t)value};
}

static int by_name(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int sorted(const lex_table_t *t, entries_t *e)
{
    e->cap = lex_table_count(t);
    e->n = 0;
    e->v = calloc(e->cap ? e->cap : 1, sizeof *e->v);
    if (!e->v)
        return LEX_ENOMEM;
    lex_table_each(t, collect, e);
    qsort(e->v, e->n, sizeof *e->v, by_name);
    return 0;
}

static void count_role(const void *key, size_t len, void *value, void *arg)
{
    (void)key;
    (void)len;
    entries_t *roles = arg;
    const session_t *s = value;
    for (size_t i = 0; i < roles->n; i++)
        if (strcmp(roles->v[i].name, s->role) == 0) {
            roles->v[i].value++;
            return;
        }
    if (roles->n < roles->cap)
        roles->v[roles->n++] = (entry_t){s->role, strlen(s->role), 1};
}

static int render_labelled(lex_switch_t *sw, lex_buf_t *out)
{
    entries_t e;
    if (sorted(sw->stats.by_key, &e) != 0)
        return LEX_ENOMEM;
    family(out, "lexswitch_messages_received_total", "counter",
           "Messages received with a decodable envelope, by message key.");
    for (size_t i = 0; i < e.n; i++) {
        put(out, "lexswitch_messages_received_total{key=\"");
        label_value(out, e.v[i].name, e.v[i].len);
        put(out, "\"} %llu\n", (unsigned long long)e.v[i].value);
    }
    free(e.v);

    if (sorted(sw->stats.by_key_decision, &e) != 0)
        return LEX_ENOMEM;
    family(out, "lexswitch_decisions_total", "counter",
           "Rule decisions on queries (per destination) and responses, by message key.");
    for (size_t i = 0; i < e.n; i++) {
        const char *slash = memchr(e.v[i].name, '/', e.v[i].len);
        if (!slash)
            continue;
        size_t klen = (size_t)(slash - e.v[i].name);
        put(out, "lexswitch_decisions_total{key=\"");
        label_value(out, e.v[i].name, klen);
        put(out, "\",decision=\"");
        label_value(out, slash + 1, e.v[i].len - klen - 1);
        put(out, "\"} %llu\n", (unsigned long long)e.v[i].value);
    }
    free(e.v);

    entries_t roles = {calloc(lex_table_count(sw->sessions_by_rid) + 1, sizeof(entry_t)), 0,
                       lex_table_count(sw->sessions_by_rid)};
    if (!roles.v)
        return LEX_ENOMEM;
    lex_table_each(sw->sessions_by_rid, count_role, &roles);
    qsort(roles.v, roles.n, sizeof *roles.v, by_name);
    family(out, "lexswitch_sessions", "gauge", "Registered node sessions, by role.");
    for (size_t i = 0; i < roles.n; i++) {
        put(out, "lexswitch_sessions{role=\"");
        label_value(out, roles.v[i].name, roles.v[i].len);
        put(out, "\"} %llu\n", (unsigned long long)roles.v[i].value);
    }
    free(roles.v);

    /* holds per state: few states hold anything, so a short list will do */
    entry_t states[64];
    size_t nstates = 0;
    for (lex_hold_t *h = lex_holds_first(sw->holds); h; h = h->next) {
        size_t i = 0;
        while (i < nstates && strcmp(states[i].name, h->state) != 0)
            i++;
        if (i == nstates) {
            if (nstates == sizeof states / sizeof states[0])
                continue;
            states[nstates++] = (entry_t){h->state, strlen(h->state), 0};
        }
        states[i].value++;
    }
    qsort(states, nstates, sizeof states[0], by_name);
    family(out, "lexswitch_held_queries", "gauge",
           "Queries held for review by a state's operator, by the state whose rules held them.");
    for (size_t i = 0; i < nstates; i++) {
        put(out, "lexswitch_held_queries{state=\"");
        label_value(out, states[i].name, states[i].len);
        put(out, "\"} %llu\n", (unsigned long long)states[i].value);
    }
    return 0;
}

int lex_metrics_render(lex_switch_t *sw, lex_buf_t *out)
{
    const stats_t *st = &sw->stats;
    int rc = render_labelled(sw, out);
    if (rc != 0)
        return rc;
    single(out, "lexswitch_messages_forwarded_total", "counter",
           "Messages sent to nodes other than ST statuses (queries, answers, AM, WELCOME, RVR).",
           st->forwarded);
    single(out, "lexswitch_statuses_sent_total", "counter",
           "ST statuses the switch sent (refusals, denials, timeouts, holds).",
           st->statuses);
    single(out, "lexswitch_messages_rejected_total", "counter",
           "Received messages refused with an ST status (any reason).", st->refused);
    single(out, "lexswitch_messages_malformed_total", "counter",
           "Received messages with the wrong frame count or an undecodable envelope.",
           st->bad_frames);
    single(out, "lexswitch_query_timeouts_total", "counter",
           "Forwarded queries that got no answer in time.", st->timeouts);
    single(out, "lexswitch_send_failures_total", "counter",
           "Messages that could not be handed to ZeroMQ (peer gone or queue full).",
           st->send_failures);
    single(out, "lexswitch_session_takeovers_total", "counter",
           "ORIs taken over from a session that was gone (logged and audited each).",
           st->takeovers);
    single(out, "lexswitch_hello_ori_in_use_total", "counter",
           "HELLOs refused because a live session of another connection holds an ORI.",
           st->ori_in_use);
    single(out, "lexswitch_sessions_revoked_total", "counter",
           "Sessions ended, or ORIs withdrawn from one, by a directory reload.", st->revoked);
    single(out, "lexswitch_directory_reloads_total", "counter",
           "Directory reloads attempted (SIGHUP, lexctl directory reload).",
           st->directory_reloads);
    single(out, "lexswitch_directory_reload_failures_total", "counter",
           "Directory reloads refused (bad file); the old directory stayed in force.",
           st->directory_reload_failures);
    single(out, "lexswitch_queries_in_flight", "gauge",
           "Queries forwarded and not yet answered.", lex_flight_count(sw));
    uint64_t conns[6];
    lex_conns_counts(sw, conns);
    single(out, "lexswitch_connections", "gauge", "Connections open on the ROUTER.", conns[0]);
    single(out, "lexswitch_connections_max", "gauge",
           "Connections the switch accepts at once (max_connections or the descriptor limit).",
           conns[1]);
    single(out, "lexswitch_descriptor_limit", "gauge",
           "The switch's descriptor limit (RLIMIT_NOFILE, raised to the hard limit at start).",
           conns[5]);
    family(out, "lexswitch_connections_refused_total", "counter",
           "New connections closed at once: at the cap, or out of descriptors.");
    put(out, "lexswitch_connections_refused_total{reason=\"cap\"} %llu\n",
        (unsigned long long)conns[2]);
    put(out, "lexswitch_connections_refused_total{reason=\"descriptors\"} %llu\n",
        (unsigned long long)conns[3]);
    single(out, "lexswitch_hello_timeouts_total", "counter",
           "Connections closed because they held no session for hello_timeout_ms.", conns[4]);
    single(out, "lexswitch_sessions_lost_total", "counter",
           "Sessions ended at once because their connection went away.", st->sessions_lost);
    single(out, "lexswitch_sessions_stuck_total", "counter",
           "Sessions dropped because their queue stayed full for conn_stuck_ms.",
           st->sessions_stuck);
    single(out, "lexswitch_messages_undelivered_total", "counter",
           "Messages not sent because their connection's queue was full.", st->undelivered);
    single(out, "lexswitch_busy_total", "counter",
           "Queries refused with ST busy (a destination or requester backed up).", st->busy);
    single(out, "lexswitch_stalls_total", "counter",
           "Times the switch's own loop did not run for a while (stopped, paused, blocked).",
           st->stalls);
    lex_promhist_render(&st->query_seconds, "lexswitch_query_duration_seconds",
                        "Time from forwarding a query to sending its answer to the requester.",
                        out);
    single(out, "lexswitch_log_commits_total", "counter",
           "Audit-log commits (in sync mode an fsync may cover several).", st->log_commits);
    single(out, "lexswitch_log_records_total", "counter",
           "Audit-log records committed.", st->log_records);
    single(out, "lexswitch_log_commit_failures_total", "counter",
           "Audit-log commits that failed (their messages were held back).",
           st->log_commit_failures);
    lex_promhist_render(&st->commit_seconds, "lexswitch_log_commit_duration_seconds",
                        "Time one audit-log commit took.", out);
    single(out, "lexswitch_log_last_sequence", "gauge",
           "Sequence number of the newest committed audit-log record.",
           lex_log_last_seq(sw->log));
    single(out, "lexswitch_log_interrupted_write", "gauge",
           "1 when the start cut off an unfinished write a kill of the previous process left.",
           (uint64_t)sw->log_interrupted_write);
    single(out, "lexswitch_log_damaged_records", "gauge",
           "Audit-log records in table blocks that fail their checksum (found since start).",
           sw->log_damaged);
    single(out, "lexswitch_clock_steps_total", "counter",
           "Wall-clock steps against the monotonic clock (each is in the audit log).",
           sw->clock.steps);
    single(out, "lexswitch_retention_removed_total", "counter",
           "Audit-log records removed by retention since start.", sw->retention.removed_total);
    single(out, "lexswitch_retention_waiting_records", "gauge",
           "Records a retention pass would remove but waits to be confirmed (over "
           "retention_max_share).",
           sw->retention.waiting_upto ? sw->retention.waiting_records : 0);
    single(out, "lexswitch_retention_failures_total", "counter",
           "Retention passes that failed.", sw->retention.failures_total);
    single(out, "lexswitch_log_full", "gauge",
           "1 while free space on the audit log's filesystem is below log_reserve_mb: new "
           "queries get ST log-full.", (uint64_t)(sw->log_full ? 1 : 0));
    single(out, "lexswitch_disk_free_bytes", "gauge",
           "Free space on the audit log's filesystem at the last look (4 a second).",
           sw->disk_free_bytes);
    single(out, "lexswitch_log_full_refused_total", "counter",
           "Queries refused with ST log-full.", st->log_full_refused);
    single(out, "lexswitch_log_failed", "gauge",
           "1 once an audit-log write or fsync failed: the switch is stopping.",
           (uint64_t)(sw->log_failed ? 1 : 0));
    single(out, "lexswitch_log_failed_statuses_total", "counter",
           "ST log-failed statuses sent without a record because the log could not write.",
           st->log_failed_statuses);
    single(out, "lexswitch_rules_reloads_total", "counter",
           "Rules reloads attempted (SIGHUP).", sw->rules_generation);
    single(out, "lexswitch_access_journal_recorded_total", "counter",
           "Reads of the log by lexctl moved from the access journal into the log.",
           sw->access_recorded);
    single(out, "lexswitch_access_journal_failures_total", "counter",
           "Passes over the access journal that failed (its entries wait).",
           sw->access_failures);
    single(out, "lexswitch_draining", "gauge",
           "1 while the switch drains open queries before stopping.", (uint64_t)(sw->draining ? 1 : 0));
    single(out, "lexswitch_hello_refused_total", "counter",
           "HELLOs refused (outside the key's binding, unknown ORI, malformed ...).",
           st->hello_refused);
    single(out, "lexswitch_broad_key_bindings", "gauge",
           "Directory key bindings marked broad (a wildcard binds more than one agency).",
           lex_directory_broad_count(sw->directory));
    static const char *const kinds[] = {"no-curve", "bad-key", "unknown-key", "hung-up",
                                        "other"};
    family(out, "lexswitch_handshake_failures_total", "counter",
           "Connections whose CURVE handshake failed, by reason.");
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        put(out, "lexswitch_handshake_failures_total{reason=\"%s\"} %llu\n", kinds[i],
            (unsigned long long)st->handshake_failures[i]);
    single(out, "lexswitch_handshake_records_suppressed_total", "counter",
           "Failed handshakes over the per-peer record rate: counted, not logged.",
           st->handshake_suppressed);
    single(out, "lexswitch_start_time_seconds", "gauge",
           "When the switch started, in seconds since the epoch.",
           st->started_wall_us / 1000000u);
    return out->failed ? LEX_ENOMEM : 0;
}
