/* test_conformance_curve.c: the CURVE and ZAP part of docs/PROTOCOL.md
 * against the real switch, with raw libzmq and msgpack-c calls only: a key
 * bound in the directory is welcomed, an unknown key gets no reply at all,
 * a bound key claiming an ORI outside its binding gets spoofed-ori, and
 * the strict-protocol refusals hold with CURVE as without: a HELLO whose
 * src is not among its oris, a field given twice, a string not UTF-8.
 * Key files are read by hand (`public = ...`, `secret = ...`); frames are
 * packed with msgpack-c by tests/helpers/rawwire.c. */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "harness.h"
#include "rawwire.h"

static lex_test_switch_t sw;
static void *ctx;
static void *opened[8];   /* dealers of the test, closed by teardown even after a failure */
static int nopened;

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
    if (nopened < 8)
        opened[nopened++] = s;
    return s;
}

static void send_hello(void *s, const char *ori)
{
    msgpack_sbuffer env, body;
    msgpack_sbuffer_init(&env);
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &env, msgpack_sbuffer_write);
    lex_raw_pack_head(&pk, 0, 7, "HELLO", ori);
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    lex_raw_pack_oris(&pk, ori);
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
    /* closed here, so a test that failed half way cannot hang the term */
    for (int i = 0; i < nopened; i++)
        zmq_close(opened[i]);
    nopened = 0;
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
}

/* Sends {v, id, k, src, ts} plus the key/value string pairs of env_pairs
 * (a "dst" value packed as a one-element array), and a body of the string
 * pairs of body_pairs: keys may repeat and strings hold any bytes. */
static void send_pairs(void *s, uint64_t id, const char *key, const char *src,
                       const char *const *env_pairs, const char *const *body_pairs)
{
    msgpack_sbuffer env, body;
    msgpack_sbuffer_init(&env);
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &env, msgpack_sbuffer_write);
    size_t m = 0;
    while (body_pairs[2 * m])
        m++;
    lex_raw_pack_env_pairs(&pk, id, key, src, 1, env_pairs);
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, m);
    for (size_t i = 0; i < 2 * m; i++)
        lex_raw_pack_str(&pk, body_pairs[i]);
    cr_assert_geq(zmq_send(s, env.data, env.size, ZMQ_SNDMORE), 0);
    cr_assert_geq(zmq_send(s, body.data, body.size, 0), 0);
    msgpack_sbuffer_destroy(&env);
    msgpack_sbuffer_destroy(&body);
}

/* The first ST within 5 s (other messages skipped); its code. */
static int next_status(void *s)
{
    char key[16];
    int code;
    for (int i = 0; i < 20; i++) {
        recv_key(s, 5000, key, &code);
        cr_assert(key[0], "no answer at all");
        if (strcmp(key, "ST") == 0)
            return code;
    }
    cr_assert_fail("no ST");
    return -1;
}

static char police[LEX_ORI_LEN + 1], sheriff[LEX_ORI_LEN + 1];

/* A switch with an agency key bound to a Nevada police ORI and a Nevada
 * sheriff's; returns a dealer registered as the police ORI. */
static void *welcomed_police(char key_path[LEX_TEST_PATH])
{
    snprintf(police, sizeof police, "%s", lex_test_ori_of(&sw, "PD", "NV"));
    snprintf(sheriff, sizeof sheriff, "%s", lex_test_ori_of(&sw, "SO", "NV"));
    char patterns[64];
    snprintf(patterns, sizeof patterns, "%s %s", police, sheriff);
    lex_test_make_key(&sw, "nvpolice", "agency", patterns, key_path);
    lex_test_switch_start(&sw, NULL);
    void *s = curve_dealer(key_path);
    send_hello(s, police);
    char key[16];
    int code;
    recv_key(s, 5000, key, &code);
    cr_assert_str_eq(key, "WELCOME");
    return s;
}

Test(conformance_curve, hello_whose_src_is_not_among_its_oris_is_refused)
{
    char path[LEX_TEST_PATH];
    welcomed_police(path);
    void *other = curve_dealer(path);
    /* both ORIs are the key's, yet src must be one of the HELLO's own */
    msgpack_sbuffer env, body;
    msgpack_sbuffer_init(&env);
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    lex_raw_pack_oris(&pk, sheriff);
    msgpack_packer_init(&pk, &env, msgpack_sbuffer_write);
    lex_raw_pack_head(&pk, 0, 9, "HELLO", police);
    cr_assert_geq(zmq_send(other, env.data, env.size, ZMQ_SNDMORE), 0);
    cr_assert_geq(zmq_send(other, body.data, body.size, 0), 0);
    msgpack_sbuffer_destroy(&env);
    msgpack_sbuffer_destroy(&body);
    cr_assert_eq(next_status(other), 30, "hello-refused");
}

Test(conformance_curve, envelope_with_a_field_given_twice_is_refused)
{
    char path[LEX_TEST_PATH];
    void *s = welcomed_police(path);
    const char *env[] = {"dst", "NV", "pur", "C", "pur", "E", NULL};
    const char *body[] = {"lic", "N1", NULL};
    send_pairs(s, 2, "DQ", police, env, body);
    cr_assert_eq(next_status(s), 21, "bad-envelope");
}

Test(conformance_curve, envelope_string_that_is_not_utf8_is_refused)
{
    char path[LEX_TEST_PATH];
    void *s = welcomed_police(path);
    const char *env[] = {"dst", "NV", "ctl", "\xc0\xaf", NULL};
    const char *body[] = {"lic", "N1", NULL};
    send_pairs(s, 2, "DQ", police, env, body);
    cr_assert_eq(next_status(s), 21, "bad-envelope");
}

Test(conformance_curve, body_with_a_key_given_twice_is_refused)
{
    char path[LEX_TEST_PATH];
    void *s = welcomed_police(path);
    const char *env[] = {"dst", "NV", NULL};
    const char *body[] = {"lic", "N1", "lic", "N2", NULL};
    send_pairs(s, 2, "DQ", police, env, body);
    cr_assert_eq(next_status(s), 22, "bad-body");
}

Test(conformance_curve, body_string_that_is_not_utf8_is_refused)
{
    char path[LEX_TEST_PATH];
    void *s = welcomed_police(path);
    const char *env[] = {"dst", "NV", NULL};
    const char *body[] = {"lic", "N1\xff", NULL};
    send_pairs(s, 2, "DQ", police, env, body);
    cr_assert_eq(next_status(s), 22, "bad-body");
}
