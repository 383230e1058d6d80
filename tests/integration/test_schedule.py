#!/usr/bin/python3
"""Scheduling: jitter spreads feeds of one interval, a restart resumes the persisted schedule,
and a reload that removes or re-points a feed takes effect without a restart."""

import fwtest
from fwtest import feed_titles, fixture, parse_time

NEWS = fixture("rss-news.xml")
BLOG = fixture("atom-blog.xml")


def test_jitter_spreads_next_polls(t):
    # 120 feeds with one interval polled in the same instant must not all come back together.
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    feeds = {f"f{i:03d}": s.url(f"/news.xml?f={i}") for i in range(120)}
    d = t.daemon(feeds, interval="10m").start()
    state = d.wait_polled(list(feeds), timeout=30)
    nexts = sorted(parse_time(state[n]["next_poll"]) for n in feeds)
    lasts = [parse_time(state[n]["last_poll"]) for n in feeds]
    # interval 600 s +- 10%: each next poll within [last + 540, last + 660] (1 s rounding)
    for n in feeds:
        gap = parse_time(state[n]["next_poll"]) - parse_time(state[n]["last_poll"])
        assert 539 <= gap <= 661, (n, state[n])
    spread = nexts[-1] - nexts[0]
    distinct = len(set(nexts))
    assert spread >= 60, f"next polls spread over only {spread}s: {nexts}"
    assert distinct >= 40, f"only {distinct} distinct next-poll seconds for 120 feeds"
    assert max(lasts) - min(lasts) <= 30
    assert d.stop() == 0


def test_restart_resumes_persisted_schedule(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    d = t.daemon({"news": s.url("/news.xml")}, interval="1h").start()
    before = d.wait_polled(["news"])["news"]
    assert s.count("/news.xml") == 1
    assert d.stop() == 0
    persisted = d.query("SELECT next_poll_at FROM feeds WHERE name = 'news'")[0][0]
    assert persisted is not None and persisted >= parse_time(before["last_poll"]) + 3000

    d.start()
    after = d.feed("news")
    # The schedule is the one from before the stop (to the second), not "poll now".
    assert abs(parse_time(after["next_poll"]) - persisted) <= 1, (after, persisted)
    assert after["last_poll"] == before["last_poll"], after
    # A poll the user asks for still happens at once.
    cycle = d.poll_wait("news")
    assert cycle["polled"] == 1 and cycle["not_modified"] == 1, cycle
    assert s.count("/news.xml") == 2
    assert d.stop() == 0


def test_reload_removes_and_repoints_feeds(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    s.add_file("/blog.atom", file=BLOG, content_type="application/atom+xml")
    d = t.daemon({"news": s.url("/news.xml"), "blog": s.url("/blog.atom")}).start()
    d.wait_polled(["news", "blog"])
    etag = d.query("SELECT etag FROM feeds WHERE name = 'news'")[0][0]
    assert etag

    # blog goes away; news now points at the Atom document.
    d.feeds = {"news": s.url("/blog.atom")}
    d.write_config()
    rc, doc = d.cli("reload")
    assert rc == 0 and doc["ok"] and doc["feeds"]["total"] == 1, doc
    assert sorted(d.feeds_state()) == ["news"]
    n_blog = len(feed_titles(BLOG))
    fwtest.wait_until(lambda: d.count_items("news") == len(feed_titles(NEWS)) + n_blog, 15,
                      "the re-pointed feed's new items")
    row = d.query("SELECT configured_url, failures FROM feeds WHERE name = 'news'")[0]
    assert row[0] == s.url("/blog.atom") and row[1] == 0, row
    # The first request to the new URL carried no validator of the old one.
    blog_reqs = s.requests("/blog.atom")
    assert blog_reqs[-1]["headers"].get("if-none-match") != etag
    polls_of_blog = s.count("/blog.atom")
    cycle = d.poll_wait()
    assert cycle["polled"] == 1, cycle          # the removed feed is not polled any more
    assert s.count("/blog.atom") == polls_of_blog + 1
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
