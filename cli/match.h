/*
 * match.h (cli) — the offline `feedwatch match QUERY FILE…` tool, a thin wrapper over
 * feeds/query.c, feeds/match.c and feeds/content.c.
 *
 * Each FILE (or "-" for standard input, at most MATCH_CLI_MAX_INPUT bytes) is parsed as a
 * feed; each item's document is its title and its text as the daemon matches it: the
 * feed's items cleaned together by content_clean_items(), as on the feed's first poll
 * (boilerplate repeated across its items dropped). A file that does not parse as a feed is one
 * document: the whole file is the text and there is no title. Prints each matching item and why:
 * human lines
 * ("FILE: TITLE", then "    term (field): snippet", scrubbed of control characters) or, with
 * json, one line per item {"file", "item", "title", "matched": [{"term", "field", "snippet"}]}.
 * With explain, a place: or alias: term is followed by "        matched place UA: "Oekraïne"
 * (nl)": which name of which set occurred (JSON: "via", always given). An item's language is
 * its feed's, else detected from its text (as the daemon does). The [alias] sections come
 * from config (conf_load_aliases): the default config may be missing, a given one may not.
 * Single-threaded; writes to stdout and stderr only.
 */
#ifndef FEEDWATCH_CLI_MATCH_H
#define FEEDWATCH_CLI_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#define MATCH_CLI_MAX_INPUT (64u * 1024u * 1024u)

/*
 * Runs the tool. Returns the exit status, as grep does: 0 when an item matched, 1 when none
 * did, 2 for a bad query or a file that could not be read (after saying why on stderr).
 */
int match_cli(const char *query, const char *const *files, size_t n_files, bool json, bool explain,
              const char *config, bool config_given);

#endif
