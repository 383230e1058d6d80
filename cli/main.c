/*
 * feedwatch — the CLI: command table, global options (--json, --socket, --config, --help,
 * --version, before or after the command), socket path resolution and exit codes
 * (0 success, 1 failure, 2 usage, 3 daemon not reachable).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "conf.h"
#include "ctlproto.h"
#include "parse/date.h"
#include "extract.h"
#include "live.h"
#include "match.h"
#include "topics/match.h"
#include "offline.h"
#include "opml.h"
#include "output.h"

#define EXIT_USAGE 2
#define DEFAULT_CONFIG "/etc/feedwatch/feedwatch.conf"
#define DEFAULT_SOCKET "/run/feedwatch/feedwatch.sock"
#define MAX_POSITIONAL 4096 /* `extract FILE…` and `match QUERY FILE…` take many files */
#define MAX_LIMIT CTL_ITEMS_MAX
#define MAX_INTERVAL (100ull * 366 * 86400) /* the config's longest duration */

/* Command options, each allowed only by the commands whose table entry names it. */
enum {
    OPT_FEED = 1 << 0,
    OPT_LIMIT = 1 << 1,
    OPT_TEXT = 1 << 2,
    OPT_WAIT = 1 << 3,
    OPT_TOPIC = 1 << 4,
    OPT_FAILED = 1 << 5,
    OPT_INTERVAL = 1 << 6,
    OPT_TAG = 1 << 7,
    OPT_FETCH_ARTICLE = 1 << 8,
    OPT_DRY_RUN = 1 << 9,
    OPT_INI = 1 << 10,
    OPT_EXPLAIN = 1 << 11,
    OPT_HOOK = 1 << 12,
    OPT_SINCE = 1 << 13,
};

#define CMD_OFFLINE (-1) /* struct command's live: no daemon needed */
#define CMD_DAEMON (-2)  /* talks to the daemon through its own runner (OPML) */

static bool arg_json;
static bool arg_wide;
static bool arg_help;
static bool arg_version;
static const char *arg_socket;
static const char *arg_config;
static const char *arg_feed;
static long arg_limit;
static bool arg_text;
static bool arg_wait;
static const char *arg_topic;
static bool arg_failed;
static uint64_t arg_interval_s;
static const char *arg_tags[FEED_TAGS_MAX];
static size_t arg_n_tags;
static bool arg_fetch_article;
static bool arg_dry_run;
static bool arg_ini;
static bool arg_explain;
static const char *arg_hook;
static char arg_since[DATE_RFC3339_LEN]; /* --since as RFC 3339 UTC; "" when not given */
static unsigned arg_opts_seen;
static const char *arg_positional[MAX_POSITIONAL]; /* the command's own arguments */
static size_t arg_n_positional;

struct command {
    const char *name;
    int (*run)(const struct command *cmd);
    int live; /* enum live_cmd for live commands, -1 for offline ones */
    unsigned opts;
    size_t min_args;
    size_t max_args;
    const char *synopsis;
    const char *help;
};

static int run_live(const struct command *cmd);
static int run_parse(const struct command *cmd);
static int run_match(const struct command *cmd);
static int run_extract(const struct command *cmd);
static int run_export_opml(const struct command *cmd);
static int run_import_opml(const struct command *cmd);

