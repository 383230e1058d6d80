#!/usr/bin/python3
"""The daemon's log lines: a UTC timestamp on each line outside the journal, the `<N>`
priority prefix and no timestamp under it (JOURNAL_STREAM set), `--once` ending with a
one-line summary at notice, and no control or bidirectional-control character raw in any
line, whether it came from a feed or from a hook's output."""

import os
import re
import stat
import subprocess

import fwtest

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


def once(t, env_extra):
    feed = fwtest.fixture("rss-news.xml")
    conf = os.path.join(t.dir, "fw.conf")
    with open(conf, "w") as f:
        f.write(f"[daemon]\ndatabase = {t.dir}/fw.db\nsocket = {t.dir}/fw.sock\n"
                f"log_level = notice\n[feed \"news\"]\nurl = file://{feed}\n"
                f"[feed \"gone\"]\nurl = file://{t.dir}/missing.xml\n")
    env = fwtest._child_env()
    env.update(env_extra)
    p = subprocess.run([fwtest.FEEDWATCHD, "--config", conf, "--once"], capture_output=True,
                       text=True, timeout=60, env=env)
    return p.returncode, p.stderr.splitlines()


def test_timestamps_outside_the_journal(t):
    rc, lines = once(t, {})
    assert rc == 1, lines            # one feed could not be read
    assert lines and all(STAMP.match(line) for line in lines), lines
    summary = [line for line in lines if " once: " in line]
    assert len(summary) == 1, lines
    assert re.search(r"once: 2 feeds polled in \d+\.\d s: 1 ok, 0 not modified, 1 errors, "
                     r"\d+ new items, 0 alerts$", summary[0]), summary
    n_items = len(fwtest.feed_titles(fwtest.fixture("rss-news.xml")))
    assert f", {n_items} new items," in summary[0], (n_items, summary)


def test_priorities_under_the_journal(t):
    rc, lines = once(t, {"JOURNAL_STREAM": "8:12345"})
    assert rc == 1, lines
    assert lines and all(re.match(r"^<[0-7]>", line) for line in lines), lines
    assert not any(STAMP.match(line[3:]) for line in lines), lines
    assert any(line.startswith("<5>once: 2 feeds polled") for line in lines), lines


# C0 but tab, DEL, C1, and the bidirectional controls PRODUCT.md names.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def test_feed_text_and_hook_output_escaped(t):
    title = "evil \u009b31m title \u202e reversed \u2066 isolate"
    feed = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>x</title>'
            f"<item><title>{title}</title><link>http://example.org/1</link><guid>urn:x:1</guid>"
            "<description>boxcar</description></item></channel></rss>").encode()
    hook = os.path.join(t.dir, "noisy.sh")
    with open(hook, "w") as f:
        # ESC, BEL and a right-to-left override on stdout, a C1 on stderr.
        f.write("#!/bin/sh\nprintf 'hook says \\033[2J\\007 \\342\\200\\256 done\\n'\n"
                "printf 'oops \\302\\233 here\\n' >&2\n")
    os.chmod(hook, stat.S_IRWXU)
    s = t.httpd()
    s.add_file("/x.xml", feed)
    d = t.daemon({"x": s.url("/x.xml")})
    d.write_config(fwtest.conf_text(d.settings, d.feeds,
                                    '\n[topic "t"]\nmatch = boxcar\nhooks = h\n'
                                    f'\n[hook "h"]\nexec = {hook}\ntimeout = 10s\n'))
    d.start()
    d.wait_log("done")
    d.wait_log("here")
    assert d.stop() == 0
    log = d.log()
    lines = log.splitlines()
    bad = [line for line in lines if RAW_CONTROL.search(line)]
    assert bad == [], bad
    # Each escaped where it appears, the rest of the text kept.
    item = [line for line in lines if "item: feed 'x':" in line]
    assert len(item) == 1, lines
    # (the parser drops C1 controls from titles itself; the bidi controls reach the log)
    assert "31m title \\u202e reversed \\u2066 isolate'" in item[0], item
    out = [line for line in lines if "hook says" in line]
    assert len(out) == 1 and "\\x1b[2J\\x07 \\u202e done" in out[0], out
    err = [line for line in lines if "oops" in line]
    assert len(err) == 1 and "oops \\u009b here" in err[0], err


def test_item_urls_in_the_log_hide_the_feed_url_secrets(t):
    """The log is the operator's, but the group may read the journal: an item URL in it (the
    new item's line, an article that could not be had) hides a userinfo and secret-named
    query values as the feed's URL does there, also when a relative link carries the feed's
    own ?token= (a URL's userinfo never reaches its items' links); ordinary links stay whole."""
    s = t.httpd()
    items = [("i1", "#comments"), ("i2", "/gone.html?token=SECRETTOK2&page=3"),
             ("i3", "http://writer:itempa55@127.0.0.1:9/x.html"), ("i4", "/story/plain.html")]
    body = ['<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            "<link>http://example.org/</link><description>d</description>"]
    for guid, link in items:
        body.append(f'<item><guid isPermaLink="false">{guid}</guid><title>{guid}</title>'
                    f"<link>{link.replace('&', '&amp;')}</link><description>d {guid}"
                    "</description></item>")
    body.append("</channel></rss>")
    s.add_file("/f.xml", "".join(body).encode())
    s.add_file("/story/plain.html", b"<html><body><p>" + b"A plain story. " * 40 +
               b"</p></body></html>", content_type="text/html")
    url = s.url("/f.xml?token=SECRETTOK1&lang=en").replace("http://", "http://reader:pa55word@")
    d = t.daemon({"f": {"url": url, "fetch_article": "yes", "allow_private_addresses": "yes"}})
    d.start()
    d.wait_polled(["f"])
    d.wait_log("item: feed 'f': 'i4'")
    d.wait_log("poll: feed 'f': HTTP 200")
    log = d.log()
    for leak in ("SECRETTOK1", "SECRETTOK2", "pa55word", "itempa55"):
        assert leak not in log, (leak, log)
    host = s.url("/")[len("http://"):-1]
    assert f"item: feed 'f': 'i1' http://{host}/f.xml?token=***&lang=en#comments" in log, log
    assert f"'i3' http://***@127.0.0.1:9/x.html" in log, log
    assert f"'i4' http://{host}/story/plain.html (article text from the page)" in log, log
    assert re.search(r"article: HTTP 404: http://[^ ]*/gone\.html\?token=\*\*\*&page=3, "
                     "keeping", log), log

    # A config error that quotes a feed URL, logged by a failed reload, hides them too.
    d.feeds["f"] = {"url": url.replace("/f.xml", "/f x.xml").replace("TOK1", "TOK3")}
    d.write_config()
    rc, _ = d.cli("reload")
    assert rc != 0, d.describe_last()
    d.wait_log("config: reload failed")
    log = d.log()
    for leak in ("SECRETTOK3", "pa55word"):
        assert leak not in log, (leak, log)
        assert leak not in d.last[2] + d.last[3], d.describe_last()
    assert f"invalid URL 'http://***@{host}/f x.xml?token=***&lang=en'" in log, log
    assert d.stop() == 0


if __name__ == "__main__":
    fwtest.main()
