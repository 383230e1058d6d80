#!/usr/bin/python3
"""A `poll --wait` answer runs the client's next pipelined request at once (control.c reads
on as soon as a deferred answer is out). That request may remove the feed whose poll just
ended, poll it again, or pause it: the daemon must have settled the feed before telling the
waiter (it freed a removed feed and then read it again, issue 18's poll --wait seam).
Each case pipelines the requests on one connection and checks every answer in order and
that the daemon still answers afterwards."""

import fwtest

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title><link>http://example.org/</link>
<item><title>One</title><guid>one</guid><description>First.</description></item>
</channel></rss>
"""


def start(t):
    srv = t.httpd()
    srv.add_file("/feed.xml", body=FEED.encode())
    d = t.daemon()
    d.start()
    return d, srv.url("/feed.xml")


def test_remove_pipelined_after_poll_wait(t):
    d, url = start(t)
    for round_ in range(3):
        name = f"rt{round_}"
        d.cli_ok("add", name, url)
        c = d.connect()
        c.send({"cmd": "poll", "feed": name, "wait": True})
        c.send({"cmd": "remove", "name": name})
        c.send({"cmd": "status"})
        first = c.recv_line()
        assert first and first.get("ok") is True and "cycle" in first, first
        assert first["cycle"]["polled"] == 1, first
        second = c.recv_line()
        assert second == {"ok": True, "removed": name}, second
        third = c.recv_line()
        assert third and third.get("ok") is True, third
        c.close()
        assert name not in d.feeds_state()
    assert d.running()
    d.stop()


def test_poll_and_pause_pipelined_after_poll_wait(t):
    d, url = start(t)
    d.cli_ok("add", "rt", url)
    c = d.connect()
    c.send({"cmd": "poll", "feed": "rt", "wait": True})
    c.send({"cmd": "poll", "feed": "rt", "wait": True})
    c.send({"cmd": "pause", "name": "rt"})
    c.send({"cmd": "feeds"})
    for _ in range(2):
        ans = c.recv_line()
        assert ans and ans.get("ok") is True and ans["cycle"]["polled"] == 1, ans
    paused = c.recv_line()
    assert paused and paused.get("ok") is True and paused["feed"]["state"] == "paused", paused
    feeds = c.recv_line()
    entry = [f for f in feeds["feeds"] if f["name"] == "rt"][0]
    # Paused after its poll: no next poll is planned for it.
    assert entry["state"] == "paused" and entry["next_poll"] is None, entry
    c.close()
    assert d.running()
    d.stop()


def test_stop_while_poll_wait_waits_for_queued_feeds(t):
    """Polls in flight and polls queued behind them when the daemon stops: the waiter of
    `poll --wait` is told by both (no answer, the client is gone) and freed; the daemon
    exits 0 (under ASan, with nothing leaked)."""
    srv = t.httpd()
    srv.add_stall("/stall.xml")
    d = t.daemon(max_connections=1)  # 8 poll slots: 12 feeds leave 4 queued
    d.start()
    names = [f"s{i:02d}" for i in range(12)]
    for name in names:
        d.cli_ok("add", name, srv.url("/stall.xml"))
    c = d.connect(timeout=30)
    c.send({"cmd": "poll", "wait": True})
    fwtest.wait_until(lambda: d.status()["polls_in_flight"] == 12, 15, "12 polls in flight")
    assert d.stop(timeout=30) == 0, d.log()
    assert c.recv_line() is None  # closed without an answer
    c.close()
    assert "LeakSanitizer" not in d.log() and "AddressSanitizer" not in d.log(), d.log()


if __name__ == "__main__":
    fwtest.main()
