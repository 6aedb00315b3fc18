/* test_conformance.c: docs/PROTOCOL.md checked against the real switch by
 * a client written only with libzmq and msgpack-c calls, as any endpoint in
 * another language would be: no libnode, no schemas codec. It plays a
 * state responder and an agency: handshake, a query routed and answered,
 * heartbeats both ways, statuses for bad frames, unknown destinations and
 * spoofed ORIs, and BYE. The harness only starts and stops the switch;
 * tests/helpers/rawwire.c packs envelopes with msgpack-c calls too. */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zmq.h>
#include "harness.h"
#include "rawwire.h"

#define RESPONDER "NVDMV0000"
#define HB_MS 200          /* the harness's --heartbeat-ms */
#define DEAD_MS 1000       /* the harness's --dead-after-ms */

typedef struct {
    void *ctx;
    void *sock;
    uint64_t next_id;
} peer_t;

/* One received message, decoded by hand from the two frames. */
typedef struct {
    int nframes;
    char k[16], src[16], ctl[40], pur[16], dst[4][16];
    unsigned ndst;
    uint64_t v, id, ref, ts, hop;
    int has_v, has_id, has_ts, has_pur, has_hop;
    msgpack_unpacked body;
    int body_ok;
    char raw_env[2048], raw_body[4096];   /* the frames as they came */
    size_t raw_env_len, raw_body_len;
} wire_t;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void peer_open(peer_t *p, const char *endpoint)
{
    p->ctx = zmq_ctx_new();
    p->sock = zmq_socket(p->ctx, ZMQ_DEALER);
    cr_assert_not_null(p->sock);
    int linger = 0;
    zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof linger);
    cr_assert_eq(zmq_connect(p->sock, endpoint), 0);
    p->next_id = 1;
}

static void peer_close(peer_t *p)
{
    zmq_close(p->sock);
    zmq_ctx_term(p->ctx);
}

/* Sends frames as given (n of them); returns after queueing. */
static void send_frames(peer_t *p, const msgpack_sbuffer *const *frames, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_geq(zmq_send(p->sock, frames[i]->data, frames[i]->size,
                               i + 1 < n ? ZMQ_SNDMORE : 0), 0);
}

/* Envelope {v, id, k, src, dst?, ctl?, pur?, ref?, ts} and body; dst may
 * be a comma list; returns the id. */
static uint64_t send_msg_pur(peer_t *p, const char *key, const char *src, const char *dst,
                             const char *ctl, const char *pur, uint64_t ref,
                             const msgpack_sbuffer *body)
{
    msgpack_sbuffer env;
    msgpack_sbuffer_init(&env);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &env, msgpack_sbuffer_write);
    uint64_t id = p->next_id++;
    lex_raw_pack_head(&pk, 1 + (dst != NULL) + (ctl != NULL) + (pur != NULL) + (ref != 0), id, key,
                      src);
    if (dst) {
        char list[128];
        snprintf(list, sizeof list, "%s", dst);
        unsigned n = 1;
        for (const char *c = list; *c; c++)
            n += *c == ',';
        lex_raw_pack_str(&pk, "dst");
        msgpack_pack_array(&pk, n);
        char *save = NULL;
        for (char *d = strtok_r(list, ",", &save); d; d = strtok_r(NULL, ",", &save))
            lex_raw_pack_str(&pk, d);
    }
    if (ctl) {
        lex_raw_pack_str(&pk, "ctl");
        lex_raw_pack_str(&pk, ctl);
    }
    if (pur) {
        lex_raw_pack_str(&pk, "pur");
        lex_raw_pack_str(&pk, pur);
    }
    if (ref) {
        lex_raw_pack_str(&pk, "ref");
        msgpack_pack_uint64(&pk, ref);
    }
    lex_raw_pack_str(&pk, "ts");
    msgpack_pack_uint64(&pk, (uint64_t)time(NULL) * 1000000u);
    msgpack_sbuffer empty = {0};
    const msgpack_sbuffer *frames[2] = {&env, body ? body : &empty};
    send_frames(p, frames, 2);
    msgpack_sbuffer_destroy(&env);
    return id;
}

static uint64_t send_msg(peer_t *p, const char *key, const char *src, const char *dst,
                         const char *ctl, uint64_t ref, const msgpack_sbuffer *body)
{
    return send_msg_pur(p, key, src, dst, ctl, NULL, ref, body);
}

static const msgpack_object *map_get(const msgpack_object *map, const char *name)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(name) &&
            memcmp(k->via.str.ptr, name, k->via.str.size) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static void copy_str(const msgpack_object *o, char *out, size_t size)
{
    out[0] = 0;
    if (o && o->type == MSGPACK_OBJECT_STR && o->via.str.size < size) {
        memcpy(out, o->via.str.ptr, o->via.str.size);
        out[o->via.str.size] = 0;
    }
}

static int get_uint(const msgpack_object *map, const char *name, uint64_t *v)
{
    const msgpack_object *o = map_get(map, name);
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return 0;
    *v = o->via.u64;
    return 1;
}

static void wire_done(wire_t *m)
{
    if (m->body_ok)
        msgpack_unpacked_destroy(&m->body);
    m->body_ok = 0;
}

