/* lexsim_watch.c: lexsim watches the switch while the agencies run: once
 * a second it asks for the switch's status (SSQ, as an operations desk) and
 * keeps the counters as a time series, for the progress line and the
 * report's plots. It reads counters only; it never sends a query. */
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lexsim.h"

int lexsim_watch_open(lexsim_watch_t *w, const char *endpoint, const char *ori)
{
    memset(w, 0, sizeof *w);
    const char *oris[] = {ori};
    lex_node_config_t nc = {.endpoint = endpoint, .role = "operator", .oris = oris, .noris = 1};
    int rc = lex_node_new(&nc, &w->node);
    if (rc == 0)
        rc = lex_node_wait_ready(w->node, 5000);
    if (rc != 0)
        lex_node_destroy(&w->node);
    w->t0_us = lex_mono_us();
    return rc;
}

static uint64_t get_u(const msgpack_object *o, const char *name)
{
    uint64_t v = 0;
    lex_mp_uint(lex_mp_get(o, name), &v);
    return v;
}

int lexsim_watch_sample(lexsim_watch_t *w)
{
    if (!w->node)
        return LEX_EINVAL;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        lexsim_sample_t *grown = realloc(w->samples, cap * sizeof *grown);
        if (!grown)
            return LEX_ENOMEM;
        w->samples = grown;
        w->cap = cap;
    }
    lex_buf_t body; /* {sessions: false}: counters only */
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_str(&pk, "sessions");
    msgpack_pack_false(&pk);
    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "SSQ");
    int rc = lex_node_send(w->node, &env, body.data, body.len);
    lex_buf_free(&body);
    if (rc != 0)
        return rc;
    uint64_t deadline = lex_mono_us() + 2000000u;
    lex_message_t m;
    while (lex_mono_us() < deadline) {
        if (lex_node_recv(w->node, &m, 100) != 0 || m.env.ref != env.id)
            continue;
        if (strcmp(m.env.key, "SSR") != 0)
            return LEX_EINVAL;
        msgpack_unpacked up;
        if (lex_body_parse(m.body, m.body_len, &up) != 0)
            return LEX_EPARSE;
        lexsim_sample_t *s = &w->samples[w->n++];
        s->t_s = (double)(lex_mono_us() - w->t0_us) / 1e6;
        s->received = get_u(&up.data, "received");
        s->forwarded = get_u(&up.data, "forwarded");
        s->statuses = get_u(&up.data, "statuses");
        s->rejected = get_u(&up.data, "rejected");
        s->timeouts = get_u(&up.data, "timeouts");
        s->in_flight = get_u(&up.data, "in_flight");
        s->held = get_u(&up.data, "held");
        msgpack_unpacked_destroy(&up);
        return 0;
    }
    return LEX_ETIMEOUT;
}

void lexsim_watch_idle(lexsim_watch_t *w, int ms)
{
    uint64_t until = lex_mono_us() + (uint64_t)ms * 1000u;
    lex_message_t m;
    while (w->node && lex_mono_us() < until)
        lex_node_recv(w->node, &m, 50);
}

void lexsim_watch_close(lexsim_watch_t *w)
{
    lex_node_destroy(&w->node);
    free(w->samples);
    memset(w, 0, sizeof *w);
}