static const struct command commands[] = {
    {"status", run_live, LIVE_STATUS, 0, 0, 0, "status", "version, uptime, counts, next poll"},
    {"feeds", run_live, LIVE_FEEDS, 0, 0, 1, "feeds [NAME]",
     "each feed's state and error; NAME: in full"},
    {"items", run_live, LIVE_ITEMS,
     OPT_FEED | OPT_TAG | OPT_TOPIC | OPT_SINCE | OPT_LIMIT | OPT_TEXT, 0, 0,
     "items [--feed F] [--tag T] [--topic T] [--since WHEN] [--limit N] [--text]",
     "newest items; --text adds their text"},
    {"item", run_live, LIVE_ITEM, 0, 1, 1, "item ID", "one item in full, its alerts and hooks"},
    {"poll", run_live, LIVE_POLL, OPT_WAIT, 0, 1, "poll [--wait] [FEED]",
     "poll now; --wait reports the result"},
    {"reload", run_live, LIVE_RELOAD, 0, 0, 0, "reload", "make the daemon re-read its config"},
    {"alerts", run_live, LIVE_ALERTS, OPT_TOPIC | OPT_LIMIT | OPT_FAILED, 0, 0,
     "alerts [--topic T] [--failed] [--limit N]", "alerts, newest first, with delivery state"},
    {"events", run_live, LIVE_EVENTS, OPT_LIMIT | OPT_FAILED, 0, 0, "events [--failed] [--limit N]",
     "feed events (disabled, moved, ...), newest first, with delivery state"},
    {"watch", run_live, LIVE_WATCH, 0, 0, 0, "watch", "stream new items, alerts and feed changes"},
    {"add", run_live, LIVE_ADD, OPT_INTERVAL | OPT_TAG | OPT_FETCH_ARTICLE, 2, 2,
     "add [--interval D] [--tag T]... [--fetch-article] NAME URL",
     "add a feed at run time (persisted; http or https)"},
    {"remove", run_live, LIVE_REMOVE, 0, 1, 1, "remove NAME", "remove a feed added at run time"},
    {"pause", run_live, LIVE_PAUSE, 0, 1, 1, "pause NAME",
     "stop polling a feed until resume (persisted)"},
    {"resume", run_live, LIVE_RESUME, 0, 1, 1, "resume NAME",
     "resume a paused or disabled feed and poll it now"},
    {"redeliver", run_live, LIVE_REDELIVER, OPT_FAILED | OPT_HOOK, 0, 1,
     "redeliver ALERT_ID|--failed [--hook H]", "send an alert (or every failed one) again"},
    {"search", run_live, LIVE_SEARCH, OPT_LIMIT, 1, 1, "search [--limit N] QUERY",
     "stored items matching a query, newest first"},
    {"metrics", run_live, LIVE_METRICS, 0, 0, 0, "metrics",
     "the daemon's metrics in the Prometheus text format"},
    {"export-opml", run_export_opml, CMD_DAEMON, 0, 0, 0, "export-opml",
     "every feed as OPML 2.0, in folders by first tag"},
    {"import-opml", run_import_opml, CMD_DAEMON, OPT_TAG | OPT_DRY_RUN | OPT_INI, 1, 1,
     "import-opml [--tag T]... [--dry-run] [--ini] FILE",
     "add an OPML file's feeds (--ini: print INI instead)"},
    {"parse", run_parse, CMD_OFFLINE, 0, 1, 1, "parse FILE|URL|-",
     "parse one feed, print it as JSON"},
    {"extract", run_extract, CMD_OFFLINE, 0, 1, MAX_POSITIONAL, "extract FILE...|URL",
     "article text of pages or item HTML, no boilerplate"},
    {"match", run_match, CMD_OFFLINE, OPT_EXPLAIN, 2, MAX_POSITIONAL,
     "match [--explain] QUERY FILE...", "items of files matching a query (exit 1: none)"},
};

static const char *const option_names[] = {
    "--feed", "--limit",         "--text",    "--wait", "--topic",   "--failed", "--interval",
    "--tag",  "--fetch-article", "--dry-run", "--ini",  "--explain", "--hook",   "--since"};

/*
 * No line of --help is wider than HELP_WIDTH (test_docs checks); a synopsis wider than
 * HELP_COLUMN has a line of its own, its help under it.
 */
#define HELP_WIDTH 80
#define HELP_COLUMN 26

/*
 * Prints text, which starts at column col, broken at spaces outside [...] so that no line is
 * wider than HELP_WIDTH (a word longer than a line stays whole); each continued line starts
 * at column indent. The help texts are ASCII: a byte is a column.
 */
static void
print_wrapped(FILE *f, size_t col, size_t indent, const char *text)
{
    for (;;) {
        size_t room = HELP_WIDTH > col ? HELP_WIDTH - col : 0;
        size_t len = strlen(text), cut = 0;
        int depth = 0;
        for (size_t i = 0; len > room && i < len && (i <= room || cut == 0); i++) {
            if (text[i] == '[')
                depth++;
            else if (text[i] == ']' && depth > 0)
                depth--;
            else if (text[i] == ' ' && depth == 0)
                cut = i;
        }
        if (cut == 0) {
            (void)fprintf(f, "%s\n", text);
            return;
        }
        (void)fprintf(f, "%.*s\n%*s", (int)cut, text, (int)indent, "");
        text += cut + 1;
        col = indent;
    }
}

static void
usage_line(FILE *f)
{
    (void)fputs("usage: feedwatch ", f);
    print_wrapped(f, 17, 17, "[--json] [--wide] [--socket PATH] [--config FILE] COMMAND [ARGS...]");
}