/* Receives one message within timeout_ms; 0 or -1 when none came. */
static int recv_wire(peer_t *p, wire_t *m, int timeout_ms)
{
    memset(m, 0, sizeof *m);
    zmq_pollitem_t item = {p->sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return -1;
    zmq_msg_t frame[4];
    int more = 1;
    while (more) {
        zmq_msg_t *f = &frame[m->nframes < 4 ? m->nframes : 3];
        if (m->nframes >= 4)
            zmq_msg_close(f);
        zmq_msg_init(f);
        cr_assert_geq(zmq_msg_recv(f, p->sock, 0), 0);
        more = zmq_msg_more(f);
        m->nframes++;
    }
    cr_assert_eq(m->nframes, 2, "the switch sent %d frames; the protocol says 2", m->nframes);
    msgpack_unpacked env;
    msgpack_unpacked_init(&env);
    size_t off = 0;
    cr_assert_eq(msgpack_unpack_next(&env, zmq_msg_data(&frame[0]), zmq_msg_size(&frame[0]), &off),
                 MSGPACK_UNPACK_SUCCESS, "envelope is not msgpack");
    cr_assert_eq(off, zmq_msg_size(&frame[0]), "envelope has trailing bytes");
    const msgpack_object *e = &env.data;
    cr_assert_eq(e->type, MSGPACK_OBJECT_MAP, "envelope is not a map");
    m->has_v = get_uint(e, "v", &m->v);
    m->has_id = get_uint(e, "id", &m->id);
    m->has_ts = get_uint(e, "ts", &m->ts);
    m->has_hop = get_uint(e, "hop", &m->hop);
    get_uint(e, "ref", &m->ref);
    m->has_pur = map_get(e, "pur") != NULL;
    copy_str(map_get(e, "pur"), m->pur, sizeof m->pur);
    copy_str(map_get(e, "k"), m->k, sizeof m->k);
    copy_str(map_get(e, "src"), m->src, sizeof m->src);
    copy_str(map_get(e, "ctl"), m->ctl, sizeof m->ctl);
    const msgpack_object *dst = map_get(e, "dst");
    if (dst) {
        cr_assert_eq(dst->type, MSGPACK_OBJECT_ARRAY, "dst is not an array");
        for (uint32_t i = 0; i < dst->via.array.size && i < 4; i++)
            copy_str(&dst->via.array.ptr[i], m->dst[m->ndst++], sizeof m->dst[0]);
    }
    msgpack_unpacked_destroy(&env);
    m->raw_env_len = zmq_msg_size(&frame[0]) < sizeof m->raw_env ? zmq_msg_size(&frame[0]) : 0;
    memcpy(m->raw_env, zmq_msg_data(&frame[0]), m->raw_env_len);
    /* the body is read from a copy kept in m: msgpack-c's strings point
     * into the bytes they were unpacked from, and the frame is closed below */
    cr_assert_lt(zmq_msg_size(&frame[1]), sizeof m->raw_body, "a body too big for this test");
    m->raw_body_len = zmq_msg_size(&frame[1]);
    memcpy(m->raw_body, zmq_msg_data(&frame[1]), m->raw_body_len);
    msgpack_unpacked_init(&m->body);
    if (m->raw_body_len == 0) {
        msgpack_unpacked_destroy(&m->body);   /* an empty frame is an empty map */
    } else {
        off = 0;
        cr_assert_eq(msgpack_unpack_next(&m->body, m->raw_body, m->raw_body_len, &off),
                     MSGPACK_UNPACK_SUCCESS, "body is not msgpack");
        cr_assert_eq(m->body.data.type, MSGPACK_OBJECT_MAP, "body is not a map");
        m->body_ok = 1;
    }
    zmq_msg_close(&frame[0]);
    zmq_msg_close(&frame[1]);
    cr_assert(m->has_v && m->v == 1 && m->has_id && m->has_ts && m->k[0] && m->src[0],
              "envelope lacks a required field (v=1, id, k, src, ts)");
    return 0;
}

/* Next message with key k (heartbeats and others are skipped). */
static int recv_key(peer_t *p, const char *k, wire_t *m, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline || recv_wire(p, m, (int)(deadline - now)) != 0)
            return -1;
        if (strcmp(m->k, k) == 0)
            return 0;
        wire_done(m);
    }
}

static int64_t body_int(const wire_t *m, const char *name)
{
    const msgpack_object *o = m->body_ok ? map_get(&m->body.data, name) : NULL;
    cr_assert(o && (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                    o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER),
              "%s body has no integer %s", m->k, name);
    return o->via.i64;
}

static void body_str(const wire_t *m, const char *name, char *out, size_t size)
{
    copy_str(m->body_ok ? map_get(&m->body.data, name) : NULL, out, size);
}

