/* test_hostile.c: a hostile node with a valid CURVE key, speaking raw
 * ZeroMQ, sends thousands of bad messages of every kind (truncated and
 * invalid msgpack, wrong types, huge declared lengths, deep nesting, wrong
 * frame counts, empty frames, oversized frames, spoofed ORIs, answers to
 * nothing, a query flood) while a well-behaved node keeps querying. Every
 * bad message must get an ST and an audit record; the good node must keep
 * getting answers; the switch must stop cleanly afterwards. */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "harness.h"
#include "lex_body.h"
#include "lex_buf.h"
#include "lex_envelope.h"
#include "lex_keys.h"
#include "lex_population.h"
#include "lex_status.h"

static lex_test_switch_t sw;
static void *ctx, *raw;
static lex_node_t *good;   /* the well-behaved node; kept alive while the hostile one floods */

static void teardown(void)
{
    if (raw)
        zmq_close(raw);
    if (ctx)
        zmq_ctx_term(ctx);
    raw = ctx = NULL;
    lex_test_switch_cleanup(&sw);
}

TestSuite(hostile, .fini = teardown, .timeout = 240);

static char hostile_ori[16], victim_ori[16];

/* A valid envelope from the hostile ORI (src may be overridden). */
static void envelope(lex_buf_t *b, const char *key, const char *src, uint64_t id, uint64_t ref,
                     int ndst)
{
    lex_envelope_t e;
    lex_envelope_init(&e);
    snprintf(e.key, sizeof e.key, "%s", key);
    snprintf(e.src, sizeof e.src, "%.9s", src ? src : hostile_ori);
    e.id = id;
    e.ref = ref;
    for (int i = 0; i < ndst && i < LEX_DEST_MAX; i++)
        lex_envelope_add_dst(&e, "NV");
    lex_buf_reset(b);
    cr_assert_eq(lex_envelope_encode(&e, b), 0);
}

static void send_frames(int n, const void *const *data, const size_t *len)
{
    for (int i = 0; i < n; i++)
        cr_assert_geq(zmq_send(raw, data[i], len[i], i + 1 < n ? ZMQ_SNDMORE : 0), 0);
}

static void send2(const void *a, size_t alen, const void *b, size_t blen)
{
    const void *d[] = {a, b};
    size_t l[] = {alen, blen};
    send_frames(2, d, l);
}

enum { KINDS = 16 };

