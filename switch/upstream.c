/* upstream.c: this switch joining another (cfg.upstream). A DEALER link
 * registers like a node, with HELLO naming the destination patterns this
 * switch serves, and keeps itself alive with heartbeats. Once welcomed, the
 * link is one more session to route.c (routing id UPSTREAM_RID): queries
 * from upstream reach local nodes through the usual checks, rules and log,
 * and what no node here serves goes up the link. Session traffic of the
 * link is handled here and never reaches route.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_glob.h"
#include "lex_keys.h"
#include "lex_status.h"
#include "logline.h"
#include "s2s.h"

/* A ROUTER makes 5-byte routing ids and peers may not start one with a
 * zero byte, so this id can belong to no connection. */
static const uint8_t UPSTREAM_RID[] = {0, 'u', 'p', 's', 't', 'r', 'e', 'a', 'm'};

#define RECV_BATCH 1024
#define REFUSED_RETRY_US 10000000u   /* a refused HELLO is tried again this often */

struct lex_upstream {
    void *sock;                /* DEALER connected to cfg.upstream */
    uv_poll_t poll;            /* its ZMQ_FD (edge-triggered) */
    uv_idle_t idle;            /* drains again after a send or a capped batch */
    int handles_live;
    void (*after)(lex_switch_t *);
    lex_buf_t hello;           /* HELLO body, sent again on re-registration */
    lex_buf_t env;             /* scratch envelope */
    char serves[LEX_KEY_PATTERNS_MAX][LEX_ORI_LEN + 1];  /* upstream_serves, parsed */
    size_t nserves;
    uint64_t next_id, hello_id;
    int ready;                 /* WELCOME received and the session exists */
    int refused;               /* the last HELLO was refused */
    int heartbeat_ms;          /* ours, or the upstream's if shorter */
    uint64_t last_sent_us, hello_sent_us;
};

int lex_upstream_is_rid(const uint8_t *rid, size_t rid_len)
{
    return rid_len == sizeof UPSTREAM_RID && memcmp(rid, UPSTREAM_RID, rid_len) == 0;
}

int lex_upstream_may_carry(const lex_switch_t *sw, const char *ori)
{
    const struct lex_upstream *up = sw->upstream;
    for (size_t i = 0; up && i < up->nserves; i++)
        if (lex_glob_match(up->serves[i], ori))
            return 1;
    return 0;
}

session_t *lex_upstream_session(lex_switch_t *sw)
{
    if (!sw->upstream || !sw->upstream->ready)
        return NULL;
    return lex_session_find(sw, UPSTREAM_RID, sizeof UPSTREAM_RID);
}

static void on_idle(uv_idle_t *h);

int lex_upstream_send(lex_switch_t *sw, const void *env, size_t env_len, const void *body,
                      size_t body_len)
{
    struct lex_upstream *up = sw->upstream;
    if (!up) {
        errno = EHOSTUNREACH;
        return -1;
    }
    if (zmq_send(up->sock, env, env_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(up->sock, body, body_len, ZMQ_DONTWAIT) < 0)
        return -1;
    up->last_sent_us = lex_mono_us();
    /* a send can swallow the descriptor's edge: look again from the loop */
    if (up->handles_live)
        uv_idle_start(&up->idle, on_idle);
    return 0;
}

static void send_session(lex_switch_t *sw, const char *key, const void *body, size_t len)
{
    struct lex_upstream *up = sw->upstream;
    lex_envelope_t e;
    lex_envelope_init(&e);
    e.id = up->next_id++;
    strcpy(e.key, key);
    strcpy(e.src, LEX_SWITCH_ORI);
    e.ts_us = lex_now_us();
    if (strcmp(key, "HELLO") == 0) {
        up->hello_id = e.id;
        up->hello_sent_us = lex_mono_us();
    }
    lex_buf_reset(&up->env);
    if (lex_envelope_encode(&e, &up->env) != 0 ||
        lex_upstream_send(sw, up->env.data, up->env.len, body, len) != 0)
        lex_logline_write(LEX_LOG_WARN, "upstream %s: cannot send %s: %s", sw->cfg.upstream, key,
                          zmq_strerror(zmq_errno()));
}

/* The upstream forgot us or went away: what we sent up will not be
 * answered, so those queries get ST node-lost now. */
static void drop_session(lex_switch_t *sw, const char *why)
{
    struct lex_upstream *up = sw->upstream;
    session_t *s = lex_session_find(sw, UPSTREAM_RID, sizeof UPSTREAM_RID);
    if (s) {
        lex_route_fail_flights_of(sw, s);
        lex_session_remove(sw, s);
    }
    if (up->ready)
        lex_logline_write(LEX_LOG_WARN, "upstream %s: %s; registering again", sw->cfg.upstream,
                          why);
    up->ready = 0;
}

static void welcomed(lex_switch_t *sw, const void *body, size_t body_len)
{
    struct lex_upstream *up = sw->upstream;
    msgpack_unpacked m;
    uint64_t hb = 0;
    if (lex_body_parse(body, body_len, &m) == 0) {
        lex_mp_uint(lex_mp_get(&m.data, "heartbeat_ms"), &hb);
        msgpack_unpacked_destroy(&m);
    }
    up->heartbeat_ms = sw->cfg.heartbeat_ms;
    if (hb >= 10 && hb < (uint64_t)up->heartbeat_ms)
        up->heartbeat_ms = (int)hb;
    session_t *s = lex_session_find(sw, UPSTREAM_RID, sizeof UPSTREAM_RID);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || lex_table_put(sw->sessions_by_rid, UPSTREAM_RID, sizeof UPSTREAM_RID, s) != 0) {
            free(s);
            lex_logline_write(LEX_LOG_ERROR, "upstream %s: out of memory", sw->cfg.upstream);
            return;
        }
        memcpy(s->rid, UPSTREAM_RID, sizeof UPSTREAM_RID);
        s->rid_len = sizeof UPSTREAM_RID;
        s->conn_fd = -1; /* not a ROUTER connection */
        for (size_t i = 0; i < s->rid_len; i++)
            snprintf(s->conn + 2 * i, 3, "%02x", s->rid[i]);
        strcpy(s->role, "upstream");
        s->peer = LEX_PEER_UPSTREAM;
    }
    s->last_heard_us = lex_mono_us();
    if (!up->ready)
        lex_logline_write(LEX_LOG_INFO, "joined upstream %s (serving %s)", sw->cfg.upstream,
                          sw->cfg.upstream_serves);
    up->ready = 1;
    up->refused = 0;
}

