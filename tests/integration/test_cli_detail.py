#!/usr/bin/python3
"""The CLI's detail views and filters on a real daemon (issue 15): `feeds NAME` (settings,
where it is defined, topics, validators, tallies; a header's value and credentials never
shown), `item ID` (dates, language, text, its alerts and each hook's delivery state),
`items --topic` and `--since` alone and with --feed/--tag, `search` newest first with its
language, a bad query exiting 2, `reload` answering counts as `status` does, and --json
printing an error object when there is no answer. The new read-only commands are open to
the socket's group like `items`."""

import datetime
import json
import os
import re
import subprocess

import fwtest

NOBODY = 65534


def rfc822(delta):
    """An RSS date `delta` (a timedelta) before now."""
    at = datetime.datetime.now(datetime.timezone.utc) - delta
    return at.strftime("%a, %d %b %Y %H:%M:%S +0000")


def rss(items, lang=None):
    """RSS 2.0 bytes of items: dicts with guid, title, age (timedelta) and optional category."""
    body = ""
    for it in items:
        cats = "".join(f"<category>{c}</category>" for c in it.get("categories", ()))
        body += (f'<item><guid isPermaLink="false">{it["guid"]}</guid><title>{it["title"]}</title>'
                 f'<link>http://example.org/{it["guid"]}</link><pubDate>{rfc822(it["age"])}'
                 f'</pubDate><description>{it["title"]}: the story in words.</description>'
                 f'{cats}</item>\n')
    language = f"<language>{lang}</language>" if lang else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>t</title><link>http://example.org/</link><description>d</description>"
            f"{language}\n{body}</channel></rss>\n").encode()


H = datetime.timedelta(hours=1)
NEWS = [  # stored in this order (a feed lists its newest first, here not quite)
    {"guid": "n-mid", "title": "Volcano erupts near the town", "age": 3 * H,
     "categories": ["world", "nature"]},
    {"guid": "n-new", "title": "Volcano ash closes the airport", "age": 0.5 * H},
    {"guid": "n-old", "title": "Quiet week at the observatory", "age": 72 * H},
]
OTHER = [
    {"guid": "o-new", "title": "Another volcano wakes up", "age": 1 * H},
    {"guid": "o-old", "title": "Volcano tours are popular", "age": 48 * H},
]


def start(t):
    """A daemon with two feeds (one with a header and credentials), a topic whose hook fails
    at once, polled once; returns (daemon, server)."""
    srv = t.httpd()
    srv.add_file("/news.xml", rss(NEWS, lang="de"))
    srv.add_file("/other.xml", rss(OTHER))
    pw = os.path.join(t.dir, "news.pass")
    with open(pw, "w") as f:
        f.write("pa55word\n")
    d = t.daemon({"news": {"url": srv.url("/news.xml"), "tags": "world",
                           "header": "X-Token: s3cret-token", "user": "reader",
                           "password_file": pw},
                  "other": srv.url("/other.xml")})
    d.write_config(fwtest.conf_text(d.settings, d.feeds, """
[topic "volcano"]
match = volcano
hooks = fail

[hook "fail"]
exec = /bin/false
retries = 0
"""))
    d.start()
    d.poll_wait()
    return d, srv


def ids_by_guid(d):
    return {it["key"]: it["id"] for it in d.items()}


def human(d, *args):
    """feedwatch --socket S ARGS without --json: (exit status, stdout, stderr)."""
    p = subprocess.run([fwtest.FEEDWATCH, "--socket", d.sock, *args], capture_output=True,
                       text=True, timeout=30, env=dict(os.environ, TZ="UTC", COLUMNS="100"))
    return p.returncode, p.stdout, p.stderr


