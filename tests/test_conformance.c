/* test_conformance.c: docs/PROTOCOL.md checked against the real switch by
 * a client written only with libzmq and msgpack-c calls, as any endpoint in
 * another language would be: no libnode, no schemas codec. It plays a
 * state responder and an agency: handshake, a query routed and answered,
 * heartbeats both ways, statuses for bad frames, unknown destinations and
 * spoofed ORIs, and BYE. The harness only starts and stops the switch. */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <zmq.h>
#include "harness.h"

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
    char k[16], src[16], ctl[40], dst[4][16];
    unsigned ndst;
    uint64_t v, id, ref, ts;
    int has_v, has_id, has_ts;
    msgpack_unpacked body;
    int body_ok;
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

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* Sends frames as given (n of them); returns after queueing. */
static void send_frames(peer_t *p, const msgpack_sbuffer *const *frames, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_geq(zmq_send(p->sock, frames[i]->data, frames[i]->size,
                               i + 1 < n ? ZMQ_SNDMORE : 0), 0);
}

/* Envelope {v, id, k, src, dst?, ctl?, ref?, ts} and body; returns the id. */
static uint64_t send_msg(peer_t *p, const char *key, const char *src, const char *dst,
                         const char *ctl, uint64_t ref, const msgpack_sbuffer *body)
{
    msgpack_sbuffer env;
    msgpack_sbuffer_init(&env);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &env, msgpack_sbuffer_write);
    uint64_t id = p->next_id++;
    msgpack_pack_map(&pk, 5 + (dst != NULL) + (ctl != NULL) + (ref != 0));
    pack_str(&pk, "v");
    msgpack_pack_uint64(&pk, 1);
    pack_str(&pk, "id");
    msgpack_pack_uint64(&pk, id);
    pack_str(&pk, "k");
    pack_str(&pk, key);
    pack_str(&pk, "src");
    pack_str(&pk, src);
    if (dst) {
        pack_str(&pk, "dst");
        msgpack_pack_array(&pk, 1);
        pack_str(&pk, dst);
    }
    if (ctl) {
        pack_str(&pk, "ctl");
        pack_str(&pk, ctl);
    }
    if (ref) {
        pack_str(&pk, "ref");
        msgpack_pack_uint64(&pk, ref);
    }
    pack_str(&pk, "ts");
    msgpack_pack_uint64(&pk, (uint64_t)time(NULL) * 1000000u);
    msgpack_sbuffer empty = {0};
    const msgpack_sbuffer *frames[2] = {&env, body ? body : &empty};
    send_frames(p, frames, 2);
    msgpack_sbuffer_destroy(&env);
    return id;
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
    get_uint(e, "ref", &m->ref);
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
    msgpack_unpacked_init(&m->body);
    if (zmq_msg_size(&frame[1]) == 0) {
        msgpack_unpacked_destroy(&m->body);   /* an empty frame is an empty map */
    } else {
        off = 0;
        cr_assert_eq(msgpack_unpack_next(&m->body, zmq_msg_data(&frame[1]),
                                         zmq_msg_size(&frame[1]), &off),
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
    pack_str(&pk, "oris");
    msgpack_pack_array(&pk, 1);
    pack_str(&pk, ori);
    pack_str(&pk, "states");
    msgpack_pack_array(&pk, state ? 1 : 0);
    if (state)
        pack_str(&pk, state);
    pack_str(&pk, "keys");
    msgpack_pack_array(&pk, key ? 1 : 0);
    if (key)
        pack_str(&pk, key);
    pack_str(&pk, "role");
    pack_str(&pk, state ? "state" : "agency");
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
    pack_str(&pk, "lic");
    pack_str(&pk, lic);
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
    pack_str(&pk, "records");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    pack_str(&pk, "lic");
    pack_str(&pk, "N1234567");
    pack_str(&pk, "name");
    pack_str(&pk, "DOE,JANE");
    pack_str(&pk, "count");
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
    pack_str(&pk, "code");
    msgpack_pack_uint64(&pk, 2);
    pack_str(&pk, "name");
    pack_str(&pk, "no-record");
    pack_str(&pk, "text");
    pack_str(&pk, "no record");
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
    pack_str(&pk, "oris");
    msgpack_pack_array(&pk, 1);
    pack_str(&pk, "ZZ9999999");
    uint64_t id = send_msg(&agency_peer, "HELLO", "ZZ9999999", NULL, NULL, 0, &b);
    msgpack_sbuffer_destroy(&b);
    char text[300];
    cr_assert_eq(expect_status(&agency_peer, id, 5000, text, sizeof text), 30 /* hello-refused */);
    cr_assert(strstr(text, "ZZ9999999"), "the refusal names the ORI: %s", text);
}
