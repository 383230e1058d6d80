/*
 * conf.c — the config file reader and validator (see conf.h and PRODUCT.md "Config file").
 *
 * The grammar, and the choices this reader makes where PRODUCT.md is silent:
 * - A line is blank, a comment (first non-blank character '#' or ';'), a section header
 *   `[kind]` or `[kind "name"]`, or `key = value`. Leading and trailing blanks are trimmed.
 *   A '#' or ';' preceded by a blank starts a trailing comment anywhere in a value, also
 *   inside quotes (`X-Api-Key: abc#1` keeps its '#'; `exec = a ';'` keeps its ';').
 * - Kinds: daemon (no name; may appear several times, but each key once in total), feed,
 *   topic, hook (a name in double quotes, 1-128 characters of A-Z a-z 0-9 . _ -: the feed
 *   name rule of feeds/base/feedrule.h, for every kind).
 *   Keys are lowercase and case-sensitive. A duplicate section's keys are not checked.
 * - `include = GLOB` is allowed anywhere: at top level and inside any section. The glob is
 *   relative to the folder of the including file; matches are read in strcmp order. Each
 *   included file starts outside any section, and the including file goes on in the section
 *   it was in. A pattern with * ? [ may match nothing (also when its folder is missing); a
 *   plain path must exist. Nesting is limited to 8 levels and a cycle is an error.
 * - `database` is a file path unless libpq would take it for a PostgreSQL connection string
 *   (base/dbspec.h: "postgresql://…", "service=…"), which is kept as written.
 * - Relative paths (database, socket, password_file, secret_file, header @FILE, file: URLs,
 *   and a hook's program when it contains a '/') are made absolute against the folder of the
 *   file that holds the line, lexically (no symlinks resolved, no ~ or $ expansion). A bare
 *   program name is left for a PATH search.
 * - Limits: 65536 bytes per line, 16 MiB per file, 64 MiB and 1024 files in total, UTF-8
 *   text without control characters (tab aside). After 100 errors the reader stops.
 * - Every error is "file:line: key: why". Section-level errors use the header line and the
 *   section's designation (`feed "x"`) as key; errors about a whole file are "FILE: message".
 */
#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ctype.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dbspec.h"
#include "base/feedrule.h"
#include "base/url.h"
#include "base/utf8.h"

#ifndef FW_VERSION
#define FW_VERSION "0.0.0"
#endif

#define CONF_MAX_LINE (64u * 1024)
#define CONF_MAX_FILE (16u * 1024 * 1024)
#define CONF_MAX_TOTAL (64u * 1024 * 1024)
#define CONF_MAX_FILES 1024u
#define CONF_MAX_DEPTH 8u
#define CONF_MAX_ERRORS 100u
#define CONF_MAX_KEY 64u
#define CONF_MAX_LIST 256u
#define CONF_MAX_VALUE_FILE 8192u
#define CONF_MAX_STRING 4096u
#define CONF_MAX_SOCKET_PATH 107u
#define CONF_MAX_DURATION (100ull * 366 * 86400)

#define CONF_DEFAULT_DATABASE "/var/lib/feedwatch/feedwatch.db"
#define CONF_DEFAULT_SOCKET "/run/feedwatch/feedwatch.sock"
#define CONF_DEFAULT_USER_AGENT "feedwatch/" FW_VERSION " (+https://example.org/feedwatch)"

enum sect_kind { SECT_NONE, SECT_DAEMON, SECT_FEED, SECT_TOPIC, SECT_HOOK, SECT_ALIAS, SECT_SKIP };

static const char *const sect_names[] = {
    [SECT_DAEMON] = "daemon", [SECT_FEED] = "feed",   [SECT_TOPIC] = "topic",
    [SECT_HOOK] = "hook",     [SECT_ALIAS] = "alias",
};

enum {
    DK_DATABASE,
    DK_SOCKET,
    DK_INTERVAL,
    DK_MAX_CONNECTIONS,
    DK_MAX_PER_HOST,
    DK_USER_AGENT,
    DK_MAX_FEED_SIZE,
    DK_RETENTION,
    DK_MIN_INTERVAL,
    DK_MAX_INTERVAL,
    DK_RESPECT_FEED_HINTS,
    DK_MAX_FAILURES,
    DK_STORY_WINDOW,
    DK_MAX_HOOKS,
    DK_LOG_LEVEL,
    DK_PROXY,
    DK_FETCH_TIMEOUT,
    DK_ALLOW_PRIVATE,
    DK_MAX_ARTICLES,
    DK_MAX_ARTICLE_SIZE,
    DK_MAX_ARTICLE_MEMORY,
    DK_METRICS_LISTEN,
    DK_MAX_POLL_MEMORY,
    DK_NODE,
    DK_LEASE,
    DK_MOVE_CONFIRMATIONS,
    DK_STALL_FACTOR,
    DK_STALL_MIN,
    DK__MAX
};
static const char *const daemon_keys[] = {
    "database",
    "socket",
    "interval",
    "max_connections",
    "max_per_host",
    "user_agent",
    "max_feed_size",
    "retention",
    "min_interval",
    "max_interval",
    "respect_feed_hints",
    "max_failures",
    "story_window",
    "max_hooks",
    "log_level",
    "proxy",
    "fetch_timeout",
    "allow_private_addresses",
    "max_articles_per_poll",
    "max_article_size",
    "max_article_memory",
    "metrics_listen",
    "max_poll_memory",
    "node",
    "lease",
    "move_confirmations",
    "stall_factor",
    "stall_min",
    NULL,
};

enum {
    FK_URL,
    FK_INTERVAL,
    FK_TAGS,
    FK_FETCH_ARTICLE,
    FK_ENABLED,
    FK_HEADER,
    FK_USER,
    FK_PASSWORD_FILE,
    FK_ALLOW_PRIVATE,
    FK_MOVE_CONFIRMATIONS,
    FK_HOOKS
};
static const char *const feed_keys[] = {
    "url",    "interval", "tags",          "fetch_article",           "enabled",
    "header", "user",     "password_file", "allow_private_addresses", "move_confirmations",
    "hooks",  NULL,
};

enum { TK_MATCH, TK_HOOKS, TK_FEEDS, TK_TAGS, TK_ON_UPDATE };
static const char *const topic_keys[] = {"match", "hooks", "feeds", "tags", "on_update", NULL};

/* [alias "NAME"]: names = A, B, "C D" */
enum { AK_NAMES };
static const char *const alias_keys[] = {"names", NULL};
#define CONF_MAX_ALIAS_NAMES 1024u

enum { HK_EXEC, HK_URL, HK_TIMEOUT, HK_RETRIES, HK_SECRET_FILE, HK_ENV, HK_EVENTS, HK_BATCH };
static const char *const hook_keys[] = {"exec", "url",    "timeout", "retries", "secret_file",
                                        "env",  "events", "batch",   NULL};

static const char *const event_names[CONF_EVENT__COUNT] = {
    [CONF_EVENT_ALERT] = "alert",
    [CONF_EVENT_FEED_DISABLED] = "feed-disabled",
    [CONF_EVENT_FEED_MOVED] = "feed-moved",
    [CONF_EVENT_FEED_RECOVERED] = "feed-recovered",
    [CONF_EVENT_FEED_STALLED] = "feed-stalled",
    [CONF_EVENT_FEED_PURGED] = "feed-purged",
    [CONF_EVENT_FEED_IDS_CHANGED] = "feed-ids-changed",
    [CONF_EVENT_ITEM_UPDATED] = "item-updated",
    [CONF_EVENT_STORY_SOURCE] = "story-source",
};

const char *
conf_event_name(enum conf_event e)
{
    return (unsigned)e < CONF_EVENT__COUNT ? event_names[e] : "?";
}

struct name_slot {
    const char *name; /* borrowed from the conf entry */
    size_t idx;
};

/* Open-addressing set of section names, so duplicates and references cost O(1). */
struct name_index {
    struct name_slot *slots;
    size_t cap;
    size_t n;
};

struct key_where {
    const char *file; /* borrowed from parser.names */
    unsigned line;
};

struct topic_aux {
    unsigned hooks_line;
    unsigned feeds_line;
};

struct file_id {
    dev_t dev;
    ino_t ino;
};

struct parser {
    struct conf *conf;
    char *err;
    size_t err_len;
    size_t err_cap;
    unsigned n_errors;
    bool stopped;
    bool oom;
    size_t total_bytes;
    char **names; /* display path of every file read */
    size_t n_names;
    size_t cap_names;
    struct file_id stack[CONF_MAX_DEPTH + 1];
    unsigned depth;
    uint32_t daemon_seen;
    struct key_where daemon_where[DK__MAX];
    size_t cap_feeds;
    size_t cap_topics;
    size_t cap_hooks;
    struct topic_aux *topic_aux;
    struct name_index feed_ix;
    struct name_index topic_ix;
    struct name_index hook_ix;
    struct name_index alias_ix;
    size_t cap_aliases;
    bool aliases_too; /* conf_load_aliases: [alias] sections read in socket_only mode */
    bool socket_only; /* conf_load_socket: only [daemon] socket and include count */
    bool socket_bad;  /* conf_load_socket: the socket value was refused */
};

struct file_ctx {
    const char *path; /* as shown in messages */
    const char *dir;  /* absolute folder, relative paths start here */
    unsigned depth;
};

struct section {
    enum sect_kind kind;
    size_t idx;
    unsigned line;
    uint32_t seen;
    unsigned seen_line[16];
};

struct loc {
    const struct file_ctx *f;
    unsigned line;
    const char *key;
};

/* ---- errors ---- */

