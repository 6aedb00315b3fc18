/* rawdb.c: a direct RocksDB handle on an audit log's data directory for
 * the tests that tamper with it (rawdb.h). */
#include "rawdb.h"

#include <criterion/criterion.h>
#include <string.h>

void lex_test_rawdb_open(lex_test_rawdb_t *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->opts = rocksdb_options_create();
    char *err = NULL;
    r->names = rocksdb_list_column_families(r->opts, path, &r->ncf, &err);
    cr_assert_null(err, "%s", err);
    cr_assert(r->ncf <= 16);
    const rocksdb_options_t *cf_opts[16];
    for (size_t i = 0; i < r->ncf; i++)
        cf_opts[i] = r->opts;
    r->db = rocksdb_open_column_families(r->opts, path, (int)r->ncf,
                                         (const char *const *)r->names, cf_opts, r->cf, &err);
    cr_assert_null(err, "%s", err);
    r->wo = rocksdb_writeoptions_create();
    r->ro = rocksdb_readoptions_create();
}

rocksdb_column_family_handle_t *lex_test_rawdb_cf(lex_test_rawdb_t *r, const char *name)
{
    for (size_t i = 0; i < r->ncf; i++)
        if (strcmp(r->names[i], name) == 0)
            return r->cf[i];
    cr_assert_fail("no column family %s", name);
    return NULL;
}

void lex_test_rawdb_close(lex_test_rawdb_t *r)
{
    for (size_t i = 0; i < r->ncf; i++)
        rocksdb_column_family_handle_destroy(r->cf[i]);
    rocksdb_close(r->db);
    rocksdb_list_column_families_destroy(r->names, r->ncf);
    rocksdb_writeoptions_destroy(r->wo);
    rocksdb_readoptions_destroy(r->ro);
    rocksdb_options_destroy(r->opts);
}
