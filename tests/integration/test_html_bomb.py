#!/usr/bin/python3
"""HTML whose one start tag carries 150k attributes (< 1 MiB), end to end (issue 14, F3).

libxml2 2.9.14 compares each attribute of a start tag with every one before it: such a tag
cost a minute of CPU in the thread pool, and eight article pages of it starved the pool that
the daemon shares with other work. Now the tag keeps its first 256 attributes (feeds/text/
htmlprep.c) and the items are stored with their text.

- An item whose description is the bomb is stored with the text after the tag, beside a
  normal item of the same feed, within a generous deadline (the first poll took 30-60 s of
  CPU before; now it is a fraction of a second).
- A feed with fetch_article = yes whose eight items link to bomb pages: every item is stored
  with the page's text, and a good feed's `poll --wait` answers while those pages are
  extracted (before, it waited behind eight minutes of CPU in a four-thread pool).
"""

import time
from xml.sax.saxutils import escape

import fwtest

N_ATTRS = 150000
DEADLINE = 60.0  # seconds; the work is well under one, the rest is a loaded CI machine


ATTRS = " ".join("a%x=1" % i for i in range(N_ATTRS))


def bomb_html(text):
    return "<html><body><div %s><p>%s</p></div></body></html>" % (ATTRS, text)


def rss(items):
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<rss version="2.0"><channel>',
           "<title>Bomb</title><link>http://127.0.0.1/</link><description>d</description>"]
    for i, (title, link, desc) in enumerate(items):
        out.append(f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
                   f"<guid>item-{i}</guid><description>{escape(desc)}</description></item>")
    out.append("</channel></rss>")
    return "\n".join(out).encode()


def texts(d, feed):
    return {r[0]: r[1] for r in d.query(
        "SELECT i.title, i.text FROM items i JOIN feeds f ON f.id = i.feed_id WHERE f.name = ?",
        (feed,))}


def test_description_bomb_item_is_stored(t):
    s = t.httpd()
    body = rss([("Bomb", s.url("/b"), bomb_html("Text after the bomb.")),
                ("Fine", s.url("/f"), "<p>A normal item of the same feed.</p>")])
    assert len(body) < 4 << 20
    s.add_file("/desc.xml", body, gzip_ok=False)
    d = t.daemon({"desc": {"url": s.url("/desc.xml")}})
    started = time.monotonic()
    d.start()
    entry = d.wait_feed("desc", lambda f: f["last_poll"], DEADLINE, "a first poll")
    took = time.monotonic() - started
    print(f"    first poll of the description bomb: {took:.1f}s")
    assert entry["state"] == "ok" and entry["items"] == 2, entry
    got = texts(d, "desc")
    assert got == {"Bomb": "Text after the bomb.", "Fine": "A normal item of the same feed."}, got
    assert d.stop() == 0


def test_article_bombs_do_not_starve_the_pool(t):
    s = t.httpd()
    items = []
    for i in range(8):
        s.add_file(f"/page/{i}.html", bomb_html(f"Page {i} is an article with some words in it. "
                                                * 8).encode(),
                   content_type="text/html; charset=utf-8", gzip_ok=False)
        items.append((f"Page {i}", s.url(f"/page/{i}.html"), f"<p>Teaser {i}.</p>"))
    s.add_file("/bomb.xml", rss(items))
    s.add_file("/good.xml", rss([("Good 1", s.url("/g1"), "<p>One.</p>")]))
    d = t.daemon({"bomb": {"url": s.url("/bomb.xml"), "fetch_article": "yes",
                           "allow_private_addresses": "yes", "interval": "1h"},
                  "good": {"url": s.url("/good.xml"), "interval": "1h"}})
    d.start()
    fwtest.wait_until(lambda: all(s.count(f"/page/{i}.html") >= 1 for i in range(8)), DEADLINE,
                      "the eight bomb pages requested")
    d.wait_polled(["good"], timeout=DEADLINE)  # its first poll holds Good 1 only
    # The pages are being extracted now: the good feed's poll goes through the same pool.
    s.add_file("/good.xml", rss([("Good 1", s.url("/g1"), "<p>One.</p>"),
                                 ("Good 2", s.url("/g2"), "<p>Two.</p>")]))
    t0 = time.monotonic()
    cycle = d.poll_wait("good", timeout=DEADLINE)
    print(f"    poll --wait good beside eight bomb pages: {time.monotonic() - t0:.1f}s")
    assert cycle["new_items"] == 1, cycle
    entry = d.wait_feed("bomb", lambda f: f["last_poll"], DEADLINE, "the bomb feed polled")
    assert entry["state"] == "ok" and entry["items"] == 8, entry
    got = texts(d, "bomb")
    for i in range(8):
        assert got[f"Page {i}"].startswith(f"Page {i} is an article"), got[f"Page {i}"][:200]
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
