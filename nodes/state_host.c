/* state_host.c: the state role. One node per state (ORI <ST>DMV0000),
 * registered as that state's responder for DQ, KQ, RQ, RNQ and IMQ, each
 * answering from its own synthetic population (and, with a key directory,
 * on its own CURVE key); one thread polls them all so a whole country of
 * responders fits in one process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "lex_body.h"
#include "lex_catalogue.h"
#include "lex_error.h"
#include "lex_node.h"
#include "lex_population.h"
#include "lex_roles.h"
#include "lex_simdir.h"
#include "lex_states.h"
#include "lex_status.h"
#include "lex_textfile.h"
#include "lex_witness_client.h"

static const char *const answered_keys[] = {"DQ", "KQ", "RQ", "RNQ", "IMQ"};

typedef struct {
    char state[LEX_STATE_LEN + 1];
    char ori[LEX_ORI_LEN + 1];
    lex_population_t *pop;
    lex_node_t *node;
} state_node_t;

static void answer(state_node_t *sn, const lex_message_t *m, lex_buf_t *body)
{
    const lex_msgdef_t *def = lex_catalogue_find(lex_catalogue_builtin(), m->env.key);
    if (!def || def->cls != LEX_CLASS_QUERY) {
        if (strcmp(m->env.key, "ST") == 0) {
            int code = 0;
            char text[200] = "";
            lex_status_parse(m->body, m->body_len, &code, text, sizeof text);
            fprintf(stderr, "lexnode %s: switch refused our message %llu: %s (%s)\n", sn->ori,
                    (unsigned long long)m->env.ref, lex_status_name(code), text);
        }
        return; /* AM and others: nothing to answer */
    }
    lex_envelope_t r;
    lex_envelope_init(&r);
    lex_buf_reset(body);
    int rc = lex_population_answer(sn->pop, m->env.key, m->body, m->body_len, r.key, body);
    if (rc != 0) {
        lex_buf_reset(body);
        strcpy(r.key, "ST");
        lex_status_body(body, LEX_ST_NOT_SERVED, "this responder does not answer that key");
    }
    strcpy(r.src, sn->ori);
    lex_envelope_add_dst(&r, m->env.src);
    r.ref = m->env.id;
    memcpy(r.ctl, m->env.ctl, sizeof r.ctl);
    memcpy(r.purpose, m->env.purpose, sizeof r.purpose);
    rc = lex_node_send(sn->node, &r, body->data, body->len);
    if (rc != 0)
        fprintf(stderr, "lexnode %s: could not send answer: %s\n", sn->ori, lex_strerror(rc));
}

int lex_state_host_run(const lex_state_host_config_t *cfg)
{
    size_t n = cfg->states ? cfg->nstates : lex_state_count;
    state_node_t *nodes = calloc(n, sizeof *nodes);
    zmq_pollitem_t *items = calloc(n, sizeof *items);
    void *ctx = zmq_ctx_new();
    lex_buf_t body;
    lex_buf_init(&body);
    int rc = LEX_ENOMEM;
    if (!nodes || !items || !ctx)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        state_node_t *sn = &nodes[i];
        const char *st = cfg->states ? cfg->states[i] : lex_states[i];
        if (!lex_state_valid(st)) {
            fprintf(stderr, "lexnode: unknown state '%s'\n", st);
            rc = LEX_EINVAL;
            goto cleanup;
        }
        snprintf(sn->state, sizeof sn->state, "%s", st);
        lex_simdir_dmv_ori(st, sn->ori);
        if ((rc = lex_population_new(st, cfg->drivers, cfg->vehicles, &sn->pop)) != 0)
            goto cleanup;
        const char *oris[] = {sn->ori};
        const char *states[] = {sn->state};
        char key_file[4096];
        if (cfg->key_dir)
            snprintf(key_file, sizeof key_file, "%s/%s.key", cfg->key_dir, st);
        lex_node_config_t nc = {
            .endpoint = cfg->endpoint, .role = "state", .oris = oris, .noris = 1,
            .states = states, .nstates = 1, .keys = answered_keys,
            .nkeys = sizeof answered_keys / sizeof answered_keys[0],
            .heartbeat_ms = cfg->heartbeat_ms, .zmq_ctx = ctx,
            .key_file = cfg->key_dir ? key_file : NULL,
        };
        char err[512] = "";
        if ((rc = lex_node_new_err(&nc, &sn->node, err, sizeof err)) != 0) {
            fprintf(stderr, "lexnode: cannot connect %s to %s: %s\n", sn->ori, cfg->endpoint,
                    err[0] ? err : lex_strerror(rc));
            goto cleanup;
        }
        items[i] = (zmq_pollitem_t){lex_node_socket(sn->node), 0, ZMQ_POLLIN, 0};
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = lex_node_wait_ready(nodes[i].node, 10000)) != 0) {
            fprintf(stderr, "lexnode %s: not registered: %s\n", nodes[i].ori,
                    lex_node_error(nodes[i].node));
            goto cleanup;
        }
    }
    fprintf(stderr, "lexnode: %zu state responders registered\n", n);
    if (cfg->ready_file && lex_textfile_write_atomic(cfg->ready_file, "ready\n") != 0)
        fprintf(stderr, "lexnode: cannot write %s\n", cfg->ready_file);

    uint64_t last_tick = 0;
    /* the first state's node witnesses the switch's checkpoints for the process */
    lex_witness_client_t witness = {.dir = cfg->witness_dir, .key_path = cfg->log_key};
    while (!*cfg->stop) {
        int r = zmq_poll(items, (int)n, 100);
        if (r < 0 && zmq_errno() != EINTR)
            break;
        for (size_t i = 0; r > 0 && i < n; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            lex_message_t m;
            while (lex_node_recv(nodes[i].node, &m, 0) == 0) {
                char why[512];
                if (!witness.dir || !lex_witness_client_handle(&witness, &m, why, sizeof why))
                    answer(&nodes[i], &m, &body);
                else if (why[0])
                    fprintf(stderr, "lexnode %s: WITNESS: %s\n", nodes[i].ori, why);
            }
        }
        uint64_t now = lex_mono_us();
        if (now - last_tick > 100000) {
            last_tick = now;
            for (size_t i = 0; i < n; i++)
                lex_node_tick(nodes[i].node);
            if (witness.dir)
                lex_witness_client_tick(&witness, nodes[0].node, 5000);
        }
    }
    rc = 0;
cleanup:
    for (size_t i = 0; nodes && i < n; i++) {
        lex_node_destroy(&nodes[i].node);
        lex_population_destroy(&nodes[i].pop);
    }
    if (ctx)
        zmq_ctx_term(ctx);
    free(items);
    free(nodes);
    lex_buf_free(&body);
    return rc;
}