/* The ST answering ref: its code; fails the test when none comes. */
static int expect_status(peer_t *p, uint64_t ref, int timeout_ms, char *text, size_t textlen)
{
    wire_t m;
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = now_ms();
        cr_assert(now < deadline && recv_key(p, "ST", &m, (int)(deadline - now)) == 0,
                  "no ST answering message %llu", (unsigned long long)ref);
        if (m.ref == ref)
            break;
        wire_done(&m);
    }
    int code = (int)body_int(&m, "code");
    char name[40];
    body_str(&m, "name", name, sizeof name);
    cr_assert(name[0], "ST body without a name");
    if (text)
        body_str(&m, "text", text, textlen);
    wire_done(&m);
    return code;
}

/* HELLO {oris, states, keys, role} and its WELCOME; returns the heartbeat. */
static int64_t hello(peer_t *p, const char *ori, const char *state, const char *key)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    lex_raw_pack_str(&pk, "oris");
    msgpack_pack_array(&pk, 1);
    lex_raw_pack_str(&pk, ori);
    lex_raw_pack_str(&pk, "states");
    msgpack_pack_array(&pk, state ? 1 : 0);
    if (state)
        lex_raw_pack_str(&pk, state);
    lex_raw_pack_str(&pk, "keys");
    msgpack_pack_array(&pk, key ? 1 : 0);
    if (key)
        lex_raw_pack_str(&pk, key);
    lex_raw_pack_str(&pk, "role");
    lex_raw_pack_str(&pk, state ? "state" : "agency");
    uint64_t id = send_msg(p, "HELLO", ori, NULL, NULL, 0, &b);
    msgpack_sbuffer_destroy(&b);
    wire_t w;
    cr_assert_eq(recv_key(p, "WELCOME", &w, 5000), 0, "no WELCOME for %s", ori);
    cr_assert_eq(w.ref, id, "WELCOME's ref is not the HELLO's id");
    cr_assert_str_eq(w.src, "LEXSWITCH");
    char session[40];
    body_str(&w, "session", session, sizeof session);
    cr_assert(session[0], "WELCOME without a session");
    int64_t hb = body_int(&w, "heartbeat_ms");
    wire_done(&w);
    return hb;
}

static msgpack_sbuffer dq_by_licence(const char *lic)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    lex_raw_pack_str(&pk, "lic");
    lex_raw_pack_str(&pk, lic);
    return b;
}

static lex_test_switch_t sw;
static peer_t state_peer, agency_peer;
static char agency[16];

static void setup(void)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_start(&sw, NULL);
    snprintf(agency, sizeof agency, "%s", lex_test_ori_of(&sw, "PD", "CA"));
    peer_open(&state_peer, sw.endpoint);
    peer_open(&agency_peer, sw.endpoint);
}

static void teardown(void)
{
    peer_close(&state_peer);
    peer_close(&agency_peer);
    lex_test_switch_cleanup(&sw);
}

TestSuite(conformance, .init = setup, .fini = teardown, .timeout = 60);

Test(conformance, hello_gets_welcome_naming_the_heartbeat)
{
    cr_assert_eq(hello(&state_peer, RESPONDER, "NV", "DQ"), HB_MS);
    cr_assert_eq(hello(&agency_peer, agency, NULL, NULL), HB_MS);
}

