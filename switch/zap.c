/* zap.c: who may connect. With CURVE on, libzmq asks the ZAP handler about
 * every handshake; this one admits only public keys bound in the agency
 * directory and names the connection by its key (the User-Id every message
 * from it carries). It runs on the switch's loop thread, so a refused key
 * is written to the audit log like any other refusal. It must be bound
 * before the ROUTER, or libzmq would let every key in. */
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "lex_error.h"
#include "lex_keys.h"
#include "lex_status.h"
#include "logline.h"
#include "switch_internal.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES 7   /* version, request id, domain, address, routing id, mechanism, key */

int lex_zap_open(lex_switch_t *sw, char *err, size_t errlen)
{
    sw->zap = zmq_socket(sw->zctx, ZMQ_REP);
    if (!sw->zap || zmq_bind(sw->zap, ZAP_ENDPOINT) != 0) {
        snprintf(err, errlen, "cannot start the CURVE authenticator: %s",
                 zmq_strerror(zmq_errno()));
        return LEX_EZMQ;
    }
    int linger = 0;
    zmq_setsockopt(sw->zap, ZMQ_LINGER, &linger, sizeof linger);
    return 0;
}

void lex_zap_close(lex_switch_t *sw)
{
    if (sw->zap)
        zmq_close(sw->zap);
    sw->zap = NULL;
}

static void reply(lex_switch_t *sw, const zmq_msg_t *request_id, const char *code,
                  const char *text, const char *user_id)
{
    zmq_send(sw->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sw->zap, zmq_msg_data((zmq_msg_t *)request_id), zmq_msg_size((zmq_msg_t *)request_id),
             ZMQ_SNDMORE);
    zmq_send(sw->zap, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sw->zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sw->zap, user_id, strlen(user_id), ZMQ_SNDMORE);
    zmq_send(sw->zap, "", 0, 0);
}

/* Answers one request; LEX_EAGAIN when none is waiting. */
static int handle_one(lex_switch_t *sw)
{
    zmq_msg_t frames[ZAP_FRAMES];
    int n = 0, more = 1, rc = 0;
    for (; more; n++) {
        zmq_msg_t extra;
        zmq_msg_t *into = n < ZAP_FRAMES ? &frames[n] : &extra;
        zmq_msg_init(into);
        if (zmq_msg_recv(into, sw->zap, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(into);
            if (n == 0)
                return LEX_EAGAIN;
            break;
        }
        more = zmq_msg_more(into);
        if (into == &extra)
            zmq_msg_close(&extra);
    }
    int kept = n < ZAP_FRAMES ? n : ZAP_FRAMES;
    char address[LEX_CONN_MAX + 1] = "";
    char key_z85[LEX_Z85_KEY_LEN + 1] = "";
    const char *why = NULL;
    if (kept < ZAP_FRAMES || zmq_msg_size(&frames[6]) != 32) {
        why = "malformed authentication request";
    } else {
        size_t alen = zmq_msg_size(&frames[3]);
        if (alen > LEX_CONN_MAX)
            alen = LEX_CONN_MAX;
        memcpy(address, zmq_msg_data(&frames[3]), alen);
        address[alen] = 0;
        zmq_z85_encode(key_z85, zmq_msg_data(&frames[6]), 32);
        if (!lex_directory_key(sw->directory, key_z85))
            why = "key is not bound in the agency directory";
    }
    if (kept >= 2) {
        if (why)
            reply(sw, &frames[1], "400", why, "");
        else
            reply(sw, &frames[1], "200", "OK", key_z85);
    }
    uint64_t suppressed = 0;
    if (why) {
        sw->stats.unknown_keys++;
        if (sw->stats.unknown_keys <= 10 || sw->cfg.verbose)
            lex_logline_write(LEX_LOG_WARN, "connection from %s refused: %s (key %s)",
                              address[0] ? address : "?", why, key_z85[0] ? key_z85 : "-");
        /* a peer retrying an unbound key must not fill the log */
        if (lex_handshake_may_record(sw, address[0] ? address : "zap", &suppressed)) {
            char text[160];
            snprintf(text, sizeof text, "%s; %llu more from this peer were not recorded", why,
                     (unsigned long long)suppressed);
            lex_route_log_refused_peer(sw, address, key_z85, suppressed ? text : why);
        }
    }
    for (int i = 0; i < kept; i++)
        zmq_msg_close(&frames[i]);
    return rc;
}

void lex_zap_pump(lex_switch_t *sw)
{
    for (int i = 0; i < 256; i++) {
        int events = 0;
        size_t size = sizeof events;
        if (zmq_getsockopt(sw->zap, ZMQ_EVENTS, &events, &size) != 0 || !(events & ZMQ_POLLIN))
            return;
        if (handle_one(sw) != 0)
            return;
    }
}