/* Reports a usage error and returns the usage exit status. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    output_message("%s", n < 0 ? "usage error" : msg);
    free(msg);
    usage_line(stderr);
    (void)fputs("Try 'feedwatch --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

/* One command of --help: its synopsis, then its help (on the next line when it is long). */
static void
print_command(const struct command *c)
{
    if (strlen(c->synopsis) > HELP_COLUMN) {
        (void)fputs("  ", stdout);
        print_wrapped(stdout, 2, 4, c->synopsis);
        (void)printf("%*s", HELP_COLUMN + 4, "");
    } else {
        (void)printf("  %-*s  ", HELP_COLUMN, c->synopsis);
    }
    print_wrapped(stdout, HELP_COLUMN + 4, HELP_COLUMN + 4, c->help);
}

/* `feedwatch COMMAND --help`: that command's usage and what it does. */
static void
print_command_help(const struct command *c)
{
    (void)fputs("usage: feedwatch ", stdout);
    print_wrapped(stdout, 17, 18 + strlen(c->name), c->synopsis);
    (void)fputs("\n  ", stdout);
    print_wrapped(stdout, 2, 2, c->help);
    (void)fputs("\nThe options every command takes and the exit status: feedwatch --help\n",
                stdout);
}

static void
print_help(void)
{
    usage_line(stdout);
    (void)fputs("\nLive commands (talk to feedwatchd over its socket):\n", stdout);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (commands[i].live == CMD_OFFLINE)
            continue;
        print_command(&commands[i]);
    }
    (void)fputs("\nOffline tools (no daemon needed):\n", stdout);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (commands[i].live != CMD_OFFLINE)
            continue;
        print_command(&commands[i]);
    }
    (void)fputs("\nOptions (before or after the command):\n"
                "  --json           machine output: the daemon's JSON response as received\n"
                "  --wide           do not fit tables to the terminal (default: its width,\n"
                "                   COLUMNS, or 80 columns when not a terminal)\n"
                "  --socket PATH    the daemon's socket (default: `socket` of the config, else\n"
                "                   " DEFAULT_SOCKET ")\n"
                "  --config FILE    take the socket from this config (default:\n"
                "                   " DEFAULT_CONFIG ")\n"
                "  --help           show this help\n"
                "  --version        show the version\n"
                "\nExit status: 0 success, 1 failure, 2 usage error, 3 daemon not reachable.\n",
                stdout);
}

/* Parses --limit's value: a whole number from 1 to MAX_LIMIT. */
static bool
parse_limit(const char *s, long *ret_limit)
{
    char *end;
    long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > MAX_LIMIT)
        return false;
    *ret_limit = v;
    return true;
}

/*
 * --since WHEN: an RFC 3339 time (with its zone: Z or an offset) or a duration ago in the
 * config's form (90s, 15m, 2h, 3d, 1w), as Unix seconds; -EINVAL otherwise.
 */
static int
since_parse(const char *s, int64_t now, int64_t *ret_at)
{
    uint64_t ago;
    if (conf_parse_duration(s, &ago) == 0) {
        if (ago > (uint64_t)now)
            return -EINVAL; /* before 1970 */
        *ret_at = now - (int64_t)ago;
        return 0;
    }
    /* YYYY-MM-DDTHH:MM:SS and a zone: the form the daemon takes, not any date a feed writes */
    size_t len = strlen(s);
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        date_parse(s, ret_at) < 0)
        return -EINVAL;
    return 0;
}

/*
 * Reads argv into the arg_* globals. Options may come before or after the command; "--"
 * ends them. Returns 0 or EXIT_USAGE (after reporting why).
 */
