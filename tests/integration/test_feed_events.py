#!/usr/bin/python3
"""Feed events end to end, on a loopback server whose answers change between polls (each poll
asked for with `poll --wait FEED`, so the number of polls is exact): a feed that answers 410 is
disabled once (feed-disabled); one that fails max_failures times is disabled, and once it
answers again and is resumed it recovers (feed-recovered), as does one that failed three
times in a row (one that failed twice says nothing); a
permanent redirect moves a feed only on the third consecutive poll that sees it (feed-moved),
and one that flips back after two polls moves nothing; a feed with no new item for
stall_factor of its usual gaps (and stall_min) stalls once per stall (feed-stalled); a feed
whose document loses most of its items is purged (feed-purged). Each event reaches each hook
that takes it once, with FEEDWATCH_EVENT, FEEDWATCH_FEED and the JSON of PRODUCT.md; a feed's
`hooks` narrows its events to those hooks; hooks that do not list an event never get it; the
events are rows of feed_events, and `watch` streams them."""

import os
import sqlite3
import subprocess
import sys
import time

import fwtest

HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook_record.py")
FEED_EVENTS = ("feed-disabled, feed-moved, feed-recovered, feed-stalled, feed-purged,"
               " feed-ids-changed")


def rss(tag, keys, ids=None):
    """An RSS document with one item per key: guid urn:IDS:KEY (IDS: tag unless given), link
    http://x.test/TAG/KEY."""
    items = "".join(f"<item><title>{tag} {k}</title><link>http://x.test/{tag}/{k}</link>"
                    f"<guid isPermaLink=\"false\">urn:{ids or tag}:{k}</guid>"
                    f"<description>item {k} of {tag}</description></item>\n" for k in keys)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{tag}</title><link>http://x.test/{tag}</link>\n{items}</channel></rss>\n"
            ).encode()


def hook_section(name, outdir, events):
    return (f'\n[hook "{name}"]\nexec = {sys.executable} {HOOK} {outdir}\n'
            f"events = {events}\ntimeout = 10s\nretries = 2\n")


def events(d, feed=None):
    rows = d.query("SELECT e.event, f.name, e.url, e.feed_state, e.reason, e.state, e.id"
                   " FROM feed_events AS e JOIN feeds AS f ON f.id = e.feed_id ORDER BY e.id")
    return [r for r in rows if feed is None or r[1] == feed]


def runs_of(outdir):
    return [r for r in fwtest.hook_runs(outdir) if not r["failed"]]


def wait_delivered(d, n, timeout=30):
    return fwtest.wait_until(
        lambda: (lambda rows: rows if len(rows) >= n and all(
            r[5] in ("delivered", "no-hook") for r in rows) else None)(events(d)),
        timeout, f"{n} feed events delivered")


def setup(t, outs=("life", "other")):
    srv = t.httpd()
    dirs = {}
    for name in outs:
        dirs[name] = os.path.join(t.dir, "hook-" + name)
        os.mkdir(dirs[name])
    extra = hook_section("life", dirs["life"], FEED_EVENTS)
    if "other" in dirs:
        extra += hook_section("other", dirs["other"], "feed-disabled, feed-recovered")
    return srv, dirs, extra


def start(t, srv, feeds, extra, **settings):
    opts = {"interval": "1h", "min_interval": "1s", "max_failures": "3",
            "allow_private_addresses": "yes", "respect_feed_hints": "no"}
    opts.update(settings)
    d = t.daemon({}, **opts)
    d.write_config(fwtest.conf_text(d.settings, feeds, extra))
    d.start()
    return d


