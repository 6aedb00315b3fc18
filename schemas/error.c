/* error.c: text for the LEX_E* codes (lex_error.h). Kept beside the codes so
 * a new code and its explanation are added together. */
#include <stddef.h>
#include "lex_error.h"

typedef struct {
    int code;
    const char *name;
    const char *text;
} error_entry_t;

static const error_entry_t errors[] = {
    {LEX_OK, "ok", "success"},
    {LEX_ENOMEM, "no-memory", "out of memory"},
    {LEX_EINVAL, "invalid-argument", "invalid argument"},
    {LEX_EIO, "io-error", "input/output error"},
    {LEX_ENOTFOUND, "not-found", "not found"},
    {LEX_EEXIST, "exists", "already exists"},
    {LEX_ETIMEOUT, "timeout", "timed out"},
    {LEX_EAGAIN, "again", "nothing available now"},
    {LEX_ECLOSED, "closed", "closed or shutting down"},
    {LEX_EMSGPACK, "bad-msgpack", "not a single well-formed msgpack object"},
    {LEX_ENOTMAP, "not-a-map", "expected a msgpack map"},
    {LEX_EMISSING, "missing-field", "required field missing"},
    {LEX_ETYPE, "wrong-type", "field has the wrong type"},
    {LEX_ELENGTH, "too-long", "field longer than its limit"},
    {LEX_EUNKNOWNKEY, "unknown-key", "message key not in the catalogue"},
    {LEX_EUNKNOWNFIELD, "unknown-field", "field not declared for this message key"},
    {LEX_ETOOBIG, "too-large", "message larger than the protocol maximum"},
    {LEX_ETOOMANYDEST, "too-many-destinations", "more destinations than allowed"},
    {LEX_EVERSION, "bad-version", "unsupported protocol version"},
    {LEX_EFORMAT, "bad-format", "field is badly formed"},
    {LEX_ECONSTRAINT, "constraint", "fields break a cross-field rule"},
    {LEX_EFRAMES, "bad-frames", "wrong number of frames"},
    {LEX_EDUPLICATE, "duplicate-key", "the same map key appears twice"},
    {LEX_EUTF8, "bad-utf8", "string is not valid UTF-8"},
    {LEX_EPARSE, "parse-error", "syntax error"},
    {LEX_EZMQ, "zmq-error", "ZeroMQ call failed"},
    {LEX_EROCKSDB, "rocksdb-error", "RocksDB call failed"},
    {LEX_EUV, "libuv-error", "libuv call failed"},
    {LEX_ESODIUM, "sodium-error", "libsodium call failed"},
};

static const error_entry_t *find(int code)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == code)
            return &errors[i];
    return 0;
}

const char *lex_strerror(int code)
{
    const error_entry_t *e = find(code);
    return e ? e->text : "unknown error";
}

const char *lex_errname(int code)
{
    const error_entry_t *e = find(code);
    return e ? e->name : "unknown";
}