Test(conformance, query_is_routed_to_the_state_and_the_answer_comes_back)
{
    hello(&state_peer, RESPONDER, "NV", "DQ");
    hello(&agency_peer, agency, NULL, NULL);
    msgpack_sbuffer q = dq_by_licence("N1234567");
    uint64_t qid = send_msg(&agency_peer, "DQ", agency, "NV", "case-42", 0, &q);
    msgpack_sbuffer_destroy(&q);

    wire_t in;
    cr_assert_eq(recv_key(&state_peer, "DQ", &in, 5000), 0, "the responder got no DQ");
    cr_assert_str_eq(in.src, agency, "the copy names the requester as src");
    cr_assert_eq(in.ndst, 1);
    cr_assert_str_eq(in.dst[0], "NV");
    cr_assert_str_eq(in.ctl, "case-42");
    cr_assert_eq(in.ref, 0, "a forwarded query carries no ref");
    char lic[32];
    body_str(&in, "lic", lic, sizeof lic);
    cr_assert_str_eq(lic, "N1234567", "the body arrives as sent");
    uint64_t flight = in.id;
    wire_done(&in);

    msgpack_sbuffer r;
    msgpack_sbuffer_init(&r);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &r, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    lex_raw_pack_str(&pk, "records");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    lex_raw_pack_str(&pk, "lic");
    lex_raw_pack_str(&pk, "N1234567");
    lex_raw_pack_str(&pk, "name");
    lex_raw_pack_str(&pk, "DOE,JANE");
    lex_raw_pack_str(&pk, "count");
    msgpack_pack_uint64(&pk, 1);
    send_msg(&state_peer, "DR", RESPONDER, agency, NULL, flight, &r);
    msgpack_sbuffer_destroy(&r);

    wire_t ans;
    cr_assert_eq(recv_key(&agency_peer, "DR", &ans, 5000), 0, "the agency got no DR");
    cr_assert_eq(ans.ref, qid, "the answer's ref is the agency's own query id");
    cr_assert_str_eq(ans.ctl, "case-42", "ctl is echoed");
    cr_assert_str_eq(ans.src, RESPONDER);
    cr_assert_eq(body_int(&ans, "count"), 1);
    wire_done(&ans);

    /* a second answer to the same flight answers no open query */
    msgpack_sbuffer st;
    msgpack_sbuffer_init(&st);
    msgpack_packer_init(&pk, &st, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    lex_raw_pack_str(&pk, "code");
    msgpack_pack_uint64(&pk, 2);
    lex_raw_pack_str(&pk, "name");
    lex_raw_pack_str(&pk, "no-record");
    lex_raw_pack_str(&pk, "text");
    lex_raw_pack_str(&pk, "no record");
    send_msg(&state_peer, "ST", RESPONDER, agency, NULL, flight, &st);
    msgpack_sbuffer_destroy(&st);
    cr_assert_eq(expect_status(&state_peer, state_peer.next_id - 1, 5000, NULL, 0),
                 28 /* unsolicited-response */);
}

Test(conformance, switch_sends_heartbeats_and_a_node_that_sends_them_stays)
{
    hello(&state_peer, RESPONDER, "NV", "DQ");
    hello(&agency_peer, agency, NULL, NULL);
    wire_t hb;
    cr_assert_eq(recv_key(&state_peer, "HB", &hb, 5 * HB_MS), 0, "no HB from the switch");
    cr_assert_str_eq(hb.src, "LEXSWITCH");
    cr_assert(!hb.body_ok, "HB's body is empty");
    wire_done(&hb);
    /* twice the dead-after time, heartbeating: still registered */
    uint64_t until = now_ms() + 2 * DEAD_MS;
    while (now_ms() < until) {
        send_msg(&state_peer, "HB", RESPONDER, NULL, NULL, 0, NULL);
        send_msg(&agency_peer, "HB", agency, NULL, NULL, 0, NULL);
        wire_t m;
        if (recv_wire(&state_peer, &m, HB_MS) == 0) {
            cr_assert_str_neq(m.k, "ST", "a heartbeat was answered with a status");
            wire_done(&m);
        }
    }
    msgpack_sbuffer q = dq_by_licence("N1");
    send_msg(&agency_peer, "DQ", agency, "NV", NULL, 0, &q);
    msgpack_sbuffer_destroy(&q);
    wire_t in;
    cr_assert_eq(recv_key(&state_peer, "DQ", &in, 5000), 0, "a heartbeating responder was dropped");
    wire_done(&in);
}

Test(conformance, silent_node_is_dropped_and_must_register_again)
{
    hello(&state_peer, RESPONDER, "NV", "DQ");
    hello(&agency_peer, agency, NULL, NULL);
    /* the responder says nothing; the agency heartbeats and asks until the
     * switch reports that nobody serves NV any more */
    uint64_t deadline = now_ms() + 10 * DEAD_MS;
    int code = -1;
    while (code != 11 && now_ms() < deadline) {
        msgpack_sbuffer q = dq_by_licence("N1");
        uint64_t id = send_msg(&agency_peer, "DQ", agency, "NV", NULL, 0, &q);
        msgpack_sbuffer_destroy(&q);
        wire_t m;
        while (recv_wire(&agency_peer, &m, HB_MS) == 0) {
            int done = strcmp(m.k, "ST") == 0 && m.ref == id;
            if (done)
                code = (int)body_int(&m, "code");
            wire_done(&m);
            if (done)
                break;
        }
    }
    cr_assert_eq(code, 11, "the silent responder was not dropped (no-route)");
    uint64_t hb = send_msg(&state_peer, "HB", RESPONDER, NULL, NULL, 0, NULL);
    cr_assert_eq(expect_status(&state_peer, hb, 5000, NULL, 0), 27 /* not-registered */);
    cr_assert_eq(hello(&state_peer, RESPONDER, "NV", "DQ"), HB_MS, "HELLO again works");
}

Test(conformance, bad_frames_get_bad_frame_status)
{
    hello(&agency_peer, agency, NULL, NULL);
    msgpack_sbuffer one = {0}, junk = {0};
    char garbage[] = {(char)0xc1, 0x00};   /* 0xc1 is never used in msgpack */
    junk.data = garbage;
    junk.size = sizeof garbage;
    const msgpack_sbuffer *single[] = {&one};
    const msgpack_sbuffer *three[] = {&one, &one, &one};
    const msgpack_sbuffer *notmsgpack[] = {&junk, &one};
    const msgpack_sbuffer *const *cases[] = {single, three, notmsgpack};
    int counts[] = {1, 3, 2};
    for (int i = 0; i < 3; i++) {
        send_frames(&agency_peer, cases[i], counts[i]);
        char text[300];
        cr_assert_eq(expect_status(&agency_peer, 0, 5000, text, sizeof text), 20,
                     "case %d: not bad-frame", i);
        cr_assert(text[0], "a bad-frame status explains itself");
    }
}

Test(conformance, unknown_destinations_are_refused_with_their_status)
{
    hello(&agency_peer, agency, NULL, NULL);
    msgpack_sbuffer q = dq_by_licence("N1");
    uint64_t id = send_msg(&agency_peer, "DQ", agency, "ZZ9999999", NULL, 0, &q);
    cr_assert_eq(expect_status(&agency_peer, id, 5000, NULL, 0), 12 /* unknown-destination */);
    id = send_msg(&agency_peer, "DQ", agency, "NV", NULL, 0, &q);
    cr_assert_eq(expect_status(&agency_peer, id, 5000, NULL, 0), 11 /* no-route */);
    id = send_msg(&agency_peer, "DQ", agency, "zz", NULL, 0, &q);
    cr_assert_eq(expect_status(&agency_peer, id, 5000, NULL, 0), 21 /* bad-envelope */);
    msgpack_sbuffer_destroy(&q);
}

Test(conformance, spoofed_source_ori_is_refused)
{
    hello(&state_peer, RESPONDER, "NV", "DQ");
    hello(&agency_peer, agency, NULL, NULL);
    const char *other = lex_test_ori_of(&sw, "SO", "TX");
    msgpack_sbuffer q = dq_by_licence("N1");
    uint64_t id = send_msg(&agency_peer, "DQ", other, "NV", NULL, 0, &q);
    msgpack_sbuffer_destroy(&q);
    char text[300];
    cr_assert_eq(expect_status(&agency_peer, id, 5000, text, sizeof text), 26 /* spoofed-ori */);
    cr_assert(strstr(text, other), "the status names the ORI: %s", text);
    wire_t m;
    cr_assert_neq(recv_key(&state_peer, "DQ", &m, 3 * HB_MS), 0, "a spoofed query was forwarded");
}

Test(conformance, bye_ends_the_session_and_fails_its_open_queries)
{
    hello(&state_peer, RESPONDER, "NV", "DQ");
    hello(&agency_peer, agency, NULL, NULL);
    msgpack_sbuffer q = dq_by_licence("N1");
    uint64_t id = send_msg(&agency_peer, "DQ", agency, "NV", NULL, 0, &q);
    wire_t in;
    cr_assert_eq(recv_key(&state_peer, "DQ", &in, 5000), 0);
    wire_done(&in);
    send_msg(&state_peer, "BYE", RESPONDER, NULL, NULL, 0, NULL);
    cr_assert_eq(expect_status(&agency_peer, id, 5000, NULL, 0), 13 /* node-lost */);
    id = send_msg(&agency_peer, "DQ", agency, "NV", NULL, 0, &q);
    cr_assert_eq(expect_status(&agency_peer, id, 5000, NULL, 0), 11 /* no-route */);
    msgpack_sbuffer_destroy(&q);
    uint64_t hb = send_msg(&state_peer, "HB", RESPONDER, NULL, NULL, 0, NULL);
    cr_assert_eq(expect_status(&state_peer, hb, 5000, NULL, 0), 27 /* not-registered */);
}

Test(conformance, traffic_before_hello_gets_not_registered)
{
    msgpack_sbuffer q = dq_by_licence("N1");
    uint64_t id = send_msg(&agency_peer, "DQ", agency, "NV", NULL, 0, &q);
    msgpack_sbuffer_destroy(&q);
    cr_assert_eq(expect_status(&agency_peer, id, 5000, NULL, 0), 27);
}

Test(conformance, hello_for_an_ori_outside_the_directory_is_refused)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    lex_raw_pack_str(&pk, "oris");
    msgpack_pack_array(&pk, 1);
    lex_raw_pack_str(&pk, "ZZ9999999");
    uint64_t id = send_msg(&agency_peer, "HELLO", "ZZ9999999", NULL, NULL, 0, &b);
    msgpack_sbuffer_destroy(&b);
    char text[300];
    cr_assert_eq(expect_status(&agency_peer, id, 5000, text, sizeof text), 30 /* hello-refused */);
    cr_assert(strstr(text, "ZZ9999999"), "the refusal names the ORI: %s", text);
}

