/*
 * Unit tests for url_redact (feeds/url.c): the userinfo of a URL's authority never shows,
 * whatever else the string holds; everything else is kept byte for byte. And url_brief,
 * url_brief_text: what the control socket's group sees of a feed's URL (scheme and host);
 * url_shows_feed, url_item_brief: what it sees of an item's URL made from its feed's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/url.h"

static void
expect_redacted(const char *url, const char *want)
{
    char *got = url_redact(url);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("url_redact(%s) = %s, want %s", url, got, want);
    free(got);
}

static void
test_url_redact(void **state)
{
    (void)state;
    expect_redacted("https://user:s3cret@feeds.example.org/news.xml",
                    "https://***@feeds.example.org/news.xml");
    expect_redacted("http://token@example.org:8080/x?a=b@c#d@e",
                    "http://***@example.org:8080/x?a=b@c#d@e");
    expect_redacted("https://a:b@c@host.example/", "https://***@host.example/");
    expect_redacted("HTTP://u:p@[::1]:80/", "HTTP://***@[::1]:80/");
    expect_redacted("https://u:p@host", "https://***@host");
    expect_redacted("//u:p@host/x", "//***@host/x");
    /* nothing to hide: unchanged */
    expect_redacted("https://feeds.example.org/a@b", "https://feeds.example.org/a@b");
    expect_redacted("https://feeds.example.org/?mail=a@b", "https://feeds.example.org/?mail=a@b");
    /* secret query parameters: their values go, names and the rest stay */
    expect_redacted("http://u:p@h/feed.xml?token=QUERYTOKEN", "http://***@h/feed.xml?token=***");
    expect_redacted("https://h/f?a=1&Access_Token=x&b=2;api_key=y#frag",
                    "https://h/f?a=1&Access_Token=***&b=2;api_key=***#frag");
    expect_redacted("https://h/f?X-Api-Key=k&apiKey=k&accessToken=t&client_secret=s&sig=z",
                    "https://h/f?X-Api-Key=***&apiKey=***&accessToken=***&client_secret=***"
                    "&sig=***");
    expect_redacted("https://h/f?KEY=1&Password=2&passwd=3&pass=4&auth=5&signature=6"
                    "&session=7&sid=8&secret=9&apikey=a",
                    "https://h/f?KEY=***&Password=***&passwd=***&pass=***&auth=***"
                    "&signature=***&session=***&sid=***&secret=***&apikey=***");
    expect_redacted("https://h/f?x-amz-signature=abc&X-Amz-Date=1",
                    "https://h/f?x-amz-signature=***&X-Amz-Date=1");
    expect_redacted("https://h/f?api%5Fkey=v&%74oken=v", "https://h/f?api%5Fkey=***&%74oken=***");
    expect_redacted("https://h/f#access_token=t&state=s", "https://h/f#access_token=***&state=s");
    /* not secrets: other words that end alike, empty values, names alone */
    expect_redacted("https://h/f?monkey=1&bypass=2&keyword=3&tokens=4&inside=5",
                    "https://h/f?monkey=1&bypass=2&keyword=3&tokens=4&inside=5");
    expect_redacted("https://h/f?token=&token&q=a=b", "https://h/f?token=&token&q=a=b");
    expect_redacted("https://h/p?a@b=c?token=x", "https://h/p?a@b=c?token=x");
    expect_redacted("file:///var/lib/feeds/a@b.xml", "file:///var/lib/feeds/a@b.xml");
    expect_redacted("mailto:a@b.example", "mailto:a@b.example");
    expect_redacted("", "");
    expect_redacted("not a url @ all", "not a url @ all");
    assert_null(url_redact(NULL));
    /* the password never survives, whatever it holds */
    char *r = url_redact("https://reader:hunter2%40x@e.org/");
    assert_null(strstr(r, "hunter2"));
    assert_null(strstr(r, "reader"));
    free(r);
    r = url_redact("https://h/f?a=1&token=hunter2&b=2");
    assert_null(strstr(r, "hunter2"));
    free(r);
    /* a parameter name too long to be a secret's, and values of one byte each */
    char big[512];
    snprintf(big, sizeof(big), "https://h/?%0300d=1&key=a&sid=b", 0);
    r = url_redact(big);
    assert_non_null(strstr(r, "=1&key=***&sid=***"));
    free(r);
}