/* Session traffic of the link; 1 when the message was consumed here. */
static int handle_session(lex_switch_t *sw, const lex_envelope_t *e, const void *body,
                          size_t body_len)
{
    struct lex_upstream *up = sw->upstream;
    if (strcmp(e->key, "WELCOME") == 0) {
        welcomed(sw, body, body_len);
        return 1;
    }
    if (strcmp(e->key, "HB") == 0)
        return 1;
    if (strcmp(e->key, "BYE") == 0) {
        drop_session(sw, "the upstream switch is stopping");
        return 1;
    }
    if (strcmp(e->key, "HELLO") == 0) {
        lex_logline_write(LEX_LOG_WARN, "upstream %s sent HELLO: ignored", sw->cfg.upstream);
        return 1;
    }
    if (strcmp(e->key, "ST") != 0)
        return 0;
    int code = -1;
    char text[200] = "";
    lex_status_parse(body, body_len, &code, text, sizeof text);
    if (!up->ready && e->ref == up->hello_id && code != LEX_ST_OK) {
        if (!up->refused)
            lex_logline_write(LEX_LOG_ERROR, "upstream %s REFUSED this switch: %s (%s); trying "
                              "again every %u s", sw->cfg.upstream, text, lex_status_name(code),
                              REFUSED_RETRY_US / 1000000u);
        up->refused = 1;
        return 1;
    }
    if (code == LEX_ST_NOT_REGISTERED) {
        /* the upstream restarted and lost our session */
        drop_session(sw, "the upstream switch does not know this switch");
        send_session(sw, "HELLO", up->hello.data, up->hello.len);
        return 1;
    }
    return 0;
}

/* Receives one message from the link; 0 when one was handled, else LEX_EAGAIN. */
static int recv_one(lex_switch_t *sw)
{
    struct lex_upstream *up = sw->upstream;
    zmq_msg_t f1, f2;
    zmq_msg_init(&f1);
    if (zmq_msg_recv(&f1, up->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&f1);
        return LEX_EAGAIN;
    }
    zmq_msg_init(&f2);
    int frames = 1, more = zmq_msg_more(&f1);
    while (more) {
        zmq_msg_t extra, *into = frames == 1 ? &f2 : &extra;
        if (into == &extra)
            zmq_msg_init(&extra);
        int got = zmq_msg_recv(into, up->sock, 0);
        more = got >= 0 && zmq_msg_more(into);
        if (into == &extra)
            zmq_msg_close(&extra);
        if (got < 0)
            break;
        frames++;
    }
    session_t *s = lex_session_find(sw, UPSTREAM_RID, sizeof UPSTREAM_RID);
    if (s)
        s->last_heard_us = lex_mono_us();
    lex_envelope_t e;
    if (lex_envelope_decode(zmq_msg_data(&f1), zmq_msg_size(&f1), &e, NULL) == 0 &&
        handle_session(sw, &e, zmq_msg_data(&f2), zmq_msg_size(&f2))) {
        /* consumed */
    } else if (s && up->ready) {
        sw->pass_us = lex_mono_us();
        lex_route_message(sw, UPSTREAM_RID, sizeof UPSTREAM_RID, "", frames, zmq_msg_data(&f1),
                          zmq_msg_size(&f1), zmq_msg_data(&f2), zmq_msg_size(&f2));
    } else {
        lex_logline_write(LEX_LOG_WARN, "upstream %s: message before WELCOME dropped",
                          sw->cfg.upstream);
    }
    zmq_msg_close(&f2);
    zmq_msg_close(&f1);
    return 0;
}

