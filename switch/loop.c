/* loop.c: the switch object and its libuv loop. ZeroMQ's descriptor is
 * edge-triggered, so every wake-up drains the ROUTER while ZMQ_EVENTS says
 * readable, in passes: receive up to a batch, commit the audit log once
 * (group commit), then send what the pass produced; with sync durability
 * the fsync runs on a worker thread while the next passes are received,
 * and a pass's messages leave once an fsync covering them returns. Timers
 * drive timeouts,
 * heartbeats and dead-node detection; SIGINT/SIGTERM drain and stop; SIGHUP
 * reloads the rules and the agency directory. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#include "lex_error.h"
#include "lex_keys.h"
#include "lex_textfile.h"
#include "logline.h"
#include "s2s.h"

#define PASS_MAX 1024     /* messages received per group commit */
#define PASSES_PER_WAKE 8 /* then yield to timers and come back */
#define TICK_MS 25

static void pump(lex_switch_t *sw);
static void look_again(lex_switch_t *sw);
static void commit_and_flush(lex_switch_t *sw);

/* the one line a failing log repeats, at most every few seconds */
static lex_logline_limit_t sw_fail_lim;

static int sync_pending(const lex_switch_t *sw)
{
    return sw->sync_busy || sw->wal_dirty || sw->wal_wait.count > 0;
}

/* Sends a batch whose records are durable, then fails back the queries a
 * full responder queue refused (their ST busy goes through the log). */
static void flush_durable(lex_switch_t *sw, outbox_t *ob)
{
    lex_outbox_flush_box(sw, ob);
    if (sw->nbounced) {
        lex_route_fail_bounced(sw);
        sw->nbounced = 0;
        commit_and_flush(sw);
    }
    lex_stats_sent(sw, lex_mono_us());
    lex_mimic_sent(sw, lex_mono_us());
}

static void sync_work(uv_work_t *req)
{
    lex_switch_t *sw = req->data;
    sw->sync_rc = lex_log_sync(sw->log);
}

static void sync_start(lex_switch_t *sw);

static void sync_done(uv_work_t *req, int status)
{
    lex_switch_t *sw = req->data;
    sw->sync_busy = 0;
    if (status == 0 && sw->sync_rc == 0) {
        lex_log_note_sync(sw->log);
        flush_durable(sw, &sw->wal_syncing);
        look_again(sw);
    } else {
        /* not durable: what the fsync covered, and what waits for the
         * next, is never sent as it stands */
        lex_stats_unsent(sw);
        lex_mimic_unsent(sw);
        lex_logline_limited(&sw_fail_lim, 5, LEX_LOG_ERROR,
                            "AUDIT LOG FSYNC FAILED: %zu messages held back",
                            sw->wal_syncing.count + sw->wal_wait.count);
        lex_logfail_begin(sw, LEX_EIO);
        lex_logfail_answer(sw, &sw->wal_syncing);
        lex_logfail_answer(sw, &sw->wal_wait);
        sw->wal_dirty = 0;
        look_again(sw);
        return;
    }
    sync_start(sw);
}

/* Starts an fsync covering every commit so far, unless one is under way
 * (the next starts when it returns); messages that need none go at once,
 * behind those still waiting. */
static void sync_start(lex_switch_t *sw)
{
    if (sw->sync_busy || (!sw->wal_dirty && sw->wal_wait.count == 0))
        return;
    outbox_t t = sw->wal_syncing;
    sw->wal_syncing = sw->wal_wait;
    sw->wal_wait = t;
    if (!sw->wal_dirty) {
        flush_durable(sw, &sw->wal_syncing);
        return;
    }
    sw->wal_dirty = 0;
    sw->sync_busy = 1;
    sw->sync_req.data = sw;
    if (uv_queue_work(&sw->loop, &sw->sync_req, sync_work, sync_done) != 0) {
        sw->sync_rc = lex_log_sync(sw->log); /* no worker: sync here */
        sync_done(&sw->sync_req, 0);
    }
}

