/* test_keys.c: CURVE key files (schemas/keys.c) and the key bindings of the
 * agency directory (schemas/directory.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "harness.h"
#include "lex_directory.h"
#include "lex_error.h"
#include "lex_keys.h"

TestSuite(keys);

Test(keys, generated_pair_round_trips_through_its_files)
{
    char dir[128], prefix[256], path[300], err[256];
    lex_test_tmpdir(dir);
    snprintf(prefix, sizeof prefix, "%s/ops", dir);
    lex_keypair_t kp, back, pub;
    cr_assert_eq(lex_keypair_generate(&kp), 0);
    cr_assert(lex_z85_key_valid(kp.public_z85));
    cr_assert_eq(lex_keyfile_write(prefix, "ops", &kp, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s.key", prefix);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "secret key file must be private");
    cr_assert_eq(lex_keyfile_load(path, &back, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(back.public_z85, kp.public_z85);
    cr_assert_str_eq(back.secret_z85, kp.secret_z85);
    snprintf(path, sizeof path, "%s.pub", prefix);
    cr_assert_eq(lex_keyfile_load(path, &pub, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(pub.public_z85, kp.public_z85);
    cr_assert_str_eq(pub.secret_z85, "");
    /* a second gen with the same name must not destroy the first key */
    cr_assert_eq(lex_keyfile_write(prefix, "ops", &kp, err, sizeof err), LEX_EEXIST);
    lex_test_rmrf(dir);
}

Test(keys, mismatched_or_malformed_key_files_are_refused_with_their_line)
{
    char dir[128], path[256], err[256];
    lex_test_tmpdir(dir);
    lex_keypair_t a, b, out;
    lex_keypair_generate(&a);
    lex_keypair_generate(&b);
    snprintf(path, sizeof path, "%s/bad.key", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "public = %s\nsecret = %s\n", a.public_z85, b.secret_z85);
    fclose(f);
    cr_assert_eq(lex_keyfile_load(path, &out, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "do not belong together"), "%s", err);
    f = fopen(path, "w");
    fprintf(f, "# c\npublic = short\n");
    fclose(f);
    cr_assert_eq(lex_keyfile_load(path, &out, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "bad.key:2:"), "%s", err);
    lex_test_rmrf(dir);
}

Test(keys, directory_binds_keys_to_ori_patterns_and_operators_to_one_state)
{
    lex_keypair_t node, op;
    lex_keypair_generate(&node);
    lex_keypair_generate(&op);
    char text[1024], err[256];
    snprintf(text, sizeof text,
             "NV0020000|local|PD|NV|Reno Police Department\n"
             "@key|%s|nv-switch|switch|NV* NVDMV0000|broad\n"
             "@key|%s|il-desk|operator|ILOPS0000\n",
             node.public_z85, op.public_z85);
    lex_directory_t *dir = NULL;
    cr_assert_eq(lex_directory_parse(text, "t", &dir, err, sizeof err), 0, "%s", err);
    cr_assert_eq(lex_directory_key_count(dir), 2);
    const lex_keybind_t *k = lex_directory_key(dir, node.public_z85);
    cr_assert_not_null(k);
    cr_assert_str_eq(k->label, "nv-switch");
    cr_assert(lex_keybind_allows(k, "NV0020000"));
    cr_assert_not(lex_keybind_allows(k, "CA0010000"));
    const lex_keybind_t *o = lex_directory_key(dir, op.public_z85);
    cr_assert_eq(o->role, LEX_KEY_OPERATOR);
    cr_assert_str_eq(o->state, "IL");
    cr_assert_null(lex_directory_key(dir, "0000000000000000000000000000000000000000"));
    lex_directory_destroy(&dir);

    /* an operator key spanning two states, or bound by pattern, is refused */
    snprintf(text, sizeof text, "@key|%s|x|operator|ILOPS0000 NVOPS0000\n", op.public_z85);
    cr_assert_eq(lex_directory_parse(text, "t", &dir, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "one state"), "%s", err);
    snprintf(text, sizeof text, "@key|%s|x|operator|IL*\n", op.public_z85);
    cr_assert_eq(lex_directory_parse(text, "t", &dir, err, sizeof err), LEX_EPARSE);
    snprintf(text, sizeof text, "\n@key|%s|x|agency|\n", op.public_z85);
    cr_assert_eq(lex_directory_parse(text, "t", &dir, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "t:2:"), "%s", err);
    snprintf(text, sizeof text, "@key|%s|x|agency|NV0010000\n@key|%s|y|agency|CA0010000\n", op.public_z85,
             op.public_z85);
    cr_assert_eq(lex_directory_parse(text, "t", &dir, err, sizeof err), LEX_EPARSE);
    cr_assert(strstr(err, "twice"), "%s", err);
}
