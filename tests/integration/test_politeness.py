#!/usr/bin/python3
"""Polling politely: per-host connection limits, Retry-After, freshness hints, redirects,
feeds disabled by their errors (410, max_failures), and run-time add/remove/pause/resume."""

import email.utils
import json
import os
import time

import fwtest
from fwtest import feed_titles, fixture, parse_time
from httpd import make_rss

NEWS = fixture("rss-news.xml")
BLOG = fixture("atom-blog.xml")


def next_in(entry):
    """Seconds from now to the entry's next poll."""
    assert entry["next_poll"], entry
    return parse_time(entry["next_poll"]) - time.time()


def test_max_per_host_is_never_exceeded(t):
    s = t.httpd()
    names = [f"f{i:03d}" for i in range(200)]
    for name in names:
        s.add_slow(f"/{name}.xml", make_rss(600, tag=name), delay=0.1)
    d = t.daemon({n: s.url(f"/{n}.xml") for n in names}, max_per_host=4,
                 max_connections=64, log_level="notice").start()
    state = d.wait_polled(names, timeout=120)
    assert all(state[n]["state"] == "ok" for n in names), \
        [state[n] for n in names if state[n]["state"] != "ok"][:3]
    assert all(s.count(f"/{n}.xml") == 1 for n in names)
    # Several at once (connections are shared and kept), never more than four.
    assert 2 <= s.max_active <= 4, f"max requests in progress: {s.max_active}"
    assert s.max_connections <= 4, f"max connections open: {s.max_connections}"
    assert d.stop() == 0


def test_max_per_host_counts_addresses_too(t):
    """Two host names of one machine (localhost and 127.0.0.1) share one max_per_host."""
    s = t.httpd()
    feeds = {}
    for i in range(60):
        for host, tag in (("127.0.0.1", "a"), ("localhost", "b")):
            path = f"/{tag}{i:02d}.xml"
            s.add_slow(path, make_rss(600, tag=f"{tag}{i}"), delay=0.1)
            feeds[f"{tag}{i:02d}"] = f"http://{host}:{s.port}{path}"
    d = t.daemon(feeds, max_per_host=4, max_connections=64, log_level="notice").start()
    state = d.wait_polled(list(feeds), timeout=120)
    assert all(state[n]["state"] == "ok" for n in feeds), \
        [state[n] for n in feeds if state[n]["state"] != "ok"][:3]
    # Each name alone would allow four; both resolve to one address, which gets four in all.
    assert 2 <= s.max_active <= 4, f"max requests in progress: {s.max_active}"
    assert d.stop() == 0


def test_retry_after_is_honoured(t):
    s = t.httpd()
    s.add_headers("/busy.xml", 429, [("Retry-After", "7200")])
    at = time.time() + 3 * 3600
    s.add_headers("/down.xml", 503, [("Retry-After", email.utils.formatdate(at, usegmt=True))])
    s.add_headers("/far.xml", 503, [("Retry-After", str(90 * 86400))])
    s.add_headers("/junk.xml", 429, [("Retry-After", "soon, maybe")])
    s.add_headers("/ignored.xml", 500, [("Retry-After", "7200")])
    d = t.daemon({"busy": s.url("/busy.xml"), "down": s.url("/down.xml"),
                  "far": s.url("/far.xml"), "junk": s.url("/junk.xml"),
                  "ignored": s.url("/ignored.xml")}, interval="1m").start()
    state = d.wait_polled(["busy", "down", "far", "junk", "ignored"])
    assert state["busy"]["last_status"] == 429 and state["busy"]["state"] == "failing"
    assert 7200 - 10 <= next_in(state["busy"]) <= 7200 + 5, state["busy"]
    assert state["down"]["last_status"] == 503, state["down"]
    assert parse_time(state["down"]["next_poll"]) >= int(at), state["down"]
    assert next_in(state["down"]) <= 3 * 3600 + 5, state["down"]
    # Capped at 7 days, and never earlier than that.
    assert 7 * 86400 - 10 <= next_in(state["far"]) <= 7 * 86400 + 5, state["far"]
    # A value that is neither seconds nor a date, and Retry-After on a 500: plain backoff.
    for name in ("junk", "ignored"):
        assert next_in(state[name]) <= 60 * 1.1 + 2, state[name]
    assert d.stop() == 0