/* After the loop has stopped: the last fsync, here, and its messages. */
static void sync_now(lex_switch_t *sw)
{
    if (!lex_log_deferring(sw->log))
        return;
    lex_outbox_take(&sw->wal_syncing, &sw->wal_wait);
    if (sw->wal_dirty) {
        sw->wal_dirty = 0;
        if (lex_log_sync(sw->log) != 0) {
            lex_logfail_begin(sw, LEX_EIO);
            lex_logfail_answer(sw, &sw->wal_syncing);
            return;
        }
        lex_log_note_sync(sw->log);
    }
    lex_outbox_flush_box(sw, &sw->wal_syncing);
}

static void commit_and_flush(lex_switch_t *sw)
{
    size_t records = lex_log_pending(sw->log);
    if (records == 0 && sw->outbox.count == 0)
        return;
    uint64_t t0 = lex_mono_us();
    int rc = lex_log_commit(sw->log);
    lex_mimic_committed(sw, rc == 0); /* held statuses may go once their records are in */
    if (records)
        lex_stats_commit(sw, records, lex_mono_us() - t0, rc == 0);
    if (rc != 0) {
        lex_stats_unsent(sw);
        lex_mimic_unsent(sw);
        lex_logline_limited(&sw_fail_lim, 5, LEX_LOG_ERROR,
                            "AUDIT LOG COMMIT FAILED (%s): %zu messages held back",
                            lex_strerror(rc), sw->outbox.count);
        if (lex_log_failed(sw->log)) {
            /* the log is dead: answer what it held back, and what waits
             * for an fsync that can no longer make it durable, and stop */
            lex_logfail_begin(sw, rc);
            lex_logfail_answer(sw, &sw->outbox);
            lex_logfail_answer(sw, &sw->wal_wait);
            sw->wal_dirty = 0;
            return;
        }
        /* a read for the rollups failed, the log itself is fine: nothing
         * unlogged leaves the switch; the queries stay open and their
         * requesters get a timeout status */
        sw->outbox.count = 0;
        lex_buf_reset(&sw->outbox.data);
        return;
    }
    lex_witness_publish(sw); /* a new checkpoint leaves with this commit's messages */
    if (lex_log_deferring(sw->log)) {
        /* written, not yet synced: the messages wait for an fsync */
        sw->wal_dirty |= records > 0;
        if (lex_outbox_take(&sw->wal_wait, &sw->outbox) != 0)
            lex_logline_write(LEX_LOG_ERROR, "out of memory queueing messages for the fsync");
        sync_start(sw);
        return;
    }
    lex_outbox_flush(sw);
    if (sw->nbounced) {
        /* queries a full responder queue refused: their ST busy needs its
         * own log record before it goes out */
        lex_route_fail_bounced(sw);
        if (lex_log_commit(sw->log) == 0)
            lex_outbox_flush(sw);
        sw->nbounced = 0;
    }
    lex_stats_sent(sw, lex_mono_us());
    lex_mimic_sent(sw, lex_mono_us());
}

/* Receives one message; 0 when one was handled, LEX_EAGAIN when none. */
static int recv_one(lex_switch_t *sw)
{
    zmq_msg_t rid, f1, f2;
    zmq_msg_init(&rid);
    if (zmq_msg_recv(&rid, sw->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&rid);
        return LEX_EAGAIN;
    }
    zmq_msg_init(&f1);
    zmq_msg_init(&f2);
    int frames = 0;
    int more = zmq_msg_more(&rid);
    while (more) {
        if (frames < 2) {
            zmq_msg_t *into = frames == 0 ? &f1 : &f2;
            if (zmq_msg_recv(into, sw->router, 0) < 0)
                break;
            more = zmq_msg_more(into);
        } else { /* frames beyond the second are counted and dropped */
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            int got = zmq_msg_recv(&extra, sw->router, 0);
            more = got >= 0 && zmq_msg_more(&extra);
            zmq_msg_close(&extra);
            if (got < 0)
                break;
        }
        frames++;
    }
    /* the authenticator named the connection by its CURVE key */
    const char *peer_key = sw->zap && frames > 0 ? zmq_msg_gets(&f1, "User-Id") : NULL;
    sw->cur_srcfd = frames > 0 ? zmq_msg_get(&f1, ZMQ_SRCFD) : -1; /* for HELLO (conn_limits.c) */
    lex_route_message(sw, zmq_msg_data(&rid), zmq_msg_size(&rid), peer_key ? peer_key : "",
                      frames, zmq_msg_data(&f1), zmq_msg_size(&f1), zmq_msg_data(&f2),
                      zmq_msg_size(&f2));
    sw->cur_srcfd = -1;
    zmq_msg_close(&f2);
    zmq_msg_close(&f1);
    zmq_msg_close(&rid);
    return 0;
}

