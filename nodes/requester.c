/* requester.c: the agency role and the engine of lexload. The directory's
 * requesting agencies are grouped into nodes (a hub per state for its local,
 * state and tribal agencies; one node per federal family). Queries are
 * scheduled by the clock (open loop): query i is due at t0 + i/rate whatever
 * the answers do, and its latency runs from that due time, so a slow switch
 * shows up as latency instead of as a quietly lower rate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <zmq.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_node.h"
#include "lex_population.h"
#include "lex_roles.h"
#include "lex_states.h"
#include "lex_status.h"
#include "lex_rand.h"

const char *const lex_requester_answer_keys[LEX_REQ_KEYS] = {"DR",  "KR", "RR",    "RNR",
                                                             "IMR", "ST", "other", NULL};

#define RING_BITS 20
#define RING_SIZE (1u << RING_BITS)

typedef struct {
    uint64_t id;        /* query id that owns the slot */
    uint64_t due_us;    /* scheduled send time (monotonic) */
    uint32_t remaining; /* answers still expected */
} pending_t;

typedef struct {
    char key[24];       /* home state, or federal family */
    size_t noris;
    const char **oris;
    lex_node_t *node;
} group_t;

typedef struct {
    const lex_agency_t *agency;
    size_t group;
} member_t;

typedef struct {
    const lex_requester_config_t *cfg;
    lex_requester_stats_t *stats;
    group_t *groups;
    size_t ngroups;
    member_t *locals, *federals;
    size_t nlocals, nfederals;
    lex_population_t *pops[64];
    pending_t *ring;
    zmq_pollitem_t *items;     /* one per group, then the send timer */
    int timer_fd;              /* timerfd: wakes the poll at the next due time */
    uint64_t rng;
    uint64_t next_id;
    lex_buf_t body;
} requester_t;

void lex_requester_config_defaults(lex_requester_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->rate = 100;
    cfg->duration_s = 10;
    cfg->grace_s = 6;
    cfg->miss_pct = 5;
    cfg->federal_pct = 12;
    cfg->fanout_pct = 2;
    cfg->drivers = 20000;
    cfg->vehicles = 20000;
    cfg->seed = 1;
}

static uint64_t next_rand(requester_t *r)
{
    return lex_rand_next(&r->rng);
}

static size_t find_group(requester_t *r, const char *key)
{
    for (size_t i = 0; i < r->ngroups; i++)
        if (strcmp(r->groups[i].key, key) == 0)
            return i;
    return (size_t)-1;
}

int lex_requester_group_of(const lex_agency_t *a, char *group)
{
    if (strcmp(a->family, "DMV") == 0 || strcmp(a->family, "OPS") == 0)
        return -1;
    snprintf(group, LEX_REQ_GROUP_MAX + 1, "%s",
             a->level == LEX_LEVEL_FEDERAL ? a->family : a->home_state);
    return 0;
}

static int build_groups(requester_t *r)
{
    const lex_directory_t *dir = r->cfg->directory;
    size_t n = lex_directory_count(dir);
    r->groups = calloc(n + 1, sizeof *r->groups);
    r->locals = calloc(n + 1, sizeof *r->locals);
    r->federals = calloc(n + 1, sizeof *r->federals);
    if (!r->groups || !r->locals || !r->federals)
        return LEX_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const lex_agency_t *a = lex_directory_at(dir, i);
        char gkey[LEX_REQ_GROUP_MAX + 1];
        if (lex_requester_group_of(a, gkey) != 0)
            continue;
        int federal = a->level == LEX_LEVEL_FEDERAL;
        size_t g = find_group(r, gkey);
        if (g == (size_t)-1) {
            g = r->ngroups++;
            snprintf(r->groups[g].key, sizeof r->groups[g].key, "%s", gkey);
        }
        group_t *grp = &r->groups[g];
        const char **grown = realloc(grp->oris, (grp->noris + 1) * sizeof *grown);
        if (!grown)
            return LEX_ENOMEM;
        grp->oris = grown;
        grp->oris[grp->noris++] = a->ori;
        member_t m = {a, g};
        if (federal)
            r->federals[r->nfederals++] = m;
        else
            r->locals[r->nlocals++] = m;
    }
    return r->nlocals + r->nfederals > 0 ? 0 : LEX_ENOTFOUND;
}