static int
parse_argv(int argc, char **argv, const char **ret_command)
{
    const char *command = NULL;
    bool options_done = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (options_done || a[0] != '-' || a[1] == '\0') {
            if (!command)
                command = a;
            else if (arg_n_positional == MAX_POSITIONAL)
                return usage_error("too many arguments");
            else
                arg_positional[arg_n_positional++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(a, "-h") == 0) {
            arg_help = true;
            continue;
        }

        /* --name or --name=value */
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
        const char *value = eq ? eq + 1 : NULL;
        char name[32];
        if (name_len >= sizeof(name))
            return usage_error("unknown option '%s'", a);
        memcpy(name, a, name_len);
        name[name_len] = '\0';

        bool takes_value = strcmp(name, "--socket") == 0 || strcmp(name, "--config") == 0 ||
                           strcmp(name, "--feed") == 0 || strcmp(name, "--limit") == 0 ||
                           strcmp(name, "--topic") == 0 || strcmp(name, "--interval") == 0 ||
                           strcmp(name, "--tag") == 0 || strcmp(name, "--hook") == 0 ||
                           strcmp(name, "--since") == 0;
        bool is_flag = strcmp(name, "--json") == 0 || strcmp(name, "--wide") == 0 ||
                       strcmp(name, "--help") == 0 || strcmp(name, "--version") == 0 ||
                       strcmp(name, "--text") == 0 || strcmp(name, "--wait") == 0 ||
                       strcmp(name, "--failed") == 0 || strcmp(name, "--fetch-article") == 0 ||
                       strcmp(name, "--dry-run") == 0 || strcmp(name, "--ini") == 0 ||
                       strcmp(name, "--explain") == 0;
        if (!takes_value && !is_flag)
            return usage_error("unknown option '%s'", a);
        if (is_flag && value)
            return usage_error("option '%s' takes no value", name);
        if (takes_value && !value) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs a value", name);
            value = argv[++i];
        }
        if (value && value[0] == '\0' &&
            (strcmp(name, "--socket") == 0 || strcmp(name, "--config") == 0))
            return usage_error("option '%s' needs a non-empty value", name);

        if (strcmp(name, "--json") == 0) {
            arg_json = true;
        } else if (strcmp(name, "--wide") == 0) {
            arg_wide = true;
        } else if (strcmp(name, "--help") == 0) {
            arg_help = true;
        } else if (strcmp(name, "--version") == 0) {
            arg_version = true;
        } else if (strcmp(name, "--socket") == 0) {
            arg_socket = value;
        } else if (strcmp(name, "--config") == 0) {
            arg_config = value;
        } else if (strcmp(name, "--feed") == 0) {
            arg_feed = value;
            arg_opts_seen |= OPT_FEED;
        } else if (strcmp(name, "--limit") == 0) {
            if (!parse_limit(value, &arg_limit))
                return usage_error("invalid --limit '%s' (a number from 1 to 10000)", value);
            arg_opts_seen |= OPT_LIMIT;
        } else if (strcmp(name, "--text") == 0) {
            arg_text = true;
            arg_opts_seen |= OPT_TEXT;
        } else if (strcmp(name, "--wait") == 0) {
            arg_wait = true;
            arg_opts_seen |= OPT_WAIT;
        } else if (strcmp(name, "--topic") == 0) {
            arg_topic = value;
            arg_opts_seen |= OPT_TOPIC;
        } else if (strcmp(name, "--failed") == 0) {
            arg_failed = true;
            arg_opts_seen |= OPT_FAILED;
        } else if (strcmp(name, "--interval") == 0) {
            if (conf_parse_duration(value, &arg_interval_s) < 0 || arg_interval_s < 1 ||
                arg_interval_s > MAX_INTERVAL)
                return usage_error("invalid --interval '%s' (a duration of at least 1s, e.g. "
                                   "90s, 15m, 2h, 1d)",
                                   value);
            arg_opts_seen |= OPT_INTERVAL;
        } else if (strcmp(name, "--tag") == 0) {
            if (arg_n_tags == FEED_TAGS_MAX)
                return usage_error("at most %d --tag options", FEED_TAGS_MAX);
            if (!feed_tag_valid(value, strlen(value)))
                return usage_error("invalid --tag '%s' (1 to 256 bytes without commas or "
                                   "control characters, no blank at either end)",
                                   value);
            arg_tags[arg_n_tags++] = value;
            arg_opts_seen |= OPT_TAG;
        } else if (strcmp(name, "--fetch-article") == 0) {
            arg_fetch_article = true;
            arg_opts_seen |= OPT_FETCH_ARTICLE;
        } else if (strcmp(name, "--dry-run") == 0) {
            arg_dry_run = true;
            arg_opts_seen |= OPT_DRY_RUN;
        } else if (strcmp(name, "--ini") == 0) {
            arg_ini = true;
            arg_opts_seen |= OPT_INI;
        } else if (strcmp(name, "--explain") == 0) {
            arg_explain = true;
            arg_opts_seen |= OPT_EXPLAIN;
        } else if (strcmp(name, "--hook") == 0) {
            arg_hook = value;
            arg_opts_seen |= OPT_HOOK;
        } else if (strcmp(name, "--since") == 0) {
            int64_t at;
            if (since_parse(value, (int64_t)time(NULL), &at) < 0)
                return usage_error("invalid --since '%s' (an RFC 3339 time such as "
                                   "2026-12-06T10:00:00Z, or a duration ago such as 90m, 2h, 3d)",
                                   value);
            date_format(at, arg_since);
            arg_opts_seen |= OPT_SINCE;
        }
    }
    *ret_command = command;
    return 0;
}

