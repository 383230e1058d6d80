#!/usr/bin/python3
"""Retention: items first seen longer ago than `retention` lose their text and metadata in
small batches, keep their (feed, key) row so an old item the feed still lists is neither
stored nor alerted again, leave the search index, and `status` shows what was pruned. Polls
go on while a large prune runs."""

import os
import sqlite3
import sys
import threading
import urllib.parse

import fwtest

HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook_record.py")


def rss(items):
    """An RSS 2.0 document of (guid, title, description) items."""
    body = "".join(f"<item><guid isPermaLink=\"false\">{g}</guid><title>{t}</title>"
                   f"<link>http://example.org/{g}</link><description>{d}</description></item>\n"
                   for g, t, d in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            "<title>t</title><link>http://example.org/</link><description>d</description>\n"
            + body + "</channel></rss>\n").encode()


OLD = [("old-1", "Zanzibar treaty signed", "The zanzibar accord was signed by both sides."),
       ("old-2", "Harbour works resume", "Works at the harbour resume after the storm."),
       ("old-3", "Quokka census", "A census counts quokkas on the island.")]
NEW = ("new-1", "Zanzibar follow-up", "A second zanzibar story.")


def index_hits(db, word):
    """Rows of the search index (the file beside the database) that hold word."""
    uri = "file:%s?mode=ro" % urllib.parse.quote(os.path.abspath(db + "-search"))
    conn = sqlite3.connect(uri, uri=True, timeout=5)
    try:
        return [r[0] for r in conn.execute("SELECT rowid FROM docs WHERE docs MATCH ?", (word,))]
    finally:
        conn.close()


def test_prune_keeps_keys_forgets_text_and_alerts_once(t):
    s = t.httpd()
    s.add_file("/news.xml", body=rss(OLD))
    out = os.path.join(t.dir, "hook")
    os.makedirs(out)
    d = t.daemon({"news": s.url("/news.xml")}, retention="3s")
    d.write_config(fwtest.conf_text(d.settings, d.feeds,
                                    f'\n[topic "zanzibar"]\nmatch = zanzibar\nhooks = rec\n'
                                    f'\n[hook "rec"]\nexec = {sys.executable} {HOOK} {out}\n'))
    d.start()
    d.wait_polled(["news"])
    fwtest.wait_until(lambda: len(fwtest.hook_runs(out)) == 1, 20, "the alert's hook run")
    # Indexed before it is pruned: retention never prunes what the index has not reached.
    fwtest.wait_until(lambda: index_hits(d.db, "zanzibar"), 20, "the index to hold the item")
    found = d.cli_ok("search", "zanzibar")["items"]
    assert [h["title"] for h in found] == ["Zanzibar treaty signed"], found
    before = {k: i for i, k in d.query("SELECT id, key FROM items")}
    assert sorted(before) == ["old-1", "old-2", "old-3"], before

    st = fwtest.wait_until(lambda: (lambda x: x if x["pruned_items"] >= 3 else None)(d.status()),
                           30, "status to show 3 pruned items")
    assert st["retention_s"] == 3 and st["last_prune"], st
    assert st["prune_error"] is None, st
    rows = d.query("SELECT id, key, title, url, summary, content, text, guid, author,"
                   " published_at, categories, pruned_at, first_seen_at FROM items ORDER BY id")
    assert len(rows) == 3, rows
    for r in rows:
        assert before[r[1]] == r[0], (before, r)                  # the same row, key kept
        assert all(v is None for v in r[2:11]), r                  # text and metadata gone
        assert r[11] is not None and r[11] >= r[12] + 3, r        # pruned after retention
    assert d.query("SELECT matched FROM alerts") == [(None,)]
    # The index forgot the words, and search shows nothing of a pruned item.
    fwtest.wait_until(lambda: not index_hits(d.db, "zanzibar") and
                      not index_hits(d.db, "quokka"), 20, "the index to forget pruned items")
    assert d.cli_ok("search", "zanzibar")["items"] == []
    assert d.cli_ok("search", "NOT nothingatall")["items"] == []
    assert d.items() == []
    d.cli("status", json_out=False)
    assert "3 items pruned" in d.last[2], d.describe_last()

    # The feed still lists the old items, and one new: only the new one is stored and alerted.
    s.add_file("/news.xml", body=rss(OLD + [NEW]))
    cycle = d.poll_wait()
    assert cycle["errors"] == 0 and cycle["new_items"] == 1, cycle
    assert d.count_items("news") == 4 and d.duplicates() == []
    fwtest.wait_until(lambda: len(fwtest.hook_runs(out)) == 2, 20, "the new item's hook run")
    alerted = [(a["topic"], a["item"]) for a in d.cli_ok("alerts", "--limit", "100")["alerts"]]
    assert len(alerted) == 2 and len(set(alerted)) == 2, alerted
    assert fwtest.hook_runs(out)[1]["stdin"]["item"]["title"] == "Zanzibar follow-up", fwtest.hook_runs(out)[1]
    # A restart keeps the tallies (they are in the database).
    assert d.stop() == 0
    d.start()
    assert d.status()["pruned_items"] >= 3
    assert d.stop() == 0