def test_cache_headers_are_lower_bounds(t):
    s = t.httpd()
    body = open(NEWS, "rb").read()
    s.add_raw("/maxage.xml", body, [("Cache-Control", "public, max-age=5400")])
    expires = email.utils.formatdate(time.time() + 2 * 3600, usegmt=True)
    s.add_raw("/expires.xml", body, [("Expires", expires)])
    s.add_raw("/year.xml", body, [("Cache-Control", "max-age=31536000")])
    s.add_raw("/nocache.xml", body, [("Cache-Control", "no-cache, max-age=5400")])
    feeds = {"maxage": s.url("/maxage.xml"), "expires": s.url("/expires.xml"),
             "year": s.url("/year.xml"), "nocache": s.url("/nocache.xml")}
    d = t.daemon(feeds, interval="1m").start()
    state = d.wait_polled(list(feeds))
    assert 5400 - 10 <= next_in(state["maxage"]) <= 5400 + 5, state["maxage"]
    assert 2 * 3600 - 15 <= next_in(state["expires"]) <= 2 * 3600 + 5, state["expires"]
    # A hint beyond max_interval (6h) is cut to it.
    assert 6 * 3600 - 10 <= next_in(state["year"]) <= 6 * 3600 + 5, state["year"]
    assert next_in(state["nocache"]) <= 60 * 1.1 + 2, state["nocache"]
    assert d.stop() == 0

    d2 = t.daemon({"maxage": s.url("/maxage.xml")}, name="nohints", interval="1m",
                  respect_feed_hints="no").start()
    entry = d2.wait_polled(["maxage"])["maxage"]
    assert next_in(entry) <= 60 * 1.1 + 2, entry
    assert d2.stop() == 0


def hinted_rss(channel_extra, ns=""):
    return (f'<?xml version="1.0"?><rss version="2.0"{ns}><channel><title>t</title>'
            f"<link>http://127.0.0.1/</link><description>d</description>{channel_extra}"
            "<item><title>one</title><guid>1</guid></item></channel></rss>").encode()


def test_document_hints_are_lower_bounds(t):
    s = t.httpd()
    sy = ' xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'
    s.add_raw("/ttl.xml", hinted_rss("<ttl>90</ttl>"))
    s.add_raw("/sy.xml", hinted_rss("<sy:updatePeriod>daily</sy:updatePeriod>"
                                    "<sy:updateFrequency>8</sy:updateFrequency>", sy))
    s.add_raw("/week.xml", hinted_rss("<sy:updatePeriod>weekly</sy:updatePeriod>", sy))
    s.add_raw("/junk.xml", hinted_rss("<ttl>soon</ttl>"))
    feeds = {"ttl": s.url("/ttl.xml"), "sy": s.url("/sy.xml"), "week": s.url("/week.xml"),
             "junk": s.url("/junk.xml")}
    d = t.daemon(feeds, interval="1m").start()
    state = d.wait_polled(list(feeds))
    assert 5400 - 10 <= next_in(state["ttl"]) <= 5400 + 5, state["ttl"]        # 90 minutes
    assert 3 * 3600 - 10 <= next_in(state["sy"]) <= 3 * 3600 + 5, state["sy"]  # a day / 8
    # A week is beyond max_interval (6h): cut to it, as the HTTP hints are.
    assert 6 * 3600 - 10 <= next_in(state["week"]) <= 6 * 3600 + 5, state["week"]
    assert next_in(state["junk"]) <= 60 * 1.1 + 2, state["junk"]
    assert d.stop() == 0

    d2 = t.daemon({"ttl": s.url("/ttl.xml")}, name="nohints", interval="1m",
                  respect_feed_hints="no").start()
    entry = d2.wait_polled(["ttl"])["ttl"]
    assert next_in(entry) <= 60 * 1.1 + 2, entry
    assert d2.stop() == 0


