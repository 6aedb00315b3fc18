/* lexecho.c: a responder for benchmarks. Answers every query at once with a
 * response of the catalogue's pair key and a body of a set size, so the
 * switch and the bare forwarder (perf/baseline/lexfwd.c) are measured with
 * the same messages and the same responder work. Against the switch it is
 * one node registered for every state; against lexfwd it is the DEALER with
 * routing id "lexecho" that lexfwd sends queries to. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include <msgpack.h>
#include "lex_body.h"
#include "lex_catalogue.h"
#include "lex_error.h"
#include "lex_node.h"
#include "lex_simdir.h"
#include "lex_states.h"

#define ECHO_ID "lexecho"
#define MAX_KEYS 32

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

typedef struct {
    char query[LEX_KEY_MAX + 1];
    char answer[LEX_KEY_MAX + 1];
    lex_buf_t body;          /* the answer's body, built once */
} answer_t;

typedef struct {
    answer_t answers[MAX_KEYS];
    size_t nanswers;
    char dmv_oris[64][LEX_ORI_LEN + 1];   /* by lex_state_index */
    lex_buf_t env_buf;
    uint64_t answered, unknown, send_errors;
} echo_t;

/* Packs one required field with a small value; the padding goes into the
 * first array (one map {"pad": "..."}), where the records of a real answer
 * would be. */
static void pack_field(msgpack_packer *pk, const lex_field_t *f, size_t pad, int *padded)
{
    lex_mp_pack_str(pk, f->name);
    switch (f->type) {
    case LEX_FT_ARRAY:
        if (*padded) {
            msgpack_pack_array(pk, 0);
            return;
        }
        *padded = 1;
        msgpack_pack_array(pk, 1);
        msgpack_pack_map(pk, 1);
        lex_mp_pack_str(pk, "pad");
        msgpack_pack_str(pk, pad);
        for (size_t i = 0; i < pad; i++)
            msgpack_pack_str_body(pk, "x", 1);
        return;
    case LEX_FT_INT: msgpack_pack_uint64(pk, 1); return;
    case LEX_FT_BOOL: msgpack_pack_true(pk); return;
    case LEX_FT_BIN: msgpack_pack_bin(pk, 0); return;
    case LEX_FT_MAP: msgpack_pack_map(pk, 0); return;
    case LEX_FT_STR: lex_mp_pack_str(pk, "X"); return;
    }
}

static int build_body(const lex_msgdef_t *def, size_t want, lex_buf_t *out)
{
    size_t pad = want;
    for (;;) {
        lex_buf_reset(out);
        msgpack_packer pk;
        msgpack_packer_init(&pk, out, lex_buf_write);
        uint32_t nreq = 0;
        for (uint32_t i = 0; i < def->nfields; i++)
            nreq += def->fields[i].required != 0;
        msgpack_pack_map(&pk, nreq);
        int padded = 0;
        for (uint32_t i = 0; i < def->nfields; i++)
            if (def->fields[i].required)
                pack_field(&pk, &def->fields[i], pad, &padded);
        if (out->failed)
            return LEX_ENOMEM;
        if (out->len <= want || pad == 0)
            return lex_body_validate(def, out->data, out->len, NULL);
        pad -= out->len - want < pad ? out->len - want : pad;
    }
}

static int build_answers(echo_t *ec, size_t body_bytes)
{
    const lex_catalogue_t *cat = lex_catalogue_builtin();
    if (!cat)
        return LEX_EINVAL;
    for (size_t i = 0; i < lex_catalogue_count(cat) && ec->nanswers < MAX_KEYS; i++) {
        const lex_msgdef_t *q = lex_catalogue_at(cat, i);
        const lex_msgdef_t *a = q->cls == LEX_CLASS_QUERY ? lex_catalogue_find(cat, q->pair) : NULL;
        if (!a)
            continue;
        answer_t *an = &ec->answers[ec->nanswers++];
        snprintf(an->query, sizeof an->query, "%s", q->key);
        snprintf(an->answer, sizeof an->answer, "%s", a->key);
        lex_buf_init(&an->body);
        int rc = build_body(a, body_bytes, &an->body);
        if (rc != 0)
            return rc;
    }
    for (size_t s = 0; s < lex_state_count; s++)
        lex_simdir_dmv_ori(lex_states[s], ec->dmv_oris[s]);
    return 0;
}

static const answer_t *answer_for(const echo_t *ec, const char *key)
{
    for (size_t i = 0; i < ec->nanswers; i++)
        if (strcmp(ec->answers[i].query, key) == 0)
            return &ec->answers[i];
    return NULL;
}

/* Fills the answer envelope for query q; NULL when the key is not a query. */
static const answer_t *make_answer(echo_t *ec, const lex_envelope_t *q, lex_envelope_t *a)
{
    const answer_t *an = answer_for(ec, q->key);
    if (!an) {
        ec->unknown++;
        return NULL;
    }
    lex_envelope_init(a);
    snprintf(a->key, sizeof a->key, "%s", an->answer);
    int s = q->ndst ? lex_state_index(q->dst[0]) : -1;
    memcpy(a->src, ec->dmv_oris[s >= 0 ? s : 0], sizeof a->src);
    lex_envelope_add_dst(a, q->src);
    a->ref = q->id;
    memcpy(a->ctl, q->ctl, sizeof a->ctl);
    memcpy(a->purpose, q->purpose, sizeof a->purpose);
    return an;
}