def test_disabled_and_recovered(t):
    srv, dirs, extra = setup(t)
    srv.add_status("/gone", 410)
    flaky = srv.add_file("/flaky", rss("flaky", [1, 2]))
    slow = srv.add_file("/slow", rss("slow", [1]))
    blip = srv.add_file("/blip", rss("blip", [1]))
    feeds = {"gone": {"url": srv.url("/gone"), "hooks": "life"},
             "flaky": srv.url("/flaky"), "slow": srv.url("/slow"), "blip": srv.url("/blip")}
    d = start(t, srv, feeds, extra, max_failures="5")
    d.wait_polled(["gone", "flaky", "slow", "blip"])
    assert d.feed("gone")["state"] == "disabled", d.feed("gone")
    # flaky: max_failures (5) failed polls disable it; slow fails 3 times (failing), blip
    # twice (a transient error: its end is not worth an event).
    srv.add_status("/flaky", 500)
    srv.add_status("/slow", 503)
    srv.add_status("/blip", 503)
    for _ in range(5):
        d.poll_wait("flaky")
    for _ in range(3):
        d.poll_wait("slow")
    for _ in range(2):
        d.poll_wait("blip")
    assert d.feed("flaky")["state"] == "disabled", d.feed("flaky")
    assert d.feed("slow")["state"] == "failing", d.feed("slow")
    assert d.feed("blip")["state"] == "failing", d.feed("blip")
    # All answer again: slow recovers at its next poll, flaky once resumed; blip says nothing.
    srv.routes["/flaky"] = ("file", flaky)
    srv.routes["/slow"] = ("file", slow)
    srv.routes["/blip"] = ("file", blip)
    d.poll_wait("slow")
    d.poll_wait("blip")
    d.cli_ok("resume", "flaky")
    d.poll_wait("flaky")
    d.poll_wait("flaky")   # a second good poll raises nothing more
    d.poll_wait("slow")
    rows = wait_delivered(d, 4)
    got = [(r[0], r[1]) for r in rows]
    assert sorted(got) == sorted([("feed-disabled", "gone"), ("feed-disabled", "flaky"),
                                  ("feed-recovered", "slow"), ("feed-recovered", "flaky")]), rows
    by = {(r[0], r[1]): r for r in rows}
    assert by[("feed-disabled", "gone")][4] == "HTTP 410 Gone", rows
    assert by[("feed-disabled", "gone")][3] == "disabled", rows
    assert "5 consecutive failures" in by[("feed-disabled", "flaky")][4], rows
    assert by[("feed-recovered", "slow")][4].startswith("back after failing (last error: "), rows
    assert "503" in by[("feed-recovered", "slow")][4], rows
    assert by[("feed-recovered", "flaky")][4] == "polled again after it was disabled", rows
    assert by[("feed-recovered", "flaky")][3] == "ok", rows

    # Each hook got each event it takes once; gone's `hooks = life` kept it from "other".
    life = runs_of(dirs["life"])
    other = runs_of(dirs["other"])
    key = lambda r: (r["env"]["FEEDWATCH_EVENT"], r["env"]["FEEDWATCH_FEED"])
    assert sorted(map(key, life)) == sorted(got), life
    assert sorted(map(key, other)) == sorted(g for g in got if g[1] != "gone"), other
    for r in life:
        env, doc = r["env"], r["stdin"]
        row = by[key(r)]
        assert doc["event"] == env["FEEDWATCH_EVENT"] and doc["feed"] == env["FEEDWATCH_FEED"]
        assert doc["event_id"] == row[6] and env["FEEDWATCH_EVENT_ID"] == str(row[6]), (doc, env)
        assert doc["feed_state"] == {"url": row[2], "state": row[3], "reason": row[4]}, doc
        assert env["FEEDWATCH_URL"] == row[2] and env["FEEDWATCH_REASON"] == row[4], env
        assert env["FEEDWATCH_FEED_STATE"] == row[3], env
        assert doc["raised"].endswith("Z"), doc
        assert "FEEDWATCH_ALERT_ID" not in env and "FEEDWATCH_TOPIC" not in env, env
    # No alert deliveries were made for them, and the metrics count them.
    assert d.query("SELECT count(*) FROM deliveries") == [(0,)]
    metrics = d.cli_ok("metrics")["text"]
    assert 'feedwatch_feed_events_total{event="feed-disabled"} 2' in metrics, metrics
    assert 'feedwatch_feed_events_total{event="feed-recovered"} 2' in metrics, metrics
    # A restart raises nothing again.
    assert d.stop() == 0
    d.start()
    d.poll_wait("slow")
    time.sleep(0.5)
    assert len(events(d)) == 4, events(d)
    assert len(runs_of(dirs["life"])) == 4
    assert d.stop() == 0


