/* hello_check.c: may this HELLO register what it claims? With CURVE the
 * connection's key binding decides (docs/PROTOCOL.md, "Key bindings"): an
 * agency key only requests, a responder key answers for its ORIs and the
 * states of its states=, an operator key is a desk, a switch key serves
 * patterns. Without CURVE (dev_plain) the directory still decides who may
 * register as a state's responder. Called by session registration before
 * anything is stored; a refusal names the key so the audit record does. */
#include <stdio.h>
#include <string.h>
#include "lex_status.h"
#include "logline.h"
#include "switch_internal.h"

/* What the HELLO's free-text role implies, or -1 for a plain label
 * ("test", "tool", "node") that claims nothing by itself. */
static int role_claimed(const char *role)
{
    if (strcmp(role, "operator") == 0)
        return LEX_KEY_OPERATOR;
    if (strcmp(role, "switch") == 0)
        return LEX_KEY_SWITCH;
    if (strcmp(role, "state") == 0 || strcmp(role, "bridge") == 0 ||
        strcmp(role, "responder") == 0)
        return LEX_KEY_RESPONDER;
    if (strcmp(role, "agency") == 0)
        return LEX_KEY_AGENCY;
    return -1;
}

static int refuse_key(const session_t *s, char *why, size_t whylen, const char *what)
{
    snprintf(why, whylen, "key '%s' (%s, %s) %s", s->bind->label,
             lex_key_role_name(s->bind->role), s->bind->public_z85, what);
    return LEX_ST_HELLO_REFUSED;
}

static int check_curve(const session_t *s, char *why, size_t whylen)
{
    const lex_keybind_t *b = s->bind;
    char what[160];
    if (b->role == LEX_KEY_SWITCH && s->peer != LEX_PEER_SWITCH)
        return refuse_key(s, why, whylen, "is a switch key: its HELLO must name what it serves");
    if (s->peer == LEX_PEER_SWITCH && b->role != LEX_KEY_SWITCH)
        return refuse_key(s, why, whylen, "may not serve destination patterns (switch keys only)");
    if (s->nstates && b->role != LEX_KEY_RESPONDER) {
        snprintf(what, sizeof what, "may not register as state %s's responder", s->states[0]);
        return refuse_key(s, why, whylen, what);
    }
    for (size_t i = 0; i < s->nstates; i++)
        if (!lex_keybind_serves_state(b, s->states[i])) {
            snprintf(what, sizeof what, "is not bound to serve state %s (states= of its binding)",
                     s->states[i]);
            return refuse_key(s, why, whylen, what);
        }
    if (s->nkeys && b->role != LEX_KEY_RESPONDER) {
        snprintf(what, sizeof what, "may not answer %s queries (responder keys only)", s->keys[0]);
        return refuse_key(s, why, whylen, what);
    }
    for (size_t i = 0; i < s->nkeys; i++)
        if (!lex_keybind_answers(b, s->keys[i])) {
            snprintf(what, sizeof what, "is not bound to answer %s (keys= of its binding)",
                     s->keys[i]);
            return refuse_key(s, why, whylen, what);
        }
    /* the free-text role, where it names one, must be the key's too */
    int claimed = role_claimed(s->role);
    if (claimed >= 0 && claimed != (int)b->role) {
        snprintf(what, sizeof what, "may not register with role '%s'", s->role);
        return refuse_key(s, why, whylen, what);
    }
    return 0;
}

/* dev_plain: every state claimed must be backed by one of the HELLO's ORIs
 * that the directory names as that state's responder. */
static int check_plain(const lex_switch_t *sw, const session_t *s, char *why, size_t whylen)
{
    if (!sw->directory)
        return 0; /* nothing to check against; loop.c warns about dev_plain */
    for (size_t i = 0; i < s->nstates; i++) {
        int backed = 0;
        for (size_t j = 0; j < s->noris && !backed; j++)
            backed = lex_directory_state_responder(sw->directory, s->oris[j], s->states[i]);
        if (!backed) {
            snprintf(why, whylen,
                     "%s may not register as state %s's responder: the directory lists it "
                     "neither as that state's DMV nor under a responder key with states=%s",
                     s->noris ? s->oris[0] : "this HELLO", s->states[i], s->states[i]);
            return LEX_ST_HELLO_REFUSED;
        }
    }
    return 0;
}

int lex_hello_check(const lex_switch_t *sw, const session_t *s, char *why, size_t whylen)
{
    if (s->peer == LEX_PEER_UPSTREAM)
        return 0;
    return s->bind ? check_curve(s, why, whylen) : check_plain(sw, s, why, whylen);
}

void lex_hello_check_warn_broad(const lex_switch_t *sw)
{
    for (size_t i = 0; i < lex_directory_key_count(sw->directory); i++) {
        const lex_keybind_t *k = lex_directory_key_at(sw->directory, i);
        if (!k->broad)
            continue;
        char scope[64] = "";
        for (size_t j = 0, used = 0; j < k->npatterns && used + 12 < sizeof scope; j++)
            used += (size_t)snprintf(scope + used, sizeof scope - used, "%s%s", j ? " " : "",
                                     k->patterns[j]);
        lex_logline_write(LEX_LOG_WARN,
                          "%s:%zu: key '%s' (%s) is bound broadly (%s%s): it may speak for "
                          "every agency its patterns match",
                          sw->cfg.directory, k->line, k->label, lex_key_role_name(k->role), scope,
                          k->npatterns > 4 ? " ..." : "");
    }
}
