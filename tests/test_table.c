/* test_table.c: the switch's hash table (switch/table.c) under growth,
 * deletion and re-insertion. */
#include <criterion/criterion.h>
#include <stdint.h>
#include "table.h"

TestSuite(table);

Test(table, put_get_delete_across_growth)
{
    lex_table_t *t = lex_table_new();
    cr_assert_not_null(t);
    for (uintptr_t i = 1; i <= 20000; i++)
        cr_assert_eq(lex_table_put(t, &i, sizeof i, (void *)(i * 3)), 0);
    cr_assert_eq(lex_table_count(t), 20000);
    for (uintptr_t i = 1; i <= 20000; i += 2)
        cr_assert_eq((uintptr_t)lex_table_del(t, &i, sizeof i), i * 3);
    cr_assert_eq(lex_table_count(t), 10000);
    for (uintptr_t i = 1; i <= 20000; i++) {
        void *v = lex_table_get(t, &i, sizeof i);
        if (i % 2)
            cr_assert_null(v);
        else
            cr_assert_eq((uintptr_t)v, i * 3);
    }
    for (int round = 0; round < 5; round++)
        for (uintptr_t i = 1; i <= 20000; i += 2) {
            cr_assert_eq(lex_table_put(t, &i, sizeof i, (void *)i), 0);
            cr_assert_eq((uintptr_t)lex_table_del(t, &i, sizeof i), i);
        }
    cr_assert_eq(lex_table_count(t), 10000);
    lex_table_destroy(&t);
    cr_assert_null(t);
}

Test(table, string_keys_of_different_lengths_are_distinct)
{
    lex_table_t *t = lex_table_new();
    lex_table_put(t, "NV", 2, (void *)1);
    lex_table_put(t, "NVDMV0000", 9, (void *)2);
    cr_assert_eq((uintptr_t)lex_table_get(t, "NV", 2), 1);
    cr_assert_eq((uintptr_t)lex_table_get(t, "NVDMV0000", 9), 2);
    cr_assert_null(lex_table_get(t, "NVD", 3));
    lex_table_destroy(&t);
}
