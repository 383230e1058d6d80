#!/usr/bin/python3
"""`feedwatch match` judges the text the daemon alerts on (issue 18, item 6).

A feed whose items all carry the same promo block (a boilerplate the content stage drops
from a feed's items) with the query's word in it, and one item that says the word in its own
text. A real daemon polls the feed through file:// with a topic of that word; the offline
`feedwatch match` reads the same file. Both must pick the same items: only the one whose own
text has the word (a private HTML-to-text that kept the promo matched every item). The same
again for a word that is in an item's own text only, and for a word in no item."""

import json
import os
import subprocess

import fwtest

FEEDWATCH = fwtest.FEEDWATCH

PROMO = ("<p>Subscribe to the Volcano Weekly newsletter: every Friday, the week's reporting in "
         "one email, free of charge, unsubscribe at any time.</p>")

STORIES = [
    ("Harbour festival draws record crowds",
     "The harbour festival drew more visitors than ever this weekend, with boats, music and "
     "food stalls along the quay until late at night."),
    ("Eruption forces evacuation of two villages",
     "Authorities evacuated two villages after the volcano began erupting on Tuesday; ash "
     "fell as far as the coast and flights were cancelled."),
    ("City council approves new tram line",
     "The council voted to build a tram line linking the station to the university, with "
     "work starting next spring and service expected within three years."),
    ("Local bakery wins national bread award",
     "A family bakery in the old town won the national award for its sourdough, baked in a "
     "wood-fired oven that the owners restored themselves."),
    ("Library extends its opening hours",
     "The public library will open on Sunday afternoons from next month, after a survey "
     "showed that many readers could not come during the week."),
]


def feed_xml():
    items = []
    for i, (title, text) in enumerate(STORIES):
        body = f"<p>{text}</p>{PROMO}"
        items.append(f"<item><title>{title}</title><guid>story-{i}</guid>"
                     f"<link>http://example.org/{i}</link>"
                     f"<description><![CDATA[{body}]]></description></item>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            '<title>Town news</title><link>http://example.org/</link><language>en</language>'
            + "".join(items) + "</channel></rss>\n")


def offline_matches(conf, path, query):
    """The titles `feedwatch --json --config CONF match QUERY FILE` reports."""
    p = subprocess.run([FEEDWATCH, "--json", "--config", conf, "match", query, path],
                       capture_output=True, timeout=60)
    assert p.returncode in (0, 1), (p.returncode, p.stderr)
    lines = [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
    assert (p.returncode == 0) == bool(lines), (p.returncode, lines)
    return {doc["title"] for doc in lines}


TOPICS = {"volcano": "volcano", "tram": "tram", "weekly": '"volcano weekly"'}


def test_match_gives_the_daemons_verdict(t):
    d = t.daemon()
    path = os.path.join(d.dir, "town.xml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(feed_xml())
    d.feeds = {"town": {"url": "file://" + path}}
    topics = "".join(f'\n[topic "{name}"]\nmatch = {q}\n' for name, q in TOPICS.items())
    d.write_config(fwtest.conf_text(d.settings, d.feeds, topics))
    d.start()
    d.wait_polled(["town"])
    items = d.items()
    assert len(items) == len(STORIES), [i["title"] for i in items]
    alerts = d.cli_ok("alerts", "--limit", "1000")["alerts"]
    for name, query in TOPICS.items():
        daemon_titles = {a["title"] for a in alerts if a["topic"] == name}
        offline_titles = offline_matches(d.conf, path, query)
        assert offline_titles == daemon_titles, (name, offline_titles, daemon_titles)
    # What the verdicts are: the promo is boilerplate for both, the stories' own text is not.
    got = {name: {a["title"] for a in alerts if a["topic"] == name} for name in TOPICS}
    assert got == {"volcano": {STORIES[1][0]}, "tram": {STORIES[2][0]}, "weekly": set()}, got
    d.stop()


if __name__ == "__main__":
    fwtest.main()