static void perr(struct parser *p, const char *file, unsigned line, const char *key,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
err_append(struct parser *p, const char *file, unsigned line, const char *key, const char *msg)
{
    size_t need = strlen(file) + strlen(key) + strlen(msg) + 32;
    if (p->err_cap - p->err_len < need) {
        size_t cap = p->err_cap ? p->err_cap : 1024;
        while (cap - p->err_len < need)
            cap *= 2;
        char *n = realloc(p->err, cap);
        if (!n) {
            p->oom = true;
            p->stopped = true;
            return;
        }
        p->err = n;
        p->err_cap = cap;
    }
    /* An error about the whole file has no line: "FILE: cannot read: ..." (issue 15). */
    int w = line ? snprintf(p->err + p->err_len, p->err_cap - p->err_len, "%s:%u: %s: %s\n", file,
                            line, key, msg)
                 : snprintf(p->err + p->err_len, p->err_cap - p->err_len, "%s: %s\n", file, msg);
    if (w > 0)
        p->err_len += (size_t)w;
}

static void
perr(struct parser *p, const char *file, unsigned line, const char *key, const char *fmt, ...)
{
    if (p->stopped)
        return;
    if (p->n_errors >= CONF_MAX_ERRORS) {
        char msg[64];
        (void)snprintf(msg, sizeof msg, "too many errors, stopped after %u", CONF_MAX_ERRORS);
        err_append(p, file, line, "config", msg);
        p->stopped = true;
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err_append(p, file, line, key, msg);
    p->n_errors++;
}

#define perr_at(p, at, ...) perr((p), (at)->f->path, (at)->line, (at)->key, __VA_ARGS__)

static void set_oom(struct parser *p);

/* A value taken otherwise than written: the config's warnings (struct conf). */
static void
pwarn_at(struct parser *p, const struct loc *at, const char *fmt, ...)
{
    struct conf *c = p->conf;
    if (!c || c->n_warnings >= CONF_MAX_ERRORS)
        return;
    char msg[1024], *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char **grown = realloc(c->warnings, (c->n_warnings + 1) * sizeof(*grown));
    if (!grown ||
        asprintf(&line, "%s:%u: warning: %s: %s", at->f->path, at->line, at->key, msg) < 0) {
        if (grown)
            c->warnings = grown;
        set_oom(p);
        return;
    }
    c->warnings = grown;
    c->warnings[c->n_warnings++] = line;
}

static void
set_oom(struct parser *p)
{
    p->oom = true;
    p->stopped = true;
}

/* Copies s for a message: at most 80 bytes, cut on a UTF-8 boundary, "..." when cut. */
static const char *
qs(char *buf, size_t size, const char *s)
{
    size_t n = strlen(s);
    size_t max = size - 4 < 80 ? size - 4 : 80;
    if (n <= max) {
        memcpy(buf, s, n + 1);
        return buf;
    }
    n = utf8_cut(s, n, max);
    memcpy(buf, s, n);
    memcpy(buf + n, "...", 4);
    return buf;
}

#define QS(s) qs((char[96]){0}, 96, (s))

/*
 * qs() of a URL with its userinfo and secret-named query values hidden (url_redact): config
 * errors reach the log and the CLI. "(not shown)" when memory runs out.
 */
static const char *
qs_url(char *buf, size_t size, const char *url)
{
    char *shown = url_redact(url);
    qs(buf, size, shown ? shown : "(not shown)");
    free(shown);
    return buf;
}

#define QS_URL(s) qs_url((char[96]){0}, 96, (s))

static const char *
designation(char *buf, size_t size, enum sect_kind kind, const char *name)
{
    if (kind == SECT_DAEMON)
        (void)snprintf(buf, size, "daemon");
    else
        (void)snprintf(buf, size, "%s \"%s\"", sect_names[kind], name);
    return buf;
}

/* ---- small string helpers ---- */

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static char *
trim(char *s)
{
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        n--;
    s[n] = '\0';
    return s;
}

static char *
xstrndup(struct parser *p, const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (!d)
        set_oom(p);
    return d;
}

static char *
xstrdup(struct parser *p, const char *s)
{
    return xstrndup(p, s, strlen(s));
}

static int
key_lookup(const char *const *table, const char *key)
{
    for (int i = 0; table[i]; i++)
        if (strcmp(table[i], key) == 0)
            return i;
    return -1;
}

/* ---- paths ---- */

/*
 * Joins dir and rel (rel wins when absolute) into a clean absolute path: repeated slashes
 * and "." components go, ".." stays (it may cross a symlink). NULL when too long or OOM;
 * *ret_too_long tells which.
 */
static char *
path_resolve(const char *dir, const char *rel, bool *ret_too_long)
{
    *ret_too_long = false;
    size_t dl = rel[0] == '/' ? 0 : strlen(dir);
    size_t rl = strlen(rel);
    if (dl + rl + 2 > PATH_MAX) {
        *ret_too_long = true;
        return NULL;
    }
    char *tmp = malloc(dl + rl + 2);
    if (!tmp)
        return NULL;
    if (dl) {
        memcpy(tmp, dir, dl);
        tmp[dl] = '/';
        memcpy(tmp + dl + 1, rel, rl + 1);
    } else {
        memcpy(tmp, rel, rl + 1);
    }
    /* Clean in place: the result is never longer than the input. */
    char *out = tmp;
    size_t o = 0;
    const char *s = tmp;
    while (*s) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t cl = (size_t)(e - s);
        if (!(cl == 1 && s[0] == '.')) {
            out[o++] = '/';
            memmove(out + o, s, cl);
            o += cl;
        }
        s = e;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return out;
}

static char *
path_dirname(const char *abs)
{
    const char *slash = strrchr(abs, '/');
    if (!slash || slash == abs)
        return strdup("/");
    return strndup(abs, (size_t)(slash - abs));
}

static char *
resolve_or_err(struct parser *p, const struct loc *at, const char *val)
{
    bool too_long;
    char *r = path_resolve(at->f->dir, val, &too_long);
    if (!r) {
        if (too_long)
            perr_at(p, at, "path too long: '%s'", QS(val));
        else
            set_oom(p);
    }
    return r;
}

/* ---- files ---- */

/* Reads a whole regular file of at most max bytes; the buffer gets a NUL after the data. */
static int
file_read(const char *path, size_t max, char **ret_buf, size_t *ret_len, struct stat *ret_st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int r = -errno;
        (void)close(fd);
        return r;
    }
    if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
        (void)close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : -ENODEV;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        (void)close(fd);
        return -EFBIG;
    }
    size_t cap = (size_t)st.st_size + 1;
    char *buf = malloc(cap + 1);
    if (!buf) {
        (void)close(fd);
        return -ENOMEM;
    }
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            /* The file grew while we read it; allow up to max. */
            if (cap > max) {
                free(buf);
                (void)close(fd);
                return -EFBIG;
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *n = realloc(buf, ncap + 1);
            if (!n) {
                free(buf);
                (void)close(fd);
                return -ENOMEM;
            }
            buf = n;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            int r = -errno;
            free(buf);
            (void)close(fd);
            return r;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    (void)close(fd);
    if (len > max) {
        free(buf);
        return -EFBIG;
    }
    buf[len] = '\0';
    *ret_buf = buf;
    *ret_len = len;
    if (ret_st)
        *ret_st = st;
    return 0;
}

static const char *
read_error(int r, char *buf, size_t size)
{
    if (r == -EFBIG)
        return "file too large";
    if (r == -ENODEV)
        return "not a regular file";
#ifdef _GNU_SOURCE
    return strerror_r(-r, buf, size);
#else
    if (strerror_r(-r, buf, size) != 0)
        (void)snprintf(buf, size, "error %d", -r);
    return buf;
#endif
}

/* True when path names a regular file we may open for reading. */
static int
file_check_readable(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0)
        r = -errno;
    else if (S_ISDIR(st.st_mode))
        r = -EISDIR;
    else if (!S_ISREG(st.st_mode))
        r = -ENODEV;
    (void)close(fd);
    return r;
}

/* ---- name index ---- */

static uint64_t
name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static bool
nindex_find(const struct name_index *ix, const char *name, size_t *ret_idx)
{
    if (ix->cap == 0)
        return false;
    size_t mask = ix->cap - 1;
    for (size_t i = (size_t)name_hash(name) & mask;; i = (i + 1) & mask) {
        if (!ix->slots[i].name)
            return false;
        if (strcmp(ix->slots[i].name, name) == 0) {
            *ret_idx = ix->slots[i].idx;
            return true;
        }
    }
}

static void
nindex_put(struct name_slot *slots, size_t cap, const char *name, size_t idx)
{
    size_t mask = cap - 1;
    size_t i = (size_t)name_hash(name) & mask;
    while (slots[i].name)
        i = (i + 1) & mask;
    slots[i].name = name;
    slots[i].idx = idx;
}

static int
nindex_add(struct name_index *ix, const char *name, size_t idx)
{
    if ((ix->n + 1) * 2 > ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 16;
        struct name_slot *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -ENOMEM;
        for (size_t i = 0; i < ix->cap; i++)
            if (ix->slots[i].name)
                nindex_put(slots, cap, ix->slots[i].name, ix->slots[i].idx);
        free(ix->slots);
        ix->slots = slots;
        ix->cap = cap;
    }
    nindex_put(ix->slots, ix->cap, name, idx);
    ix->n++;
    return 0;
}

/* ---- value parsers (public) ---- */

/* Reads a run of decimal digits; -EINVAL when there is none, -ERANGE on overflow. */
static int
parse_digits(const char *s, uint64_t *ret_n, const char **ret_end)
{
    if (!(*s >= '0' && *s <= '9'))
        return -EINVAL;
    uint64_t n = 0;
    bool overflow = false;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (n > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            n = n * 10 + d;
    }
    *ret_end = s;
    if (overflow)
        return -ERANGE;
    *ret_n = n;
    return 0;
}

/* Parses a duration such as "90s", "15m", "2h", "1d", "1w" or bare seconds. */
int
conf_parse_duration(const char *s, uint64_t *ret_s)
{
    if (!s)
        return -EINVAL;
    const char *end = s;
    while (*end >= '0' && *end <= '9')
        end++;
    if (end == s)
        return -EINVAL;
    uint64_t mult;
    switch (*end) {
    case '\0':
        mult = 1;
        break;
    case 's':
        mult = 1;
        break;
    case 'm':
        mult = 60;
        break;
    case 'h':
        mult = 3600;
        break;
    case 'd':
        mult = 86400;
        break;
    case 'w':
        mult = 604800;
        break;
    default:
        return -EINVAL;
    }
    if (*end && end[1])
        return -EINVAL;
    uint64_t n;
    int r = parse_digits(s, &n, &end);
    if (r < 0)
        return r;
    if (n > UINT64_MAX / mult)
        return -ERANGE;
    *ret_s = n * mult;
    return 0;
}

/* Parses a size such as "512", "512k", "8M", "8MB", "8MiB", "1G" (binary multiples). */
int
conf_parse_size(const char *s, uint64_t *ret_bytes)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } units[] = {
        {"", 0},     {"b", 0},  {"k", 10},  {"kb", 10},  {"kib", 10}, {"m", 20},  {"mb", 20},
        {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40},   {"tb", 40}, {"tib", 40},
    };
    if (!s)
        return -EINVAL;
    const char *end = s;
    while (*end >= '0' && *end <= '9')
        end++;
    if (end == s)
        return -EINVAL;
    unsigned shift = 0;
    bool found = false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].suffix) == 0) {
            shift = units[i].shift;
            found = true;
            break;
        }
    }
    if (!found)
        return -EINVAL;
    uint64_t n;
    int r = parse_digits(s, &n, &end);
    if (r < 0)
        return r;
    if (n > (UINT64_MAX >> shift))
        return -ERANGE;
    *ret_bytes = n << shift;
    return 0;
}

