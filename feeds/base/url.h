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

#endif