static int readable(lex_switch_t *sw)
{
    int events = 0;
    size_t size = sizeof events;
    if (zmq_getsockopt(sw->router, ZMQ_EVENTS, &events, &size) != 0)
        return 0;
    return (events & ZMQ_POLLIN) != 0;
}

static void on_more(uv_idle_t *h)
{
    pump(h->data);
}

static void pump(lex_switch_t *sw)
{
    /* connections that closed first: a descriptor seen again is a new one */
    lex_conns_pump(sw);
    if (sw->nbacklogged) /* a pipe that drained wakes the ROUTER's descriptor */
        lex_outq_retry(sw);
    for (int pass = 0; pass < PASSES_PER_WAKE; pass++) {
        if (!readable(sw)) {
            uv_idle_stop(&sw->more);
            if (sw->ngone) { /* what they sent is read: now their sessions end */
                lex_route_end_gone(sw);
                commit_and_flush(sw);
            }
            return;
        }
        sw->pass_us = lex_mono_us();
        for (int i = 0; i < PASS_MAX; i++)
            if (recv_one(sw) != 0)
                break;
        commit_and_flush(sw);
    }
    uv_idle_start(&sw->more, on_more);
}

/* Sends on the ROUTER outside pump() (after an fsync, a timer, a batch from
 * the upstream link) can swallow its descriptor's edge: look at the ROUTER
 * again on the next turn of the loop (pump stops the idle when it is dry). */
static void look_again(lex_switch_t *sw)
{
    if (!uv_is_closing((uv_handle_t *)&sw->more))
        uv_idle_start(&sw->more, on_more);
}

static void after_upstream(lex_switch_t *sw)
{
    commit_and_flush(sw);
    look_again(sw);
}

static void after_mimic(lex_switch_t *sw)
{
    commit_and_flush(sw);
    look_again(sw);
}

static void on_zmq(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    pump(h->data);
}

static void on_monitor(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    lex_switch_t *sw = h->data;
    lex_conns_pump(sw); /* a closed connection ends its session: statuses to send */
    commit_and_flush(sw);
    look_again(sw);
}

static void on_zap(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    lex_switch_t *sw = h->data;
    lex_zap_pump(sw);
    commit_and_flush(sw);
}

static void on_handshake(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    lex_switch_t *sw = h->data;
    lex_handshake_watch_pump(sw);
    commit_and_flush(sw);
}

static void close_all(lex_switch_t *sw)
{
    lex_metrics_http_close(sw);
    lex_handshake_watch_stop(sw);
    uv_close((uv_handle_t *)&sw->zpoll, NULL);
    uv_close((uv_handle_t *)&sw->mon_poll, NULL);
    if (sw->zap)
        uv_close((uv_handle_t *)&sw->zap_poll, NULL);
    uv_close((uv_handle_t *)&sw->tick, NULL);
    uv_close((uv_handle_t *)&sw->more, NULL);
    uv_close((uv_handle_t *)&sw->sigint, NULL);
    uv_close((uv_handle_t *)&sw->sigterm, NULL);
    uv_close((uv_handle_t *)&sw->sighup, NULL);
    uv_close((uv_handle_t *)&sw->stop_async, NULL);
    lex_mimic_close(sw);
    lex_upstream_close(sw);
}