/* Drains the link; 1 when it stopped at the batch cap with more waiting. */
static int drain(lex_switch_t *sw)
{
    for (int i = 0; i < RECV_BATCH; i++)
        if (recv_one(sw) != 0)
            return 0;
    return 1;
}

static void pump(lex_switch_t *sw)
{
    struct lex_upstream *up = sw->upstream;
    int more = drain(sw);
    up->after(sw);
    if (more && up->handles_live)
        uv_idle_start(&up->idle, on_idle);
}

static void on_idle(uv_idle_t *h)
{
    lex_switch_t *sw = h->data;
    uv_idle_stop(h);
    pump(sw);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    pump(h->data);
}

void lex_upstream_tick(lex_switch_t *sw, uint64_t now_us)
{
    struct lex_upstream *up = sw->upstream;
    if (!up)
        return;
    if (up->ready && !lex_session_find(sw, UPSTREAM_RID, sizeof UPSTREAM_RID)) {
        /* route.c dropped the link's session: the upstream went silent */
        up->ready = 0;
        lex_logline_write(LEX_LOG_WARN, "upstream %s silent: registering again",
                          sw->cfg.upstream);
    }
    uint64_t hb_us = (uint64_t)up->heartbeat_ms * 1000u;
    if (!up->ready && !sw->draining) {
        uint64_t retry = up->refused ? REFUSED_RETRY_US : 3 * hb_us;
        if (now_us - up->hello_sent_us >= retry)
            send_session(sw, "HELLO", up->hello.data, up->hello.len);
    } else if (up->ready && now_us - up->last_sent_us >= hb_us) {
        send_session(sw, "HB", NULL, 0);
    }
    pump(sw);
}

/* CURVE for the link: this switch's key (upstream_key, else curve_key) and
 * the upstream's public key. Without upstream_switch_key the link is plain,
 * which only a dev_plain switch may use. */
static int setup_curve(lex_switch_t *sw, char *err, size_t errlen)
{
    const lex_switch_config_t *cfg = &sw->cfg;
    if (!cfg->upstream_switch_key[0]) {
        if (cfg->dev_plain)
            return 0;
        snprintf(err, errlen, "upstream %s needs upstream_switch_key (the upstream switch's "
                              "public key) unless dev_plain is set", cfg->upstream);
        return LEX_EINVAL;
    }
    const char *mine_path = cfg->upstream_key[0] ? cfg->upstream_key : cfg->curve_key;
    if (!mine_path[0]) {
        snprintf(err, errlen, "upstream %s: set upstream_key (this switch's key bound in the "
                              "upstream's directory) or curve_key", cfg->upstream);
        return LEX_EINVAL;
    }
    lex_keypair_t mine, theirs;
    char why[600];
    int rc = lex_keyfile_load(mine_path, &mine, why, sizeof why);
    if (rc == 0 && !mine.secret_z85[0]) {
        snprintf(why, sizeof why, "%s holds no secret key", mine_path);
        rc = LEX_EINVAL;
    }
    if (rc == 0)
        rc = lex_keyfile_load(cfg->upstream_switch_key, &theirs, why, sizeof why);
    if (rc != 0) {
        memset(&mine, 0, sizeof mine);
        snprintf(err, errlen, "upstream key: %s", why);
        return LEX_EINVAL;
    }
    struct lex_upstream *up = sw->upstream;
    if (zmq_setsockopt(up->sock, ZMQ_CURVE_SERVERKEY, theirs.public_z85, LEX_Z85_KEY_LEN + 1) ||
        zmq_setsockopt(up->sock, ZMQ_CURVE_PUBLICKEY, mine.public_z85, LEX_Z85_KEY_LEN + 1) ||
        zmq_setsockopt(up->sock, ZMQ_CURVE_SECRETKEY, mine.secret_z85, LEX_Z85_KEY_LEN + 1)) {
        snprintf(err, errlen, "upstream: cannot set CURVE keys: %s", zmq_strerror(zmq_errno()));
        rc = LEX_EZMQ;
    }
    memset(&mine, 0, sizeof mine);
    return rc;
}