def as_nobody(d, *args):
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            fwtest.FEEDWATCH, "--socket", d.sock, "--json"] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_feeds_name_shows_one_feed_in_full(t):
    d, srv = start(t)
    fwtest.wait_until(lambda: d.status()["alerts"]["failed"] == 4, 30, "the failing hook")
    doc = d.cli_ok("feeds", "news")
    f = doc["feed"]
    entry = d.feed("news")
    for key, value in entry.items():     # everything `feeds` gives
        if key not in ("next_poll", "last_poll"):
            assert f[key] == value, (key, f[key], value)
    assert f["source"] == "config" and re.search(r"\.conf:\d+$", f["defined_at"]), f
    assert f["enabled"] is True and isinstance(f["allow_private_addresses"], bool), f
    assert f["header"] == "X-Token" and f["auth"] is True, f
    assert f["topics"] == ["volcano"] and f["tags"] == ["world"], f
    assert f["etag"] and f["etag"].startswith('"') and f["last_modified"], f
    assert f["items"] == 3 and f["pruned_items"] == 0 and f["polling"] is False, f
    assert f["alerts"] == {"delivered": 0, "pending": 0, "failed": 2, "no_hook": 0}, f
    assert fwtest.parse_time(f["last_new_item"]) <= fwtest.parse_time(f["last_poll"]) + 1, f
    text = json.dumps(doc)
    assert "s3cret-token" not in text and "pa55word" not in text and "reader" not in text, text

    rc, out, err = human(d, "feeds", "other")
    assert rc == 0, err
    lines = dict(re.match(r"([a-z ]+):\s+(.*)$", line).groups() for line in out.splitlines())
    assert lines["name"] == "other" and lines["state"] == "ok", lines
    assert lines["topics"] == "volcano" and lines["credentials"] == "none", lines
    assert lines["items"].startswith("2 (0 pruned)"), lines
    assert lines["alerts"] == "delivered 0, pending 0, failed 2, no hook 0", lines
    rc, out, err = human(d, "feeds", "news")
    assert rc == 0 and "header X-Token, user and password" in out and "s3cret" not in out, out

    rc, doc = d.cli("feeds", "nope")
    assert rc == 1 and doc == {"ok": False, "error": "no feed 'nope'"}, d.describe_last()
    rc, out, err = human(d, "feeds", "nope")
    assert (rc, out, err) == (1, "", "feedwatch: no feed 'nope'\n"), (rc, out, err)
    rc, out, err = human(d, "feeds", "a", "b")
    assert rc == 2 and "usage" in err, err
    assert d.stop() == 0


def test_item_id_shows_one_item_with_its_alerts_and_hooks(t):
    d, srv = start(t)
    fwtest.wait_until(lambda: d.status()["alerts"]["failed"] == 4, 30, "the failing hook")
    ids = ids_by_guid(d)
    it = d.cli_ok("item", str(ids["n-mid"]))["item"]
    assert it["id"] == ids["n-mid"] and it["feed"] == "news" and it["key"] == "n-mid", it
    assert it["title"] == "Volcano erupts near the town", it
    assert it["url"] == "http://example.org/n-mid" and it["language"] == "de", it
    assert it["categories"] == ["world", "nature"], it
    assert "the story in words" in it["text"] and it["pruned"] is None, it
    assert it["published"] and it["first_seen"], it
    assert len(it["alerts"]) == 1 and it["attached_to"] == [], it
    al = it["alerts"][0]
    assert al["topic"] == "volcano" and al["state"] == "failed" and al["attempts"] == 1, al
    assert al["matched"] and al["matched"][0]["term"] == "volcano", al
    assert len(al["deliveries"]) == 1, al
    dl = al["deliveries"][0]
    assert dl["hook"] == "fail" and dl["state"] == "failed" and dl["attempts"] == 1, dl
    assert dl["last_error"], dl
    quiet = d.cli_ok("item", str(ids["n-old"]))["item"]
    assert quiet["alerts"] == [] and quiet["categories"] == [], quiet

    rc, out, err = human(d, "item", str(ids["n-mid"]))
    assert rc == 0, err
    assert re.search(r"^title:\s+Volcano erupts near the town$", out, re.M), out
    assert re.search(r"^language:\s+de$", out, re.M), out
    assert re.search(r"^categories:\s+world, nature$", out, re.M), out
    assert re.search(r"^ +alert \d+, topic volcano: failed, 1 attempts", out, re.M), out
    assert re.search(r"^ +hook fail: failed, 1 attempts, last error: \S", out, re.M), out
    assert re.search(r"^text:\n  .*the story in words", out, re.M), out

    missing = max(ids.values()) + 1000
    rc, doc = d.cli("item", str(missing))
    assert rc == 1 and doc == {"ok": False, "error": f"no item {missing}"}, d.describe_last()
    for bad in ("abc", "0", "-3", "1x", "99999999999999999999"):
        rc, out, err = human(d, "item", bad)
        assert rc == 2 and out == "" and "usage: feedwatch" in err, (bad, rc, out, err)
        assert bad == "-3" or "invalid item ID" in err, (bad, err)   # -3 reads as an option
    assert d.stop() == 0


