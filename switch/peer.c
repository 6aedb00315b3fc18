/* peer.c: switches that joined this one. A switch registers with a HELLO
 * naming the destination patterns it serves (`serves`, e.g. ["NV*"]); with
 * CURVE each pattern must lie inside its key's binding in the directory,
 * so a state's switch can neither claim nor speak for another state's
 * ORIs. route.c sends a destination no node here serves to the joined
 * switch whose pattern fits it best, or up this switch's own link. */
#include <stdlib.h>
#include <string.h>
#include "lex_body.h"
#include "lex_glob.h"
#include "lex_status.h"
#include "s2s.h"

/* 1 when every ORI that pattern `inner` matches is matched by `outer`.
 * Decided exactly for what bindings use: the same pattern, or a plain
 * prefix followed by `*` ("NV*" holds "NV*", "NV00*", "NV0020000"). */
static int pattern_within(const char *outer, const char *inner)
{
    if (strcmp(outer, inner) == 0)
        return 1;
    size_t n = strlen(outer);
    if (n == 0 || outer[n - 1] != '*')
        return 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (outer[i] == '*' || outer[i] == '?' || inner[i] != outer[i])
            return 0;
    return 1;
}

static int bound_to_key(const lex_keybind_t *bind, const char *pattern)
{
    for (size_t i = 0; i < bind->npatterns; i++)
        if (pattern_within(bind->patterns[i], pattern))
            return 1;
    return 0;
}

int lex_peer_hello(lex_switch_t *sw, session_t *s, const msgpack_object *hello, char *why,
                   size_t whylen)
{
    (void)sw;
    const msgpack_object *serves = lex_mp_get(hello, "serves");
    if (!serves)
        return 0;
    if (s->bind && s->bind->role != LEX_KEY_SWITCH) {
        snprintf(why, whylen, "key '%s' (%s, %s) may not serve destination patterns (switch "
                 "keys only)", s->bind->label, lex_key_role_name(s->bind->role),
                 s->bind->public_z85);
        return LEX_ST_HELLO_REFUSED;
    }
    if (serves->type != MSGPACK_OBJECT_ARRAY || serves->via.array.size == 0 ||
        serves->via.array.size > LEX_KEY_PATTERNS_MAX) {
        snprintf(why, whylen, "serves must list 1 to %d destination patterns",
                 LEX_KEY_PATTERNS_MAX);
        return LEX_ST_HELLO_REFUSED;
    }
    s->serves = calloc(serves->via.array.size, sizeof *s->serves);
    if (!s->serves) {
        snprintf(why, whylen, "out of memory");
        return LEX_ST_HELLO_REFUSED;
    }
    for (uint32_t i = 0; i < serves->via.array.size; i++) {
        char *p = s->serves[s->nserves];
        if (lex_mp_str(&serves->via.array.ptr[i], p, LEX_ORI_LEN + 1) != 0 ||
            !lex_glob_pattern_valid(p)) {
            snprintf(why, whylen, "malformed destination pattern in serves");
            return LEX_ST_HELLO_REFUSED;
        }
        s->nserves++;
        if (s->bind && !bound_to_key(s->bind, p)) {
            snprintf(why, whylen, "pattern %s is not bound to this connection's key (%s)", p,
                     s->bind->label);
            return LEX_ST_SPOOFED_ORI;
        }
    }
    s->peer = LEX_PEER_SWITCH;
    return 0;
}

int lex_peer_still_bound(const session_t *s)
{
    if (!s->bind)
        return 1;
    if (s->bind->role == LEX_KEY_OPERATOR)
        return 0;
    for (size_t i = 0; i < s->nserves; i++)
        if (!bound_to_key(s->bind, s->serves[i]))
            return 0;
    return 1;
}

int lex_peer_add(lex_switch_t *sw, session_t *s)
{
    session_t **grown = realloc(sw->peers, (sw->npeers + 1) * sizeof *grown);
    if (!grown)
        return -1;
    sw->peers = grown;
    sw->peers[sw->npeers++] = s;
    return 0;
}

void lex_peer_forget(lex_switch_t *sw, session_t *s)
{
    for (size_t i = 0; i < sw->npeers; i++)
        if (sw->peers[i] == s) {
            sw->peers[i] = sw->peers[--sw->npeers];
            break;
        }
    free(s->serves);
    s->serves = NULL;
    s->nserves = 0;
}

int lex_peer_owns(const session_t *s, const char *ori, int is_status)
{
    if (s->peer == LEX_PEER_UPSTREAM)
        return 1; /* the switch we joined speaks for everyone beyond us */
    if (is_status && strcmp(ori, LEX_SWITCH_ORI) == 0)
        return 1; /* statuses and session traffic the joined switch made itself */
    for (size_t i = 0; i < s->nserves; i++)
        if (lex_glob_match(s->serves[i], ori))
            return 1;
    return 0;
}

/* Literal characters in a pattern: "NV00*" fits a destination better than "NV*" or "*". */
static size_t specificity(const char *p)
{
    size_t n = 0;
    for (; *p; p++)
        n += *p != '*' && *p != '?';
    return n;
}

session_t *lex_peer_route(lex_switch_t *sw, const char *dest, const char *src,
                          const session_t *from)
{
    session_t *best = NULL;
    size_t best_score = 0;
    for (size_t i = 0; i < sw->npeers; i++) {
        session_t *p = sw->peers[i];
        if (p == from)
            continue;
        for (size_t j = 0; j < p->nserves; j++) {
            size_t score = specificity(p->serves[j]) + 1;
            if (score > best_score && lex_glob_match(p->serves[j], dest)) {
                best = p;
                best_score = score;
            }
        }
    }
    if (best)
        return best;
    session_t *up = lex_upstream_session(sw);
    return up && up != from && lex_upstream_may_carry(sw, src) ? up : NULL;
}