/* Sends bad message number `kind`; id makes each distinct. */
static void send_bad(int kind, uint64_t id)
{
    static lex_buf_t env, body;
    static uint8_t big[300 * 1024];
    lex_buf_reset(&body);
    switch (kind) {
    case 0: { /* one frame */
        const void *d[] = {"\x81\xa1v\x01"};
        size_t l[] = {4};
        send_frames(1, d, l);
        return;
    }
    case 1: { /* three frames */
        envelope(&env, "DQ", NULL, id, 0, 1);
        const void *d[] = {env.data, "\x80", "\x80"};
        size_t l[] = {env.len, 1, 1};
        send_frames(3, d, l);
        return;
    }
    case 2: /* empty envelope and body */
        send2("", 0, "", 0);
        return;
    case 3: /* truncated envelope */
        envelope(&env, "DQ", NULL, id, 0, 1);
        send2(env.data, env.len / 2, "\x80", 1);
        return;
    case 4: /* not msgpack at all (0xc1 is never used) */
        send2("\xc1\xc1\xc1", 3, "\x80", 1);
        return;
    case 5: /* an array where a map belongs */
        send2("\x93\x01\x02\x03", 4, "\x80", 1);
        return;
    case 6: { /* wrong type: version as a string */
        msgpack_packer pk;
        lex_buf_reset(&env);
        msgpack_packer_init(&pk, &env, lex_buf_write);
        msgpack_pack_map(&pk, 4);
        lex_mp_pack_kv_str(&pk, "v", "one");
        lex_mp_pack_kv_uint(&pk, "id", id);
        lex_mp_pack_kv_str(&pk, "k", "DQ");
        lex_mp_pack_kv_str(&pk, "src", hostile_ori);
        send2(env.data, env.len, "\x80", 1);
        return;
    }
    case 7: { /* str32 declaring 4 GiB, with 3 bytes behind it */
        envelope(&env, "DQ", NULL, id, 0, 1);
        send2(env.data, env.len, "\x81\xa3lic\xdb\xff\xff\xff\xff" "abc", 12);
        return;
    }
    case 8: { /* nesting 2000 arrays deep in the body */
        static uint8_t deep[2001];
        deep[0] = 0x81;
        for (int i = 1; i < 2001; i++)
            deep[i] = 0x91;
        envelope(&env, "DQ", NULL, id, 0, 1);
        send2(env.data, env.len, deep, sizeof deep);
        return;
    }
    case 9: /* seventeen destinations */
        envelope(&env, "DQ", NULL, id, 0, 16);
        {
            /* the codec stops at 16: append one by hand to the dst array */
            msgpack_packer pk;
            lex_buf_reset(&env);
            msgpack_packer_init(&pk, &env, lex_buf_write);
            msgpack_pack_map(&pk, 5);
            lex_mp_pack_kv_uint(&pk, "v", 1);
            lex_mp_pack_kv_uint(&pk, "id", id);
            lex_mp_pack_kv_str(&pk, "k", "DQ");
            lex_mp_pack_kv_str(&pk, "src", hostile_ori);
            lex_mp_pack_str(&pk, "dst");
            msgpack_pack_array(&pk, 17);
            for (int i = 0; i < 17; i++)
                lex_mp_pack_str(&pk, "NV");
        }
        send2(env.data, env.len, "\x81\xa3lic\xa2X1", 8);
        return;
    case 10: /* an envelope over 2048 bytes */
        memset(big, 0xa0, 3000);
        send2(big, 3000, "\x80", 1);
        return;
    case 11: /* a message over 256 KiB */
        envelope(&env, "DQ", NULL, id, 0, 1);
        memset(big, 0, sizeof big);
        send2(env.data, env.len, big, sizeof big);
        return;
    case 12: /* a key that is not in the catalogue */
        envelope(&env, "ZZQ", NULL, id, 0, 1);
        send2(env.data, env.len, "\x80", 1);
        return;
    case 13: /* another agency's ORI */
        envelope(&env, "DQ", victim_ori, id, 0, 1);
        send2(env.data, env.len, "\x81\xa3lic\xa2X1", 8);
        return;
    case 14: /* an answer to no query */
        envelope(&env, "DR", NULL, id, 987654321, 1);
        send2(env.data, env.len, "\x80", 1);
        return;
    case 15: /* a body field of the wrong type */
        envelope(&env, "DQ", NULL, id, 0, 1);
        send2(env.data, env.len, "\x81\xa3lic\x2a", 6);
        return;
    }
}

/* Receives replies on the raw socket until `want` arrived or time ran out;
 * returns how many were ST with a non-zero code. */
static int collect_statuses(int want, int timeout_ms)
{
    int got = 0;
    uint64_t deadline = lex_mono_us() + (uint64_t)timeout_ms * 1000u;
    while (got < want && lex_mono_us() < deadline) {
        if (good)
            lex_node_tick(good);
        zmq_pollitem_t it = {raw, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        zmq_msg_t f[2];
        int n = 0, more = 1;
        while (more) {
            zmq_msg_t tmp;
            zmq_msg_t *m = n < 2 ? &f[n] : &tmp;
            zmq_msg_init(m);
            cr_assert_geq(zmq_msg_recv(m, raw, 0), 0);
            more = zmq_msg_more(m);
            if (m == &tmp)
                zmq_msg_close(&tmp);
            n++;
        }
        cr_assert_eq(n, 2, "the switch always sends two frames");
        lex_envelope_t e;
        const char *field = "";
        cr_assert_eq(lex_envelope_decode(zmq_msg_data(&f[0]), zmq_msg_size(&f[0]), &e, &field), 0);
        int code = 0;
        if (strcmp(e.key, "ST") == 0 &&
            lex_status_parse(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), &code, NULL, 0) == 0 &&
            code != 0)
            got++;
        zmq_msg_close(&f[0]);
        zmq_msg_close(&f[1]);
    }
    return got;
}

