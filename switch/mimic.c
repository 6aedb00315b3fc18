/* mimic.c: a state rule's `deny no-record` answered the way a real miss
 * is (docs/PROTOCOL.md, "Queries and responses"). It watches the answers
 * each state's responders give (how long they take, how many switches they
 * passed, which ORI they come from) and holds the switch's own no-record
 * back for a delay drawn from those latencies. The status's audit record is
 * written when it is made; the message waits here only once that record is
 * committed, and then goes out through the outbox like any other, so a
 * switch killed while it waits leaves the record and never a message
 * without one. Never blocks the loop: one libuv timer for the earliest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "lex_error.h"
#include "logline.h"
#include "s2s.h"

#define MIMIC_SAMPLES 32   /* latest answer latencies kept per state */

typedef struct delayed {
    struct delayed *next;
    uint64_t due_us;              /* monotonic */
    uint8_t rid[RID_MAX];
    size_t rid_len;
    size_t env_len, body_len;
    char data[];                  /* envelope, then body */
} delayed_t;

typedef struct {
    uint64_t latency_us[MIMIC_SAMPLES];  /* ring of the latest answers' latencies */
    unsigned n, pos;
    uint32_t hops;                       /* hop of the latest answer as received */
    char src[LEX_ORI_LEN + 1];           /* its src */
} state_seen_t;

struct lex_mimic {
    lex_switch_t *sw;
    uv_timer_t timer;
    int timer_ready;
    void (*after)(lex_switch_t *sw);     /* commits and sends what was released */
    state_seen_t seen[64];               /* per lex_state_index */
    struct { int state; uint64_t opened_us; } *answered;  /* answers not yet sent on */
    size_t nanswered, answered_cap;
    uint64_t released_due_us;            /* latest due time released and not yet sent */
    uint64_t late_us;                    /* how late released statuses leave (moving average) */
    delayed_t *fresh, *fresh_tail;       /* made this pass: records not committed yet */
    delayed_t *ready;                    /* records committed; sorted by due time */
    size_t waiting;
};

static void arm(lex_mimic_t *m);

static void on_timer(uv_timer_t *t)
{
    lex_mimic_t *m = t->data;
    if (lex_mimic_release(m->sw, lex_mono_us()) > 0 && m->after)
        m->after(m->sw);
    arm(m);
}

static void arm(lex_mimic_t *m)
{
    if (!m->timer_ready || uv_is_closing((uv_handle_t *)&m->timer))
        return;
    if (!m->ready) {
        uv_timer_stop(&m->timer);
        return;
    }
    uint64_t now = lex_mono_us();
    /* to the nearest ms: libuv counts whole ones from the loop's cached time */
    uint64_t wait_ms = m->ready->due_us > now ? (m->ready->due_us - now + 500) / 1000 : 0;
    uv_timer_start(&m->timer, on_timer, wait_ms, 0);
}

int lex_mimic_open(lex_switch_t *sw, void (*after)(lex_switch_t *sw))
{
    lex_mimic_t *m = calloc(1, sizeof *m);
    if (!m)
        return LEX_ENOMEM;
    m->sw = sw;
    m->after = after;
    if (uv_timer_init(&sw->loop, &m->timer) != 0) {
        free(m);
        return LEX_EUV;
    }
    m->timer.data = m;
    m->timer_ready = 1;
    sw->mimic = m;
    return 0;
}

void lex_mimic_close(lex_switch_t *sw)
{
    lex_mimic_t *m = sw->mimic;
    if (m && m->timer_ready && !uv_is_closing((uv_handle_t *)&m->timer))
        uv_close((uv_handle_t *)&m->timer, NULL);
}

static void free_list(delayed_t *d)
{
    while (d) {
        delayed_t *next = d->next;
        free(d);
        d = next;
    }
}

void lex_mimic_destroy(lex_switch_t *sw)
{
    lex_mimic_t *m = sw->mimic;
    if (!m)
        return;
    free_list(m->fresh);
    free_list(m->ready);
    free(m->answered);
    free(m);
    sw->mimic = NULL;
}

void lex_mimic_observe(lex_switch_t *sw, const char *state, uint64_t opened_us, uint32_t hops,
                       const char *src)
{
    lex_mimic_t *m = sw->mimic;
    int idx = m ? lex_state_index(state) : -1;
    if (idx < 0)
        return;
    state_seen_t *s = &m->seen[idx];
    s->hops = hops;
    snprintf(s->src, sizeof s->src, "%s", src);
    /* its latency is taken when the answer leaves (lex_mimic_sent): what
     * the requester waits includes the answer's own commit */
    if (m->nanswered == m->answered_cap) {
        size_t cap = m->answered_cap ? 2 * m->answered_cap : 64;
        void *grown = realloc(m->answered, cap * sizeof *m->answered);
        if (!grown)
            return;
        m->answered = grown;
        m->answered_cap = cap;
    }
    m->answered[m->nanswered].state = idx;
    m->answered[m->nanswered++].opened_us = opened_us;
}