def test_move_needs_three_polls(t):
    srv, dirs, extra = setup(t, outs=("life",))
    srv.add_redirect("/old", "/new", 301)
    srv.add_file("/new", rss("moved", [1, 2]))
    srv.add_redirect("/flip", "/flip-a", 301)
    flip_a = srv.add_file("/flip-a", rss("flip", [1, 2]))
    feeds = {"moving": srv.url("/old"), "flipping": srv.url("/flip")}
    d = start(t, srv, feeds, extra)
    d.wait_polled(["moving", "flipping"])
    d.poll_wait("moving")
    # Two polls saw the redirect: the feed keeps its URL.
    assert d.feed("moving")["url"] == srv.url("/old"), d.feed("moving")
    assert events(d) == []
    d.poll_wait("moving")
    # The third applies it: one feed-moved, and polls go to the new URL from now on.
    assert d.feed("moving")["url"] == srv.url("/new"), d.feed("moving")
    before = srv.count("/old")
    assert before == 3, srv.count("/old")
    d.poll_wait("moving")
    assert srv.count("/old") == before

    # flipping: two polls see the redirect, then the old URL answers itself again.
    d.poll_wait("flipping")
    srv.routes["/flip"] = ("file", flip_a)
    for _ in range(3):
        d.poll_wait("flipping")
    # And it comes back: the count starts again from one.
    srv.add_redirect("/flip", "/flip-a", 301)
    d.poll_wait("flipping")
    d.poll_wait("flipping")
    assert d.feed("flipping")["url"] == srv.url("/flip"), d.feed("flipping")
    assert d.query("SELECT move_seen FROM feeds WHERE name = 'flipping'") == [(2,)]

    rows = wait_delivered(d, 1)
    assert [(r[0], r[1]) for r in rows] == [("feed-moved", "moving")], rows
    assert rows[0][2] == srv.url("/new"), rows
    assert rows[0][4] == (f"moved permanently from {srv.url('/old')} to {srv.url('/new')}"
                          " (seen on 3 consecutive polls)"), rows
    life = runs_of(dirs["life"])
    assert [(r["env"]["FEEDWATCH_EVENT"], r["env"]["FEEDWATCH_FEED"]) for r in life] == [
        ("feed-moved", "moving")], life
    assert d.stop() == 0


def test_move_confirmations_per_feed(t):
    srv, dirs, extra = setup(t, outs=("life",))
    srv.add_redirect("/old", "/new", 301)
    srv.add_file("/new", rss("moved", [1]))
    feeds = {"quick": {"url": srv.url("/old"), "move_confirmations": "1"}}
    d = start(t, srv, feeds, extra, move_confirmations="5")
    d.wait_polled(["quick"])
    assert d.feed("quick")["url"] == srv.url("/new"), d.feed("quick")
    rows = wait_delivered(d, 1)
    assert "seen on 1 consecutive polls" in rows[0][4], rows
    assert d.stop() == 0


def quiet_past_limit(d, factor=2, minimum=3.0):
    """Sleeps until the feed 's' has had no new item for longer than its stall limit."""
    gap, last = d.query("SELECT new_gap, last_new_at FROM feeds WHERE name = 's'")[0]
    assert gap and gap > 0 and last, (gap, last)
    until = last + max(factor * gap, minimum) + 1.0
    time.sleep(max(0.0, until - time.time()))


def test_stall_once_per_stall(t):
    srv, dirs, extra = setup(t, outs=("life",))
    content = srv.add_file("/s", rss("s", [0]))
    feeds = {"s": srv.url("/s")}
    d = start(t, srv, feeds, extra, stall_factor="2", stall_min="3s")
    d.wait_polled(["s"])
    # A new item on each of four polls a second apart: its usual gap is about a second (the
    # first poll's items are the feed's past, and the first new item only starts the measure).
    for k in (1, 2, 3, 4):
        time.sleep(1.0)
        content.set(rss("s", range(k + 1)))
        d.poll_wait("s")
    d.poll_wait("s")
    assert events(d) == [], events(d)
    # Quiet for longer than stall_min and 2 x its usual gap (as learnt: about a second, more
    # on a loaded machine): stalled, once.
    quiet_past_limit(d)
    d.poll_wait("s")
    d.poll_wait("s")
    rows = wait_delivered(d, 1)
    assert [(r[0], r[1]) for r in rows] == [("feed-stalled", "s")], rows
    assert rows[0][4].startswith("no new item for "), rows
    # A new item clears it; a second quiet spell is a second stall.
    content.set(rss("s", range(6)))
    d.poll_wait("s")
    assert d.query("SELECT stalled FROM feeds WHERE name = 's'") == [(0,)]
    quiet_past_limit(d)
    d.poll_wait("s")
    d.poll_wait("s")
    rows = wait_delivered(d, 2)
    assert [(r[0], r[1]) for r in rows] == [("feed-stalled", "s")] * 2, rows
    assert len(runs_of(dirs["life"])) == 2
    assert d.stop() == 0