/* Parses yes/no/true/false/on/off/1/0, case-insensitive. */
int
conf_parse_bool(const char *s, bool *ret_b)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *ret_b = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *ret_b = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* ---- value checkers: each reports its own error and returns false ---- */

/* Whether s is a node name: 1 to CONF_NODE_NAME_MAX letters, digits, '.', '-' or '_'. */
bool
conf_node_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CONF_NODE_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_')
            return false;
    return true;
}

static bool
val_duration(struct parser *p, const struct loc *at, const char *v, uint64_t min, uint64_t *out)
{
    uint64_t s = 0;
    int r = conf_parse_duration(v, &s);
    if (r == -ERANGE || (r == 0 && s > CONF_MAX_DURATION)) {
        perr_at(p, at, "duration '%s' is too long (max 100 years)", QS(v));
        return false;
    }
    if (r < 0) {
        perr_at(p, at, "invalid duration '%s' (use e.g. 90s, 15m, 2h, 1d, 1w)", QS(v));
        return false;
    }
    if (s < min) {
        perr_at(p, at, "duration '%s' is too short (min %llus)", QS(v), (unsigned long long)min);
        return false;
    }
    *out = s;
    return true;
}

/*
 * As val_duration, at most max (written max_text: "30d"), for keys whose sense ends there: a
 * longer one is taken as max, with a warning (a config that ran before the bound still starts).
 */
static bool
val_duration_max(struct parser *p, const struct loc *at, const char *v, uint64_t min, uint64_t max,
                 const char *max_text, uint64_t *out)
{
    uint64_t s = 0;
    int r = conf_parse_duration(v, &s);
    if (r == -ERANGE || (r == 0 && s > max)) {
        pwarn_at(p, at, "duration '%s' is longer than the most, %s: %s is used", QS(v), max_text,
                 max_text);
        *out = max;
        return true;
    }
    return val_duration(p, at, v, min, out);
}

static bool
val_uint(struct parser *p, const struct loc *at, const char *v, unsigned min, unsigned max,
         unsigned *out)
{
    uint64_t n = 0;
    const char *end;
    int r = parse_digits(v, &n, &end);
    if (r == -EINVAL || (r == 0 && *end) || (r == -ERANGE && *end)) {
        perr_at(p, at, "invalid number '%s'", QS(v));
        return false;
    }
    if (r == -ERANGE || n < min || n > max) {
        perr_at(p, at, "'%s' is out of range (%u..%u)", QS(v), min, max);
        return false;
    }
    *out = (unsigned)n;
    return true;
}

static bool
val_size(struct parser *p, const struct loc *at, const char *v, uint64_t min, uint64_t max,
         const char *range, uint64_t *out)
{
    uint64_t n = 0;
    int r = conf_parse_size(v, &n);
    if (r == -EINVAL) {
        perr_at(p, at, "invalid size '%s' (use e.g. 512k, 8M, 1G)", QS(v));
        return false;
    }
    if (r < 0 || n < min || n > max) {
        perr_at(p, at, "'%s' is out of range (%s)", QS(v), range);
        return false;
    }
    *out = n;
    return true;
}

static bool
val_bool(struct parser *p, const struct loc *at, const char *v, bool *out)
{
    if (conf_parse_bool(v, out) < 0) {
        perr_at(p, at, "invalid boolean '%s' (use yes or no)", QS(v));
        return false;
    }
    return true;
}

/* Copies v into *out (replacing what was there). */
static bool
val_copy(struct parser *p, const char *v, char **out)
{
    char *d = xstrdup(p, v);
    if (!d)
        return false;
    free(*out);
    *out = d;
    return true;
}

static bool
val_string(struct parser *p, const struct loc *at, const char *v, char **out)
{
    if (strlen(v) > CONF_MAX_STRING) {
        perr_at(p, at, "value too long (max %u bytes)", CONF_MAX_STRING);
        return false;
    }
    return val_copy(p, v, out);
}

static bool
val_path(struct parser *p, const struct loc *at, const char *v, bool must_read, char **out)
{
    char *abs = resolve_or_err(p, at, v);
    if (!abs)
        return false;
    if (must_read) {
        int r = file_check_readable(abs);
        if (r < 0) {
            char eb[128];
            perr_at(p, at, "cannot read '%s': %s", QS(abs), read_error(r, eb, sizeof eb));
            free(abs);
            return false;
        }
    }
    free(*out);
    *out = abs;
    return true;
}

static bool
val_http_url(struct parser *p, const struct loc *at, const char *v, char **out)
{
    if (strlen(v) > FEED_URL_MAX) {
        perr_at(p, at, "URL too long (max %u bytes)", FEED_URL_MAX);
        return false;
    }
    if (!feed_url_valid(v)) {
        if (strncasecmp(v, "http://", 7) == 0 || strncasecmp(v, "https://", 8) == 0)
            perr_at(p, at, "invalid URL '%s' (needs a host and no blanks)", QS_URL(v));
        else
            perr_at(p, at, "unsupported URL '%s' (use http:// or https://)", QS_URL(v));
        return false;
    }
    return val_copy(p, v, out); /* FEED_URL_MAX, not CONF_MAX_STRING */
}

/*
 * A feed URL: http(s) as given, or a file URL made absolute. file:///abs, file:/abs and
 * file://localhost/abs are absolute; file://rel/x and file:rel/x are relative to the folder
 * of the config file.
 */
static bool
val_feed_url(struct parser *p, const struct loc *at, const char *v, char **out)
{
    if (strlen(v) > FEED_URL_MAX) {
        perr_at(p, at, "URL too long (max %u bytes)", FEED_URL_MAX);
        return false;
    }
    if (strncasecmp(v, "file:", 5) != 0) {
        if (feed_url_valid(v))
            return val_copy(p, v, out); /* FEED_URL_MAX, not CONF_MAX_STRING */
        if (strncasecmp(v, "http://", 7) == 0 || strncasecmp(v, "https://", 8) == 0)
            perr_at(p, at, "invalid URL '%s' (needs a host and no blanks)", QS_URL(v));
        else
            perr_at(p, at, "unsupported URL '%s' (use http://, https:// or file://)", QS_URL(v));
        return false;
    }
    const char *rest = v + 5;
    if (rest[0] == '/' && rest[1] == '/') {
        rest += 2;
        if (strncasecmp(rest, "localhost/", 10) == 0)
            rest += 9;
    }
    if (*rest == '\0' || strpbrk(rest, " \t")) {
        perr_at(p, at, "invalid file URL '%s' (needs a path and no blanks)", QS_URL(v));
        return false;
    }
    char *abs = resolve_or_err(p, at, rest);
    if (!abs)
        return false;
    size_t n = strlen(abs) + 8;
    char *url = malloc(n);
    if (!url) {
        free(abs);
        set_oom(p);
        return false;
    }
    (void)snprintf(url, n, "file://%s", abs);
    free(abs);
    free(*out);
    *out = url;
    return true;
}

static void
strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A comma list: items trimmed, none empty; names=true checks each as a section name. */
static bool
val_list(struct parser *p, const struct loc *at, const char *v, bool names, const char *what,
         char ***ret, size_t *ret_n)
{
    char **items = NULL;
    size_t n = 0;
    const char *s = v;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        while (len > 0 && is_blank(*s)) {
            s++;
            len--;
        }
        while (len > 0 && is_blank(s[len - 1]))
            len--;
        if (len == 0) {
            perr_at(p, at, "empty item in list '%s'", QS(v));
            goto fail;
        }
        if (names && !feed_name_valid(s, len)) {
            char *tmp = xstrndup(p, s, len);
            if (tmp)
                perr_at(p, at, "invalid %s name '%s' (1-128 characters of A-Z a-z 0-9 . _ -)", what,
                        QS(tmp));
            free(tmp);
            goto fail;
        }
        if (n >= CONF_MAX_LIST) {
            perr_at(p, at, "too many items (max %u)", CONF_MAX_LIST);
            goto fail;
        }
        char **ni = realloc(items, (n + 1) * sizeof *ni);
        if (!ni) {
            set_oom(p);
            goto fail;
        }
        items = ni;
        items[n] = xstrndup(p, s, len);
        if (!items[n])
            goto fail;
        n++;
        if (!comma)
            break;
        s = comma + 1;
    }
    *ret = items;
    *ret_n = n;
    return true;
fail:
    strv_free(items, n);
    return false;
}

/* A comma list of tags, each by the feed tag rule (feeds/base/feedrule.h), as `add` takes. */
static bool
val_tags(struct parser *p, const struct loc *at, const char *v, char ***ret, size_t *ret_n)
{
    if (!val_list(p, at, v, false, "tag", ret, ret_n))
        return false;
    for (size_t i = 0; i < *ret_n; i++) {
        if (!feed_tag_valid((*ret)[i], strlen((*ret)[i]))) {
            perr_at(p, at, "invalid tag '%s' (at most %u bytes, no control characters)",
                    QS((*ret)[i]), FEED_TAG_MAX);
            strv_free(*ret, *ret_n);
            *ret = NULL;
            *ret_n = 0;
            return false;
        }
    }
    return true;
}

/* A comma list of environment variable names ([A-Za-z_][A-Za-z0-9_]*), for a hook's env. */
static bool
val_env_names(struct parser *p, const struct loc *at, const char *v, char ***ret, size_t *ret_n)
{
    char **names = NULL;
    size_t n = 0;
    if (!val_list(p, at, v, false, "variable", &names, &n))
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *s = names[i];
        bool ok = strlen(s) <= 128 && (isalpha((unsigned char)s[0]) || s[0] == '_');
        for (const char *c = s; ok && *c; c++)
            ok = isalnum((unsigned char)*c) || *c == '_';
        if (!ok) {
            perr_at(p, at, "invalid variable name '%s' (A-Z a-z 0-9 _, not starting with a digit)",
                    QS(s));
            strv_free(names, n);
            return false;
        }
    }
    *ret = names;
    *ret_n = n;
    return true;
}

static void
argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

/*
 * Splits a command as a POSIX shell splits words, without any expansion: blanks separate,
 * '...' is literal, "..." keeps \" \\ \$ \` as escapes, and a backslash outside quotes
 * escapes the next character. Returns NULL with *ret_why set on a syntax error (or NULL
 * with *ret_why NULL when out of memory).
 */
