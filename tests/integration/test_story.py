#!/usr/bin/python3
"""Story grouping (story_window): the same story from a second feed within the window is a
source of the first alert, not an alert of its own; outside the window, or with other text, it
raises its own alert. Two feeds carry the seed article 001 (English, OSCE) word for word
under different titles, links and ids, as agencies' copies do."""

import os
import time
from xml.sax.saxutils import escape

import fwtest

SRC = os.environ.get("FW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SEEDS = os.path.join(SRC, "tests", "fixtures", "corpus", "seeds")

TOPIC = """
[topic "osce"]
match = OSCE OR OVSE
"""


def seed_text(name):
    with open(os.path.join(SEEDS, name), encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    return "".join(f"<p>{escape(line)}</p>" for line in lines)


def rss(tag, title, html):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{tag}</title><link>http://{tag}.example.org/</link>"
            f"<item><title>{escape(title)}</title><link>http://{tag}.example.org/story</link>"
            f'<guid isPermaLink="false">urn:{tag}:1</guid>'
            f"<description>{escape(html)}</description></item></channel></rss>").encode()


def osce_alerts(d):
    return [a for a in d.cli_ok("alerts", "--limit", "1000")["alerts"] if a["topic"] == "osce"]


def daemon(t, s, feeds, **settings):
    d = t.daemon({n: s.url(f"/{n}.xml") for n in feeds}, **settings)
    d.write_config(fwtest.conf_text(d.settings, d.feeds, TOPIC))
    return d


def test_same_story_within_the_window_is_one_alert(t):
    s = t.httpd()
    story = seed_text("001_c3de49d25fb89459.txt")
    s.add_file("/wire.xml", rss("wire", "EU invites Russia to take security concerns to OSCE", story))
    s.add_file("/paper.xml", rss("paper", "Brussels answers Moscow: talk at the OSCE", story))
    d = daemon(t, s, ["wire", "paper"], story_window="48h").start()
    d.wait_polled(["wire", "paper"])
    got = osce_alerts(d)
    assert len(got) == 1, got
    first = got[0]
    other = "paper" if first["feed"] == "wire" else "wire"
    assert [x["feed"] for x in first["sources"]] == [other], first
    # Stored twice (two feeds, two items), raised once; a restart and re-poll keep it so.
    assert d.count_items() == 2
    d.poll_wait()
    assert len(osce_alerts(d)) == 1
    assert d.stop() == 0


def test_other_text_within_the_window_is_its_own_alert(t):
    s = t.httpd()
    s.add_file("/wire.xml", rss("wire", "EU invites Russia to take security concerns to OSCE",
                                 seed_text("001_c3de49d25fb89459.txt")))
    s.add_file("/other.xml", rss("other", "Borrell invites Russia to dialogue at the OSCE",
                                  seed_text("004_76fb76036a12c196.txt")))
    d = daemon(t, s, ["wire", "other"], story_window="48h").start()
    d.wait_polled(["wire", "other"])
    got = osce_alerts(d)
    assert sorted(a["feed"] for a in got) == ["other", "wire"], got
    assert all(a["sources"] == [] for a in got), got
    assert d.stop() == 0


def test_same_story_after_the_window_is_a_new_alert(t):
    s = t.httpd()
    story = seed_text("001_c3de49d25fb89459.txt")
    s.add_file("/wire.xml", rss("wire", "EU invites Russia to take security concerns to OSCE", story))
    s.add_file("/paper.xml", rss("paper", "Brussels answers Moscow: talk at the OSCE", story))
    d = daemon(t, s, ["wire"], story_window="2s").start()
    d.wait_polled(["wire"])
    first = osce_alerts(d)
    assert len(first) == 1 and first[0]["feed"] == "wire", first
    raised = fwtest.parse_time(first[0]["raised"])
    # Past the window (whole seconds in the store: wait for 3 s after the raise), then the
    # copy arrives from a second feed.
    fwtest.wait_until(lambda: time.time() > raised + 3.5, 10, "the story window to pass")
    d.feeds["paper"] = s.url("/paper.xml")
    d.write_config(fwtest.conf_text(d.settings, d.feeds, TOPIC))
    d.cli_ok("reload")
    d.wait_polled(["paper"])
    got = osce_alerts(d)
    assert sorted(a["feed"] for a in got) == ["paper", "wire"], got
    assert all(a["sources"] == [] for a in got), got
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