static void on_tick(uv_timer_t *h)
{
    lex_switch_t *sw = h->data;
    uint64_t now = lex_mono_us();
    lex_stall_check(sw, now);
    pump(sw);
    if (sw->zap)
        lex_zap_pump(sw); /* edge-triggered: never leave a request waiting */
    if (!lex_stall_recent(sw, now))
        lex_route_expire(sw, now);
    lex_conns_tick(sw, now);
    lex_outq_tick(sw, now);
    lex_upstream_tick(sw, now);
    lex_diskwatch_tick(sw, now);
    if (now - sw->last_sample_us >= 1000000u) {
        sw->last_sample_us = now;
        lex_stats_sample(sw, now);
    }
    if (now - sw->last_heartbeat_us >= (uint64_t)sw->cfg.heartbeat_ms * 1000u) {
        sw->last_heartbeat_us = now;
        lex_route_heartbeat(sw);
        lex_route_reap(sw, now);
        lex_route_expire_holds(sw);
    }
    commit_and_flush(sw);
    lex_access_tick(sw, now, 0);
    lex_log_stats_t before, after;
    lex_log_get_stats(sw->log, &before);
    lex_log_tick(sw->log); /* a signed checkpoint when one is due on an idle log */
    lex_clock_tick(sw, now);
    lex_retention_tick(sw, now);
    lex_scrub_tick(sw);
    lex_log_get_stats(sw->log, &after);
    if (lex_log_deferring(sw->log) && after.commits != before.commits) {
        sw->wal_dirty = 1;
        sync_start(sw);
    }
    if (lex_witness_publish(sw) + lex_witness_answer_due(sw)) /* behind the fsync just started */
        commit_and_flush(sw);
    if (sw->draining && (lex_flight_count(sw) == 0 || now >= sw->drain_deadline_us) &&
        (!sw->log_failed || now >= sw->drain_deadline_us) &&
        (!sync_pending(sw) || now >= sw->drain_deadline_us + 1000000u)) {
        if (lex_flight_count(sw) > 0) {
            lex_logline_write(LEX_LOG_WARN, "drain time over, %zu queries still open get a timeout",
                    lex_flight_count(sw));
            lex_route_expire(sw, UINT64_MAX);
        }
        lex_mimic_release(sw, UINT64_MAX); /* held no-records go before BYE */
        lex_route_bye_all(sw);
        commit_and_flush(sw);
        close_all(sw);
        return;
    }
    look_again(sw);
}

static void begin_drain(lex_switch_t *sw, const char *why)
{
    if (sw->draining)
        return;
    lex_logline_write(LEX_LOG_INFO, "%s: draining %zu open queries (at most %d ms)", why,
            lex_flight_count(sw), sw->cfg.drain_ms);
    sw->draining = 1;
    sw->drain_deadline_us = lex_mono_us() + (uint64_t)sw->cfg.drain_ms * 1000u;
}

