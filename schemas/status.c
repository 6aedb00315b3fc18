/* status.c: names of the ST status codes (lex_status.h) and the mapping
 * from codec errors to the status a sender receives. */
#include <string.h>
#include "lex_error.h"
#include "lex_status.h"

typedef struct {
    int code;
    const char *name;
} status_entry_t;

static const status_entry_t statuses[] = {
    {LEX_ST_OK, "ok"},
    {LEX_ST_DENIED, "denied"},
    {LEX_ST_NO_RECORD, "no-record"},
    {LEX_ST_HELD, "held-for-review"},
    {LEX_ST_TIMEOUT, "timeout"},
    {LEX_ST_NO_ROUTE, "no-route"},
    {LEX_ST_UNKNOWN_DEST, "unknown-destination"},
    {LEX_ST_NODE_LOST, "node-lost"},
    {LEX_ST_NOT_SERVED, "key-not-served"},
    {LEX_ST_EXPIRED, "expired"},
    {LEX_ST_BAD_FRAME, "bad-frame"},
    {LEX_ST_BAD_ENVELOPE, "bad-envelope"},
    {LEX_ST_BAD_BODY, "bad-body"},
    {LEX_ST_UNKNOWN_KEY, "unknown-key"},
    {LEX_ST_TOO_LARGE, "too-large"},
    {LEX_ST_TOO_MANY_DEST, "too-many-destinations"},
    {LEX_ST_SPOOFED_ORI, "spoofed-ori"},
    {LEX_ST_NOT_REGISTERED, "not-registered"},
    {LEX_ST_UNSOLICITED, "unsolicited-response"},
    {LEX_ST_SHUTTING_DOWN, "shutting-down"},
    {LEX_ST_HELLO_REFUSED, "hello-refused"},
    {LEX_ST_BAD_VERSION, "bad-version"},
    {LEX_ST_NOT_AUTHORISED, "not-authorised"},
    {LEX_ST_NO_SUCH_HOLD, "no-such-hold"},
    {LEX_ST_RATE_LIMITED, "rate-limited"},
    {LEX_ST_BUSY, "busy"},
    {LEX_ST_UNKNOWN_PEER, "unknown-peer-key"},
    {LEX_ST_LOOP, "loop"},
    {LEX_ST_ORI_IN_USE, "ori-in-use"},
    {LEX_ST_LOG_FULL, "log-full"},
    {LEX_ST_REVOKED, "key-revoked"},
    {LEX_ST_LOG_FAILED, "log-failed"},
    {LEX_ST_HANDSHAKE_FAILED, "handshake-failed"},
    {LEX_ST_INTERNAL, "internal-error"},
};

const char *lex_status_name(int code)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (statuses[i].code == code)
            return statuses[i].name;
    return "unknown";
}

int lex_status_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (strcmp(statuses[i].name, name) == 0)
            return statuses[i].code;
    return -1;
}

lex_status_t lex_status_for_error(int err)
{
    switch (err) {
    case LEX_EMSGPACK:
    case LEX_ENOTMAP:
    case LEX_EFRAMES:
        return LEX_ST_BAD_FRAME;
    case LEX_EUNKNOWNKEY:
        return LEX_ST_UNKNOWN_KEY;
    case LEX_ETOOBIG:
        return LEX_ST_TOO_LARGE;
    case LEX_ETOOMANYDEST:
        return LEX_ST_TOO_MANY_DEST;
    case LEX_EVERSION:
        return LEX_ST_BAD_VERSION;
    case LEX_EMISSING:
    case LEX_ETYPE:
    case LEX_ELENGTH:
    case LEX_EUNKNOWNFIELD:
    case LEX_EFORMAT:
    case LEX_ECONSTRAINT:
    case LEX_EDUPLICATE:
    case LEX_EUTF8:
        return LEX_ST_BAD_BODY;
    default:
        return LEX_ST_INTERNAL;
    }
}
