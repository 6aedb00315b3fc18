/* table.h: an open-addressing hash table from byte strings to pointers,
 * used by the switch for sessions (by routing id and by ORI) and for the
 * queries in flight (by switch id). Keys are copied; values are not owned. */
#ifndef LEX_TABLE_H
#define LEX_TABLE_H

#include <stddef.h>

typedef struct lex_table lex_table_t;

lex_table_t *lex_table_new(void);                         /* caller owns; NULL on OOM */
void lex_table_destroy(lex_table_t **t);
void *lex_table_get(const lex_table_t *t, const void *key, size_t len);
int lex_table_put(lex_table_t *t, const void *key, size_t len, void *value); /* replaces */
void *lex_table_del(lex_table_t *t, const void *key, size_t len);          /* returns old value */
size_t lex_table_count(const lex_table_t *t);

/* Visits every entry; the callback must not change the table. */
void lex_table_each(const lex_table_t *t, void (*fn)(const void *key, size_t len, void *value,
                                                     void *arg), void *arg);

#endif
