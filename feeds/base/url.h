/*
 * url.h — URL helpers for the pure core: scheme sniffing and resolution of a reference
 * against a base (RFC 3986 §5, through libxml2's xmlBuildURI).
 *
 * Results are malloc'ed and owned by the caller. Pure; any thread.
 */
#ifndef FEEDWATCH_URL_H
#define FEEDWATCH_URL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Writes the scheme of s in lower case into buf (size bytes) and returns true; false when
 * s has no scheme (a relative reference) or the scheme does not fit.
 */
bool url_scheme(const char *s, char *buf, size_t size);

/*
 * Resolves ref against base (which may be NULL or relative itself). An absolute ref is
 * returned as it is; a relative one that cannot be resolved (no absolute base) is returned
 * unchanged. *ret is NULL when ref is not a usable URL even after escaping. 0 or -ENOMEM.
 */
int url_resolve(const char *base, const char *ref, char **ret);

/*
 * url with the userinfo of its authority ("user:password@") replaced by "***@", and the
 * values of query (and fragment) parameters whose names name secrets — token, access_token,
 * api_key, apikey, key, secret, password, passwd, pass, auth, sig, signature, session, sid,
 * any case, alone or as the last word of a name ("x-api-key", "client_secret",
 * "accessToken") — replaced by "***", for showing it to others (the control socket's group,
 * the log); a copy of url when there is nothing to hide. Any string is taken (not only valid
 * URLs). NULL when url is NULL or memory runs out.
 */
char *url_redact(const char *url);

/*
 * url without the userinfo of its authority ("http://user:pw@host/x" -> "http://host/x"),
 * as the base against which a feed's relative links are resolved: a link "#comments" must not
 * carry the feed's password into an item's URL (issue 14). A copy of url when it has none.
 * NULL when url is NULL or memory runs out.
 */
char *url_strip_userinfo(const char *url);

/*
 * url as the control socket's group may see a configured feed's URL (issue 14): its scheme
 * and host[:port] only, "/…" in place of any path but "/" (or none), "?…" in place of a
 * query, "#…" in place of a fragment, never its userinfo: "https://host:8443/…?…". Without
 * an authority ("file:/x", "mailto:…") the scheme and "…"; without a scheme, "…" (empty
 * stays empty). NULL when url is NULL or memory runs out.
 */
char *url_brief(const char *url);

/*
 * text (an error message about a fetch of url) with what url_brief hides replaced wherever
 * it shows: url itself by url_brief(url), its path with what follows by "/…" (and "?…",
 * "#…"), its path, its query and its userinfo alone by "/…", "?…" and "***" (curl's "Couldn't
 * open file /var/feeds/x.xml" names a file: URL's path). A copy of text when url is NULL or
 * shows nothing to hide; NULL when text is NULL or memory runs out.
 */
char *url_brief_text(const char *text, const char *url);

/*
 * Whether url (a link or key an item of a feed carries) shows something of feed_url (the
 * feed's configured or current URL) that url_brief hides, as the links a feed writes relative
 * to its own URL do: "#comments" is the feed's URL with a fragment, "?page=2" its path with
 * another query, "./" its directory (issue 14). True when
 *  - feed_url has a userinfo, and url holds it, or its password, anywhere (2 bytes or more);
 *  - feed_url has a query, and url's query or fragment holds it whole, or holds one of its
 *    parameters that has a value ("token=T") as a parameter of its own;
 *  - a value of feed_url's query that looks like a token (8 bytes or more, with a digit or
 *    letters of both cases) shows anywhere in url, as it is or both percent-decoded: in its
 *    path or under another name, where a server echoed it (review17 F3); words do not count;
 *  - feed_url's path is neither empty nor "/", and url's path, on any host and with its
 *    percent-escapes decoded, is that path, lies below it ("/f.rss/x"; anything after a path
 *    that ends with '/'), or is one of its directories but "/" ("/feeds/private/" or
 *    "/feeds/private" for "/feeds/private/3f9a.rss").
 * An article elsewhere, on the feed's host or another ("/2024/01/story.html", a sibling
 * "/feeds/private/story.html"), shows nothing. False when either is NULL; true when memory
 * runs out (the caller then briefs url).
 */
bool url_shows_feed(const char *url, const char *feed_url);

/*
 * url (an item's link, or its key) as the control socket's group may see it, given the URLs
 * of its feed (feed_urls[0..n_feed_urls), its configured and its current one): url_brief(url)
 * when url_shows_feed(url, any of them), and for every file: URL (it names a file of the
 * daemon's machine); else url whole but for its userinfo (url_strip_userinfo: items stored
 * before relative links lost it carry the feed's password). NULL when url is NULL or memory
 * runs out.
 */
char *url_item_brief(const char *url, const char *const *feed_urls, size_t n_feed_urls);

#endif
