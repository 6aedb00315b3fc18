/* lexload_engine.c: the engine of lexload. Spreads the directory's requesting
 * agencies over N connections (libnode nodes for the switch, plain DEALER
 * sockets for the bare forwarder), then sends queries either by the clock
 * (open loop: latency runs from each query's due time, so a slow target
 * shows up as latency, not as a quietly lower rate) or with a fixed number
 * in flight (closed loop, for throughput). One thread; the sockets are
 * watched with epoll on their ZMQ_FD, so thousands of connections cost
 * nothing while idle. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <zmq.h>
#include <msgpack.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_node.h"
#include "lex_population.h"
#include "lex_states.h"
#include "lex_status.h"
#include "lex_textfile.h"
#include "lexload.h"
#include "lex_rand.h"

const char *const ll_answer_keys[LL_ANSWER_KEYS] = {"DR", "KR", "RR", "RNR", "IMR", "ST", "other"};

#define RING_BITS 21
#define RING_SIZE (1u << RING_BITS)
#define SWEEP_US 200000u   /* heartbeats and a look at every socket */

typedef struct {
    uint64_t id;            /* query id that owns the slot */
    uint64_t due_us;        /* scheduled send time (monotonic) */
    uint32_t remaining;     /* answers still expected */
    uint8_t measured;       /* sent inside the measurement window */
} pending_t;

typedef struct {
    lex_node_t *node;       /* switch target */
    void *sock;             /* bare target */
    const char **oris;
    size_t noris;
    int dirty;              /* may hold unread messages */
} conn_t;

typedef struct {
    const lex_agency_t *agency;
    unsigned conn;
} member_t;

typedef struct {
    const ll_config_t *cfg;
    ll_result_t *res;
    void *ctx;
    conn_t *conns;
    unsigned nconns;
    member_t *locals, *federals;
    size_t nlocals, nfederals;
    lex_population_t *pops[64];
    pending_t *ring;
    int epfd, timer_fd;
    unsigned *dirty_list;   /* conns to drain */
    size_t ndirty;
    uint64_t rng;
    uint64_t next_id;
    uint64_t measure_from_us;
    uint64_t completed;     /* queries fully answered (closed loop refills) */
    lex_buf_t env_buf, body_buf;
    lex_hist_t second_hist;
    uint64_t second_sent, second_answers;
} engine_t;

void ll_config_defaults(ll_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->endpoint = "tcp://127.0.0.1:7400";
    cfg->rate = 100;
    cfg->duration_s = 10;
    cfg->grace_s = 6;
    cfg->conns = 0;
    cfg->miss_pct = 5;
    cfg->federal_pct = 12;
    cfg->fanout_pct = 2;
    cfg->drivers = 20000;
    cfg->seed = 1;
}

static uint64_t next_rand(engine_t *e)
{
    return lex_rand_next(&e->rng);
}

static double uniform01(engine_t *e)
{
    return ((double)(next_rand(e) >> 11) + 0.5) / 9007199254740992.0;
}

double ll_rate_parse(const char *text)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || v <= 0)
        return -1;
    if (*end == 'x') /* times the national average of 290 million a year */
        return end[1] ? -1 : v * 290e6 / (365.25 * 86400);
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1e6, end++;
    if (*end == 0 || strcmp(end, "/s") == 0)
        return v;
    if (strcmp(end, "/m") == 0)
        return v / 60;
    if (strcmp(end, "/h") == 0)
        return v / 3600;
    if (strcmp(end, "/d") == 0)
        return v / 86400;
    if (strcmp(end, "/y") == 0)
        return v / (365.25 * 86400);
    return -1;
}

double ll_day_shape(double f)
{
    /* one broad daytime peak at 15:00 and its trough at 03:00, between
     * 0.35x and 1.65x the mean, so a year's 290 million keeps its mean */
    return 1.0 + 0.65 * cos(2.0 * M_PI * (f - 15.0 / 24.0));
}