static char **
argv_split(const char *s, const char **ret_why)
{
    size_t len = strlen(s);
    char *word = malloc(len + 1);
    char **argv = calloc(1, sizeof *argv);
    size_t n = 0;
    *ret_why = NULL;
    if (!word || !argv)
        goto oom;
    size_t w = 0;
    bool in_word = false;
    const char *c = s;
    for (;;) {
        if (*c == '\0' || is_blank(*c)) {
            if (in_word) {
                if (n >= CONF_MAX_LIST) {
                    *ret_why = "too many words (max 256)";
                    goto fail;
                }
                char **na = realloc(argv, (n + 2) * sizeof *na);
                if (!na)
                    goto oom;
                argv = na;
                word[w] = '\0';
                argv[n] = strdup(word);
                if (!argv[n])
                    goto oom;
                argv[++n] = NULL;
                w = 0;
                in_word = false;
            }
            if (*c == '\0')
                break;
            c++;
        } else if (*c == '\\') {
            if (c[1] == '\0') {
                *ret_why = "backslash at the end";
                goto fail;
            }
            word[w++] = c[1];
            in_word = true;
            c += 2;
        } else if (*c == '\'') {
            const char *e = strchr(c + 1, '\'');
            if (!e) {
                *ret_why = "unterminated single quote";
                goto fail;
            }
            memcpy(word + w, c + 1, (size_t)(e - c - 1));
            w += (size_t)(e - c - 1);
            in_word = true;
            c = e + 1;
        } else if (*c == '"') {
            c++;
            for (;;) {
                if (*c == '\0') {
                    *ret_why = "unterminated double quote";
                    goto fail;
                }
                if (*c == '"')
                    break;
                if (*c == '\\' && (c[1] == '"' || c[1] == '\\' || c[1] == '$' || c[1] == '`')) {
                    word[w++] = c[1];
                    c += 2;
                } else {
                    word[w++] = *c++;
                }
            }
            c++;
            in_word = true;
        } else {
            word[w++] = *c++;
            in_word = true;
        }
    }
    free(word);
    if (n == 0) {
        *ret_why = "empty command";
        argv_free(argv);
        return NULL;
    }
    return argv;
oom:
fail:
    free(word);
    argv_free(argv);
    return NULL;
}

static bool
val_exec(struct parser *p, const struct loc *at, const char *v, char ***out)
{
    const char *why;
    char **argv = argv_split(v, &why);
    if (!argv) {
        if (why)
            perr_at(p, at, "%s in '%s'", why, QS(v));
        else
            set_oom(p);
        return false;
    }
    if (argv[0][0] == '\0') {
        perr_at(p, at, "empty program name in '%s'", QS(v));
        argv_free(argv);
        return false;
    }
    if (argv[0][0] != '/' && strchr(argv[0], '/')) {
        char *abs = resolve_or_err(p, at, argv[0]);
        if (!abs) {
            argv_free(argv);
            return false;
        }
        free(argv[0]);
        argv[0] = abs;
    }
    argv_free(*out);
    *out = argv;
    return true;
}

static bool
is_tchar(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* "Name: value" or "Name: @FILE"; stored as "Name: value" with the file's content. */
static bool
val_header(struct parser *p, const struct loc *at, const char *v, char **out)
{
    const char *colon = strchr(v, ':');
    size_t nl = colon ? (size_t)(colon - v) : 0;
    while (nl > 0 && is_blank(v[nl - 1]))
        nl--;
    bool ok = colon && nl > 0;
    for (size_t i = 0; ok && i < nl; i++)
        ok = is_tchar(v[i]);
    if (!ok) {
        perr_at(p, at, "expected 'Name: value', got '%s'", QS(v));
        return false;
    }
    const char *val = colon + 1;
    while (is_blank(*val))
        val++;
    char *content = NULL;
    if (*val == '@') {
        const char *file = val + 1;
        while (is_blank(*file))
            file++;
        if (!*file) {
            perr_at(p, at, "'@' needs a file name");
            return false;
        }
        char *abs = resolve_or_err(p, at, file);
        if (!abs)
            return false;
        size_t len;
        int r = file_read(abs, CONF_MAX_VALUE_FILE, &content, &len, NULL);
        if (r < 0) {
            char eb[128];
            if (r == -ENOMEM)
                set_oom(p);
            else if (r == -EFBIG)
                perr_at(p, at, "cannot read '%s': file too large (max %u bytes)", QS(abs),
                        CONF_MAX_VALUE_FILE);
            else
                perr_at(p, at, "cannot read '%s': %s", QS(abs), read_error(r, eb, sizeof eb));
            free(abs);
            return false;
        }
        if (len > 0 && content[len - 1] == '\n')
            content[--len] = '\0';
        if (len > 0 && content[len - 1] == '\r')
            content[--len] = '\0';
        bool bad = len == 0 || strlen(content) != len || utf8_valid_prefix(content, len) != len;
        for (size_t i = 0; !bad && i < len; i++)
            bad = ((unsigned char)content[i] < 0x20 && content[i] != '\t') || content[i] == 0x7f;
        if (bad) {
            perr_at(p, at, "'%s' must hold one non-empty line of text", QS(abs));
            free(abs);
            free(content);
            return false;
        }
        free(abs);
    } else {
        if (!*val) {
            perr_at(p, at, "empty header value in '%s'", QS(v));
            return false;
        }
        content = xstrdup(p, val);
        if (!content)
            return false;
    }
    size_t n = nl + 2 + strlen(content) + 1;
    char *h = malloc(n);
    if (!h) {
        free(content);
        set_oom(p);
        return false;
    }
    (void)snprintf(h, n, "%.*s: %s", (int)nl, v, content);
    free(content);
    free(*out);
    *out = h;
    return true;
}

/* ---- sections ---- */

static void
conf_feed_done(struct conf_feed *f)
{
    free(f->name);
    free(f->url);
    strv_free(f->tags, f->n_tags);
    strv_free(f->hooks, f->n_hooks);
    free(f->header);
    free(f->user);
    free(f->password_file);
    free(f->origin.file);
}

static void
conf_topic_done(struct conf_topic *t)
{
    free(t->name);
    free(t->match);
    strv_free(t->hooks, t->n_hooks);
    strv_free(t->feeds, t->n_feeds);
    strv_free(t->tags, t->n_tags);
    free(t->origin.file);
}

static void
conf_hook_done(struct conf_hook *h)
{
    free(h->name);
    argv_free(h->exec_argv);
    free(h->url);
    free(h->secret_file);
    strv_free(h->env, h->n_env);
    free(h->origin.file);
}

/* Grows an array of elem-sized entries by one zeroed entry; false when out of memory. */
static bool
grow(void **arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *na = realloc(*arr, ncap * elem);
    if (!na)
        return false;
    memset((char *)na + n * elem, 0, (ncap - n) * elem);
    *arr = na;
    *cap = ncap;
    return true;
}

/* Adds a named section; returns its index or -1 (duplicate reported, or OOM). */
static long
section_add(struct parser *p, const struct file_ctx *f, unsigned line, enum sect_kind kind,
            const char *name)
{
    struct conf *c = p->conf;
    struct name_index *ix = kind == SECT_FEED    ? &p->feed_ix
                            : kind == SECT_TOPIC ? &p->topic_ix
                            : kind == SECT_ALIAS ? &p->alias_ix
                                                 : &p->hook_ix;
    size_t old;
    char dz[96];
    if (nindex_find(ix, name, &old)) {
        const struct conf_origin *o = kind == SECT_FEED    ? &c->feeds[old].origin
                                      : kind == SECT_TOPIC ? &c->topics[old].origin
                                      : kind == SECT_ALIAS ? &c->aliases[old].origin
                                                           : &c->hooks[old].origin;
        perr(p, f->path, line, designation(dz, sizeof dz, kind, name),
             "duplicate %s '%s' (first at %s:%u)", sect_names[kind], name, o->file, o->line);
        return -1;
    }
    char *nm = xstrdup(p, name);
    char *file = xstrdup(p, f->path);
    if (!nm || !file)
        goto oom;
    size_t idx;
    struct conf_origin *origin;
    char **namep;
    if (kind == SECT_FEED) {
        if (!grow((void **)&c->feeds, c->n_feeds, &p->cap_feeds, sizeof *c->feeds))
            goto oom;
        idx = c->n_feeds++;
        struct conf_feed *e = &c->feeds[idx];
        e->enabled = true;
        e->fetch_article = false;
        origin = &e->origin;
        namep = &e->name;
    } else if (kind == SECT_TOPIC) {
        size_t cap = p->cap_topics;
        if (!grow((void **)&c->topics, c->n_topics, &p->cap_topics, sizeof *c->topics))
            goto oom;
        if (!grow((void **)&p->topic_aux, c->n_topics, &cap, sizeof *p->topic_aux))
            goto oom;
        idx = c->n_topics++;
        origin = &c->topics[idx].origin;
        namep = &c->topics[idx].name;
    } else if (kind == SECT_ALIAS) {
        if (!grow((void **)&c->aliases, c->n_aliases, &p->cap_aliases, sizeof *c->aliases))
            goto oom;
        idx = c->n_aliases++;
        origin = &c->aliases[idx].origin;
        namep = &c->aliases[idx].name;
    } else {
        if (!grow((void **)&c->hooks, c->n_hooks, &p->cap_hooks, sizeof *c->hooks))
            goto oom;
        idx = c->n_hooks++;
        struct conf_hook *e = &c->hooks[idx];
        e->timeout_s = 30;
        e->retries = 5;
        e->events = 1u << CONF_EVENT_ALERT;
        origin = &e->origin;
        namep = &e->name;
    }
    *namep = nm;
    origin->file = file;
    origin->line = line;
    if (nindex_add(ix, nm, idx) < 0) {
        set_oom(p);
        return -1;
    }
    return (long)idx;
oom:
    free(nm);
    free(file);
    set_oom(p);
    return -1;
}

static const char *
section_name(const struct parser *p, const struct section *cur)
{
    switch (cur->kind) {
    case SECT_FEED:
        return p->conf->feeds[cur->idx].name;
    case SECT_TOPIC:
        return p->conf->topics[cur->idx].name;
    case SECT_HOOK:
        return p->conf->hooks[cur->idx].name;
    case SECT_ALIAS:
        return p->conf->aliases[cur->idx].name;
    default:
        return "";
    }
}

/* Checks what a section needs once all its lines are read. */
static void
section_close(struct parser *p, const struct file_ctx *f, struct section *cur)
{
    if (cur->kind != SECT_FEED && cur->kind != SECT_TOPIC && cur->kind != SECT_HOOK &&
        cur->kind != SECT_ALIAS) {
        cur->kind = SECT_NONE;
        return;
    }
    char dz[96];
    const char *d = designation(dz, sizeof dz, cur->kind, section_name(p, cur));
    switch (cur->kind) {
    case SECT_FEED:
        if (!(cur->seen & (1u << FK_URL)))
            perr(p, f->path, cur->line, d, "missing url");
        break;
    case SECT_TOPIC:
        if (!(cur->seen & (1u << TK_MATCH)))
            perr(p, f->path, cur->line, d, "missing match");
        break;
    case SECT_ALIAS:
        if (!(cur->seen & (1u << AK_NAMES)))
            perr(p, f->path, cur->line, d, "missing names");
        break;
    case SECT_HOOK: {
        bool e = cur->seen & (1u << HK_EXEC), u = cur->seen & (1u << HK_URL);
        if (e && u)
            perr(p, f->path, cur->line, d, "has both exec and url (exactly one is allowed)");
        else if (!e && !u)
            perr(p, f->path, cur->line, d, "missing exec or url");
        else if (u && (cur->seen & (1u << HK_ENV)))
            perr(p, f->path, cur->line, d, "env is for exec hooks only (a webhook runs nothing)");
        break;
    }
    default:
        break;
    }
    cur->kind = SECT_NONE;
}

static void
parse_header(struct parser *p, const struct file_ctx *f, unsigned line, char *s,
             struct section *cur)
{
    section_close(p, f, cur);
    cur->kind = SECT_SKIP;
    cur->seen = 0;
    cur->line = line;

    char *q = s + 1;
    while (is_blank(*q))
        q++;
    char *kw = q;
    while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))
        q++;
    size_t kwlen = (size_t)(q - kw);
    enum sect_kind kind = SECT_NONE;
    for (enum sect_kind k = SECT_DAEMON; k <= SECT_ALIAS; k++)
        if (strlen(sect_names[k]) == kwlen && strncmp(kw, sect_names[k], kwlen) == 0)
            kind = k;
    if (kind == SECT_NONE) {
        if (kwlen == 0) {
            perr(p, f->path, line, "section", "expected a section kind after '['");
        } else {
            char *tmp = xstrndup(p, kw, kwlen);
            if (tmp)
                perr(p, f->path, line, "section",
                     "unknown section '%s' (use daemon, feed, topic, hook or alias)", QS(tmp));
            free(tmp);
        }
        return;
    }
    while (is_blank(*q))
        q++;
    char *name = NULL;
    size_t nlen = 0;
    if (*q == '"') {
        name = ++q;
        while (*q && *q != '"')
            q++;
        if (!*q) {
            perr(p, f->path, line, "section", "unterminated name in section header");
            return;
        }
        nlen = (size_t)(q - name);
        q++;
        while (is_blank(*q))
            q++;
    } else if (*q == '\0') {
        perr(p, f->path, line, "section", "expected ']' to close the section header");
        return;
    } else if (*q != ']') {
        perr(p, f->path, line, "section", "expected '\"name\"' or ']' after '%s'",
             sect_names[kind]);
        return;
    }
    if (*q != ']') {
        perr(p, f->path, line, "section", "expected ']' to close the section header");
        return;
    }
    q++;
    while (is_blank(*q))
        q++;
    if (*q && *q != '#' && *q != ';') {
        perr(p, f->path, line, "section", "unexpected text after ']'");
        return;
    }
    if (kind == SECT_DAEMON) {
        if (name) {
            perr(p, f->path, line, "section", "[daemon] takes no name");
            return;
        }
        cur->kind = SECT_DAEMON;
        return;
    }
    if (!name) {
        perr(p, f->path, line, "section", "[%s] needs a name in double quotes, e.g. [%s \"x\"]",
             sect_names[kind], sect_names[kind]);
        return;
    }
    name[nlen] = '\0';
    if (!feed_name_valid(name, nlen)) {
        perr(p, f->path, line, "section",
             "invalid %s name '%s' (1-128 characters of A-Z a-z 0-9 . _ -)", sect_names[kind],
             QS(name));
        return;
    }
    long idx = section_add(p, f, line, kind, name);
    if (idx < 0)
        return;
    cur->kind = kind;
    cur->idx = (size_t)idx;
}