/*
 * The socket path: --socket, else the `socket` of --config FILE, else that of the default
 * config if it exists and is readable, else the default. Only `socket` (and `include`) is
 * read of a config: a CLI user who may not read the daemon's secrets, or a config mistake
 * elsewhere, does not stop the CLI. Returns 0 with *ret_path owning the path, or an exit
 * status (2 for a bad --config, 1 for OOM) after reporting why.
 */
static int
resolve_socket(char **ret_path, bool json)
{
    char *err = NULL;
    int r;

    if (arg_socket) {
        *ret_path = strdup(arg_socket);
        if (!*ret_path)
            live_report(json, "out of memory");
        return *ret_path ? 0 : 1;
    }
    const char *config = arg_config ? arg_config : DEFAULT_CONFIG;
    r = conf_load_socket(config, ret_path, &err);
    if (r == -ENOMEM) {
        live_report(json, "out of memory");
        free(err);
        return 1;
    }
    if (r < 0 && arg_config) {
        if (err && *err)
            live_report(json, "%s", err);
        else
            live_report(json, "%s: %s", arg_config, strerror(-r));
        free(err);
        return EXIT_USAGE;
    }
    free(err);
    if (r < 0) { /* the default config is missing or unreadable: the default socket */
        *ret_path = strdup(DEFAULT_SOCKET);
        if (!*ret_path) {
            live_report(json, "out of memory");
            return 1;
        }
    }
    return 0;
}

/*
 * `search`'s query checked here as the daemon will check it (the same parser and matcher):
 * a bad query is the user's mistake, exit 2 with the parser's message, as for `match`.
 */
static int
check_search_query(const char *query, bool json)
{
    struct match *m = match_new();
    char *err = NULL;
    int r = m ? match_add(m, 0, NULL, query, &err) : -ENOMEM;
    if (r == 0)
        r = match_build(m);
    match_free(m);
    if (r == 0)
        return 0;
    live_report(json, "%s", err ? err : strerror(-r));
    free(err);
    return r == -ENOMEM ? 1 : EXIT_USAGE;
}

/* `item ID`: a whole number from 1 up, or -1. */
static int64_t
parse_item_id(const char *s)
{
    char *end;
    if (*s < '1' || *s > '9')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return errno != 0 || *end != '\0' ? -1 : (int64_t)v;
}

static int
run_live(const struct command *cmd)
{
    struct live_args a = {
        .cmd = (enum live_cmd)cmd->live,
        .json = arg_json,
        .feed = arg_feed,
        .limit = arg_limit,
        .width = output_terminal_width(arg_wide),
        .text = arg_text,
        .wait = arg_wait,
        .topic = arg_topic,
        .failed = arg_failed,
        .interval_s = arg_interval_s,
        .tags = arg_tags,
        .n_tags = arg_n_tags,
        .fetch_article = arg_fetch_article,
        .since = arg_since[0] ? arg_since : NULL,
    };
    char *socket_path = NULL;
    int r;

    if (cmd->live == LIVE_ITEMS && arg_n_tags > 1)
        return usage_error("items takes one --tag");
    if (cmd->live == LIVE_ITEM && (a.id = parse_item_id(arg_positional[0])) < 0)
        return usage_error("invalid item ID '%s' (a number from 1 up, as `items --json` "
                           "gives it)",
                           arg_positional[0]);
    if (cmd->live == LIVE_FEEDS && arg_n_positional > 0)
        a.name = arg_positional[0];
    if (cmd->live == LIVE_POLL)
        a.feed = arg_n_positional > 0 ? arg_positional[0] : NULL;
    if (cmd->live == LIVE_SEARCH) {
        a.query = arg_positional[0];
        r = check_search_query(a.query, arg_json);
        if (r != 0)
            return r;
    }
    if (cmd->live == LIVE_REDELIVER) {
        char *end = NULL;
        const char *id = arg_n_positional > 0 ? arg_positional[0] : NULL;
        if (!id == !arg_failed)
            return usage_error("redeliver takes an ALERT_ID or --failed (one of them)");
        errno = 0;
        a.alert_id = id && *id >= '0' && *id <= '9' ? strtoll(id, &end, 10) : 0;
        if (id && (errno != 0 || !end || *end != '\0' || a.alert_id < 1))
            return usage_error("invalid ALERT_ID '%s' (an alert's id, as `alerts` shows)", id);
        a.hook = arg_hook;
    }
    if (cmd->live == LIVE_ADD || cmd->live == LIVE_REMOVE || cmd->live == LIVE_PAUSE ||
        cmd->live == LIVE_RESUME) {
        a.name = arg_positional[0];
        a.url = arg_n_positional > 1 ? arg_positional[1] : NULL;
    }
    r = resolve_socket(&socket_path, arg_json);
    if (r != 0)
        return r;
    a.socket = socket_path;
    r = live_run(&a);
    free(socket_path);
    return r;
}

