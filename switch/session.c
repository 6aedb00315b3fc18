/* session.c: the session table. A session is one registered connection:
 * the ORIs it speaks for (bound at HELLO, and with CURVE only those its key
 * is bound to in the directory; a message claiming another source ORI is
 * refused as spoofed), the states and keys it answers, and when it was last
 * heard. Looked up by routing id, by ORI and by state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_status.h"
#include "s2s.h"

session_t *lex_session_find(lex_switch_t *sw, const uint8_t *rid, size_t rid_len)
{
    return lex_table_get(sw->sessions_by_rid, rid, rid_len);
}

session_t *lex_session_by_ori(lex_switch_t *sw, const char *ori)
{
    return lex_table_get(sw->sessions_by_ori, ori, strlen(ori));
}

int lex_session_owns_ori(lex_switch_t *sw, const session_t *s, const char *ori)
{
    if (s->peer && lex_peer_owns(s, ori, 0))
        return 1;
    if (s->operator_conn) { /* its desk ORIs are its own, per connection */
        for (size_t i = 0; i < s->noris; i++)
            if (strcmp(s->oris[i], ori) == 0)
                return 1;
        return 0;
    }
    /* the ORI table is authoritative: an ORI taken over by a newer
     * connection no longer belongs to the old one */
    return lex_session_by_ori(sw, ori) == s;
}

int lex_session_answers_key(const session_t *s, const char *key)
{
    if (s->peer)
        return 1; /* a switch passes every query key on; its nodes answer or refuse */
    for (size_t i = 0; i < s->nkeys; i++)
        if (strcmp(s->keys[i], key) == 0)
            return 1;
    return 0;
}

static void unlink_state(lex_switch_t *sw, session_t *s, int idx)
{
    session_t **list = sw->state_responders[idx];
    size_t n = sw->nstate_responders[idx];
    for (size_t i = 0; i < n; i++)
        if (list[i] == s) {
            list[i] = list[n - 1];
            sw->nstate_responders[idx] = n - 1;
            return;
        }
}

void lex_session_remove(lex_switch_t *sw, session_t *s)
{
    for (size_t i = 0; i < s->noris; i++)
        if (lex_table_get(sw->sessions_by_ori, s->oris[i], LEX_ORI_LEN) == s)
            lex_table_del(sw->sessions_by_ori, s->oris[i], LEX_ORI_LEN);
    for (size_t i = 0; i < s->nstates; i++) {
        int idx = lex_state_index(s->states[i]);
        if (idx >= 0)
            unlink_state(sw, s, idx);
    }
    lex_table_del(sw->sessions_by_rid, s->rid, s->rid_len);
    lex_conns_forget_session(sw, s);
    if (s->peer)
        lex_peer_forget(sw, s);
    free(s->oris);
    free(s);
}

static void remove_one(const void *key, size_t len, void *value, void *arg)
{
    (void)key;
    (void)len;
    session_t **list = arg;
    for (size_t i = 0;; i++)
        if (!list[i]) {
            list[i] = value;
            return;
        }
}

void lex_session_remove_all(lex_switch_t *sw)
{
    size_t n = lex_table_count(sw->sessions_by_rid);
    session_t **list = calloc(n + 1, sizeof *list);
    if (!list)
        return;
    lex_table_each(sw->sessions_by_rid, remove_one, list);
    for (size_t i = 0; i < n; i++)
        lex_session_remove(sw, list[i]);
    free(list);
}

session_t *lex_session_for_state(lex_switch_t *sw, const char *state)
{
    int idx = lex_state_index(state);
    if (idx < 0 || sw->nstate_responders[idx] == 0)
        return NULL;
    size_t n = sw->nstate_responders[idx];
    size_t i = sw->rr_next[idx]++ % n;
    return sw->state_responders[idx][i];
}

static int refuse(char *why, size_t whylen, const char *fmt, const char *detail)
{
    snprintf(why, whylen, fmt, detail);
    return LEX_ST_HELLO_REFUSED;
}

/* Reads a HELLO array of strings, calling check on each; 0 or a status. */
static int read_list(const msgpack_object *arr, size_t max, size_t width, char *dst, size_t *count,
                     const char *what, char *why, size_t whylen)
{
    *count = 0;
    if (!arr)
        return 0;
    if (arr->via.array.size > max)
        return refuse(why, whylen, "too many %s", what);
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        if (lex_mp_str(&arr->via.array.ptr[i], dst + i * width, width) != 0)
            return refuse(why, whylen, "malformed entry in %s", what);
        (*count)++;
    }
    return 0;
}