static void
expect_brief(const char *url, const char *want)
{
    char *got = url_brief(url);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("url_brief(%s) = %s, want %s", url, got, want);
    free(got);
}

/* The review's URLs (issue 14): none of their secrets survives url_brief. */
static const char *const review_urls[] = {
    "https://u:p@example.org/f.xml",
    "https://example.org/f.xml?token=T1",
    "https://example.org/f.xml?private_token=T2",
    "https://example.org/f.xml?hash=T3",
    "https://example.org/f.xml?code=T4",
    "https://example.org/f.xml?X-Amz-Credential=AKIA/T5&X-Amz-Signature=S",
    "https://example.org/f.xml?k=T6",
    "https://example.org/f.xml?apikey=T7&key2=T8",
    "https://example.org/feeds/3f9c1e2b7a/private.atom",
    "https://calendar.example/ical/private-abc123def/basic.ics",
    "https://example.org/f.xml?jwt=T9",
    "https://example.org/f.xml?auth_token=T10",
    "https://example.org/f.xml#access_token=T11",
    "https://example.org/f.xml?user=alice&pw=T12",
};

static void
test_url_brief(void **state)
{
    (void)state;
    /* scheme://host[:port], "/…" for a path, "?…" for a query, "#…" for a fragment */
    expect_brief("https://feeds.example.org/news.xml", "https://feeds.example.org/…");
    expect_brief("https://feeds.example.org/", "https://feeds.example.org/");
    expect_brief("https://feeds.example.org", "https://feeds.example.org");
    expect_brief("http://example.org:8080/private/3f9a0c1.rss", "http://example.org:8080/…");
    expect_brief("https://example.org/f.xml?token=T1", "https://example.org/…?…");
    expect_brief("https://example.org/?k=T6", "https://example.org/?…");
    expect_brief("https://example.org?k=T6", "https://example.org?…");
    expect_brief("https://example.org/f.xml#access_token=T", "https://example.org/…#…");
    expect_brief("https://example.org/f?a=1#b", "https://example.org/…?…#…");
    expect_brief("https://example.org#frag", "https://example.org#…");
    expect_brief("https://example.org/#", "https://example.org/#…");
    expect_brief("https://example.org/?", "https://example.org/?…");
    expect_brief("https://example.org//", "https://example.org/…");
    /* the userinfo never, whatever it holds */
    expect_brief("https://user:s3cret@feeds.example.org/news.xml", "https://feeds.example.org/…");
    expect_brief("https://a:b@c@host.example/", "https://host.example/");
    expect_brief("https://tok@host.example", "https://host.example");
    expect_brief("https://@host.example/x", "https://host.example/…");
    expect_brief("https://host.example/a@b/c", "https://host.example/…");
    expect_brief("https://host.example?mail=a@b", "https://host.example?…");
    /* IP literals and ports are the host's */
    expect_brief("HTTP://u:p@[::1]:80/feed", "HTTP://[::1]:80/…");
    expect_brief("http://127.0.0.1:9/", "http://127.0.0.1:9/");
    expect_brief("http://[fe80::1%25eth0]:8080/x?y", "http://[fe80::1%25eth0]:8080/…?…");
    /* no authority, no scheme, nothing */
    expect_brief("file:///var/lib/feedwatch/private/a.xml", "file:///…");
    expect_brief("file:/var/lib/a.xml", "file:…");
    expect_brief("mailto:a@b.example", "mailto:…");
    expect_brief("urn:", "urn:");
    expect_brief("//u:p@host/x", "…");
    expect_brief("/relative/path?x", "…");
    expect_brief("not a url @ all", "…");
    expect_brief("1http://h/x", "…");
    expect_brief("", "");
    assert_null(url_brief(NULL));
    for (size_t i = 0; i < sizeof(review_urls) / sizeof(review_urls[0]); i++) {
        char *r = url_brief(review_urls[i]);
        assert_non_null(r);
        static const char *const secrets[] = {
            "T1",       "T2",        "T3",    "T4",  "T5",   "T6",      "T7",    "T8", "T9", "T1",
            "3f9c1e2b", "abc123def", "alice", "u:p", "AKIA", "private", "f.xml", "?k", "=S"};
        for (size_t k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++)
            if (strstr(r, secrets[k]))
                fail_msg("url_brief(%s) = %s shows %s", review_urls[i], r, secrets[k]);
        assert_true(strncmp(r, "https://", 8) == 0);
        free(r);
    }
}