/* The next ST answering ref, whole (caller: wire_done); fails when none comes. */
static void recv_status(peer_t *p, uint64_t ref, wire_t *m, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = now_ms();
        cr_assert(now < deadline && recv_key(p, "ST", m, (int)(deadline - now)) == 0,
                  "no ST answering message %llu", (unsigned long long)ref);
        if (m->ref == ref)
            return;
        wire_done(m);
    }
}

/* Sends an envelope {v, id, k, src, ts} followed by the extra key/value
 * string pairs as given (a "dst" value is packed as a one-element array),
 * so a test can repeat a field or put any bytes in a string. */
static uint64_t send_env_pairs(peer_t *p, const char *key, const char *src,
                               const char *const *pairs, const msgpack_sbuffer *body)
{
    msgpack_sbuffer env;
    msgpack_sbuffer_init(&env);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &env, msgpack_sbuffer_write);
    uint64_t id = p->next_id++;
    lex_raw_pack_env_pairs(&pk, id, key, src, (uint64_t)time(NULL) * 1000000u, pairs);
    msgpack_sbuffer empty = {0};
    const msgpack_sbuffer *frames[2] = {&env, body ? body : &empty};
    send_frames(p, frames, 2);
    msgpack_sbuffer_destroy(&env);
    return id;
}

/* A body {records: [{name: NAME, name2?...}], count: 1} whose one record
 * holds the given key/value string pairs. */
