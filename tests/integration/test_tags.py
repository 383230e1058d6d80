#!/usr/bin/python3
"""`add` options and feed tags on a real daemon: `add --interval --tag --fetch-article` is
persisted across restarts and reloads and shown by `feeds`; bad values are refused by the CLI
and by the socket; a topic's `tags =` limits it to feeds carrying one of them (with `feeds =`
both must hold); `items --tag` lists only the items of tagged feeds."""

import os

import fwtest

SRC = os.environ.get("FW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SEED_FEEDS = os.path.join(SRC, "config", "feeds")

OSCE = 'OSCE OR OVSE OR OSZE OR ОБСЕ OR "Organization for Security and Co-operation in Europe"'
TOPICS = f"""
[topic "all"]
match = {OSCE}

[topic "tagged"]
match = {OSCE}
tags = world, other

[topic "named-and-tagged"]
match = {OSCE}
feeds = afp-world, nl-nieuws
tags = world
"""

DEAD = "http://127.0.0.1:1/feed.xml"   # nothing listens: the poll fails, on loopback


def seed(name):
    return "file://" + os.path.join(SEED_FEEDS, name + ".xml")


def settings(d):
    return {f["name"]: (f["interval_s"], f["tags"], f["fetch_article"])
            for f in d.cli_ok("feeds")["feeds"]}


def test_add_options_are_kept_across_restart_and_reload(t):
    d = t.daemon(interval="1h").start()
    d.cli_ok("add", "--interval", "15m", "--tag", "world", "--tag", "Ünïcode news",
             "--fetch-article", "rt-a", DEAD)
    d.cli_ok("add", "rt-b", DEAD + "?b")
    want = {"rt-a": (900, ["world", "Ünïcode news"], True), "rt-b": (3600, [], False)}
    assert settings(d) == want, settings(d)
    assert d.stop() == 0
    d.start()
    assert settings(d) == want, settings(d)
    # A reload with another daemon interval: rt-b follows it, rt-a keeps its own.
    d.settings["interval"] = "2h"
    d.write_config()
    d.cli_ok("reload")
    assert settings(d) == {"rt-a": (900, ["world", "Ünïcode news"], True),
                           "rt-b": (7200, [], False)}, settings(d)
    row = d.query("SELECT runtime_opts FROM feeds WHERE name = 'rt-a'")
    assert '"interval_s":900' in row[0][0], row


def test_bad_add_options_are_refused(t):
    d = t.daemon().start()
    for args in (["--interval", "0s"], ["--interval", "soon"], ["--tag", "a,b"],
                 ["--tag", " lead"], ["--tag", ""], ["--tag", "x" * 257]):
        rc, _ = d.cli("add", *args, "bad", DEAD)
        assert rc == 2, (args, d.describe_last())
    rc, _ = d.cli("add", *sum([["--tag", f"t{i}"] for i in range(33)], []), "bad", DEAD)
    assert rc == 2, d.describe_last()
    # The socket checks the same whatever the client sends.
    c = d.connect()
    try:
        for extra, why in (({"interval": 0}, "interval"), ({"interval": "15m"}, "interval"),
                           ({"tags": "world"}, "tags"), ({"tags": ["a,b"]}, "tag"),
                           ({"tags": [f"t{i}" for i in range(33)]}, "32"),
                           ({"tags": ["a", "a"]}, "twice"), ({"tags": ["a\tb\n"]}, "tag"),
                           ({"fetch_article": "yes"}, "fetch_article")):
            resp = c.request({"cmd": "add", "name": "bad", "url": DEAD, **extra})
            assert resp["ok"] is False and why in resp["error"], (extra, resp)
    finally:
        c.close()
    assert "bad" not in d.feeds_state()


def test_topic_tags_limit_the_feeds_a_topic_covers(t):
    srv = t.httpd()
    srv.add_file("/vi.xml", file=os.path.join(SEED_FEEDS, "vi-thegioi.xml"))
    feeds = {"afp-world": {"url": seed("afp-world"), "tags": "europe, world"},
             "nl-nieuws": {"url": seed("nl-nieuws"), "tags": "europe"}}
    d = t.daemon(feeds)
    d.write_config(fwtest.conf_text(d.settings, d.feeds, TOPICS))
    d.start()
    d.cli_ok("add", "--tag", "other", "vi-rt", srv.url("/vi.xml"))
    d.wait_polled(["afp-world", "nl-nieuws", "vi-rt"])
    d.poll_wait()
    alerts = d.cli_ok("alerts", "--limit", "1000")["alerts"]

    def feeds_of(topic):
        return ({a["feed"] for a in alerts if a["topic"] == topic} |
                {s["feed"] for a in alerts if a["topic"] == topic for s in a["sources"]})

    assert feeds_of("all") == {"afp-world", "nl-nieuws", "vi-rt"}, alerts
    assert feeds_of("tagged") == {"afp-world", "vi-rt"}, alerts
    assert feeds_of("named-and-tagged") == {"afp-world"}, alerts


def test_items_tag_lists_the_items_of_tagged_feeds(t):
    feeds = {"afp-world": {"url": seed("afp-world"), "tags": "world"},
             "nl-nieuws": {"url": seed("nl-nieuws"), "tags": "nl"},
             "vi-thegioi": seed("vi-thegioi")}
    d = t.daemon(feeds).start()
    d.wait_polled(list(feeds))
    everything = d.items()
    assert {i["feed"] for i in everything} == set(feeds), everything
    world = d.cli_ok("items", "--tag", "world", "--limit", "1000")["items"]
    assert world and {i["feed"] for i in world} == {"afp-world"}, world
    assert len(world) == len([i for i in everything if i["feed"] == "afp-world"])
    both = d.cli_ok("items", "--tag", "nl", "--feed", "afp-world")["items"]
    assert both == [], both
    assert d.cli_ok("items", "--tag", "nobody")["items"] == []
    rc, _ = d.cli("items", "--tag", "a", "--tag", "b")
    assert rc == 2, d.describe_last()
    # Human output too.
    rc, _ = d.cli("items", "--tag", "world", json_out=False)
    assert rc == 0 and "afp-world" in d.last[2] and "nl-nieuws" not in d.last[2], d.last



def test_add_takes_what_the_config_takes(t):
    """One rule for a feed's name and URL (feeds/base/feedrule.h): 128 characters and 8192
    bytes at run time as in the config (test_conf checks the config side)."""
    d = t.daemon().start()
    name = "n" * 128
    url = "http://127.0.0.1:1/" + "u" * (8192 - len("http://127.0.0.1:1/"))
    c = d.connect()
    try:
        resp = c.request({"cmd": "add", "name": name, "url": url})
        assert resp["ok"] is True, resp
        for bad, why in (({"name": name + "n", "url": DEAD}, "name"),
                         ({"name": "long-url", "url": url + "u"}, "8192 bytes"),
                         ({"name": "creds", "url": "http://u:p@127.0.0.1:1/x"}, "credentials")):
            resp = c.request({"cmd": "add", **bad})
            assert resp["ok"] is False and why in resp["error"], (bad, resp)
    finally:
        c.close()
    assert name in d.feeds_state() and "long-url" not in d.feeds_state()


if __name__ == "__main__":
    fwtest.main()
