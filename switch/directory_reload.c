/* directory_reload.c: the agency directory and its key bindings reloaded
 * while the switch runs (SIGHUP, `lexctl directory reload`; docs/OPERATIONS.md,
 * "Reloading the directory"). The new file is loaded whole beside the old
 * one, and a bad file changes nothing. Then, between passes of the loop,
 * every pointer into the old directory moves to the new one (the audit
 * writer's, each session's key binding), the rules' cached decisions are
 * dropped, and sessions lose what the new bindings no longer allow: a
 * revoked key's sessions get ST key-revoked and BYE at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_status.h"
#include "logline.h"
#include "s2s.h"

static void write_status(lex_switch_t *sw, int ok, const char *message)
{
    lex_reload_status_write(sw, "directory-status", sw->stats.directory_reloads, ok, message);
}

/* Queues one switch-made message to s, with its out-record. */
static void queue_to(lex_switch_t *sw, const session_t *s, const char *key, const char *to_ori,
                     int status, const void *body, size_t body_len)
{
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = ++sw->next_status_id;
    snprintf(env.key, sizeof env.key, "%s", key);
    strcpy(env.src, LEX_SWITCH_ORI);
    if (to_ori && lex_ori_valid(to_ori))
        lex_envelope_add_dst(&env, to_ori);
    env.ts_us = lex_now_us();
    lex_buf_reset(&sw->scratch_env);
    if (lex_envelope_encode(&env, &sw->scratch_env) != 0)
        return;
    lex_route_log_record(sw, LEX_DIR_OUT, s->conn, key, LEX_SWITCH_ORI, to_ori, env.id, 0,
                         "revoke", "", status, sw->scratch_env.data, sw->scratch_env.len, body,
                         body_len);
    if (lex_outbox_add(sw, s->rid, s->rid_len, 0, sw->scratch_env.data, sw->scratch_env.len, body,
                       body_len) != 0)
        lex_logline_write(LEX_LOG_ERROR, "out of memory queueing a message");
    if (strcmp(key, "ST") == 0)
        sw->stats.statuses++;
    else
        sw->stats.forwarded++;
}

/* Tells s with ST key-revoked why it lost something. */
static void tell_revoked(lex_switch_t *sw, const session_t *s, const char *to_ori, const char *text)
{
    lex_buf_reset(&sw->scratch_body);
    lex_status_body(&sw->scratch_body, LEX_ST_REVOKED, text);
    queue_to(sw, s, "ST", to_ori, LEX_ST_REVOKED, sw->scratch_body.data, sw->scratch_body.len);
}

/* Queries s asked (for ori, or for any ORI when ori is NULL) that are
 * still open: their answers must not reach a connection that lost the
 * right to them. Each is closed with a record; a late answer is then
 * refused as unsolicited. */
static void close_asked(lex_switch_t *sw, const session_t *s, const char *ori)
{
    for (flight_t *f = sw->flight_head, *next; f; f = next) {
        next = f->next;
        if (f->rid_len != s->rid_len || memcmp(f->rid, s->rid, s->rid_len) != 0 ||
            (ori && strcmp(f->req_ori, ori) != 0))
            continue;
        lex_route_log_record(sw, LEX_DIR_OUT, s->conn, "ST", f->dest, f->req_ori, 0, f->req_id,
                             "revoke", "", LEX_ST_REVOKED, NULL, 0, NULL, 0);
        lex_flight_close(sw, f);
    }
}

/* ST key-revoked, then BYE {reason}; the queries it answers get node-lost,
 * those it asked are closed. */
