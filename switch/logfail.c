/* logfail.c: what the switch does when its audit log cannot write (a
 * failed WAL write or fsync). Nothing can be recorded any more, so nothing
 * more is forwarded: every message the failed commits held back that
 * answers someone, and every query still open, is answered with ST 42
 * log-failed, sent WITHOUT a record (the one exception to "every message
 * out is logged", docs/LOG.md "Disk space and I/O errors"), and the switch
 * stops with LEX_EXIT_LOG_FAILED for its service manager to restart it. A
 * restart continues the sequence and the chain from what is durable. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#include "lex_body.h"
#include "lex_error.h"
#include "lex_status.h"
#include "logline.h"
#include "s2s.h"

#define LOG_FAILED_TEXT "the audit log cannot write: the switch is stopping and nothing more " \
                        "is forwarded; send the query again once it is back"

/* One ST log-failed to rid about the message ref; counted only if sent. */
static void send_unlogged(lex_switch_t *sw, const uint8_t *rid, size_t rid_len, const char *to_ori,
                          uint64_t ref, const char *ctl, const char *pur)
{
    lex_envelope_t env;
    lex_envelope_init(&env);
    env.id = ++sw->next_status_id;
    strcpy(env.key, "ST");
    strcpy(env.src, "LEXSWITCH");
    if (to_ori && lex_ori_valid(to_ori))
        lex_envelope_add_dst(&env, to_ori);
    env.ref = ref;
    snprintf(env.ctl, sizeof env.ctl, "%s", ctl ? ctl : "");
    snprintf(env.purpose, sizeof env.purpose, "%s", pur ? pur : ""); /* echoed, as on every status */
    env.ts_us = lex_now_us();
    lex_buf_t e, b;
    lex_buf_init(&e);
    lex_buf_init(&b);
    int failed = lex_envelope_encode(&env, &e) != 0 ||
                 lex_status_body(&b, LEX_ST_LOG_FAILED, LOG_FAILED_TEXT) != 0;
    if (!failed)
        failed = lex_upstream_is_rid(rid, rid_len)
                     ? lex_upstream_send(sw, e.data, e.len, b.data, b.len) != 0
                     : zmq_send(sw->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
                           zmq_send(sw->router, e.data, e.len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
                           zmq_send(sw->router, b.data, b.len, ZMQ_DONTWAIT) < 0;
    if (failed) {
        sw->stats.send_failures++;
    } else {
        sw->stats.statuses++;
        sw->stats.log_failed_statuses++;
    }
    lex_buf_free(&e);
    lex_buf_free(&b);
}

void lex_logfail_begin(lex_switch_t *sw, int rc)
{
    if (sw->log_failed)
        return;
    sw->log_failed = 1;
    sw->exit_code = LEX_EXIT_LOG_FAILED;
    lex_logline_write(LEX_LOG_ERROR,
                      "AUDIT LOG CANNOT WRITE (%s): stopping now; %zu open queries and the "
                      "answers held back get ST 42 log-failed, sent without a record; the log "
                      "is intact up to seq %llu; exit status %d (restart to continue the chain)",
                      lex_strerror(rc), lex_flight_count(sw),
                      (unsigned long long)lex_log_last_seq(sw->log), LEX_EXIT_LOG_FAILED);
    /* no drain, as nothing can be recorded: a quarter second for what the
     * nodes have already sent to arrive and be answered, then stop */
    sw->draining = 1;
    sw->drain_deadline_us = lex_mono_us() + 250000u;
}

void lex_logfail_answer(lex_switch_t *sw, outbox_t *held)
{
    for (size_t i = 0; i < held->count; i++) {
        const outmsg_t *m = &held->msgs[i];
        if (m->fid)
            continue; /* a query for a responder: its flight is answered below */
        lex_envelope_t e;
        const char *field = "";
        if (lex_envelope_decode(held->data.data + m->env_off, m->env_len, &e, &field) != 0 ||
            e.ref == 0)
            continue;
        /* an answer, a status or a WELCOME that cannot go unrecorded */
        send_unlogged(sw, m->rid, m->rid_len, e.ndst ? e.dst[0] : "", e.ref, e.ctl, e.purpose);
    }
    held->count = 0;
    lex_buf_reset(&held->data);
    while (sw->flight_head) {
        flight_t *f = sw->flight_head;
        send_unlogged(sw, f->rid, f->rid_len, f->req_ori, f->req_id, f->ctl, f->purpose);
        lex_flight_close(sw, f);
    }
}

/* The one abort left (docs/LOG.md "Disk space and I/O errors"): a WAL
 * write failing while the worker thread has just begun an fsync reaches
 * RocksDB's assertion on that thread. Once the log has failed, an abort
 * is that and nothing else: say so and exit as the log failure would. */
static const lex_log_t *armed_log;

static void on_abort(int sig)
{
    static const char line[] = "lexswitch: error: RocksDB aborted after the audit log failed "
                               "(its assertion on a failed WAL): stopping with exit status 74\n";
    if (armed_log && lex_log_failed(armed_log)) {
        ssize_t w = write(2, line, sizeof line - 1);
        (void)w;
        _exit(LEX_EXIT_LOG_FAILED);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void lex_logfail_arm(lex_switch_t *sw)
{
    armed_log = sw->log;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_abort;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGABRT, &sa, NULL);
}