int lex_session_register(lex_switch_t *sw, const uint8_t *rid, size_t rid_len,
                         const char *peer_key, const void *body, size_t len, session_t **out,
                         char *why, size_t whylen)
{
    *out = NULL;
    msgpack_unpacked up;
    if (lex_body_parse(body, len, &up) != 0)
        return refuse(why, whylen, "%s", "HELLO body is not a map");
    int st = 0;
    session_t *s = calloc(1, sizeof *s);
    const msgpack_object *oris = lex_mp_get(&up.data, "oris");
    if (!s) {
        st = refuse(why, whylen, "%s", "out of memory");
        goto done;
    }
    s->conn_fd = -1;
    if (peer_key[0]) {
        s->bind = lex_directory_key(sw->directory, peer_key);
        if (!s->bind) { /* the authenticator admitted it, so the directory changed */
            snprintf(why, whylen, "%s", "this connection's key was removed from the directory");
            st = LEX_ST_REVOKED;
            goto done;
        }
        snprintf(s->peer_key, sizeof s->peer_key, "%s", peer_key);
    }
    if ((st = lex_peer_hello(sw, s, &up.data, why, whylen)) != 0)
        goto done;
    if (!s->peer && (!oris || oris->via.array.size == 0)) {
        st = refuse(why, whylen, "%s", "HELLO names no ORI");
        goto done;
    }
    s->oris = calloc(oris && oris->via.array.size ? oris->via.array.size : 1, sizeof *s->oris);
    if (!s->oris) {
        st = refuse(why, whylen, "%s", "out of memory");
        goto done;
    }
    if ((st = read_list(oris, LEX_HELLO_ORIS_MAX, LEX_ORI_LEN + 1, (char *)s->oris, &s->noris,
                        "oris", why, whylen)) != 0)
        goto done;
    for (size_t i = 0; i < s->noris; i++) {
        if (!lex_ori_valid(s->oris[i])) {
            st = refuse(why, whylen, "malformed ORI '%s'", s->oris[i]);
            goto done;
        }
        if (sw->directory && !lex_directory_find(sw->directory, s->oris[i])) {
            st = refuse(why, whylen, "ORI %s is not in the agency directory", s->oris[i]);
            goto done;
        }
        if (s->bind && !lex_keybind_allows(s->bind, s->oris[i])) {
            snprintf(why, whylen, "ORI %s is not bound to this connection's key '%s' (%s)",
                     s->oris[i], s->bind->label, s->bind->public_z85);
            st = LEX_ST_SPOOFED_ORI;
            goto done;
        }
    }
    if ((st = read_list(lex_mp_get(&up.data, "states"), STATES_PER_SESSION, LEX_STATE_LEN + 1,
                        (char *)s->states, &s->nstates, "states", why, whylen)) != 0)
        goto done;
    for (size_t i = 0; i < s->nstates; i++)
        if (!lex_state_valid(s->states[i])) {
            st = refuse(why, whylen, "unknown state '%s'", s->states[i]);
            goto done;
        }
    if ((st = read_list(lex_mp_get(&up.data, "keys"), KEYS_PER_SESSION, LEX_KEY_MAX + 1,
                        (char *)s->keys, &s->nkeys, "keys", why, whylen)) != 0)
        goto done;
    for (size_t i = 0; i < s->nkeys; i++) {
        const lex_msgdef_t *def = lex_catalogue_find(sw->catalogue, s->keys[i]);
        if (!def || def->cls != LEX_CLASS_QUERY) {
            st = refuse(why, whylen, "'%s' is not a query key", s->keys[i]);
            goto done;
        }
    }
    const msgpack_object *role = lex_mp_get(&up.data, "role");
    if (role)
        lex_mp_str(role, s->role, sizeof s->role);
    if ((st = lex_hello_check(sw, s, why, whylen)) != 0)
        goto done;

    for (size_t i = 0; i < rid_len && 2 * i + 2 < sizeof s->conn; i++)
        snprintf(s->conn + 2 * i, 3, "%02x", rid[i]);
    s->operator_conn = lex_session_is_operator(s);
    /* one live session per ORI: another connection's is taken over only
     * when it is gone (session_claim.c) */
    if ((st = lex_session_claim(sw, s, rid, rid_len, s->conn, why, whylen)) != 0)
        goto done;
    /* a connection that registers again replaces its old session */
    session_t *old = lex_session_find(sw, rid, rid_len);
    if (old) {
        lex_route_fail_flights_of(sw, old);
        lex_session_remove(sw, old);
    }
    memcpy(s->rid, rid, rid_len);
    s->rid_len = rid_len;
    s->last_heard_us = lex_mono_us();
    if (lex_table_put(sw->sessions_by_rid, rid, rid_len, s) != 0) {
        st = refuse(why, whylen, "%s", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < s->noris && !s->operator_conn; i++)
        lex_table_put(sw->sessions_by_ori, s->oris[i], LEX_ORI_LEN, s);
    for (size_t i = 0; i < s->nstates; i++) {
        int idx = lex_state_index(s->states[i]);
        session_t **grown = realloc(sw->state_responders[idx],
                                    (sw->nstate_responders[idx] + 1) * sizeof *grown);
        if (!grown)
            continue;
        sw->state_responders[idx] = grown;
        grown[sw->nstate_responders[idx]++] = s;
    }
    if (s->peer && lex_peer_add(sw, s) != 0) {
        lex_session_remove(sw, s);
        s = NULL;
        st = refuse(why, whylen, "%s", "out of memory");
        goto done;
    }
    *out = s;
    s = NULL;
done:
    if (s) {
        free(s->serves);
        free(s->oris);
        free(s);
    }
    msgpack_unpacked_destroy(&up);
    return st;
}
