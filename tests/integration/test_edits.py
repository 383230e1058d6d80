#!/usr/bin/python3
"""Edited items end to end, on a loopback server whose document changes between polls (each
poll asked for with `poll --wait FEED`, so the number of polls is exact): an item whose title or
text changes materially keeps the version it replaced (`feedwatch item ID` shows `versions`) on
every topic's setting; with `on_update = ignore` nothing is delivered; with `on_update = alert`
the hooks of the topic that take item-updated get exactly one item-updated delivery on the
item's alert (the same alert id), with the changes (title before/after, sentences removed and
added); an edit that makes an item match a topic raises its alert (to the hooks that take
alert) and an item-updated on it (to those that take item-updated); a whitespace-only or
tracking-parameter-only edit raises nothing and keeps no version; a second edit within the hour
raises nothing; a restart raises nothing again; `feedwatch alerts` shows the item-updated's
delivery state, `watch` streams it, metrics count it."""

import json
import os
import sqlite3
import sys

import fwtest

HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook_record.py")


def rss(items):
    """An RSS document of (key, title, description) items."""
    body = "".join(f"<item><title>{t}</title><link>http://x.test/{k}</link>"
                   f'<guid isPermaLink="false">urn:{k}</guid>'
                   f"<description><![CDATA[{d}]]></description></item>\n"
                   for k, t, d in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>news</title><link>http://x.test/</link>\n{body}</channel></rss>\n").encode()


TALKS = ("talks", "Ceasefire talks planned in Geneva",
         "<p>Delegations arrive on Monday. The envoy was hopeful.</p>")
OTHER = ("other", "Harvest festival opens",
         "<p>The village fair opens today. Ceasefire is not a word here."
         " Read http://x.test/fair?id=2 now.</p>")


def setup(t, on_update):
    srv = t.httpd()
    doc = srv.add_file("/news.xml", rss([TALKS, OTHER]))
    dirs = {}
    extra = ""
    for name, events in (("alerts", "alert"), ("edits", "alert, item-updated")):
        dirs[name] = os.path.join(t.dir, "hook-" + name)
        os.mkdir(dirs[name])
        extra += (f'\n[hook "{name}"]\nexec = {sys.executable} {HOOK} {dirs[name]}\n'
                  f"events = {events}\ntimeout = 10s\nretries = 2\n")
    extra += ('\n[topic "geneva"]\nmatch = geneva AND ceasefire\nhooks = alerts, edits\n'
              f"on_update = {on_update}\n")
    extra += ('\n[topic "collapse"]\nmatch = collapse\nhooks = alerts, edits\n'
              f"on_update = {on_update}\n")
    d = t.daemon({}, interval="1h", min_interval="1s", allow_private_addresses="yes",
                 respect_feed_hints="no")
    d.write_config(fwtest.conf_text(d.settings, {"news": srv.url("/news.xml")}, extra))
    d.start()
    d.wait_polled(["news"])
    return srv, doc, dirs, d


def item_id(d, key):
    return d.query("SELECT id FROM items WHERE key = ?", (key,))[0][0]


def runs(outdir):
    return [r for r in fwtest.hook_runs(outdir) if not r["failed"]]


def updates(d):
    return d.query("SELECT id, alert_id, state FROM feed_events WHERE event = 'item-updated'"
                   " ORDER BY id")


def settle(d, dirs):
    """Waits until every delivery is settled and the hooks' runs are written."""
    fwtest.wait_until(lambda: not d.query(
        "SELECT 1 FROM deliveries WHERE state IN ('pending', 'running') UNION ALL"
        " SELECT 1 FROM event_deliveries WHERE state IN ('pending', 'running')"), 30,
        "the deliveries settled")
    want = {name: d.query("SELECT count(*) FROM deliveries WHERE hook = ? AND state ="
                          " 'delivered'", (name,))[0][0] + d.query(
        "SELECT count(*) FROM event_deliveries WHERE hook = ? AND state = 'delivered'",
        (name,))[0][0] for name in dirs}
    fwtest.wait_until(lambda: all(len(runs(dirs[n])) >= want[n] for n in dirs), 15,
                      "the hooks' runs recorded")


def edit_talks(doc):
    doc.set(rss([("talks", "Ceasefire talks collapse in Geneva",
                  "<p>Delegations arrive on Monday. The envoy walked out.</p>"), OTHER]))


def flood_daemon(t, srv):
    """A daemon polling srv's /flood.xml, whose topic "reactor" (on_update = alert) hears of
    edits; started, the feed polled once."""
    extra = ('\n[hook "edits"]\nexec = /bin/true\nevents = alert, item-updated\n'
             '\n[topic "reactor"]\nmatch = reactor\nhooks = edits\non_update = alert\n')
    d = t.daemon({}, interval="1h", min_interval="1s", allow_private_addresses="yes",
                 respect_feed_hints="no")
    d.write_config(fwtest.conf_text(d.settings, {"flood": srv.url("/flood.xml")}, extra))
    d.start()
    d.wait_polled(["flood"])
    return d


def test_ignore_keeps_versions_delivers_nothing(t):
    srv, doc, dirs, d = setup(t, "ignore")
    settle(d, dirs)
    alerts_before = d.query("SELECT count(*) FROM alerts")[0][0]
    assert alerts_before == 1, d.query("SELECT topic, item_id FROM alerts")
    edit_talks(doc)
    d.poll_wait("news")
    settle(d, dirs)
    item = d.cli_ok("item", str(item_id(d, "urn:talks")))["item"]
    assert item["title"] == "Ceasefire talks collapse in Geneva", item
    assert len(item["versions"]) == 1, item
    v = item["versions"][0]
    assert v["title"] == "Ceasefire talks planned in Geneva", v
    assert "The envoy was hopeful." in v["text"], v
    assert {"field": "title", "before": "Ceasefire talks planned in Geneva",
            "after": "Ceasefire talks collapse in Geneva"} in v["changes"], v
    # Nothing delivered, no alert raised (the edit now matches "collapse": ignored too).
    assert updates(d) == [], updates(d)
    assert d.query("SELECT count(*) FROM alerts")[0][0] == alerts_before
    assert all(r["stdin"]["event"] == "alert" for n in dirs for r in runs(dirs[n]))
    assert d.stop() == 0


def test_alert_delivers_one_update_on_the_alert(t):
    srv, doc, dirs, d = setup(t, "alert")
    settle(d, dirs)
    talks = item_id(d, "urn:talks")
    (alert,) = d.query("SELECT id FROM alerts WHERE topic = 'geneva' AND item_id = ?", (talks,))[0]
    w = d.connect()
    assert w.request({"cmd": "watch"})["watching"] is True
    edit_talks(doc)
    d.poll_wait("news")
    settle(d, dirs)

    # geneva: its alert gets one item-updated; collapse: a new alert, and an item-updated on it.
    rows = updates(d)
    assert len(rows) == 2 and all(r[2] == "delivered" for r in rows), rows
    geneva = [r for r in runs(dirs["edits"]) if r["stdin"]["event"] == "item-updated"
              and r["stdin"]["topic"] == "geneva"]
    assert len(geneva) == 1, runs(dirs["edits"])
    run = geneva[0]
    assert run["env"]["FEEDWATCH_EVENT"] == "item-updated", run
    assert run["env"]["FEEDWATCH_ALERT_ID"] == str(alert), run
    assert run["env"]["FEEDWATCH_TOPIC"] == "geneva", run
    assert run["env"]["FEEDWATCH_TITLE"] == "Ceasefire talks collapse in Geneva", run
    assert run["env"]["FEEDWATCH_FEED"] == "news", run
    body = run["stdin"]
    assert body["alert_id"] == alert and body["item"]["id"] == talks, body
    assert body["edited_item"]["item"] == talks, body
    assert body["edited_item"]["title"] == "Ceasefire talks collapse in Geneva", body
    changes = {c["field"]: c for c in body["changes"]}
    assert changes["title"]["before"] == "Ceasefire talks planned in Geneva", body
    assert changes["title"]["after"] == "Ceasefire talks collapse in Geneva", body
    assert changes["text"]["before"] == ["The envoy was hopeful."], body
    assert changes["text"]["after"] == ["The envoy walked out."], body
    assert changes["text"]["removed"] == 1 and changes["text"]["added"] == 1, body
    # Never a second alert row for (geneva, talks); collapse raised its first.
    assert d.query("SELECT count(*) FROM alerts WHERE topic = 'geneva'")[0][0] == 1
    (collapse,) = d.query("SELECT id FROM alerts WHERE topic = 'collapse' AND item_id = ?",
                          (talks,))[0]
    new = [r["stdin"] for r in runs(dirs["edits"]) if r["stdin"]["topic"] == "collapse"]
    assert sorted(b["event"] for b in new) == ["alert", "item-updated"], new
    assert all(b["alert_id"] == collapse for b in new), new
    # The hook that takes alert only got the new alert, no item-updated.
    plain = [r["stdin"]["event"] for r in runs(dirs["alerts"])]
    assert sorted(plain) == ["alert", "alert"], plain
    # `alerts` shows the item-updated's delivery state; `watch` streamed it; metrics count it.
    listed = {a["id"]: a for a in d.cli_ok("alerts")["alerts"]}
    up = listed[alert]["updates"]
    assert len(up) == 1 and up[0]["state"] == "delivered", listed[alert]
    assert [x["hook"] for x in up[0]["deliveries"]] == ["edits"], up
    assert up[0]["deliveries"][0]["state"] == "delivered", up
    assert listed[alert]["story_sources"] == [], listed[alert]
    # The journal names it as what it is (review: it said "feed event N").
    assert f"'edits': item-updated {up[0]['id']} delivered (attempt 1)" in d.log()
    assert f"feed event {up[0]['id']}" not in d.log()
    # The same, as people read them.
    rc, _ = d.cli("alerts", json_out=False)
    assert rc == 0 and "item-updated" in d.last[2] and "edits: delivered" in d.last[2], \
        d.describe_last()
    rc, _ = d.cli("item", str(talks), json_out=False)
    out = d.last[2]
    assert rc == 0 and "Ceasefire talks planned in Geneva" in out, d.describe_last()
    assert "- The envoy was hopeful." in out and "+ The envoy walked out." in out, out
    seen = fwtest.wait_until(
        lambda: (lambda e: e if e.get("event") == "item-updated" and e.get("alert") == alert
                 else None)(w.recv_line()), 15, "an item-updated watch line")
    assert seen["topic"] == "geneva" and seen["item"] == talks, seen
    assert any(c["field"] == "title" for c in seen["changes"]), seen
    w.close()
    rc, _ = d.cli("metrics", json_out=False)
    text = d.last[2]
    assert rc == 0, d.describe_last()
    assert "feedwatch_item_edits_total 1" in text, text
    assert "feedwatch_item_updates_total 2" in text, text

    # A second edit within the hour: nothing (the item is compared again after the hour).
    doc.set(rss([("talks", "Ceasefire talks collapse in Geneva again",
                  "<p>Delegations left on Monday.</p>"), OTHER]))
    d.poll_wait("news")
    settle(d, dirs)
    assert len(updates(d)) == 2, updates(d)
    assert len(d.cli_ok("item", str(talks))["item"]["versions"]) == 1
    # The edit waits, so the feed keeps no validators: the next poll gets the document whole
    # (a 304 would hide the waiting edit for as long as the feed does not change again;
    # review21 H4), not "not modified".
    d.poll_wait("news")
    assert srv.statuses("/news.xml")[-1] == 200, srv.statuses("/news.xml")
    last = srv.requests("/news.xml")[-1]["headers"]
    assert "if-none-match" not in last and "if-modified-since" not in last, last

    # A restart: nothing raised again, nothing delivered again.
    n_runs = {n: len(runs(dirs[n])) for n in dirs}
    assert d.stop() == 0
    d.start()
    d.poll_wait("news")
    settle(d, dirs)
    assert len(updates(d)) == 2, updates(d)
    assert {n: len(runs(dirs[n])) for n in dirs} == n_runs
    assert d.stop() == 0


def test_a_feed_rewriting_all_its_items_raises_50_a_poll(t):
    """A feed that rewrites all its items at once (hostile review L2): one poll compares 50 of
    them at most (50 item-updated), says how many wait, and keeps no validators; the others
    keep their old fingerprint and are compared at the next poll, so none is lost, and each
    item raises one item-updated. (Lower case, distinct numbers: no story joins two items.)"""
    n = 60
    srv = t.httpd()
    doc = srv.add_file("/flood.xml", rss([(f"r{k}", f"reactor report {k + 100}",
                                           f"<p>the reactor unit {k + 100} runs.</p>")
                                          for k in range(n)]))
    d = flood_daemon(t, srv)
    assert d.query("SELECT count(*) FROM alerts")[0][0] == n
    doc.set(rss([(f"r{k}", f"reactor report {k + 100} revised",
                  f"<p>the reactor unit {k + 100} stopped.</p>") for k in range(n)]))
    d.poll_wait("flood")
    assert len(updates(d)) == 50, len(updates(d))
    d.wait_log("poll: feed 'flood': 10 changed items wait for the next poll (50 compared, the"
               " most a poll)")
    d.poll_wait("flood")
    last = srv.requests("/flood.xml")[-1]["headers"]
    assert "if-none-match" not in last and "if-modified-since" not in last, last
    rows = updates(d)
    assert len(rows) == n and len({r[1] for r in rows}) == n, rows
    versions = d.query("SELECT count(*) FROM item_versions")[0][0]
    assert versions == n, versions
    # Nothing waits any more: the next poll compares nothing and raises nothing.
    d.poll_wait("flood")
    assert len(updates(d)) == n
    assert d.stop() == 0


def test_an_edit_of_a_once_run_is_indexed(t):
    """review11 M4: a `--once` run stops right after its poll; the edit it stored is indexed
    before it exits (the indexer works its queue at stop), so the next start finds the item by
    its new words."""
    srv = t.httpd()
    doc = srv.add_file("/news.xml", rss([TALKS, OTHER]))
    d = t.daemon({}, interval="1h", min_interval="1s", allow_private_addresses="yes",
                 respect_feed_hints="no")
    d.write_config(fwtest.conf_text(d.settings, {"news": srv.url("/news.xml")}, ""))
    d.start()
    d.wait_polled(["news"])
    fwtest.wait_until(lambda: d.cli_ok("status")["search_lag_items"] == 0, 20, "indexed")
    talks = item_id(d, "urn:talks")
    assert [i["id"] for i in d.cli_ok("search", "hopeful")["items"]] == [talks]
    assert d.stop() == 0
    edit_talks(doc)
    d.start("--once", wait=False)
    assert d.wait_exit(30) == 0
    assert "was edited" in d.log()
    d.start()
    assert d.cli_ok("status")["search_lag_items"] == 0
    assert [i["id"] for i in d.cli_ok("search", "walked")["items"]] == [talks]
    assert d.cli_ok("search", "hopeful")["items"] == []
    assert d.stop() == 0


def test_changed_items_are_compared_in_turn(t):
    """Of more than 50 changed items, a poll compares 50 in turn, from the one after the last
    the previous poll compared (the daemon's first such poll from a random one): a feed that
    rewrites its 110 items at every poll does not have the same 50 compared each hour while the
    others wait for ever (an hour passes here by moving the kept edits' times back)."""
    n = 110
    srv = t.httpd()

    def version(v):
        return rss([(f"r{k}", f"reactor report {k + 100} version {v}",
                     f"<p>the reactor unit {k + 100} is at stage {v + 20}.</p>") for k in range(n)])
    doc = srv.add_file("/flood.xml", version(1))
    d = flood_daemon(t, srv)
    assert d.query("SELECT count(*) FROM alerts")[0][0] == n

    def updated():
        return dict(d.query("SELECT i.key, count(*) FROM feed_events AS e"
                            " JOIN alerts AS a ON a.id = e.alert_id JOIN items AS i"
                            " ON i.id = a.item_id WHERE e.event = 'item-updated' GROUP BY i.key"))

    def an_hour_passes():
        conn = sqlite3.connect(d.db, timeout=10)
        with conn:
            conn.execute("UPDATE items SET edited_at = edited_at - 7200"
                         " WHERE edited_at IS NOT NULL")
        conn.close()
    doc.set(version(2))
    d.poll_wait("flood")
    first = updated()
    assert len(first) == 50, first
    # The feed rewrites everything again; an hour later the first 50 may be compared again,
    # but it is the turn of the next 50, then of the last 10 and 40 of the first 50 again.
    an_hour_passes()
    doc.set(version(3))
    d.poll_wait("flood")
    got = updated()
    assert len(got) == 100 and set(got.values()) == {1}, got
    an_hour_passes()
    doc.set(version(4))
    d.poll_wait("flood")
    got = updated()
    assert sorted(got) == sorted(f"urn:r{k}" for k in range(n)), got
    twice = [k for k, c in got.items() if c == 2]
    assert len(twice) == 40 and set(twice) <= set(first), got
    assert d.stop() == 0


def test_noisy_items_do_not_starve_an_edit(t):
    """review11 H1: 59 items whose HTML changes at every poll without a material edit (a
    token) and one item really edited: compared in turn, the edit is found within two polls
    (compared by the order of their last kept edit, the noisy ones, never edited, came first at
    every poll and the edit was never compared)."""
    n = 60
    srv = t.httpd()

    def version(v, edited):
        return rss([(f"r{k}", f"reactor report {k + 100}",
                     f'<p class="cb{v}">the reactor unit {k + 100} '
                     f'{"stopped" if (edited and k == n - 1) else "runs"}.</p>') for k in range(n)])
    doc = srv.add_file("/flood.xml", version(0, False))
    d = flood_daemon(t, srv)
    for v in (1, 2):
        doc.set(version(v, True))
        d.poll_wait("flood")
    assert d.query("SELECT i.key FROM item_versions AS v JOIN items AS i ON i.id = v.item_id") \
        == [("urn:r59",)]
    assert d.stop() == 0


def test_immaterial_edits_raise_nothing(t):
    srv, doc, dirs, d = setup(t, "alert")
    settle(d, dirs)
    n_runs = {n: len(runs(dirs[n])) for n in dirs}
    # Whitespace, case, and a tracking parameter added to a link in the text.
    doc.set(rss([("talks", "  Ceasefire  talks PLANNED in Geneva ",
                  "<p>Delegations   arrive on Monday.\n"
                  '<a href="http://x.test/a?utm_source=rss">The envoy was hopeful.</a>  </p>'),
                 ("other", OTHER[1], OTHER[2].replace("?id=2", "?utm_medium=x&id=2&fbclid=Y"))]))
    d.poll_wait("news")
    settle(d, dirs)
    assert updates(d) == [], updates(d)
    assert d.query("SELECT count(*) FROM item_versions")[0][0] == 0
    assert {n: len(runs(dirs[n])) for n in dirs} == n_runs
    # The fingerprint moved: the next poll of the same document compares nothing.
    fp = d.query("SELECT fingerprint FROM items WHERE key = 'urn:talks'")[0][0]
    d.poll_wait("news")
    assert d.query("SELECT fingerprint FROM items WHERE key = 'urn:talks'")[0][0] == fp
    assert d.stop() == 0


def test_a_diff_cannot_forge_lines(t):
    """review21 L1: line separators (U+2028, U+2029) and breaks in an edited title or text are
    spaces in `feedwatch item`'s diff, so a feed cannot forge `version:` or `+ …` lines; controls
    are scrubbed as elsewhere."""
    srv, doc, dirs, d = setup(t, "ignore")
    evil_title = ("Ceasefire talks in Geneva &#x2028;  + FAKE: envoy shot&#x2029;version: 99"
                  " &#x9b;31m")
    evil_text = ("<p>Delegations arrive on Monday.\u2028  + FAKE LINE: the ceasefire was signed"
                 "\u2029version: 98 \u009b2J.</p>")
    doc.set(rss([("talks", evil_title, evil_text), OTHER]))
    d.poll_wait("news")
    talks = item_id(d, "urn:talks")
    rc, _ = d.cli("item", str(talks), json_out=False)
    out = d.last[2]
    assert rc == 0, d.describe_last()
    assert [ln for ln in out.splitlines() if ln.startswith("version:")] == \
        [ln for ln in out.splitlines() if ln.startswith("version:") and "FAKE" not in ln], out
    assert sum(ln.startswith("version:") for ln in out.splitlines()) == 1, out
    assert not [ln for ln in out.splitlines() if ln.lstrip().startswith("+ FAKE")], out
    assert not [c for c in out if (ord(c) < 0x20 and c not in "\n\t") or 0x7f <= ord(c) < 0xa0
                or c in "\u2028\u2029"], repr(out)
    assert d.stop() == 0


def test_an_edited_source_is_told_on_its_story(t):
    """review21 M3: an item attached as a source of a topic's alert (the same story, another
    feed) is edited so that it matters to the topic: the item-updated goes on the story's
    alert; no second alert for the story."""
    story = ("Ceasefire talks planned in Geneva", "<p>Delegations of Armenia and Azerbaijan arrive"
             " in Geneva on Monday, envoy Laura Bianchi said. The envoy was hopeful.</p>")
    srv = t.httpd()
    a = srv.add_file("/a.xml", rss([("a1",) + story]))
    b = srv.add_file("/b.xml", rss([]))
    out = os.path.join(t.dir, "hook-edits")
    os.mkdir(out)
    extra = (f'\n[hook "edits"]\nexec = {sys.executable} {HOOK} {out}\n'
             "events = alert, item-updated\ntimeout = 10s\n"
             '\n[topic "geneva"]\nmatch = geneva\nhooks = edits\non_update = alert\n')
    d = t.daemon({}, interval="1h", min_interval="1s", allow_private_addresses="yes",
                 respect_feed_hints="no")
    d.write_config(fwtest.conf_text(d.settings, {"a": srv.url("/a.xml"),
                                                 "b": srv.url("/b.xml")}, extra))
    d.start()
    d.wait_polled(["a", "b"])
    b.set(rss([("b1",) + story]))
    d.poll_wait("b")
    (alert,) = d.cli_ok("alerts")["alerts"]
    assert [x["item"] for x in alert["sources"]] == [item_id(d, "urn:b1")], alert
    b.set(rss([("b1", "Ceasefire talks collapse in Geneva", story[1].replace(
        "arrive in Geneva", "left Geneva"))]))
    d.poll_wait("b")
    alerts = d.cli_ok("alerts")["alerts"]
    assert [x["id"] for x in alerts] == [alert["id"]], alerts
    assert d.query("SELECT alert_id FROM feed_events WHERE event = 'item-updated'") == [
        (alert["id"],)]
    assert d.stop() == 0


def test_search_finds_an_edited_item_by_its_new_words(t):
    """An item indexed before its edit is found by the edit's words (the index takes its new
    title and text), not by the words the edit removed."""
    srv, doc, dirs, d = setup(t, "ignore")
    fwtest.wait_until(lambda: d.cli_ok("status")["search_lag_items"] == 0, 20,
                      "the items indexed")
    talks = item_id(d, "urn:talks")
    assert [i["id"] for i in d.cli_ok("search", "hopeful")["items"]] == [talks]
    edit_talks(doc)  # "planned" and "hopeful" out, "collapse" and "walked" in
    d.poll_wait("news")
    fwtest.wait_until(lambda: [i["id"] for i in d.cli_ok("search", "walked")["items"]] == [talks],
                      20, "the edited item found by its new words")
    assert [i["id"] for i in d.cli_ok("search", "title:collapse")["items"]] == [talks]
    assert d.cli_ok("search", "hopeful")["items"] == []
    assert d.cli_ok("search", "planned")["items"] == []
    assert d.cli_ok("status")["search_lag_items"] == 0
    assert d.stop() == 0


STORY = ("Ceasefire talks planned in Geneva",
         "<p>Delegations of Armenia and Azerbaijan arrive in Geneva on Monday, envoy Laura"
         " Bianchi said. The envoy was hopeful about the 12 points on the table.</p>")
HARVEST = ("Harvest festival opens", "<p>The village fair opens today with music, bread and"
           " cider. Farmers from the valley bring pumpkins to the market square.</p>")


def story_setup(t, a_items, b_items):
    """Feeds a and b, a topic "geneva" with on_update = alert and a hook that takes alerts,
    item-updated and story-source."""
    srv = t.httpd()
    a = srv.add_file("/a.xml", rss(a_items))
    b = srv.add_file("/b.xml", rss(b_items))
    out = os.path.join(t.dir, "hook-edits")
    os.mkdir(out)
    extra = (f'\n[hook "edits"]\nexec = {sys.executable} {HOOK} {out}\n'
             "events = alert, item-updated, story-source\ntimeout = 10s\n"
             '\n[topic "geneva"]\nmatch = geneva\nhooks = edits\non_update = alert\n')
    d = t.daemon({}, interval="1h", min_interval="1s", allow_private_addresses="yes",
                 respect_feed_hints="no", story_window="48h")
    d.write_config(fwtest.conf_text(d.settings, {"a": srv.url("/a.xml"),
                                                 "b": srv.url("/b.xml")}, extra))
    d.start()
    d.wait_polled(["a", "b"])
    return a, b, out, d


def test_an_edit_raised_alert_is_its_story(t):
    """review M4: an item edited so that it newly matches raises an alert with the edited
    version's story signature (its keys stored): the same story from another feed later is a
    source of that alert, not a second alert."""
    a, b, out, d = story_setup(t, [("a1",) + HARVEST], [])
    assert d.query("SELECT count(*) FROM alerts")[0][0] == 0
    a.set(rss([("a1",) + STORY]))
    d.poll_wait("a")
    (alert,) = d.cli_ok("alerts")["alerts"]
    assert alert["item"] == item_id(d, "urn:a1"), alert
    assert d.query("SELECT story_sig IS NOT NULL FROM alerts WHERE id = ?", (alert["id"],)) == \
        [(1,)]
    assert d.query("SELECT count(*) FROM story_keys WHERE alert_id = ?", (alert["id"],))[0][0] > 0
    b.set(rss([("b1", "Armenia and Azerbaijan to meet in Geneva", STORY[1])]))
    d.poll_wait("b")
    # The same text: a SimHash near-copy of the edited version, whose SimHash the item and
    # its alert's bands took (not the version before the edit's).
    (a1, b1), = d.query("SELECT (SELECT simhash FROM items WHERE key = 'urn:a1'),"
                        " (SELECT simhash FROM items WHERE key = 'urn:b1')")
    assert bin((a1 ^ b1) & (2**64 - 1)).count("1") <= 3, (a1, b1)
    assert d.query("SELECT DISTINCT simhash FROM story_bands WHERE alert_id = ?",
                   (alert["id"],)) == [(a1,)]
    alerts = d.cli_ok("alerts")["alerts"]
    assert [x["id"] for x in alerts] == [alert["id"]], alerts
    assert [x["item"] for x in alerts[0]["sources"]] == [item_id(d, "urn:b1")], alerts
    fwtest.wait_until(lambda: sorted(r["stdin"]["event"] for r in runs(out)) ==
                      ["alert", "item-updated", "story-source"], 30, "the three hook runs")
    assert d.stop() == 0


def test_an_edit_into_a_story_is_a_source_of_its_alert(t):
    """review M4: an item edited so that it newly matches, and is the story of the topic's
    alert in the window (another feed's), becomes a source of that alert, told on it (a
    story-source and an item-updated on that alert): one story, one alert, never a second
    alert row of (topic, item)."""
    a, b, out, d = story_setup(t, [("a1",) + STORY], [("b1",) + HARVEST])
    (alert,) = d.cli_ok("alerts")["alerts"]
    b.set(rss([("b1", "Armenia and Azerbaijan to meet in Geneva", STORY[1])]))
    d.poll_wait("b")
    alerts = d.cli_ok("alerts")["alerts"]
    assert [x["id"] for x in alerts] == [alert["id"]], alerts
    assert [x["item"] for x in alerts[0]["sources"]] == [item_id(d, "urn:b1")], alerts
    assert d.query("SELECT alert_id FROM feed_events WHERE event = 'item-updated'") == [
        (alert["id"],)]
    got = fwtest.wait_until(
        lambda: (lambda r: r if sorted(x["stdin"]["event"] for x in r) ==
                 ["alert", "item-updated", "story-source"] else None)(runs(out)), 30,
        "the three hook runs")
    assert all(r["stdin"]["alert_id"] == alert["id"] for r in got), got
    # The item-updated names the item edited, a source of the alert, not the alert's own
    # item, whose title and text did not change (review11 L4); so does `alerts`.
    (up,) = [r["stdin"] for r in got if r["stdin"]["event"] == "item-updated"]
    b1 = item_id(d, "urn:b1")
    assert up["item"]["id"] == item_id(d, "urn:a1") and up["edited_item"]["item"] == b1, up
    assert up["edited_item"]["feed"] == "b", up
    assert [u["item"] for u in d.cli_ok("alerts")["alerts"][0]["updates"]] == [b1]
    assert d.query("SELECT count(*) FROM alerts")[0][0] == 1
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