def test_purge_and_watch(t):
    srv, dirs, extra = setup(t, outs=("life",))
    content = srv.add_file("/p", rss("p", range(10)))
    small = srv.add_file("/small", rss("small", range(4)))
    feeds = {"p": srv.url("/p"), "small": srv.url("/small")}
    d = start(t, srv, feeds, extra)
    d.wait_polled(["p", "small"])
    watch = d.connect()
    assert watch.request({"cmd": "watch"})["watching"] is True
    # 10 items, then 4 once, then 10: one short document is no purge (a server that answers
    # with a shorter variant now and then). A feed of 4 going to 1 is too small.
    content.set(rss("p", range(4)))
    d.poll_wait("p")
    content.set(rss("p", range(10)))
    d.poll_wait("p")
    assert events(d) == [], events(d)
    # 10, then 3 on two polls in a row: most of them vanished.
    content.set(rss("p", range(3)))
    small.set(rss("small", range(1)))
    d.poll_wait("p")
    d.poll_wait("small")
    d.poll_wait("small")
    assert events(d) == [], events(d)
    d.poll_wait("p")
    # 3, then 2 (not less than half of 3), and then short again within a day: nothing more.
    content.set(rss("p", range(2)))
    d.poll_wait("p")
    content.set(rss("p", range(10)))
    d.poll_wait("p")
    content.set(rss("p", range(1)))
    d.poll_wait("p")
    d.poll_wait("p")
    rows = wait_delivered(d, 1)
    assert [(r[0], r[1]) for r in rows] == [("feed-purged", "p")], rows
    assert rows[0][4] == "7 of the 10 items of its document are gone (two polls in a row)", rows
    line = fwtest.wait_until(
        lambda: (lambda ev: ev if ev.get("event") == "feed-purged" else None)(watch.recv_line()),
        10, "a feed-purged watch line")
    assert line["feed"] == "p" and line["feed_state"]["state"] == "ok", line
    assert line["feed_state"]["reason"] == rows[0][4], line
    watch.close()
    assert d.stop() == 0


def test_a_new_url_is_a_new_baseline(t):
    """review20 L3: the user points a feed at another URL (a new source, with its own size and
    pace): the old source's pace is no baseline for a stall, nor its document's size for a
    purge."""
    srv, dirs, extra = setup(t, outs=("life",))
    old = srv.add_file("/s", rss("s", range(10)))
    new = srv.add_file("/new", rss("new", range(3)))
    settings = {"stall_factor": "2", "stall_min": "3s"}
    d = start(t, srv, {"s": srv.url("/s")}, extra, **settings)
    d.wait_polled(["s"])
    for k in (1, 2, 3):  # the old source's pace: a new item a second
        time.sleep(1.0)
        old.set(rss("s", range(10 + k)))
        d.poll_wait("s")
    assert d.query("SELECT doc_items FROM feeds WHERE name = 's'") == [(13,)]
    gap, last = d.query("SELECT new_gap, last_new_at FROM feeds WHERE name = 's'")[0]
    assert gap and gap > 0 and last, (gap, last)
    d.write_config(fwtest.conf_text(d.settings, {"s": srv.url("/new")}, extra))
    d.cli_ok("reload")
    d.poll_wait("s")  # the new source's first document: its past
    time.sleep(max(0.0, last + max(2 * gap, 3.0) + 1.0 - time.time()))  # the old pace's limit
    for i in range(2):  # a document each time (no 304), the same three items
        new.set(rss("new", range(3)).replace(b"<title>new</title>",
                                             f"<title>new {i}</title>".encode()))
        d.poll_wait("s")
    assert d.query("SELECT doc_items, stalled FROM feeds WHERE name = 's'") == [(3, 0)]
    assert events(d) == [], events(d)
    assert d.stop() == 0


