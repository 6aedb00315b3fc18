/* node.c: libnode (lex_node.h). A DEALER connection to the switch, the
 * session around it (HELLO/WELCOME, heartbeats, re-registration after the
 * switch restarts) and two-frame send/receive. It never blocks in send:
 * a full queue is reported to the caller as LEX_EAGAIN. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include <msgpack.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_keys.h"
#include "lex_node.h"
#include "lex_status.h"

#define STASH_MAX 16
/* ori-in-use: HELLO again every 250 ms for the first 3 s (the switch sees
 * a crashed predecessor go within that), then backing off */
#define IN_USE_QUICK_TRIES 12

typedef struct {
    lex_envelope_t env;
    char *body;
    size_t body_len;
} stashed_t;

struct lex_node {
    void *ctx;                 /* ZeroMQ context */
    int own_ctx;               /* ctx created (and terminated) by the node */
    void *sock;                /* DEALER */
    lex_buf_t hello;           /* encoded HELLO body, re-sent on re-registration */
    char first_ori[LEX_ORI_LEN + 1];
    uint64_t next_id;
    uint64_t hello_id;         /* id of the last HELLO sent */
    uint64_t hello_sent_us;    /* when (monotonic) */
    int ready;                 /* WELCOME received */
    int curve;                 /* connected with CURVE */
    int refused;               /* HELLO refused */
    uint64_t in_use_retry_us;  /* ori-in-use: when to send HELLO again (0: not waiting) */
    uint64_t in_use_backoff_us;
    int in_use;                /* the last HELLO got ori-in-use */
    unsigned in_use_tries;     /* HELLOs refused ori-in-use since the last WELCOME */
    int heartbeat_ms;
    int heartbeat_set;         /* set by the application: the WELCOME's is not taken */
    uint64_t last_sent_us;     /* monotonic */
    uint64_t last_heard_us;
    uint64_t bad_frames;
    zmq_msg_t body_frame;      /* body of the last message handed out */
    int body_frame_live;
    stashed_t stash[STASH_MAX];
    size_t nstash;
    lex_buf_t scratch;
    char error[256];
};

static void set_error(lex_node_t *n, const char *fmt, const char *detail)
{
    snprintf(n->error, sizeof n->error, fmt, detail);
}