def test_items_topic_and_since_combine_with_the_other_filters(t):
    d, srv = start(t)
    keys = lambda *args: [it["key"] for it in d.cli_ok("items", *args)["items"]]
    assert keys() == ["n-new", "o-new", "n-mid", "o-old", "n-old"]
    assert keys("--topic", "volcano") == ["n-new", "o-new", "n-mid", "o-old"]
    assert keys("--topic", "volcano", "--feed", "other") == ["o-new", "o-old"]
    assert keys("--topic", "volcano", "--tag", "world") == ["n-new", "n-mid"]
    assert keys("--since", "2h") == ["n-new", "o-new"]
    assert keys("--since", "2h", "--feed", "news") == ["n-new"]
    assert keys("--since", "1d", "--topic", "volcano", "--limit", "2") == ["n-new", "o-new"]
    assert keys("--since", "100d", "--tag", "world") == ["n-new", "n-mid", "n-old"]
    at = (datetime.datetime.now(datetime.timezone.utc) - 4 * H).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert keys("--since", at) == ["n-new", "o-new", "n-mid"]
    assert keys("--since", at.replace("Z", "+00:00"), "--topic", "volcano") == \
        ["n-new", "o-new", "n-mid"]
    req = d.connect()
    doc = req.request({"cmd": "items", "since": at, "topic": "volcano", "feed": "news"})
    assert [i["key"] for i in doc["items"]] == ["n-new", "n-mid"], doc
    req.close()

    rc, out, err = human(d, "items", "--topic", "volcano", "--since", "2h")
    assert rc == 0 and "Volcano ash closes the airport" in out and "Quiet" not in out, out
    assert out.count("\n") == 3, out   # header and two rows
    rc, doc = d.cli("items", "--topic", "nope")
    assert rc == 1 and doc == {"ok": False, "error": "no topic 'nope'"}, d.describe_last()
    for bad in ("yesterday", "2026-12-06", "-2h", "2h ago", ""):
        rc, out, err = human(d, "items", "--since", bad)
        assert rc == 2 and out == "" and "invalid --since" in err, (bad, rc, out, err)
    rc, out, err = human(d, "alerts", "--since", "2h")
    assert rc == 2 and "does not apply" in err, err
    assert d.stop() == 0


def test_search_is_newest_first_with_language_and_a_bad_query_exits_2(t):
    d, srv = start(t)
    fwtest.wait_until(lambda: d.status()["search_lag_items"] == 0, 30, "the index to catch up")
    doc = d.cli_ok("search", "volcano")
    assert [i["key"] for i in doc["items"]] == ["n-new", "o-new", "n-mid", "o-old"], doc
    assert "search_lag_items" in doc and "lag_items" not in doc, doc
    first = doc["items"][0]
    entry = [i for i in d.items() if i["key"] == "n-new"][0]
    assert {k: first[k] for k in entry} == entry, (first, entry)   # an items entry, and matched
    assert first["language"] == "de" and first["matched"][0]["term"] == "volcano", first

    rc, out, err = human(d, "search", "volcano")
    assert rc == 0, err
    rows = out.splitlines()
    assert rows[0].split()[:4] == ["PUBLISHED", "FEED", "LANG", "TITLE"], rows
    assert "Volcano ash" in rows[1] and re.search(r"\snews\s+de\s", rows[1]), rows
    assert "Another volcano" in rows[2], rows

    for query in ("((volcano", "volcano AND", "title:"):
        rc, out, err = human(d, "search", query)
        assert rc == 2 and out == "" and err.startswith("feedwatch: query:") and "column" in err, \
            (query, rc, out, err)
        rc, doc = d.cli("search", query)
        assert rc == 2 and doc["ok"] is False and doc["error"].startswith("query:"), \
            d.describe_last()
    assert d.stop() == 0


def test_reload_counts_like_status_and_json_errors(t):
    d, srv = start(t)
    doc = d.cli_ok("reload")
    assert doc["feeds"] == d.status()["feeds"], doc
    assert doc["topics"] == {"total": 1} and doc["hooks"] == {"total": 1}, doc
    rc, out, err = human(d, "reload")
    assert rc == 0 and out == ("reloaded: 2 feeds (ok 2, failing 0, disabled 0, paused 0), "
                               "1 topics, 1 hooks\n"), out

    good = open(d.conf).read()
    d.write_config(good + "\n[daemon]\nno_such_key = 1\n")
    rc, doc = d.cli("reload")
    assert rc == 1 and doc["ok"] is False and "no_such_key" in doc["error"], d.describe_last()
    d.write_config(good)

    # No answer to give: the CLI says so as the daemon would, on stdout too.
    for argv, code in ((["--config", os.path.join(t.dir, "missing.conf"), "reload"], 2),
                       (["--config", t.dir, "reload"], 2),     # a folder, not a file
                       (["--socket", os.path.join(t.dir, "none.sock"), "status"], 3)):
        p = subprocess.run([fwtest.FEEDWATCH, "--json", *argv], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == code, (argv, p)
        doc = json.loads(p.stdout)
        assert doc["ok"] is False and doc["error"] and doc["error"] in p.stderr, (argv, p)
    assert d.stop() == 0


def test_new_read_only_commands_are_open_to_the_group(t):
    d, srv = start(t)
    os.chmod(t.dir, 0o755)
    os.chmod(d.sock, 0o666)   # as if nobody were in the socket's group
    item = ids_by_guid(d)["n-mid"]
    for args in (("feeds", "news"), ("item", str(item)), ("items", "--topic", "volcano"),
                 ("items", "--since", "1d")):
        p = as_nobody(d, *args)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        assert json.loads(p.stdout)["ok"] is True, (args, p.stdout)
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