def test_ids_changed_raise_nothing_again(t):
    srv, dirs, extra = setup(t, outs=("life", "other"))
    alerts_out = os.path.join(t.dir, "hook-alerts")
    os.mkdir(alerts_out)
    extra += hook_section("alerts", alerts_out, "alert")
    extra += '\n[topic "all"]\nmatch = item\nhooks = alerts\n'
    content = srv.add_file("/r", rss("r", range(6)))
    part = srv.add_file("/q", rss("q", range(6)))
    d = start(t, srv, {"r": srv.url("/r"), "q": srv.url("/q")}, extra)
    d.wait_polled(["r", "q"])
    first = d.cli_ok("alerts", "--limit", "1000")["alerts"]
    assert len(first) == 12, first
    assert d.count_items() == 12
    # Every guid of r changes, the links stay: no item is new, no alert is raised again.
    content.set(rss("r", range(6), ids="r2"))
    cycle = d.poll_wait("r")
    assert cycle["new_items"] == 0 and cycle["alerts"] == 0, cycle
    assert d.count_items() == 12
    assert d.query("SELECT count(*) FROM items WHERE key LIKE 'urn:r2:%'") == [(6,)]
    # The next poll knows them by their new keys: nothing again.
    cycle = d.poll_wait("r")
    assert cycle["new_items"] == 0 and cycle["alerts"] == 0, cycle
    # One guid of six changes in q: re-keyed too, but not the feed's ids changing.
    part.set(rss("q", range(5)) .replace(b"</channel>", b"") .replace(b"</rss>\n", b"") +
             b"<item><title>q 5</title><link>http://x.test/q/5</link><guid>urn:other:5</guid>"
             b"<description>item 5 of q</description></item></channel></rss>\n")
    cycle = d.poll_wait("q")
    assert cycle["new_items"] == 0 and cycle["alerts"] == 0, cycle
    # A really new item still is one.
    content.set(rss("r", range(7), ids="r2"))
    cycle = d.poll_wait("r")
    assert cycle["new_items"] == 1 and cycle["alerts"] == 1, cycle
    rows = wait_delivered(d, 1)
    assert [(r[0], r[1]) for r in rows] == [("feed-ids-changed", "r")], rows
    assert rows[0][4] == "6 of its 6 items have new ids, their links unchanged: not new items"
    # Each alert reached its hook once; the event reached the one hook that takes it.
    fwtest.wait_until(lambda: len(runs_of(alerts_out)) == 13, 30, "13 alerts delivered")
    ran = [int(r["env"]["FEEDWATCH_ALERT_ID"]) for r in runs_of(alerts_out)]
    assert len(ran) == len(set(ran)) == 13, ran
    assert all(r["stdin"]["event"] == "alert" for r in runs_of(alerts_out))
    assert [r["env"]["FEEDWATCH_EVENT"] for r in runs_of(dirs["life"])] == ["feed-ids-changed"]
    assert runs_of(dirs["other"]) == []
    assert d.duplicates() == []
    assert d.stop() == 0


