/* diskwatch.c: free space on the filesystem of the audit log. The loop
 * looks every quarter second; below the reserve (log_reserve_mb) the switch
 * is log-full: new queries are refused with ST 39 log-full (and that refusal
 * is logged), answers to queries already open are still logged and
 * delivered, and the switch resumes by itself once space is back above the
 * reserve with a little slack. The reserve is what RocksDB's own flushes and
 * compactions, and the answers still owed, need: the switch stops taking
 * work long before the disk is actually full (docs/OPERATIONS.md). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "lex_error.h"
#include "logline.h"
#include "switch_internal.h"

#define CHECK_EVERY_US 250000u
#define OPEN_SLACK_BYTES (2u << 20) /* beyond the WAL to replay: OPTIONS, MANIFEST, LOG */
#define WAIT_LINE_EVERY_S 30

static uint64_t reserve_bytes(const lex_switch_t *sw)
{
    return (uint64_t)sw->cfg.log_reserve_mb << 20;
}

/* Space back above the reserve by this much before queries resume, so the
 * switch does not flap at the edge. */
static uint64_t resume_bytes(const lex_switch_t *sw)
{
    uint64_t r = reserve_bytes(sw), slack = r / 16;
    return r + (slack > (1u << 20) ? slack : (1u << 20));
}

/* Bytes an unprivileged writer may still use on dir's filesystem; the
 * parent's when dir does not exist yet. */
static int free_bytes(const char *dir, uint64_t *out)
{
    struct statvfs v;
    if (statvfs(dir, &v) != 0) {
        char parent[LEX_PATH_MAX];
        snprintf(parent, sizeof parent, "%s", dir);
        char *slash = strrchr(parent, '/');
        if (slash == parent)
            slash[1] = 0;
        else if (slash)
            *slash = 0;
        else
            snprintf(parent, sizeof parent, ".");
        if (statvfs(parent, &v) != 0)
            return LEX_EIO;
    }
    *out = (uint64_t)v.f_bavail * v.f_frsize;
    return 0;
}

/* Bytes of the WAL files (*.log) directly in dir. */
static uint64_t wal_bytes(const char *dir)
{
    uint64_t need = 0;
    DIR *d = opendir(dir);
    if (!d)
        return need;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".log") != 0)
            continue;
        char path[LEX_PATH_MAX + 300];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &st) == 0 && st.st_size > 0)
            need += (uint64_t)st.st_size;
    }
    closedir(d);
    return need;
}

/* What opening the log and the review holds writes before they take a
 * record: the WAL they replay is flushed to tables while it is still on
 * disk (twice its size, to be safe), plus OPTIONS, MANIFEST and LOG. */
static uint64_t open_needs(const char *dir)
{
    char held[LEX_PATH_MAX + 8];
    snprintf(held, sizeof held, "%s/held", dir);
    return OPEN_SLACK_BYTES + 2 * (wal_bytes(dir) + wal_bytes(held));
}

static void raise_full(lex_switch_t *sw, uint64_t free, const char *when)
{
    sw->log_full = 1;
    sw->log_full_since_us = lex_now_us();
    lex_logline_write(LEX_LOG_ERROR,
                      "AUDIT LOG DISK LOW%s: %llu MB free on the filesystem of %s, below the "
                      "reserve of %d MB (log_reserve_mb): new queries get ST 39 log-full, open "
                      "ones are still answered; free space and the switch resumes by itself",
                      when, (unsigned long long)(free >> 20), sw->cfg.data_dir,
                      sw->cfg.log_reserve_mb);
}

int lex_diskwatch_check_start(lex_switch_t *sw, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    uint64_t free;
    if (sw->cfg.log_reserve_mb <= 0 || free_bytes(sw->cfg.data_dir, &free) != 0)
        return 0;
    /* too little even to open the log: wait for space rather than let
     * RocksDB fail half-way through opening (or abort) */
    lex_logline_limit_t lim = {0};
    uint64_t need = open_needs(sw->cfg.data_dir);
    while (free < need) {
        lex_logline_limited(&lim, WAIT_LINE_EVERY_S, LEX_LOG_ERROR,
                            "AUDIT LOG DISK FULL: %llu KB free on the filesystem of %s, and "
                            "opening the log needs %llu KB: not serving; waiting for space "
                            "(checked every second)",
                            (unsigned long long)(free >> 10), sw->cfg.data_dir,
                            (unsigned long long)(need >> 10));
        sleep(1);
        if (free_bytes(sw->cfg.data_dir, &free) != 0)
            return 0;
        need = open_needs(sw->cfg.data_dir);
    }
    sw->disk_free_bytes = free;
    if (free < reserve_bytes(sw))
        raise_full(sw, free, " AT START");
    return 0;
}

void lex_diskwatch_tick(lex_switch_t *sw, uint64_t now_us)
{
    static lex_logline_limit_t stat_lim, full_lim;
    if (sw->cfg.log_reserve_mb <= 0 || now_us < sw->disk_next_check_us)
        return;
    sw->disk_next_check_us = now_us + CHECK_EVERY_US;
    uint64_t free;
    if (free_bytes(sw->cfg.data_dir, &free) != 0) {
        lex_logline_limited(&stat_lim, 60, LEX_LOG_WARN, "cannot read the free space of %s",
                            sw->cfg.data_dir);
        return;
    }
    sw->disk_free_bytes = free;
    if (!sw->log_full && free < reserve_bytes(sw)) {
        raise_full(sw, free, "");
        full_lim.last_us = lex_mono_us(); /* the next reminder a minute from now */
    } else if (sw->log_full && free >= resume_bytes(sw)) {
        sw->log_full = 0;
        lex_logline_write(LEX_LOG_INFO,
                          "audit log disk space back: %llu MB free (reserve %d MB): taking "
                          "queries again after %llu s log-full",
                          (unsigned long long)(free >> 20), sw->cfg.log_reserve_mb,
                          (unsigned long long)((lex_now_us() - sw->log_full_since_us) /
                                               1000000u));
    } else if (sw->log_full) {
        lex_logline_limited(&full_lim, 60, LEX_LOG_WARN,
                            "still log-full: %llu MB free, reserve %d MB; %llu queries refused "
                            "so far",
                            (unsigned long long)(free >> 20), sw->cfg.log_reserve_mb,
                            (unsigned long long)sw->stats.log_full_refused);
    }
}

int lex_diskwatch_refuses(lex_switch_t *sw)
{
    if (!sw->log_full)
        return 0;
    sw->stats.log_full_refused++;
    return 1;
}
