#!/usr/bin/python3
"""What the control socket's group sees of a feed (issue 14): a configured feed's URL only as
scheme://host[:port] with "/…" for its path and "?…" for its query (paths and queries carry
capability tokens), never its userinfo; errors that quote the URL's path hidden the same way;
`feeds NAME`'s `defined_at` only `config` or `runtime`. Root sees the URL as before (userinfo
hidden) and the config file's path and line. `watch` feed events follow the peer."""

import json
import os
import re
import select
import subprocess
import time

import fwtest

NOBODY = 65534
TOKEN_PATH = "/feeds/private/3f9a0c1e77d2b4.rss"


def as_nobody(d, *args):
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            fwtest.FEEDWATCH, "--socket", d.sock, "--json"] + list(args)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    doc = json.loads(p.stdout)
    assert doc["ok"] is True, (args, doc)
    return doc


class Watcher:
    """`feedwatch --json watch`, as root or as nobody; lines read with a timeout."""

    def __init__(self, d, nobody):
        pre = (["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
               if nobody else [])
        self.p = subprocess.Popen(pre + [fwtest.FEEDWATCH, "--socket", d.sock, "--json",
                                         "watch"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=fwtest._child_env())
        self.pending = b""

    def line(self, timeout=30):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            assert left > 0, ("no line from watch", self.pending)
            if select.select([self.p.stdout], [], [], left)[0]:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                assert chunk, ("watch ended", self.p.stderr.read())
                self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def feed_event(self, name):
        while True:
            ev = self.line()
            if ev.get("event") == "feed" and ev.get("name") == name:
                return ev

    def close(self):
        self.p.kill()
        self.p.wait()


def test_the_group_sees_scheme_and_host_root_the_url(t):
    s = t.httpd()
    s.add_file(TOKEN_PATH, fwtest.rss_items([("a1", "one")]))
    s.add_file("/", fwtest.rss_items([("b1", "two")]))
    secret = s.url(TOKEN_PATH).replace("http://", "http://reader:pa55word@") + \
        "?token=T1&hash=T3&k=T6"
    host = re.match(r"http://([^/]+)/", s.url("/")).group(1)
    missing = os.path.join(t.dir, "private-3f9a", "absent.xml")
    d = t.daemon({"secret": secret, "top": s.url("/"), "missing": "file://" + missing})
    d.start()
    os.chmod(t.dir, 0o755)
    os.chmod(d.sock, 0o666)   # as if nobody were in the socket's group
    d.wait_polled(["secret", "top", "missing"])
    fwtest.wait_until(lambda: d.feed("missing")["last_error"], 30, "the file feed's error")
    root = d.feeds_state()
    # Root: as before, userinfo hidden, the path, the query and the file's path shown.
    assert root["secret"]["url"] == (f"http://***@{host}{TOKEN_PATH}?token=***&hash=T3&k=T6"), \
        root["secret"]
    assert root["top"]["url"] == f"http://{host}/", root["top"]
    assert "private-3f9a" in root["missing"]["last_error"], root["missing"]
    # The group: scheme and host.
    group = {f["name"]: f for f in as_nobody(d, "feeds")["feeds"]}
    assert group["secret"]["url"] == f"http://{host}/…?…", group["secret"]
    assert group["secret"]["configured_url"] == f"http://{host}/…?…", group["secret"]
    assert group["top"]["url"] == f"http://{host}/", group["top"]
    assert group["missing"]["url"] == "file:///…", group["missing"]
    assert group["missing"]["last_error"], group["missing"]
    assert "private-3f9a" not in group["missing"]["last_error"], group["missing"]
    text = json.dumps(group, ensure_ascii=False)
    for leak in ("3f9a", "T1", "T3", "T6", "pa55word", "reader", "private", "absent"):
        assert leak not in text, (leak, text)
    # feeds NAME: the same, and where it is defined without the config's path.
    one = as_nobody(d, "feeds", "secret")["feed"]
    assert one["url"] == f"http://{host}/…?…" and one["defined_at"] == "config", one
    mine = d.cli_ok("feeds", "secret")["feed"]
    assert re.search(r"\.conf:\d+$", mine["defined_at"]), mine
    assert TOKEN_PATH in mine["url"], mine
    d.cli_ok("add", "later", s.url(TOKEN_PATH))
    assert as_nobody(d, "feeds", "later")["feed"]["defined_at"] == "runtime"
    assert d.cli_ok("feeds", "later")["feed"]["defined_at"] is None
    # The human view of the group says the same.
    p = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                        fwtest.FEEDWATCH, "--socket", d.sock, "feeds", "secret"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "3f9a" not in p.stdout and ".conf" not in p.stdout, p.stdout
    # watch: each watcher gets the feed event its peer may see.
    mine_w, group_w = Watcher(d, False), Watcher(d, True)
    try:
        for w in (mine_w, group_w):
            assert w.line()["watching"] is True
        d.cli_ok("pause", "secret")
        ev_root, ev_group = mine_w.feed_event("secret"), group_w.feed_event("secret")
        assert ev_root["state"] == "paused" and TOKEN_PATH in ev_root["url"], ev_root
        assert ev_group["state"] == "paused", ev_group
        assert ev_group["url"] == ev_group["configured_url"] == f"http://{host}/…?…", ev_group
    finally:
        mine_w.close()
        group_w.close()
    # export-opml refuses the group's scheme-and-host URLs rather than print them
    p = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                        fwtest.FEEDWATCH, "--socket", d.sock, "export-opml"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "root" in p.stderr and "<opml" not in p.stdout, p
    rc, _ = d.cli("export-opml", json_out=False)
    assert rc == 0 and TOKEN_PATH in d.last[2], d.describe_last()
    # metrics label failures by host only
    metrics = as_nobody(d, "metrics")["text"]
    assert "3f9a" not in metrics and "private" not in metrics, metrics
    assert d.stop() == 0


def relative_links_feed():
    """review16 a's feed: items whose links are relative to the feed's own URL (a fragment,
    the feed's directory, another query; one without a guid, so its key is its link), an
    article on the feed's host and one elsewhere, each about volcanoes in its own words."""
    items = [("g1", "#comments", "volcano frag", "lava fields east of the ridge"),
             ("g2", "./", "volcano dot", "ash clouds over the northern valley"),
             (None, "?page=2", "volcano page", "a crater lake formed after the eruption"),
             ("g4", "/2024/01/story.html", "volcano story", "magma chamber below the island"),
             ("g5", "http://example.org/elsewhere.html", "volcano elsewhere",
              "tephra reached the coast by morning")]
    body = "".join(
        "<item>" + (f'<guid isPermaLink="false">{g}</guid>' if g else "")
        + f"<title>{t}</title><link>{link}</link><description>{d}</description></item>\n"
        for g, link, t, d in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            "<title>t</title><description>d</description>\n" + body
            + "</channel></rss>\n").encode()


def urls_of(doc):
    """Every "url" and "key" value anywhere in doc (a JSON document), sorted."""
    found = set()

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k in ("url", "key") and isinstance(x, str):
                    found.add(x)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(doc)
    return sorted(found)


def test_item_urls_derived_from_the_feed_url_are_briefed_for_the_group(t):
    """review16 a: relative links resolve against the feed's URL, so an item's URL (and a
    guid-less item's key) carried the feed's path and query token to the socket's group
    through items, alerts, search, item and watch. The group now sees those briefed as the
    feed's own URL is; articles on the feed's host and elsewhere stay whole; root sees all."""
    s = t.httpd()
    s.add_status(TOKEN_PATH, 404)   # until the watchers are there
    secret = s.url(TOKEN_PATH).replace("http://", "http://reader:pa55word@") + \
        "?token=SECRETT1"
    base = s.url("")
    local_dir = os.path.join(t.dir, "private-dir-7c2e")
    os.mkdir(local_dir)
    with open(os.path.join(local_dir, "local.xml"), "wb") as f:
        f.write(('<?xml version="1.0"?>\n<rss version="2.0"><channel><title>l</title>'
                 '<item><guid isPermaLink="false">f1</guid><title>volcano local</title>'
                 "<link>other.html</link><description>pumice on the beach of the bay"
                 "</description></item></channel></rss>\n").encode())
    local = "file://" + os.path.join(local_dir, "local.xml")
    d = t.daemon({"local": local, "secret": secret})
    d.write_config(fwtest.conf_text(d.settings, d.feeds, """
[topic "volcano"]
match = volcano
"""))
    d.start()
    os.chmod(t.dir, 0o755)
    os.chmod(d.sock, 0o666)   # as if nobody were in the socket's group
    d.wait_polled(["local", "secret"])
    # watchers first, then the feed: its item and alert events are watched as they happen
    mine_w, group_w = Watcher(d, False), Watcher(d, True)
    events = {"root": [], "group": []}
    try:
        for w in (mine_w, group_w):
            assert w.line()["watching"] is True
        s.add_file(TOKEN_PATH, relative_links_feed())
        assert d.poll_wait("secret")["new_items"] == 5
        for who, w in (("root", mine_w), ("group", group_w)):
            kinds = {"item": 0, "alert": 0}
            while kinds["item"] < 5 or kinds["alert"] < 5:
                ev = w.line()
                if ev.get("event") in kinds and ev.get("feed") == "secret":
                    kinds[ev["event"]] += 1
                    events[who].append(ev)
    finally:
        mine_w.close()
        group_w.close()
    fwtest.wait_until(lambda: len(d.cli_ok("search", "volcano")["items"]) == 6, 30,
                      "the six items indexed")
    fwtest.wait_until(lambda: len(d.cli_ok("alerts")["alerts"]) == 6, 30, "six alerts")
    ids = [it["id"] for it in d.items()]
    assert len(ids) == 6, ids
    host = base[len("http://"):]
    feed_path = f"http://{host}{TOKEN_PATH}"
    whole = {f"{feed_path}?token=SECRETT1#comments", f"http://{host}/feeds/private/",
             f"{feed_path}?page=2", f"http://{host}/2024/01/story.html",
             "http://example.org/elsewhere.html", "file://" + os.path.join(local_dir, "other.html")}
    shown = {f"http://{host}/…?…#…", f"http://{host}/…", f"http://{host}/…?…",
             f"http://{host}/2024/01/story.html", "http://example.org/elsewhere.html",
             "file:///…"}
    leaks = ("SECRETT1", "3f9a0c1e77d2b4", "/feeds/private", "pa55word", "reader:",
             "private-dir-7c2e")
    commands = [("items",), ("items", "--text"), ("alerts",), ("search", "volcano")] + \
        [("item", str(i)) for i in ids]
    for args in commands:
        group = as_nobody(d, *args)
        text = json.dumps(group, ensure_ascii=False)
        for leak in leaks:
            assert leak not in text, (args, leak, urls_of(group))
        urls = set(urls_of(group)) - {"g1", "g2", "g4", "g5", "f1"}
        assert urls and urls <= shown, (args, sorted(urls - shown))
        mine = d.cli_ok(*args)
        urls = set(urls_of(mine)) - {"g1", "g2", "g4", "g5", "f1"}
        assert urls and urls <= whole, (args, sorted(urls - whole))
    group_items = {it["title"]: it for it in as_nobody(d, "items")["items"]}
    assert group_items["volcano frag"]["url"] == f"http://{host}/…?…#…", group_items
    assert group_items["volcano dot"]["url"] == f"http://{host}/…", group_items
    assert group_items["volcano page"]["url"] == f"http://{host}/…?…", group_items
    assert group_items["volcano page"]["key"] == f"http://{host}/…?…", group_items
    assert group_items["volcano story"]["url"] == f"http://{host}/2024/01/story.html"
    assert group_items["volcano elsewhere"]["url"] == "http://example.org/elsewhere.html"
    assert group_items["volcano local"]["url"] == "file:///…", group_items
    assert set(urls_of(as_nobody(d, "items"))) - {"g1", "g2", "g4", "g5", "f1"} == shown
    assert set(urls_of(d.cli_ok("items"))) - {"g1", "g2", "g4", "g5", "f1"} == whole
    # watch: the group's item and alert events briefed alike, root's whole
    text = json.dumps(events["group"], ensure_ascii=False)
    for leak in leaks:
        assert leak not in text, (leak, urls_of(events["group"]))
    assert set(urls_of(events["group"])) - {"g1", "g2", "g4", "g5"} == shown - {"file:///…"}
    assert set(urls_of(events["root"])) - {"g1", "g2", "g4", "g5"} == \
        whole - {"file://" + os.path.join(local_dir, "other.html")}
    # the human output is made from the same JSON
    for args in (("items",), ("alerts",), ("search", "volcano"), ("item", str(ids[0]))):
        p = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                            "--clear-groups", fwtest.FEEDWATCH, "--socket", d.sock, *args],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, (args, p.stderr)
        for leak in leaks:
            assert leak not in p.stdout, (args, leak, p.stdout)
    # a feed taken out of the config: its row in the store still knows its URLs
    d.feeds.pop("secret")
    d.write_config(fwtest.conf_text(d.settings, d.feeds, """
[topic "volcano"]
match = volcano
"""))
    d.cli_ok("reload")
    assert "secret" not in d.feeds_state()
    for args in (("items",), ("alerts",), ("search", "volcano"), ("item", str(ids[0]))):
        group = as_nobody(d, *args)
        text = json.dumps(group, ensure_ascii=False)
        for leak in leaks:
            assert leak not in text, (args, leak, urls_of(group))
    group_items = {it["title"]: it for it in as_nobody(d, "items")["items"]}
    assert group_items["volcano frag"]["url"] == f"http://{host}/…?…#…", group_items
    assert group_items["volcano story"]["url"] == f"http://{host}/2024/01/story.html"
    assert d.stop() == 0


def test_item_urls_from_a_temporary_redirect_are_briefed_for_the_group(t):
    """review17 F1: a feed that answers with a temporary redirect to a URL with a token of its
    own (a signed CDN link): its relative links resolve against that URL, which is neither the
    configured URL nor the one in use. The daemon keeps the last document's URL with the
    feed's state, so the group sees those items briefed, after a restart too; root sees all."""
    s = t.httpd()
    s.add_redirect("/u/feed", "/cdn/b7d41e.xml?sig=SECRETA2")
    s.add_file("/cdn/b7d41e.xml", relative_links_feed())
    d = t.daemon({"moved": s.url("/u/feed")})
    d.write_config(fwtest.conf_text(d.settings, d.feeds, """
[topic "volcano"]
match = volcano
"""))
    d.start()
    os.chmod(t.dir, 0o755)
    os.chmod(d.sock, 0o666)   # as if nobody were in the socket's group
    d.wait_polled(["moved"])
    fwtest.wait_until(lambda: len(d.items()) == 5, 30, "the five items")
    for attempt in ("running", "restarted"):
        ids = [it["id"] for it in d.items()]
        for args in [("items",), ("alerts",)] + [("item", str(i)) for i in ids]:
            text = json.dumps(as_nobody(d, *args), ensure_ascii=False)
            for leak in ("SECRETA2", "b7d41e"):
                assert leak not in text, (attempt, args, leak, text[:400])
        mine = {it["title"]: it["url"] for it in d.cli_ok("items")["items"]}
        assert mine["volcano frag"] == s.url("/cdn/b7d41e.xml?sig=SECRETA2#comments"), mine
        if attempt == "running":
            assert d.stop() == 0
            s.add_status("/u/feed", 304)   # the next poll brings no document
            d.start()
            os.chmod(d.sock, 0o666)
            d.wait_polled(["moved"])
    assert d.stop() == 0


def test_delivery_errors_are_briefed_for_the_group(t):
    """A delivery's last_error may quote the hook's exec path or its secret_file's path
    (issue 14, review17): the group sees what failed and why without them (an exit status
    whole), in `item ID`, `alerts` and a human `alerts`; root sees the whole text."""
    s = t.httpd()
    s.add_file("/v.xml", fwtest.rss_items([]))
    d = t.daemon({"v": s.url("/v.xml")})
    hookdir = os.path.join(t.dir, "hooks-7c3e")
    keydir = os.path.join(t.dir, "keys-5b2d")
    os.makedirs(hookdir)
    os.makedirs(keydir)
    with open(os.path.join(keydir, "absent.key"), "w") as f:
        f.write("k3y")   # read at start; gone by the delivery
    d.write_config(fwtest.conf_text(d.settings, d.feeds, f"""
[topic "volcano"]
match = volcano
hooks = gone, web, false

[hook "gone"]
exec = {hookdir}/missing-hook --flag
retries = 0

[hook "web"]
url = {s.url("/hook")}
secret_file = {keydir}/absent.key
retries = 0

[hook "false"]
exec = /bin/false
retries = 0
"""))
    d.start()
    os.chmod(t.dir, 0o755)
    os.chmod(d.sock, 0o666)   # as if nobody were in the socket's group
    d.wait_polled(["v"])
    os.unlink(os.path.join(keydir, "absent.key"))
    s.add_file("/v.xml", fwtest.rss_items([("v1", "volcano news")]))
    d.poll_wait()

    def failed():
        alerts = d.cli_ok("alerts")["alerts"]
        if len(alerts) == 1 and all(x["state"] == "failed" for x in alerts[0]["deliveries"]):
            return alerts[0]
        return None
    alert = fwtest.wait_until(failed, 30, "the three deliveries failed")
    mine = {x["hook"]: x["last_error"] for x in alert["deliveries"]}
    assert hookdir in mine["gone"] and keydir in mine["web"], mine
    assert mine["false"] == "exit status 1", mine
    item = d.items()[0]["id"]
    for args in (("alerts",), ("item", str(item))):
        doc = as_nobody(d, *args)
        text = json.dumps(doc, ensure_ascii=False)
        for leak in ("7c3e", "5b2d", "missing-hook", "absent", t.dir):
            assert leak not in text, (args, leak, text)
        a = doc["alerts"][0] if args[0] == "alerts" else doc["item"]["alerts"][0]
        group = {x["hook"]: x["last_error"] for x in a["deliveries"]}
        assert group == {"gone": "cannot run the hook's exec: no such file or directory",
                         "web": "cannot read the hook's secret_file: No such file or directory",
                         "false": "exit status 1"}, group
        mine = d.cli_ok(*args)
        a = mine["alerts"][0] if args[0] == "alerts" else mine["item"]["alerts"][0]
        assert hookdir in json.dumps(a) and keydir in json.dumps(a), a
    p = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                        fwtest.FEEDWATCH, "--socket", d.sock, "alerts"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "7c3e" not in p.stdout and "5b2d" not in p.stdout, p.stdout
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
