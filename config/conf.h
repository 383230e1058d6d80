/*
 * conf.h — the config file: INI reader and validator, and the immutable struct conf.
 *
 * conf_load() reads a file (and the files its `include = GLOB` lines name), checks every
 * key and value, and either returns a complete struct conf or every error found, one per
 * line, each as "file:line: key: why". Relative paths are resolved against the folder of
 * the file that holds them. A struct conf is never changed after load; a reload builds a
 * new one beside it. Never logs; any thread.
 */
#ifndef FEEDWATCH_CONF_H
#define FEEDWATCH_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum conf_log_level {
    CONF_LOG_ERROR = 3,
    CONF_LOG_WARNING = 4,
    CONF_LOG_NOTICE = 5,
    CONF_LOG_INFO = 6,
    CONF_LOG_DEBUG = 7,
};

/* Where a setting came from, for messages. */
struct conf_origin {
    char *file;
    unsigned line;
};

struct conf_daemon {
    /* database: a PostgreSQL connection string (base/dbspec.h) is kept as written. */
    char *database;                /* absolute; default /var/lib/feedwatch/feedwatch.db */
    char *socket;                  /* absolute; default /run/feedwatch/feedwatch.sock */
    uint64_t interval_s;           /* default poll interval; 15m */
    unsigned max_connections;      /* 64 */
    unsigned max_per_host;         /* 4 */
    char *user_agent;              /* "feedwatch/VERSION (+https://example.org/feedwatch)" */
    uint64_t max_feed_size;        /* bytes after decompression; 8M */
    uint64_t retention_s;          /* 90d */
    uint64_t min_interval_s;       /* 5m */
    uint64_t max_interval_s;       /* 6h */
    bool respect_feed_hints;       /* yes */
    unsigned max_failures;         /* 10 */
    uint64_t story_window_s;       /* 48h; at most CONF_STORY_WINDOW_MAX_S */
    unsigned max_hooks;            /* 4 */
    enum conf_log_level log_level; /* notice */
    char *proxy;                   /* NULL unless set */
    uint64_t fetch_timeout_s;      /* whole transfer; 60s (connect and low-speed: min(this, 30s)) */
    bool allow_private_addresses;  /* no: feed-chosen URLs reach public addresses only */
    unsigned max_articles_per_poll; /* 50: article pages downloaded by one poll at most */
    uint64_t max_article_size;      /* bytes after decompression; 2M */
    uint64_t max_article_memory;    /* article pages held in memory at once, all feeds; 64M */
    char *metrics_listen;           /* "127.0.0.1:9464": serve GET /metrics there; NULL: off */
    uint64_t max_poll_memory;       /* bytes polls in flight hold, all feeds; unset:
                                       max(CONF_POLL_MEMORY_FEEDS * max_feed_size, 64M) */
    char *node;                     /* this daemon's name in a cluster; the host's name */
    uint64_t lease_s;               /* a cluster's leases last this long unless renewed; 60s */
    /* Feed events (PRODUCT.md "Feed events"): */
    unsigned move_confirmations; /* 3: polls that must see one permanent redirect to move a feed */
    unsigned stall_factor; /* 10: stalled after this many of its usual gaps with no new item */
    uint64_t stall_min_s;  /* 1d: and at least this long */
};

/*
 * The events a hook may take (`[hook] events`), as bits of conf_hook.events; their names are
 * conf_event_name's. CONF_EVENTS_FEED: the feed events; alert, item-updated and story-source
 * are item events.
 */
enum conf_event {
    CONF_EVENT_ALERT,
    CONF_EVENT_FEED_DISABLED,
    CONF_EVENT_FEED_MOVED,
    CONF_EVENT_FEED_RECOVERED,
    CONF_EVENT_FEED_STALLED,
    CONF_EVENT_FEED_PURGED,
    CONF_EVENT_FEED_IDS_CHANGED,
    CONF_EVENT_ITEM_UPDATED, /* an alert's item was edited (on_update = alert) */
    CONF_EVENT_STORY_SOURCE, /* an item became a source of an alert (issue 17, part 2) */
    CONF_EVENT__COUNT
};
#define CONF_EVENTS_FEED                                                                           \
    (((1u << CONF_EVENT__COUNT) - 1) & ~(1u << CONF_EVENT_ALERT) &                                 \
     ~(1u << CONF_EVENT_ITEM_UPDATED) & ~(1u << CONF_EVENT_STORY_SOURCE))

/* The name of an event ("alert", "feed-disabled", ...). */
const char *conf_event_name(enum conf_event e);

/* The longest node name, and the shortest lease. */
#define CONF_NODE_NAME_MAX 64
#define CONF_LEASE_MIN_S 5

/*
 * The longest story_window (a story's sources are looked for among a month's alerts at most)
 * and the longest `[hook] batch` window (a digest at least daily).
 */
#define CONF_STORY_WINDOW_MAX_S (30u * 86400)
#define CONF_BATCH_MAX_S 86400u

/* Whether s is a node name: 1 to CONF_NODE_NAME_MAX letters, digits, '.', '-' or '_'. */
bool conf_node_name_valid(const char *s);

/* The default of max_poll_memory: room for this many documents of max_feed_size, at least
 * CONF_POLL_MEMORY_MIN. A document counts about twice its size while it is read (its text is
 * yet to come), so 16 is about eight of the largest documents at once. */
#define CONF_POLL_MEMORY_FEEDS 16
#define CONF_POLL_MEMORY_MIN (64ull * 1024 * 1024)

