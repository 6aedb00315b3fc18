/* test_conformance_curve.c: the CURVE and ZAP part of docs/PROTOCOL.md
 * against the real switch, with raw libzmq and msgpack-c calls only: a key
 * bound in the directory is welcomed, an unknown key gets no reply at all,
 * and a bound key claiming an ORI outside its binding gets spoofed-ori.
 * Key files are read by hand (`public = ...`, `secret = ...`). */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "harness.h"

static lex_test_switch_t sw;
static void *ctx;

/* Reads "name = value" of a key file into out (41 bytes). */
static void key_line(const char *path, const char *name, char out[41])
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[256];
    out[0] = 0;
    while (fgets(line, sizeof line, f)) {
        char k[16], v[64];
        if (sscanf(line, " %15[a-z] = %63s", k, v) == 2 && strcmp(k, name) == 0 &&
            strlen(v) == 40)
            strcpy(out, v);
    }
    fclose(f);
    cr_assert(out[0], "no %s key in %s", name, path);
}

/* A DEALER with CURVE client options from a key file (NULL: a fresh pair
 * the directory does not know). */
static void *curve_dealer(const char *key_file)
{
    char server[41], pub[41], sec[41];
    key_line(sw.switch_pub, "public", server);
    if (key_file) {
        key_line(key_file, "public", pub);
        key_line(key_file, "secret", sec);
    } else {
        cr_assert_eq(zmq_curve_keypair(pub, sec), 0);
    }
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    cr_assert_eq(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 41), 0);
    cr_assert_eq(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 41), 0);
    cr_assert_eq(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 41), 0);
    cr_assert_eq(zmq_connect(s, sw.endpoint), 0);
    return s;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void send_hello(void *s, const char *ori)
{
    msgpack_sbuffer env, body;
    msgpack_sbuffer_init(&env);
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &env, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pack_str(&pk, "v");
    msgpack_pack_uint64(&pk, 1);
    pack_str(&pk, "id");
    msgpack_pack_uint64(&pk, 7);
    pack_str(&pk, "k");
    pack_str(&pk, "HELLO");
    pack_str(&pk, "src");
    pack_str(&pk, ori);
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "oris");
    msgpack_pack_array(&pk, 1);
    pack_str(&pk, ori);
    cr_assert_geq(zmq_send(s, env.data, env.size, ZMQ_SNDMORE), 0);
    cr_assert_geq(zmq_send(s, body.data, body.size, 0), 0);
    msgpack_sbuffer_destroy(&env);
    msgpack_sbuffer_destroy(&body);
}

/* Waits for one message; returns its key ("" when none came) and, for an
 * ST, its code in *code. */
static void recv_key(void *s, int timeout_ms, char key[16], int *code)
{
    key[0] = 0;
    *code = -1;
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return;
    zmq_msg_t env, body;
    zmq_msg_init(&env);
    zmq_msg_init(&body);
    cr_assert_geq(zmq_msg_recv(&env, s, 0), 0);
    cr_assert(zmq_msg_more(&env));
    cr_assert_geq(zmq_msg_recv(&body, s, 0), 0);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    cr_assert_eq(msgpack_unpack_next(&up, zmq_msg_data(&env), zmq_msg_size(&env), NULL),
                 MSGPACK_UNPACK_SUCCESS);
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        msgpack_object_kv *kv = &up.data.via.map.ptr[i];
        if (kv->key.via.str.size == 1 && kv->key.via.str.ptr[0] == 'k' &&
            kv->val.type == MSGPACK_OBJECT_STR && kv->val.via.str.size < 16) {
            memcpy(key, kv->val.via.str.ptr, kv->val.via.str.size);
            key[kv->val.via.str.size] = 0;
        }
    }
    msgpack_unpacked_destroy(&up);
    if (strcmp(key, "ST") == 0) {
        msgpack_unpacked_init(&up);
        cr_assert_eq(msgpack_unpack_next(&up, zmq_msg_data(&body), zmq_msg_size(&body), NULL),
                     MSGPACK_UNPACK_SUCCESS);
        for (uint32_t i = 0; i < up.data.via.map.size; i++) {
            msgpack_object_kv *kv = &up.data.via.map.ptr[i];
            if (kv->key.via.str.size == 4 && memcmp(kv->key.via.str.ptr, "code", 4) == 0)
                *code = (int)kv->val.via.u64;
        }
        msgpack_unpacked_destroy(&up);
    }
    zmq_msg_close(&env);
    zmq_msg_close(&body);
}

static void setup(void)
{
    lex_test_switch_prepare(&sw);
    lex_test_switch_use_curve(&sw);
    ctx = zmq_ctx_new();
}

static void teardown(void)
{
    zmq_ctx_term(ctx);
    lex_test_switch_cleanup(&sw);
}

TestSuite(conformance_curve, .init = setup, .fini = teardown, .timeout = 60);

Test(conformance_curve, bound_key_is_welcomed_unknown_key_hears_nothing)
{
    char nv_key[LEX_TEST_PATH];
    lex_test_make_key(&sw, "nvbridge", "responder", "NVDMV0000 states=NV", nv_key);
    lex_test_switch_start(&sw, NULL);

    void *bound = curve_dealer(nv_key);
    send_hello(bound, "NVDMV0000");
    char key[16];
    int code;
    recv_key(bound, 5000, key, &code);
    cr_assert_str_eq(key, "WELCOME", "a key bound in the directory is welcomed");

    void *stranger = curve_dealer(NULL);
    send_hello(stranger, "NVDMV0000");
    recv_key(stranger, 1500, key, &code);
    cr_assert_str_eq(key, "", "an unknown key gets no reply at all, got %s", key);

    /* the bound key may not claim an ORI outside its binding */
    void *greedy = curve_dealer(nv_key);
    send_hello(greedy, "ILDMV0000");
    recv_key(greedy, 5000, key, &code);
    cr_assert_str_eq(key, "ST");
    cr_assert_eq(code, 26, "spoofed-ori, got %d", code);
    zmq_close(bound);
    zmq_close(stranger);
    zmq_close(greedy);
}
