/* auditlog_access.c: access records, the log's record of who read it
 * (lex_auditlog.h "Access records"; format in docs/LOG.md). A tool that
 * reads the log first writes a journal entry under <data>/access/ and
 * fsyncs it; the writer (the switch) moves entries into the hash chain and
 * only then removes them, remembering each entry's id in the meta column
 * family so that a crash between the two never doubles one. Never reads or
 * forwards messages: it only records who looked. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auditlog_internal.h"
#include "lex_body.h"
#include "lex_envelope.h"
#include "lex_error.h"

#define ENTRY_MAX 65536        /* a journal entry is a few hundred bytes */
#define ENTRY_SUFFIX ".acc"
#define NAME_LEN (16 + 1 + 16 + 4)  /* <time hex>-<id hex>.acc */

static const char acs_prefix[] = "acs";  /* meta: acs + seq -> "" (access records) */
static const char acj_prefix[] = "acj";  /* meta: acj + journal id -> seq */

static void journal_dir(const char *data_dir, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", data_dir, LEX_ACCESS_DIR);
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static void who_am_i(char *who, size_t size, uid_t uid)
{
    struct passwd pw, *found = NULL;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found && found->pw_name[0])
        snprintf(who, size, "%s", found->pw_name);
    else
        snprintf(who, size, "uid%lu", (unsigned long)uid);
}

int lex_access_note(const char *data_dir, const lex_access_t *a, char *err, size_t errlen)
{
    if (sodium_init() < 0)
        return LEX_ESODIUM;
    char dir[4096], path[4200], tmp[4200], who[64];
    journal_dir(data_dir, dir, sizeof dir);
    /* root reading the log: the journal and its entries go to the data
     * directory's owner (the switch's user), or the switch could not read
     * them */
    uid_t uid = geteuid();
    struct stat owner;
    int give = uid == 0 && stat(data_dir, &owner) == 0 && owner.st_uid != 0;
    if (mkdir(dir, 0700) == 0) {
        if (give && chown(dir, owner.st_uid, owner.st_gid) != 0) {
            snprintf(err, errlen, "cannot give %s to uid %lu: %s", dir,
                     (unsigned long)owner.st_uid, strerror(errno));
            return LEX_EIO;
        }
    } else if (errno != EEXIST) {
        snprintf(err, errlen, "cannot make the access journal %s: %s", dir, strerror(errno));
        return LEX_EIO;
    }
    who_am_i(who, sizeof who, uid);
    uint64_t id, t = lex_now_us();
    randombytes_buf(&id, sizeof id);
    id |= 1; /* never 0: 0 marks a record without a journal entry */
    snprintf(path, sizeof path, "%s/%016llx-%016llx%s", dir, (unsigned long long)t,
             (unsigned long long)id, ENTRY_SUFFIX);
    snprintf(tmp, sizeof tmp, "%s/.%016llx.tmp", dir, (unsigned long long)id);

    lex_buf_t b;
    lex_buf_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, lex_buf_write);
    msgpack_pack_map(&pk, 11);
    lex_mp_pack_kv_uint(&pk, "v", 1);
    lex_mp_pack_kv_uint(&pk, "id", id);
    lex_mp_pack_kv_uint(&pk, "t", t);
    lex_mp_pack_kv_str(&pk, "who", who);
    lex_mp_pack_kv_uint(&pk, "uid", (uint64_t)uid);
    lex_mp_pack_kv_uint(&pk, "pid", (uint64_t)getpid());
    lex_mp_pack_kv_str(&pk, "tool", a->tool ? a->tool : "");
    lex_mp_pack_kv_str(&pk, "cmd", a->cmd ? a->cmd : "");
    lex_mp_pack_kv_str(&pk, "filter", a->filter ? a->filter : "");
    lex_mp_pack_kv_str(&pk, "state", a->state ? a->state : "");
    lex_mp_pack_kv_str(&pk, "ori", a->ori ? a->ori : "");
    if (b.failed) {
        lex_buf_free(&b);
        return LEX_ENOMEM;
    }
    int rc = LEX_EIO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write the access journal in %s: %s", dir, strerror(errno));
        goto done;
    }
    if (give && fchown(fd, owner.st_uid, owner.st_gid) != 0) {
        snprintf(err, errlen, "cannot give the access journal entry to uid %lu: %s",
                 (unsigned long)owner.st_uid, strerror(errno));
        close(fd);
        unlink(tmp);
        goto done;
    }
    /* a write, a sync, a rename: the switch sees a whole entry or none */
    int ok = write(fd, b.data, b.len) == (ssize_t)b.len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0 || fsync_dir(dir) != 0) {
        snprintf(err, errlen, "cannot write the access journal in %s: %s", dir, strerror(errno));
        unlink(tmp);
        goto done;
    }
    rc = 0;
done:
    lex_buf_free(&b);
    return rc;
}