static int send_frames(lex_node_t *n, const lex_envelope_t *env, const void *body, size_t len)
{
    lex_buf_reset(&n->scratch);
    int rc = lex_envelope_encode(env, &n->scratch);
    if (rc != 0)
        return rc;
    if (zmq_send(n->sock, n->scratch.data, n->scratch.len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(n->sock, body, len, ZMQ_DONTWAIT) < 0) {
        if (zmq_errno() == EAGAIN)
            return LEX_EAGAIN;
        set_error(n, "send failed: %s", zmq_strerror(zmq_errno()));
        return LEX_EZMQ;
    }
    n->last_sent_us = lex_mono_us();
    return 0;
}

static int send_session(lex_node_t *n, const char *key, const void *body, size_t len,
                        uint64_t *id_out)
{
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = n->next_id++;
    strcpy(env.key, key);
    strcpy(env.src, n->first_ori);
    env.ts_us = lex_now_us();
    if (id_out)
        *id_out = env.id;
    return send_frames(n, &env, body, len);
}

static int send_hello(lex_node_t *n)
{
    n->ready = 0;
    n->hello_sent_us = lex_mono_us();
    return send_session(n, "HELLO", n->hello.data, n->hello.len, &n->hello_id);
}

static void pack_list(msgpack_packer *pk, const char *name, const char *const *items, size_t n)
{
    lex_mp_pack_str(pk, name);
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        lex_mp_pack_str(pk, items[i]);
}

/* Sets CURVE client options from the key files named by cfg or by the
 * environment; 0 with nothing set when no key is named at all. */
static int setup_curve(lex_node_t *n, const lex_node_config_t *cfg, char *err, size_t errlen)
{
    const char *key_file = cfg->key_file ? cfg->key_file : getenv("LEX_KEY");
    const char *switch_file = cfg->switch_key_file ? cfg->switch_key_file : getenv("LEX_SWITCH_KEY");
    if ((!key_file || !*key_file) && (!switch_file || !*switch_file))
        return 0;
    if (!key_file || !*key_file || !switch_file || !*switch_file) {
        snprintf(err, errlen, "CURVE needs both this node's key (--key, LEX_KEY) and the "
                              "switch's public key (--switch-key, LEX_SWITCH_KEY)");
        return LEX_EINVAL;
    }
    lex_keypair_t mine, theirs;
    int rc = lex_keyfile_load(key_file, &mine, err, errlen);
    if (rc == 0 && !mine.secret_z85[0]) {
        snprintf(err, errlen, "%s holds no secret key (give the .key file, not the .pub)", key_file);
        rc = LEX_EINVAL;
    }
    if (rc == 0)
        rc = lex_keyfile_load(switch_file, &theirs, err, errlen);
    if (rc != 0) {
        memset(&mine, 0, sizeof mine);
        return LEX_EINVAL;
    }
    if (zmq_setsockopt(n->sock, ZMQ_CURVE_SERVERKEY, theirs.public_z85, LEX_Z85_KEY_LEN + 1) ||
        zmq_setsockopt(n->sock, ZMQ_CURVE_PUBLICKEY, mine.public_z85, LEX_Z85_KEY_LEN + 1) ||
        zmq_setsockopt(n->sock, ZMQ_CURVE_SECRETKEY, mine.secret_z85, LEX_Z85_KEY_LEN + 1)) {
        snprintf(err, errlen, "cannot set CURVE keys: %s", zmq_strerror(zmq_errno()));
        rc = LEX_EZMQ;
    }
    memset(&mine, 0, sizeof mine);
    n->curve = rc == 0;
    return rc;
}

int lex_node_new(const lex_node_config_t *cfg, lex_node_t **out)
{
    return lex_node_new_err(cfg, out, NULL, 0);
}

int lex_node_new_err(const lex_node_config_t *cfg, lex_node_t **out, char *err, size_t errlen)
{
    *out = NULL;
    char why[512] = "";
    if (!cfg || !cfg->endpoint || cfg->noris == 0 || !lex_ori_valid(cfg->oris[0]))
        return LEX_EINVAL;
    lex_node_t *n = calloc(1, sizeof *n);
    if (!n)
        return LEX_ENOMEM;
    int rc = LEX_EZMQ;
    lex_buf_init(&n->hello);
    lex_buf_init(&n->scratch);
    n->next_id = 1;
    n->heartbeat_ms = cfg->heartbeat_ms > 0 ? cfg->heartbeat_ms : 1000;
    n->heartbeat_set = cfg->heartbeat_ms > 0;
    strcpy(n->first_ori, cfg->oris[0]);
    n->ctx = cfg->zmq_ctx;
    if (!n->ctx) {
        n->ctx = zmq_ctx_new();
        n->own_ctx = 1;
        if (!n->ctx)
            goto fail;
    }
    n->sock = zmq_socket(n->ctx, ZMQ_DEALER);
    if (!n->sock)
        goto fail;
    int linger = 200, hwm = 200000;
    zmq_setsockopt(n->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(n->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(n->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if ((rc = setup_curve(n, cfg, why, sizeof why)) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s", why);
        else
            fprintf(stderr, "lexnode: %s\n", why);
        goto fail;
    }
    rc = LEX_EZMQ;
    if (zmq_connect(n->sock, cfg->endpoint) != 0) {
        set_error(n, "connect failed: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &n->hello, lex_buf_write);
    msgpack_pack_map(&pk, 4);
    pack_list(&pk, "oris", cfg->oris, cfg->noris);
    pack_list(&pk, "states", cfg->states, cfg->nstates);
    pack_list(&pk, "keys", cfg->keys, cfg->nkeys);
    lex_mp_pack_kv_str(&pk, "role", cfg->role ? cfg->role : "node");
    if (n->hello.failed) {
        rc = LEX_ENOMEM;
        goto fail;
    }
    n->last_heard_us = lex_mono_us();
    if ((rc = send_hello(n)) != 0)
        goto fail;
    *out = n;
    return 0;
fail:
    lex_node_destroy(&n);
    return rc;
}

void lex_node_destroy(lex_node_t **np)
{
    if (!np || !*np)
        return;
    lex_node_t *n = *np;
    if (n->sock) {
        if (n->ready)
            send_session(n, "BYE", NULL, 0, NULL);
        zmq_close(n->sock);
    }
    if (n->body_frame_live)
        zmq_msg_close(&n->body_frame);
    for (size_t i = 0; i < n->nstash; i++)
        free(n->stash[i].body);
    if (n->own_ctx && n->ctx)
        zmq_ctx_term(n->ctx);
    lex_buf_free(&n->hello);
    lex_buf_free(&n->scratch);
    free(n);
    *np = NULL;
}

int lex_node_ready(const lex_node_t *n)
{
    return n->ready;
}

void *lex_node_socket(lex_node_t *n)
{
    return n->sock;
}

const char *lex_node_error(const lex_node_t *n)
{
    return n->error;
}

uint64_t lex_node_bad_frames(const lex_node_t *n)
{
    return n->bad_frames;
}

int lex_node_send(lex_node_t *n, lex_envelope_t *env, const void *body, size_t len)
{
    env->version = LEX_PROTOCOL_VERSION;
    if (env->id == 0)
        env->id = n->next_id++;
    if (env->ts_us == 0)
        env->ts_us = lex_now_us();
    if (!env->src[0])
        strcpy(env->src, n->first_ori);
    return send_frames(n, env, body, len);
}

void lex_node_tick(lex_node_t *n)
{
    uint64_t now = lex_mono_us();
    uint64_t interval = (uint64_t)n->heartbeat_ms * 1000u;
    if (n->refused)
        return;
    if (n->in_use_retry_us && now >= n->in_use_retry_us) {
        /* another connection holds one of our ORIs: the switch lets us in
         * once it has seen that connection go (docs/PROTOCOL.md "Session") */
        n->in_use_retry_us = 0;
        n->last_heard_us = now;
        send_hello(n);
        return;
    }
    if (now - n->last_heard_us > 3 * interval) {
        /* The switch went quiet: it may have restarted and forgotten us. */
        n->last_heard_us = now;
        send_hello(n);
        return;
    }
    if (now - n->last_sent_us >= interval)
        send_session(n, "HB", NULL, 0, NULL);
}

/* Receives one two-frame message into env + n->body_frame. 0, LEX_EAGAIN,
 * or a decode error (the message is consumed). */
static int recv_raw(lex_node_t *n, lex_envelope_t *env, int timeout_ms)
{
    if (timeout_ms != 0) {
        zmq_pollitem_t item = {n->sock, 0, ZMQ_POLLIN, 0};
        int r = zmq_poll(&item, 1, timeout_ms);
        if (r <= 0)
            return LEX_EAGAIN;
    }
    zmq_msg_t env_frame;
    zmq_msg_init(&env_frame);
    if (zmq_msg_recv(&env_frame, n->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&env_frame);
        return LEX_EAGAIN;
    }
    if (n->body_frame_live)
        zmq_msg_close(&n->body_frame);
    zmq_msg_init(&n->body_frame);
    n->body_frame_live = 1;
    int frames = 1;
    if (zmq_msg_more(&env_frame)) {
        zmq_msg_recv(&n->body_frame, n->sock, 0);
        frames++;
        while (zmq_msg_more(&n->body_frame)) { /* extra frames: drain them */
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            zmq_msg_recv(&extra, n->sock, 0);
            int more = zmq_msg_more(&extra);
            zmq_msg_close(&extra);
            frames++;
            if (!more)
                break;
        }
    }
    const char *field;
    int rc = frames == 2 ? lex_envelope_decode(zmq_msg_data(&env_frame), zmq_msg_size(&env_frame),
                                               env, &field)
                         : LEX_EFRAMES;
    zmq_msg_close(&env_frame);
    n->last_heard_us = lex_mono_us();
    if (rc != 0) {
        n->bad_frames++;
        fprintf(stderr, "lexnode: dropped undecodable message from switch: %s\n",
                lex_strerror(rc));
    }
    return rc;
}

/* Takes the heartbeat interval the switch names in its WELCOME (a switch
 * serving many thousands of nodes asks for fewer heartbeats). */
static void adopt_heartbeat(lex_node_t *n)
{
    msgpack_unpacked up;
    if (lex_body_parse(zmq_msg_data(&n->body_frame), zmq_msg_size(&n->body_frame), &up) != 0)
        return;
    uint64_t ms = 0;
    const msgpack_object *v = lex_mp_get(&up.data, "heartbeat_ms");
    if (v && lex_mp_uint(v, &ms) == 0 && ms >= 50 && ms <= 600000)
        n->heartbeat_ms = (int)ms;
    msgpack_unpacked_destroy(&up);
}

/* 1 when the BYE in body_frame says {reason: "key-revoked"}. */
static int bye_revoked(lex_node_t *n)
{
    msgpack_unpacked up;
    if (lex_body_parse(zmq_msg_data(&n->body_frame), zmq_msg_size(&n->body_frame), &up) != 0)
        return 0;
    char reason[32] = "";
    lex_mp_str(lex_mp_get(&up.data, "reason"), reason, sizeof reason);
    msgpack_unpacked_destroy(&up);
    return strcmp(reason, "key-revoked") == 0;
}

/* Handles session traffic. Returns 1 when the message was consumed. */
static int handle_session(lex_node_t *n, const lex_envelope_t *env)
{
    if (strcmp(env->key, "WELCOME") == 0) {
        n->ready = 1;
        n->refused = 0;
        n->in_use_retry_us = n->in_use_backoff_us = 0;
        n->in_use = 0;
        n->in_use_tries = 0;
        if (!n->heartbeat_set)
            adopt_heartbeat(n);
        return 1;
    }
    if (strcmp(env->key, "HB") == 0)
        return 1;
    if (strcmp(env->key, "BYE") == 0) {
        n->ready = 0;
        if (bye_revoked(n)) {
            /* the directory no longer binds our key: registering again
             * would be refused, so stop (the ST before it said why) */
            n->refused = 1;
            set_error(n, "%s", "session ended by the switch: this key was revoked (key-revoked)");
        }
        return 1;
    }
    if (strcmp(env->key, "ST") == 0) {
        int code = 0;
        char text[200];
        if (lex_status_parse(zmq_msg_data(&n->body_frame), zmq_msg_size(&n->body_frame), &code,
                             text, sizeof text) != 0)
            return 0;
        if (env->ref == n->hello_id && !n->ready && code == LEX_ST_ORI_IN_USE) {
            /* held by a connection the switch still sees live, perhaps
             * our own previous one: ask again, less often each time */
            n->in_use_tries++;
            uint64_t backoff = n->in_use_backoff_us ? n->in_use_backoff_us : 250000u;
            n->in_use_retry_us = lex_mono_us() + backoff;
            if (n->in_use_tries >= IN_USE_QUICK_TRIES) /* then less often, up to every 5 s */
                n->in_use_backoff_us = backoff * 2 > 5000000u ? 5000000u : backoff * 2;
            n->in_use = 1;
            snprintf(n->error, sizeof n->error, "registration refused: %.150s (ori-in-use)", text);
            return 1;
        }
        if (env->ref == n->hello_id && !n->ready && code != LEX_ST_OK) {
            /* hello-refused, spoofed-ori (an ORI outside this key's
             * binding), bad-body ...: all say the HELLO failed */
            n->refused = 1;
            char why[200];
            snprintf(why, sizeof why, "%.150s (%s)", text, lex_status_name(code));
            set_error(n, "registration refused: %s", why);
            return 1;
        }
        if (code == LEX_ST_NOT_REGISTERED &&
            (n->ready || lex_mono_us() - n->hello_sent_us > (uint64_t)n->heartbeat_ms * 1000u)) {
            /* The switch lost our session (restart): register again, and
             * still hand the status to the application. After a BYE the
             * node is not ready, but a switch that came back answers it
             * like this too: once a heartbeat interval, HELLO again. */
            send_hello(n);
        }
    }
    return 0;
}

int lex_node_recv(lex_node_t *n, lex_message_t *msg, int timeout_ms)
{
    if (n->nstash > 0) {
        /* Hand out stashed messages first; the body moves into a zmq frame
         * so the lifetime rule stays the same. */
        stashed_t s = n->stash[0];
        memmove(&n->stash[0], &n->stash[1], (n->nstash - 1) * sizeof s);
        n->nstash--;
        if (n->body_frame_live)
            zmq_msg_close(&n->body_frame);
        zmq_msg_init_size(&n->body_frame, s.body_len);
        memcpy(zmq_msg_data(&n->body_frame), s.body, s.body_len);
        n->body_frame_live = 1;
        free(s.body);
        msg->env = s.env;
        msg->body = zmq_msg_data(&n->body_frame);
        msg->body_len = s.body_len;
        return 0;
    }
    uint64_t deadline = timeout_ms > 0 ? lex_mono_us() + (uint64_t)timeout_ms * 1000u : 0;
    for (;;) {
        /* heartbeats go out while the application waits, so a node that
         * only sends and receives stays registered */
        lex_node_tick(n);
        int wait = timeout_ms < 0 || timeout_ms > n->heartbeat_ms ? n->heartbeat_ms : timeout_ms;
        if (timeout_ms > 0) {
            uint64_t now = lex_mono_us();
            if (now >= deadline)
                return LEX_EAGAIN;
            int left = (int)((deadline - now + 999) / 1000);
            wait = left < wait ? left : wait;
        }
        int rc = recv_raw(n, &msg->env, wait);
        if (rc == LEX_EAGAIN && timeout_ms == 0)
            return rc;
        if (rc == LEX_EAGAIN)
            continue;
        if (rc != 0)
            continue;
        if (handle_session(n, &msg->env))
            continue;
        msg->body = zmq_msg_data(&n->body_frame);
        msg->body_len = zmq_msg_size(&n->body_frame);
        return 0;
    }
}

int lex_node_wait_ready(lex_node_t *n, int timeout_ms)
{
    uint64_t deadline = lex_mono_us() + (uint64_t)timeout_ms * 1000u;
    while (!n->ready) {
        if (n->refused)
            return LEX_ECLOSED;
        uint64_t now = lex_mono_us();
        if (now >= deadline && n->in_use)
            return LEX_ECLOSED; /* still ori-in-use: the error says so */
        if (now >= deadline) {
            set_error(n, "%s", n->curve ? "no WELCOME from the switch in time (is this node's "
                                          "key bound in the switch's directory, and the "
                                          "switch's key the right one?)"
                                        : "no WELCOME from the switch in time (a switch with "
                                          "CURVE needs --key-file and --switch-key, "
                                          "or LEX_KEY and LEX_SWITCH_KEY)");
            return LEX_ETIMEOUT;
        }
        if (n->in_use_retry_us && now >= n->in_use_retry_us) {
            n->in_use_retry_us = 0;
            send_hello(n);
        }
        int wait = (int)((deadline - now + 999) / 1000);
        if (n->in_use_retry_us) {
            int until_retry = (int)((n->in_use_retry_us - now + 999) / 1000);
            wait = until_retry < wait ? until_retry : wait;
        }
        lex_envelope_t env;
        int rc = recv_raw(n, &env, wait);
        if (rc != 0)
            continue;
        if (handle_session(n, &env))
            continue;
        if (n->nstash < STASH_MAX) {
            stashed_t *s = &n->stash[n->nstash];
            s->body_len = zmq_msg_size(&n->body_frame);
            s->body = malloc(s->body_len ? s->body_len : 1);
            if (!s->body)
                return LEX_ENOMEM;
            memcpy(s->body, zmq_msg_data(&n->body_frame), s->body_len);
            s->env = env;
            n->nstash++;
        } else {
            fprintf(stderr, "lexnode: dropped a message received before registration\n");
        }
    }
    return n->refused ? LEX_ECLOSED : 0;
}