static const char *pick_key(uint64_t rnd)
{
    unsigned p = (unsigned)(rnd % 100);
    if (p < 45)
        return "DQ";
    if (p < 83)
        return "RQ";
    if (p < 91)
        return "KQ";
    if (p < 96)
        return "RNQ";
    return "IMQ";
}

static void send_one(requester_t *r, uint64_t due_us)
{
    const lex_requester_config_t *cfg = r->cfg;
    lex_requester_stats_t *st = r->stats;
    int federal = r->nfederals && (next_rand(r) % 100 < cfg->federal_pct || !r->nlocals);
    const member_t *m = federal ? &r->federals[next_rand(r) % r->nfederals]
                                : &r->locals[next_rand(r) % r->nlocals];
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = ++r->next_id;
    snprintf(env.key, sizeof env.key, "%s", pick_key(next_rand(r)));
    memcpy(env.src, m->agency->ori, sizeof env.src);
    strcpy(env.purpose, "C");
    snprintf(env.ctl, sizeof env.ctl, "Q%llu", (unsigned long long)env.id);
    const char *first;
    if (!federal && next_rand(r) % 100 < 70)
        first = m->agency->home_state;
    else
        first = lex_states[next_rand(r) % lex_state_count];
    lex_envelope_add_dst(&env, first);
    if (next_rand(r) % 100 < cfg->fanout_pct) {
        unsigned extra = 1 + (unsigned)(next_rand(r) % 2);
        for (unsigned k = 0; k < extra; k++) {
            const char *s = lex_states[next_rand(r) % lex_state_count];
            int dup = 0;
            for (uint32_t j = 0; j < env.ndst; j++)
                dup |= strcmp(env.dst[j], s) == 0;
            if (!dup)
                lex_envelope_add_dst(&env, s);
        }
    }
    lex_buf_reset(&r->body);
    int rc = lex_population_sample_query(r->pops[lex_state_index(first)], env.key, next_rand(r),
                                         cfg->miss_pct, &r->body);
    if (rc == 0)
        rc = lex_node_send(r->groups[m->group].node, &env, r->body.data, r->body.len);
    if (rc != 0) {
        st->send_errors++;
        return;
    }
    pending_t *p = &r->ring[env.id & (RING_SIZE - 1)];
    if (p->remaining)
        st->unanswered += p->remaining; /* overwritten before its answers came */
    *p = (pending_t){env.id, due_us, env.ndst};
    st->sent++;
    st->expected += env.ndst;
}

static void take_answer(requester_t *r, const lex_message_t *m)
{
    lex_requester_stats_t *st = r->stats;
    pending_t *p = &r->ring[m->env.ref & (RING_SIZE - 1)];
    if (m->env.ref == 0 || p->id != m->env.ref || p->remaining == 0) {
        st->unexpected++;
        return;
    }
    p->remaining--;
    st->answers++;
    uint64_t now = lex_mono_us();
    lex_hist_record(&st->latency, now > p->due_us ? now - p->due_us : 0);
    size_t k = 0;
    while (k < LEX_REQ_KEYS - 2 && strcmp(lex_requester_answer_keys[k], m->env.key) != 0)
        k++;
    st->by_answer_key[k]++;
    if (strcmp(m->env.key, "ST") == 0) {
        int code = 0;
        if (lex_status_parse(m->body, m->body_len, &code, NULL, 0) == 0 && code >= 0 && code < 64)
            st->by_status[code]++;
    }
}