struct conf_feed {
    char *name;
    char *url;           /* http://, https:// or file:// (file URLs made absolute) */
    uint64_t interval_s; /* the daemon's interval unless set */
    char **tags;
    size_t n_tags;
    bool fetch_article;           /* no */
    bool enabled;                 /* yes */
    char *header;                 /* "Name: value" with @FILE already read; NULL unless set */
    char *user;                   /* NULL unless set */
    char *password_file;          /* absolute; NULL unless set */
    bool allow_private_addresses; /* the [daemon] value unless set */
    bool allow_private_set;       /* set in the section (else taken from [daemon] after load) */
    unsigned move_confirmations;  /* the [daemon] value unless set */
    char **hooks;                 /* `hooks`: its feed events go only to these; NULL: every hook */
    size_t n_hooks;
    bool hooks_set;
    unsigned hooks_line;
    struct conf_origin origin;
};

struct conf_topic {
    char *name;
    char *match;  /* the query text, checked by the query module later */
    char **hooks; /* names of [hook] sections, each checked to exist */
    size_t n_hooks;
    char **feeds; /* names of [feed] sections, each checked to exist; none = all */
    size_t n_feeds;
    char **tags; /* only feeds carrying one of these tags; none = all (and feeds) */
    size_t n_tags;
    bool on_update_alert; /* `on_update = alert`: its hooks hear of edits (item-updated) */
    struct conf_origin origin;
};

struct conf_hook {
    char *name;
    char **exec_argv;   /* NULL-terminated argv split like a shell would; NULL for url hooks */
    char *url;          /* webhook; NULL for exec hooks (exactly one of exec/url) */
    uint64_t timeout_s; /* 30s */
    unsigned retries;   /* 5 */
    uint64_t batch_s;   /* `batch`: one run per window of this many seconds, a JSON array; 0;
                           at most CONF_BATCH_MAX_S */
    char *secret_file;  /* absolute; NULL unless set */
    char **env;         /* names of the daemon's variables passed on to an exec hook */
    size_t n_env;
    unsigned events; /* bits of enum conf_event it takes; default alert only */
    struct conf_origin origin;
};

/* [alias "NAME"]: a set of synonyms that topics use as alias:NAME (PRODUCT.md queries). */
struct conf_alias {
    char *name;
    char **names; /* `names`: words or phrases, "quoted" when they hold a comma */
    size_t n_names;
    struct conf_origin origin;
};

struct conf {
    char *path; /* absolute path of the main file */
    /*
     * What the config says that was taken otherwise than written ("FILE:LINE: warning: key:
     * why", e.g.
     * a duration past its bound, used at the bound): `--check` prints them as warnings, the
     * daemon logs them at start and at each reload. At most CONF_MAX_ERRORS.
     */
    char **warnings;
    size_t n_warnings;
    struct conf_daemon daemon;
    struct conf_feed *feeds;
    size_t n_feeds;
    struct conf_topic *topics;
    size_t n_topics;
    struct conf_hook *hooks;
    size_t n_hooks;
    struct conf_alias *aliases;
    size_t n_aliases;
};

/*
 * Loads and validates path. On success *ret_conf owns a new struct conf and 0 is returned.
 * On failure returns -EINVAL (or -ENOENT/-EACCES/... when the main file cannot be read) and
 * *reterr_msg owns every error, "file:line: key: why" lines joined by '\n'.
 */
int conf_load(const char *path, struct conf **ret_conf, char **reterr_msg);

/*
 * What the CLI reads of a config: the `socket` of [daemon] (absolute; the default when
 * unset), following `include` lines and passing over everything else unread and unchecked
 * (no secret file is opened, no other key validated). 0 with *ret_socket owned by the
 * caller; -ENOENT/-EACCES/... when the main file cannot be read, -EINVAL for a bad socket
 * value, each with *reterr_msg ("file:line: key: why") when not NULL; -ENOMEM.
 */
int conf_load_socket(const char *path, char **ret_socket, char **reterr_msg);

/*
 * What `feedwatch match` reads of a config: like conf_load_socket, and the [alias] sections
 * too, checked as conf_load checks them. 0 with *ret_conf (only daemon.socket and aliases
 * set; conf_free it), or the errors of conf_load_socket and of the [alias] sections.
 */
int conf_load_aliases(const char *path, struct conf **ret_conf, char **reterr_msg);

/* Releases a config; accepts NULL. */
void conf_free(struct conf *conf);

/* The feed, topic or hook of that name, or NULL. */
const struct conf_feed *conf_feed_find(const struct conf *conf, const char *name);
const struct conf_topic *conf_topic_find(const struct conf *conf, const char *name);
const struct conf_hook *conf_hook_find(const struct conf *conf, const char *name);

/* "90s", "15m", "2h", "1d", "1w" (or bare seconds) to seconds; -EINVAL or -ERANGE. */
int conf_parse_duration(const char *s, uint64_t *ret_s);

/* "512", "512k", "8M", "1G" (binary multiples, optional trailing B) to bytes. */
int conf_parse_size(const char *s, uint64_t *ret_bytes);

/*
 * "ADDRESS:PORT" with a numeric IPv4 address or a bracketed IPv6 one ("127.0.0.1:9464",
 * "[::1]:9464") to a socket address; -EINVAL otherwise. Used for metrics_listen.
 */
int conf_parse_listen(const char *listen, struct sockaddr_storage *ret_addr);

/* "yes/no/true/false/on/off/1/0". */
int conf_parse_bool(const char *s, bool *ret_b);

/*
 * The keys a section kind accepts ("daemon", "feed", "topic", "hook"), NULL-terminated, or
 * NULL for an unknown kind. For documentation checks and shell completion.
 */
const char *const *conf_section_keys(const char *kind);

/* True when the feed's settings that a poll uses differ (url, interval, header, auth, ...). */
bool conf_feed_changed(const struct conf_feed *a, const struct conf_feed *b);

#endif