static msgpack_sbuffer dr_with_record(const char *const *pairs)
{
    size_t n = 0;
    while (pairs[2 * n])
        n++;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    lex_raw_pack_str(&pk, "records");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < n; i++) {
        lex_raw_pack_str(&pk, pairs[2 * i]);
        lex_raw_pack_str(&pk, pairs[2 * i + 1]);
    }
    lex_raw_pack_str(&pk, "count");
    msgpack_pack_uint64(&pk, 1);
    return b;
}

/* The responder answers its next DQ with body; returns what the responder
 * was told (an ST code) or -1 when the answer was taken. */
static int answer_next_query(const msgpack_sbuffer *body, const char *key)
{
    wire_t in;
    cr_assert_eq(recv_key(&state_peer, "DQ", &in, 5000), 0, "the responder got no DQ");
    uint64_t flight = in.id;
    wire_done(&in);
    uint64_t id = send_msg(&state_peer, key, RESPONDER, agency, NULL, flight, body);
    wire_t m;
    uint64_t deadline = now_ms() + 3 * HB_MS;
    while (now_ms() < deadline && recv_wire(&state_peer, &m, HB_MS) == 0) {
        int code = strcmp(m.k, "ST") == 0 && m.ref == id ? (int)body_int(&m, "code") : -1;
        wire_done(&m);
        if (code >= 0)
            return code;
    }
    return -1;
}

Test(conformance, envelope_with_a_field_given_twice_is_refused)
{
    hello(&state_peer, RESPONDER, "NV", "DQ");
    hello(&agency_peer, agency, NULL, NULL);
    msgpack_sbuffer q = dq_by_licence("N1");
    /* two purposes: a first-wins reader and a last-wins one would differ */
    const char *pairs[] = {"dst", "NV", "pur", "C", "pur", "E", NULL};
    uint64_t id = send_env_pairs(&agency_peer, "DQ", agency, pairs, &q);
    char text[300];
    cr_assert_eq(expect_status(&agency_peer, id, 5000, text, sizeof text), 21 /* bad-envelope */);
    cr_assert(strstr(text, "pur") && strstr(text, "twice"), "the status says why: %s", text);
    const char *same[] = {"dst", "NV", "src", agency, NULL};
    id = send_env_pairs(&agency_peer, "DQ", agency, same, &q);
    cr_assert_eq(expect_status(&agency_peer, id, 5000, NULL, 0), 21, "even with equal values");
    msgpack_sbuffer_destroy(&q);
    wire_t m;
    cr_assert_neq(recv_key(&state_peer, "DQ", &m, 3 * HB_MS), 0, "a refused query was forwarded");
}

Test(conformance, envelope_string_that_is_not_utf8_is_refused)
{
    hello(&state_peer, RESPONDER, "NV", "DQ");
    hello(&agency_peer, agency, NULL, NULL);
    msgpack_sbuffer q = dq_by_licence("N1");
    const char *pairs[] = {"dst", "NV", "ctl", "case \xff\xfe", NULL};
    uint64_t id = send_env_pairs(&agency_peer, "DQ", agency, pairs, &q);
    msgpack_sbuffer_destroy(&q);
    char text[300];
    cr_assert_eq(expect_status(&agency_peer, id, 5000, text, sizeof text), 21 /* bad-envelope */);
    cr_assert(strstr(text, "ctl") && strstr(text, "UTF-8"), "the status says why: %s", text);
    wire_t m;
    cr_assert_neq(recv_key(&state_peer, "DQ", &m, 3 * HB_MS), 0, "a refused query was forwarded");
}

Test(conformance, body_with_a_key_given_twice_is_refused_at_any_depth)
{
    hello(&state_peer, RESPONDER, "NV", "DQ");
    hello(&agency_peer, agency, NULL, NULL);
    msgpack_sbuffer q;
    msgpack_sbuffer_init(&q);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &q, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    lex_raw_pack_str(&pk, "lic");
    lex_raw_pack_str(&pk, "N1");
    lex_raw_pack_str(&pk, "lic");
    lex_raw_pack_str(&pk, "N2");
    uint64_t id = send_msg(&agency_peer, "DQ", agency, "NV", NULL, 0, &q);
    msgpack_sbuffer_destroy(&q);
    char text[300];
    cr_assert_eq(expect_status(&agency_peer, id, 5000, text, sizeof text), 22 /* bad-body */);
    cr_assert(strstr(text, "twice"), "%s", text);

    /* inside a record of the answer: the responder is told, the agency
     * never sees the ambiguous record */
    q = dq_by_licence("N1");
    id = send_msg(&agency_peer, "DQ", agency, "NV", NULL, 0, &q);
    msgpack_sbuffer_destroy(&q);
    const char *twice[] = {"name", "DOE,JANE", "name", "ROE,RICHARD", NULL};
    msgpack_sbuffer r = dr_with_record(twice);
    cr_assert_eq(answer_next_query(&r, "DR"), 22, "the responder gets bad-body");
    msgpack_sbuffer_destroy(&r);
    wire_t m;
    cr_assert_neq(recv_key(&agency_peer, "DR", &m, 3 * HB_MS), 0, "the record was forwarded");
}