/* `export-opml`: every feed of the daemon as OPML on stdout. */
static int
run_export_opml(const struct command *cmd)
{
    char *socket_path = NULL;
    (void)cmd;
    int r = resolve_socket(&socket_path, false);
    if (r != 0)
        return r;
    r = opml_export(socket_path);
    free(socket_path);
    return r;
}

/* `import-opml FILE`: adds its feeds, or reports (--dry-run), or prints INI (--ini). */
static int
run_import_opml(const struct command *cmd)
{
    struct opml_import_args a = {
        .file = arg_positional[0],
        .tags = arg_tags,
        .n_tags = arg_n_tags,
        .dry_run = arg_dry_run,
        .ini = arg_ini,
    };
    char *socket_path = NULL;
    (void)cmd;
    if (arg_dry_run && arg_ini)
        return usage_error("--dry-run and --ini do not go together");
    if (!arg_ini) {
        int r = resolve_socket(&socket_path, false);
        if (r != 0)
            return r;
    }
    a.socket = socket_path;
    int r = opml_import(&a);
    free(socket_path);
    return r;
}

static int
run_parse(const struct command *cmd)
{
    const char *source = arg_positional[0];
    char *err = NULL;
    int r;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        output_message("cannot initialise libcurl");
        return 1;
    }
    r = offline_parse(source, arg_json, &err);
    curl_global_cleanup();
    if (r < 0) {
        output_message("%s: %s", strcmp(source, "-") == 0 ? "standard input" : source,
                       err ? err : strerror(-r));
        free(err);
        return 1;
    }
    return 0;
}

/* `extract FILE…|URL`: the article text of each source (exit 1 if any failed). */
static int
run_extract(const struct command *cmd)
{
    int r;

    (void)cmd;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        output_message("cannot initialise libcurl");
        return 1;
    }
    r = extract_run(arg_positional, arg_n_positional, arg_json);
    curl_global_cleanup();
    return r;
}

/* `match QUERY FILE…`: exits like grep (0 matched, 1 nothing matched, 2 bad query or file). */
static int
run_match(const struct command *cmd)
{
    (void)cmd;
    return match_cli(arg_positional[0], arg_positional + 1, arg_n_positional - 1, arg_json,
                     arg_explain, arg_config ? arg_config : DEFAULT_CONFIG, arg_config != NULL);
}

int
main(int argc, char **argv)
{
    const struct command *cmd = NULL;
    const char *name = NULL;
    int status;

    tzset();
    status = parse_argv(argc, argv, &name);
    if (status != 0)
        return status;
    if (arg_help) {
        for (size_t i = 0; name && i < sizeof(commands) / sizeof(commands[0]); i++)
            if (strcmp(commands[i].name, name) == 0)
                cmd = &commands[i];
        if (cmd)
            print_command_help(cmd);
        else
            print_help();
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (arg_version) {
        (void)printf("feedwatch %s\n", FW_VERSION);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (!name)
        return usage_error("missing command");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            cmd = &commands[i];
    if (!cmd)
        return usage_error("unknown command '%s'", name);

    unsigned bad = arg_opts_seen & ~cmd->opts;
    for (size_t i = 0; bad && i < sizeof(option_names) / sizeof(option_names[0]); i++) {
        if (bad & (1u << i)) {
            return usage_error("option '%s' does not apply to '%s'", option_names[i], cmd->name);
        }
    }
    if (arg_n_positional < cmd->min_args)
        return usage_error("missing argument; usage: feedwatch %s", cmd->synopsis);
    if (arg_n_positional > cmd->max_args)
        return usage_error("too many arguments; usage: feedwatch %s", cmd->synopsis);

    status = cmd->run(cmd);

    if (fflush(stdout) != 0 || ferror(stdout)) {
        output_message("cannot write the output: %s", strerror(errno));
        return 1;
    }
    return status;
}