static void end_session(lex_switch_t *sw, session_t *s, const char *text)
{
    sw->stats.revoked++;
    lex_logline_write(LEX_LOG_WARN, "directory reload: session %s (%s, ORI %s) ended: %s",
                      s->conn, s->role, s->noris ? s->oris[0] : "-", text);
    tell_revoked(sw, s, s->noris ? s->oris[0] : "", text);
    lex_buf_reset(&sw->scratch_body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sw->scratch_body, lex_buf_write);
    msgpack_pack_map(&pk, 1);
    lex_mp_pack_kv_str(&pk, "reason", "key-revoked");
    queue_to(sw, s, "BYE", s->noris ? s->oris[0] : "", LEX_ST_REVOKED, sw->scratch_body.data,
             sw->scratch_body.len);
    lex_route_fail_flights_of(sw, s);
    close_asked(sw, s, NULL);
    lex_session_remove(sw, s);
}

/* Takes ORI i from s (no longer routed to it, no longer its to send as). */
static void withdraw_ori(lex_switch_t *sw, session_t *s, size_t i, const char *text)
{
    sw->stats.revoked++;
    char ori[LEX_ORI_LEN + 1];
    memcpy(ori, s->oris[i], sizeof ori);
    lex_logline_write(LEX_LOG_WARN, "directory reload: ORI %s withdrawn from session %s: %s", ori,
                      s->conn, text);
    if (lex_table_get(sw->sessions_by_ori, ori, LEX_ORI_LEN) == s)
        lex_table_del(sw->sessions_by_ori, ori, LEX_ORI_LEN);
    memmove(&s->oris[i], &s->oris[i + 1], (s->noris - i - 1) * sizeof s->oris[0]);
    s->noris--;
    close_asked(sw, s, ori);
    tell_revoked(sw, s, ori, text);
}

/* Binds s to the new directory: keeps it, narrows it, or ends it. */
static void rebind(lex_switch_t *sw, session_t *s, const lex_directory_t *fresh,
                   size_t *ended, size_t *withdrawn)
{
    char text[200];
    const lex_keybind_t *bind = NULL;
    if (s->peer_key[0]) {
        bind = lex_directory_key(fresh, s->peer_key);
        if (!bind) {
            snprintf(text, sizeof text, "key %s (%s) was removed from the directory",
                     s->peer_key, s->bind ? s->bind->label : "?");
            end_session(sw, s, text);
            (*ended)++;
            return;
        }
    }
    int was_operator = s->bind && s->bind->role == LEX_KEY_OPERATOR;
    s->bind = bind; /* from here on no pointer into the old directory */
    if (bind && was_operator != (bind->role == LEX_KEY_OPERATOR)) {
        snprintf(text, sizeof text, "key %s changed role in the directory: register again",
                 bind->label);
        end_session(sw, s, text);
        (*ended)++;
        return;
    }
    /* what it registered must still fit its key's role and scope (states=,
     * keys=), or without CURVE the directory's responders */
    if (s->peer != LEX_PEER_UPSTREAM && lex_hello_check(sw, s, text, sizeof text) != 0) {
        end_session(sw, s, text);
        (*ended)++;
        return;
    }
    if (s->peer == LEX_PEER_SWITCH && !lex_peer_still_bound(s)) {
        snprintf(text, sizeof text, "key %s no longer binds every pattern this switch serves",
                 bind ? bind->label : "?");
        end_session(sw, s, text);
        (*ended)++;
        return;
    }
    size_t before = s->noris;
    for (size_t i = 0; i < s->noris;) {
        const char *ori = s->oris[i];
        if (!lex_directory_find(fresh, ori))
            snprintf(text, sizeof text, "ORI %s was removed from the directory", ori);
        else if (bind && !lex_keybind_allows(bind, ori))
            snprintf(text, sizeof text, "ORI %s is no longer bound to key %s", ori, bind->label);
        else {
            i++;
            continue;
        }
        if (s->noris == 1 && !s->peer) {
            end_session(sw, s, text); /* nothing left to speak for */
            (*ended)++;
            return;
        }
        withdraw_ori(sw, s, i, text);
    }
    *withdrawn += before - s->noris;
}

