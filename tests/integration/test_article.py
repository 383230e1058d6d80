#!/usr/bin/python3
"""Full-article extraction end to end: with fetch_article = yes, each new item's page is
downloaded from a loopback server, its main text (not the feed's teaser) is stored with the
page's language, alerts read it, a page that cannot be had leaves the feed's text, a link to a
local file is never read, and a page is downloaded once. The pages are on loopback, which
only allow_private_addresses lets a feed's links reach (test_netpolicy.py tests the policy).
Without fetch_article, the feed's own HTML is cleaned of boilerplate, including blocks that
repeat across the feed's items."""

import json
import os
import re
from xml.sax.saxutils import escape

import fwtest

SRC = os.environ.get("FW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
HTML = os.path.join(SRC, "tests", "fixtures", "html")
SEEDS = os.path.join(SRC, "tests", "fixtures", "corpus", "seeds")
SEED_FILES = sorted(f for f in os.listdir(SEEDS) if re.match(r"\d{3}_.*\.txt$", f))

TOPIC = """
[topic "osce"]
match = OSCE OR OVSE OR OSZE OR "Organization for Security and Co-operation in Europe"
"""


def norm(text):
    """As the unit tests' seed_norm: U+00A0 is a space, whitespace runs collapsed."""
    return " ".join(text.replace("\u00a0", " ").split())


def check_seed_text(name, text):
    """Every boilerplate string of the seed's annotations gone, every article line kept."""
    ann = json.load(open(os.path.join(SEEDS, "annotations.json")))[name]
    ntext = norm(text)
    for b in ann["boilerplate"]:
        assert norm(b["text"]) not in ntext, f"{name}: boilerplate line {b['line']} kept: {b['text']!r}"
    lines = open(os.path.join(SEEDS, name), encoding="utf-8").read().split("\n")
    for lineno, line in enumerate(lines, 1):
        marks = [b for b in ann["boilerplate"] if b["line"] == lineno]
        prefix = next((b["text"] for b in marks
                       if line.startswith(b["text"]) and len(line) > len(b["text"])), None)
        if marks and prefix is None:
            continue
        want = norm(line[len(prefix):] if prefix else line)
        if want and want != ann["title"]:
            assert want in ntext, f"{name}: article line {lineno} missing: {want!r}\n---\n{text}"


def rss(items):
    """RSS 2.0 without a channel language: items are (title, link, description HTML)."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<rss version="2.0"><channel>',
           "<title>Wire</title><link>http://127.0.0.1/</link><description>d</description>"]
    for i, (title, link, desc) in enumerate(items):
        out.append(f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
                   f"<guid>item-{i}</guid><description>{escape(desc)}</description></item>")
    out.append("</channel></rss>")
    return "\n".join(out).encode()


def test_fetch_article_stores_the_page_text(t):
    s = t.httpd()
    secret = os.path.join(t.dir, "secret.html")
    with open(secret, "w") as f:
        f.write("<html><body><p>SECRET-LOCAL-FILE the OSCE must never see this. " * 20 +
                "</p></body></html>")
    items = []
    for i, name in enumerate(SEED_FILES):
        page = os.path.join(HTML, f"seed-{name[:3]}.page.html")
        s.add_file(f"/story/{i}.html", file=page, content_type="text/html; charset=utf-8")
        items.append((f"Story {i}", s.url(f"/story/{i}.html"),
                      f"<p>Teaser number {i}: read the whole story on our site.</p>"))
    items.append(("Gone", s.url("/story/gone.html"),
                  "<p>The teaser of a page that is gone stays as the text.</p>"))
    items.append(("Local", "file://" + secret, "<p>A link to a local file is not followed.</p>"))
    s.add_file("/wire.xml", rss(items))
    d = t.daemon({"wire": {"url": s.url("/wire.xml"), "fetch_article": "yes",
                           "allow_private_addresses": "yes"}})
    d.write_config(fwtest.conf_text(d.settings, d.feeds, TOPIC))
    d.start()
    assert d.wait_polled(["wire"])["wire"]["state"] == "ok"

    rows = {r[0]: r[1:] for r in d.query("SELECT title, text, language, id FROM items")}
    ann = json.load(open(os.path.join(SEEDS, "annotations.json")))
    for i, name in enumerate(SEED_FILES):
        text, lang, _ = rows[f"Story {i}"]
        assert text and f"Teaser number {i}" not in text, (name, text)
        check_seed_text(name, text)
        assert lang == ann[name]["language"], (name, lang)
        assert s.count(f"/story/{i}.html") == 1
    assert rows["Gone"][0] == "The teaser of a page that is gone stays as the text.", rows["Gone"]
    assert s.count("/story/gone.html") == 1
    assert "SECRET-LOCAL-FILE" not in (rows["Local"][0] or "")
    assert rows["Local"][0] == "A link to a local file is not followed."

    # Alerts read the page's text: the teasers never name the OSCE, the articles that do alert
    # (one story: one alert, the others its sources; issue 17).
    got = d.cli_ok("alerts", "--limit", "100")["alerts"]
    title_of = {it["id"]: it["title"] for it in d.cli_ok("items", "--limit", "100")["items"]}
    alerted = {a["title"] for a in got} | {title_of[x["item"]] for a in got for x in a["sources"]}
    want = {f"Story {i}" for i, name in enumerate(SEED_FILES)
            if ann[name]["topics"]["osce"]["mentioned"]}
    assert want and alerted == want and len(got) == 1, (alerted, want, got)

    # `items --text` shows the stored article text.
    listed = {it["title"]: it for it in d.cli_ok("items", "--text", "--limit", "100")["items"]}
    assert listed["Story 1"]["text"] == rows["Story 1"][0]
    assert listed["Story 1"]["language"] == "en"

    # A second poll finds nothing new and downloads no page again.
    cycle = d.poll_wait("wire")
    assert cycle["new_items"] == 0, cycle
    assert all(s.count(f"/story/{i}.html") == 1 for i in range(len(SEED_FILES)))
    assert d.duplicates() == []
    assert d.stop() == 0


def test_stop_during_article_downloads_then_restart_stores_once(t):
    """SIGTERM while item pages are still downloading: a clean exit, no half-stored poll;
    the next start fetches them and stores every item exactly once."""
    import time
    s = t.httpd()
    items = []
    for i, name in enumerate(SEED_FILES[:3]):
        page = os.path.join(HTML, f"seed-{name[:3]}.page.html")
        s.add_file(f"/story/{i}.html", file=page, content_type="text/html; charset=utf-8")
        items.append((f"Story {i}", s.url(f"/story/{i}.html"), f"<p>Teaser {i}.</p>"))
    for i in range(3):
        s.add_stall(f"/slow/{i}.html", head=b"<html><body><p>Half a page")
        items.append((f"Slow {i}", s.url(f"/slow/{i}.html"), f"<p>Slow teaser {i}.</p>"))
    s.add_file("/wire.xml", rss(items))
    d = t.daemon({"wire": {"url": s.url("/wire.xml"), "fetch_article": "yes",
                           "allow_private_addresses": "yes"}},
                 fetch_timeout="60s")
    d.start()
    fwtest.wait_until(lambda: all(s.count(f"/slow/{i}.html") >= 1 for i in range(3)), 20,
                      "the three stalling pages requested")
    t0 = time.monotonic()
    assert d.stop(timeout=15) == 0
    assert time.monotonic() - t0 < 10, "stop waited for the stalled downloads"
    stored = d.count_items("wire")
    assert stored in (0, len(items)), f"a poll half stored: {stored} of {len(items)} items"

    for i in range(3):                          # the pages answer now
        s.add_file(f"/slow/{i}.html", file=os.path.join(HTML, "seed-000.page.html"),
                   content_type="text/html; charset=utf-8")
    d.start()
    assert d.wait_polled(["wire"], timeout=30)["wire"]["state"] == "ok"
    assert d.count_items("wire") == len(items)  # `feeds` shows a poll once it is stored
    assert d.duplicates() == []
    texts = {r[0]: r[1] for r in d.query("SELECT title, text FROM items")}
    assert all(texts[f"Slow {i}"] and f"Slow teaser {i}" not in texts[f"Slow {i}"]
               for i in range(3)), texts
    assert d.stop() == 0


def test_feed_text_is_cleaned_and_repeats_learnt(t):
    s = t.httpd()
    promo = "Readers in Vienna and Brussels follow this story with our team of correspondents."
    items = []
    for i, name in enumerate(SEED_FILES):
        body = open(os.path.join(HTML, f"seed-{name[:3]}.item.html"), encoding="utf-8").read()
        items.append((f"Item {i}", s.url(f"/p/{i}"), body + f'<div class="x"><p>{promo}</p></div>'))
    s.add_file("/items.xml", rss(items))
    d = t.daemon({"items": s.url("/items.xml")}).start()
    d.poll_wait("items")
    rows = dict(d.query("SELECT title, text FROM items"))
    assert len(rows) == len(SEED_FILES)
    for i, name in enumerate(SEED_FILES):
        text = rows[f"Item {i}"]
        check_seed_text(name, text)
        # In every item of the feed: learnt as boilerplate at the first poll already.
        assert promo not in text, (name, text)
    # No page was downloaded without fetch_article.
    assert all(s.count(f"/p/{i}") == 0 for i in range(len(SEED_FILES)))
    model = d.query("SELECT boilerplate FROM feeds WHERE name = 'items'")[0][0]
    assert model and bytes(model).startswith(b"feedwatch-boilerplate 1"), model
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
