/* endpoint.c: the message calls of the public API (lexnode.h): receiving
 * into a plain lex_node_msg_t, reading body fields without msgpack, and
 * sending queries, answers and statuses built from lex_fields_t. Everything
 * goes through lex_node_send/lex_node_recv (node.c), so the session rules
 * stay in one place. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <msgpack.h>
#include "lex_body.h"
#include "lex_catalogue.h"
#include "lex_error.h"
#include "lex_fields.h"
#include "lex_node.h"

int lex_node_next(lex_node_t *node, lex_node_msg_t *msg, int timeout_ms)
{
    lex_message_t m;
    int rc = lex_node_recv(node, &m, timeout_ms);
    if (rc != 0)
        return rc;
    memset(msg, 0, sizeof *msg);
    snprintf(msg->key, sizeof msg->key, "%s", m.env.key);
    msg->id = m.env.id;
    msg->ref = m.env.ref;
    snprintf(msg->src, sizeof msg->src, "%s", m.env.src);
    if (m.env.ndst > 0)
        snprintf(msg->dst, sizeof msg->dst, "%s", m.env.dst[0]);
    snprintf(msg->ctl, sizeof msg->ctl, "%s", m.env.ctl);
    snprintf(msg->purpose, sizeof msg->purpose, "%s", m.env.purpose);
    const lex_msgdef_t *def = lex_catalogue_find(lex_catalogue_builtin(), m.env.key);
    msg->is_query = def && def->cls == LEX_CLASS_QUERY && def->pair[0];
    msg->body = m.body;
    msg->body_len = m.body_len;
    return 0;
}

/* Finds a top-level field; 0 and *out set, or LEX_ENOTFOUND / a parse code.
 * The caller destroys *up on success. */
static int find_field(const lex_node_msg_t *msg, const char *name, msgpack_unpacked *up,
                      const msgpack_object **out)
{
    if (!msg || !name)
        return LEX_EINVAL;
    if (msg->body_len == 0)
        return LEX_ENOTFOUND;   /* an empty frame is an empty map */
    int rc = lex_body_parse(msg->body, msg->body_len, up);
    if (rc != 0)
        return rc;
    *out = lex_mp_get(&up->data, name);
    if (!*out) {
        msgpack_unpacked_destroy(up);
        return LEX_ENOTFOUND;
    }
    return 0;
}

int lex_node_msg_str(const lex_node_msg_t *msg, const char *name, char *buf, size_t size)
{
    msgpack_unpacked up;
    const msgpack_object *o;
    if (!buf || size == 0)
        return LEX_EINVAL;
    int rc = find_field(msg, name, &up, &o);
    if (rc != 0)
        return rc;
    int n = 0;
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        rc = lex_mp_str(o, buf, size);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        n = snprintf(buf, size, "%" PRIu64, o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        n = snprintf(buf, size, "%" PRId64, o->via.i64);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        n = snprintf(buf, size, "%s", o->via.boolean ? "true" : "false");
        break;
    default:
        rc = LEX_ETYPE;
    }
    if (n < 0 || (size_t)n >= size)
        rc = LEX_ELENGTH;
    msgpack_unpacked_destroy(&up);
    return rc;
}

int lex_node_msg_int(const lex_node_msg_t *msg, const char *name, int64_t *value)
{
    msgpack_unpacked up;
    const msgpack_object *o;
    int rc = find_field(msg, name, &up, &o);
    if (rc != 0)
        return rc;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        *value = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *value = o->via.i64;
    else
        rc = LEX_ETYPE;
    msgpack_unpacked_destroy(&up);
    return rc;
}

int lex_node_msg_status(const lex_node_msg_t *msg, int *code, char *text, size_t textlen)
{
    if (!msg || !code || strcmp(msg->key, "ST") != 0)
        return LEX_EINVAL;
    return lex_status_parse(msg->body, msg->body_len, code, text, textlen);
}

/* Sends key with env's routing fields and a packed body. */
static int send_body(lex_node_t *node, lex_envelope_t *env, const lex_fields_t *fields,
                     uint64_t *id)
{
    lex_buf_t body;
    lex_buf_init(&body);
    int rc = lex_fields_encode(fields, &body);
    if (rc == 0)
        rc = lex_node_send(node, env, body.data, body.len);
    if (rc == 0 && id)
        *id = env->id;
    lex_buf_free(&body);
    return rc;
}

static int copy_text(char *dst, size_t size, const char *src)
{
    if (!src)
        return 0;
    if (strlen(src) >= size)
        return LEX_ELENGTH;
    strcpy(dst, src);
    return 0;
}

int lex_node_query(lex_node_t *node, const lex_node_query_t *q, const lex_fields_t *body,
                   uint64_t *id)
{
    if (!node || !q || !q->key || !q->dst || q->ndst == 0)
        return LEX_EINVAL;
    lex_envelope_t env;
    lex_envelope_init(&env);
    int rc = copy_text(env.key, sizeof env.key, q->key);
    if (rc == 0)
        rc = copy_text(env.src, sizeof env.src, q->src);
    if (rc == 0)
        rc = copy_text(env.ctl, sizeof env.ctl, q->ctl);
    if (rc == 0)
        rc = copy_text(env.purpose, sizeof env.purpose, q->purpose);
    for (size_t i = 0; rc == 0 && i < q->ndst; i++)
        rc = lex_envelope_add_dst(&env, q->dst[i]);
    if (rc != 0)
        return rc;
    return send_body(node, &env, body, id);
}

/* The envelope of an answer to query: to its sender, ref, ctl, purpose,
 * from the ORI the query was addressed to when it is one of ours. */
static void answer_envelope(const lex_node_msg_t *query, const char *key, lex_envelope_t *env)
{
    lex_envelope_init(env);
    snprintf(env->key, sizeof env->key, "%s", key);
    lex_envelope_add_dst(env, query->src);
    env->ref = query->id;
    snprintf(env->ctl, sizeof env->ctl, "%s", query->ctl);
    snprintf(env->purpose, sizeof env->purpose, "%s", query->purpose);
    if (lex_ori_valid(query->dst))
        snprintf(env->src, sizeof env->src, "%s", query->dst);
}

int lex_node_reply(lex_node_t *node, const lex_node_msg_t *query, const lex_fields_t *body)
{
    if (!node || !query || !query->is_query)
        return LEX_EINVAL;
    const lex_msgdef_t *def = lex_catalogue_find(lex_catalogue_builtin(), query->key);
    if (!def || !def->pair[0])
        return LEX_EINVAL;
    lex_envelope_t env;
    answer_envelope(query, def->pair, &env);
    return send_body(node, &env, body, NULL);
}

int lex_node_reply_status(lex_node_t *node, const lex_node_msg_t *query, int code,
                          const char *text)
{
    if (!node || !query || code < 0)
        return LEX_EINVAL;
    lex_envelope_t env;
    answer_envelope(query, "ST", &env);
    lex_buf_t body;
    lex_buf_init(&body);
    int rc = lex_status_body(&body, code, text ? text : lex_status_name(code));
    if (rc == 0)
        rc = lex_node_send(node, &env, body.data, body.len);
    lex_buf_free(&body);
    return rc;
}