static void
set_daemon_key(struct parser *p, const struct loc *at, int k, const char *v)
{
    struct conf_daemon *d = &p->conf->daemon;
    switch (k) {
    case DK_DATABASE:
        /* A PostgreSQL connection string is no path: it stays as written (base/dbspec.h). */
        if (dbspec_kind(v) == DBSPEC_POSTGRES)
            (void)val_string(p, at, v, &d->database);
        else
            (void)val_path(p, at, v, false, &d->database);
        break;
    case DK_SOCKET: {
        char *abs = NULL;
        if (!val_path(p, at, v, false, &abs))
            break;
        if (strlen(abs) > CONF_MAX_SOCKET_PATH) {
            perr_at(p, at, "path too long for a Unix socket (max %u bytes): '%s'",
                    CONF_MAX_SOCKET_PATH, QS(abs));
            free(abs);
            break;
        }
        free(d->socket);
        d->socket = abs;
        break;
    }
    case DK_INTERVAL:
        (void)val_duration(p, at, v, 1, &d->interval_s);
        break;
    case DK_MAX_CONNECTIONS:
        (void)val_uint(p, at, v, 1, 10000, &d->max_connections);
        break;
    case DK_MAX_PER_HOST:
        (void)val_uint(p, at, v, 1, 1000, &d->max_per_host);
        break;
    case DK_USER_AGENT:
        (void)val_string(p, at, v, &d->user_agent);
        break;
    case DK_MAX_FEED_SIZE:
        (void)val_size(p, at, v, 1024, 1024ull * 1024 * 1024, "1k..1G", &d->max_feed_size);
        break;
    case DK_RETENTION:
        (void)val_duration(p, at, v, 1, &d->retention_s);
        break;
    case DK_MIN_INTERVAL:
        (void)val_duration(p, at, v, 1, &d->min_interval_s);
        break;
    case DK_MAX_INTERVAL:
        (void)val_duration(p, at, v, 1, &d->max_interval_s);
        break;
    case DK_RESPECT_FEED_HINTS:
        (void)val_bool(p, at, v, &d->respect_feed_hints);
        break;
    case DK_MAX_FAILURES:
        (void)val_uint(p, at, v, 1, 1000, &d->max_failures);
        break;
    case DK_STORY_WINDOW:
        (void)val_duration_max(p, at, v, 1, CONF_STORY_WINDOW_MAX_S, "30d", &d->story_window_s);
        break;
    case DK_MAX_HOOKS:
        (void)val_uint(p, at, v, 1, 256, &d->max_hooks);
        break;
    case DK_FETCH_TIMEOUT:
        (void)val_duration(p, at, v, 1, &d->fetch_timeout_s);
        break;
    case DK_NODE:
        if (!conf_node_name_valid(v))
            perr_at(p, at, "node name '%s' must be 1 to %u letters, digits, '.', '-' or '_'", QS(v),
                    CONF_NODE_NAME_MAX);
        else
            (void)val_string(p, at, v, &d->node);
        break;
    case DK_LEASE:
        (void)val_duration(p, at, v, CONF_LEASE_MIN_S, &d->lease_s);
        break;
    case DK_MOVE_CONFIRMATIONS:
        (void)val_uint(p, at, v, 1, 100, &d->move_confirmations);
        break;
    case DK_STALL_FACTOR:
        (void)val_uint(p, at, v, 2, 1000, &d->stall_factor);
        break;
    case DK_STALL_MIN:
        (void)val_duration(p, at, v, 1, &d->stall_min_s);
        break;
    case DK_METRICS_LISTEN: {
        struct sockaddr_storage addr;
        if (conf_parse_listen(v, &addr) < 0) {
            perr_at(p, at,
                    "expected ADDRESS:PORT with a numeric address, e.g. 127.0.0.1:9464 "
                    "or [::1]:9464, got '%s'",
                    QS(v));
            break;
        }
        (void)val_string(p, at, v, &d->metrics_listen);
        break;
    }
    case DK_ALLOW_PRIVATE:
        (void)val_bool(p, at, v, &d->allow_private_addresses);
        break;
    case DK_MAX_ARTICLES:
        (void)val_uint(p, at, v, 1, 100000, &d->max_articles_per_poll);
        break;
    case DK_MAX_ARTICLE_SIZE:
        (void)val_size(p, at, v, 1024, 1024ull * 1024 * 1024, "1k..1G", &d->max_article_size);
        break;
    case DK_MAX_ARTICLE_MEMORY:
        (void)val_size(p, at, v, 1024, 64ull * 1024 * 1024 * 1024, "1k..64G",
                       &d->max_article_memory);
        break;
    case DK_MAX_POLL_MEMORY:
        (void)val_size(p, at, v, 1024, 1024ull * 1024 * 1024 * 1024, "1k..1T", &d->max_poll_memory);
        break;
    case DK_LOG_LEVEL: {
        static const struct {
            const char *name;
            enum conf_log_level level;
        } levels[] = {
            {"error", CONF_LOG_ERROR}, {"warning", CONF_LOG_WARNING}, {"notice", CONF_LOG_NOTICE},
            {"info", CONF_LOG_INFO},   {"debug", CONF_LOG_DEBUG},
        };
        for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
            if (strcmp(v, levels[i].name) == 0) {
                d->log_level = levels[i].level;
                return;
            }
        }
        perr_at(p, at, "invalid level '%s' (use error, warning, notice, info or debug)", QS(v));
        break;
    }
    case DK_PROXY: {
        const char *sep = strstr(v, "://");
        static const char *const schemes[] = {"http",   "https",   "socks4", "socks4a",
                                              "socks5", "socks5h", NULL};
        bool ok = strpbrk(v, " \t") == NULL;
        if (ok && sep) {
            ok = false;
            for (size_t i = 0; schemes[i]; i++)
                if (strlen(schemes[i]) == (size_t)(sep - v) &&
                    strncasecmp(v, schemes[i], (size_t)(sep - v)) == 0)
                    ok = true;
        }
        if (!ok) {
            perr_at(p, at,
                    "invalid proxy '%s' (use http://, https://, socks4://, socks5:// "
                    "or host:port)",
                    QS_URL(v));
            break;
        }
        (void)val_string(p, at, v, &d->proxy);
        break;
    }
    default:
        break;
    }
}