static void take_str(const msgpack_object *m, const char *name, char *dst, size_t size)
{
    if (lex_mp_str(lex_mp_get(m, name), dst, size) != 0)
        dst[0] = 0;
}

static int info_from_body(const void *body, size_t len, lex_access_info_t *out)
{
    memset(out, 0, sizeof *out);
    msgpack_unpacked up;
    if (!body || lex_body_parse(body, len, &up) != 0)
        return LEX_EPARSE;
    const msgpack_object *m = &up.data;
    take_str(m, "who", out->who, sizeof out->who);
    take_str(m, "key", out->key, sizeof out->key);
    take_str(m, "ori", out->ori, sizeof out->ori);
    take_str(m, "tool", out->tool, sizeof out->tool);
    take_str(m, "cmd", out->cmd, sizeof out->cmd);
    take_str(m, "filter", out->filter, sizeof out->filter);
    take_str(m, "state", out->state, sizeof out->state);
    lex_mp_uint(lex_mp_get(m, "uid"), &out->uid);
    lex_mp_uint(lex_mp_get(m, "pid"), &out->pid);
    lex_mp_uint(lex_mp_get(m, "t"), &out->time_us);
    lex_mp_uint(lex_mp_get(m, "id"), &out->id);
    msgpack_unpacked_destroy(&up);
    return 0;
}

int lex_access_info(const lex_log_record_t *rec, lex_access_info_t *out)
{
    if (strcmp(rec->decision, "access") != 0)
        return LEX_EINVAL;
    return info_from_body(rec->body, rec->body_len, out);
}

static void copy_cut(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* The record for a journal entry (body: the entry's bytes as written). An
 * entry that does not decode still makes a record, named "unreadable". */
static void entry_record(const char *name, const char *bytes, size_t len, lex_log_record_t *rec)
{
    memset(rec, 0, sizeof *rec);
    lex_access_info_t info;
    int readable = info_from_body(bytes, len, &info) == 0 && info.cmd[0];
    rec->dir = LEX_DIR_IN;
    snprintf(rec->decision, sizeof rec->decision, "access");
    rec->msg_id = strtoull(name + 17, NULL, 16);
    rec->body = bytes;
    rec->body_len = len;
    if (!readable) {
        snprintf(rec->conn, sizeof rec->conn, "journal");
        snprintf(rec->rule_id, sizeof rec->rule_id, "unreadable");
        return;
    }
    snprintf(rec->conn, sizeof rec->conn, "%s pid %llu", info.tool,
             (unsigned long long)info.pid);
    copy_cut(rec->src, sizeof rec->src, info.who);
    copy_cut(rec->dst, sizeof rec->dst, lex_ori_valid(info.ori) ? info.ori : info.state);
    copy_cut(rec->rule_id, sizeof rec->rule_id, info.cmd);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int entry_name(const char *n)
{
    size_t len = strlen(n);
    return len == NAME_LEN && n[16] == '-' && strcmp(n + len - 4, ENTRY_SUFFIX) == 0 &&
           strspn(n, "0123456789abcdef") == 16 && strspn(n + 17, "0123456789abcdef") == 16;
}

/* The journal's entry names, oldest first. Caller frees each and the array. */
static int list_entries(const char *dir, char ***names_out, size_t *count)
{
    *names_out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : LEX_EIO;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!entry_name(de->d_name))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **grown = realloc(names, ncap * sizeof *names);
            if (!grown) {
                rc = LEX_ENOMEM;
                break;
            }
            names = grown;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = LEX_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, name_cmp);
    *names_out = names;
    *count = n;
    return rc;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int read_entry(const char *path, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW); /* an entry, never a link */
    if (fd < 0)
        return LEX_EIO;
    char *buf = malloc(ENTRY_MAX);
    if (!buf) {
        close(fd);
        return LEX_ENOMEM;
    }
    size_t used = 0;
    ssize_t got;
    while (used < ENTRY_MAX && (got = read(fd, buf + used, ENTRY_MAX - used)) > 0)
        used += (size_t)got;
    close(fd);
    *out = buf;
    *len = used;
    return 0;
}

static int journal_id_seen(lex_log_t *log, uint64_t id, int *seen)
{
    uint8_t key[3 + 8];
    memcpy(key, acj_prefix, 3);
    lex_log_put_be64(key + 3, id);
    char *rerr = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get_cf(log->db, log->ropts, log->cf[CF_META], (const char *)key, sizeof key,
                             &vlen, &rerr);
    if (rerr)
        return lex_log_rocks_fail(rerr, NULL, 0, "access journal look-up");
    *seen = v != NULL;
    rocksdb_free(v);
    return 0;
}

void lex_log_access_index(lex_log_t *log, uint64_t seq)
{
    uint8_t key[3 + 8];
    memcpy(key, acs_prefix, 3);
    lex_log_put_be64(key + 3, seq);
    rocksdb_writebatch_put_cf(log->batch, log->cf[CF_META], (const char *)key, sizeof key, "", 0);
}

int lex_log_access_ingest(lex_log_t *log, const char *data_dir, size_t max, size_t *ingested)
{
    *ingested = 0;
    if (log->reader || log->pending)
        return 0;
    char dir[4096], path[4200];
    journal_dir(data_dir, dir, sizeof dir);
    char **names;
    size_t n;
    int rc = list_entries(dir, &names, &n);
    if (rc != 0 || n == 0) {
        free_names(names, n);
        return rc;
    }
    size_t listed = n;
    if (max && n > max)
        n = max;
    size_t done = 0, appended = 0, kept = 0;
    /* the entries that are in the chain once the batch is durable */
    char **removable = malloc(n * sizeof *removable);
    if (!removable) {
        free_names(names, listed);
        return LEX_ENOMEM;
    }
    int unreadable_rc = 0;
    for (; done < n; done++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[done]);
        uint64_t id = strtoull(names[done] + 17, NULL, 16);
        int seen = 0;
        if ((rc = journal_id_seen(log, id, &seen)) != 0)
            break;
        if (seen) {
            /* in the chain already: a crash came before the removal */
            removable[kept++] = names[done];
            continue;
        }
        char *bytes;
        size_t len;
        if ((rc = read_entry(path, &bytes, &len)) != 0) {
            /* not ours to read (another user's), or gone: it waits, the
             * others go on, and the caller hears of it */
            unreadable_rc = rc;
            rc = 0;
            continue;
        }
        lex_log_record_t rec;
        entry_record(names[done], bytes, len, &rec);
        if (strcmp(rec.rule_id, "unreadable") == 0)
            fprintf(stderr, "lexswitch: access journal entry %s does not decode: recorded as "
                    "unreadable, its bytes in the record's body\n", path);
        rc = lex_log_append(log, &rec);
        free(bytes);
        if (rc != 0)
            break;
        uint8_t key[3 + 8], value[8];
        memcpy(key, acj_prefix, 3);
        lex_log_put_be64(key + 3, id);
        lex_log_put_be64(value, rec.seq);
        rocksdb_writebatch_put_cf(log->batch, log->cf[CF_META], (const char *)key, sizeof key,
                                  (const char *)value, sizeof value);
        removable[kept++] = names[done];
        appended++;
    }
    /* what could not be appended stays in the journal for the next try */
    if (appended) {
        int crc = lex_log_commit(log);
        if (crc == 0 && log->deferred_sync) {
            crc = lex_log_sync(log);
            if (crc == 0)
                lex_log_note_sync(log);
        }
        if (crc != 0) {
            free(removable);
            free_names(names, listed);
            return crc;
        }
    }
    for (size_t i = 0; i < kept; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, removable[i]);
        unlink(path);
    }
    if (kept)
        fsync_dir(dir);
    *ingested = appended;
    free(removable);
    free_names(names, listed);
    return rc != 0 ? rc : unreadable_rc;
}

