/* keys.c: CURVE key pairs and the key files that hold them (format in
 * lex_keys.h). Secrets are written with mode 0600 and never printed; a
 * file that would be overwritten is refused, so a key is not lost by a
 * repeated command. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#include "lex_error.h"
#include "lex_keys.h"

int lex_z85_key_valid(const char *s)
{
    uint8_t raw[32];
    if (!s || strlen(s) != LEX_Z85_KEY_LEN)
        return 0;
    return zmq_z85_decode(raw, s) != NULL;
}

int lex_keypair_generate(lex_keypair_t *out)
{
    memset(out, 0, sizeof *out);
    if (zmq_curve_keypair(out->public_z85, out->secret_z85) != 0)
        return LEX_EZMQ;
    return 0;
}

static int parse_fail(char *err, size_t errlen, const char *path, int line, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "%s:%d: %s", path, line, why);
    return LEX_EPARSE;
}

int lex_keyfile_load(const char *path, lex_keypair_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return LEX_EIO;
    }
    char line[256];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strlen(s);
        while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = 0;
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = parse_fail(err, errlen, path, lineno, "expected 'public = KEY' or 'secret = KEY'");
            goto done;
        }
        char *name = s, *value = eq + 1;
        *eq = 0;
        for (char *e = eq - 1; e >= name && (*e == ' ' || *e == '\t'); e--)
            *e = 0;
        while (*value == ' ' || *value == '\t')
            value++;
        char *dst;
        if (strcmp(name, "public") == 0)
            dst = out->public_z85;
        else if (strcmp(name, "secret") == 0)
            dst = out->secret_z85;
        else {
            rc = parse_fail(err, errlen, path, lineno, "unknown name (public or secret)");
            goto done;
        }
        if (!lex_z85_key_valid(value)) {
            rc = parse_fail(err, errlen, path, lineno, "a key is 40 Z85 characters");
            goto done;
        }
        memcpy(dst, value, LEX_Z85_KEY_LEN + 1);
    }
    if (!out->public_z85[0] && out->secret_z85[0]) {
        /* the public half can always be derived from the secret */
        if (zmq_curve_public(out->public_z85, out->secret_z85) != 0) {
            rc = parse_fail(err, errlen, path, lineno, "cannot derive the public key");
            goto done;
        }
    }
    if (!out->public_z85[0]) {
        rc = parse_fail(err, errlen, path, lineno, "no key in the file");
        goto done;
    }
    if (out->secret_z85[0]) {
        char derived[LEX_Z85_KEY_LEN + 1];
        if (zmq_curve_public(derived, out->secret_z85) != 0 ||
            strcmp(derived, out->public_z85) != 0) {
            rc = parse_fail(err, errlen, path, lineno, "public and secret keys do not belong together");
            goto done;
        }
    }
done:
    fclose(f);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

static int write_new(const char *path, int mode, const char *text, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path,
                     errno == EEXIST ? "already exists (not overwritten)" : strerror(errno));
        return errno == EEXIST ? LEX_EEXIST : LEX_EIO;
    }
    size_t len = strlen(text);
    ssize_t put = write(fd, text, len);
    int ok = put == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        if (err && errlen)
            snprintf(err, errlen, "%s: write failed", path);
        unlink(path);
        return LEX_EIO;
    }
    return 0;
}

int lex_keyfile_write(const char *prefix, const char *label, const lex_keypair_t *kp, char *err,
                      size_t errlen)
{
    char path[1024], text[512];
    snprintf(path, sizeof path, "%s.key", prefix);
    snprintf(text, sizeof text,
             "# lexswitch CURVE key pair: %s\n# keep this file secret\npublic = %s\nsecret = %s\n",
             label, kp->public_z85, kp->secret_z85);
    int rc = write_new(path, 0600, text, err, errlen);
    memset(text, 0, sizeof text);
    if (rc != 0)
        return rc;
    snprintf(path, sizeof path, "%s.pub", prefix);
    snprintf(text, sizeof text, "# lexswitch CURVE public key: %s\npublic = %s\n", label,
             kp->public_z85);
    return write_new(path, 0644, text, err, errlen);
}