static int run_switch(echo_t *ec, const char *endpoint)
{
    const char *oris[64], *states[64], *keys[MAX_KEYS];
    for (size_t s = 0; s < lex_state_count; s++) {
        oris[s] = ec->dmv_oris[s];
        states[s] = lex_states[s];
    }
    for (size_t i = 0; i < ec->nanswers; i++)
        keys[i] = ec->answers[i].query;
    lex_node_config_t nc = {.endpoint = endpoint, .role = "state", .oris = oris,
                            .noris = lex_state_count, .states = states,
                            .nstates = lex_state_count, .keys = keys, .nkeys = ec->nanswers};
    lex_node_t *node = NULL;
    int rc = lex_node_new(&nc, &node);
    if (rc == 0 && (rc = lex_node_wait_ready(node, 10000)) != 0)
        fprintf(stderr, "lexecho: not registered: %s\n", lex_node_error(node));
    while (rc == 0 && !stop_flag) {
        lex_message_t m;
        if (lex_node_recv(node, &m, 0) != 0 && lex_node_recv(node, &m, 200) != 0)
            continue;
        lex_envelope_t a;
        const answer_t *an = make_answer(ec, &m.env, &a);
        if (!an)
            continue;
        if (lex_node_send(node, &a, an->body.data, an->body.len) != 0)
            ec->send_errors++;
        else
            ec->answered++;
    }
    lex_node_destroy(&node);
    return rc;
}

static int run_bare(echo_t *ec, const char *endpoint)
{
    void *ctx = zmq_ctx_new();
    void *sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    int rc = LEX_EZMQ, hwm = 500000, linger = 0, timeout = 200;
    if (!sock)
        goto done;
    zmq_setsockopt(sock, ZMQ_ROUTING_ID, ECHO_ID, strlen(ECHO_ID));
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_connect(sock, endpoint) != 0 || zmq_send(sock, "READY", 5, 0) < 0)
        goto done;
    rc = 0;
    while (!stop_flag) {
        zmq_msg_t rid, env, body;
        zmq_msg_init(&rid);
        if (zmq_msg_recv(&rid, sock, 0) < 0) {
            zmq_msg_close(&rid);
            continue;
        }
        zmq_msg_init(&env);
        zmq_msg_init(&body);
        int ok = zmq_msg_more(&rid) && zmq_msg_recv(&env, sock, 0) >= 0 && zmq_msg_more(&env) &&
                 zmq_msg_recv(&body, sock, 0) >= 0 && !zmq_msg_more(&body);
        lex_envelope_t q, a;
        const answer_t *an = NULL;
        if (ok && lex_envelope_decode(zmq_msg_data(&env), zmq_msg_size(&env), &q, NULL) == 0)
            an = make_answer(ec, &q, &a);
        if (an) {
            a.version = LEX_PROTOCOL_VERSION;
            a.id = ++ec->answered;
            a.ts_us = lex_now_us();
            lex_buf_reset(&ec->env_buf);
            if (lex_envelope_encode(&a, &ec->env_buf) != 0 ||
                zmq_msg_send(&rid, sock, ZMQ_SNDMORE) < 0 ||
                zmq_send(sock, ec->env_buf.data, ec->env_buf.len, ZMQ_SNDMORE) < 0 ||
                zmq_send(sock, an->body.data, an->body.len, 0) < 0)
                ec->send_errors++;
        } else if (!an && ok) {
            ec->unknown++;
        }
        zmq_msg_close(&body);
        zmq_msg_close(&env);
        zmq_msg_close(&rid);
    }
done:
    if (rc != 0)
        fprintf(stderr, "lexecho: %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"connect", required_argument, 0, 'c'}, {"bare", no_argument, 0, 1},
        {"body-bytes", required_argument, 0, 2}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *endpoint = "tcp://127.0.0.1:7400";
    size_t body_bytes = 300;
    int bare = 0, c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': endpoint = optarg; break;
        case 1: bare = 1; break;
        case 2: body_bytes = strtoul(optarg, NULL, 10); break;
        case 'h':
            printf("usage: lexecho [--connect EP] [--bare] [--body-bytes B]\n"
                   "Answers every query at once with a body of about B bytes (300).\n"
                   "--bare: serve perf/baseline's lexfwd instead of a switch.\n");
            return 0;
        default: return 2;
        }
    }
    if (body_bytes < 16 || body_bytes > 200000 || optind < argc) {
        fprintf(stderr, "lexecho: bad arguments (see --help)\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    echo_t *ec = calloc(1, sizeof *ec);
    if (!ec)
        return 1;
    lex_buf_init(&ec->env_buf);
    int rc = build_answers(ec, body_bytes);
    if (rc != 0)
        fprintf(stderr, "lexecho: cannot build answers: %s\n", lex_strerror(rc));
    else
        rc = bare ? run_bare(ec, endpoint) : run_switch(ec, endpoint);
    fprintf(stderr, "lexecho: answered %llu, unknown keys %llu, send errors %llu\n",
            (unsigned long long)ec->answered, (unsigned long long)ec->unknown,
            (unsigned long long)ec->send_errors);
    for (size_t i = 0; i < ec->nanswers; i++)
        lex_buf_free(&ec->answers[i].body);
    lex_buf_free(&ec->env_buf);
    free(ec);
    return rc == 0 ? 0 : 1;
}
