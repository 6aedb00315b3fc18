/* lexgc.c: the bare group-commit writer, the baseline for the audit log.
 * Appends records of a set size to RocksDB under increasing sequence keys,
 * in batches, with one synced write (one fsync) per batch and nothing else:
 * no hashing, no indexes, no envelope. What it reaches is the most the disk
 * lets any durable log do at that batch size on this machine. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rocksdb/c.h>
#include "lex_envelope.h"
#include "lex_histogram.h"

static void put_be64(char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (char)(v & 0xff);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},    {"record-bytes", required_argument, 0, 1},
        {"batch", required_argument, 0, 2},    {"duration", required_argument, 0, 't'},
        {"no-sync", no_argument, 0, 3},        {"json", required_argument, 0, 4},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *dir = NULL, *json = NULL;
    size_t record_bytes = 460, batch = 1024;
    double duration = 5;
    int sync = 1, c;
    while ((c = getopt_long(argc, argv, "d:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 1: record_bytes = strtoul(optarg, NULL, 10); break;
        case 2: batch = strtoul(optarg, NULL, 10); break;
        case 't': duration = atof(optarg); break;
        case 3: sync = 0; break;
        case 4: json = optarg; break;
        case 'h':
            printf("usage: lexgc --dir DIR [--record-bytes B] [--batch N] [--duration S]\n"
                   "             [--no-sync] [--json FILE]\n"
                   "Appends B-byte records (460) to a RocksDB in DIR, N (1024) per synced\n"
                   "write, for S seconds (5), and reports records and commits per second.\n");
            return 0;
        default: return 2;
        }
    }
    if (!dir || record_bytes == 0 || batch == 0 || duration <= 0 || optind < argc) {
        fprintf(stderr, "lexgc: --dir is required; see --help\n");
        return 2;
    }
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    char *err = NULL;
    rocksdb_t *db = rocksdb_open(o, dir, &err);
    if (!db) {
        fprintf(stderr, "lexgc: cannot open %s: %s\n", dir, err);
        free(err);
        return 1;
    }
    rocksdb_writeoptions_t *w = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(w, sync);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    char *value = malloc(record_bytes);
    lex_hist_t *commit = malloc(sizeof *commit);
    if (!value || !commit)
        return 1;
    lex_hist_init(commit);
    for (size_t i = 0; i < record_bytes; i++)
        value[i] = (char)('a' + i % 26);
    uint64_t seq = 0, commits = 0, t0 = lex_mono_us();
    uint64_t end = t0 + (uint64_t)(duration * 1e6);
    int rc = 0;
    while (lex_mono_us() < end) {
        for (size_t i = 0; i < batch; i++) {
            char key[8];
            put_be64(key, ++seq);
            memcpy(value, key, sizeof key); /* records differ, as real ones do */
            rocksdb_writebatch_put(b, key, sizeof key, value, record_bytes);
        }
        uint64_t before = lex_mono_us();
        rocksdb_write(db, w, b, &err);
        lex_hist_record(commit, lex_mono_us() - before);
        rocksdb_writebatch_clear(b);
        commits++;
        if (err) {
            fprintf(stderr, "lexgc: write failed: %s\n", err);
            free(err);
            rc = 1;
            break;
        }
    }
    double secs = (double)(lex_mono_us() - t0) / 1e6;
    printf("lexgc: %zu-byte records, %zu per %s write: %.0f records/s, %.0f commits/s, "
           "commit p50 %llu us p99 %llu us\n",
           record_bytes, batch, sync ? "synced" : "unsynced", (double)seq / secs,
           (double)commits / secs, (unsigned long long)lex_hist_percentile(commit, 50),
           (unsigned long long)lex_hist_percentile(commit, 99));
    if (json) {
        FILE *f = fopen(json, "w");
        if (f) {
            fprintf(f, "{\"record_bytes\": %zu, \"batch\": %zu, \"sync\": %d, \"seconds\": %.3f, "
                       "\"records_per_s\": %.1f, \"commits_per_s\": %.1f, "
                       "\"commit_p50_us\": %llu, \"commit_p99_us\": %llu}\n",
                    record_bytes, batch, sync, secs, (double)seq / secs,
                    (double)commits / secs, (unsigned long long)lex_hist_percentile(commit, 50),
                    (unsigned long long)lex_hist_percentile(commit, 99));
            fclose(f);
        }
    }
    free(value);
    free(commit);
    rocksdb_writebatch_destroy(b);
    rocksdb_writeoptions_destroy(w);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    return rc;
}
