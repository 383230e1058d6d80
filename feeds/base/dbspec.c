/*
 * dbspec.c — a `database` value: a file, or a PostgreSQL connection string (see dbspec.h).
 *
 * The rules are libpq's (its fe-connect.c: uri_prefix_length, conninfo_parse), so that a
 * value the PostgreSQL engine will hand to libpq is taken for a connection string here, and
 * nothing else is: the URI prefixes are compared case-sensitively, and in the keyword/value
 * form a keyword runs to a blank or '=', blanks may surround the '=', and a value is either
 * a run of non-blanks or a single-quoted string, with '\' escaping the next byte in both.
 */
#include "base/dbspec.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/url.h"

/*
 * libpq's connection keywords (PostgreSQL 15 to 18; the PQconninfoOptions table), in
 * strcmp order for bsearch.
 */
static const char *const dbspec_keywords[] = {
    "application_name",
    "channel_binding",
    "client_encoding",
    "connect_timeout",
    "dbname",
    "fallback_application_name",
    "gssdelegation",
    "gssencmode",
    "gsslib",
    "host",
    "hostaddr",
    "keepalives",
    "keepalives_count",
    "keepalives_idle",
    "keepalives_interval",
    "krbsrvname",
    "load_balance_hosts",
    "max_protocol_version",
    "min_protocol_version",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_issuer",
    "oauth_scope",
    "options",
    "passfile",
    "password",
    "port",
    "replication",
    "require_auth",
    "requirepeer",
    "scram_client_key",
    "scram_server_key",
    "service",
    "ssl_max_protocol_version",
    "ssl_min_protocol_version",
    "sslcert",
    "sslcertmode",
    "sslcompression",
    "sslcrl",
    "sslcrldir",
    "sslkey",
    "sslkeylogfile",
    "sslmode",
    "sslnegotiation",
    "sslpassword",
    "sslrootcert",
    "sslsni",
    "target_session_attrs",
    "tcp_user_timeout",
    "user",
};

/* The keywords whose values are secrets, in strcmp order. */
static const char *const dbspec_secrets[] = {
    "oauth_client_secret", "password", "scram_client_key", "scram_server_key", "sslpassword",
};

#define DBSPEC_N(a) (sizeof(a) / sizeof((a)[0]))

/* strcmp of word and the n bytes at s (which hold no NUL). */
static int
dbspec_cmp(const char *word, const char *s, size_t n)
{
    int c = strncmp(word, s, n);
    if (c != 0)
        return c;
    return word[n] == '\0' ? 0 : 1; /* word is longer: it sorts after s */
}