/* HELLO body: no ORIs of its own, the patterns it serves, role "switch". */
static int build_hello(lex_switch_t *sw, char *err, size_t errlen)
{
    struct lex_upstream *up = sw->upstream;
    char list[LEX_PATH_MAX];
    snprintf(list, sizeof list, "%s", sw->cfg.upstream_serves);
    const char *patterns[LEX_KEY_PATTERNS_MAX];
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(list, " ,\t", &save); p;
         p = strtok_r(NULL, " ,\t", &save)) {
        if (!lex_glob_pattern_valid(p) || n == LEX_KEY_PATTERNS_MAX) {
            snprintf(err, errlen, "upstream_serves: '%s' is not a destination pattern (A-Z 0-9 "
                                  "* ?, at most 9 characters, at most %d patterns)",
                     p, LEX_KEY_PATTERNS_MAX);
            return LEX_EINVAL;
        }
        patterns[n++] = p;
        snprintf(up->serves[up->nserves++], LEX_ORI_LEN + 1, "%s", p);
    }
    if (n == 0) {
        snprintf(err, errlen, "upstream is set but upstream_serves names no destination "
                              "pattern (e.g. 'NV*')");
        return LEX_EINVAL;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &up->hello, lex_buf_write);
    msgpack_pack_map(&pk, 5);
    lex_mp_pack_str(&pk, "oris");
    msgpack_pack_array(&pk, 0);
    lex_mp_pack_str(&pk, "states");
    msgpack_pack_array(&pk, 0);
    lex_mp_pack_str(&pk, "keys");
    msgpack_pack_array(&pk, 0);
    lex_mp_pack_kv_str(&pk, "role", "switch");
    lex_mp_pack_str(&pk, "serves");
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++)
        lex_mp_pack_str(&pk, patterns[i]);
    return up->hello.failed ? LEX_ENOMEM : 0;
}

int lex_upstream_open(lex_switch_t *sw, void (*after)(lex_switch_t *), char *err, size_t errlen)
{
    if (!sw->cfg.upstream[0])
        return 0;
    struct lex_upstream *up = calloc(1, sizeof *up);
    if (!up)
        return LEX_ENOMEM;
    sw->upstream = up;
    up->after = after;
    up->next_id = 1;
    up->heartbeat_ms = sw->cfg.heartbeat_ms;
    lex_buf_init(&up->hello);
    lex_buf_init(&up->env);
    int rc = build_hello(sw, err, errlen);
    if (rc != 0)
        return rc;
    up->sock = zmq_socket(sw->zctx, ZMQ_DEALER);
    if (!up->sock) {
        snprintf(err, errlen, "upstream: cannot create socket: %s", zmq_strerror(zmq_errno()));
        return LEX_EZMQ;
    }
    int linger = 1000, hwm = 500000;
    zmq_setsockopt(up->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(up->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(up->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if ((rc = setup_curve(sw, err, errlen)) != 0)
        return rc;
    if (zmq_connect(up->sock, sw->cfg.upstream) != 0) {
        snprintf(err, errlen, "upstream: cannot connect to %s: %s", sw->cfg.upstream,
                 zmq_strerror(zmq_errno()));
        return LEX_EZMQ;
    }
    int fd;
    size_t fdsize = sizeof fd;
    if (zmq_getsockopt(up->sock, ZMQ_FD, &fd, &fdsize) != 0 ||
        uv_poll_init(&sw->loop, &up->poll, fd) != 0) {
        snprintf(err, errlen, "upstream: cannot watch the link's socket");
        return LEX_EUV;
    }
    uv_idle_init(&sw->loop, &up->idle);
    up->poll.data = up->idle.data = sw;
    up->handles_live = 1;
    uv_poll_start(&up->poll, UV_READABLE, on_readable);
    send_session(sw, "HELLO", up->hello.data, up->hello.len);
    lex_logline_write(LEX_LOG_INFO, "joining upstream %s (serving %s%s)", sw->cfg.upstream,
                      sw->cfg.upstream_serves, sw->cfg.upstream_switch_key[0] ? ", CURVE" : "");
    return 0;
}

void lex_upstream_close(lex_switch_t *sw)
{
    struct lex_upstream *up = sw->upstream;
    if (!up || !up->handles_live)
        return;
    if (up->ready)
        send_session(sw, "BYE", NULL, 0);
    up->ready = 0;
    up->handles_live = 0;
    uv_close((uv_handle_t *)&up->poll, NULL);
    uv_close((uv_handle_t *)&up->idle, NULL);
}

void lex_upstream_destroy(lex_switch_t *sw)
{
    struct lex_upstream *up = sw->upstream;
    if (!up)
        return;
    if (up->sock)
        zmq_close(up->sock);
    lex_buf_free(&up->hello);
    lex_buf_free(&up->env);
    free(up);
    sw->upstream = NULL;
}
