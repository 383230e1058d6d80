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


if __name__ == "__main__":
    fwtest.main()