static void connect_raw(const char *key_file)
{
    lex_keypair_t mine, theirs;
    char err[512];
    cr_assert_eq(lex_keyfile_load(key_file, &mine, err, sizeof err), 0, "%s", err);
    cr_assert_eq(lex_keyfile_load(sw.switch_pub, &theirs, err, sizeof err), 0, "%s", err);
    ctx = zmq_ctx_new();
    raw = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(raw, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(raw, ZMQ_CURVE_SERVERKEY, theirs.public_z85, 41);
    zmq_setsockopt(raw, ZMQ_CURVE_PUBLICKEY, mine.public_z85, 41);
    zmq_setsockopt(raw, ZMQ_CURVE_SECRETKEY, mine.secret_z85, 41);
    cr_assert_eq(zmq_connect(raw, sw.endpoint), 0);
}

static void raw_hello(void)
{
    lex_buf_t env, body;
    lex_buf_init(&env);
    lex_buf_init(&body);
    envelope(&env, "HELLO", NULL, 1, 0, 0);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_str(&pk, "oris");
    msgpack_pack_array(&pk, 1);
    lex_mp_pack_str(&pk, hostile_ori);
    send2(env.data, env.len, body.data, body.len);
    lex_buf_free(&env);
    lex_buf_free(&body);
    /* WELCOME */
    zmq_pollitem_t it = {raw, 0, ZMQ_POLLIN, 0};
    cr_assert_gt(zmq_poll(&it, 1, 10000), 0, "no WELCOME for the hostile node");
    for (int more = 1; more;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, raw, 0);
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
}

Test(hostile, every_bad_message_gets_a_status_and_a_record_while_good_nodes_keep_working)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_use_curve(&sw);
    snprintf(hostile_ori, sizeof hostile_ori, "%s", lex_test_ori_of(&sw, "PD", "CA"));
    snprintf(victim_ori, sizeof victim_ori, "%s", lex_test_ori_of(&sw, "SO", "CA"));
    char hostile_key[LEX_TEST_PATH], good_key[LEX_TEST_PATH], good_ori[16];
    snprintf(good_ori, sizeof good_ori, "%s", lex_test_ori_of(&sw, "PD", "NV"));
    lex_test_make_key(&sw, "hostile", "agency", hostile_ori, hostile_key);
    lex_test_make_key(&sw, "good", "agency", good_ori, good_key);
    const char *extra[] = {"--set", "rate_limit=200", "--set", "rate_burst=200", NULL};
    lex_test_switch_start(&sw, extra);
    lex_test_states_start(&sw, "NV", 1000);
    good = lex_test_node_with_key(&sw, good_ori, good_key);
    cr_assert_eq(lex_node_wait_ready(good, 10000), 0, "%s", lex_node_error(good));
    lex_population_t *pop = NULL;
    lex_driver_t d;
    cr_assert_eq(lex_population_new("NV", 1000, 1000, &pop), 0);
    lex_population_driver(pop, 3, &d);
    lex_population_destroy(&pop);
    char lic[64];
    snprintf(lic, sizeof lic, "lic=%s", d.lic);
    const char *words[] = {lic, NULL};

    connect_raw(hostile_key);
    raw_hello();
    enum { ROUNDS = 250 };
    int sent = 0, statuses = 0;
    uint64_t id = 100;
    for (int round = 0; round < ROUNDS; round++) {
        for (int kind = 0; kind < KINDS; kind++, sent++)
            send_bad(kind, ++id);
        statuses += collect_statuses(KINDS, 10000);
        if (round % 25 == 0) {
            lex_message_t m;
            cr_assert_eq(lex_test_ask(good, "DQ", "NV", words, &m), 0,
                         "the good node got no answer in round %d", round);
            cr_assert_str_eq(m.env.key, "DR");
        }
    }
    cr_assert_eq(statuses, sent, "%d bad messages, %d statuses", sent, statuses);

    /* a flood of well-formed queries: over the rate, each still gets an answer */
    enum { FLOOD = 2000 };
    lex_buf_t env;
    lex_buf_init(&env);
    for (int i = 0; i < FLOOD; i++) {
        envelope(&env, "DQ", NULL, ++id, 0, 1);
        send2(env.data, env.len, "\x81\xa3lic\xa2X1", 8);
    }
    lex_buf_free(&env);
    int flood_answers = collect_statuses(FLOOD, 60000);
    /* no-record answers (the licence does not exist) and rate-limited are both statuses */
    cr_assert_eq(flood_answers, FLOOD, "flood of %d: %d answered", FLOOD, flood_answers);
    lex_message_t m;
    cr_assert_eq(lex_test_ask(good, "DQ", "NV", words, &m), 0, "good node starved by the flood");
    cr_assert_str_eq(m.env.key, "DR", "the good node got ST %d after the flood",
                     lex_test_status_code(&m));
    lex_node_destroy(&good);

    /* every bad message left a refusal record */
    zmq_close(raw);
    raw = NULL;
    cr_assert_eq(lex_test_switch_stop(&sw), 0, "the switch did not stop cleanly");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s/lexctl tail --data %s -n 10000000 | grep -c ' refuse '", LEX_BIN_DIR, sw.data);
    static char out[256];
    lex_test_run(cmd, out, sizeof out);
    long refusals = atol(out);
    cr_assert_geq(refusals, sent, "%ld refusal records for %d bad messages", refusals, sent);
}
