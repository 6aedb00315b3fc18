/* witness_client.c: a node's side of witnessing (lex_witness_client.h):
 * ask with CP, keep what comes back. The keeping rules (signature, seq
 * only grows, a step back kept apart as evidence) are schemas/witness.c's. */
#include <stdio.h>
#include <string.h>
#include "lex_body.h"
#include "lex_buf.h"
#include "lex_error.h"
#include "lex_witness.h"
#include "lex_witness_client.h"

void lex_witness_client_tick(lex_witness_client_t *w, lex_node_t *node, int every_ms)
{
    uint64_t now = lex_mono_us();
    int ready = lex_node_ready(node), again = ready && !w->was_ready;
    w->was_ready = ready;
    if (!ready ||
        (!again && w->asked_us && now - w->asked_us < (uint64_t)every_ms * 1000u))
        return;
    lex_checkpoint_t newest;
    uint64_t seq = lex_witness_newest(w->dir, &newest) == 0 ? newest.seq : 0;
    lex_envelope_t env;
    lex_envelope_init(&env);
    strcpy(env.key, "CP");
    lex_buf_t body;
    lex_buf_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, lex_buf_write);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_kv_uint(&pk, "seq", seq);
    if (!body.failed && lex_node_send(node, &env, body.data, body.len) == 0) {
        w->asked_us = now;
        w->asked_seq = seq;
    }
    lex_buf_free(&body);
}

static int bin_of(const msgpack_object *map, const char *name, const void **p, size_t *n)
{
    const msgpack_object *o = lex_mp_get(map, name);
    if (!o || o->type != MSGPACK_OBJECT_BIN)
        return LEX_EMISSING;
    *p = o->via.bin.ptr;
    *n = o->via.bin.size;
    return 0;
}

/* The switch's answer to a first request names what its log holds at the
 * witness's newest checkpoint: another hash, or nothing, is a step back. */
static int went_back(lex_witness_client_t *w, const msgpack_object *body, const void *cp,
                     size_t cp_len, char *err, size_t errlen)
{
    uint64_t at_seq = 0;
    lex_checkpoint_t newest;
    if (lex_mp_uint(lex_mp_get(body, "at_seq"), &at_seq) != 0 || !at_seq ||
        lex_witness_newest(w->dir, &newest) != 0 || newest.seq != at_seq)
        return 0;
    const void *at_hash = NULL;
    size_t n = 0;
    int found = bin_of(body, "at_hash", &at_hash, &n) == 0 && n == 32;
    if (found && memcmp(at_hash, newest.hash, 32) == 0)
        return 0;
    char what[256];
    snprintf(what, sizeof what, "the switch's log %s record %llu, which this witness holds a "
             "signed checkpoint of: it was %s", found ? "holds another" : "no longer has",
             (unsigned long long)at_seq, found ? "rewritten" : "rolled back or truncated");
    lex_witness_conflict(w->dir, cp, cp_len, what, err, errlen);
    return 1;
}

int lex_witness_client_handle(lex_witness_client_t *w, const lex_message_t *m, char *err,
                              size_t errlen)
{
    if (strcmp(m->env.key, "CP") != 0)
        return 0;
    err[0] = 0;
    msgpack_unpacked up;
    if (lex_body_parse(m->body, m->body_len, &up) != 0) {
        snprintf(err, errlen, "a CP whose body does not decode");
        return 1;
    }
    const void *cp = NULL, *key = NULL;
    size_t cp_len = 0, key_len = 0;
    int have_key = bin_of(&up.data, "key", &key, &key_len) == 0 && key_len == 32;
    uint8_t pk[32];
    int rc;
    if (bin_of(&up.data, "cp", &cp, &cp_len) != 0) {
        snprintf(err, errlen, "a CP without a checkpoint");
    } else if ((rc = lex_witness_key(w->dir, w->key_path, have_key ? key : NULL, pk, err,
                                     errlen)) != 0) {
        w->alarms += rc == LEX_EEXIST;
    } else if (went_back(w, &up.data, cp, cp_len, err, errlen)) {
        w->alarms++;
    } else if ((rc = lex_witness_keep(w->dir, cp, cp_len, pk, err, errlen)) == 0) {
        lex_checkpoint_t c;
        lex_checkpoint_open(cp, cp_len, NULL, &c);
        w->kept++;
        w->newest = c.seq;
    } else if (rc == LEX_EEXIST) {
        w->alarms++;
    }
    msgpack_unpacked_destroy(&up);
    return 1;
}
