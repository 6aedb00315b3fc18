/* lex_error.h: the error codes every lexswitch library returns.
 * Functions that can fail return 0 or a negative LEX_E* code; lex_strerror()
 * turns a code into text. Codec codes (-10 .. -29) name one kind of protocol
 * violation each, so the switch can map them to a status for the sender. */
#ifndef LEX_ERROR_H
#define LEX_ERROR_H

enum {
    LEX_OK = 0,
    LEX_ENOMEM = -1,          /* out of memory */
    LEX_EINVAL = -2,          /* bad argument from the caller */
    LEX_EIO = -3,             /* file or system I/O failed */
    LEX_ENOTFOUND = -4,       /* looked-up thing does not exist */
    LEX_EEXIST = -5,          /* thing already exists / already claimed */
    LEX_ETIMEOUT = -6,        /* deadline passed */
    LEX_EAGAIN = -7,          /* nothing available now, try later */
    LEX_ECLOSED = -8,         /* peer or object is shutting down */

    /* protocol and validation violations */
    LEX_EMSGPACK = -10,       /* bytes are not one well-formed msgpack object */
    LEX_ENOTMAP = -11,        /* envelope or body is not a msgpack map */
    LEX_EMISSING = -12,       /* a required field is missing */
    LEX_ETYPE = -13,          /* a field has the wrong type */
    LEX_ELENGTH = -14,        /* a field is longer than its limit */
    LEX_EUNKNOWNKEY = -15,    /* message key not in the catalogue */
    LEX_EUNKNOWNFIELD = -16,  /* field not declared for this key */
    LEX_ETOOBIG = -17,        /* message larger than the protocol maximum */
    LEX_ETOOMANYDEST = -18,   /* more destinations than allowed */
    LEX_EVERSION = -19,       /* unsupported protocol version */
    LEX_EFORMAT = -20,        /* field present but badly formed (ORI, state) */
    LEX_ECONSTRAINT = -21,    /* cross-field rule broken (one of, together) */
    LEX_EFRAMES = -22,        /* wrong number of frames */
    LEX_EDUPLICATE = -23,     /* a map holds the same key twice */
    LEX_EUTF8 = -24,          /* a string is not valid UTF-8 */

    /* files and configuration */
    LEX_EPARSE = -30,         /* syntax error in a config, rules or data file */

    /* errors of the libraries underneath */
    LEX_EZMQ = -40,
    LEX_EROCKSDB = -41,
    LEX_EUV = -42,
    LEX_ESODIUM = -43,
};

/* Text for a LEX_E* code (static storage, never NULL). */
const char *lex_strerror(int code);

/* Short stable name of a code ("missing-field"), for logs and status text. */
const char *lex_errname(int code);

#endif