static void on_signal(uv_signal_t *h, int signum)
{
    begin_drain(h->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_stop_async(uv_async_t *h)
{
    begin_drain(h->data, "stop requested");
}

static int reload_rules(lex_switch_t *sw, char *err, size_t errlen)
{
    lex_policy_t *fresh = NULL;
    int rc = lex_policy_new(&fresh);
    if (rc != 0)
        return rc;
    if (sw->cfg.rules_dir[0] && (rc = lex_policy_load_dir(fresh, sw->cfg.rules_dir, err,
                                                          errlen)) != 0) {
        lex_policy_destroy(&fresh);
        return rc;
    }
    lex_policy_destroy(&sw->policy);
    sw->policy = fresh;
    return 0;
}

/* <data>/<name> (rules-status, directory-status) tells `lexctl rules
 * reload` or `lexctl directory reload` how the last reload went:
 * "<generation> ok|refused <message>". Written atomically. */
void lex_reload_status_write(lex_switch_t *sw, const char *name, uint64_t generation, int ok,
                             const char *message)
{
    char path[LEX_PATH_MAX + 32], line[1024];
    snprintf(path, sizeof path, "%s/%s", sw->cfg.data_dir, name);
    snprintf(line, sizeof line, "%llu %s %s\n", (unsigned long long)generation,
             ok ? "ok" : "refused", message);
    lex_textfile_write_atomic(path, line);
}

static void write_rules_status(lex_switch_t *sw, int ok, const char *message)
{
    lex_reload_status_write(sw, "rules-status", sw->rules_generation, ok, message);
}

static void on_sighup(uv_signal_t *h, int signum)
{
    (void)signum;
    lex_switch_t *sw = h->data;
    char err[512] = "";
    sw->rules_generation++;
    /* between passes: no message is half-decided when the rules change */
    if (reload_rules(sw, err, sizeof err) != 0) {
        lex_logline_write(LEX_LOG_ERROR, "SIGHUP: rules NOT reloaded, old rules stay in force: %s",
                err);
        write_rules_status(sw, 0, err);
    } else {
        char msg[LEX_PATH_MAX + 64];
        snprintf(msg, sizeof msg, "rules reloaded from %s",
                 sw->cfg.rules_dir[0] ? sw->cfg.rules_dir : "(no rules directory)");
        lex_logline_write(LEX_LOG_INFO, "SIGHUP: %s", msg);
        write_rules_status(sw, 1, msg);
    }
    /* and the directory with its keys (directory_reload.c logs the outcome);
     * what it sends revoked sessions leaves after the log commit */
    char dmsg[LEX_PATH_MAX + 700];
    lex_directory_reload(sw, dmsg, sizeof dmsg);
    commit_and_flush(sw);
    look_again(sw);
}

static int write_pid_file(lex_switch_t *sw)
{
    char path[LEX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/lexswitch.pid", sw->cfg.data_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return LEX_EIO;
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f) == 0 ? 0 : LEX_EIO;
}

static void remove_pid_file(lex_switch_t *sw)
{
    char path[LEX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/lexswitch.pid", sw->cfg.data_dir);
    unlink(path);
}

static int bind_one(lex_switch_t *sw, const char *endpoint, char *err, size_t errlen)
{
    if (!endpoint[0])
        return 0;
    if (zmq_bind(sw->router, endpoint) != 0) {
        snprintf(err, errlen, "cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        return LEX_EZMQ;
    }
    char last[LEX_PATH_MAX];
    size_t size = sizeof last;
    if (zmq_getsockopt(sw->router, ZMQ_LAST_ENDPOINT, last, &size) != 0)
        snprintf(last, sizeof last, "%s", endpoint);
    size_t used = strlen(sw->endpoints);
    snprintf(sw->endpoints + used, sizeof sw->endpoints - used, "%s\n", last);
    return 0;
}

static int write_ready_file(lex_switch_t *sw)
{
    char tmp[LEX_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", sw->cfg.ready_file);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return LEX_EIO;
    fputs(sw->endpoints, f);
    if (fclose(f) != 0)
        return LEX_EIO;
    return rename(tmp, sw->cfg.ready_file) == 0 ? 0 : LEX_EIO;
}

/* CURVE on the ROUTER (every endpoint), with the authenticator admitting
 * only keys bound in the directory; or, with dev_plain, nothing at all, and
 * a warning nobody can miss. */
static int setup_security(lex_switch_t *sw, char *err, size_t errlen)
{
    const lex_switch_config_t *cfg = &sw->cfg;
    if (cfg->dev_plain) {
        lex_logline_write(LEX_LOG_WARN,
                          "*** dev_plain is set: NO ENCRYPTION, NO AUTHENTICATION: any process "
                          "that reaches %s%s%s may connect and claim any ORI. Development only, "
                          "never with real records. ***",
                          cfg->bind_tcp, cfg->bind_tcp[0] && cfg->bind_ipc[0] ? " or " : "",
                          cfg->bind_ipc);
        return 0;
    }
    if (!cfg->curve_key[0]) {
        snprintf(err, errlen, "CURVE is on by default and needs the switch's key: set curve_key "
                              "(make one with 'lexctl keys gen'), or dev_plain = 1 for "
                              "development without security");
        return LEX_EINVAL;
    }
    if (lex_directory_key_count(sw->directory) == 0) {
        snprintf(err, errlen, "CURVE admits only keys bound in the agency directory, and %s "
                              "binds none (add @key lines; see docs/THREAT-MODEL.md)",
                 cfg->directory[0] ? cfg->directory : "no directory is set:");
        return LEX_EINVAL;
    }
    lex_keypair_t kp;
    char why[600];
    int rc = lex_keyfile_load(cfg->curve_key, &kp, why, sizeof why);
    if (rc == 0 && !kp.secret_z85[0]) {
        snprintf(why, sizeof why, "%s holds no secret key", cfg->curve_key);
        rc = LEX_EINVAL;
    }
    if (rc != 0) {
        snprintf(err, errlen, "switch key: %s", why);
        return rc;
    }
    if ((rc = lex_zap_open(sw, err, errlen)) != 0)
        return rc;
    int one = 1;
    if (zmq_setsockopt(sw->router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(sw->router, ZMQ_CURVE_SECRETKEY, kp.secret_z85, LEX_Z85_KEY_LEN + 1) != 0 ||
        zmq_setsockopt(sw->router, ZMQ_ZAP_DOMAIN, "lexswitch", 9) != 0) {
        snprintf(err, errlen, "cannot enable CURVE: %s", zmq_strerror(zmq_errno()));
        memset(&kp, 0, sizeof kp);
        return LEX_EZMQ;
    }
    memset(&kp, 0, sizeof kp);
    /* peers that fail before ZAP (no CURVE, wrong switch key) */
    return lex_handshake_watch_open(sw, err, errlen);
}

int lex_switch_new(const lex_switch_config_t *cfg, lex_switch_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->dead_after_ms < 2 * cfg->heartbeat_ms) {
        /* nodes heartbeat at the switch's interval: one late HB must not
         * drop them */
        snprintf(err, errlen, "dead_after_ms (%d) must be at least twice heartbeat_ms (%d)",
                 cfg->dead_after_ms, cfg->heartbeat_ms);
        return LEX_EINVAL;
    }
    lex_switch_t *sw = calloc(1, sizeof *sw);
    if (!sw)
        return LEX_ENOMEM;
    int rc = LEX_ENOMEM;
    sw->cfg = *cfg;
    sw->cur_srcfd = -1;
    lex_buf_init(&sw->scratch_env);
    lex_buf_init(&sw->scratch_body);
    sw->catalogue = lex_catalogue_builtin();
    sw->sessions_by_rid = lex_table_new();
    sw->sessions_by_ori = lex_table_new();
    sw->flights = lex_table_new();
    if (!sw->catalogue || !sw->sessions_by_rid || !sw->sessions_by_ori || !sw->flights ||
        lex_stats_init(&sw->stats) != 0) {
        snprintf(err, errlen, "out of memory or broken built-in catalogue");
        goto fail;
    }
    if (cfg->directory[0] &&
        (rc = lex_directory_load(cfg->directory, &sw->directory, err, errlen)) != 0)
        goto fail;
    if ((rc = reload_rules(sw, err, errlen)) != 0)
        goto fail;
    if ((rc = lex_access_secure_files(cfg, err, errlen)) != 0 ||
        (rc = lex_diskwatch_check_start(sw, err, errlen)) != 0 ||
        (rc = lex_log_open(cfg->data_dir, cfg->durability, &sw->log, err, errlen)) != 0)
        goto fail;
    lex_log_set_directory(sw->log, sw->directory); /* requester family and level per record */
    lex_clock_start(sw); /* the reckoned time retention goes by */
    lex_scrub_start(sw); /* a write the previous process was killed in, cut off at open */
    lex_log_defer_sync(sw->log); /* sync mode: the fsync on a worker thread (sync_start) */
    lex_access_tick(sw, lex_mono_us(), 1); /* reads noted while no switch ran */
    char held_path[LEX_PATH_MAX + 16];
    snprintf(held_path, sizeof held_path, "%s/held", cfg->data_dir);
    if ((rc = lex_holds_open(held_path, &sw->holds, err, errlen)) != 0)
        goto fail;
    /* ids of switch-made messages continue across restarts via the log */
    sw->next_status_id = lex_log_last_seq(sw->log) << 8;
    sw->next_fid = sw->next_status_id;

    rc = LEX_EZMQ;
    sw->zctx = zmq_ctx_new();
    sw->router = sw->zctx ? zmq_socket(sw->zctx, ZMQ_ROUTER) : NULL;
    if (!sw->router) {
        snprintf(err, errlen, "cannot create ROUTER socket: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    int one = 1, linger = 1000, hwm = 500000; /* receive side; sends: lex_conns_open */
    int64_t maxsize = 4 * LEX_MSG_MAX; /* between 1x and 4x the limit a sender gets ST too-large */
    zmq_setsockopt(sw->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(sw->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sw->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sw->router, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize);
    if (!cfg->bind_tcp[0] && !cfg->bind_ipc[0]) {
        snprintf(err, errlen, "nothing to bind: set bind_tcp or bind_ipc");
        rc = LEX_EINVAL;
        goto fail;
    }
    if ((rc = setup_security(sw, err, errlen)) != 0 ||
        (rc = lex_conns_open(sw, err, errlen)) != 0)
        goto fail;
    if ((rc = bind_one(sw, cfg->bind_tcp, err, errlen)) != 0 ||
        (rc = bind_one(sw, cfg->bind_ipc, err, errlen)) != 0)
        goto fail;

    rc = LEX_EUV;
    if (uv_loop_init(&sw->loop) != 0) {
        snprintf(err, errlen, "uv_loop_init failed");
        goto fail;
    }
    int fd;
    size_t fdsize = sizeof fd;
    zmq_getsockopt(sw->router, ZMQ_FD, &fd, &fdsize);
    uv_poll_init(&sw->loop, &sw->zpoll, fd);
    uv_poll_init(&sw->loop, &sw->mon_poll, lex_conns_monitor_fd(sw));
    uv_timer_init(&sw->loop, &sw->tick);
    uv_idle_init(&sw->loop, &sw->more);
    uv_signal_init(&sw->loop, &sw->sigint);
    uv_signal_init(&sw->loop, &sw->sigterm);
    uv_signal_init(&sw->loop, &sw->sighup);
    uv_async_init(&sw->loop, &sw->stop_async, on_stop_async);
    if (sw->zap) {
        int zfd;
        size_t zfdsize = sizeof zfd;
        zmq_getsockopt(sw->zap, ZMQ_FD, &zfd, &zfdsize);
        uv_poll_init(&sw->loop, &sw->zap_poll, zfd);
        sw->zap_poll.data = sw;
    }
    sw->zpoll.data = sw->mon_poll.data = sw->tick.data = sw->more.data = sw->sigint.data =
        sw->sigterm.data = sw->sighup.data = sw->stop_async.data = sw;
    sw->loop_ready = 1;
    if ((rc = lex_mimic_open(sw, after_mimic)) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((rc = lex_upstream_open(sw, after_upstream, err, errlen)) != 0)
        goto fail;
    if (cfg->metrics_bind[0]) {
        if ((rc = lex_metrics_http_start(sw, err, errlen)) != 0)
            goto fail;
        size_t used = strlen(sw->endpoints);
        snprintf(sw->endpoints + used, sizeof sw->endpoints - used, "%s\n", sw->metrics_url);
    }
    *out = sw;
    return 0;
fail:
    lex_switch_destroy(&sw);
    return rc;
}

int lex_switch_run(lex_switch_t *sw)
{
    for (const char *p = sw->endpoints; *p;) {
        size_t n = strcspn(p, "\n");
        lex_logline_write(LEX_LOG_INFO, "serving on %.*s", (int)n, p);
        p += n + (p[n] == '\n');
    }
    if (sw->zap) {
        lex_logline_write(LEX_LOG_INFO, "CURVE on: %zu keys bound in the directory may connect",
                          lex_directory_key_count(sw->directory));
        uv_poll_start(&sw->zap_poll, UV_READABLE, on_zap);
        if (lex_handshake_watch_start(sw, on_handshake) != 0)
            lex_logline_write(LEX_LOG_WARN, "cannot watch failed handshakes: they leave no "
                                            "record");
    } else {
        lex_logline_write(LEX_LOG_WARN, "running WITHOUT CURVE encryption or authentication "
                                        "(dev_plain)");
    }
    lex_hello_check_warn_broad(sw);
    uv_poll_start(&sw->zpoll, UV_READABLE, on_zmq);
    uv_poll_start(&sw->mon_poll, UV_READABLE, on_monitor);
    uv_timer_start(&sw->tick, on_tick, TICK_MS, TICK_MS);
    uv_signal_start(&sw->sigint, on_signal, SIGINT);
    uv_signal_start(&sw->sigterm, on_signal, SIGTERM);
    uv_signal_start(&sw->sighup, on_sighup, SIGHUP);
    lex_logfail_arm(sw);
    /* loop_ran_us too: a stall before the first tick is still a stall */
    sw->last_heartbeat_us = sw->last_sample_us = sw->loop_ran_us = lex_mono_us();
    lex_stats_sample(sw, sw->last_sample_us);
    if (write_pid_file(sw) != 0)
        lex_logline_write(LEX_LOG_WARN, "cannot write %s/lexswitch.pid", sw->cfg.data_dir);
    write_rules_status(sw, 1, "rules loaded at start");
    if (sw->cfg.ready_file[0] && write_ready_file(sw) != 0)
        lex_logline_write(LEX_LOG_WARN, "cannot write ready file %s", sw->cfg.ready_file);
    pump(sw);
    uv_run(&sw->loop, UV_RUN_DEFAULT);
    commit_and_flush(sw);
    sync_now(sw);
    remove_pid_file(sw);
    if (sw->cfg.stats_file[0] && lex_stats_write(sw, sw->cfg.stats_file) != 0)
        lex_logline_write(LEX_LOG_WARN, "cannot write stats file %s", sw->cfg.stats_file);
    if (sw->log_failed)
        lex_logline_write(LEX_LOG_ERROR, "stopped because the audit log cannot write; %llu "
                          "statuses sent unrecorded; exit status %d",
                          (unsigned long long)sw->stats.log_failed_statuses, sw->exit_code);
    lex_logline_write(LEX_LOG_INFO, "stopped; %llu messages received, %llu routed, log at seq %llu",
            (unsigned long long)sw->stats.received, (unsigned long long)sw->stats.forwarded,
            (unsigned long long)lex_log_last_seq(sw->log));
    return 0;
}

int lex_switch_exit_code(const lex_switch_t *sw)
{
    return sw->exit_code;
}

void lex_switch_stop(lex_switch_t *sw)
{
    uv_async_send(&sw->stop_async);
}

static void free_flight(const void *key, size_t len, void *value, void *arg)
{
    (void)key;
    (void)len;
    (void)arg;
    free(value);
}

void lex_switch_destroy(lex_switch_t **swp)
{
    if (!swp || !*swp)
        return;
    lex_switch_t *sw = *swp;
    if (sw->loop_ready) {
        if (!uv_is_closing((uv_handle_t *)&sw->tick)) {
            close_all(sw);
            uv_run(&sw->loop, UV_RUN_DEFAULT);
        }
        uv_loop_close(&sw->loop);
    }
    if (sw->sessions_by_rid)
        lex_session_remove_all(sw);
    if (sw->flights) {
        lex_table_each(sw->flights, free_flight, NULL);
        lex_table_destroy(&sw->flights);
    }
    for (size_t i = 0; i < 64; i++)
        free(sw->state_responders[i]);
    lex_table_destroy(&sw->sessions_by_rid);
    lex_table_destroy(&sw->sessions_by_ori);
    lex_stats_free(&sw->stats);
    lex_conns_destroy(sw); /* stops the ROUTER's monitor first */
    lex_handshake_watch_close(sw);
    if (sw->router)
        zmq_close(sw->router);
    lex_zap_close(sw);
    lex_upstream_destroy(sw);
    lex_mimic_destroy(sw);
    free(sw->peers);
    free(sw->bounced);
    free(sw->gone);
    free(sw->backlogged);
    if (sw->zctx)
        zmq_ctx_term(sw->zctx);
    lex_scrub_close(sw);
    lex_log_close(&sw->log);
    lex_holds_close(&sw->holds);
    lex_policy_destroy(&sw->policy);
    lex_directory_destroy(&sw->directory);
    lex_outbox_free(&sw->outbox);
    lex_outbox_free(&sw->wal_wait);
    lex_outbox_free(&sw->wal_syncing);
    lex_buf_free(&sw->scratch_env);
    lex_buf_free(&sw->scratch_body);
    free(sw);
    *swp = NULL;
}