static void
expect_brief_text(const char *text, const char *url, const char *want)
{
    char *got = url_brief_text(text, url);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("url_brief_text(%s, %s) = %s, want %s", text, url ? url : "NULL", got, want);
    free(got);
}

static void
expect_stripped(const char *url, const char *want)
{
    char *got = url_strip_userinfo(url);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("url_strip_userinfo(%s) = %s, want %s", url, got, want);
    free(got);
}

/* The base of a feed's relative links keeps everything but the userinfo. */
static void
test_url_strip_userinfo(void **state)
{
    (void)state;
    expect_stripped("http://reader:pa55word@127.0.0.1:8080/feeds/a.rss?token=T#x",
                    "http://127.0.0.1:8080/feeds/a.rss?token=T#x");
    expect_stripped("https://user@example.org/", "https://example.org/");
    expect_stripped("https://a@b:c@example.org/x", "https://example.org/x"); /* the last '@' */
    expect_stripped("//u:p@example.org/x", "//example.org/x");
    expect_stripped("https://example.org/p@th?q=a@b", "https://example.org/p@th?q=a@b");
    expect_stripped("https://example.org", "https://example.org");
    expect_stripped("file:///srv/feeds/a.xml", "file:///srv/feeds/a.xml");
    expect_stripped("", "");
    assert_null(url_strip_userinfo(NULL));
}

static void
test_url_brief_text(void **state)
{
    (void)state;
    /* curl's message for a file: feed names its path */
    expect_brief_text("Couldn't open file /srv/private/3f9a.xml", "file:///srv/private/3f9a.xml",
                      "Couldn't open file /…");
    /* the URL itself, its tail, its parts alone */
    expect_brief_text("fetching https://u:pw@h.example/f.xml?token=T failed",
                      "https://u:pw@h.example/f.xml?token=T",
                      "fetching https://h.example/…?… failed");
    expect_brief_text("GET /f.xml?token=T: 404", "https://h.example/f.xml?token=T",
                      "GET /…?…: 404");
    expect_brief_text("at /f.xml, with token=T in ?token=T", "https://h.example/f.xml?token=T",
                      "at /…, with token=T in ?…");
    expect_brief_text("user u:pw refused", "https://u:pw@h.example/", "user *** refused");
    expect_brief_text("#frag!", "https://h.example/x#frag!", "#…");
    /* what names no part of the URL stays as it is */
    expect_brief_text("Could not resolve host: h.example", "https://h.example/f.xml",
                      "Could not resolve host: h.example");
    expect_brief_text("HTTP 404", "https://h.example/", "HTTP 404");
    expect_brief_text("HTTP 404 at /", "https://h.example/", "HTTP 404 at /");
    expect_brief_text("", "https://h.example/f.xml", "");
    expect_brief_text("a/b", NULL, "a/b");
    expect_brief_text("not a url", "not a url", "…");
    assert_null(url_brief_text(NULL, "https://h/"));
}