static void
set_feed_key(struct parser *p, const struct loc *at, struct conf_feed *e, int k, const char *v)
{
    switch (k) {
    case FK_URL:
        (void)val_feed_url(p, at, v, &e->url);
        break;
    case FK_INTERVAL:
        (void)val_duration(p, at, v, 1, &e->interval_s);
        break;
    case FK_TAGS:
        (void)val_tags(p, at, v, &e->tags, &e->n_tags);
        break;
    case FK_FETCH_ARTICLE:
        (void)val_bool(p, at, v, &e->fetch_article);
        break;
    case FK_ENABLED:
        (void)val_bool(p, at, v, &e->enabled);
        break;
    case FK_HEADER:
        (void)val_header(p, at, v, &e->header);
        break;
    case FK_USER:
        if (strchr(v, ':')) {
            perr_at(p, at, "a user name cannot contain ':'");
            break;
        }
        (void)val_string(p, at, v, &e->user);
        break;
    case FK_PASSWORD_FILE:
        (void)val_path(p, at, v, true, &e->password_file);
        break;
    case FK_ALLOW_PRIVATE:
        if (val_bool(p, at, v, &e->allow_private_addresses))
            e->allow_private_set = true;
        break;
    case FK_MOVE_CONFIRMATIONS:
        (void)val_uint(p, at, v, 1, 100, &e->move_confirmations);
        break;
    case FK_HOOKS:
        strv_free(e->hooks, e->n_hooks);
        e->hooks = NULL;
        e->n_hooks = 0;
        if (val_list(p, at, v, true, "hook", &e->hooks, &e->n_hooks)) {
            e->hooks_set = true;
            e->hooks_line = at->line;
        }
        break;
    default:
        break;
    }
}

static void
set_topic_key(struct parser *p, const struct loc *at, size_t idx, int k, const char *v)
{
    struct conf_topic *t = &p->conf->topics[idx];
    switch (k) {
    case TK_MATCH:
        (void)val_string(p, at, v, &t->match);
        break;
    case TK_HOOKS:
        if (val_list(p, at, v, true, "hook", &t->hooks, &t->n_hooks))
            p->topic_aux[idx].hooks_line = at->line;
        break;
    case TK_FEEDS:
        if (val_list(p, at, v, true, "feed", &t->feeds, &t->n_feeds))
            p->topic_aux[idx].feeds_line = at->line;
        break;
    case TK_TAGS:
        (void)val_tags(p, at, v, &t->tags, &t->n_tags);
        break;
    case TK_ON_UPDATE:
        if (strcmp(v, "alert") == 0 || strcmp(v, "ignore") == 0)
            t->on_update_alert = strcmp(v, "alert") == 0;
        else
            perr_at(p, at, "invalid value '%s' (use ignore or alert)", QS(v));
        break;
    default:
        break;
    }
}

/*
 * names = A, B, "C D": items split at commas outside double quotes, blanks around them
 * trimmed, the quotes taken off (a quoted item may hold commas); none empty.
 */
static bool
val_alias_names(struct parser *p, const struct loc *at, const char *v, struct conf_alias *a)
{
    char **items = NULL;
    size_t n = 0;
    const char *s = v;
    for (;;) {
        while (is_blank(*s))
            s++;
        const char *start = s, *end;
        if (*s == '"') {
            start = ++s;
            while (*s && *s != '"')
                s++;
            if (!*s) {
                perr_at(p, at, "unterminated quote in '%s'", QS(v));
                goto fail;
            }
            end = s++;
            while (is_blank(*s))
                s++;
            if (*s && *s != ',') {
                perr_at(p, at, "expected ',' after a quoted name in '%s'", QS(v));
                goto fail;
            }
        } else {
            while (*s && *s != ',')
                s++;
            end = s;
            while (end > start && is_blank(end[-1]))
                end--;
        }
        if (end == start) {
            perr_at(p, at, "empty name in list '%s'", QS(v));
            goto fail;
        }
        if (n >= CONF_MAX_ALIAS_NAMES) {
            perr_at(p, at, "too many names (max %u)", CONF_MAX_ALIAS_NAMES);
            goto fail;
        }
        char **ni = realloc(items, (n + 1) * sizeof *ni);
        if (!ni) {
            set_oom(p);
            goto fail;
        }
        items = ni;
        items[n] = xstrndup(p, start, (size_t)(end - start));
        if (!items[n])
            goto fail;
        n++;
        if (!*s)
            break;
        s++; /* the comma */
    }
    a->names = items;
    a->n_names = n;
    return true;
fail:
    strv_free(items, n);
    return false;
}

static void
set_hook_key(struct parser *p, const struct loc *at, struct conf_hook *h, int k, const char *v)
{
    switch (k) {
    case HK_EXEC:
        (void)val_exec(p, at, v, &h->exec_argv);
        break;
    case HK_URL:
        (void)val_http_url(p, at, v, &h->url);
        break;
    case HK_TIMEOUT:
        (void)val_duration(p, at, v, 1, &h->timeout_s);
        break;
    case HK_RETRIES:
        (void)val_uint(p, at, v, 0, 100, &h->retries);
        break;
    case HK_BATCH: /* 0: one run per event */
        (void)val_duration_max(p, at, v, 0, CONF_BATCH_MAX_S, "1d", &h->batch_s);
        break;
    case HK_SECRET_FILE:
        (void)val_path(p, at, v, true, &h->secret_file);
        break;
    case HK_ENV:
        strv_free(h->env, h->n_env);
        h->env = NULL;
        h->n_env = 0;
        (void)val_env_names(p, at, v, &h->env, &h->n_env);
        break;
    case HK_EVENTS: {
        char **names = NULL;
        size_t n = 0;
        if (!val_list(p, at, v, false, "event", &names, &n))
            break;
        unsigned bits = 0;
        for (size_t i = 0; i < n; i++) {
            size_t e = 0;
            while (e < CONF_EVENT__COUNT && strcmp(names[i], event_names[e]) != 0)
                e++;
            if (e == CONF_EVENT__COUNT) {
                perr_at(p, at,
                        "unknown event '%s' (alert, item-updated, story-source, feed-disabled,"
                        " feed-moved, feed-recovered, feed-stalled, feed-purged, feed-ids-changed)",
                        QS(names[i]));
                bits = 0;
                break;
            }
            bits |= 1u << e;
        }
        strv_free(names, n);
        if (bits)
            h->events = bits;
        break;
    }
    default:
        break;
    }
}

static void parse_include(struct parser *p, const struct file_ctx *f, unsigned line,
                          const char *pattern);

/* Cuts a trailing comment: '#' or ';' preceded by a blank. */
static void
strip_comment(char *s)
{
    for (char *c = s; *c; c++) {
        if ((*c == '#' || *c == ';') && c > s && is_blank(c[-1])) {
            *c = '\0';
            return;
        }
    }
}

static void
parse_keyline(struct parser *p, const struct file_ctx *f, unsigned line, char *s,
              struct section *cur)
{
    char *eq = strchr(s, '=');
    if (!eq) {
        perr(p, f->path, line, "syntax", "expected 'key = value', '[section]' or a comment");
        return;
    }
    *eq = '\0';
    char *key = trim(s);
    char *val = eq + 1;
    /* A '#' right after '=' follows a blank or nothing: either way the value is a comment. */
    if (*val == '#' || *val == ';')
        *val = '\0';
    strip_comment(val);
    val = trim(val);

    bool key_ok = *key && strlen(key) <= CONF_MAX_KEY;
    for (char *c = key; key_ok && *c; c++)
        key_ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 *c == '_' || *c == '-' || *c == '.';
    if (!key_ok) {
        perr(p, f->path, line, "syntax", "invalid key '%s' before '='", QS(key));
        return;
    }
    struct loc at = {f, line, key};
    if (strcmp(key, "include") == 0) {
        if (!*val) {
            perr_at(p, &at, "empty value");
            return;
        }
        parse_include(p, f, line, val);
        return;
    }

    const char *const *table;
    switch (cur->kind) {
    case SECT_NONE:
        perr_at(p, &at, "key outside any section (only include is allowed here)");
        return;
    case SECT_SKIP:
        return;
    case SECT_DAEMON:
        table = daemon_keys;
        break;
    case SECT_FEED:
        table = feed_keys;
        break;
    case SECT_TOPIC:
        table = topic_keys;
        break;
    case SECT_ALIAS:
        table = alias_keys;
        break;
    default:
        table = hook_keys;
        break;
    }
    int k = key_lookup(table, key);
    if (k < 0) {
        char dz[96];
        perr_at(p, &at, "unknown key in [%s]",
                designation(dz, sizeof dz, cur->kind, section_name(p, cur)));
        return;
    }
    if (cur->kind == SECT_DAEMON) {
        if (p->daemon_seen & (1u << k)) {
            perr_at(p, &at, "duplicate key (first at %s:%u)", p->daemon_where[k].file,
                    p->daemon_where[k].line);
            return;
        }
        p->daemon_seen |= 1u << k;
        p->daemon_where[k].file = f->path;
        p->daemon_where[k].line = line;
    } else {
        if (cur->seen & (1u << k)) {
            perr_at(p, &at, "duplicate key (first at %s:%u)", f->path, cur->seen_line[k]);
            return;
        }
        cur->seen |= 1u << k;
        cur->seen_line[k] = line;
    }
    if (!*val) {
        perr_at(p, &at, "empty value");
        return;
    }
    switch (cur->kind) {
    case SECT_DAEMON:
        set_daemon_key(p, &at, k, val);
        break;
    case SECT_FEED:
        set_feed_key(p, &at, &p->conf->feeds[cur->idx], k, val);
        break;
    case SECT_TOPIC:
        set_topic_key(p, &at, cur->idx, k, val);
        break;
    case SECT_ALIAS:
        if (k == AK_NAMES)
            (void)val_alias_names(p, &at, val, &p->conf->aliases[cur->idx]);
        break;
    default:
        set_hook_key(p, &at, &p->conf->hooks[cur->idx], k, val);
        break;
    }
}

/*
 * A line as conf_load_socket reads it: section headers only tell [daemon] from the rest,
 * `include` is followed, `socket` in [daemon] is read, and anything else (other keys, other
 * sections, lines that would be errors) is passed over without a word.
 */