static int build_members(engine_t *e)
{
    const ll_config_t *cfg = e->cfg;
    const lex_directory_t *dir = cfg->directory;
    size_t n = lex_directory_count(dir), seen = 0, taken = 0;
    size_t want = cfg->agencies ? cfg->agencies : (size_t)-1;
    e->locals = calloc(n + 1, sizeof *e->locals);
    e->federals = calloc(n + 1, sizeof *e->federals);
    if (!e->locals || !e->federals)
        return LEX_ENOMEM;
    for (size_t i = 0; i < n && taken < want; i++) {
        const lex_agency_t *a = lex_directory_at(dir, i);
        if (strcmp(a->family, "DMV") == 0 || strcmp(a->family, "OPS") == 0)
            continue; /* responders and review desks do not ask */
        if (seen++ < cfg->first_agency)
            continue;
        member_t m = {a, (unsigned)(taken % e->nconns)};
        if (a->level == LEX_LEVEL_FEDERAL)
            e->federals[e->nfederals++] = m;
        else
            e->locals[e->nlocals++] = m;
        conn_t *c = &e->conns[m.conn];
        const char **grown = realloc(c->oris, (c->noris + 1) * sizeof *grown);
        if (!grown)
            return LEX_ENOMEM;
        c->oris = grown;
        c->oris[c->noris++] = a->ori;
        taken++;
    }
    if (taken < e->nconns) {
        fprintf(stderr, "lexload: %u connections but only %zu agencies in the slice\n",
                e->nconns, taken);
        return LEX_EINVAL;
    }
    return 0;
}

static void wait_events(engine_t *e, int timeout_ms);
static void drain_dirty(engine_t *e);
static void sweep(engine_t *e, uint64_t now, uint64_t *last);

static void *conn_socket(engine_t *e, unsigned i)
{
    return e->cfg->target == LL_TARGET_SWITCH ? lex_node_socket(e->conns[i].node)
                                              : e->conns[i].sock;
}

static void mark_dirty(engine_t *e, unsigned i)
{
    if (!e->conns[i].dirty) {
        e->conns[i].dirty = 1;
        e->dirty_list[e->ndirty++] = i;
    }
}

static int open_conns(engine_t *e)
{
    const ll_config_t *cfg = e->cfg;
    uint64_t t0 = lex_mono_us();
    for (unsigned i = 0; i < e->nconns; i++) {
        conn_t *c = &e->conns[i];
        if (cfg->target == LL_TARGET_SWITCH) {
            lex_node_config_t nc = {.endpoint = cfg->endpoint, .role = "agency",
                                    .oris = c->oris, .noris = c->noris, .zmq_ctx = e->ctx};
            int rc = lex_node_new(&nc, &c->node);
            if (rc != 0) {
                fprintf(stderr, "lexload: connection %u: %s\n", i, lex_strerror(rc));
                return rc;
            }
        } else {
            c->sock = zmq_socket(e->ctx, ZMQ_DEALER);
            int hwm = 200000, linger = 0;
            if (!c->sock)
                goto zmq_fail;
            zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
            zmq_setsockopt(c->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
            zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
            if (zmq_connect(c->sock, cfg->endpoint) != 0)
                goto zmq_fail;
        }
        int fd;
        size_t fdlen = sizeof fd;
        if (zmq_getsockopt(conn_socket(e, i), ZMQ_FD, &fd, &fdlen) != 0)
            goto zmq_fail;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            fprintf(stderr, "lexload: epoll: %s\n", strerror(errno));
            return LEX_EIO;
        }
    }
    if (cfg->target == LL_TARGET_SWITCH) {
        /* all at once, heartbeating meanwhile: a node waiting its turn
         * would otherwise fall silent and be dropped by the switch */
        uint64_t deadline = lex_mono_us() + 120000000u, last_sweep = 0, last_count = 0;
        unsigned ready = 0;
        int told_in_use = 0;
        while (ready < e->nconns) {
            uint64_t now = lex_mono_us();
            if (now >= deadline || *cfg->stop) {
                for (unsigned i = 0; i < e->nconns; i++)
                    if (!lex_node_ready(e->conns[i].node)) {
                        fprintf(stderr, "lexload: %u of %u connections registered; %u (%s): %s\n",
                                ready, e->nconns, i, e->conns[i].oris[0],
                                lex_node_error(e->conns[i].node));
                        break;
                    }
                return LEX_ETIMEOUT;
            }
            wait_events(e, 20);
            drain_dirty(e);
            sweep(e, now, &last_sweep);
            if (now - last_count < SWEEP_US / 4)
                continue; /* counting every wake-up is quadratic in connections */
            last_count = now;
            ready = 0;
            for (unsigned i = 0; i < e->nconns; i++) {
                ready += lex_node_ready(e->conns[i].node) != 0;
                if (!told_in_use && !lex_node_ready(e->conns[i].node) &&
                    strstr(lex_node_error(e->conns[i].node), "ori-in-use")) {
                    /* another live session holds these ORIs (another run,
                     * a real agency): say so instead of waiting in silence */
                    fprintf(stderr, "lexload: connection %u (%s) waits: %s\n", i,
                            e->conns[i].oris[0], lex_node_error(e->conns[i].node));
                    told_in_use = 1;
                }
            }
        }
    }
    e->res->conns = e->nconns;
    e->res->connect_s = (double)(lex_mono_us() - t0) / 1e6;
    return 0;
zmq_fail:
    fprintf(stderr, "lexload: socket: %s\n", zmq_strerror(zmq_errno()));
    return LEX_EZMQ;
}

