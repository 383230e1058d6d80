#!/usr/bin/python3
"""Polling: items stored once across re-polls and restarts, conditional GET, gzip, redirects."""

import fwtest
from fwtest import feed_titles, fixture

NEWS = fixture("rss-news.xml")
NEWS2 = fixture("rss-news-updated.xml")
BLOG = fixture("atom-blog.xml")


def serve_news_and_blog(t):
    s = t.httpd()
    news = s.add_file("/news.xml", file=NEWS)
    s.add_file("/blog.atom", file=BLOG, content_type="application/atom+xml")
    return s, news


def titles_of(items, feed):
    return sorted(i["title"] for i in items if i["feed"] == feed)


def test_items_stored_once_across_repolls_and_restart(t):
    s, news = serve_news_and_blog(t)
    d = t.daemon({"news": s.url("/news.xml"), "blog": s.url("/blog.atom")}).start()
    n_news, n_blog = len(feed_titles(NEWS)), len(feed_titles(BLOG))

    def all_items():
        items = d.items()
        return items if len(items) == n_news + n_blog else None
    items = fwtest.wait_until(all_items, 15, f"{n_news + n_blog} items from the first poll")
    assert titles_of(items, "news") == sorted(feed_titles(NEWS))
    assert titles_of(items, "blog") == sorted(feed_titles(BLOG))
    for item in items:
        assert item["key"] and isinstance(item["id"], int), item
    published = {i["title"]: i["published"] for i in items}
    assert published["Ministers meet in Vienna"] == "2026-11-23T08:00:00Z", published
    assert published["Call for talks"] == "2026-11-22T08:15:00Z", published

    cycle = d.poll_wait()
    assert cycle["polled"] == 2 and cycle["not_modified"] == 2, cycle
    assert cycle["new_items"] == 0 and cycle["errors"] == 0, cycle
    for path in ("/news.xml", "/blog.atom"):
        first, last = s.requests(path)[0], s.requests(path)[-1]
        assert "if-none-match" not in first["headers"], first["headers"]
        assert last["headers"].get("if-none-match"), f"{path}: no If-None-Match: {last['headers']}"
        assert s.statuses(path)[-1] == 304, s.statuses(path)
    state = d.feeds_state()
    assert state["news"]["state"] == "ok" and state["news"]["last_status"] in (200, 304), state
    assert state["news"]["items"] == n_news and state["blog"]["items"] == n_blog, state

    assert d.stop() == 0
    assert d.count_items() == n_news + n_blog
    before = s.count("/news.xml")

    d.start()
    cycle = d.poll_wait()
    assert cycle["not_modified"] == 2 and cycle["new_items"] == 0, cycle
    assert s.count("/news.xml") > before
    assert s.requests("/news.xml")[-1]["headers"].get("if-none-match"), \
        "validators not kept across the restart"
    assert d.count_items() == n_news + n_blog
    assert d.duplicates() == []

    # One new item; the old ones reordered: exactly one is new.
    news.set(open(NEWS2, "rb").read())
    cycle = d.poll_wait("news")
    assert cycle["polled"] == 1 and cycle["ok"] == 1 and cycle["new_items"] == 1, cycle
    assert d.count_items("news") == n_news + 1
    assert d.count_items() == n_news + n_blog + 1
    assert d.duplicates() == []
    assert titles_of(d.items(), "news") == sorted(feed_titles(NEWS2))
    # and the same document again is not modified, nothing new
    cycle = d.poll_wait("news")
    assert cycle["not_modified"] == 1 and cycle["new_items"] == 0, cycle
    assert d.stop() == 0


def test_gzip_encoded_feed(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    d = t.daemon({"news": s.url("/news.xml")}).start()
    d.wait_feed("news", lambda f: f["last_poll"], 15, "polled")
    first = s.requests("/news.xml")[0]
    assert first["encoding"] == "gzip", f"daemon did not accept gzip: {first['headers']}"
    assert first["headers"].get("user-agent", "").startswith("feedwatch/"), first["headers"]
    entry = d.feed("news")
    assert entry["state"] == "ok" and entry["last_status"] == 200, entry
    assert titles_of(d.items(), "news") == sorted(feed_titles(NEWS))
    assert d.stop() == 0


def test_redirect_to_feed(t):
    s, _ = serve_news_and_blog(t)
    s.add_redirect("/moved", "/news.xml", 302)
    s.add_redirect("/hop1", "/hop2", 302)
    s.add_redirect("/hop2", "/blog.atom", 302)
    d = t.daemon({"moved": s.url("/moved"), "hops": s.url("/hop1")}).start()
    state = d.wait_polled(["moved", "hops"])
    for name in ("moved", "hops"):
        assert state[name]["state"] == "ok" and state[name]["last_status"] == 200, state[name]
    # a temporary redirect does not change the URL in use
    assert state["moved"]["url"] == s.url("/moved"), state["moved"]
    assert titles_of(d.items(), "moved") == sorted(feed_titles(NEWS))
    assert titles_of(d.items(), "hops") == sorted(feed_titles(BLOG))
    assert s.count("/moved") == 1 and s.count("/news.xml") == 1
    assert d.stop() == 0


def test_permanent_redirect_updates_url(t):
    s, _ = serve_news_and_blog(t)
    s.add_redirect("/old.xml", s.url("/news.xml"), 301)
    # One poll that sees the redirect moves the feed here (move_confirmations = 1); the
    # default of 3 consecutive polls is test_feed_events.py's.
    d = t.daemon({"news": s.url("/old.xml")}, move_confirmations="1").start()
    entry = d.wait_feed("news", lambda f: f["last_poll"], 15, "polled")
    assert entry["state"] == "ok", entry
    assert entry["configured_url"] == s.url("/old.xml"), entry
    assert entry["url"] == s.url("/news.xml"), entry
    d.poll_wait("news")
    assert s.count("/old.xml") == 1, "the permanent redirect was followed again"
    assert d.count_items("news") == len(feed_titles(NEWS))
    assert d.stop() == 0


def test_status_counts(t):
    s, _ = serve_news_and_blog(t)
    s.add_status("/gone.xml", 404)
    d = t.daemon({"news": s.url("/news.xml"), "blog": s.url("/blog.atom"),
                  "gone": s.url("/gone.xml")}).start()
    d.wait_polled(["news", "blog", "gone"])
    st = d.status()
    assert st["feeds"]["total"] == 3, st
    assert st["feeds"]["ok"] == 2 and st["feeds"]["failing"] == 1, st
    assert st["feeds"]["disabled"] == 0 and st["feeds"]["paused"] == 0, st
    assert st["items"]["total"] == d.count_items() == len(feed_titles(NEWS)) + len(feed_titles(BLOG))
    assert isinstance(st["uptime_s"], int) and st["uptime_s"] >= 0, st
    assert isinstance(st["version"], str) and st["version"], st
    assert st["database_bytes"] > 0, st
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