def items_doc(items):
    """An RSS document of items (guid, title, link)."""
    body = "".join(f"<item><title>{t}</title><link>{lk}</link>"
                   f'<guid isPermaLink="false">{g}</guid><description>{t}</description></item>\n'
                   for g, t, lk in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>n</title><link>http://x.test/</link>\n{body}</channel></rss>\n").encode()


def test_a_new_story_at_an_old_link_is_new(t):
    """review20 H1: a new guid at a stored item's link is that item under a new id only when
    its title (and date) say so too. A feed listing only its latest warning at one address,
    and a daily briefing at a fixed address among other items: each new story is a new item
    and an alert (before, they were taken for the old items and never alerted)."""
    srv, dirs, extra = setup(t, outs=("life",))
    alerts_out = os.path.join(t.dir, "hook-alerts")
    os.mkdir(alerts_out)
    extra += hook_section("alerts", alerts_out, "alert")
    extra += '\n[topic "all"]\nmatch = warning OR news\nhooks = alerts\n'
    status = "http://x.test/status"
    warn = srv.add_file("/status", items_doc([("urn:w:1", "warning one: flood", status)]))
    brief = "http://x.test/briefing"
    day1 = [(k, f"news {k}", f"http://x.test/{k}") for k in "abcd"]
    news = srv.add_file("/n", items_doc(day1 + [("brief-mon", "news briefing monday", brief)]))
    d = start(t, srv, {"status": srv.url("/status"), "n": srv.url("/n")}, extra)
    d.wait_polled(["status", "n"])
    for k, title in ((2, "warning two: storm surge"), (3, "warning three: evacuate now")):
        warn.set(items_doc([(f"urn:w:{k}", title, status)]))
        cycle = d.poll_wait("status")
        assert cycle["new_items"] == 1 and cycle["alerts"] == 1, cycle
    news.set(items_doc([("e", "news e", "http://x.test/e")] + day1[:3] +
                       [("brief-tue", "news briefing tuesday: ceasefire collapses", brief)]))
    cycle = d.poll_wait("n")
    assert cycle["new_items"] == 2 and cycle["alerts"] == 2, cycle
    assert d.query("SELECT title FROM items WHERE key = 'brief-tue'") == [
        ("news briefing tuesday: ceasefire collapses",)]
    assert d.query("SELECT count(*) FROM items WHERE key LIKE 'urn:w:%'") == [(3,)]
    # The same story under a new guid (its fields and link unchanged) is still the stored one.
    # (Three stored warnings share the status link: none is "the" item of that link, so a new
    # guid there is a new item, as before.)
    news.set(items_doc([("e", "news e", "http://x.test/e"), ("a2", "news a", "http://x.test/a")] +
                       day1[1:3] +
                       [("brief-tue", "news briefing tuesday: ceasefire collapses", brief)]))
    cycle = d.poll_wait("n")
    assert cycle["new_items"] == 0 and cycle["alerts"] == 0, cycle
    assert d.query("SELECT title FROM items WHERE key = 'a2'") == [("news a",)]
    assert events(d) == [], events(d)
    # An undated daily briefing: one title, one address, a new guid and a new text each day
    # (review21 H3). Its fields are not the stored item's: a new item, not a re-key.
    morning = "http://x.test/morning"
    daily = srv.add_file("/d", items_doc([("brief-1", "Morning briefing", morning)]))
    d.cli_ok("add", "daily", srv.url("/d"))
    d.wait_polled(["daily"])
    daily.set(items_doc([("brief-2", "Morning briefing", morning)]).replace(
        b"<description>Morning briefing</description>",
        b"<description>An earthquake struck the coast overnight.</description>"))
    cycle = d.poll_wait("daily")
    assert cycle["new_items"] == 1, cycle
    assert d.duplicates() == []
    assert d.stop() == 0


def test_a_site_moved_to_https_raises_nothing_again(t):
    """review20 L1: a site moves to https, and its RSS permalink guids (its links) change with
    its links: the items are the stored ones under new keys, not new items alerted again. A new
    story at the https form of an old link is still new."""
    srv, dirs, extra = setup(t, outs=("life",))
    alerts_out = os.path.join(t.dir, "hook-alerts")
    os.mkdir(alerts_out)
    extra += hook_section("alerts", alerts_out, "alert")
    extra += '\n[topic "all"]\nmatch = news\nhooks = alerts\n'

    def doc(scheme, keys, titles=None):
        titles = titles or {}
        return items_doc([(f"{scheme}://x.test/n/{k}", titles.get(k, f"news {k}"),
                           f"{scheme}://x.test/n/{k}") for k in keys])

    site = srv.add_file("/n", doc("http", "abcd"))
    d = start(t, srv, {"n": srv.url("/n")}, extra)
    d.wait_polled(["n"])
    assert d.count_items() == 4
    site.set(doc("https", "abcde", {"d": "news d: a new story at an old address"}))
    cycle = d.poll_wait("n")
    assert cycle["new_items"] == 2 and cycle["alerts"] == 2, cycle  # e, and the new d
    assert d.query("SELECT count(*) FROM items WHERE key LIKE 'https:%'") == [(5,)]
    rows = wait_delivered(d, 1)
    assert [(r[0], r[1]) for r in rows] == [("feed-ids-changed", "n")], rows
    assert rows[0][4] == ("3 of its 5 items have new ids, their links unchanged (3 moved between"
                          " http and https): not new items"), rows
    cycle = d.poll_wait("n")
    assert cycle["new_items"] == 0 and cycle["alerts"] == 0, cycle
    # One story at both schemes under two new guids where one stored item was (review11 L6):
    # its link is not the document's one item's, so neither is taken for the stored item (both
    # onto one item left one of them neither stored nor new): two new items, once.
    def f_items(*entries):
        return b"".join(f'<item><title>news f</title><link>{link}</link><guid isPermaLink='
                        f'"false">{g}</guid><description>news f</description></item>'.encode()
                        for g, link in entries) + b"</channel>"
    base = doc("https", "abcde", {"d": "news d: a new story at an old address"})
    site.set(base.replace(b"</channel>", f_items(("g0", "http://x.test/n/f"))))
    cycle = d.poll_wait("n")
    assert cycle["new_items"] == 1, cycle
    site.set(base.replace(b"</channel>", f_items(("g1", "http://x.test/n/f"),
                                                 ("g2", "https://x.test/n/f"))))
    cycle = d.poll_wait("n")
    assert cycle["new_items"] == 2, cycle
    assert d.query("SELECT key FROM items WHERE key IN ('g0', 'g1', 'g2') ORDER BY key") == [
        ("g0",), ("g1",), ("g2",)]
    cycle = d.poll_wait("n")
    assert cycle["new_items"] == 0 and cycle["alerts"] == 0, cycle
    assert d.stop() == 0


def test_a_poll_not_stored_keeps_the_feed_life(t):
    """review20 H2: the poll that completes a move, and the one that ends a failure, cannot
    be stored (the database locked past the busy timeout): the feed's life stays as it was,
    so the next stored polls raise feed-moved and feed-recovered (before, the move was applied
    in memory with no event, and the recovery was forgotten)."""
    srv, dirs, extra = setup(t, outs=("life",))
    srv.add_redirect("/old", "/new", 301)
    srv.add_file("/new", rss("moved", [1, 2]))
    blip = srv.add_file("/blip", rss("blip", [1]))
    d = start(t, srv, {"moving": srv.url("/old"), "blip": srv.url("/blip")}, extra,
              max_failures="5")
    d.wait_polled(["moving", "blip"])
    d.poll_wait("moving")                       # 2 of 3 confirmations
    srv.add_status("/blip", 503)
    for _ in range(3):
        d.poll_wait("blip")                     # failing
    srv.routes["/blip"] = ("file", blip)
    lock = sqlite3.connect(d.db, isolation_level=None, timeout=30)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        d.cli("poll", "--wait", "moving", timeout=60)
        d.cli("poll", "--wait", "blip", timeout=60)
        fwtest.wait_until(lambda: d.log().count("cannot save the poll") >= 2, 60,
                          "two polls not stored")
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert events(d) == [], events(d)
    # The URL in use is still the configured one until a stored poll moves it.
    assert d.query("SELECT url FROM feeds WHERE name = 'moving'")[0][0] in (None, srv.url("/old"))
    d.poll_wait("moving")
    d.poll_wait("blip")
    rows = wait_delivered(d, 2)
    assert sorted((r[0], r[1]) for r in rows) == [("feed-moved", "moving"),
                                                   ("feed-recovered", "blip")], rows
    assert d.query("SELECT url FROM feeds WHERE name = 'moving'") == [(srv.url("/new"),)]
    assert d.stop() == 0


def test_ids_that_flip_raise_once(t):
    """review20 M3: ids that change on every poll (two backends answering in turn) re-key the
    items each time but raise feed-ids-changed once (a week), not on every poll."""
    srv, dirs, extra = setup(t, outs=("life",))
    content = srv.add_file("/m", rss("m", range(6), ids="node1"))
    d = start(t, srv, {"m": srv.url("/m")}, extra)
    d.wait_polled(["m"])
    for k in range(4):
        content.set(rss("m", range(6), ids="node2" if k % 2 == 0 else "node1"))
        cycle = d.poll_wait("m")
        assert cycle["new_items"] == 0 and cycle["alerts"] == 0, cycle
    rows = wait_delivered(d, 1)
    assert [r[0] for r in rows] == ["feed-ids-changed"], rows
    assert d.count_items() == 6
    assert d.stop() == 0


def test_events_cli_and_failed_delivery(t):
    srv = t.httpd()
    srv.add_status("/gone", 410)
    srv.add_file("/ok", rss("ok", [1]))
    good, bad = os.path.join(t.dir, "good"), os.path.join(t.dir, "bad")
    os.mkdir(good)
    os.mkdir(bad)
    extra = (hook_section("good", good, "feed-disabled") +
             f'\n[hook "bad"]\nexec = {sys.executable} {HOOK} {bad} --fail 100\n'
             "events = feed-disabled\nretries = 0\n")
    d = start(t, srv, {"gone": srv.url("/gone"), "ok": srv.url("/ok")}, extra)
    d.wait_polled(["gone", "ok"])
    got = fwtest.wait_until(
        lambda: (lambda ev: ev if ev and ev[0]["state"] == "failed" else None)(
            d.cli_ok("events")["events"]), 30, "the event's delivery to bad failed")
    assert len(got) == 1, got
    ev = got[0]
    assert ev["event"] == "feed-disabled" and ev["feed"] == "gone", ev
    assert ev["feed_state"] == {"url": srv.url("/gone"), "state": "disabled",
                                "reason": "HTTP 410 Gone"}, ev
    hooks = {x["hook"]: x["state"] for x in ev["deliveries"]}
    assert hooks == {"bad": "failed", "good": "delivered"}, ev
    assert [e["id"] for e in d.cli_ok("events", "--failed")["events"]] == [ev["id"]]
    rc, _ = d.cli("events", json_out=False)
    out = d.last[2]
    assert rc == 0 and "feed-disabled" in out and "gone" in out and "HTTP 410 Gone" in out, out
    assert len(runs_of(good)) == 1 and len(fwtest.hook_runs(bad)) == 1
    # `redeliver --failed` covers feed events' failed deliveries too (not the delivered one).
    again = d.cli_ok("redeliver", "--failed")
    assert again["queued"] == 1 and again["deliveries"] == [
        {"event": ev["id"], "hook": "bad", "name": "feed-disabled"}], again
    fwtest.wait_until(lambda: len(fwtest.hook_runs(bad)) == 2, 30, "bad run again")
    fwtest.wait_until(lambda: d.cli_ok("events", "--failed")["events"], 30, "failed again")
    assert len(runs_of(good)) == 1
    rc, _ = d.cli("redeliver", "--failed", "--hook", "bad", json_out=False)
    assert rc == 0 and f"feed event {ev['id']} to hook bad" in d.last[2], d.last
    assert d.stop() == 0


def check(path):
    p = subprocess.run([fwtest.FEEDWATCHD, "--check", "--config", path], capture_output=True,
                       text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def test_hook_events_validated(t):
    d = t.daemon({})
    d.write_config(fwtest.conf_text(d.settings, {}, '\n[hook "h"]\nexec = /bin/true\n'
                                    "events = alert, feed-exploded\n"))
    rc, out = check(d.conf)
    assert rc != 0 and "unknown event 'feed-exploded'" in out, (rc, out)
    # A topic cannot name a hook that does not take alerts; a feed's hooks must exist.
    d.write_config(fwtest.conf_text(
        d.settings, {"f": {"url": "http://127.0.0.1:9/f", "hooks": "nope"}},
        '\n[hook "h"]\nexec = /bin/true\nevents = feed-moved\n'
        '\n[topic "t"]\nmatch = x\nhooks = h\n'))
    rc, out = check(d.conf)
    assert rc != 0 and "does not take alerts" in out and 'no [hook "nope"]' in out, (rc, out)


if __name__ == "__main__":
    fwtest.main()