/* A DQ by licence number and name, as near to body_bytes as the catalogue
 * lets a query body be (its fields have length limits). */
static int fixed_size_query(engine_t *e, lex_buf_t *out)
{
    char lic[21], name[65];
    snprintf(lic, sizeof lic, "%020llu", (unsigned long long)(next_rand(e) % 100000000000ull));
    size_t name_len = 64;
    for (;;) {
        memset(name, 'N', name_len);
        name[name_len] = 0;
        lex_buf_reset(out);
        msgpack_packer pk;
        msgpack_packer_init(&pk, out, lex_buf_write);
        msgpack_pack_map(&pk, 4);
        lex_mp_pack_kv_str(&pk, "lic", lic);
        lex_mp_pack_kv_str(&pk, "name", name);
        lex_mp_pack_kv_str(&pk, "dob", "1980-01-01");
        lex_mp_pack_kv_str(&pk, "sex", "F");
        if (out->failed)
            return LEX_ENOMEM;
        if (out->len <= e->cfg->body_bytes || name_len == 1)
            return 0;
        name_len--;
    }
}

static const char *pick_key(uint64_t rnd)
{
    unsigned p = (unsigned)(rnd % 100);
    return p < 45 ? "DQ" : p < 83 ? "RQ" : p < 91 ? "KQ" : p < 96 ? "RNQ" : "IMQ";
}