int lex_log_scan_access(lex_log_t *log, lex_log_visit_fn fn, void *arg)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(log->db, log->ropts, log->cf[CF_META]);
    int rc = 0;
    for (rocksdb_iter_seek(it, acs_prefix, 3); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen != 11 || memcmp(k, acs_prefix, 3) != 0)
            break;
        char *rerr = NULL;
        size_t vlen = 0;
        char *v = rocksdb_get_cf(log->db, log->ropts, log->cf[CF_DEFAULT], k + 3, 8, &vlen, &rerr);
        if (rerr) {
            rc = lex_log_rocks_fail(rerr, NULL, 0, "access record look-up");
            break;
        }
        if (!v)
            continue; /* removed by retention */
        msgpack_unpacked up;
        lex_log_record_t rec;
        rc = lex_log_decode(v, vlen, &up, &rec);
        int stop = rc == 0 ? fn(&rec, arg) : 0;
        if (rc == 0)
            msgpack_unpacked_destroy(&up);
        rocksdb_free(v);
        if (rc != 0 || stop)
            break;
    }
    rocksdb_iter_destroy(it);
    return rc;
}

int lex_access_pending(const char *data_dir, lex_log_visit_fn fn, void *arg)
{
    char dir[4096], path[4200];
    journal_dir(data_dir, dir, sizeof dir);
    char **names;
    size_t n;
    int rc = list_entries(dir, &names, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *bytes;
        size_t len;
        if (read_entry(path, &bytes, &len) != 0)
            continue; /* ingested and removed meanwhile */
        lex_log_record_t rec;
        entry_record(names[i], bytes, len, &rec);
        int stop = fn(&rec, arg);
        free(bytes);
        if (stop)
            break;
    }
    free_names(names, n);
    return rc;
}
