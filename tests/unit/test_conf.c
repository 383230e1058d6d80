/*
 * test_conf.c — unit tests of the config reader (config/conf.c).
 *
 * Every test writes its files into a fresh mkdtemp folder under /tmp and removes it after.
 * Expected errors are templates where {F} is the main file's path and {D} its folder.
 */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef FW_VERSION
#define FW_VERSION "0.0.0"
#endif

static char g_dir[64];
static char g_main[128];

static int
on_nftw_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
setup(void **state)
{
    (void)state;
    (void)snprintf(g_dir, sizeof g_dir, "/tmp/test_conf.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    (void)snprintf(g_main, sizeof g_main, "%s/feedwatch.conf", g_dir);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    return nftw(g_dir, on_nftw_remove, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to dir/name (name may hold sub-folders that already exist). */
static void
write_file(const char *name, const char *text)
{
    char path[PATH_MAX];
    (void)snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void
make_dir(const char *name)
{
    char path[PATH_MAX];
    (void)snprintf(path, sizeof path, "%s/%s", g_dir, name);
    assert_int_equal(mkdir(path, 0700), 0);
}

/* Replaces {F} by the main file's path and {D} by the temp folder. */
static char *
subst(const char *tmpl)
{
    size_t cap = strlen(tmpl) * 2 + 8 * PATH_MAX;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t o = 0;
    for (const char *s = tmpl; *s;) {
        const char *rep = NULL;
        if (strncmp(s, "{F}", 3) == 0)
            rep = g_main;
        else if (strncmp(s, "{D}", 3) == 0)
            rep = g_dir;
        if (rep) {
            size_t n = strlen(rep);
            assert_true(o + n < cap);
            memcpy(out + o, rep, n);
            o += n;
            s += 3;
        } else {
            assert_true(o + 1 < cap);
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
    return out;
}

static struct conf *
load_ok(const char *text)
{
    write_file("feedwatch.conf", text);
    struct conf *c = NULL;
    char *err = NULL;
    int r = conf_load(g_main, &c, &err);
    if (r != 0)
        print_error("unexpected errors:\n%s\n", err ? err : "(none)");
    assert_int_equal(r, 0);
    assert_null(err);
    assert_non_null(c);
    return c;
}

static char *
load_fail(const char *text)
{
    write_file("feedwatch.conf", text);
    struct conf *c = NULL;
    char *err = NULL;
    int r = conf_load(g_main, &c, &err);
    assert_int_equal(r, -EINVAL);
    assert_null(c);
    assert_non_null(err);
    return err;
}

/* Loads text, expects failure, and compares every error line with the template. */
static void
expect_errors(const char *text, const char *tmpl)
{
    char *err = load_fail(text);
    char *want = subst(tmpl);
    if (strcmp(err, want) != 0)
        print_error("got:\n%s\nwant:\n%s\n", err, want);
    assert_string_equal(err, want);
    free(want);
    free(err);
}

/* Loads text, expects failure, and checks that the errors contain the template. */
static void
expect_error_part(const char *text, const char *tmpl)
{
    char *err = load_fail(text);
    char *want = subst(tmpl);
    bool found = strstr(err, want) != NULL;
    if (!found)
        print_error("got:\n%s\nwant part:\n%s\n", err, want);
    free(want);
    free(err);
    assert_true(found);
}

static void
test_conf_defaults(void **state)
{
    (void)state;
    struct conf *c = load_ok("# nothing but a comment\n[feed \"a\"]\nurl = https://e.org/a.xml\n");
    assert_string_equal(c->path, g_main);
    assert_string_equal(c->daemon.database, "/var/lib/feedwatch/feedwatch.db");
    assert_string_equal(c->daemon.socket, "/run/feedwatch/feedwatch.sock");
    assert_string_equal(c->daemon.user_agent,
                        "feedwatch/" FW_VERSION " (+https://example.org/feedwatch)");
    assert_int_equal(c->daemon.interval_s, 900);
    assert_int_equal(c->daemon.max_connections, 64);
    assert_int_equal(c->daemon.max_per_host, 4);
    assert_int_equal(c->daemon.max_feed_size, 8 * 1024 * 1024);
    assert_int_equal(c->daemon.retention_s, 90 * 86400);
    assert_int_equal(c->daemon.min_interval_s, 300);
    assert_int_equal(c->daemon.max_interval_s, 6 * 3600);
    assert_true(c->daemon.respect_feed_hints);
    assert_int_equal(c->daemon.max_failures, 10);
    assert_int_equal(c->daemon.story_window_s, 48 * 3600);
    assert_int_equal(c->daemon.max_hooks, 4);
    assert_int_equal(c->daemon.log_level, CONF_LOG_NOTICE);
    assert_null(c->daemon.proxy);
    assert_int_equal(c->n_feeds, 1);
    const struct conf_feed *f = &c->feeds[0];
    assert_string_equal(f->name, "a");
    assert_int_equal(f->interval_s, 900);
    assert_true(f->enabled);
    assert_false(f->fetch_article);
    assert_null(f->header);
    assert_null(f->user);
    assert_null(f->password_file);
    assert_int_equal(f->n_tags, 0);
    assert_string_equal(f->origin.file, g_main);
    assert_int_equal(f->origin.line, 2);
    assert_int_equal(c->n_topics, 0);
    assert_int_equal(c->n_hooks, 0);
    conf_free(c);
}

static const char product_example[] =
    "[daemon]\n"
    "database = feedwatch.db\n"
    "socket = feedwatch.sock\n"
    "interval = 15m              # default poll interval\n"
    "max_connections = 64        # in flight at once, all hosts\n"
    "max_per_host = 4\n"
    "user_agent = feedwatch/1.0 (+https://example.org/feedwatch)\n"
    "max_feed_size = 8M          # after decompression\n"
    "retention = 90d             # item text older than this (from first seen) is pruned;\n"
    "                            # the (feed, key) record stays\n"
    "min_interval = 5m           # adaptive intervals stay within these bounds\n"
    "max_interval = 6h\n"
    "respect_feed_hints = yes    # <ttl>, sy:updatePeriod\n"
    "max_failures = 10           # consecutive failures\n"
    "story_window = 48h          # same story from another feed within it\n"
    "max_hooks = 4               # hooks running at once\n"
    "log_level = notice          # error, warning, notice, info, debug\n"
    "#proxy = http://proxy.example.org:3128  # optional\n"
    "\n"
    "[feed \"afp-world\"]\n"
    "url = https://example.org/afp/world.xml   # http, https or file\n"
    "interval = 10m\n"
    "tags = world, europe\n"
    "fetch_article = no          # yes: download each new item's page\n"
    "enabled = yes\n"
    "#header = X-Api-Key: @/etc/feedwatch/afp.key  # optional extra header\n"
    "#user = reader              # optional HTTP basic auth\n"
    "#password_file = /etc/feedwatch/afp.pass      # never shown\n"
    "\n"
    "[topic \"osce\"]\n"
    "match = OSCE OR OVSE OR OSZE OR ОБСЕ OR \"Organization for Security and Co-operation in "
    "Europe\"\n"
    "hooks = notify\n"
    "\n"
    "[topic \"ukraine-border\"]\n"
    "match = \"ukraine border\"~4 OR \"oekraïne grens\"~4 OR \"ukraine biên giới\"~6\n"
    "feeds = afp-world           # optional: only these feeds (default all)\n"
    "\n"
    "[hook \"notify\"]\n"
    "exec = /usr/local/bin/send-alert --channel news   # run directly, never through a shell\n"
    "timeout = 30s\n"
    "retries = 5                 # with exponential backoff\n"
    "\n"
    "[hook \"webhook\"]\n"
    "url = https://hooks.example.org/feedwatch   # POST the same JSON\n"
    "#secret_file = /etc/feedwatch/webhook.key   # optional\n";

/*
 * A PostgreSQL connection string in `database` is kept as written, not made a path beside
 * the config (issue 16); a file name that merely holds a '=' is still a path.
 */
static void
test_conf_database_connection_string(void **state)
{
    (void)state;
    static const char *const kept[] = {
        "postgresql://feeds:pw@db.example:5433/feedwatch?sslmode=require",
        "postgres://db.example/feedwatch",
        "service=feeds",
        "host=/run/postgresql dbname=feeds",
    };
    char text[256], want[PATH_MAX + 32];
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        (void)snprintf(text, sizeof text, "[daemon]\ndatabase = %s\n", kept[i]);
        struct conf *c = load_ok(text);
        assert_string_equal(c->daemon.database, kept[i]);
        conf_free(c);
    }
    struct conf *c = load_ok("[daemon]\ndatabase = run=1.db\n");
    (void)snprintf(want, sizeof want, "%s/run=1.db", g_dir);
    assert_string_equal(c->daemon.database, want);
    conf_free(c);
}

static void
test_conf_product_example(void **state)
{
    (void)state;
    struct conf *c = load_ok(product_example);
    char want[PATH_MAX + 32];
    (void)snprintf(want, sizeof want, "%s/feedwatch.db", g_dir);
    assert_string_equal(c->daemon.database, want);
    (void)snprintf(want, sizeof want, "%s/feedwatch.sock", g_dir);
    assert_string_equal(c->daemon.socket, want);
    assert_string_equal(c->daemon.user_agent, "feedwatch/1.0 (+https://example.org/feedwatch)");
    assert_int_equal(c->daemon.retention_s, 90 * 86400);
    assert_null(c->daemon.proxy);

    const struct conf_feed *f = conf_feed_find(c, "afp-world");
    assert_non_null(f);
    assert_string_equal(f->url, "https://example.org/afp/world.xml");
    assert_int_equal(f->interval_s, 600);
    assert_int_equal(f->n_tags, 2);
    assert_string_equal(f->tags[0], "world");
    assert_string_equal(f->tags[1], "europe");
    assert_false(f->fetch_article);
    assert_true(f->enabled);
    assert_null(f->header);

    const struct conf_topic *t = conf_topic_find(c, "osce");
    assert_non_null(t);
    assert_string_equal(t->match, "OSCE OR OVSE OR OSZE OR ОБСЕ OR \"Organization for Security "
                                  "and Co-operation in Europe\"");
    assert_int_equal(t->n_hooks, 1);
    assert_string_equal(t->hooks[0], "notify");
    assert_int_equal(t->n_feeds, 0);
    assert_int_equal(t->origin.line, 30);
    t = conf_topic_find(c, "ukraine-border");
    assert_non_null(t);
    assert_string_equal(t->match,
                        "\"ukraine border\"~4 OR \"oekraïne grens\"~4 OR \"ukraine biên giới\"~6");
    assert_int_equal(t->n_feeds, 1);
    assert_string_equal(t->feeds[0], "afp-world");

    const struct conf_hook *h = conf_hook_find(c, "notify");
    assert_non_null(h);
    assert_string_equal(h->exec_argv[0], "/usr/local/bin/send-alert");
    assert_string_equal(h->exec_argv[1], "--channel");
    assert_string_equal(h->exec_argv[2], "news");
    assert_null(h->exec_argv[3]);
    assert_null(h->url);
    assert_int_equal(h->timeout_s, 30);
    assert_int_equal(h->retries, 5);
    h = conf_hook_find(c, "webhook");
    assert_non_null(h);
    assert_null(h->exec_argv);
    assert_string_equal(h->url, "https://hooks.example.org/feedwatch");
    assert_null(h->secret_file);
    assert_null(conf_hook_find(c, "nope"));
    assert_null(conf_feed_find(c, "nope"));
    assert_null(conf_topic_find(c, "nope"));
    assert_null(conf_feed_find(NULL, "x"));
    conf_free(c);
}

static void
test_conf_daemon_after_feeds(void **state)
{
    (void)state;
    struct conf *c = load_ok("[feed \"a\"]\nurl = https://e.org/a\n"
                             "[feed \"b\"]\nurl = https://e.org/b\ninterval = 2h\n"
                             "[daemon]\ninterval = 1h\n");
    assert_int_equal(conf_feed_find(c, "a")->interval_s, 3600);
    assert_int_equal(conf_feed_find(c, "b")->interval_s, 7200);
    conf_free(c);
}

static void
test_conf_daemon_twice(void **state)
{
    (void)state;
    struct conf *c = load_ok("[daemon]\ninterval = 1h\n[daemon]\nmax_hooks = 8\n");
    assert_int_equal(c->daemon.interval_s, 3600);
    assert_int_equal(c->daemon.max_hooks, 8);
    conf_free(c);
}

static void
test_conf_all_daemon_keys(void **state)
{
    (void)state;
    struct conf *c = load_ok("[daemon]\n"
                             "database = /srv/fw/db.sqlite\n"
                             "socket = ../run/fw.sock\n"
                             "interval = 90s\n"
                             "max_connections = 10000\n"
                             "max_per_host = 1000\n"
                             "user_agent = Test Agent/2\n"
                             "max_feed_size = 1G\n"
                             "retention = 1w\n"
                             "min_interval = 1s\n"
                             "max_interval = 1d\n"
                             "respect_feed_hints = off\n"
                             "max_failures = 1000\n"
                             "story_window = 3h\n"
                             "max_hooks = 256\n"
                             "log_level = debug\n"
                             "proxy = socks5h://127.0.0.1:1080\n");
    assert_string_equal(c->daemon.database, "/srv/fw/db.sqlite");
    char want[PATH_MAX + 32];
    (void)snprintf(want, sizeof want, "%s/../run/fw.sock", g_dir);
    assert_string_equal(c->daemon.socket, want);
    assert_int_equal(c->daemon.interval_s, 90);
    assert_int_equal(c->daemon.max_connections, 10000);
    assert_int_equal(c->daemon.max_per_host, 1000);
    assert_string_equal(c->daemon.user_agent, "Test Agent/2");
    assert_int_equal(c->daemon.max_feed_size, 1024ull * 1024 * 1024);
    assert_int_equal(c->daemon.retention_s, 7 * 86400);
    assert_int_equal(c->daemon.min_interval_s, 1);
    assert_int_equal(c->daemon.max_interval_s, 86400);
    assert_false(c->daemon.respect_feed_hints);
    assert_int_equal(c->daemon.max_failures, 1000);
    assert_int_equal(c->daemon.story_window_s, 3 * 3600);
    assert_int_equal(c->daemon.max_hooks, 256);
    assert_int_equal(c->daemon.log_level, CONF_LOG_DEBUG);
    assert_string_equal(c->daemon.proxy, "socks5h://127.0.0.1:1080");
    conf_free(c);

    static const struct {
        const char *name;
        enum conf_log_level level;
    } levels[] = {{"error", CONF_LOG_ERROR},
                  {"warning", CONF_LOG_WARNING},
                  {"notice", CONF_LOG_NOTICE},
                  {"info", CONF_LOG_INFO},
                  {"debug", CONF_LOG_DEBUG}};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        char text[64];
        (void)snprintf(text, sizeof text, "[daemon]\nlog_level = %s\n", levels[i].name);
        c = load_ok(text);
        assert_int_equal(c->daemon.log_level, levels[i].level);
        conf_free(c);
    }
}

static void
test_conf_comments(void **state)
{
    (void)state;
    struct conf *c = load_ok("; a comment\n"
                             "   # an indented comment\n"
                             "\t; another\n"
                             "[daemon] # trailing on a header\n"
                             "user_agent = ua#1;2 # comment\n"
                             "interval = 5m\t;tab before the comment\n"
                             "[feed \"x\"];c\n"
                             "url = https://e.org/x\n"
                             "enabled = no ; comment\n");
    assert_string_equal(c->daemon.user_agent, "ua#1;2");
    assert_int_equal(c->daemon.interval_s, 300);
    conf_free(c);
    expect_errors("[feed \"x\"]\nurl = https://e.org/x\nfetch_article = yes# no blank\n",
                  "{F}:3: fetch_article: invalid boolean 'yes# no blank' (use yes or no)");
}

static void
test_conf_comment_value_cut(void **state)
{
    (void)state;
    /* "5m;not..." keeps everything up to the first blank-preceded '#': a bad duration. */
    expect_errors("[daemon]\ninterval = 5m;x # c\n",
                  "{F}:2: interval: invalid duration '5m;x' (use e.g. 90s, 15m, 2h, 1d, 1w)");
    struct conf *c = load_ok("[feed \"x\"]\n"
                             "url = https://e.org/x#frag\t; tab then comment\n"
                             "header = X-Api-Key: abc#1   # comment\n"
                             "tags = a;b, c#d ; comment\n");
    const struct conf_feed *f = conf_feed_find(c, "x");
    assert_string_equal(f->url, "https://e.org/x#frag");
    assert_string_equal(f->header, "X-Api-Key: abc#1");
    assert_int_equal(f->n_tags, 2);
    assert_string_equal(f->tags[0], "a;b");
    assert_string_equal(f->tags[1], "c#d");
    conf_free(c);
}

static void
test_conf_crlf_and_bom(void **state)
{
    (void)state;
    struct conf *c = load_ok("\xEF\xBB\xBF[daemon]\r\ninterval = 2m\r\n\r\n[feed \"a\"]\r\n"
                             "url = https://e.org/a\r\n");
    assert_int_equal(c->daemon.interval_s, 120);
    assert_string_equal(c->feeds[0].url, "https://e.org/a");
    conf_free(c);
}

static void
test_conf_error_format_relative_path(void **state)
{
    (void)state;
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    write_file("feedwatch.conf", "[daemon]\n\n[feed \"x\"]\ninterval = 1h\n");
    assert_int_equal(chdir(g_dir), 0);
    struct conf *c = NULL;
    char *err = NULL;
    int r = conf_load("feedwatch.conf", &c, &err);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(r, -EINVAL);
    assert_null(c);
    assert_string_equal(err, "feedwatch.conf:3: feed \"x\": missing url");
    free(err);

    /* A relative main path still gives an absolute conf->path and absolute paths. */
    write_file("feedwatch.conf", "[daemon]\ndatabase = ./x.db\n");
    assert_int_equal(chdir(g_dir), 0);
    r = conf_load("./feedwatch.conf", &c, &err);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(r, 0);
    assert_string_equal(c->path, g_main);
    char want[PATH_MAX + 16];
    (void)snprintf(want, sizeof want, "%s/x.db", g_dir);
    assert_string_equal(c->daemon.database, want);
    conf_free(c);
}

static void
test_conf_main_file_missing(void **state)
{
    (void)state;
    struct conf *c = NULL;
    char *err = NULL;
    char path[PATH_MAX + 16];
    (void)snprintf(path, sizeof path, "%s/none.conf", g_dir);
    assert_int_equal(conf_load(path, &c, &err), -ENOENT);
    assert_null(c);
    char want[PATH_MAX + 64];
    (void)snprintf(want, sizeof want, "%s: cannot read: No such file or directory", path);
    assert_string_equal(err, want);
    free(err);

    assert_int_equal(conf_load(g_dir, &c, &err), -EISDIR);
    assert_null(c);
    free(err);
}

static void
test_conf_hook_env(void **state)
{
    (void)state;
    struct conf *c = load_ok("[hook \"h\"]\nexec = /bin/true\nenv = HOME, _X1 , http_proxy\n");
    const struct conf_hook *h = conf_hook_find(c, "h");
    assert_non_null(h);
    assert_int_equal(h->n_env, 3);
    assert_string_equal(h->env[0], "HOME");
    assert_string_equal(h->env[1], "_X1");
    assert_string_equal(h->env[2], "http_proxy");
    conf_free(c);
    c = load_ok("[hook \"h\"]\nexec = /bin/true\n");
    assert_int_equal(conf_hook_find(c, "h")->n_env, 0);
    assert_null(conf_hook_find(c, "h")->env);
    conf_free(c);
    expect_error_part("[hook \"h\"]\nexec = /bin/true\nenv = A, 1B\n",
                      "{F}:3: env: invalid variable name '1B'");
    expect_error_part("[hook \"h\"]\nexec = /bin/true\nenv = A=B\n",
                      "{F}:3: env: invalid variable name 'A=B'");
    expect_error_part("[hook \"h\"]\nexec = /bin/true\nenv = A,,B\n",
                      "{F}:3: env: empty item in list");
    expect_error_part("[hook \"h\"]\nurl = https://e.org/h\nenv = A\n",
                      "env is for exec hooks only");
}

static void
test_conf_unknown_section(void **state)
{
    (void)state;
    expect_errors("[daemon]\n[feeds \"x\"]\nurl = https://e.org\n",
                  "{F}:2: section: unknown section 'feeds' (use daemon, feed, topic, hook or "
                  "alias)");
    expect_errors("[Daemon]\n", "{F}:1: section: unknown section 'Daemon' (use daemon, feed, "
                                "topic, hook or alias)");
}

static void
test_conf_unknown_key(void **state)
{
    (void)state;
    expect_errors("[daemon]\ncolour = blue\n", "{F}:2: colour: unknown key in [daemon]");
    expect_errors("[feed \"x\"]\nurl = https://e.org/\nURL = https://e.org/\n",
                  "{F}:3: URL: unknown key in [feed \"x\"]");
    expect_errors("[topic \"t\"]\nmatch = a\nexec = /bin/true\n",
                  "{F}:3: exec: unknown key in [topic \"t\"]");
    expect_errors("[hook \"h\"]\nexec = /bin/true\nmatch = x\n",
                  "{F}:3: match: unknown key in [hook \"h\"]");
}

static void
test_conf_key_outside_section(void **state)
{
    (void)state;
    expect_errors("interval = 5m\n[daemon]\n",
                  "{F}:1: interval: key outside any section (only include is allowed here)");
}

static void
test_conf_syntax_errors(void **state)
{
    (void)state;
    expect_errors("[daemon]\njust words\n",
                  "{F}:2: syntax: expected 'key = value', '[section]' or a comment");
    expect_errors("[daemon]\n = 5\n", "{F}:2: syntax: invalid key '' before '='");
    expect_errors("[daemon]\nmax hooks = 5\n", "{F}:2: syntax: invalid key 'max hooks' before '='");
    expect_errors("[daemon]\ninterval =\n", "{F}:2: interval: empty value");
    expect_errors("[daemon]\ninterval = # only a comment\n", "{F}:2: interval: empty value");
}

static void
test_conf_bad_duration(void **state)
{
    (void)state;
    expect_errors("[daemon]\ninterval = 5x\n",
                  "{F}:2: interval: invalid duration '5x' (use e.g. 90s, 15m, 2h, 1d, 1w)");
    expect_errors("[feed \"a\"]\nurl = https://e.org/\ninterval = 1.5h\n",
                  "{F}:3: interval: invalid duration '1.5h' (use e.g. 90s, 15m, 2h, 1d, 1w)");
    expect_errors("[hook \"h\"]\nexec = /bin/true\ntimeout = -1\n",
                  "{F}:3: timeout: invalid duration '-1' (use e.g. 90s, 15m, 2h, 1d, 1w)");
    expect_errors("[daemon]\nretention = 99999999999999999999999d\n",
                  "{F}:2: retention: duration '99999999999999999999999d' is too long (max 100 "
                  "years)");
}

/* A config's one warning ends with suffix. */
static void
expect_warning(const struct conf *c, const char *suffix)
{
    assert_int_equal(c->n_warnings, 1);
    size_t n = strlen(c->warnings[0]), k = strlen(suffix);
    if (n < k || strcmp(c->warnings[0] + n - k, suffix) != 0)
        fail_msg("warning '%s' does not end with '%s'", c->warnings[0], suffix);
}

/*
 * Durations whose sense ends well before 100 years (hostile review L3): a story window of at
 * most 30 days, a digest's batch window of at most a day; the bounds themselves are good, and
 * a longer one is taken as the bound with a warning, so that a config that ran before the
 * bounds still starts (review11 M3).
 */
static void
test_conf_bounded_windows(void **state)
{
    (void)state;
    struct conf *c = load_ok("[daemon]\nstory_window = 31d\n");
    assert_int_equal(c->daemon.story_window_s, 30u * 86400);
    expect_warning(c, ":2: warning: story_window: duration '31d' is longer than the most, 30d:"
                      " 30d is used");
    conf_free(c);
    c = load_ok("[daemon]\nstory_window = 99999999999999999999999d\n");
    assert_int_equal(c->daemon.story_window_s, 30u * 86400);
    conf_free(c);
    c = load_ok("[hook \"h\"]\nexec = /bin/true\nbatch = 25h\n");
    assert_int_equal(c->hooks[0].batch_s, 86400);
    expect_warning(c, ":3: warning: batch: duration '25h' is longer than the most, 1d: 1d is used");
    conf_free(c);
    c = load_ok("[daemon]\nstory_window = 30d\n"
                "[hook \"h\"]\nexec = /bin/true\nbatch = 1d\n");
    assert_int_equal(c->daemon.story_window_s, 30u * 86400);
    assert_int_equal(c->hooks[0].batch_s, 86400);
    assert_int_equal(c->n_warnings, 0);
    conf_free(c);
}

static void
test_conf_bad_size(void **state)
{
    (void)state;
    expect_errors("[daemon]\nmax_feed_size = 8X\n",
                  "{F}:2: max_feed_size: invalid size '8X' (use e.g. 512k, 8M, 1G)");
    expect_errors("[daemon]\nmax_feed_size = 8 M\n",
                  "{F}:2: max_feed_size: invalid size '8 M' (use e.g. 512k, 8M, 1G)");
    expect_errors("[daemon]\nmax_feed_size = 1023\n",
                  "{F}:2: max_feed_size: '1023' is out of range (1k..1G)");
    expect_errors("[daemon]\nmax_feed_size = 1025M\n",
                  "{F}:2: max_feed_size: '1025M' is out of range (1k..1G)");
    expect_errors("[daemon]\nmax_feed_size = 99999999999999999999999\n",
                  "{F}:2: max_feed_size: '99999999999999999999999' is out of range (1k..1G)");
}

static void
test_conf_bad_bool(void **state)
{
    (void)state;
    expect_errors("[feed \"a\"]\nurl = https://e.org/\nenabled = maybe\n",
                  "{F}:3: enabled: invalid boolean 'maybe' (use yes or no)");
    expect_errors("[daemon]\nrespect_feed_hints = 2\n",
                  "{F}:2: respect_feed_hints: invalid boolean '2' (use yes or no)");
}

static void
test_conf_out_of_range(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"[daemon]\nmax_connections = 0\n",
         "{F}:2: max_connections: '0' is out of range (1..10000)"},
        {"[daemon]\nmax_connections = 10001\n",
         "{F}:2: max_connections: '10001' is out of range (1..10000)"},
        {"[daemon]\nmax_connections = 99999999999999999999999\n",
         "{F}:2: max_connections: '99999999999999999999999' is out of range (1..10000)"},
        {"[daemon]\nmax_connections = 12abc\n", "{F}:2: max_connections: invalid number '12abc'"},
        {"[daemon]\nmax_connections = -1\n", "{F}:2: max_connections: invalid number '-1'"},
        {"[daemon]\nmax_per_host = 1001\n",
         "{F}:2: max_per_host: '1001' is out of range (1..1000)"},
        {"[daemon]\nmax_hooks = 257\n", "{F}:2: max_hooks: '257' is out of range (1..256)"},
        {"[daemon]\nmax_hooks = 0\n", "{F}:2: max_hooks: '0' is out of range (1..256)"},
        {"[daemon]\nmax_failures = 0\n", "{F}:2: max_failures: '0' is out of range (1..1000)"},
        {"[daemon]\nmax_failures = 1001\n",
         "{F}:2: max_failures: '1001' is out of range (1..1000)"},
        {"[daemon]\ninterval = 0\n", "{F}:2: interval: duration '0' is too short (min 1s)"},
        {"[daemon]\nmin_interval = 0s\n",
         "{F}:2: min_interval: duration '0s' is too short (min 1s)"},
        {"[feed \"a\"]\nurl = https://e.org/\ninterval = 0m\n",
         "{F}:3: interval: duration '0m' is too short (min 1s)"},
        {"[hook \"h\"]\nexec = /bin/true\nretries = 101\n",
         "{F}:3: retries: '101' is out of range (0..100)"},
        {"[hook \"h\"]\nexec = /bin/true\nbatch = soon\n",
         "{F}:3: batch: invalid duration 'soon' (use e.g. 90s, 15m, 2h, 1d, 1w)"},
        {"[daemon]\nlog_level = verbose\n",
         "{F}:2: log_level: invalid level 'verbose' (use error, warning, notice, info or "
         "debug)"},
        {"[daemon]\nproxy = ftp://p:21\n",
         "{F}:2: proxy: invalid proxy 'ftp://p:21' (use http://, https://, socks4://, "
         "socks5:// or host:port)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_errors(cases[i].text, cases[i].want);

    struct conf *c = load_ok("[hook \"h\"]\nexec = /bin/true\nretries = 0\ntimeout = 1s\n");
    assert_int_equal(c->hooks[0].retries, 0);
    assert_int_equal(c->hooks[0].timeout_s, 1);
    assert_int_equal(c->hooks[0].batch_s, 0); /* one run per event */
    conf_free(c);
    c = load_ok("[hook \"h\"]\nexec = /bin/true\nbatch = 5m\n[hook \"g\"]\nexec = /bin/true\n"
                "batch = 0\n");
    assert_int_equal(c->hooks[0].batch_s, 300);
    assert_int_equal(c->hooks[1].batch_s, 0);
    conf_free(c);
    c = load_ok("[daemon]\nproxy = proxy.example.org:3128\nmax_feed_size = 1k\n");
    assert_string_equal(c->daemon.proxy, "proxy.example.org:3128");
    assert_int_equal(c->daemon.max_feed_size, 1024);
    conf_free(c);
}

static void
test_conf_min_above_max(void **state)
{
    (void)state;
    expect_errors("[daemon]\nmin_interval = 2h\nmax_interval = 1h\n",
                  "{F}:2: min_interval: min_interval (7200s) is greater than max_interval (3600s)");
    expect_errors("[daemon]\nmax_interval = 1m\n",
                  "{F}:2: max_interval: min_interval (300s) is greater than max_interval (60s)");
    struct conf *c = load_ok("[daemon]\nmin_interval = 1h\nmax_interval = 1h\n");
    conf_free(c);
}

static void
test_conf_missing_url(void **state)
{
    (void)state;
    expect_errors("[feed \"x\"]\ninterval = 1h\n[feed \"y\"]\n",
                  "{F}:1: feed \"x\": missing url\n{F}:3: feed \"y\": missing url");
    expect_errors("[topic \"t\"]\nhooks = h\n[hook \"h\"]\nexec = /bin/true\n",
                  "{F}:1: topic \"t\": missing match");
}

static void
test_conf_bad_url_scheme(void **state)
{
    (void)state;
    expect_errors("[feed \"x\"]\nurl = ftp://e.org/x.xml\n",
                  "{F}:2: url: unsupported URL 'ftp://e.org/x.xml' (use http://, https:// or "
                  "file://)");
    expect_errors("[feed \"x\"]\nurl = e.org/x.xml\n",
                  "{F}:2: url: unsupported URL 'e.org/x.xml' (use http://, https:// or file://)");
    expect_errors("[feed \"x\"]\nurl = http:///x.xml\n",
                  "{F}:2: url: invalid URL 'http:///x.xml' (needs a host and no blanks)");
    expect_errors("[feed \"x\"]\nurl = https://e.org/a b\n",
                  "{F}:2: url: invalid URL 'https://e.org/a b' (needs a host and no blanks)");
    expect_errors("[hook \"h\"]\nurl = file:///tmp/x\n",
                  "{F}:2: url: unsupported URL 'file:///tmp/x' (use http:// or https://)");
    /* A URL an error quotes shows no userinfo and no secret-named query value (the log). */
    expect_errors("[feed \"x\"]\nurl = https://u:pw5ecret@e.org/a b?token=T0K&k=v\n",
                  "{F}:2: url: invalid URL 'https://***@e.org/a b?token=***&k=v' (needs a host "
                  "and no blanks)");
    expect_errors("[hook \"h\"]\nurl = ftp://u:pw5ecret@e.org/?sig=T0K\n",
                  "{F}:2: url: unsupported URL 'ftp://***@e.org/?sig=***' (use http:// or "
                  "https://)");
    expect_errors("[daemon]\nproxy = ftp://u:pw5ecret@p:21\n",
                  "{F}:2: proxy: invalid proxy 'ftp://***@p:21' (use http://, https://, "
                  "socks4://, socks5:// or host:port)");
    struct conf *c = load_ok("[feed \"x\"]\nurl = HTTPS://E.org\n");
    assert_string_equal(c->feeds[0].url, "HTTPS://E.org");
    conf_free(c);
    /* The feed URL rule of feeds/base/feedrule.h, as run-time `add` has it: 8192 bytes. */
    static char text[8300];
    int head = snprintf(text, sizeof text, "[feed \"x\"]\nurl = https://e.org/");
    size_t len = strlen("https://e.org/");
    memset(text + head, 'a', 8192 - len);
    (void)snprintf(text + head + 8192 - len, sizeof text - (size_t)head - (8192 - len), "\n");
    c = load_ok(text);
    assert_int_equal(strlen(c->feeds[0].url), 8192);
    conf_free(c);
    (void)snprintf(text + head + 8192 - len, sizeof text - (size_t)head - (8192 - len), "b\n");
    expect_errors(text, "{F}:2: url: URL too long (max 8192 bytes)");
}

static void
test_conf_file_url(void **state)
{
    (void)state;
    struct conf *c = load_ok("[feed \"a\"]\nurl = file://feeds/x.xml\n"
                             "[feed \"b\"]\nurl = file:feeds/./y.xml\n"
                             "[feed \"c\"]\nurl = file:///srv/z.xml\n"
                             "[feed \"d\"]\nurl = file://localhost/srv/w.xml\n"
                             "[feed \"e\"]\nurl = file:/srv/v.xml\n");
    char want[PATH_MAX + 64];
    (void)snprintf(want, sizeof want, "file://%s/feeds/x.xml", g_dir);
    assert_string_equal(conf_feed_find(c, "a")->url, want);
    (void)snprintf(want, sizeof want, "file://%s/feeds/y.xml", g_dir);
    assert_string_equal(conf_feed_find(c, "b")->url, want);
    assert_string_equal(conf_feed_find(c, "c")->url, "file:///srv/z.xml");
    assert_string_equal(conf_feed_find(c, "d")->url, "file:///srv/w.xml");
    assert_string_equal(conf_feed_find(c, "e")->url, "file:///srv/v.xml");
    conf_free(c);
    expect_errors("[feed \"a\"]\nurl = file://\n",
                  "{F}:2: url: invalid file URL 'file://' (needs a path and no blanks)");
}

static void
test_conf_file_url_in_include(void **state)
{
    (void)state;
    make_dir("conf.d");
    write_file("conf.d/a.conf", "[feed \"a\"]\nurl = file:feeds/a.xml\n");
    struct conf *c = load_ok("include = conf.d/*.conf\n");
    char want[PATH_MAX + 64];
    (void)snprintf(want, sizeof want, "file://%s/conf.d/feeds/a.xml", g_dir);
    assert_string_equal(c->feeds[0].url, want);
    (void)snprintf(want, sizeof want, "%s/conf.d/a.conf", g_dir);
    assert_string_equal(c->feeds[0].origin.file, want);
    conf_free(c);
}

static void
test_conf_duplicate_feed(void **state)
{
    (void)state;
    expect_errors("[feed \"x\"]\nurl = https://e.org/1\n\n[feed \"x\"]\nurl = https://e.org/2\n",
                  "{F}:4: feed \"x\": duplicate feed 'x' (first at {F}:1)");
    expect_errors("[topic \"t\"]\nmatch = a\n[topic \"t\"]\nmatch = b\n",
                  "{F}:3: topic \"t\": duplicate topic 't' (first at {F}:1)");
    expect_errors("[hook \"h\"]\nexec = /bin/a\n[hook \"h\"]\nexec = /bin/b\n",
                  "{F}:3: hook \"h\": duplicate hook 'h' (first at {F}:1)");
    /* The same name in different kinds is fine. */
    struct conf *c = load_ok("[feed \"x\"]\nurl = https://e.org/\n[topic \"x\"]\nmatch = a\n"
                             "[hook \"x\"]\nurl = https://e.org/h\n");
    conf_free(c);
}

static void
test_conf_duplicate_feed_across_files(void **state)
{
    (void)state;
    write_file("more.conf", "\n[feed \"x\"]\nurl = https://e.org/2\n");
    expect_errors("[feed \"x\"]\nurl = https://e.org/1\ninclude = more.conf\n",
                  "{D}/more.conf:2: feed \"x\": duplicate feed 'x' (first at {F}:1)");
}

static void
test_conf_duplicate_key(void **state)
{
    (void)state;
    expect_errors("[feed \"x\"]\nurl = https://e.org/1\ninterval = 1h\ninterval = 2h\n",
                  "{F}:4: interval: duplicate key (first at {F}:3)");
    expect_errors("[daemon]\ninterval = 1h\n[feed \"x\"]\nurl = https://e.org/\n[daemon]\n"
                  "interval = 2h\n",
                  "{F}:6: interval: duplicate key (first at {F}:2)");
    /* A bad first value still counts as set. */
    expect_errors("[daemon]\ninterval = bad\ninterval = 1h\n",
                  "{F}:2: interval: invalid duration 'bad' (use e.g. 90s, 15m, 2h, 1d, 1w)\n"
                  "{F}:3: interval: duplicate key (first at {F}:2)");
    /* The same key in two different feeds is fine. */
    struct conf *c = load_ok("[feed \"a\"]\nurl = https://e.org/a\n"
                             "[feed \"b\"]\nurl = https://e.org/b\n");
    conf_free(c);
}

/* `on_update` of a topic, and the item-updated event of hooks. */
static void
test_conf_on_update(void **state)
{
    (void)state;
    struct conf *c = load_ok("[topic \"a\"]\nmatch = x\n[topic \"b\"]\nmatch = y\n"
                             "on_update = alert\nhooks = h\n[topic \"c\"]\nmatch = z\n"
                             "on_update = ignore\n"
                             "[hook \"h\"]\nexec = /bin/true\nevents = alert, item-updated\n");
    assert_false(conf_topic_find(c, "a")->on_update_alert);
    assert_true(conf_topic_find(c, "b")->on_update_alert);
    assert_false(conf_topic_find(c, "c")->on_update_alert);
    const struct conf_hook *h = conf_hook_find(c, "h");
    assert_int_equal(h->events, (1u << CONF_EVENT_ALERT) | (1u << CONF_EVENT_ITEM_UPDATED));
    assert_string_equal(conf_event_name(CONF_EVENT_ITEM_UPDATED), "item-updated");
    assert_false(CONF_EVENTS_FEED & (1u << CONF_EVENT_ITEM_UPDATED));
    conf_free(c);
    expect_errors("[topic \"t\"]\nmatch = a\non_update = Alert\n",
                  "{F}:3: on_update: invalid value 'Alert' (use ignore or alert)");
    expect_errors("[topic \"t\"]\nmatch = a\non_update =\n", "{F}:3: on_update: empty value");
    expect_errors("[hook \"h\"]\nexec = /bin/true\nevents = item-edited\n",
                  "{F}:3: events: unknown event 'item-edited' (alert, item-updated,"
                  " story-source, feed-disabled, feed-moved, feed-recovered, feed-stalled,"
                  " feed-purged, feed-ids-changed)");
}

static void
test_conf_topic_references(void **state)
{
    (void)state;
    expect_errors(
        "[topic \"t\"]\nmatch = a\nhooks = h1, missing\n[hook \"h1\"]\nexec = /bin/true\n",
        "{F}:3: hooks: no [hook \"missing\"] is defined");
    expect_errors("[topic \"t\"]\nmatch = a\n\nfeeds = nofeed\n",
                  "{F}:4: feeds: no [feed \"nofeed\"] is defined");
    /* A feed's hooks must take some feed event, or its events would go nowhere (review20 L2). */
    expect_errors("[feed \"f\"]\nurl = https://x.example/f.xml\nhooks = h\n"
                  "[hook \"h\"]\nexec = /bin/true\n",
                  "{F}:3: hooks: [hook \"h\"] takes no feed event (its events list none of"
                  " feed-disabled, feed-moved, feed-recovered, feed-stalled, feed-purged,"
                  " feed-ids-changed)");
    struct conf *ok = load_ok("[feed \"f\"]\nurl = https://x.example/f.xml\nhooks = h\n"
                              "[hook \"h\"]\nexec = /bin/true\nevents = alert, feed-moved\n");
    assert_int_equal(ok->feeds[0].n_hooks, 1);
    conf_free(ok);
    expect_errors("[topic \"t\"]\nmatch = a\nhooks = ,x\n",
                  "{F}:3: hooks: empty item in list ',x'");
    expect_errors("[topic \"t\"]\nmatch = a\nfeeds = a b\n",
                  "{F}:3: feeds: invalid feed name 'a b' (1-128 characters of A-Z a-z 0-9 . _ -)");
    /* References may point forward, into included files. */
    write_file("hooks.conf", "[hook \"later\"]\nurl = https://e.org/hook\n");
    struct conf *c = load_ok("[topic \"t\"]\nmatch = a\nhooks = later\nfeeds = f1, f2\n"
                             "[feed \"f1\"]\nurl = https://e.org/1\n"
                             "[feed \"f2\"]\nurl = https://e.org/2\n"
                             "include = hooks.conf\n");
    assert_int_equal(c->topics[0].n_feeds, 2);
    assert_string_equal(c->topics[0].feeds[1], "f2");
    assert_int_equal(c->topics[0].n_tags, 0);
    conf_free(c);
    /* tags: any text but commas; they need no feed to carry them. */
    c = load_ok("[topic \"t\"]\nmatch = a\ntags = world,  Ünï news , x/y\n");
    assert_int_equal(c->topics[0].n_tags, 3);
    assert_string_equal(c->topics[0].tags[0], "world");
    assert_string_equal(c->topics[0].tags[1], "Ünï news");
    assert_string_equal(c->topics[0].tags[2], "x/y");
    conf_free(c);
    expect_errors("[topic \"t\"]\nmatch = a\ntags = a,,b\n",
                  "{F}:3: tags: empty item in list 'a,,b'");
    /* The tag rule of feeds/base/feedrule.h, as run-time `add` has it: at most 256 bytes. */
    char tag[300], text[400];
    memset(tag, 't', 256);
    tag[256] = '\0';
    (void)snprintf(text, sizeof text, "[feed \"f\"]\nurl = https://e.org/\ntags = a, %s\n", tag);
    c = load_ok(text);
    assert_int_equal(c->feeds[0].n_tags, 2);
    conf_free(c);
    (void)snprintf(text, sizeof text, "[feed \"f\"]\nurl = https://e.org/\ntags = a, %st\n", tag);
    expect_errors(text, "{F}:3: tags: invalid tag '"
                        "tttttttttttttttttttttttttttttttttttttttt"
                        "tttttttttttttttttttttttttttttttttttttttt...' (at most 256 bytes, no "
                        "control characters)");
}

static void
test_conf_hook_exec_and_url(void **state)
{
    (void)state;
    expect_errors("[hook \"h\"]\nexec = /bin/true\nurl = https://e.org/h\n",
                  "{F}:1: hook \"h\": has both exec and url (exactly one is allowed)");
    expect_errors("[hook \"h\"]\ntimeout = 5s\n", "{F}:1: hook \"h\": missing exec or url");
}

static void
test_conf_unterminated_quote(void **state)
{
    (void)state;
    expect_errors("[hook \"h\"]\nexec = /bin/echo 'abc\n",
                  "{F}:2: exec: unterminated single quote in '/bin/echo 'abc'");
    expect_errors("[hook \"h\"]\nexec = /bin/echo \"abc\\\"\n",
                  "{F}:2: exec: unterminated double quote in '/bin/echo \"abc\\\"'");
    expect_errors("[hook \"h\"]\nexec = /bin/echo abc\\\n",
                  "{F}:2: exec: backslash at the end in '/bin/echo abc\\'");
    expect_errors("[hook \"h\"]\nexec = '' x\n", "{F}:2: exec: empty program name in ''' x'");
    expect_errors("[hook \"h\"]\nexec = \"\"\n", "{F}:2: exec: empty program name in '\"\"'");
}

static void
test_conf_exec_split(void **state)
{
    (void)state;
    static const struct {
        const char *exec;
        const char *argv[8];
    } cases[] = {
        {"/bin/echo a  b\tc", {"/bin/echo", "a", "b", "c", NULL}},
        {"/bin/echo 'a b' \"c d\"", {"/bin/echo", "a b", "c d", NULL}},
        {"/bin/echo \"a\\\"b\" 'x\\y' a\\ b", {"/bin/echo", "a\"b", "x\\y", "a b", NULL}},
        {"/bin/echo \"\\$x \\n \\\\ \\`\"", {"/bin/echo", "$x \\n \\ `", NULL}},
        {"/bin/echo $HOME ~ * `id` $(id)", {"/bin/echo", "$HOME", "~", "*", "`id`", "$(id)", NULL}},
        {"/bin/echo '' \"\" x''y", {"/bin/echo", "", "", "xy", NULL}},
        {"'/bin/my prog' a'b'\"c\"d", {"/bin/my prog", "abcd", NULL}},
        {"/bin/echo \"it's\" 'say \"hi\"'", {"/bin/echo", "it's", "say \"hi\"", NULL}},
        {"/bin/echo a\\'b \\\"", {"/bin/echo", "a'b", "\"", NULL}},
        {"/bin/sh -c x\\;y ';' ", {"/bin/sh", "-c", "x;y", ";", NULL}},
        {"send-alert --x", {"send-alert", "--x", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        (void)snprintf(text, sizeof text, "[hook \"h\"]\nexec = %s\n", cases[i].exec);
        struct conf *c = load_ok(text);
        char **argv = c->hooks[0].exec_argv;
        size_t j = 0;
        for (; cases[i].argv[j]; j++) {
            if (!argv[j] || strcmp(argv[j], cases[i].argv[j]) != 0)
                print_error("case %zu word %zu: got '%s'\n", i, j, argv[j] ? argv[j] : "(null)");
            assert_non_null(argv[j]);
            assert_string_equal(argv[j], cases[i].argv[j]);
        }
        assert_null(argv[j]);
        conf_free(c);
    }
    /* A program path with a slash is relative to the config's folder. */
    struct conf *c = load_ok("[hook \"h\"]\nexec = hooks/log.sh --v\n");
    char want[PATH_MAX + 32];
    (void)snprintf(want, sizeof want, "%s/hooks/log.sh", g_dir);
    assert_string_equal(c->hooks[0].exec_argv[0], want);
    assert_string_equal(c->hooks[0].exec_argv[1], "--v");
    assert_null(c->hooks[0].exec_argv[2]);
    conf_free(c);
}

static void
test_conf_include_glob_order(void **state)
{
    (void)state;
    make_dir("conf.d");
    make_dir("conf.d/sub");
    write_file("conf.d/20-b.conf", "[feed \"b\"]\nurl = https://e.org/b\n");
    write_file("conf.d/10-a.conf", "[feed \"a\"]\nurl = https://e.org/a\n"
                                   "[daemon]\ndatabase = db/fw.db\n");
    write_file("conf.d/30-c.conf", "[feed \"c\"]\nurl = https://e.org/c\ninclude = sub/*.conf\n");
    write_file("conf.d/sub/x.conf", "[topic \"t\"]\nmatch = x\nfeeds = a\n");
    write_file("conf.d/ignored.txt", "garbage\n");
    struct conf *c = load_ok("[feed \"first\"]\nurl = https://e.org/0\n"
                             "include = conf.d/*.conf\n"
                             "interval = 3m\n" /* the feed section goes on after the include */
                             "[feed \"last\"]\nurl = https://e.org/z\n");
    assert_int_equal(c->n_feeds, 5);
    assert_string_equal(c->feeds[0].name, "first");
    assert_int_equal(c->feeds[0].interval_s, 180);
    assert_string_equal(c->feeds[1].name, "a");
    assert_string_equal(c->feeds[2].name, "b");
    assert_string_equal(c->feeds[3].name, "c");
    assert_string_equal(c->feeds[4].name, "last");
    assert_int_equal(c->n_topics, 1);
    char want[PATH_MAX + 32];
    (void)snprintf(want, sizeof want, "%s/conf.d/db/fw.db", g_dir);
    assert_string_equal(c->daemon.database, want);
    (void)snprintf(want, sizeof want, "%s/conf.d/sub/x.conf", g_dir);
    assert_string_equal(c->topics[0].origin.file, want);
    conf_free(c);
}

static void
test_conf_include_no_match(void **state)
{
    (void)state;
    struct conf *c = load_ok("include = conf.d/*.conf\ninclude = /nonexistent-dir-fw/*.conf\n"
                             "[daemon]\ninclude = none-[ab].conf\n");
    assert_int_equal(c->n_feeds, 0);
    conf_free(c);
}

static void
test_conf_include_glob_in_odd_folder(void **state)
{
    (void)state;
    /* The including file's folder is taken literally, even with glob characters in it. */
    make_dir("we[ir]d*");
    make_dir("we[ir]d*/conf.d");
    make_dir("weid*");
    make_dir("weid*/conf.d");
    write_file("we[ir]d*/conf.d/a.conf", "[feed \"right\"]\nurl = https://e.org/\n");
    write_file("weid*/conf.d/a.conf", "[feed \"wrong\"]\nurl = https://e.org/\n");
    write_file("we[ir]d*/main.conf", "include = conf.d/*.conf\n");
    char path[PATH_MAX];
    (void)snprintf(path, sizeof path, "%s/we[ir]d*/main.conf", g_dir);
    struct conf *c = NULL;
    char *err = NULL;
    assert_int_equal(conf_load(path, &c, &err), 0);
    assert_int_equal(c->n_feeds, 1);
    assert_string_equal(c->feeds[0].name, "right");
    conf_free(c);
}

/* Tiny deterministic generator for the garbage test. */
static uint32_t
lcg_next(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void
test_conf_garbage_input(void **state)
{
    (void)state;
    /* Mutations of a valid config never crash, and every error line has the format. */
    static const char alphabet[] = "[]\"'=#;\\ \t\n,:@*?/.-_aZ09\x01\xc3\xa9\xff";
    size_t base_len = strlen(product_example);
    char *text = malloc(base_len + 64);
    assert_non_null(text);
    uint32_t seed = 12345;
    for (int round = 0; round < 400; round++) {
        memcpy(text, product_example, base_len + 1);
        size_t len = base_len;
        int edits = 1 + (int)(lcg_next(&seed) % 8);
        for (int e = 0; e < edits; e++) {
            size_t at = lcg_next(&seed) % len;
            char ch = alphabet[lcg_next(&seed) % (sizeof alphabet - 1)];
            switch (lcg_next(&seed) % 3) {
            case 0:
                text[at] = ch;
                break;
            case 1:
                memmove(text + at, text + at + 1, len - at);
                len--;
                break;
            default:
                if (len < base_len + 60) {
                    memmove(text + at + 1, text + at, len - at + 1);
                    text[at] = ch;
                    len++;
                }
                break;
            }
        }
        text[len] = '\0';
        write_file("feedwatch.conf", text);
        struct conf *c = NULL;
        char *err = NULL;
        int r = conf_load(g_main, &c, &err);
        if (r == 0) {
            assert_non_null(c);
            assert_null(err);
            conf_free(c);
            continue;
        }
        assert_int_equal(r, -EINVAL);
        assert_null(c);
        assert_non_null(err);
        for (char *line = err; line && *line;) {
            char *nl = strchr(line, '\n');
            /* "FILE:LINE: KEY: WHY" with FILE the main file here (no includes resolve). */
            size_t gl = strlen(g_main);
            if (strncmp(line, g_main, gl) == 0 && line[gl] == ':') {
                char *p = line + gl + 1;
                assert_true(*p >= '0' && *p <= '9');
                while (*p >= '0' && *p <= '9')
                    p++;
                assert_true(p[0] == ':' && p[1] == ' ');
                char *sep = strstr(p + 2, ": ");
                assert_non_null(sep);
                assert_true(nl == NULL || sep < nl);
            } else {
                /* An include made of garbage may name another file; it still has the shape. */
                assert_non_null(strstr(line, ": "));
            }
            line = nl ? nl + 1 : NULL;
        }
        free(err);
    }
    free(text);
}

static void
test_conf_include_missing_file(void **state)
{
    (void)state;
    expect_errors("[daemon]\ninclude = extra.conf\n",
                  "{F}:2: include: cannot read '{D}/extra.conf': No such file or directory");
    make_dir("d.conf");
    expect_errors("include = *.conf\n",
                  "{F}:1: include: cannot read '{D}/d.conf': Is a directory\n"
                  "{F}:1: include: '{F}' is already being read (include cycle)");
}

static void
test_conf_include_cycle(void **state)
{
    (void)state;
    write_file("a.conf", "# a\ninclude = b.conf\n");
    write_file("b.conf", "# b\n\ninclude = a.conf\n");
    expect_errors("include = a.conf\n",
                  "{D}/b.conf:3: include: '{D}/a.conf' is already being read (include cycle)");
    expect_errors("[daemon]\ninclude = feedwatch.conf\n",
                  "{F}:2: include: '{F}' is already being read (include cycle)");
    /* The same file twice, not nested, is no cycle (here: nothing but comments). */
    write_file("c.conf", "# c\n");
    struct conf *c = load_ok("include = c.conf\ninclude = c.conf\n");
    conf_free(c);
}

static void
test_conf_include_depth(void **state)
{
    (void)state;
    /* inc1 .. inc8 are nested 8 deep: fine. inc9 is one too many. */
    for (int i = 1; i <= 9; i++) {
        char name[32], text[64];
        (void)snprintf(name, sizeof name, "inc%d.conf", i);
        if (i < 9)
            (void)snprintf(text, sizeof text, "include = inc%d.conf\n", i + 1);
        else
            (void)snprintf(text, sizeof text, "[feed \"deep\"]\nurl = https://e.org/\n");
        write_file(name, text);
    }
    expect_errors("include = inc1.conf\n",
                  "{D}/inc8.conf:1: include: includes nested too deeply (max 8 levels)");
    write_file("inc8.conf", "[feed \"deep\"]\nurl = https://e.org/\n");
    struct conf *c = load_ok("include = inc1.conf\n");
    assert_non_null(conf_feed_find(c, "deep"));
    conf_free(c);
}

static void
test_conf_errors_in_included_file(void **state)
{
    (void)state;
    write_file("x.conf", "[daemon]\n\nmax_hooks = 0\n");
    expect_errors("include = x.conf\n[daemon]\ninterval = nope\n",
                  "{D}/x.conf:3: max_hooks: '0' is out of range (1..256)\n"
                  "{F}:3: interval: invalid duration 'nope' (use e.g. 90s, 15m, 2h, 1d, 1w)");
}

static void
test_conf_long_line(void **state)
{
    (void)state;
    size_t n = 70000;
    char *text = malloc(n + 64);
    assert_non_null(text);
    int w = snprintf(text, n + 64, "[daemon]\nuser_agent = ");
    memset(text + w, 'a', n);
    memcpy(text + w + n, "\ninterval = zz\n", 16);
    expect_errors(text, "{F}:2: line: too long (max 65536 bytes)\n"
                        "{F}:3: interval: invalid duration 'zz' (use e.g. 90s, 15m, 2h, 1d, 1w)");
    /* Just under the line limit is read (and the value is over the string limit). */
    w = snprintf(text, n + 64, "[daemon]\nuser_agent = ");
    memset(text + w, 'a', 65536 - (size_t)w);
    memcpy(text + 65536, "\n", 2);
    expect_errors(text, "{F}:2: user_agent: value too long (max 4096 bytes)");
    free(text);
}

static void
test_conf_bad_bytes(void **state)
{
    (void)state;
    expect_errors("[daemon]\nuser_agent = a\x01z\n",
                  "{F}:2: line: control character 0x01 at byte 15");
    expect_errors("[daemon]\nuser_agent = a\xff\n", "{F}:2: line: invalid UTF-8 at byte 15");
    expect_errors("[daemon]\nuser_agent = \xed\xa0\x80\n", "{F}:2: line: invalid UTF-8 at byte 14");
    write_file("feedwatch.conf", "[daemon]\n");
    /* A NUL byte is a control character too. */
    FILE *f = fopen(g_main, "w");
    assert_non_null(f);
    assert_int_equal(fwrite("[daemon]\nx\0y = 1\n", 1, 17, f), 17);
    assert_int_equal(fclose(f), 0);
    struct conf *c = NULL;
    char *err = NULL;
    assert_int_equal(conf_load(g_main, &c, &err), -EINVAL);
    char *want = subst("{F}:2: line: control character 0x00 at byte 2");
    assert_string_equal(err, want);
    free(want);
    free(err);
}

static void
test_conf_bad_section_header(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"[feed \"x\"\n", "{F}:1: section: expected ']' to close the section header"},
        {"[feed \"x\n", "{F}:1: section: unterminated name in section header"},
        {"[feed x]\n", "{F}:1: section: expected '\"name\"' or ']' after 'feed'"},
        {"[feed]\n", "{F}:1: section: [feed] needs a name in double quotes, e.g. [feed \"x\"]"},
        {"[hook]\n", "{F}:1: section: [hook] needs a name in double quotes, e.g. [hook \"x\"]"},
        {"[daemon \"x\"]\n", "{F}:1: section: [daemon] takes no name"},
        {"[]\n", "{F}:1: section: expected a section kind after '['"},
        {"[daemon] junk\n", "{F}:1: section: unexpected text after ']'"},
        {"[daemon\n", "{F}:1: section: expected ']' to close the section header"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_errors(cases[i].text, cases[i].want);
    /* Keys under a broken header are skipped, not reported as well. */
    expect_errors("[feed x]\nurl = ftp://bad\nnonsense = 1\n[daemon]\ninterval = 1h\n",
                  "{F}:1: section: expected '\"name\"' or ']' after 'feed'");
    struct conf *c = load_ok("[ feed   \"spaced\" ]\nurl = https://e.org/\n");
    assert_non_null(conf_feed_find(c, "spaced"));
    conf_free(c);
}

static void
test_conf_bad_name(void **state)
{
    (void)state;
    expect_errors(
        "[feed \"a b\"]\nurl = https://e.org/\n",
        "{F}:1: section: invalid feed name 'a b' (1-128 characters of A-Z a-z 0-9 . _ -)");
    expect_errors("[topic \"\"]\nmatch = a\n",
                  "{F}:1: section: invalid topic name '' (1-128 characters of A-Z a-z 0-9 . _ -)");
    expect_errors("[hook \"a/b\"]\nexec = /bin/true\n",
                  "{F}:1: section: invalid hook name 'a/b' (1-128 characters of A-Z a-z 0-9 . _ "
                  "-)");
    /* The feed name rule of feeds/base/feedrule.h, as run-time `add` has it: 128, not 129. */
    char name129[130];
    memset(name129, 'n', 129);
    name129[129] = '\0';
    char text[256], want[256];
    (void)snprintf(text, sizeof text, "[feed \"%s\"]\nurl = https://e.org/\n", name129);
    (void)snprintf(want, sizeof want,
                   "{F}:1: section: invalid feed name '%.80s...' (1-128 characters of A-Z a-z 0-9 "
                   ". _ -)",
                   name129);
    expect_errors(text, want);
    name129[128] = '\0';
    (void)snprintf(text, sizeof text, "[feed \"%s\"]\nurl = https://e.org/\n", name129);
    struct conf *c = load_ok(text);
    assert_non_null(conf_feed_find(c, name129));
    conf_free(c);
    c = load_ok("[feed \"A.b_c-9\"]\nurl = https://e.org/\n");
    conf_free(c);
}

static void
test_conf_errors_accumulate(void **state)
{
    (void)state;
    expect_errors("[daemon]\n"
                  "interval = soon\n"
                  "\n"
                  "max_hooks = 1000\n"
                  "[feed \"ok\"]\n"
                  "url = https://e.org/\n"
                  "colour = red\n"
                  "[feed \"nourl\"]\n",
                  "{F}:2: interval: invalid duration 'soon' (use e.g. 90s, 15m, 2h, 1d, 1w)\n"
                  "{F}:4: max_hooks: '1000' is out of range (1..256)\n"
                  "{F}:7: colour: unknown key in [feed \"ok\"]\n"
                  "{F}:8: feed \"nourl\": missing url");
}

static void
test_conf_error_cap(void **state)
{
    (void)state;
    size_t cap = 150 * 32 + 16;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t o = (size_t)snprintf(text, cap, "[daemon]\n");
    for (int i = 0; i < 150; i++)
        o += (size_t)snprintf(text + o, cap - o, "bad%d = 1\n", i);
    char *err = load_fail(text);
    size_t lines = 1;
    for (const char *s = err; *s; s++)
        lines += *s == '\n';
    assert_int_equal(lines, 101);
    char *want = subst("{F}:102: config: too many errors, stopped after 100");
    const char *last = strrchr(err, '\n');
    assert_non_null(last);
    assert_string_equal(last + 1, want);
    free(want);
    free(err);
    free(text);
}

static void
test_conf_relative_paths(void **state)
{
    (void)state;
    make_dir("secrets");
    make_dir("sub");
    write_file("secrets/pass", "hunter2\n");
    write_file("sub/hook.key", "k\n");
    write_file("sub/more.conf", "[hook \"w\"]\nurl = https://e.org/w\nsecret_file = hook.key\n");
    struct conf *c = load_ok("[daemon]\ndatabase = data/../fw.db\nsocket = run//fw.sock\n"
                             "[feed \"a\"]\nurl = https://e.org/\nuser = reader\n"
                             "password_file = secrets/pass\n"
                             "include = sub/more.conf\n");
    char want[PATH_MAX + 32];
    (void)snprintf(want, sizeof want, "%s/data/../fw.db", g_dir);
    assert_string_equal(c->daemon.database, want);
    (void)snprintf(want, sizeof want, "%s/run/fw.sock", g_dir);
    assert_string_equal(c->daemon.socket, want);
    const struct conf_feed *f = conf_feed_find(c, "a");
    assert_string_equal(f->user, "reader");
    (void)snprintf(want, sizeof want, "%s/secrets/pass", g_dir);
    assert_string_equal(f->password_file, want);
    (void)snprintf(want, sizeof want, "%s/sub/hook.key", g_dir);
    assert_string_equal(conf_hook_find(c, "w")->secret_file, want);
    conf_free(c);

    expect_errors("[feed \"a\"]\nurl = https://e.org/\npassword_file = nope.pass\n",
                  "{F}:3: password_file: cannot read '{D}/nope.pass': No such file or directory");
    expect_errors("[hook \"h\"]\nurl = https://e.org/\nsecret_file = secrets\n",
                  "{F}:3: secret_file: cannot read '{D}/secrets': Is a directory");
    expect_errors("[feed \"a\"]\nurl = https://e.org/\nuser = a:b\n",
                  "{F}:3: user: a user name cannot contain ':'");
}

static void
test_conf_socket_path_too_long(void **state)
{
    (void)state;
    char text[512];
    char longname[120];
    memset(longname, 's', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    (void)snprintf(text, sizeof text, "[daemon]\nsocket = /run/%s\n", longname);
    expect_error_part(text, "{F}:2: socket: path too long for a Unix socket (max 107 bytes)");
}

static void
test_conf_header_file(void **state)
{
    (void)state;
    make_dir("keys");
    write_file("keys/api.key", "s3cr#t value\n");
    write_file("keys/crlf.key", "v\r\n");
    write_file("keys/two.key", "line1\nline2\n");
    write_file("keys/empty.key", "");
    struct conf *c =
        load_ok("[feed \"a\"]\nurl = https://e.org/\nheader = X-Api-Key: @keys/api.key\n"
                "[feed \"b\"]\nurl = https://e.org/\nheader = X-T:@keys/crlf.key\n"
                "[feed \"c\"]\nurl = https://e.org/\nheader = Accept : text/xml\n");
    assert_string_equal(conf_feed_find(c, "a")->header, "X-Api-Key: s3cr#t value");
    assert_string_equal(conf_feed_find(c, "b")->header, "X-T: v");
    assert_string_equal(conf_feed_find(c, "c")->header, "Accept: text/xml");
    conf_free(c);

    expect_errors("[feed \"a\"]\nurl = https://e.org/\nheader = X-K: @keys/none.key\n",
                  "{F}:3: header: cannot read '{D}/keys/none.key': No such file or directory");
    expect_errors("[feed \"a\"]\nurl = https://e.org/\nheader = X-K: @keys/two.key\n",
                  "{F}:3: header: '{D}/keys/two.key' must hold one non-empty line of text");
    expect_errors("[feed \"a\"]\nurl = https://e.org/\nheader = X-K: @keys/empty.key\n",
                  "{F}:3: header: '{D}/keys/empty.key' must hold one non-empty line of text");
    expect_errors("[feed \"a\"]\nurl = https://e.org/\nheader = X-K: @\n",
                  "{F}:3: header: '@' needs a file name");
    expect_errors("[feed \"a\"]\nurl = https://e.org/\nheader = no colon\n",
                  "{F}:3: header: expected 'Name: value', got 'no colon'");
    expect_errors("[feed \"a\"]\nurl = https://e.org/\nheader = Bad Name: v\n",
                  "{F}:3: header: expected 'Name: value', got 'Bad Name: v'");
    expect_errors("[feed \"a\"]\nurl = https://e.org/\nheader = X-Empty:\n",
                  "{F}:3: header: empty header value in 'X-Empty:'");

    char big[9000];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    write_file("keys/big.key", big);
    expect_errors("[feed \"a\"]\nurl = https://e.org/\nheader = X-K: @keys/big.key\n",
                  "{F}:3: header: cannot read '{D}/keys/big.key': file too large (max 8192 "
                  "bytes)");
}

static void
test_conf_tags(void **state)
{
    (void)state;
    struct conf *c = load_ok("[feed \"a\"]\nurl = https://e.org/\ntags =  x ,y y,z\n");
    const struct conf_feed *f = conf_feed_find(c, "a");
    assert_int_equal(f->n_tags, 3);
    assert_string_equal(f->tags[0], "x");
    assert_string_equal(f->tags[1], "y y");
    assert_string_equal(f->tags[2], "z");
    conf_free(c);
    expect_errors("[feed \"a\"]\nurl = https://e.org/\ntags = a,, b\n",
                  "{F}:3: tags: empty item in list 'a,, b'");
    expect_errors("[feed \"a\"]\nurl = https://e.org/\ntags = a,\n",
                  "{F}:3: tags: empty item in list 'a,'");
}

static void
test_conf_parse_duration(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int r;
        uint64_t v;
    } cases[] = {
        {"90s", 0, 90},
        {"15m", 0, 900},
        {"2h", 0, 7200},
        {"1d", 0, 86400},
        {"1w", 0, 604800},
        {"42", 0, 42},
        {"0", 0, 0},
        {"007m", 0, 420},
        {"18446744073709551615", 0, UINT64_MAX},
        {"18446744073709551616", -ERANGE, 0},
        {"30500568904944w", -ERANGE, 0},
        {"30500568904943w", 0, 30500568904943ull * 604800},
        {"30500568904943d", 0, 30500568904943ull * 86400},
        {"", -EINVAL, 0},
        {"5x", -EINVAL, 0},
        {"-1", -EINVAL, 0},
        {"+1", -EINVAL, 0},
        {"1.5h", -EINVAL, 0},
        {"h", -EINVAL, 0},
        {"1hh", -EINVAL, 0},
        {"1 h", -EINVAL, 0},
        {" 1h", -EINVAL, 0},
        {"1H", -EINVAL, 0},
        {"1m30s", -EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 12345;
        int r = conf_parse_duration(cases[i].s, &v);
        if (r != cases[i].r)
            print_error("'%s': got %d\n", cases[i].s, r);
        assert_int_equal(r, cases[i].r);
        assert_int_equal(v, r == 0 ? cases[i].v : 12345);
    }
    uint64_t v;
    assert_int_equal(conf_parse_duration(NULL, &v), -EINVAL);
}

static void
test_conf_parse_size(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int r;
        uint64_t v;
    } cases[] = {
        {"512", 0, 512},
        {"512b", 0, 512},
        {"512k", 0, 512 * 1024},
        {"512K", 0, 512 * 1024},
        {"1kb", 0, 1024},
        {"8M", 0, 8 * 1024 * 1024},
        {"8MB", 0, 8 * 1024 * 1024},
        {"8MiB", 0, 8 * 1024 * 1024},
        {"8mib", 0, 8 * 1024 * 1024},
        {"1G", 0, 1024ull * 1024 * 1024},
        {"1GiB", 0, 1024ull * 1024 * 1024},
        {"2t", 0, 2ull << 40},
        {"0", 0, 0},
        {"16777215T", 0, 16777215ull << 40},
        {"16777216T", -ERANGE, 0},
        {"99999999999999999999", -ERANGE, 0},
        {"", -EINVAL, 0},
        {"M", -EINVAL, 0},
        {"8X", -EINVAL, 0},
        {"8 M", -EINVAL, 0},
        {"8Mi", -EINVAL, 0},
        {"8MBB", -EINVAL, 0},
        {"-8M", -EINVAL, 0},
        {"1.5M", -EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 12345;
        int r = conf_parse_size(cases[i].s, &v);
        if (r != cases[i].r)
            print_error("'%s': got %d\n", cases[i].s, r);
        assert_int_equal(r, cases[i].r);
        assert_int_equal(v, r == 0 ? cases[i].v : 12345);
    }
}

static void
test_conf_parse_bool(void **state)
{
    (void)state;
    static const char *const yes[] = {"yes", "true", "on", "1", "YES", "True", "ON"};
    static const char *const no[] = {"no", "false", "off", "0", "No", "FALSE", "Off"};
    static const char *const bad[] = {"", "y", "n", "2", "yes ", "enabled", "nope"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        bool b = false;
        assert_int_equal(conf_parse_bool(yes[i], &b), 0);
        assert_true(b);
        b = true;
        assert_int_equal(conf_parse_bool(no[i], &b), 0);
        assert_false(b);
        b = true;
        assert_int_equal(conf_parse_bool(bad[i], &b), -EINVAL);
        assert_true(b);
    }
    bool b;
    assert_int_equal(conf_parse_bool(NULL, &b), -EINVAL);
}

static void
test_conf_feed_changed(void **state)
{
    (void)state;
    write_file("p1", "x\n");
    write_file("p2", "y\n");
    static const char base[] = "[feed \"f\"]\nurl = https://e.org/\ninterval = 5m\n"
                               "tags = a, b\nheader = X: 1\nuser = u\npassword_file = p1\n";
    struct conf *a = load_ok(base);
    static const char *const variants[] = {
        "url = https://e.org/other\n",
        "interval = 6m\n",
        "tags = a\n",
        "tags = a, c\n",
        "header = X: 2\n",
        "user = v\n",
        "password_file = p2\n",
        "fetch_article = yes\n",
        "enabled = no\n",
    };
    /* Each variant changes one key of base (a later duplicate would be an error). */
    static const char *const keys[] = {"url",  "interval",      "tags", "tags", "header",
                                       "user", "password_file", NULL,   NULL};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        char text[512] = "";
        size_t o = 0;
        const char *s = base;
        while (*s) {
            const char *nl = strchr(s, '\n');
            size_t len = (size_t)(nl - s) + 1;
            if (!(keys[i] && strncmp(s, keys[i], strlen(keys[i])) == 0 &&
                  s[strlen(keys[i])] == ' ')) {
                memcpy(text + o, s, len);
                o += len;
            }
            s += len;
        }
        memcpy(text + o, variants[i], strlen(variants[i]) + 1);
        struct conf *b = load_ok(text);
        if (!conf_feed_changed(&a->feeds[0], &b->feeds[0]))
            print_error("variant %zu not seen as a change\n", i);
        assert_true(conf_feed_changed(&a->feeds[0], &b->feeds[0]));
        assert_true(conf_feed_changed(&b->feeds[0], &a->feeds[0]));
        conf_free(b);
    }
    /* The same settings under another name, or interval written differently: no change. */
    struct conf *b = load_ok("[daemon]\ninterval = 5m\n[feed \"g\"]\nurl = https://e.org/\n"
                             "tags = a,b\nheader = X:   1\nuser = u\npassword_file = ./p1\n");
    assert_false(conf_feed_changed(&a->feeds[0], &b->feeds[0]));
    assert_false(conf_feed_changed(&a->feeds[0], &a->feeds[0]));
    conf_free(b);
    b = load_ok("[feed \"f\"]\nurl = https://e.org/\ninterval = 5m\ntags = a, b\nheader = X: 1\n"
                "user = u\n");
    assert_true(conf_feed_changed(&a->feeds[0], &b->feeds[0]));
    conf_free(b);
    conf_free(a);
}

/* allow_private_addresses and the article budgets (issue 14). */
static void
test_conf_network_policy(void **state)
{
    (void)state;
    struct conf *c = load_ok("[feed \"a\"]\nurl = https://e.org/a\n");
    assert_false(c->daemon.allow_private_addresses);
    assert_false(conf_feed_find(c, "a")->allow_private_addresses);
    assert_int_equal(c->daemon.max_articles_per_poll, 50);
    assert_int_equal(c->daemon.max_article_size, 2ull * 1024 * 1024);
    assert_int_equal(c->daemon.max_article_memory, 64ull * 1024 * 1024);
    conf_free(c);

    /* [daemon] sets every feed's default, wherever it stands; a feed's own value wins. */
    c = load_ok("[feed \"a\"]\nurl = https://e.org/a\n"
                "[feed \"b\"]\nurl = https://e.org/b\nallow_private_addresses = no\n"
                "[daemon]\nallow_private_addresses = yes\nmax_articles_per_poll = 7\n"
                "max_article_size = 512k\nmax_article_memory = 1M\n");
    assert_true(c->daemon.allow_private_addresses);
    assert_true(conf_feed_find(c, "a")->allow_private_addresses);
    assert_false(conf_feed_find(c, "b")->allow_private_addresses);
    assert_int_equal(c->daemon.max_articles_per_poll, 7);
    assert_int_equal(c->daemon.max_article_size, 512 * 1024);
    assert_int_equal(c->daemon.max_article_memory, 1024 * 1024);
    conf_free(c);
    c = load_ok("[feed \"a\"]\nurl = http://intranet/a\nallow_private_addresses = yes\n");
    assert_false(c->daemon.allow_private_addresses);
    assert_true(conf_feed_find(c, "a")->allow_private_addresses);
    conf_free(c);

    /* A reload that changes the policy of a feed changes the feed. */
    struct conf *a = load_ok("[feed \"x\"]\nurl = https://e.org/x\n");
    struct conf *b = load_ok("[daemon]\nallow_private_addresses = on\n"
                             "[feed \"x\"]\nurl = https://e.org/x\n");
    assert_true(conf_feed_changed(&a->feeds[0], &b->feeds[0]));
    conf_free(b);
    conf_free(a);

    expect_errors("[feed \"x\"]\nurl = https://e.org/x\nallow_private_addresses = maybe\n",
                  "{F}:3: allow_private_addresses: invalid boolean 'maybe' (use yes or no)");
    expect_errors("[daemon]\nmax_articles_per_poll = 0\n",
                  "{F}:2: max_articles_per_poll: '0' is out of range (1..100000)");
    expect_errors("[daemon]\nmax_article_size = 2G\n",
                  "{F}:2: max_article_size: '2G' is out of range (1k..1G)");
    expect_errors("[daemon]\nmax_article_memory = 1M\n",
                  "{F}:2: max_article_memory: max_article_memory (1048576 bytes) is less than "
                  "max_article_size (2097152 bytes)");
    expect_errors("[daemon]\nmax_article_size = 100M\n",
                  "{F}:2: max_article_size: max_article_memory (67108864 bytes) is less than "
                  "max_article_size (104857600 bytes)");
}

/* max_poll_memory: its default follows max_feed_size; a set value holds one document at least. */
static void
test_conf_poll_memory(void **state)
{
    (void)state;
    struct conf *c = load_ok("[feed \"a\"]\nurl = https://e.org/a\n");
    assert_int_equal(c->daemon.max_poll_memory, 16ull * 8 * 1024 * 1024);
    conf_free(c);
    c = load_ok("[daemon]\nmax_feed_size = 64M\n");
    assert_int_equal(c->daemon.max_poll_memory, 1024ull * 1024 * 1024);
    conf_free(c);
    c = load_ok("[daemon]\nmax_feed_size = 100k\n");
    assert_int_equal(c->daemon.max_poll_memory, CONF_POLL_MEMORY_MIN);
    conf_free(c);
    /* Set, it stays as set, wherever [daemon] puts max_feed_size. */
    c = load_ok("[daemon]\nmax_poll_memory = 3M\nmax_feed_size = 1M\n");
    assert_int_equal(c->daemon.max_poll_memory, 3ull * 1024 * 1024);
    conf_free(c);
    expect_errors("[daemon]\nmax_poll_memory = 1M\n",
                  "{F}:2: max_poll_memory: max_poll_memory (1048576 bytes) is less than "
                  "max_feed_size (8388608 bytes)");
    expect_errors("[daemon]\nmax_poll_memory = 12\n",
                  "{F}:2: max_poll_memory: '12' is out of range (1k..1T)");
}

static void
test_conf_installed(void **state)
{
    (void)state;
    const char *path = FW_FIXTURES "/../../config/feedwatch.conf.installed";
    struct conf *c = NULL;
    char *err = NULL;
    int r = conf_load(path, &c, &err);
    if (r != 0)
        print_error("%s\n", err);
    assert_int_equal(r, 0);
    assert_string_equal(c->daemon.database, "/var/lib/feedwatch/feedwatch.db");
    assert_string_equal(c->daemon.socket, "/run/feedwatch/feedwatch.sock");
    assert_int_equal(c->n_topics, 2);
    const struct conf_topic *t = conf_topic_find(c, "osce");
    assert_non_null(t);
    assert_string_equal(t->match, "OSCE OR OVSE OR OSZE OR ОБСЕ OR \"Organization for Security "
                                  "and Co-operation in Europe\"");
    assert_int_equal(t->n_hooks, 0);
    t = conf_topic_find(c, "ukraine-border");
    assert_non_null(t);
    assert_string_equal(t->match,
                        "\"ukraine border\"~4 OR \"oekraïne grens\"~4 OR \"ukraine biên giới\"~6");
    conf_free(c);
}

static void
test_conf_free_null(void **state)
{
    (void)state;
    conf_free(NULL);
    assert_false(conf_feed_changed(NULL, NULL));
}

/* Every key the reader accepts is documented in feedwatch.conf(5), under its section. */
/* [alias "NAME"] names = A, B, "C D": quoted names may hold commas; names is required. */
static void
test_conf_alias_sections(void **state)
{
    (void)state;
    struct conf *c = load_ok("[alias \"osce\"]\n"
                             "names = OSCE, OVSE ,ОБСЕ, \"Organization for Security and "
                             "Co-operation in Europe\", \"a, b\"\n"
                             "[alias \"acme\"]\nnames = ACME\n"
                             "[topic \"t\"]\nmatch = alias:osce\n");
    assert_int_equal(c->n_aliases, 2);
    assert_string_equal(c->aliases[0].name, "osce");
    assert_int_equal(c->aliases[0].n_names, 5);
    assert_string_equal(c->aliases[0].names[0], "OSCE");
    assert_string_equal(c->aliases[0].names[1], "OVSE");
    assert_string_equal(c->aliases[0].names[2], "ОБСЕ");
    assert_string_equal(c->aliases[0].names[3],
                        "Organization for Security and Co-operation in Europe");
    assert_string_equal(c->aliases[0].names[4], "a, b");
    assert_int_equal(c->aliases[1].n_names, 1);
    assert_int_equal(c->aliases[1].origin.line, 3);
    conf_free(c);
    expect_errors("[alias \"x\"]\n", "{F}:1: alias \"x\": missing names");
    expect_errors("[alias \"x\"]\nnames = a,,b\n", "{F}:2: names: empty name in list 'a,,b'");
    expect_errors("[alias \"x\"]\nnames = \"a\n", "{F}:2: names: unterminated quote in '\"a'");
    expect_errors("[alias \"x\"]\nnames = \"a\" b\n",
                  "{F}:2: names: expected ',' after a quoted name in '\"a\" b'");
    expect_errors("[alias \"x\"]\nnames = a\nmatch = b\n",
                  "{F}:3: match: unknown key in [alias \"x\"]");
    expect_errors("[alias \"x\"]\nnames = a\n[alias \"x\"]\nnames = b\n",
                  "{F}:3: alias \"x\": duplicate alias 'x' (first at {F}:1)");
}

/* The CLI reads [alias] sections and the socket, nothing else (no secret is opened). */
static void
test_conf_load_aliases_for_the_cli(void **state)
{
    (void)state;
    write_file("feedwatch.conf", "[daemon]\nsocket = /run/x.sock\nbogus = 1\n"
                                 "[feed \"f\"]\nurl = not a url\npassword_file = /nonexistent\n"
                                 "[alias \"acme\"]\nnames = ACME Corp, \"Acme, Inc.\"\n"
                                 "[topic \"t\"]\nmatch = (\n");
    struct conf *c = NULL;
    char *err = NULL;
    assert_int_equal(conf_load_aliases(g_main, &c, &err), 0);
    assert_null(err);
    assert_string_equal(c->daemon.socket, "/run/x.sock");
    assert_int_equal(c->n_aliases, 1);
    assert_int_equal(c->aliases[0].n_names, 2);
    assert_string_equal(c->aliases[0].names[1], "Acme, Inc.");
    assert_int_equal(c->n_feeds, 0);
    conf_free(c);
    write_file("feedwatch.conf", "[alias \"acme\"]\nnames = \"ACME\n");
    assert_int_equal(conf_load_aliases(g_main, &c, &err), -EINVAL);
    assert_non_null(err);
    assert_non_null(strstr(err, ":2: names: unterminated quote"));
    free(err);
}

static void
test_conf_keys_in_man_page(void **state)
{
    (void)state;
    FILE *f = fopen(FW_SOURCE_DIR "/docs/man/feedwatch.conf.5.scd", "r");
    if (!f)
        fail_msg("cannot open %s: %s", FW_SOURCE_DIR "/docs/man/feedwatch.conf.5.scd",
                 strerror(errno));
    char *page = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&page, &len);
    assert_non_null(mem);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(fwrite(chunk, 1, n, mem), n);
    (void)fclose(f);
    assert_int_equal(fclose(mem), 0);

    static const char *const kinds[] = {"daemon", "feed", "topic", "hook", "alias"};
    size_t missing = 0;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        char head[64];
        (void)snprintf(head, sizeof(head), "\n# [%s", kinds[k]);
        const char *sec = strstr(page, head);
        if (!sec)
            fail_msg("feedwatch.conf(5) has no section %s", head + 1);
        const char *end = strstr(sec + 1, "\n# ");
        size_t sec_len = end ? (size_t)(end - sec) : strlen(sec);
        const char *const *keys = conf_section_keys(kinds[k]);
        assert_non_null(keys);
        for (size_t i = 0; keys[i]; i++) {
            char want[96];
            (void)snprintf(want, sizeof(want), "\n*%s* =", keys[i]);
            bool found = memmem(sec, sec_len, want, strlen(want)) != NULL;
            if (!found) {
                /* two keys on one line: "*min_interval* = _D_, *max_interval* = _D_" */
                (void)snprintf(want, sizeof(want), ", *%s* =", keys[i]);
                found = memmem(sec, sec_len, want, strlen(want)) != NULL;
            }
            if (!found) {
                print_error("[%s] %s is not in docs/man/feedwatch.conf.5.scd\n", kinds[k], keys[i]);
                missing++;
            }
        }
    }
    assert_null(conf_section_keys("nosuch"));
    free(page);
    assert_int_equal(missing, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_conf_defaults),
        T(test_conf_product_example),
        T(test_conf_database_connection_string),
        T(test_conf_daemon_after_feeds),
        T(test_conf_daemon_twice),
        T(test_conf_all_daemon_keys),
        T(test_conf_comments),
        T(test_conf_comment_value_cut),
        T(test_conf_crlf_and_bom),
        T(test_conf_error_format_relative_path),
        T(test_conf_main_file_missing),
        T(test_conf_hook_env),
        T(test_conf_unknown_section),
        T(test_conf_unknown_key),
        T(test_conf_key_outside_section),
        T(test_conf_syntax_errors),
        T(test_conf_bad_duration),
        T(test_conf_bounded_windows),
        T(test_conf_bad_size),
        T(test_conf_bad_bool),
        T(test_conf_out_of_range),
        T(test_conf_min_above_max),
        T(test_conf_missing_url),
        T(test_conf_bad_url_scheme),
        T(test_conf_file_url),
        T(test_conf_file_url_in_include),
        T(test_conf_duplicate_feed),
        T(test_conf_duplicate_feed_across_files),
        T(test_conf_duplicate_key),
        T(test_conf_topic_references),
        T(test_conf_on_update),
        T(test_conf_hook_exec_and_url),
        T(test_conf_unterminated_quote),
        T(test_conf_exec_split),
        T(test_conf_include_glob_order),
        T(test_conf_include_no_match),
        T(test_conf_include_glob_in_odd_folder),
        T(test_conf_include_missing_file),
        T(test_conf_include_cycle),
        T(test_conf_include_depth),
        T(test_conf_errors_in_included_file),
        T(test_conf_long_line),
        T(test_conf_bad_bytes),
        T(test_conf_bad_section_header),
        T(test_conf_bad_name),
        T(test_conf_errors_accumulate),
        T(test_conf_error_cap),
        T(test_conf_relative_paths),
        T(test_conf_socket_path_too_long),
        T(test_conf_header_file),
        T(test_conf_tags),
        T(test_conf_parse_duration),
        T(test_conf_parse_size),
        T(test_conf_parse_bool),
        T(test_conf_feed_changed),
        T(test_conf_network_policy),
        T(test_conf_poll_memory),
        T(test_conf_installed),
        T(test_conf_garbage_input),
        T(test_conf_free_null),
        T(test_conf_keys_in_man_page),
        T(test_conf_alias_sections),
        T(test_conf_load_aliases_for_the_cli),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