/* Arms the timer for an absolute monotonic time (0 = disarm). */
static void arm_timer(requester_t *r, uint64_t at_us)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (at_us) {
        its.it_value.tv_sec = (time_t)(at_us / 1000000u);
        its.it_value.tv_nsec = (long)(at_us % 1000000u) * 1000;
    }
    timerfd_settime(r->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void drain(requester_t *r, int wait_ms)
{
    int ready = zmq_poll(r->items, (int)r->ngroups + 1, wait_ms);
    if (r->items[r->ngroups].revents & ZMQ_POLLIN) {
        uint64_t expirations;
        if (read(r->timer_fd, &expirations, sizeof expirations) < 0) { /* nothing to do */ }
    }
    if (ready <= 0)
        return;
    for (size_t g = 0; g < r->ngroups; g++) {
        if (!(r->items[g].revents & ZMQ_POLLIN))
            continue;
        lex_message_t m;
        while (lex_node_recv(r->groups[g].node, &m, 0) == 0)
            take_answer(r, &m);
    }
}

static void tick_all(requester_t *r, uint64_t *last)
{
    uint64_t now = lex_mono_us();
    if (now - *last < 200000)
        return;
    *last = now;
    for (size_t g = 0; g < r->ngroups; g++)
        lex_node_tick(r->groups[g].node);
}

int lex_requester_run(const lex_requester_config_t *cfg, lex_requester_stats_t *stats)
{
    requester_t r;
    memset(&r, 0, sizeof r);
    r.timer_fd = -1;
    memset(stats, 0, sizeof *stats);
    lex_hist_init(&stats->latency);
    r.cfg = cfg;
    r.stats = stats;
    r.rng = cfg->seed;
    lex_buf_init(&r.body);
    void *ctx = zmq_ctx_new();
    int rc = LEX_ENOMEM;
    r.ring = calloc(RING_SIZE, sizeof *r.ring);
    if (!ctx || !r.ring || cfg->rate <= 0)
        goto cleanup;
    if ((rc = build_groups(&r)) != 0) {
        fprintf(stderr, "lexnode: the directory lists no requesting agency\n");
        goto cleanup;
    }
    for (size_t i = 0; i < lex_state_count; i++)
        if ((rc = lex_population_new(lex_states[i], cfg->drivers, cfg->vehicles, &r.pops[i])) != 0)
            goto cleanup;
    rc = LEX_ENOMEM;
    r.items = calloc(r.ngroups + 1, sizeof *r.items);
    r.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (!r.items || r.timer_fd < 0)
        goto cleanup;
    r.items[r.ngroups] = (zmq_pollitem_t){NULL, r.timer_fd, ZMQ_POLLIN, 0};
    for (size_t g = 0; g < r.ngroups; g++) {
        char key_file[4096];
        if (cfg->key_dir)
            snprintf(key_file, sizeof key_file, "%s/%s.key", cfg->key_dir, r.groups[g].key);
        lex_node_config_t nc = {.endpoint = cfg->endpoint, .role = "agency",
                                .oris = r.groups[g].oris, .noris = r.groups[g].noris,
                                .zmq_ctx = ctx, .key_file = cfg->key_dir ? key_file : NULL};
        char err[512] = "";
        if ((rc = lex_node_new_err(&nc, &r.groups[g].node, err, sizeof err)) != 0) {
            fprintf(stderr, "lexnode: agency node %s cannot start: %s\n", r.groups[g].key,
                    err[0] ? err : lex_strerror(rc));
            goto cleanup;
        }
        r.items[g] = (zmq_pollitem_t){lex_node_socket(r.groups[g].node), 0, ZMQ_POLLIN, 0};
    }
    for (size_t g = 0; g < r.ngroups; g++)
        if ((rc = lex_node_wait_ready(r.groups[g].node, 10000)) != 0) {
            fprintf(stderr, "lexnode: agency node %s not registered: %s\n", r.groups[g].key,
                    lex_node_error(r.groups[g].node));
            goto cleanup;
        }
    if (cfg->progress)
        fprintf(stderr, "lexnode: %zu agency nodes (%zu local/state, %zu federal ORIs) sending "
                        "%.0f queries/s for %.0f s\n",
                r.ngroups, r.nlocals, r.nfederals, cfg->rate, cfg->duration_s);

    uint64_t t0 = lex_mono_us(), last_tick = t0, last_progress = t0, i = 0;
    double period_us = 1e6 / cfg->rate;
    uint64_t end = t0 + (uint64_t)(cfg->duration_s * 1e6);
    while (!*cfg->stop) {
        uint64_t now = lex_mono_us();
        if (now >= end)
            break;
        uint64_t due = (uint64_t)((double)(now - t0) / period_us) + 1;
        for (unsigned burst = 0; i < due && burst < 5000; burst++, i++)
            send_one(&r, t0 + (uint64_t)((double)i * period_us));
        uint64_t next_due = t0 + (uint64_t)((double)i * period_us);
        now = lex_mono_us();
        if (next_due > now) {
            arm_timer(&r, next_due);
            drain(&r, 50);
        } else {
            drain(&r, 0);
        }
        tick_all(&r, &last_tick);
        if (cfg->progress && now - last_progress >= 1000000) {
            last_progress = now;
            fprintf(stderr, "lexnode: %5.1f s  sent %llu  answered %llu  p99 %llu us\n",
                    (double)(now - t0) / 1e6, (unsigned long long)stats->sent,
                    (unsigned long long)stats->answers,
                    (unsigned long long)lex_hist_percentile(&stats->latency, 99));
        }
    }
    stats->elapsed_s = (double)(lex_mono_us() - t0) / 1e6;
    arm_timer(&r, 0);
    uint64_t grace_end = lex_mono_us() + (uint64_t)(cfg->grace_s * 1e6);
    while (stats->answers < stats->expected - stats->unanswered && lex_mono_us() < grace_end &&
           !*cfg->stop) {
        drain(&r, 20);
        tick_all(&r, &last_tick);
    }
    stats->unanswered = stats->expected - stats->answers;
    rc = 0;
cleanup:
    for (size_t g = 0; r.groups && g < r.ngroups; g++) {
        lex_node_destroy(&r.groups[g].node);
        free(r.groups[g].oris);
    }
    for (size_t s = 0; s < 64; s++)
        lex_population_destroy(&r.pops[s]);
    if (ctx)
        zmq_ctx_term(ctx);
    free(r.groups);
    free(r.locals);
    free(r.federals);
    free(r.items);
    free(r.ring);
    if (r.timer_fd >= 0)
        close(r.timer_fd);
    lex_buf_free(&r.body);
    return rc;
}

void lex_requester_stats_json(const lex_requester_stats_t *s, FILE *f)
{
    fprintf(f, "{\"sent\": %llu, \"expected\": %llu, \"answers\": %llu, \"unanswered\": %llu, "
               "\"send_errors\": %llu, \"unexpected\": %llu, \"elapsed_s\": %.3f, "
               "\"rate_achieved\": %.1f, \"by_answer_key\": {",
            (unsigned long long)s->sent, (unsigned long long)s->expected,
            (unsigned long long)s->answers, (unsigned long long)s->unanswered,
            (unsigned long long)s->send_errors, (unsigned long long)s->unexpected, s->elapsed_s,
            s->elapsed_s > 0 ? (double)s->sent / s->elapsed_s : 0.0);
    for (size_t k = 0; k < LEX_REQ_KEYS - 1; k++)
        fprintf(f, "%s\"%s\": %llu", k ? ", " : "", lex_requester_answer_keys[k],
                (unsigned long long)s->by_answer_key[k]);
    fprintf(f, "}, \"by_status\": {");
    int first = 1;
    for (int c = 0; c < 64; c++)
        if (s->by_status[c]) {
            fprintf(f, "%s\"%s\": %llu", first ? "" : ", ", lex_status_name(c),
                    (unsigned long long)s->by_status[c]);
            first = 0;
        }
    const lex_hist_t *h = &s->latency;
    fprintf(f, "}, \"latency_us\": {\"p50\": %llu, \"p90\": %llu, \"p99\": %llu, "
               "\"p999\": %llu, \"max\": %llu, \"mean\": %.1f}}\n",
            (unsigned long long)lex_hist_percentile(h, 50),
            (unsigned long long)lex_hist_percentile(h, 90),
            (unsigned long long)lex_hist_percentile(h, 99),
            (unsigned long long)lex_hist_percentile(h, 99.9), (unsigned long long)h->max,
            h->total ? (double)h->sum / (double)h->total : 0.0);
}

double lex_rate_parse(const char *text)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || v <= 0)
        return -1;
    double mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1e3, end++;
    else if (*end == 'M' || *end == 'm')
        mult = 1e6, end++;
    else if (*end == 'x') /* times the national average */
        return *(end + 1) ? -1 : v * 290e6 / (365.25 * 86400);
    v *= mult;
    if (*end == 0 || strcmp(end, "/s") == 0)
        return v;
    if (strcmp(end, "/y") == 0)
        return v / (365.25 * 86400);
    if (strcmp(end, "/h") == 0)
        return v / 3600;
    if (strcmp(end, "/m") == 0)
        return v / 60;
    return -1;
}