static void
expect_item(const char *url, const char *feed_url, const char *want)
{
    const char *feeds[] = {feed_url};
    char *got = url_item_brief(url, feeds, 1);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("url_item_brief(%s, %s) = %s, want %s", url, feed_url, got, want);
    /* url_shows_feed says which: url_brief, or url without its userinfo (but file: URLs) */
    char *other = url_shows_feed(url, feed_url) ? url_brief(url) : url_strip_userinfo(url);
    if (strncmp(url, "file:", 5) != 0 && strcmp(got, other) != 0)
        fail_msg("url_shows_feed(%s, %s) disagrees with url_item_brief", url, feed_url);
    free(other);
    free(got);
}

/*
 * What the socket's group sees of an item's URL (issue 14, review16 a): briefed when it was
 * made from its feed's URL (a relative link resolved against it), whole when it is an article.
 */
static void
test_url_item_brief(void **state)
{
    (void)state;
    /* review16 a: a feed with a userinfo, a token path and a query token */
    const char *f = "http://reader:pa55word@h.example:8080/feeds/private/3f9a.rss?token=SECRETT1";
    /* "#comments", "", "?page=2": the feed's own URL, its path */
    expect_item("http://h.example:8080/feeds/private/3f9a.rss?token=SECRETT1#comments", f,
                "http://h.example:8080/…?…#…");
    expect_item("http://h.example:8080/feeds/private/3f9a.rss?token=SECRETT1", f,
                "http://h.example:8080/…?…");
    expect_item("http://h.example:8080/feeds/private/3f9a.rss?page=2", f,
                "http://h.example:8080/…?…");
    expect_item("http://h.example:8080/feeds/private/3f9a.rss", f, "http://h.example:8080/…");
    expect_item("http://h.example:8080/feeds/private/3f9a.rss/comments", f,
                "http://h.example:8080/…");
    expect_item("http://h.example:8080/feeds/private/%33f9a.rss#c", f, "http://h.example:8080/…#…");
    /* "./", "..": its directories, but "/" */
    expect_item("http://h.example:8080/feeds/private/", f, "http://h.example:8080/…");
    expect_item("http://h.example:8080/feeds/private?x", f, "http://h.example:8080/…?…");
    expect_item("http://h.example:8080/feeds/", f, "http://h.example:8080/…");
    expect_item("http://h.example:8080/", f, "http://h.example:8080/");
    expect_item("http://h.example:8080", f, "http://h.example:8080");
    /* the same path on another host or scheme (a temporary redirect) */
    expect_item("https://cdn.example/feeds/private/3f9a.rss#c", f, "https://cdn.example/…#…");
    /* the query whole, or one of its parameters, anywhere */
    expect_item("https://other.example/x?a=1&token=SECRETT1", f, "https://other.example/…?…");
    expect_item("https://other.example/x#token=SECRETT1", f, "https://other.example/…#…");
    expect_item("https://other.example/x?q=xtoken=SECRETT1", f, "https://other.example/…?…");
    /* the userinfo, or the password, anywhere; and any userinfo goes */
    expect_item("http://reader:pa55word@h.example:8080/2024/story.html", f,
                "http://h.example:8080/…");
    expect_item("http://h.example:8080/2024/story.html?p=pa55word", f, "http://h.example:8080/…?…");
    expect_item("http://someone@h.example:8080/2024/story.html", f,
                "http://h.example:8080/2024/story.html");
    /* articles on the feed's host and elsewhere stay whole */
    expect_item("http://h.example:8080/2024/01/story.html", f,
                "http://h.example:8080/2024/01/story.html");
    expect_item("http://h.example:8080/2024/01/story.html?page=2#comments", f,
                "http://h.example:8080/2024/01/story.html?page=2#comments");
    expect_item("http://h.example:8080/feeds/private/story.html", f,
                "http://h.example:8080/feeds/private/story.html");
    /* a name that extends the feed's (review17): the feed's name is in it */
    expect_item("http://h.example:8080/feeds/private/3f9a.rss.html", f, "http://h.example:8080/…");
    expect_item("http://h.example:8080/feeds/private/3f9a.html", f, "http://h.example:8080/…");
    expect_item("http://h.example:8080/feeds/privateer/", f,
                "http://h.example:8080/feeds/privateer/");
    expect_item("https://example.org/elsewhere.html?token=OTHER", f,
                "https://example.org/elsewhere.html?token=OTHER");
    /* keys that are no URL: a guid stays, one made of the feed's path does not */
    expect_item("g1", f, "g1");
    expect_item("tag:h.example,2024:item-1", f, "tag:h.example,2024:item-1");
    expect_item("/feeds/private/3f9a.rss#1", f, "…");
    expect_item("", f, "");

    /* a token in the path: "./" is the token */
    f = "https://example.org/feeds/3f9c1e2b7a/private.atom";
    expect_item("https://example.org/feeds/3f9c1e2b7a/", f, "https://example.org/…");
    expect_item("https://example.org/feeds/3f9c1e2b7a/private.atom#e1", f,
                "https://example.org/…#…");
    expect_item("https://example.org/2024/story.html", f, "https://example.org/2024/story.html");
    /* the token is the feed's last segment, with or without an extension (review17 F2) */
    f = "https://example.org/cal/SECRETB1";
    expect_item("https://example.org/cal/SECRETB1.html", f, "https://example.org/…");
    expect_item("https://example.org/cal/SECRETB1-2", f, "https://example.org/…");
    expect_item("https://example.org/cal/other.html", f, "https://example.org/cal/other.html");
    f = "https://example.org/cal/SECRETB2.ics";
    expect_item("https://example.org/cal/SECRETB2.html#x", f, "https://example.org/…#…");
    expect_item("https://example.org/cal/SECRETB.html", f, "https://example.org/cal/SECRETB.html");
    /* a feed at a directory: what lies below it */
    f = "https://h.example/feeds/tok3n/";
    expect_item("https://h.example/feeds/tok3n/comments", f, "https://h.example/…");
    expect_item("https://h.example/feeds/tok3n", f, "https://h.example/…");
    expect_item("https://h.example/feeds/story", f, "https://h.example/feeds/story");
    /* path "/" hides nothing; its query does (a WordPress feed) */
    f = "https://blog.example/?feed=rss2";
    expect_item("https://blog.example/?p=123", f, "https://blog.example/?p=123");
    expect_item("https://blog.example/", f, "https://blog.example/");
    expect_item("https://blog.example/?feed=rss2#comments", f, "https://blog.example/?…#…");
    expect_item("https://blog.example/?p=1&feed=rss2", f, "https://blog.example/?…");
    expect_item("https://blog.example/2024/feed=rss2", f, "https://blog.example/2024/feed=rss2");
    /* review17 F3: a token-like value of the feed's query (8 bytes or more, with a digit or
     * both cases) anywhere in the item's URL: in its path, under another name, escaped */
    f = "https://h.example/f.xml?token=S3CRETF3tok&lang=en&k=abc1234";
    expect_item("https://h.example/articles/S3CRETF3tok/x", f, "https://h.example/…");
    expect_item("https://other.example/a?t=S3CRETF3tok", f, "https://other.example/…?…");
    expect_item("https://h.example/a#S3CRETF3tok", f, "https://h.example/…#…");
    expect_item("https://h.example/articles/S3CRET%46%33tok", f, "https://h.example/…");
    expect_item("https://h.example/en/story.html?lang=fr", f,
                "https://h.example/en/story.html?lang=fr");
    expect_item("https://h.example/abc1234/story.html", f, "https://h.example/abc1234/story.html");
    expect_item("https://h.example/s3cretf3tok/story.html", f,
                "https://h.example/s3cretf3tok/story.html");
    f = "https://h.example/f.xml?sig=a%2Bb1c2d3e4";
    expect_item("https://h.example/x/a+b1c2d3e4", f, "https://h.example/…");
    /* words are no tokens: a search feed's articles stay whole */
    f = "https://news.example/rss?q=volcanoes&category=technology&section=World-News";
    expect_item("https://news.example/2024/volcanoes-erupt.html", f,
                "https://news.example/2024/volcanoes-erupt.html");
    expect_item("https://news.example/technology/x.html", f,
                "https://news.example/technology/x.html");
    expect_item("https://news.example/world-news/x.html", f,
                "https://news.example/world-news/x.html");
    f = "https://news.example/rss?q=Volcanoes";
    expect_item("https://news.example/Volcanoes/x.html", f, "https://news.example/…");
    /* a query without a value is matched whole only */
    f = "https://h.example/f.xml?private&k=";
    expect_item("https://h.example/x?private", f, "https://h.example/x?private");
    expect_item("https://h.example/x?k=", f, "https://h.example/x?k=");
    expect_item("https://h.example/x?a=1&private&k=", f, "https://h.example/…?…");
    /* a file: feed: every file: item URL, its directory's or not */
    f = "file:///srv/private-7c2e/local.xml";
    expect_item("file:///srv/private-7c2e/other.html", f, "file:///…");
    expect_item("file:///srv/private-7c2e/", f, "file:///…");
    expect_item("file:///elsewhere/a.html", f, "file:///…");
    assert_true(url_shows_feed("file:///srv/private-7c2e/local.xml#x", f));
    assert_true(url_shows_feed("file:///srv/private-7c2e/", f));
    assert_false(url_shows_feed("file:///srv/private-7c2e/other.html", f));
    expect_item("https://h.example/a.html", f, "https://h.example/a.html");
    char *r = url_item_brief("FILE:/x/y", NULL, 0);
    assert_string_equal(r, "FILE:…");
    free(r);

    /* the configured and the current URL (after a permanent redirect) both count */
    const char *both[] = {"http://old.example/feed.xml?key=K1", NULL,
                          "https://new.example/feeds/n.xml"};
    r = url_item_brief("https://new.example/feeds/n.xml#c", both, 3);
    assert_string_equal(r, "https://new.example/…#…");
    free(r);
    r = url_item_brief("https://new.example/feeds/x.xml?key=K1", both, 3);
    assert_string_equal(r, "https://new.example/…?…");
    free(r);
    r = url_item_brief("https://new.example/story", both, 3);
    assert_string_equal(r, "https://new.example/story");
    free(r);
    /* no feed URL known: whole but the userinfo */
    r = url_item_brief("https://u:p@new.example/feeds/n.xml", NULL, 0);
    assert_string_equal(r, "https://new.example/feeds/n.xml");
    free(r);
    assert_null(url_item_brief(NULL, both, 3));
    assert_false(url_shows_feed(NULL, "https://h/"));
    assert_false(url_shows_feed("https://h/", NULL));

    /* what review16 found through items: none of the feed's secrets survives */
    f = "http://reader:pa55word@127.0.0.1:37957/feeds/private/3f9a0c1e77d2b4.rss?token=SECRETT1";
    static const char *const derived[] = {
        "#comments",        "./", "", "?", "?page=2", ".", "..", "#", "3f9a0c1e77d2b4.rss/x",
        "?token=SECRETT1&a"};
    char *base = url_strip_userinfo(f);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof(derived) / sizeof(derived[0]); i++) {
            char *link = NULL;
            assert_int_equal(url_resolve(pass ? f : base, derived[i], &link), 0);
            assert_non_null(link);
            const char *feeds[] = {f};
            char *shown = url_item_brief(link, feeds, 1);
            assert_non_null(shown);
            static const char *const secrets[] = {"SECRETT1", "3f9a0c1e77d2b4", "private",
                                                  "pa55word", "reader"};
            for (size_t k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++)
                if (strstr(shown, secrets[k]))
                    fail_msg("%s resolved against %s is %s, shown as %s", derived[i],
                             pass ? f : base, link, shown);
            free(shown);
            free(link);
        }
    }
    free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_redact),     cmocka_unit_test(test_url_brief),
        cmocka_unit_test(test_url_brief_text), cmocka_unit_test(test_url_strip_userinfo),
        cmocka_unit_test(test_url_item_brief),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
