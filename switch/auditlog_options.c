/* auditlog_options.c: the RocksDB options that keep a full or failing disk
 * from aborting the writer (docs/LOG.md "Disk space and I/O errors").
 * Debian's librocksdb 7.8 is built with assertions on, and a second write
 * to a file whose previous write failed (the info LOG, a WAL) reaches one:
 * so the writer's info LOG gets almost nothing after open, no file is
 * preallocated (a dead WAL's preallocation held its space on ext4), and the
 * log library never touches the WAL again after an error (auditlog.c). */
#include <rocksdb/c.h>
#include <stdio.h>
#include "auditlog_internal.h"
#include "lex_error.h"

/* RocksDB's InfoLogLevel: HEADER_LEVEL writes only the header at open */
#define INFO_LOG_HEADER_ONLY 5

int lex_log_options_apply(rocksdb_options_t **opts, int reader, char *err, size_t errlen)
{
    (void)reader; /* readers write no WAL, but an info LOG like the writer's */
    /* allow_fallocate has no setter in 7.8's C API: through the options string */
    rocksdb_options_t *fresh = rocksdb_options_create();
    char *rerr = NULL;
    rocksdb_get_options_from_string(*opts, "allow_fallocate=false", fresh, &rerr);
    if (rerr) {
        rocksdb_options_destroy(fresh);
        return lex_log_rocks_fail(rerr, err, errlen, "RocksDB options");
    }
    rocksdb_options_destroy(*opts);
    *opts = fresh;
    rocksdb_options_set_manifest_preallocation_size(fresh, 0);
    rocksdb_options_set_recycle_log_file_num(fresh, 0);
    rocksdb_options_set_info_log_level(fresh, INFO_LOG_HEADER_ONLY);
    rocksdb_options_set_keep_log_file_num(fresh, 2);
    rocksdb_options_set_max_log_file_size(fresh, 1u << 20);
    return 0;
}

int lex_log_options_harden(rocksdb_options_t **opts, char *err, size_t errlen)
{
    return lex_log_options_apply(opts, 0, err, errlen);
}
