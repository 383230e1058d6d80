#!/usr/bin/python3
"""max_poll_memory against a chain of slow feeds (issue 14, review16): an honest download
paused behind slow feeds that keep the budget spent one after another.

Paused downloads resume oldest first, and the oldest download always goes on. Polls of one
host wait in the fetcher's queue for max_per_host, and a transfer's clock (fetch_timeout, and
the wall cap of 4 x fetch_timeout) starts only when it enters curl. A poll used to take its
place in that line when it started, so slow feeds of one host, due before an honest feed of
another host, each became older than it once they began, kept the budget spent one after
another, and the honest one, paused behind more of them than the wall factor, failed at its
wall cap. Now a download's place is from its first body byte: the honest feed, begun before
the second slow one, resumes as soon as the first ends, and its first poll ends ok; the slow
ones end each at its own fetch_timeout. Loopback only."""

import time

import fwtest
import httpd

MB = 1 << 20
N_SLOW = 6                       # slow feeds of one host: more than the wall factor (4)
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
    # The honest feed resumed when the first slow one ended, ahead of those begun after it:
    # its first poll ends ok, well inside its wall cap.
    f = d.wait_feed("honest", lambda f: f["items"] == HOG_ITEMS, 5, "the honest feed's items")
    assert errors["honest"] is None and f["state"] == "ok" and f["failures"] == 0, (errors, f)
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