Test(conformance, body_string_that_is_not_utf8_is_refused_at_any_depth)
{
    hello(&state_peer, RESPONDER, "NV", "DQ");
    hello(&agency_peer, agency, NULL, NULL);
    msgpack_sbuffer q = dq_by_licence("N1\xc3\x28");
    uint64_t id = send_msg(&agency_peer, "DQ", agency, "NV", NULL, 0, &q);
    msgpack_sbuffer_destroy(&q);
    char text[300];
    cr_assert_eq(expect_status(&agency_peer, id, 5000, text, sizeof text), 22 /* bad-body */);
    cr_assert(strstr(text, "lic") && strstr(text, "UTF-8"), "%s", text);

    q = dq_by_licence("N1");
    send_msg(&agency_peer, "DQ", agency, "NV", NULL, 0, &q);
    msgpack_sbuffer_destroy(&q);
    const char *surrogate[] = {"name", "DOE,\xed\xa0\x80", NULL};
    msgpack_sbuffer r = dr_with_record(surrogate);
    cr_assert_eq(answer_next_query(&r, "DR"), 22, "the responder gets bad-body");
    msgpack_sbuffer_destroy(&r);
    wire_t m;
    cr_assert_neq(recv_key(&agency_peer, "DR", &m, 3 * HB_MS), 0, "the record was forwarded");
}

Test(conformance, hello_whose_src_is_not_among_its_oris_is_refused)
{
    const char *other = lex_test_ori_of(&sw, "SO", "TX");
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    lex_raw_pack_oris(&pk, other);
    uint64_t id = send_msg(&agency_peer, "HELLO", agency, NULL, NULL, 0, &b);
    msgpack_sbuffer_destroy(&b);
    char text[300];
    cr_assert_eq(expect_status(&agency_peer, id, 5000, text, sizeof text), 30 /* hello-refused */);
    cr_assert(strstr(text, agency), "the refusal names the src: %s", text);
    /* and nothing was registered */
    msgpack_sbuffer q = dq_by_licence("N1");
    id = send_msg(&agency_peer, "DQ", other, "NV", NULL, 0, &q);
    msgpack_sbuffer_destroy(&q);
    cr_assert_eq(expect_status(&agency_peer, id, 5000, NULL, 0), 27 /* not-registered */);
}

Test(conformance, statuses_the_switch_makes_echo_pur_and_ctl)
{
    hello(&agency_peer, agency, NULL, NULL);
    msgpack_sbuffer q = dq_by_licence("N1");
    uint64_t id = send_msg_pur(&agency_peer, "DQ", agency, "TX", "c-7", "C", 0, &q);
    wire_t m;
    recv_status(&agency_peer, id, &m, 5000);
    cr_assert_eq(body_int(&m, "code"), 11 /* no-route */);
    cr_assert(m.has_pur, "a switch-made status echoes pur");
    cr_assert_str_eq(m.pur, "C");
    cr_assert_str_eq(m.ctl, "c-7");
    wire_done(&m);
    /* a refusal of the whole message too */
    msgpack_sbuffer empty;
    msgpack_sbuffer_init(&empty);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &empty, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 0);
    id = send_msg_pur(&agency_peer, "DQ", agency, "TX", "c-8", "J", 0, &empty);
    msgpack_sbuffer_destroy(&empty);
    recv_status(&agency_peer, id, &m, 5000);
    cr_assert_eq(body_int(&m, "code"), 22 /* bad-body */);
    cr_assert_str_eq(m.pur, "J");
    cr_assert_str_eq(m.ctl, "c-8");
    wire_done(&m);
    msgpack_sbuffer_destroy(&q);
}

Test(conformance, each_status_of_a_fan_out_names_its_destination)
{
    hello(&state_peer, RESPONDER, "NV", "DQ");
    hello(&agency_peer, agency, NULL, NULL);
    msgpack_sbuffer q = dq_by_licence("N1");
    uint64_t id = send_msg_pur(&agency_peer, "DQ", agency, "NV,TX,AZ", NULL, "C", 0, &q);
    msgpack_sbuffer_destroy(&q);
    /* the responder's own miss for NV */
    msgpack_sbuffer st;
    msgpack_sbuffer_init(&st);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &st, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    lex_raw_pack_str(&pk, "code");
    msgpack_pack_uint64(&pk, 2);
    lex_raw_pack_str(&pk, "text");
    lex_raw_pack_str(&pk, "nothing on file for N1");
    cr_assert_eq(answer_next_query(&st, "ST"), -1, "the responder's status was taken");
    msgpack_sbuffer_destroy(&st);
    int seen_nv = 0, seen_tx = 0, seen_az = 0;
    for (int i = 0; i < 3; i++) {
        wire_t m;
        recv_status(&agency_peer, id, &m, 5000);
        char dst[16], text[300];
        body_str(&m, "dst", dst, sizeof dst);
        body_str(&m, "text", text, sizeof text);
        int code = (int)body_int(&m, "code");
        if (strcmp(dst, "NV") == 0) {
            seen_nv++;
            cr_assert_eq(code, 2, "NV: the responder's no-record");
            cr_assert_str_eq(text, "no record", "a miss always reads the same");
            cr_assert_str_eq(m.src, RESPONDER);
        } else if (strcmp(dst, "TX") == 0 || strcmp(dst, "AZ") == 0) {
            seen_tx += dst[0] == 'T';
            seen_az += dst[0] == 'A';
            cr_assert_eq(code, 11, "%s: no-route", dst);
        } else {
            cr_assert_fail("a status without its destination in dst: '%s' (%s)", dst, text);
        }
        wire_done(&m);
    }
    cr_assert(seen_nv == 1 && seen_tx == 1 && seen_az == 1, "one status per destination");
}

