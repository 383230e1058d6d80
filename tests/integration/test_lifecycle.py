#!/usr/bin/python3
"""Lifecycle: bad config at start, reload by SIGHUP and by `feedwatch reload`, SIGTERM, --once."""

import os
import signal

import fwtest
from fwtest import conf_text, feed_titles, fixture

NEWS = fixture("rss-news.xml")
BLOG = fixture("atom-blog.xml")


def line_of(text, needle):
    """1-based number of the first line of text containing needle."""
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in config text")


def serve(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    s.add_file("/blog.atom", file=BLOG, content_type="application/atom+xml")
    return s


def test_bad_config_at_start_exits_2(t):
    d = t.daemon()
    text = conf_text(dict(d.settings, interval="soon"),
                     {"news": {"url": "http://127.0.0.1:9/x.xml", "colour": "blue"}})
    d.write_config(text)
    d.start(wait=False)
    assert d.wait_exit(10) == 2
    log = d.log()
    # every error is reported, each as FILE:LINE: KEY: why
    assert f"{d.conf}:{line_of(text, 'interval = soon')}: interval:" in log, log
    assert f"{d.conf}:{line_of(text, 'colour = blue')}: colour:" in log, log
    assert not os.path.exists(d.sock)


def test_usage_errors_exit_2(t):
    d = t.daemon()
    d.conf = os.path.join(t.dir, "missing.conf")
    d.start(wait=False)
    assert d.wait_exit(10) == 2
    assert "missing.conf" in d.log()
    d.conf = d.conf.replace("missing.conf", "feedwatchd.conf")
    d.start("--no-such-option", wait=False)
    assert d.wait_exit(10) == 2


def test_sighup_adds_feed(t):
    s = serve(t)
    d = t.daemon({"news": s.url("/news.xml")}).start()
    d.wait_polled(["news"])
    d.feeds["blog"] = s.url("/blog.atom")
    d.write_config()
    d.signal(signal.SIGHUP)
    fwtest.wait_until(lambda: d.count_items("blog") == len(feed_titles(BLOG)), 15,
                      "the items of the feed added by SIGHUP")
    state = d.feeds_state()
    assert sorted(state) == ["blog", "news"], state
    assert state["blog"]["state"] == "ok", state["blog"]
    assert d.count_items("news") == len(feed_titles(NEWS)) and d.duplicates() == []
    assert s.count("/news.xml") == 1, "reload re-polled an unchanged feed"
    assert d.stop() == 0


def test_sighup_bad_config_keeps_running_config(t):
    s = serve(t)
    d = t.daemon({"news": s.url("/news.xml")}).start()
    d.wait_polled(["news"])
    good = conf_text(d.settings, d.feeds)
    bad = conf_text(dict(d.settings, interval="often"),
                    {"news": s.url("/news.xml"), "blog": s.url("/blog.atom")})
    d.write_config(bad)
    d.signal(signal.SIGHUP)
    d.wait_log(f"{d.conf}:{line_of(bad, 'interval = often')}: interval:")
    assert d.running()
    assert sorted(d.feeds_state()) == ["news"]
    assert d.status()["feeds"]["total"] == 1
    assert s.count("/blog.atom") == 0
    # a later good reload still works
    d.feeds["blog"] = s.url("/blog.atom")
    assert d.write_config() != good
    d.signal(signal.SIGHUP)
    fwtest.wait_until(lambda: d.count_items("blog") == len(feed_titles(BLOG)), 15,
                      "the blog feed after a good reload")
    assert d.stop() == 0


def test_reload_command(t):
    s = serve(t)
    d = t.daemon({"news": s.url("/news.xml")}).start()
    d.wait_polled(["news"])
    bad = conf_text(d.settings, {"news": {"url": s.url("/news.xml"), "colour": "blue"},
                                 "blog": s.url("/blog.atom")})
    d.write_config(bad)
    rc, doc = d.cli("reload")
    assert rc == 1, d.describe_last()
    where = f"{d.conf}:{line_of(bad, 'colour = blue')}"
    said = (doc or {}).get("error", "") + d.last[3]
    assert where in said and "colour" in said, d.describe_last()
    assert (doc or {}).get("ok") is False, d.describe_last()
    assert sorted(d.feeds_state()) == ["news"]

    d.feeds["blog"] = s.url("/blog.atom")
    d.write_config()
    doc = d.cli_ok("reload")
    assert doc.get("feeds", {}).get("total") == 2, doc   # the counts of status (issue 15)
    fwtest.wait_until(lambda: d.count_items("blog") == len(feed_titles(BLOG)), 15,
                      "the blog feed after `feedwatch reload`")
    assert d.stop() == 0


def test_sigterm_and_sigint_exit_0(t):
    s = serve(t)
    d = t.daemon({"news": s.url("/news.xml")}).start()
    d.wait_polled(["news"])
    assert d.stop(timeout=5) == 0
    assert not os.path.exists(d.sock), "socket file left behind"
    assert d.query("PRAGMA integrity_check") == [("ok",)]
    d.start()
    d.signal(signal.SIGINT)
    assert d.wait_exit(5) == 0
    assert not os.path.exists(d.sock)
    assert d.count_items() == len(feed_titles(NEWS))


def test_once_all_fetched_exits_0(t):
    s = serve(t)
    d = t.daemon({"news": s.url("/news.xml"), "blog": s.url("/blog.atom")})
    d.start("--once", wait=False)
    assert d.wait_exit(30) == 0
    assert s.count("/news.xml") == 1 and s.count("/blog.atom") == 1
    assert d.count_items("news") == len(feed_titles(NEWS))
    assert d.count_items("blog") == len(feed_titles(BLOG))
    assert not os.path.exists(d.sock)
    # a second run gets 304s, which count as fetched
    d.start("--once", wait=False)
    assert d.wait_exit(30) == 0
    assert s.statuses("/news.xml") == [200, 304]
    assert d.count_items() == len(feed_titles(NEWS)) + len(feed_titles(BLOG))


def test_once_with_failing_feed_exits_1(t):
    s = serve(t)
    s.add_status("/gone.xml", 404)
    d = t.daemon({"news": s.url("/news.xml"), "gone": s.url("/gone.xml")})
    d.start("--once", wait=False)
    assert d.wait_exit(30) == 1
    assert s.count("/gone.xml") == 1
    assert d.count_items("news") == len(feed_titles(NEWS))


if __name__ == "__main__":
    fwtest.main()
