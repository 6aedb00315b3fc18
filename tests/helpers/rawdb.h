/* rawdb.h: the audit log's RocksDB opened directly, behind the log's
 * back, as someone with access to the data directory could: for the tests
 * (test_auditlog, test_retention) that forge or damage what the writer
 * never would. Every column family is opened; failures fail the test. */
#ifndef LEX_TEST_RAWDB_H
#define LEX_TEST_RAWDB_H

#include <rocksdb/c.h>
#include <stddef.h>

typedef struct {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_column_family_handle_t *cf[16]; /* in the order of names */
    char **names;                           /* the column families, ncf of them */
    size_t ncf;
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
} lex_test_rawdb_t;

/* Opens the database at path with all its column families into r. */
void lex_test_rawdb_open(lex_test_rawdb_t *r, const char *path);

/* The handle of the column family called name; fails the test if none. */
rocksdb_column_family_handle_t *lex_test_rawdb_cf(lex_test_rawdb_t *r, const char *name);

/* Closes r and frees everything lex_test_rawdb_open made. */
void lex_test_rawdb_close(lex_test_rawdb_t *r);

#endif
