/* lex_keys.h: CURVE key pairs and key files. A key file is text:
 * `public = <40 Z85 characters>` and, in the private half only,
 * `secret = <40 Z85 characters>` ('#' comments). `lexctl keys gen NAME`
 * writes NAME.key (both, mode 0600) and NAME.pub (public only). The switch,
 * libnode and the tools all read keys through here
 * (docs/THREAT-MODEL.md, "Keys"). */
#ifndef LEX_KEYS_H
#define LEX_KEYS_H

#include <stddef.h>

#define LEX_Z85_KEY_LEN 40   /* a 32-byte CURVE key in Z85 */

typedef struct {
    char public_z85[LEX_Z85_KEY_LEN + 1];
    char secret_z85[LEX_Z85_KEY_LEN + 1];   /* "" when only the public half is known */
} lex_keypair_t;

/* 1 when s is exactly 40 Z85 characters that decode to a key. */
int lex_z85_key_valid(const char *s);

/* Makes a fresh key pair (libzmq's CURVE, backed by libsodium). */
int lex_keypair_generate(lex_keypair_t *out);

/* Reads a key file; out->secret_z85 is "" for a public-only file.
 * LEX_EIO / LEX_EPARSE with "path:line: reason" in err. */
int lex_keyfile_load(const char *path, lex_keypair_t *out, char *err, size_t errlen);

/* Writes <prefix>.key (mode 0600, both halves) and <prefix>.pub. Refuses to
 * overwrite an existing file (LEX_EEXIST). */
int lex_keyfile_write(const char *prefix, const char *label, const lex_keypair_t *kp, char *err,
                      size_t errlen);

#endif