static void
parse_socket_line(struct parser *p, const struct file_ctx *f, unsigned line, char *s,
                  struct section *cur)
{
    if (*s == '[') {
        char *q = trim(s) + 1;
        while (is_blank(*q))
            q++;
        if (p->aliases_too) {
            section_close(p, f, cur);
            if (strncmp(q, "alias", 5) == 0 && (is_blank(q[5]) || q[5] == '"')) {
                parse_header(p, f, line, trim(s), cur);
                return;
            }
        }
        bool daemon = strncmp(q, "daemon", 6) == 0;
        q += daemon ? 6 : 0;
        while (is_blank(*q))
            q++;
        cur->kind = daemon && strcmp(q, "]") == 0 ? SECT_DAEMON : SECT_SKIP;
        cur->line = line;
        return;
    }
    if (cur->kind == SECT_ALIAS) {
        parse_keyline(p, f, line, s, cur);
        return;
    }
    char *eq = strchr(s, '=');
    if (!eq)
        return;
    *eq = '\0';
    char *key = trim(s);
    char *val = eq + 1;
    if (*val == '#' || *val == ';')
        *val = '\0';
    strip_comment(val);
    val = trim(val);
    if (!*val)
        return;
    if (strcmp(key, "include") == 0) {
        parse_include(p, f, line, val);
        return;
    }
    if (cur->kind == SECT_DAEMON && strcmp(key, "socket") == 0) {
        struct loc at = {f, line, key};
        unsigned before = p->n_errors;
        set_daemon_key(p, &at, DK_SOCKET, val);
        p->socket_bad = p->n_errors > before;
    }
}

static void
parse_line(struct parser *p, const struct file_ctx *f, unsigned line, char *s, size_t n,
           struct section *cur)
{
    size_t bad = utf8_valid_prefix(s, n);
    if (bad < n) {
        if (!p->socket_only)
            perr(p, f->path, line, "line", "invalid UTF-8 at byte %zu", bad + 1);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            if (!p->socket_only)
                perr(p, f->path, line, "line", "control character 0x%02x at byte %zu", c, i + 1);
            return;
        }
    }
    while (is_blank(*s))
        s++;
    if (*s == '\0' || *s == '#' || *s == ';')
        return;
    if (p->socket_only) {
        parse_socket_line(p, f, line, s, cur);
        return;
    }
    if (*s == '[') {
        parse_header(p, f, line, trim(s), cur);
        return;
    }
    parse_keyline(p, f, line, s, cur);
}

/* Parses one file's text in place (buf has len bytes and a NUL after them). */
static void
parse_buffer(struct parser *p, const struct file_ctx *f, char *buf, size_t len)
{
    struct section cur = {.kind = SECT_NONE};
    unsigned line = 0;
    size_t pos = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < len && !p->stopped) {
        char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        char *s = buf + pos;
        size_t n = end - pos;
        pos = end + 1;
        line++;
        if (n > CONF_MAX_LINE) {
            perr(p, f->path, line, "line", "too long (max %u bytes)", CONF_MAX_LINE);
            continue;
        }
        if (n > 0 && s[n - 1] == '\r')
            n--;
        s[n] = '\0';
        parse_line(p, f, line, s, n, &cur);
    }
    if (!p->stopped)
        section_close(p, f, &cur);
}

/* Reads and parses one file; errors about the file itself go to at (or line 0 for main). */
static int
parse_file(struct parser *p, const char *display, const char *abs, unsigned depth,
           const struct loc *at)
{
    char eb[128];
    if (p->n_names >= CONF_MAX_FILES) {
        perr_at(p, at, "too many files (max %u)", CONF_MAX_FILES);
        return -EINVAL;
    }
    if (p->total_bytes >= CONF_MAX_TOTAL) {
        perr_at(p, at, "'%s': all files together are too large (max 64 MiB)", QS(abs));
        return -EFBIG;
    }
    size_t max = CONF_MAX_TOTAL - p->total_bytes;
    if (max > CONF_MAX_FILE)
        max = CONF_MAX_FILE;
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    int r = file_read(abs, max, &buf, &len, &st);
    if (r < 0) {
        if (r == -ENOMEM) {
            set_oom(p);
        } else if (r == -EFBIG) {
            if (at)
                perr_at(p, at, "cannot read '%s': file too large (max 16 MiB, 64 MiB in all)",
                        QS(abs));
            else
                perr(p, display, 0, "file", "too large (max 16 MiB)");
        } else if (at) {
            perr_at(p, at, "cannot read '%s': %s", QS(abs), read_error(r, eb, sizeof eb));
        } else {
            perr(p, display, 0, "file", "cannot read: %s", read_error(r, eb, sizeof eb));
        }
        return r;
    }
    for (unsigned i = 0; i < p->depth; i++) {
        if (p->stack[i].dev == st.st_dev && p->stack[i].ino == st.st_ino) {
            perr_at(p, at, "'%s' is already being read (include cycle)", QS(abs));
            free(buf);
            return -ELOOP;
        }
    }
    p->total_bytes += len;

    char *dir = path_dirname(abs);
    char *name = strdup(display);
    if (!dir || !name || !grow((void **)&p->names, p->n_names, &p->cap_names, sizeof *p->names)) {
        free(dir);
        free(name);
        free(buf);
        set_oom(p);
        return -ENOMEM;
    }
    p->names[p->n_names++] = name;
    struct file_ctx f = {.path = name, .dir = dir, .depth = depth};
    p->stack[p->depth].dev = st.st_dev;
    p->stack[p->depth].ino = st.st_ino;
    p->depth++;
    parse_buffer(p, &f, buf, len);
    p->depth--;
    free(dir);
    free(buf);
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
parse_include(struct parser *p, const struct file_ctx *f, unsigned line, const char *pattern)
{
    struct loc at = {f, line, "include"};
    if (f->depth >= CONF_MAX_DEPTH) {
        perr_at(p, &at, "includes nested too deeply (max %u levels)", CONF_MAX_DEPTH);
        return;
    }
    bool magic = strpbrk(pattern, "*?[") != NULL;
    char *abs;
    if (magic && pattern[0] != '/') {
        /* The folder is a literal prefix: escape its own * ? [ \ before globbing. */
        size_t dl = strlen(f->dir);
        char *edir = malloc(dl * 2 + 1);
        if (!edir) {
            set_oom(p);
            return;
        }
        size_t o = 0;
        for (size_t i = 0; i < dl; i++) {
            if (strchr("*?[\\", f->dir[i]))
                edir[o++] = '\\';
            edir[o++] = f->dir[i];
        }
        edir[o] = '\0';
        struct file_ctx ef = *f;
        ef.dir = edir;
        struct loc eat = {&ef, line, "include"};
        abs = resolve_or_err(p, &eat, pattern);
        free(edir);
    } else {
        abs = resolve_or_err(p, &at, pattern);
    }
    if (!abs)
        return;
    if (!magic) {
        (void)parse_file(p, abs, abs, f->depth + 1, &at);
        free(abs);
        return;
    }
    glob_t g;
    memset(&g, 0, sizeof g);
    int r = glob(abs, 0, NULL, &g);
    if (r == GLOB_NOMATCH) {
        free(abs);
        return;
    }
    if (r == GLOB_NOSPACE) {
        set_oom(p);
    } else if (r != 0) {
        perr_at(p, &at, "cannot read '%s'", QS(abs));
    } else {
        qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, cmp_str);
        for (size_t i = 0; i < g.gl_pathc && !p->stopped; i++)
            (void)parse_file(p, g.gl_pathv[i], g.gl_pathv[i], f->depth + 1, &at);
    }
    globfree(&g);
    free(abs);
}

/* Checks that need the whole configuration: defaults across sections and references. */
static void
conf_finish(struct parser *p)
{
    struct conf *c = p->conf;
    struct conf_daemon *d = &c->daemon;
    if (d->min_interval_s > d->max_interval_s) {
        int k = (p->daemon_seen & (1u << DK_MIN_INTERVAL)) ? DK_MIN_INTERVAL : DK_MAX_INTERVAL;
        perr(p, p->daemon_where[k].file, p->daemon_where[k].line, daemon_keys[k],
             "min_interval (%llus) is greater than max_interval (%llus)",
             (unsigned long long)d->min_interval_s, (unsigned long long)d->max_interval_s);
    }
    if (d->max_article_memory < d->max_article_size) {
        int k = (p->daemon_seen & (1u << DK_MAX_ARTICLE_MEMORY)) ? DK_MAX_ARTICLE_MEMORY
                                                                 : DK_MAX_ARTICLE_SIZE;
        perr(p, p->daemon_where[k].file, p->daemon_where[k].line, daemon_keys[k],
             "max_article_memory (%llu bytes) is less than max_article_size (%llu bytes)",
             (unsigned long long)d->max_article_memory, (unsigned long long)d->max_article_size);
    }
    if (!(p->daemon_seen & (1u << DK_MAX_POLL_MEMORY))) {
        /* Unset: room for CONF_POLL_MEMORY_FEEDS documents of the largest size at once. */
        d->max_poll_memory = d->max_feed_size * CONF_POLL_MEMORY_FEEDS;
        if (d->max_poll_memory < CONF_POLL_MEMORY_MIN)
            d->max_poll_memory = CONF_POLL_MEMORY_MIN;
    } else if (d->max_poll_memory > 0 && d->max_poll_memory < d->max_feed_size) {
        /* (0: the value was refused, and said so) */
        int k = DK_MAX_POLL_MEMORY;
        perr(p, p->daemon_where[k].file, p->daemon_where[k].line, daemon_keys[k],
             "max_poll_memory (%llu bytes) is less than max_feed_size (%llu bytes)",
             (unsigned long long)d->max_poll_memory, (unsigned long long)d->max_feed_size);
    }
    for (size_t i = 0; i < c->n_feeds; i++) {
        if (c->feeds[i].interval_s == 0)
            c->feeds[i].interval_s = d->interval_s;
        if (!c->feeds[i].allow_private_set)
            c->feeds[i].allow_private_addresses = d->allow_private_addresses;
        if (c->feeds[i].move_confirmations == 0)
            c->feeds[i].move_confirmations = d->move_confirmations;
        for (size_t j = 0; j < c->feeds[i].n_hooks; j++) {
            size_t hi;
            if (!nindex_find(&p->hook_ix, c->feeds[i].hooks[j], &hi))
                perr(p, c->feeds[i].origin.file, c->feeds[i].hooks_line, "hooks",
                     "no [hook \"%s\"] is defined", c->feeds[i].hooks[j]);
            else if (!(c->hooks[hi].events & CONF_EVENTS_FEED))
                /* The feed's events would go nowhere: say so, as a topic's hooks must take alerts.
                 */
                perr(p, c->feeds[i].origin.file, c->feeds[i].hooks_line, "hooks",
                     "[hook \"%s\"] takes no feed event (its events list none of feed-disabled,"
                     " feed-moved, feed-recovered, feed-stalled, feed-purged, feed-ids-changed)",
                     c->feeds[i].hooks[j]);
        }
    }
    for (size_t i = 0; i < c->n_topics; i++) {
        const struct conf_topic *t = &c->topics[i];
        size_t unused;
        for (size_t j = 0; j < t->n_hooks; j++) {
            size_t hi;
            if (!nindex_find(&p->hook_ix, t->hooks[j], &hi))
                perr(p, t->origin.file, p->topic_aux[i].hooks_line, "hooks",
                     "no [hook \"%s\"] is defined", t->hooks[j]);
            else if (!(c->hooks[hi].events & (1u << CONF_EVENT_ALERT)))
                perr(p, t->origin.file, p->topic_aux[i].hooks_line, "hooks",
                     "[hook \"%s\"] does not take alerts (its events do not list alert)",
                     t->hooks[j]);
        }
        for (size_t j = 0; j < t->n_feeds; j++)
            if (!nindex_find(&p->feed_ix, t->feeds[j], &unused))
                perr(p, t->origin.file, p->topic_aux[i].feeds_line, "feeds",
                     "no [feed \"%s\"] is defined", t->feeds[j]);
    }
}

