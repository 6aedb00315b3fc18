/* lex_status.h: the status codes carried by ST messages.
 * Every refusal the switch or a node makes reaches the sender as an ST with
 * one of these codes (see docs/PROTOCOL.md, "Status codes"). Codes are part of
 * the wire protocol: never renumber one. */
#ifndef LEX_STATUS_H
#define LEX_STATUS_H

typedef enum {
    LEX_ST_OK = 0,               /* informational, e.g. accepted */
    LEX_ST_DENIED = 1,           /* a state's rule denied the query */
    LEX_ST_NO_RECORD = 2,        /* no record (real miss, or a rule's choice) */
    LEX_ST_HELD = 3,             /* held for review by the state */
    LEX_ST_TIMEOUT = 10,         /* the destination did not answer in time */
    LEX_ST_NO_ROUTE = 11,        /* no node is registered for the destination */
    LEX_ST_UNKNOWN_DEST = 12,    /* destination is not a known state or ORI */
    LEX_ST_NODE_LOST = 13,       /* the destination node went away */
    LEX_ST_NOT_SERVED = 14,      /* destination does not answer this key */
    LEX_ST_EXPIRED = 15,         /* held for review and not decided in time */
    LEX_ST_BAD_FRAME = 20,       /* wrong frame count or not msgpack */
    LEX_ST_BAD_ENVELOPE = 21,    /* envelope fails validation */
    LEX_ST_BAD_BODY = 22,        /* body fails the catalogue's validation */
    LEX_ST_UNKNOWN_KEY = 23,     /* message key not in the catalogue */
    LEX_ST_TOO_LARGE = 24,       /* message over the size limit */
    LEX_ST_TOO_MANY_DEST = 25,   /* more destinations than allowed */
    LEX_ST_SPOOFED_ORI = 26,     /* source ORI not registered to this connection */
    LEX_ST_NOT_REGISTERED = 27,  /* connection sent traffic before HELLO */
    LEX_ST_UNSOLICITED = 28,     /* response answers no open query */
    LEX_ST_SHUTTING_DOWN = 29,   /* switch is draining */
    LEX_ST_HELLO_REFUSED = 30,   /* registration refused */
    LEX_ST_BAD_VERSION = 31,     /* protocol version not supported */
    LEX_ST_NOT_AUTHORISED = 32,  /* operator request for another state's holds */
    LEX_ST_NO_SUCH_HOLD = 33,    /* no held query with that id */
    LEX_ST_RATE_LIMITED = 34,    /* the session sent queries faster than its limit */
    LEX_ST_BUSY = 35,            /* the destination has too much queued: try later */
    LEX_ST_UNKNOWN_PEER = 36,    /* connection refused: its CURVE key is not in the directory */
    LEX_ST_LOOP = 37,            /* the message passed more switches than the hop limit */
    LEX_ST_ORI_IN_USE = 38,      /* HELLO claims an ORI a live session already holds */
    LEX_ST_LOG_FULL = 39,        /* the audit log's disk is below its reserve: no new queries */
    LEX_ST_REVOKED = 41,         /* the session's key was revoked or its binding changed */
    LEX_ST_LOG_FAILED = 42,      /* the audit log cannot write: the switch is stopping */
    LEX_ST_HANDSHAKE_FAILED = 45, /* (audit log only) a peer failed the CURVE handshake */
    LEX_ST_INTERNAL = 40,        /* the switch failed (e.g. log write) */
} lex_status_t;

/* The text of a no-record status. Responders and the switch (answering for
 * a state whose rule says no-record) use the same words, so a requester
 * cannot tell a rule's answer from a real miss. */
#define LEX_NO_RECORD_TEXT "no record"

/* Stable name of a status ("no-record"); "unknown" for codes not listed. */
const char *lex_status_name(int code);

/* Status code for a name, or -1 when the name is not a status. */
int lex_status_from_name(const char *name);

/* The status a sender receives for a codec/validation error code. */
lex_status_t lex_status_for_error(int lex_error);

#endif