static void collect(const void *key, size_t len, void *value, void *arg)
{
    (void)key;
    (void)len;
    session_t ***at = arg;
    *(*at)++ = value;
}

/* Every session moves to fresh, or loses what fresh no longer allows. */
static int rebind_all(lex_switch_t *sw, const lex_directory_t *fresh, size_t *ended,
                      size_t *withdrawn)
{
    size_t n = lex_table_count(sw->sessions_by_rid);
    session_t **list = calloc(n ? n : 1, sizeof *list), **at = list;
    if (!list)
        return LEX_ENOMEM;
    lex_table_each(sw->sessions_by_rid, collect, &at);
    for (size_t i = 0; i < n; i++)
        if (list[i]->peer != LEX_PEER_UPSTREAM) /* our own link: its key is the upstream's */
            rebind(sw, list[i], fresh, ended, withdrawn);
    free(list);
    return 0;
}

static int refuse_reload(lex_switch_t *sw, int rc, const char *why, char *msg, size_t msglen)
{
    sw->stats.directory_reload_failures++;
    snprintf(msg, msglen, "directory NOT reloaded, the old one stays in force: %s", why);
    lex_logline_write(LEX_LOG_ERROR, "%s", msg);
    write_status(sw, 0, msg);
    lex_route_log_record(sw, LEX_DIR_IN, "", "RELOAD", "", "", sw->stats.directory_reloads, 0,
                         "refuse", "directory", 0, NULL, 0, msg, strlen(msg));
    return rc;
}

int lex_directory_reload(lex_switch_t *sw, char *msg, size_t msglen)
{
    char err[600] = "";
    uint64_t t0 = lex_mono_us();
    sw->stats.directory_reloads++;
    if (!sw->cfg.directory[0]) { /* nothing to reload: said to lexctl, no alarm */
        snprintf(msg, msglen, "no directory file is set (option directory): nothing reloaded");
        write_status(sw, 0, msg);
        return LEX_EINVAL;
    }
    lex_directory_t *fresh = NULL;
    int rc = lex_directory_load(sw->cfg.directory, &fresh, err, sizeof err);
    if (rc != 0)
        return refuse_reload(sw, rc, err, msg, msglen);
    if (sw->zap && lex_directory_key_count(fresh) == 0) {
        snprintf(err, sizeof err, "%s binds no key, and with CURVE every connection would be "
                                  "cut off", sw->cfg.directory);
        lex_directory_destroy(&fresh);
        return refuse_reload(sw, LEX_EINVAL, err, msg, msglen);
    }
    lex_directory_t *old = sw->directory;
    sw->directory = fresh;
    lex_log_set_directory(sw->log, fresh);
    lex_policy_forget_decisions(sw->policy); /* cached on a requester's old attributes */
    size_t ended = 0, withdrawn = 0;
    rc = rebind_all(sw, fresh, &ended, &withdrawn);
    if (rc != 0) {
        /* no session could be moved: go back to the old directory whole */
        sw->directory = old;
        lex_log_set_directory(sw->log, old);
        lex_directory_destroy(&fresh);
        return refuse_reload(sw, rc, "out of memory", msg, msglen);
    }
    lex_directory_destroy(&old);
    snprintf(msg, msglen, "directory reloaded from %s: %zu agencies, %zu keys; %zu sessions "
                          "ended, %zu ORIs withdrawn (%.1f ms)", sw->cfg.directory,
             lex_directory_count(fresh), lex_directory_key_count(fresh), ended, withdrawn,
             (double)(lex_mono_us() - t0) / 1000.0);
    lex_logline_write(LEX_LOG_INFO, "%s", msg);
    lex_hello_check_warn_broad(sw);
    write_status(sw, 1, msg);
    lex_route_log_record(sw, LEX_DIR_IN, "", "RELOAD", "", "", sw->stats.directory_reloads, 0,
                         "reload", "directory", 0, NULL, 0, msg, strlen(msg));
    return 0;
}