void lex_mimic_sent(lex_switch_t *sw, uint64_t now_us)
{
    lex_mimic_t *m = sw->mimic;
    for (size_t i = 0; m && i < m->nanswered; i++) {
        state_seen_t *s = &m->seen[m->answered[i].state];
        uint64_t opened = m->answered[i].opened_us;
        s->latency_us[s->pos] = now_us > opened ? now_us - opened : 0;
        s->pos = (s->pos + 1) % MIMIC_SAMPLES;
        if (s->n < MIMIC_SAMPLES)
            s->n++;
    }
    if (m)
        m->nanswered = 0;
    if (m && m->released_due_us) {
        /* what a held status takes from its due time to the wire (the timer,
         * the commit, an fsync under way): taken off the next delays */
        uint64_t late = now_us > m->released_due_us ? now_us - m->released_due_us : 0;
        m->late_us = (7 * m->late_us + late) / 8;
        m->released_due_us = 0;
    }
}

void lex_mimic_unsent(lex_switch_t *sw)
{
    if (sw->mimic) {
        sw->mimic->nanswered = 0;
        sw->mimic->released_due_us = 0;
    }
}

void lex_mimic_plan(lex_switch_t *sw, const char *state, const session_t *responder,
                    uint64_t *delay_us, uint32_t *hops, char src[LEX_ORI_LEN + 1])
{
    int idx = sw->mimic ? lex_state_index(state) : -1;
    const state_seen_t *s = idx >= 0 ? &sw->mimic->seen[idx] : NULL;
    *delay_us = 0;
    /* what a node's answer carries once it has passed this switch */
    *hops = (s && s->n ? s->hops : responder && responder->peer ? 1 : 0) + 1;
    if (s && s->src[0] && responder && lex_session_owns_ori(sw, responder, s->src))
        snprintf(src, LEX_ORI_LEN + 1, "%s", s->src);
    else
        snprintf(src, LEX_ORI_LEN + 1, "%s",
                 responder && responder->noris ? responder->oris[0] : LEX_SWITCH_ORI);
    if (!s || s->n == 0 || sw->cfg.no_record_delay_max_ms <= 0)
        return;
    /* one of the recent latencies, chosen at random: the delays follow the
     * responders' own spread rather than one average */
    uint64_t d = s->latency_us[randombytes_uniform(s->n)];
    d = d > sw->mimic->late_us ? d - sw->mimic->late_us : 0;
    uint64_t cap = (uint64_t)sw->cfg.no_record_delay_max_ms * 1000u;
    *delay_us = d < cap ? d : cap;
}

int lex_mimic_hold(lex_switch_t *sw, uint64_t due_us, const uint8_t *rid, size_t rid_len,
                   const void *env, size_t env_len, const void *body, size_t body_len)
{
    lex_mimic_t *m = sw->mimic;
    delayed_t *d = m ? malloc(sizeof *d + env_len + body_len) : NULL;
    if (!d)
        return LEX_ENOMEM;
    d->next = NULL;
    d->due_us = due_us;
    memcpy(d->rid, rid, rid_len);
    d->rid_len = rid_len;
    d->env_len = env_len;
    d->body_len = body_len;
    memcpy(d->data, env, env_len);
    if (body_len)
        memcpy(d->data + env_len, body, body_len);
    if (m->fresh_tail)
        m->fresh_tail->next = d;
    else
        m->fresh = d;
    m->fresh_tail = d;
    m->waiting++;
    return 0;
}

void lex_mimic_committed(lex_switch_t *sw, int ok)
{
    lex_mimic_t *m = sw->mimic;
    if (!m || !m->fresh)
        return;
    delayed_t *d = m->fresh;
    m->fresh = m->fresh_tail = NULL;
    if (!ok) {
        /* the records are lost with the commit: their messages may not go */
        size_t n = 0;
        for (delayed_t *x = d; x; x = x->next)
            n++;
        m->waiting -= n;
        free_list(d);
        return;
    }
    while (d) {
        delayed_t *next = d->next;
        delayed_t **at = &m->ready;
        while (*at && (*at)->due_us <= d->due_us)
            at = &(*at)->next;
        d->next = *at;
        *at = d;
        d = next;
    }
    arm(m);
}

size_t lex_mimic_release(lex_switch_t *sw, uint64_t now_us)
{
    lex_mimic_t *m = sw->mimic;
    size_t n = 0;
    while (m && m->ready && m->ready->due_us <= now_us) {
        delayed_t *d = m->ready;
        m->ready = d->next;
        m->waiting--;
        if (d->due_us > m->released_due_us && now_us != UINT64_MAX)
            m->released_due_us = d->due_us;
        if (lex_outbox_add(sw, d->rid, d->rid_len, 0, d->data, d->env_len, d->data + d->env_len,
                           d->body_len) != 0)
            lex_logline_write(LEX_LOG_ERROR, "out of memory queueing a status");
        free(d);
        n++;
    }
    return n;
}

size_t lex_mimic_waiting(const lex_switch_t *sw)
{
    return sw->mimic ? sw->mimic->waiting : 0;
}