def test_redirects_308_updates_url_307_does_not(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    s.add_redirect("/perm.xml", s.url("/news.xml"), 308)
    s.add_redirect("/temp.xml", s.url("/news.xml"), 307)
    # A permanent hop followed by a temporary one is not permanent.
    s.add_redirect("/mixed.xml", s.url("/temp.xml"), 301)
    # A permanent redirect moves a feed at the first poll that sees it here
    # (move_confirmations = 1; the default of 3 is test_feed_events.py's).
    d = t.daemon({"perm": s.url("/perm.xml"), "temp": s.url("/temp.xml"),
                  "mixed": s.url("/mixed.xml")}, move_confirmations="1").start()
    state = d.wait_polled(["perm", "temp", "mixed"])
    assert state["perm"]["url"] == s.url("/news.xml"), state["perm"]
    assert state["temp"]["url"] == s.url("/temp.xml"), state["temp"]
    assert state["mixed"]["url"] == s.url("/mixed.xml"), state["mixed"]
    d.poll_wait()
    assert s.count("/perm.xml") == 1, "the 308 was followed again"
    assert s.count("/temp.xml") == 4 and s.count("/mixed.xml") == 2
    assert d.stop() == 0


def test_gone_and_repeated_failures_disable(t):
    s = t.httpd()
    s.add_status("/gone.xml", 410)
    s.add_status("/broken.xml", 500)
    s.add_status("/missing.xml", 404)
    d = t.daemon({"gone": s.url("/gone.xml"), "broken": s.url("/broken.xml"),
                  "missing": s.url("/missing.xml")}, interval="1m", max_failures=3).start()
    state = d.wait_polled(["gone", "broken", "missing"])
    gone = state["gone"]
    assert gone["state"] == "disabled" and gone["reason"] == "HTTP 410 Gone", gone
    assert gone["next_poll"] is None, gone
    assert state["missing"]["failures"] == 2 and state["missing"]["state"] == "failing"
    first = state["broken"]
    assert first["failures"] == 1 and first["state"] == "failing", first

    cycle = d.poll_wait()   # a disabled feed is not polled
    assert cycle["polled"] == 2 and cycle["errors"] == 2, cycle
    state = d.feeds_state()
    # 404 counts double: 4 >= 3.
    assert state["missing"]["state"] == "disabled", state["missing"]
    assert "HTTP 404" in state["missing"]["reason"], state["missing"]
    second = state["broken"]
    assert second["failures"] == 2 and second["state"] == "failing", second
    gap = lambda e: parse_time(e["next_poll"]) - parse_time(e["last_poll"])
    assert gap(second) > 1.5 * gap(first), (first, second)   # backing off

    cycle = d.poll_wait()
    assert cycle["polled"] == 1, cycle
    broken = d.feed("broken")
    assert broken["state"] == "disabled" and broken["failures"] == 3, broken
    assert "3 consecutive failures" in broken["reason"] and "HTTP 500" in broken["reason"]
    assert s.count("/gone.xml") == 1 and s.count("/broken.xml") == 3
    assert s.count("/missing.xml") == 2
    d.wait_log("feed 'broken': 3 consecutive failures")
    assert d.status()["feeds"]["disabled"] == 3
    rc, _ = d.cli("feeds", json_out=False)
    out = d.last[2]
    assert rc == 0 and "disabled" in out and "HTTP 410 Gone" in out, d.describe_last()

    # Disabled stays disabled across a reload and a restart.
    d.cli_ok("reload")
    assert d.feed("broken")["state"] == "disabled"
    assert d.stop() == 0
    d.start()
    assert d.feed("broken")["state"] == "disabled"
    assert d.feed("gone")["state"] == "disabled"

    # resume: failures reset, polled soon.
    s.add_file("/broken.xml", file=NEWS)
    doc = d.cli_ok("resume", "broken")
    assert doc["feed"]["failures"] == 0 and doc["feed"]["state"] == "ok", doc
    entry = d.wait_feed("broken", lambda f: f["last_status"] == 200, 10, "polled after resume")
    assert entry["state"] == "ok" and entry["items"] == len(feed_titles(NEWS)), entry
    rc, _ = d.cli("resume", "gone", json_out=False)
    assert rc == 0 and "resumed feed 'gone'" in d.last[2], d.describe_last()
    e = d.wait_feed("gone", lambda f: f["state"] == "disabled" and f["failures"] == 1, 10,
                    "disabled again by its 410")
    assert e["reason"] == "HTTP 410 Gone", e
    assert d.stop() == 0


def test_basic_auth_password_from_file(t):
    """user + password_file: Basic credentials on every request, the password read from its
    file (trailing newline stripped) and never shown by `feeds` nor written to the log."""
    import base64
    s = t.httpd()
    s.add_file("/private.xml", file=NEWS)
    pw = os.path.join(t.dir, "feed.pass")
    with open(pw, "w") as f:
        f.write("pa55-w0rd:x\n")
    d = t.daemon({"private": {"url": s.url("/private.xml"), "user": "reader",
                              "password_file": pw}}).start()
    state = d.wait_polled(["private"], timeout=20)
    assert state["private"]["state"] == "ok", state["private"]
    reqs = s.requests("/private.xml")
    want = "Basic " + base64.b64encode(b"reader:pa55-w0rd:x").decode()
    assert reqs and all(r["headers"].get("authorization") == want for r in reqs), reqs
    assert "pa55-w0rd" not in json.dumps(d.cli_ok("feeds"))
    assert d.stop() == 0
    with open(d.log_path, encoding="utf-8", errors="replace") as f:
        assert "pa55-w0rd" not in f.read()


def test_add_remove_pause_resume_persist(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    s.add_file("/blog.atom", file=BLOG)
    d = t.daemon({"news": s.url("/news.xml")}).start()
    d.wait_polled(["news"])

    doc = d.cli_ok("add", "extra", s.url("/blog.atom"))
    assert doc["feed"]["name"] == "extra", doc
    assert doc["feed"]["configured_url"] == s.url("/blog.atom"), doc
    d.wait_feed("extra", lambda f: f["last_status"] == 200, 10, "polled after add")
    assert d.count_items("extra") == len(feed_titles(BLOG))

    rc, _ = d.cli("add", "extra", s.url("/news.xml"))
    assert rc == 1 and "exists" in d.last[3], d.describe_last()
    rc, _ = d.cli("add", "bad name", s.url("/news.xml"))
    assert rc == 1, d.describe_last()
    rc, _ = d.cli("add", "local", "file:///etc/passwd")
    assert rc == 1 and "http" in d.last[3], d.describe_last()
    rc, _ = d.cli("add", "creds", "http://user:secret@127.0.0.1/x.xml")
    assert rc == 1 and "credentials" in d.last[3], d.describe_last()
    rc, _ = d.cli("remove", "news")
    assert rc == 1 and "in the config; remove it there" in d.last[3], d.describe_last()
    rc, _ = d.cli("pause", "nosuch")
    assert rc == 1 and "no feed" in d.last[3], d.describe_last()
    rc, _ = d.cli("add", "extra")
    assert rc == 2, d.describe_last()

    watcher = d.connect()
    assert watcher.request({"cmd": "watch"})["ok"] is True
    bad = watcher.request({"cmd": "pause", "name": 7})
    assert bad["ok"] is False and "name" in bad["error"], bad
    doc = d.cli_ok("pause", "news")
    assert doc["feed"]["state"] == "paused" and doc["feed"]["next_poll"] is None, doc
    ev = watcher.recv_line()
    assert ev["event"] == "feed" and ev["name"] == "news" and ev["state"] == "paused", ev
    watcher.close()
    before = s.count("/news.xml")
    cycle = d.poll_wait()
    assert cycle["polled"] == 1, cycle   # only extra: a paused feed is skipped
    assert s.count("/news.xml") == before
    assert d.status()["feeds"]["paused"] == 1

    # Both survive a restart; reload keeps the paused feed paused.
    assert d.stop() == 0
    d.start()
    state = d.feeds_state()
    assert state["news"]["state"] == "paused", state["news"]
    assert state["extra"]["state"] == "ok", state["extra"]
    assert state["extra"]["items"] == len(feed_titles(BLOG)), state["extra"]
    d.cli_ok("reload")
    state = d.feeds_state()
    assert state["news"]["state"] == "paused" and "extra" in state, state

    rc, _ = d.cli("resume", "news", json_out=False)
    assert rc == 0 and "resumed feed 'news'" in d.last[2], d.describe_last()
    d.wait_feed("news", lambda f: s.count("/news.xml") > before and f["state"] == "ok"
                and f["next_poll"], 10, "polled after resume")

    rc, _ = d.cli("remove", "extra", json_out=False)
    assert rc == 0 and "removed feed 'extra'" in d.last[2], d.describe_last()
    assert "extra" not in d.feeds_state()
    assert d.stop() == 0
    d.start()
    assert set(d.feeds_state()) == {"news"}
    # Its items stay: added again, nothing is new.
    d.cli_ok("add", "extra", s.url("/blog.atom"))
    d.wait_feed("extra", lambda f: f["last_status"] in (200, 304), 10, "polled after re-add")
    assert d.count_items("extra") == len(feed_titles(BLOG)) and d.duplicates() == []
    assert d.stop() == 0


def test_config_wins_over_runtime_add(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    s.add_file("/blog.atom", file=BLOG)
    d = t.daemon({"news": s.url("/news.xml")}).start()
    d.cli_ok("add", "later", s.url("/news.xml"))
    d.feeds["later"] = {"url": s.url("/blog.atom"), "interval": "2h"}
    d.write_config()
    d.cli_ok("reload")
    entry = d.wait_feed("later", lambda f: f["configured_url"] == s.url("/blog.atom"), 10,
                        "the config's URL")
    rc, _ = d.cli("remove", "later")
    assert rc == 1 and "in the config" in d.last[3], d.describe_last()
    # Dropped from the config again: it is gone, not a run-time feed any more.
    del d.feeds["later"]
    d.write_config()
    d.cli_ok("reload")
    assert "later" not in d.feeds_state()
    assert d.stop() == 0
    d.start()
    assert set(d.feeds_state()) == {"news"}, entry
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