def test_old_feed_events_done_with_are_deleted(t):
    """Feed events raised longer ago than `retention` whose deliveries are all done go, with
    their deliveries; one with a delivery still pending (a hook that keeps failing) stays."""
    s = t.httpd()
    s.add_status("/gone", 410)
    s.add_status("/gone2", 410)
    good, bad = os.path.join(t.dir, "good"), os.path.join(t.dir, "bad")
    os.makedirs(good)
    os.makedirs(bad)
    d = t.daemon({"gone": {"url": s.url("/gone"), "hooks": "good"},
                  "gone2": {"url": s.url("/gone2"), "hooks": "bad"}}, retention="3s")
    d.write_config(fwtest.conf_text(
        d.settings, d.feeds,
        f'\n[hook "good"]\nexec = {sys.executable} {HOOK} {good}\nevents = feed-disabled\n'
        f'\n[hook "bad"]\nexec = {sys.executable} {HOOK} {bad} --fail 1000\n'
        "events = feed-disabled\nretries = 100\n"))
    d.start()
    d.wait_polled(["gone", "gone2"])
    fwtest.wait_until(lambda: len(fwtest.hook_runs(good)) == 1, 20, "good's run")
    raised = d.query("SELECT f.name FROM feed_events AS e JOIN feeds AS f ON f.id = e.feed_id")
    assert sorted(raised) == [("gone",), ("gone2",)], raised
    kept = fwtest.wait_until(
        lambda: (lambda r: r if r == [("gone2",)] else None)(
            d.query("SELECT f.name FROM feed_events AS e JOIN feeds AS f ON f.id = e.feed_id")),
        30, "the delivered event deleted")
    assert d.query("SELECT hook FROM event_deliveries") == [("bad",)], kept
    assert [e["feed"] for e in d.cli_ok("events")["events"]] == ["gone2"]
    d.wait_log("feed events raised before")
    assert d.stop() == 0


def test_polls_go_on_while_a_large_prune_runs(t):
    s = t.httpd()
    n = 8000   # per big feed: 32 batches of 500 in all
    for name in ("big1", "big2"):
        s.add_file(f"/{name}.xml", body=rss([(f"{name}-{i}", f"bulk item {i}",
                                              f"filler text number {i} " * 8)
                                             for i in range(n)]))
    s.add_file("/small.xml", body=rss(OLD))
    d = t.daemon({"big1": s.url("/big1.xml"), "big2": s.url("/big2.xml"),
                  "small": s.url("/small.xml")}, retention="8s")
    d.start()
    fwtest.wait_until(lambda: d.count_items() == 2 * n + 3, 60, "the big feeds' items")
    # Poll the small feed without pause while the prune runs.
    cycles, stop = [], threading.Event()

    def poller():
        i = 0
        while not stop.is_set():
            s.add_file("/small.xml", body=rss(OLD + [(f"s-{i}", f"small {i}", "fresh")]))
            cycles.append(d.poll_wait("small", timeout=60))
            i += 1
    th = threading.Thread(target=poller)
    th.start()
    try:
        # Every big item pruned (the count of pruned items also has the small feed's old
        # ones, so it may reach 2n a batch early).
        unpruned_big = "SELECT count(*) FROM items WHERE pruned_at IS NULL AND key LIKE 'big%'"
        fwtest.wait_until(lambda: d.query(unpruned_big) == [(0,)], 60,
                          "the big feeds' items to be pruned")
        st = d.status()
        assert st["pruned_items"] >= 2 * n, st
    finally:
        stop.set()
        th.join(90)
    assert st["prune_error"] is None, st
    assert cycles and all(c["errors"] == 0 and c["new_items"] == 1 for c in cycles), cycles
    # Polls were written between the prune's batches: the writer was never held for long.
    log = d.log().splitlines()
    batches = [i for i, line in enumerate(log) if "items pruned in one transaction" in line]
    assert len(batches) >= 2 * n // 500, batches
    between = [line for line in log[batches[0]:batches[-1]] if "poll: feed 'small'" in line]
    assert between, "no poll was written while the prune ran"
    assert d.duplicates() == []
    assert d.query("SELECT count(*) FROM items WHERE pruned_at IS NULL AND key LIKE 'big%'") == \
        [(0,)]
    assert "database is locked" not in d.log() and "cannot save" not in d.log()
    assert d.stop() == 0
    assert d.query("PRAGMA integrity_check") == [("ok",)]


if __name__ == "__main__":
    fwtest.main()