/* A second switch for the rules tests: Nevada answers no KQ by rule. */
static void rules_setup(void)
{
    lex_test_switch_prepare(&sw);
    lex_test_write_rules(&sw, "NV", "rule nv-no-history\n"
                                    "  key KQ\n"
                                    "  deny no-record\n");
    lex_test_switch_start(&sw, NULL);
    snprintf(agency, sizeof agency, "%s", lex_test_ori_of(&sw, "PD", "CA"));
    peer_open(&state_peer, sw.endpoint);
    peer_open(&agency_peer, sw.endpoint);
}

TestSuite(conformance_rules, .init = rules_setup, .fini = teardown, .timeout = 60);

/* The envelope's keys in their order, comma-joined. */
static void key_order(const char *raw, size_t len, char *out, size_t size)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    cr_assert_eq(msgpack_unpack_next(&up, raw, len, NULL), MSGPACK_UNPACK_SUCCESS);
    out[0] = 0;
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object *k = &up.data.via.map.ptr[i].key;
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%.*s", i ? "," : "", (int)k->via.str.size,
                 k->via.str.ptr);
    }
    msgpack_unpacked_destroy(&up);
}

Test(conformance_rules, a_rules_no_record_reads_exactly_like_a_real_miss)
{
    hello(&state_peer, RESPONDER, "NV", "DQ");
    hello(&agency_peer, agency, NULL, NULL);

    /* a real miss: the responder answers DQ with its own no-record */
    msgpack_sbuffer q = dq_by_licence("N1");
    uint64_t real_id = send_msg_pur(&agency_peer, "DQ", agency, "NV", "case-9", "C", 0, &q);
    msgpack_sbuffer st;
    msgpack_sbuffer_init(&st);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &st, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    lex_raw_pack_str(&pk, "code");
    msgpack_pack_uint64(&pk, 2);
    lex_raw_pack_str(&pk, "name");
    lex_raw_pack_str(&pk, "no-record");
    lex_raw_pack_str(&pk, "text");
    lex_raw_pack_str(&pk, "no record");
    cr_assert_eq(answer_next_query(&st, "ST"), -1);
    msgpack_sbuffer_destroy(&st);
    wire_t real;
    recv_status(&agency_peer, real_id, &real, 5000);

    /* the rule's: KQ to Nevada is answered no-record by the switch */
    uint64_t rule_id = send_msg_pur(&agency_peer, "KQ", agency, "NV", "case-9", "C", 0, &q);
    msgpack_sbuffer_destroy(&q);
    wire_t rule;
    recv_status(&agency_peer, rule_id, &rule, 5000);
    wire_t none;
    cr_assert_neq(recv_key(&state_peer, "KQ", &none, HB_MS), 0, "the denied query was forwarded");

    char real_keys[200], rule_keys[200];
    key_order(real.raw_env, real.raw_env_len, real_keys, sizeof real_keys);
    key_order(rule.raw_env, rule.raw_env_len, rule_keys, sizeof rule_keys);
    cr_assert_str_eq(rule_keys, real_keys, "envelope keys and their order");
    cr_assert_eq(rule.v, real.v);
    cr_assert_str_eq(rule.k, real.k);
    cr_assert_str_eq(rule.src, real.src, "from the responder's ORI");
    cr_assert_str_eq(rule.src, RESPONDER);
    cr_assert_eq(rule.ndst, real.ndst);
    cr_assert_str_eq(rule.dst[0], real.dst[0]);
    cr_assert_str_eq(rule.ctl, real.ctl);
    cr_assert(rule.has_pur && real.has_pur, "pur echoed on both");
    cr_assert_str_eq(rule.pur, real.pur);
    cr_assert(rule.has_hop && real.has_hop, "hop on both");
    cr_assert_eq(rule.hop, real.hop);
    cr_assert_eq(rule.ref, rule_id);
    cr_assert_eq(real.ref, real_id);
    cr_assert(rule.has_ts && real.has_ts && rule.has_id && real.has_id);
    cr_assert_neq(rule.id, real.id, "ids are the switch's, one counter");
    cr_assert_eq(rule.raw_body_len, real.raw_body_len);
    cr_assert_eq(memcmp(rule.raw_body, real.raw_body, real.raw_body_len), 0,
                 "the bodies are byte for byte the same");
    char dst[16];
    body_str(&rule, "dst", dst, sizeof dst);
    cr_assert_str_eq(dst, "NV");
    wire_done(&real);
    wire_done(&rule);
}
