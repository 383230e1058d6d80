#!/usr/bin/python3
"""Feeds that fail: HTTP errors and backoff, size caps, stalled servers. The daemon goes on."""

import os
import time

import fwtest
from fwtest import feed_titles, fixture, parse_time

NEWS = fixture("rss-news.xml")


def delay(entry):
    return parse_time(entry["next_poll"]) - parse_time(entry["last_poll"])


def test_http_errors_back_off(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    s.add_status("/gone.xml", 404)
    s.add_status("/broken.xml", 500)
    d = t.daemon({"news": s.url("/news.xml"), "gone": s.url("/gone.xml"),
                  "broken": s.url("/broken.xml")}, interval="1h").start()
    state = d.wait_polled(["news", "gone", "broken"])
    seen = {"gone": [state["gone"]], "broken": [state["broken"]]}
    for _ in range(2):
        cycle = d.poll_wait()
        assert cycle["polled"] == 3 and cycle["errors"] == 2, cycle
        assert cycle["ok"] + cycle["not_modified"] == 1, cycle
        state = d.feeds_state()
        for name in seen:
            seen[name].append(state[name])
    for name, status in (("gone", 404), ("broken", 500)):
        hist = seen[name]
        for e in hist:
            assert e["state"] == "failing" and e["last_status"] == status, e
            assert str(status) in (e["last_error"] or ""), e
            assert e["items"] == 0 and e["next_poll"], e
        failures = [e["failures"] for e in hist]
        assert failures[0] >= 1 and failures == sorted(set(failures)), f"{name}: {failures}"
        delays = [delay(e) for e in hist]
        assert delays[-1] > 1.5 * delays[0], f"{name}: no backoff: delays {delays}"
        assert max(delays) <= 6 * 3600 * 1.1 + 1, f"{name}: beyond max_interval: {delays}"
    news = state["news"]
    assert news["state"] == "ok" and news["failures"] == 0 and news["last_error"] is None, news
    assert delay(news) <= 3600 * 1.1 + 1, news
    assert s.count("/news.xml") == 3 and s.count("/gone.xml") == 3
    assert d.count_items("news") == len(feed_titles(NEWS))
    assert "HTTP 500" in d.log() and "broken" in d.log()
    assert d.stop() == 0


def test_failing_feed_retried_on_schedule(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    s.add_status("/broken.xml", 500)
    d = t.daemon({"news": s.url("/news.xml"), "broken": s.url("/broken.xml")},
                 interval="1s").start()
    # The backoff is read from the schedule the daemon made after each failure (next poll
    # minus last poll), not from when requests arrived: on a loaded machine those drift.
    planned = {}

    def failures_seen():
        f = d.feed("broken")
        if f["failures"] >= 1 and f["next_poll"] and f["last_poll"]:
            planned[f["failures"]] = parse_time(f["next_poll"]) - parse_time(f["last_poll"])
        # Two different failure counts at least: a loaded machine may sample late, and one
        # sample compared with itself shows no backoff.
        return f["failures"] >= 3 and len(planned) >= 2

    fwtest.wait_until(failures_seen, 90, "3 scheduled failures, two of them seen",
                      interval=0.02)
    entry = d.feed("broken")
    assert entry["state"] == "failing" and entry["last_status"] == 500, entry
    fwtest.wait_until(lambda: s.count("/news.xml") >= 3, 30, "the good feed polled 3 times")
    news = d.feed("news")
    assert news["state"] == "ok" and news["failures"] == 0, news
    assert d.count_items("news") == len(feed_titles(NEWS)) and d.duplicates() == []
    firsts = sorted(planned)
    assert planned[firsts[-1]] > 1.5 * planned[firsts[0]], f"retries not backing off: {planned}"
    assert d.stop() == 0


def test_feed_over_max_feed_size(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    s.add_large("/big.xml", 200 * 1024)
    compressed = s.add_large("/bomb.xml", 512 * 1024, gzip_body=True)
    assert compressed < 16 * 1024, "the gzip body must be under the cap before decompression"
    d = t.daemon({"news": s.url("/news.xml"), "big": s.url("/big.xml"),
                  "bomb": s.url("/bomb.xml")}, max_feed_size="16k").start()
    state = d.wait_polled(["news", "big", "bomb"])
    for name in ("big", "bomb"):
        e = state[name]
        assert e["state"] == "failing", e
        assert "max_feed_size" in (e["last_error"] or ""), e
        assert e["items"] == 0 and d.count_items(name) == 0, e
    assert state["news"]["state"] == "ok", state["news"]
    assert d.status()["feeds"]["failing"] == 2
    cycle = d.poll_wait()
    assert cycle["errors"] == 2 and cycle["polled"] == 3, cycle
    assert d.stop() == 0


def test_stalled_server_times_out(t):
    s = t.httpd()
    s.add_file("/news.xml", file=NEWS)
    s.add_stall("/stall.xml")
    d = t.daemon({"news": s.url("/news.xml"), "stall": s.url("/stall.xml")},
                 fetch_timeout="2s").start()
    # the good feed is not held up by the stalled one: it is done no later than the stalled
    # transfer, which can only end by its 2 s timeout
    news = d.wait_feed("news", lambda f: f["state"] == "ok" and f["last_poll"], 30, "polled")
    e = d.wait_feed("stall", lambda f: f["state"] == "failing", 30, "failing after a timeout")
    assert parse_time(news["last_poll"]) <= parse_time(e["last_poll"]), (news, e)
    err = (e["last_error"] or "").lower()
    assert "timed out" in err or "timeout" in err, e
    assert e["items"] == 0, e
    assert d.status()["polls_in_flight"] == 0
    assert d.stop() == 0


def test_sigterm_during_stalled_fetch(t):
    s = t.httpd()
    s.add_stall("/stall.xml")
    d = t.daemon({"stall": s.url("/stall.xml")}, fetch_timeout="60s").start()
    fwtest.wait_until(lambda: s.count("/stall.xml") == 1, 30, "the stalled request")
    fwtest.wait_until(lambda: d.status()["polls_in_flight"] == 1, 30, "a poll in flight")
    # The transfer would stall for its whole 60 s fetch_timeout: a stop well within that
    # did not wait for it (a generous bound for a loaded machine, not a speed test).
    start = time.monotonic()
    assert d.stop(timeout=40) == 0
    assert time.monotonic() - start < 30, "shutdown waited for the stalled transfer"
    assert not os.path.exists(d.sock)


if __name__ == "__main__":
    fwtest.main()