/* Whether the n bytes at s are one of the sorted words of table. */
static bool
dbspec_in(const char *const *table, size_t n_table, const char *s, size_t n)
{
    size_t lo = 0, hi = n_table;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = dbspec_cmp(table[mid], s, n);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* The length of a libpq URI prefix at the start of s, 0 when there is none. */
static size_t
dbspec_uri_prefix(const char *s)
{
    if (strncmp(s, "postgresql://", 13) == 0)
        return 13;
    if (strncmp(s, "postgres://", 11) == 0)
        return 11;
    return 0;
}

/* Where the keyword that starts at s ends (at a blank, '=' or the end). */
static const char *
dbspec_keyword_end(const char *s)
{
    while (*s && *s != '=' && !isspace((unsigned char)*s))
        s++;
    return s;
}

/* s past any blanks. */
static const char *
dbspec_skip_blanks(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

/* The kind of a `database` value (dbspec.h). */
enum dbspec_kind
dbspec_kind(const char *database)
{
    if (!database)
        return DBSPEC_FILE;
    if (dbspec_uri_prefix(database))
        return DBSPEC_POSTGRES;
    const char *kw = dbspec_skip_blanks(database);
    const char *end = dbspec_keyword_end(kw);
    if (end == kw || *dbspec_skip_blanks(end) != '=')
        return DBSPEC_FILE;
    return dbspec_in(dbspec_keywords, DBSPEC_N(dbspec_keywords), kw, (size_t)(end - kw))
               ? DBSPEC_POSTGRES
               : DBSPEC_FILE;
}

/*
 * Where the value that starts at s ends, as libpq reads it; NULL when a quoted one is not
 * closed.
 */
static const char *
dbspec_value_end(const char *s)
{
    if (*s != '\'') {
        while (*s && !isspace((unsigned char)*s))
            s += s[0] == '\\' && s[1] ? 2 : 1;
        return s;
    }
    for (s++; *s; s++) {
        if (*s == '\\' && s[1])
            s++;
        else if (*s == '\'')
            return s + 1;
    }
    return NULL;
}

/* Appends n bytes of s at out + *o. */
static void
dbspec_put(char *out, size_t *o, const char *s, size_t n)
{
    memcpy(out + *o, s, n);
    *o += n;
}

/*
 * The keyword/value form with the values of the secret keywords replaced. out has room for
 * 3 * strlen(s) + 8 bytes: each keyword=value part is at least two bytes of s ("k=") and
 * grows by at most 3 ("***" for an empty value), and "…" is 3 bytes.
 */
static void
dbspec_redact_keywords(const char *s, char *out)
{
    size_t o = 0;
    while (*s) {
        const char *kw = dbspec_skip_blanks(s);
        dbspec_put(out, &o, s, (size_t)(kw - s));
        if (!*kw)
            break;
        const char *end = dbspec_keyword_end(kw);
        const char *eq = dbspec_skip_blanks(end);
        const char *val = *eq == '=' ? dbspec_skip_blanks(eq + 1) : NULL;
        const char *val_end = val ? dbspec_value_end(val) : NULL;
        if (!val_end) {
            dbspec_put(out, &o, "\xe2\x80\xa6", 3); /* "…": libpq would refuse the rest */
            break;
        }
        dbspec_put(out, &o, kw, (size_t)(val - kw));
        if (dbspec_in(dbspec_secrets, DBSPEC_N(dbspec_secrets), kw, (size_t)(end - kw)))
            dbspec_put(out, &o, "***", 3);
        else
            dbspec_put(out, &o, val, (size_t)(val_end - val));
        s = val_end;
    }
    out[o] = '\0';
}

/*
 * A URI (url_redact's output, s) with the values of its query's parameters that name a
 * secret keyword replaced; url_redact knows "password" but not "sslpassword" and the like.
 * out has room for 3 * strlen(s) + 8 bytes.
 */
static void
dbspec_redact_query(const char *s, char *out)
{
    size_t o = 0;
    const char *q = strchr(s, '?');
    if (!q) {
        memcpy(out, s, strlen(s) + 1);
        return;
    }
    dbspec_put(out, &o, s, (size_t)(q - s));
    s = q;
    while (*s) {
        out[o++] = *s++; /* '?' or '&' */
        size_t plen = strcspn(s, "&");
        const char *eq = memchr(s, '=', plen);
        if (eq && dbspec_in(dbspec_secrets, DBSPEC_N(dbspec_secrets), s, (size_t)(eq - s))) {
            dbspec_put(out, &o, s, (size_t)(eq - s) + 1);
            dbspec_put(out, &o, "***", 3);
        } else {
            dbspec_put(out, &o, s, plen);
        }
        s += plen;
    }
    out[o] = '\0';
}

/* database as it may be shown (dbspec.h). */
char *
dbspec_redact(const char *database)
{
    if (!database)
        return NULL;
    enum dbspec_kind kind = dbspec_kind(database);
    if (kind == DBSPEC_FILE)
        return strdup(database);
    char *uri = NULL;
    const char *s = database;
    if (dbspec_uri_prefix(database)) {
        uri = url_redact(database);
        if (!uri)
            return NULL;
        s = uri;
    }
    size_t len = strlen(s);
    char *out = len <= (SIZE_MAX - 8) / 3 ? malloc(3 * len + 8) : NULL;
    if (out) {
        if (uri)
            dbspec_redact_query(s, out);
        else
            dbspec_redact_keywords(s, out);
    }
    free(uri);
    return out;
}