static char *
path_absolute(const char *path)
{
    if (path[0] == '/') {
        bool too_long;
        return path_resolve("/", path, &too_long);
    }
    char *cwd = getcwd(NULL, 0);
    if (!cwd)
        return NULL;
    bool too_long;
    char *r = path_resolve(cwd, path, &too_long);
    free(cwd);
    if (!r && too_long)
        errno = ENAMETOOLONG;
    return r;
}

static void
parser_done(struct parser *p)
{
    for (size_t i = 0; i < p->n_names; i++)
        free(p->names[i]);
    free(p->names);
    free(p->topic_aux);
    free(p->feed_ix.slots);
    free(p->topic_ix.slots);
    free(p->hook_ix.slots);
    free(p->alias_ix.slots);
    free(p->err);
}

static int
conf_defaults(struct conf *c)
{
    struct conf_daemon *d = &c->daemon;
    d->database = strdup(CONF_DEFAULT_DATABASE);
    d->socket = strdup(CONF_DEFAULT_SOCKET);
    d->user_agent = strdup(CONF_DEFAULT_USER_AGENT);
    d->lease_s = 60;
    /* The node name: the host's name, when it makes one (else "feedwatch"). */
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) < 0 || !conf_node_name_valid(host))
        (void)snprintf(host, sizeof(host), "feedwatch");
    d->node = strdup(host);
    if (!d->node)
        return -ENOMEM;
    if (!d->database || !d->socket || !d->user_agent)
        return -ENOMEM;
    d->interval_s = 15 * 60;
    d->max_connections = 64;
    d->max_per_host = 4;
    d->max_feed_size = 8u * 1024 * 1024;
    d->retention_s = 90ull * 86400;
    d->min_interval_s = 5 * 60;
    d->max_interval_s = 6 * 3600;
    d->respect_feed_hints = true;
    d->max_failures = 10;
    d->move_confirmations = 3;
    d->stall_factor = 10;
    d->stall_min_s = 86400;
    d->story_window_s = 48 * 3600;
    d->max_hooks = 4;
    d->fetch_timeout_s = 60;
    d->max_articles_per_poll = 50;
    d->max_article_size = 2u * 1024 * 1024;
    d->max_article_memory = 64u * 1024 * 1024;
    d->log_level = CONF_LOG_NOTICE;
    return 0;
}

/*
 * Reads path and everything it includes into a new config: the whole of it, checked (the
 * parser as given), or, with p->socket_only, what the CLI reads (the socket, and with
 * p->aliases_too the [alias] sections). 0 with *ret_conf, or an error with *reterr_msg.
 */
static int
load(struct parser *p, const char *path, struct conf **ret_conf, char **reterr_msg)
{
    int r;
    if (reterr_msg)
        *reterr_msg = NULL;
    if (!path || !*path) {
        if (reterr_msg)
            *reterr_msg = strdup("(none): no config file given");
        return -EINVAL;
    }
    p->conf = calloc(1, sizeof *p->conf);
    if (!p->conf || conf_defaults(p->conf) < 0)
        goto oom;
    p->conf->path = path_absolute(path);
    if (!p->conf->path) {
        r = errno == ENAMETOOLONG ? -ENAMETOOLONG : -ENOMEM;
        if (r == -ENOMEM)
            goto oom;
        perr(p, path, 0, "file", "path too long");
        goto fail;
    }
    r = parse_file(p, path, p->conf->path, 0, NULL);
    if (r < 0 && p->n_names == 0 && !p->oom)
        goto fail; /* the main file itself could not be read */
    if (p->oom)
        goto oom;
    if (!p->socket_only && !p->stopped)
        conf_finish(p);
    if (p->oom)
        goto oom;
    bool bad = p->socket_only ? p->socket_bad || (p->aliases_too && p->n_errors > 0)
                              : p->n_errors > 0 || p->stopped;
    if (bad) {
        r = -EINVAL;
        goto fail;
    }
    parser_done(p);
    *ret_conf = p->conf;
    return 0;
oom:
    r = -ENOMEM;
    free(p->err);
    p->err = strdup("out of memory");
    p->err_len = p->err ? strlen(p->err) : 0;
fail:
    if (p->err && p->err_len > 0 && p->err[p->err_len - 1] == '\n')
        p->err[--p->err_len] = '\0';
    if (reterr_msg) {
        *reterr_msg = p->err;
        p->err = NULL;
    }
    parser_done(p);
    conf_free(p->conf);
    return r;
}

/* Loads and validates a config file and everything it includes. */
int
conf_load(const char *path, struct conf **ret_conf, char **reterr_msg)
{
    struct parser p = {0};
    return load(&p, path, ret_conf, reterr_msg);
}

/* Reads only the socket path of a config (see conf.h). */
int
conf_load_socket(const char *path, char **ret_socket, char **reterr_msg)
{
    struct parser p = {.socket_only = true};
    struct conf *conf = NULL;
    int r = load(&p, path, &conf, reterr_msg);
    if (r < 0)
        return r;
    *ret_socket = conf->daemon.socket;
    conf->daemon.socket = NULL;
    conf_free(conf);
    return 0;
}

/* Reads the socket path and the [alias] sections of a config (see conf.h). */
int
conf_load_aliases(const char *path, struct conf **ret_conf, char **reterr_msg)
{
    struct parser p = {.socket_only = true, .aliases_too = true};
    return load(&p, path, ret_conf, reterr_msg);
}

/* Releases a config and everything it owns; accepts NULL and half-built configs. */
void
conf_free(struct conf *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < conf->n_warnings; i++)
        free(conf->warnings[i]);
    free(conf->warnings);
    free(conf->path);
    free(conf->daemon.database);
    free(conf->daemon.socket);
    free(conf->daemon.user_agent);
    free(conf->daemon.node);
    free(conf->daemon.proxy);
    free(conf->daemon.metrics_listen);
    for (size_t i = 0; i < conf->n_feeds; i++)
        conf_feed_done(&conf->feeds[i]);
    free(conf->feeds);
    for (size_t i = 0; i < conf->n_topics; i++)
        conf_topic_done(&conf->topics[i]);
    free(conf->topics);
    for (size_t i = 0; i < conf->n_hooks; i++)
        conf_hook_done(&conf->hooks[i]);
    free(conf->hooks);
    for (size_t i = 0; i < conf->n_aliases; i++) {
        free(conf->aliases[i].name);
        strv_free(conf->aliases[i].names, conf->aliases[i].n_names);
        free(conf->aliases[i].origin.file);
    }
    free(conf->aliases);
    free(conf);
}

/* Returns the feed called name, or NULL. */
const struct conf_feed *
conf_feed_find(const struct conf *conf, const char *name)
{
    if (!conf || !name)
        return NULL;
    for (size_t i = 0; i < conf->n_feeds; i++)
        if (strcmp(conf->feeds[i].name, name) == 0)
            return &conf->feeds[i];
    return NULL;
}

/* Returns the topic called name, or NULL. */
const struct conf_topic *
conf_topic_find(const struct conf *conf, const char *name)
{
    if (!conf || !name)
        return NULL;
    for (size_t i = 0; i < conf->n_topics; i++)
        if (strcmp(conf->topics[i].name, name) == 0)
            return &conf->topics[i];
    return NULL;
}

/* Returns the hook called name, or NULL. */
const struct conf_hook *
conf_hook_find(const struct conf *conf, const char *name)
{
    if (!conf || !name)
        return NULL;
    for (size_t i = 0; i < conf->n_hooks; i++)
        if (strcmp(conf->hooks[i].name, name) == 0)
            return &conf->hooks[i];
    return NULL;
}

static bool
str_differs(const char *a, const char *b)
{
    if (!a || !b)
        return a != b;
    return strcmp(a, b) != 0;
}

/* True when two feeds differ in anything a poll uses. */
bool
conf_feed_changed(const struct conf_feed *a, const struct conf_feed *b)
{
    if (!a || !b)
        return a != b;
    if (str_differs(a->url, b->url) || a->interval_s != b->interval_s ||
        str_differs(a->header, b->header) || str_differs(a->user, b->user) ||
        str_differs(a->password_file, b->password_file) || a->fetch_article != b->fetch_article ||
        a->allow_private_addresses != b->allow_private_addresses || a->enabled != b->enabled ||
        a->n_tags != b->n_tags)
        return true;
    for (size_t i = 0; i < a->n_tags; i++)
        if (str_differs(a->tags[i], b->tags[i]))
            return true;
    return false;
}

const char *const *
conf_section_keys(const char *kind)
{
    if (strcmp(kind, "daemon") == 0)
        return daemon_keys;
    if (strcmp(kind, "feed") == 0)
        return feed_keys;
    if (strcmp(kind, "topic") == 0)
        return topic_keys;
    if (strcmp(kind, "hook") == 0)
        return hook_keys;
    if (strcmp(kind, "alias") == 0)
        return alias_keys;
    return NULL;
}

/* "127.0.0.1:9464" or "[::1]:9464" (numeric addresses only) to a socket address. */
int
conf_parse_listen(const char *listen, struct sockaddr_storage *ret_addr)
{
    char host[64];
    const char *colon;
    memset(ret_addr, 0, sizeof(*ret_addr));
    if (!listen)
        return -EINVAL;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, listen + 1, (size_t)(end - listen - 1));
        host[end - listen - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof(host) || colon == listen)
            return -EINVAL;
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
    }
    if (colon[1] < '0' || colon[1] > '9')
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || *end || port == 0 || port > 65535)
        return -EINVAL;
    struct sockaddr_in *a4 = (struct sockaddr_in *)ret_addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ret_addr;
    if (listen[0] != '[' && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (listen[0] == '[' && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return 0;
    }
    return -EINVAL;
}