static int send_frames(engine_t *e, unsigned ci, lex_envelope_t *env)
{
    conn_t *c = &e->conns[ci];
    if (e->cfg->target == LL_TARGET_SWITCH)
        return lex_node_send(c->node, env, e->body_buf.data, e->body_buf.len);
    env->version = LEX_PROTOCOL_VERSION;
    env->ts_us = lex_now_us();
    lex_buf_reset(&e->env_buf);
    int rc = lex_envelope_encode(env, &e->env_buf);
    if (rc != 0)
        return rc;
    if (zmq_send(c->sock, e->env_buf.data, e->env_buf.len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(c->sock, e->body_buf.data, e->body_buf.len, ZMQ_DONTWAIT) < 0)
        return zmq_errno() == EAGAIN ? LEX_EAGAIN : LEX_EZMQ;
    return 0;
}

/* Sends one query due at due_us. 0, or LEX_E* (counted as a send error). */
static int send_one(engine_t *e, uint64_t due_us)
{
    const ll_config_t *cfg = e->cfg;
    ll_result_t *res = e->res;
    int federal = e->nfederals && (!e->nlocals || next_rand(e) % 100 < cfg->federal_pct);
    const member_t *m = federal ? &e->federals[next_rand(e) % e->nfederals]
                                : &e->locals[next_rand(e) % e->nlocals];
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = ++e->next_id;
    memcpy(env.src, m->agency->ori, sizeof env.src);
    strcpy(env.purpose, "C");
    snprintf(env.ctl, sizeof env.ctl, "Q%llu", (unsigned long long)env.id);
    const char *first = !federal && next_rand(e) % 100 < 70
                            ? m->agency->home_state
                            : lex_states[next_rand(e) % lex_state_count];
    lex_envelope_add_dst(&env, first);
    int rc;
    if (cfg->body_bytes) {
        strcpy(env.key, "DQ");
        rc = fixed_size_query(e, &e->body_buf);
    } else {
        snprintf(env.key, sizeof env.key, "%s", pick_key(next_rand(e)));
        if (cfg->inflight == 0 && next_rand(e) % 100 < cfg->fanout_pct) {
            unsigned extra = 1 + (unsigned)(next_rand(e) % 2);
            for (unsigned k = 0; k < extra; k++) {
                const char *s = lex_states[next_rand(e) % lex_state_count];
                int dup = 0;
                for (uint32_t j = 0; j < env.ndst; j++)
                    dup |= strcmp(env.dst[j], s) == 0;
                if (!dup)
                    lex_envelope_add_dst(&env, s);
            }
        }
        lex_buf_reset(&e->body_buf);
        rc = lex_population_sample_query(e->pops[lex_state_index(first)], env.key,
                                         next_rand(e), cfg->miss_pct, &e->body_buf);
    }
    if (rc == 0)
        rc = send_frames(e, m->conn, &env);
    mark_dirty(e, m->conn); /* a send may take the socket's wake-up signal */
    if (rc != 0) {
        res->send_errors++;
        return rc;
    }
    pending_t *p = &e->ring[env.id & (RING_SIZE - 1)];
    if (p->remaining)
        res->unanswered += p->remaining; /* overwritten before its answers came */
    *p = (pending_t){env.id, due_us, env.ndst, due_us >= e->measure_from_us};
    res->sent++;
    res->expected += env.ndst;
    e->second_sent++;
    if (cfg->target == LL_TARGET_BARE) {
        res->query_env_bytes = e->env_buf.len;
    } else if ((res->sent & 4095) == 1) { /* libnode encoded it; measure now and then */
        lex_buf_reset(&e->env_buf);
        if (lex_envelope_encode(&env, &e->env_buf) == 0)
            res->query_env_bytes = e->env_buf.len;
    }
    res->query_body_bytes = e->body_buf.len;
    return 0;
}

static void take_answer(engine_t *e, const lex_envelope_t *env, const void *body, size_t len)
{
    ll_result_t *res = e->res;
    pending_t *p = &e->ring[env->ref & (RING_SIZE - 1)];
    if (env->ref == 0 || p->id != env->ref || p->remaining == 0) {
        res->unexpected++;
        return;
    }
    p->remaining--;
    if (p->remaining == 0)
        e->completed++;
    res->answers++;
    e->second_answers++;
    uint64_t now = lex_mono_us();
    uint64_t lat = now > p->due_us ? now - p->due_us : 0;
    lex_hist_record(&e->second_hist, lat);
    if (p->measured) {
        lex_hist_record(&res->latency, lat);
        res->measured++;
    }
    size_t k = 0;
    while (k < LL_ANSWER_KEYS - 1 && strcmp(ll_answer_keys[k], env->key) != 0)
        k++;
    res->by_answer_key[k]++;
    if (strcmp(env->key, "ST") == 0) {
        int code = 0;
        if (lex_status_parse(body, len, &code, NULL, 0) == 0 && code >= 0 && code < 64)
            res->by_status[code]++;
    }
}

/* Reads everything waiting on a connection. */
static void drain_conn(engine_t *e, unsigned i)
{
    conn_t *c = &e->conns[i];
    c->dirty = 0;
    if (e->cfg->target == LL_TARGET_SWITCH) {
        lex_message_t m;
        while (lex_node_recv(c->node, &m, 0) == 0)
            if (!e->cfg->hold)
                take_answer(e, &m.env, m.body, m.body_len);
        return;
    }
    for (;;) {
        zmq_msg_t f1, f2;
        zmq_msg_init(&f1);
        if (zmq_msg_recv(&f1, c->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&f1);
            return;
        }
        zmq_msg_init(&f2);
        int two = zmq_msg_more(&f1) && zmq_msg_recv(&f2, c->sock, 0) >= 0;
        lex_envelope_t env;
        if (two && lex_envelope_decode(zmq_msg_data(&f1), zmq_msg_size(&f1), &env, NULL) == 0)
            take_answer(e, &env, zmq_msg_data(&f2), zmq_msg_size(&f2));
        else
            e->res->unexpected++;
        while (zmq_msg_more(&f2)) { /* never expected; drop extra frames */
            zmq_msg_close(&f2);
            zmq_msg_init(&f2);
            if (zmq_msg_recv(&f2, c->sock, 0) < 0)
                break;
        }
        zmq_msg_close(&f2);
        zmq_msg_close(&f1);
    }
}

static void drain_dirty(engine_t *e)
{
    /* draining can mark nothing new, but a send in between may */
    while (e->ndirty) {
        unsigned i = e->dirty_list[--e->ndirty];
        drain_conn(e, i);
    }
}

static void arm_timer(engine_t *e, uint64_t at_us)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (at_us) {
        its.it_value.tv_sec = (time_t)(at_us / 1000000u);
        its.it_value.tv_nsec = (long)(at_us % 1000000u) * 1000;
    }
    timerfd_settime(e->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void wait_events(engine_t *e, int timeout_ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(e->epfd, evs, 256, timeout_ms);
    for (int k = 0; k < n; k++) {
        if (evs[k].data.u32 == e->nconns) {
            uint64_t expirations;
            if (read(e->timer_fd, &expirations, sizeof expirations) < 0) { /* spurious */ }
            continue;
        }
        mark_dirty(e, evs[k].data.u32);
    }
}

/* Heartbeats, and a look at every socket in case a wake-up was missed. */
static void sweep(engine_t *e, uint64_t now, uint64_t *last)
{
    if (now - *last < SWEEP_US)
        return;
    *last = now;
    for (unsigned i = 0; i < e->nconns; i++) {
        if (e->cfg->target == LL_TARGET_SWITCH)
            lex_node_tick(e->conns[i].node);
        mark_dirty(e, i);
    }
}

static void close_second(engine_t *e, double t)
{
    ll_result_t *res = e->res;
    ll_second_t *grown = realloc(res->series, (res->nseries + 1) * sizeof *grown);
    if (grown) {
        res->series = grown;
        res->series[res->nseries++] = (ll_second_t){
            t, e->second_sent, e->second_answers, lex_hist_percentile(&e->second_hist, 50),
            lex_hist_percentile(&e->second_hist, 99), e->second_hist.max};
    }
    e->second_sent = e->second_answers = 0;
    lex_hist_init(&e->second_hist);
}

static void progress_line(engine_t *e, double t, int final)
{
    const ll_result_t *res = e->res;
    fprintf(stderr, "\rlexload %6.1f s  sent %10llu  answered %10llu  p99 %8llu us  errors %llu%s",
            t, (unsigned long long)res->sent, (unsigned long long)res->answers,
            (unsigned long long)lex_hist_percentile(&res->latency, 99),
            (unsigned long long)(res->send_errors + res->unexpected), final ? "\n" : "   ");
}

/* Gap to the next arrival, in microseconds, for a query due at t_us. */
static double next_gap(engine_t *e, double t_us)
{
    const ll_config_t *cfg = e->cfg;
    double rate = cfg->rate;
    if (cfg->replay_day_s > 0)
        rate *= ll_day_shape(fmod(t_us / 1e6 / cfg->replay_day_s, 1.0));
    double mean = 1e6 / rate;
    return cfg->arrival == LL_ARRIVAL_POISSON ? -log(uniform01(e)) * mean : mean;
}

/* Bare forwarder: a round trip proves the responder is attached. */
static int probe_bare(engine_t *e)
{
    uint64_t deadline = lex_mono_us() + 10000000u;
    while (lex_mono_us() < deadline && !*e->cfg->stop) {
        uint64_t before = e->res->answers;
        e->measure_from_us = UINT64_MAX;
        if (send_one(e, lex_mono_us()) == 0) {
            uint64_t until = lex_mono_us() + 200000u;
            while (lex_mono_us() < until && e->res->answers == before) {
                wait_events(e, 20);
                drain_dirty(e);
                mark_dirty(e, 0);
            }
        }
        if (e->res->answers > before)
            return 0;
    }
    fprintf(stderr, "lexload: no answer through %s\n", e->cfg->endpoint);
    return LEX_ETIMEOUT;
}

static void run_load(engine_t *e)
{
    const ll_config_t *cfg = e->cfg;
    ll_result_t *res = e->res;
    uint64_t t0 = lex_mono_us(), last_sweep = t0, last_progress = t0;
    uint64_t end = t0 + (uint64_t)(cfg->duration_s * 1e6);
    uint64_t next_second = t0 + 1000000u;
    e->measure_from_us = t0 + (uint64_t)(cfg->warmup_s * 1e6);
    uint64_t measured_at_start = 0, window_start = 0;
    double next_due = 0; /* microseconds after t0 */
    uint64_t closed_sent = 0;
    while (!*cfg->stop) {
        uint64_t now = lex_mono_us();
        if (now >= end || (cfg->count && res->sent >= cfg->count))
            break;
        if (!window_start && now >= e->measure_from_us) {
            window_start = now;
            measured_at_start = e->completed;
        }
        if (cfg->inflight) {
            /* refill: one new query for each that finished */
            uint64_t target = e->completed + cfg->inflight;
            if (cfg->count && target > cfg->count)
                target = cfg->count;
            for (unsigned burst = 0; closed_sent < target && burst < 4096; burst++)
                if (send_one(e, lex_mono_us()) == 0)
                    closed_sent++;
                else
                    break;
            drain_dirty(e);
            wait_events(e, e->ndirty ? 0 : 20);
        } else {
            for (unsigned burst = 0; t0 + (uint64_t)next_due <= now && burst < 4096 &&
                                     (!cfg->count || res->sent < cfg->count);
                 burst++) {
                send_one(e, t0 + (uint64_t)next_due);
                next_due += next_gap(e, next_due);
            }
            drain_dirty(e);
            now = lex_mono_us();
            uint64_t due_at = t0 + (uint64_t)next_due;
            if (due_at > now) {
                arm_timer(e, due_at < end ? due_at : end);
                wait_events(e, 50);
            } else {
                wait_events(e, 0);
            }
        }
        drain_dirty(e);
        now = lex_mono_us();
        sweep(e, now, &last_sweep);
        while (now >= next_second) {
            close_second(e, (double)(next_second - t0) / 1e6);
            next_second += 1000000u;
        }
        if (cfg->progress && now - last_progress >= 500000u) {
            last_progress = now;
            progress_line(e, (double)(now - t0) / 1e6, 0);
        }
    }
    uint64_t stop_at = lex_mono_us();
    res->elapsed_s = (double)(stop_at - t0) / 1e6;
    if (!window_start)
        window_start = stop_at;
    if (cfg->inflight) {
        /* closed loop: throughput is the queries finished in the window */
        res->window_s = (double)(stop_at - window_start) / 1e6;
        res->measured = e->completed - measured_at_start;
    } else {
        res->window_s = (double)(stop_at - window_start) / 1e6;
    }
    arm_timer(e, 0);
    uint64_t grace_end = lex_mono_us() + (uint64_t)(cfg->grace_s * 1e6);
    while (res->answers + res->unanswered < res->expected && lex_mono_us() < grace_end &&
           !*cfg->stop) {
        wait_events(e, 20);
        drain_dirty(e);
        sweep(e, lex_mono_us(), &last_sweep);
    }
    res->unanswered = res->expected - res->answers;
    if (cfg->progress)
        progress_line(e, (double)(lex_mono_us() - t0) / 1e6, 1);
}

static int write_ready(const char *path, unsigned conns)
{
    char text[32];
    snprintf(text, sizeof text, "%u\n", conns);
    return lex_textfile_write_atomic(path, text);
}

static void run_hold(engine_t *e)
{
    const ll_config_t *cfg = e->cfg;
    uint64_t t0 = lex_mono_us(), last_sweep = t0;
    uint64_t end = cfg->duration_s > 0 ? t0 + (uint64_t)(cfg->duration_s * 1e6) : UINT64_MAX;
    if (cfg->progress)
        fprintf(stderr, "lexload: holding %u registered connections\n", e->nconns);
    while (!*cfg->stop && lex_mono_us() < end) {
        wait_events(e, 50);
        drain_dirty(e);
        sweep(e, lex_mono_us(), &last_sweep);
    }
    e->res->elapsed_s = (double)(lex_mono_us() - t0) / 1e6;
}

int ll_run(const ll_config_t *cfg, ll_result_t *res)
{
    engine_t e;
    memset(&e, 0, sizeof e);
    memset(res, 0, sizeof *res);
    lex_hist_init(&res->latency);
    lex_hist_init(&e.second_hist);
    e.cfg = cfg;
    e.res = res;
    e.rng = cfg->seed;
    e.epfd = e.timer_fd = -1;
    e.nconns = cfg->conns ? cfg->conns : 64;
    lex_buf_init(&e.env_buf);
    lex_buf_init(&e.body_buf);
    int rc = LEX_ENOMEM;
    e.ctx = zmq_ctx_new();
    e.conns = calloc(e.nconns, sizeof *e.conns);
    e.dirty_list = calloc(e.nconns, sizeof *e.dirty_list);
    e.ring = calloc(RING_SIZE, sizeof *e.ring);
    if (!e.ctx || !e.conns || !e.dirty_list || !e.ring)
        goto cleanup;
    zmq_ctx_set(e.ctx, ZMQ_MAX_SOCKETS, (int)e.nconns + 64);
    if ((rc = build_members(&e)) != 0)
        goto cleanup;
    if (!cfg->hold && !cfg->body_bytes)
        for (size_t i = 0; i < lex_state_count; i++)
            if ((rc = lex_population_new(lex_states[i], cfg->drivers, cfg->drivers,
                                         &e.pops[i])) != 0)
                goto cleanup;
    rc = LEX_EIO;
    e.epfd = epoll_create1(EPOLL_CLOEXEC);
    e.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (e.epfd < 0 || e.timer_fd < 0)
        goto cleanup;
    struct epoll_event tev = {.events = EPOLLIN, .data.u32 = e.nconns};
    if (epoll_ctl(e.epfd, EPOLL_CTL_ADD, e.timer_fd, &tev) != 0)
        goto cleanup;
    if ((rc = open_conns(&e)) != 0)
        goto cleanup;
    if (cfg->target == LL_TARGET_BARE && !cfg->hold && (rc = probe_bare(&e)) != 0)
        goto cleanup;
    /* the probe's traffic is not part of the result; a late answer to a
     * probe finds no slot and is counted as unexpected */
    memset(res->by_answer_key, 0, sizeof res->by_answer_key);
    memset(res->by_status, 0, sizeof res->by_status);
    memset(e.ring, 0, RING_SIZE * sizeof *e.ring);
    res->sent = res->expected = res->answers = res->unanswered = 0;
    res->send_errors = res->measured = res->unexpected = 0;
    e.completed = 0;
    e.second_sent = e.second_answers = 0;
    lex_hist_init(&e.second_hist);
    if (cfg->ready_file && write_ready(cfg->ready_file, e.nconns) != 0)
        fprintf(stderr, "lexload: cannot write %s\n", cfg->ready_file);
    if (cfg->progress && !cfg->hold)
        fprintf(stderr, "lexload: %u connections (%zu local/state, %zu federal agencies) "
                        "registered in %.1f s\n",
                e.nconns, e.nlocals, e.nfederals, res->connect_s);
    if (cfg->hold)
        run_hold(&e);
    else
        run_load(&e);
    rc = 0;
cleanup:
    for (unsigned i = 0; e.conns && i < e.nconns; i++) {
        lex_node_destroy(&e.conns[i].node);
        if (e.conns[i].sock)
            zmq_close(e.conns[i].sock);
        free(e.conns[i].oris);
    }
    for (size_t s = 0; s < 64; s++)
        lex_population_destroy(&e.pops[s]);
    if (e.ctx)
        zmq_ctx_term(e.ctx);
    if (e.epfd >= 0)
        close(e.epfd);
    if (e.timer_fd >= 0)
        close(e.timer_fd);
    free(e.conns);
    free(e.dirty_list);
    free(e.ring);
    free(e.locals);
    free(e.federals);
    lex_buf_free(&e.env_buf);
    lex_buf_free(&e.body_buf);
    return rc;
}
