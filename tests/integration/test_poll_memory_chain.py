#!/usr/bin/python3
"""max_poll_memory against a chain of slow feeds (issue 14, review16): what becomes of an
honest download paused behind slow feeds that keep the budget spent one after another.

Paused downloads resume oldest first, and the oldest download always goes on. A poll is in
that line from when it starts, but its transfer's clock (fetch_timeout, and the wall cap of
4 x fetch_timeout) starts only when the transfer enters curl: polls of one host wait in the
fetcher's queue for max_per_host. So slow feeds of one host, due before an honest feed of
another host, keep the budget spent one after another, each for its own fetch_timeout, while
the honest one (older than none of them, larger than the budget leaves it) waits paused; with
more of them than FETCH_WALL_FACTOR, the honest one reaches its wall cap first and fails.
This test pins that limit as it stands (a change to the policy changes it on purpose): the
honest feed fails with the wall cap's message, the slow ones each at their own timeout, and
the honest one's next poll, with the chain gone, ends ok. Loopback only."""

import time

import fwtest
import httpd

MB = 1 << 20
N_SLOW = 5                       # slow feeds of one host: more than the wall factor (4)
HOG_ITEMS = 250                  # ~1.25 MB at once: counted twice, more than BUDGET
BUDGET = 2 * MB                  # max_poll_memory (and max_feed_size)
TIMEOUT_S = 3                    # fetch_timeout


def hog_head():
    yield ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
           '<title>hog</title><link>http://127.0.0.1/</link><description>d</description>').encode()
    for i in range(HOG_ITEMS):
        yield (f"<item><title>hog {i}</title><guid>h{i}</guid><description>"
               + ("word " * 1000) + "</description></item>").encode()


def hog_chunks():
    """A fast ~1.25 MB, then 64 bytes a second (above curl's stall limit) for far longer
    than fetch_timeout."""
    yield from hog_head()
    for _ in range(60):
        time.sleep(1)
        yield b"<!-- " + b"x" * 55 + b" -->"
    yield b"</channel></rss>"


def honest_chunks():
    """An honest feed of the same size, sent at once (chunked: no length)."""
    yield from hog_head()
    yield b"</channel></rss>"


def test_a_chain_of_slow_feeds_and_the_wall_cap(t):
    slow = t.httpd()
    for k in range(N_SLOW):
        slow.add_stream(f"/slow{k}.xml", hog_chunks)
    # The honest feed on another loopback address: the slow host's max_per_host does not
    # hold it back, only the budget does.
    honest = httpd.Server(host="127.0.0.2").start()
    t.servers.append(honest)
    honest.add_stream("/honest.xml", honest_chunks)
    feeds = {f"slow{k}": {"url": slow.url(f"/slow{k}.xml")} for k in range(N_SLOW)}
    d = t.daemon(feeds, max_feed_size="2M", max_poll_memory=str(BUDGET // 1024) + "k",
                 fetch_timeout=f"{TIMEOUT_S}s", log_level="info", max_per_host=1,
                 interval="1h")
    d.start()
    c = d.connect(timeout=30)
    ask = lambda req: c.request(req)
    # Every slow feed's poll has started: the first downloads, the others wait for the host.
    fwtest.wait_until(lambda: ask({"cmd": "status"})["polls_in_flight"] >= N_SLOW, 20,
                      "the slow feeds' polls started")
    fwtest.wait_until(lambda: slow.count("/slow0.xml") == 1, 20, "the first slow feed read")
    doc = ask({"cmd": "add", "name": "honest", "url": honest.url("/honest.xml")})
    assert doc.get("ok") is True, doc
    added = time.monotonic()
    fwtest.wait_until(lambda: honest.count("/honest.xml") == 1, 20, "the honest feed requested")
    names = ["honest"] + list(feeds)
    state = d.wait_polled(names, timeout=(N_SLOW + 2) * TIMEOUT_S + 30)
    c.close()
    took = time.monotonic() - added
    errors = {n: state[n]["last_error"] for n in names}
    print(f"    after {took:.1f} s: " + "; ".join(f"{n}: {e}" for n, e in errors.items()))
    # The slow feeds end one after another, each at its own fetch_timeout of reading.
    for k in range(N_SLOW):
        assert (errors[f"slow{k}"] or "").startswith(f"timed out after {TIMEOUT_S} s"), errors
    # The honest feed waited paused behind them, and the wall cap ended it first.
    e = errors["honest"] or ""
    assert e.startswith("timed out after ") and "in all (at most 4 times fetch_timeout)" in e, e
    assert state["honest"]["state"] in ("ok", "failing") and state["honest"]["failures"] == 1, \
        state["honest"]
    log = d.log()
    print("    " + next(line for line in log.splitlines() if "feed 'honest'" in line
                        and "timed out" in line))
    # With the chain gone (the slow feeds wait an hour), its next poll ends ok.
    rc, doc = d.cli("poll", "honest", timeout=60)
    assert rc == 0, d.describe_last()
    f = d.wait_feed("honest", lambda f: f["last_error"] is None and f["items"] == HOG_ITEMS,
                    30, "the honest feed polled again")
    assert f["state"] == "ok", f
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
