#!/usr/bin/python3
"""OPML on a real daemon: export-opml prints OPML 2.0 (folders by first tag, tags as
categories, escaped); export -> import into an empty daemon gives the same feeds, names and
tags; the exports of Miniflux, newsboat, FreshRSS, Feedly and Inoreader import with their
folders as tags; URLs already watched are skipped; --dry-run changes nothing; --ini prints
sections that feedwatchd --check accepts; hostile files (billion laughs, external entities,
50 MB, not XML) are refused with exit 2 and the daemon is untouched."""

import os
import subprocess
import xml.etree.ElementTree as ET

import fwtest

OPML = os.path.join(fwtest.FIXTURES, "opml")
# Every poll goes to a proxy on a loopback port where nothing listens: the imported feeds of
# real exports name hosts on the Internet, and a test never reaches them.
NO_NET = {"proxy": "http://127.0.0.1:1"}


def feedwatch(*args, stdin=None):
    p = subprocess.run([fwtest.FEEDWATCH, *args], capture_output=True, timeout=60, input=stdin)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def import_opml(d, *args):
    return feedwatch("--socket", d.sock, "import-opml", *args)


def watched(d):
    """{name: (url, tags)} of the daemon's feeds."""
    return {f["name"]: (f["configured_url"], f["tags"]) for f in d.cli_ok("feeds")["feeds"]}


def test_export_prints_folders_by_first_tag_and_categories(t):
    feeds = {"a-feed": {"url": "http://127.0.0.1:1/a.xml", "tags": "world, nl"},
             "b-feed": "http://127.0.0.1:1/b.xml"}
    d = t.daemon(feeds, **NO_NET).start()
    d.cli_ok("add", "--tag", "Tech & <Science>", "c-feed",
             'http://127.0.0.1:1/c.xml?x=1&y="2"')
    rc, out, err = feedwatch("--socket", d.sock, "export-opml")
    assert rc == 0, err
    root = ET.fromstring(out)
    assert root.tag == "opml" and root.get("version") == "2.0", out
    body = root.find("body")
    folders = {o.get("text"): o for o in body.findall("outline") if o.get("xmlUrl") is None}
    assert set(folders) == {"world", "Tech & <Science>"}, out
    a = folders["world"].find("outline")
    assert (a.get("text"), a.get("title"), a.get("type"), a.get("xmlUrl"), a.get("category")) \
        == ("a-feed", "a-feed", "rss", "http://127.0.0.1:1/a.xml", "/world,/nl"), out
    c = folders["Tech & <Science>"].find("outline")
    assert c.get("xmlUrl") == 'http://127.0.0.1:1/c.xml?x=1&y="2"', out
    assert "&amp;" in out and "&lt;Science&gt;" in out
    top = [o for o in body.findall("outline") if o.get("xmlUrl")]
    assert [(o.get("text"), o.get("category")) for o in top] == [("b-feed", None)], out


def test_round_trip_into_an_empty_daemon(t):
    feeds = {"a-feed": {"url": "http://127.0.0.1:1/a.xml", "tags": "world, nl"},
             "b.feed_2": "https://127.0.0.1:1/b.xml"}
    one = t.daemon(feeds, name="one", **NO_NET).start()
    one.cli_ok("add", "--tag", "Ünïcode news", "--tag", "x/y", "rt-c",
               "http://127.0.0.1:1/c?q=1&r=2")
    one.cli_ok("add", "--tag", "world", "rt-d", "http://127.0.0.1:1/d")
    rc, exported, err = feedwatch("--socket", one.sock, "export-opml")
    assert rc == 0, err
    two = t.daemon(name="two", **NO_NET).start()
    path = os.path.join(t.dir, "exported.opml")
    with open(path, "w") as f:
        f.write(exported)
    rc, out, err = import_opml(two, path)
    assert rc == 0, (out, err)
    assert watched(two) == watched(one), (watched(one), watched(two))
    assert sorted(out.splitlines()) == sorted(
        f"added {n} {u}" for n, (u, _) in watched(one).items()), out
    # Again: every URL is watched now, nothing changes.
    rc, out, err = import_opml(two, path)
    assert rc == 0 and all(line.startswith("skipped ") and "already watched as" in line
                           for line in out.splitlines()), out
    assert len(out.splitlines()) == 4


# What each product's export gives: {name: (url, tags)}.
PRODUCTS = {
    "miniflux.opml": {
        "Feed-1": ("http://example.org/feed/1", ["Category 1"]),
        "Feed-2": ("http://example.org/feed/2", ["Category 1"]),
        "Feed-3": ("http://example.org/feed/3", ["Category 2"]),
        "Le-Monde-A-la-une": ("https://www.lemonde.fr/rss/une.xml", ["Actualités"]),
    },
    "newsboat-export.opml": {
        "feeds.bbci.co.uk": ("http://feeds.bbci.co.uk/news/business/rss.xml?edition=int",
                             ["tag one", "tag_two", "tag/three"]),
    },
    "newsboat-nested.opml": {
        "example.com-website": ("https://example.com/feed.xml", []),
        "Distrowatch-mirror": ("https://example.com/mirrors/distrowatch.rss", []),
        "example.com-website-Atom-feed": ("https://example.com/feed.atom", []),
        "example.com-website-RSS-0.9-feed": ("https://example.com/feed.rss09", []),
        "John-s-musings": ("https://blogs.example.com/~john/posts.rss", ["Blogs"]),
        "Notes-by-Mike": ("https://blogs.example.com/~mike/.rss", ["Blogs", "friends"]),
        "Fred-on-everything": ("https://fred.example.com/writing/index.php?type=rss",
                               ["eloquent"]),
    },
    "freshrss.opml": {
        "FreshRSS-releases": ("https://github.com/FreshRSS/FreshRSS/releases.atom",
                              ["Uncategorized"]),
        "heise-online-News": ("https://www.heise.de/rss/heise-atom.xml", ["Technik & Wissen"]),
        "Framablog": ("https://framablog.org/feed/", ["Technik & Wissen"]),
    },
    "feedly.opml": {
        "High-Scalability": ("http://feeds.feedburner.com/HighScalability", ["Every Day"]),
        "feeds.feedburner.com": ("http://feeds.feedburner.com/ruanyifeng", ["Every Day"]),
        "Stratechery-by-Ben-Thompson": ("https://stratechery.com/feed/", ["Every Day", "Blog"]),
        "IceBeer": ("https://www.icebeer.top/feed/", ["Blog"]),
        "makeoptim.com": ("https://makeoptim.com/feed.xml", ["Blog"]),
    },
    "inoreader.opml": {
        "Guyskk": ("http://blog.guyskk.com/feed.xml", []),
        "CDC": ("http://cdc.tencent.com/feed/", ["设计"]),
        "Rologo": ("http://www.rologo.com/feed", ["设计"]),
    },
    "odd.opml": {
        "Da-Nang-tin-tuc": ("http://127.0.0.1:9/deep.xml", ["Nieuws", "Europa", "Deep"]),
        "NOS-Journaal": ("HTTP://127.0.0.1:9/NOS.xml?a=1&b=2", ["Nieuws", "Europa", "world", "nl"]),
        "In-two-folders": ("http://127.0.0.1:9/both.xml", ["Nieuws", "Tech"]),
        "127.0.0.1": ("http://127.0.0.1:9/no-title.xml", []),
        "127.0.0.1-2": ("http://127.0.0.1:9/cyrillic.xml", []),
    },
}


def test_product_exports_import(t):
    for n, (fixture, want) in enumerate(PRODUCTS.items()):
        d = t.daemon(name=f"p{n}", **NO_NET).start()
        rc, out, err = import_opml(d, "--tag", "imported", os.path.join(OPML, fixture))
        assert rc == 0, (fixture, out, err)
        got = watched(d)
        assert got == {k: (u, tags + ["imported"]) for k, (u, tags) in want.items()}, \
            (fixture, got)
        added = [line for line in out.splitlines() if line.startswith("added ")]
        assert len(added) == len(want), (fixture, out)
        if fixture == "odd.opml":
            assert "skipped feed://127.0.0.1:9/feedscheme.xml (not an http or https URL)" in out
            assert "skipped file:///etc/passwd (not an http or https URL)" in out
        d.stop()


def test_already_watched_urls_are_skipped_and_failures_reported(t):
    d = t.daemon({"mine": "https://EXAMPLE.org/feed/1/"}, **NO_NET).start()
    path = os.path.join(t.dir, "in.opml")
    with open(path, "w") as f:
        f.write('<opml version="2.0"><body>'
                '<outline text="again" xmlUrl="https://example.org/feed/1"/>'
                '<outline text="Feed 1" xmlUrl="http://example.org/feed/2"/>'
                '<outline text="mine" xmlUrl="http://example.org/feed/3"/>'
                '<outline text="creds" xmlUrl="http://user:pw@127.0.0.1:1/x"/>'
                '</body></opml>')
    rc, out, err = import_opml(d, path)
    assert rc == 1, (out, err)
    assert out.splitlines() == [
        "skipped https://example.org/feed/1 (already watched as mine)",
        "added Feed-1 http://example.org/feed/2",
        "added mine-2 http://example.org/feed/3",
        "failed http://user:pw@127.0.0.1:1/x: add: the URL must be http:// or https:// with a "
        "host, at most 8192 bytes, without spaces or credentials",
    ], out
    assert set(watched(d)) == {"mine", "Feed-1", "mine-2"}


def test_dry_run_changes_nothing_and_ini_is_a_config(t):
    d = t.daemon({"mine": "http://example.org/feed/1"}, **NO_NET).start()
    src = os.path.join(OPML, "miniflux.opml")
    before = watched(d)
    rc, out, err = import_opml(d, "--dry-run", src)
    assert rc == 0, err
    assert out.splitlines() == [
        "skipped http://example.org/feed/1 (already watched as mine)",
        "would add Feed-2 http://example.org/feed/2",
        "would add Feed-3 http://example.org/feed/3",
        "would add Le-Monde-A-la-une https://www.lemonde.fr/rss/une.xml",
    ], out
    assert watched(d) == before
    d.stop()
    # --ini needs no daemon: the socket is not even looked at.
    rc, ini, err = feedwatch("--socket", "/nonexistent/sock", "import-opml", "--ini",
                             "--tag", "moved", os.path.join(OPML, "odd.opml"))
    assert rc == 0, err
    assert '[feed "NOS-Journaal"]\nurl = HTTP://127.0.0.1:9/NOS.xml?a=1&b=2\n' \
           'tags = Nieuws, Europa, world, nl, moved\n' in ini, ini
    assert "# skipped file:///etc/passwd (not an http or https URL)" in ini
    conf = os.path.join(t.dir, "pasted.conf")
    with open(conf, "w") as f:
        f.write(fwtest.conf_text(d.settings, {}) + "\n" + ini)
    p = subprocess.run([fwtest.FEEDWATCHD, "--check", "--config", conf], capture_output=True,
                       timeout=30)
    assert p.returncode == 0, p
    assert b"5 feeds" in p.stdout, p.stdout
    rc, _, err = feedwatch("import-opml", "--ini", "--dry-run", src)
    assert rc == 2, err


def test_long_folder_tag_is_cut_on_a_character(t):
    # A folder's title becomes a tag of at most 256 bytes (FEED_TAG_MAX), cut where a
    # character ends: "a" then 200 two-byte letters leaves "a" and 127 of them (255 bytes).
    path = os.path.join(t.dir, "long.opml")
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0"?><opml version="2.0"><body><outline text="a%s">'
                '<outline text="x" xmlUrl="http://127.0.0.1:9/x"/></outline></body></opml>'
                % ("\u00e9" * 200))
    rc, ini, err = feedwatch("--socket", "/nonexistent/sock", "import-opml", "--ini", path)
    assert rc == 0, err
    assert '[feed "x"]\nurl = http://127.0.0.1:9/x\ntags = a%s\n' % ("\u00e9" * 127) in ini, ini


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE opml [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>
<opml version="2.0"><body><outline text="&f;" xmlUrl="http://127.0.0.1:1/&f;"/></body></opml>
"""


def test_hostile_files_are_refused(t):
    srv = t.httpd()
    srv.add_file("/evil.dtd", body=b'<!ENTITY x "pwned">', content_type="application/xml-dtd")
    d = t.daemon(**NO_NET).start()
    cases = {
        "laughs.opml": (LAUGHS.encode(), "declares XML entities"),
        # In UTF-16 the byte scan for <!ENTITY cannot see it: libxml2's own amplification
        # check, or the check of the parsed document, refuses it.
        "laughs16.opml": (LAUGHS.replace('version="1.0"?>', 'version="1.0" encoding="UTF-16"?>')
                          .encode("utf-16"), ("declares XML entities", "entity reference loop")),
        "xxe.opml": (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM '
                     b'"file:///etc/passwd">]><opml><body><outline text="&x;" '
                     b'xmlUrl="http://127.0.0.1:1/a"/></body></opml>', "declares XML entities"),
        "big.opml": (b'<opml><body><outline xmlUrl="http://127.0.0.1:1/a" text="' +
                     b"x" * (50 * 1024 * 1024) + b'"/></body></opml>', "larger than 16 MiB"),
        "garbage.opml": (b"\x00\xffnot xml at all", "not well-formed XML"),
        "html.opml": (b"<html><body><outline xmlUrl='http://127.0.0.1:1/a'/></body></html>",
                      "not OPML"),
        "truncated.opml": (b'<opml><body><outline xmlUrl="http://127.0.0.1:1/a"',
                           "not well-formed XML"),
    }
    for name, (body, why) in cases.items():
        path = os.path.join(t.dir, name)
        with open(path, "wb") as f:
            f.write(body)
        for mode in ([], ["--ini"]):
            rc, out, err = import_opml(d, *mode, path)
            whys = why if isinstance(why, tuple) else (why,)
            assert rc == 2 and any(w in err for w in whys) and out == "", \
                (name, mode, rc, out, err[:300])
    # A DTD named by the document is never fetched (no network, no DTD loading).
    path = os.path.join(t.dir, "dtd.opml")
    with open(path, "w") as f:
        f.write(f'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "{srv.url("/evil.dtd")}">'
                '<opml><body><outline text="ok" xmlUrl="http://127.0.0.1:1/ok"/></body></opml>')
    rc, out, err = import_opml(d, path)
    assert rc == 0 and out == "added ok http://127.0.0.1:1/ok\n", (out, err)
    assert srv.count("/evil.dtd") == 0
    assert set(watched(d)) == {"ok"}
    rc, _, err = import_opml(d, os.path.join(t.dir, "missing.opml"))
    assert rc == 2 and "No such file" in err, err


def test_unreachable_daemon_is_exit_3(t):
    rc, out, err = feedwatch("--socket", os.path.join(t.dir, "none.sock"), "import-opml",
                             os.path.join(OPML, "feedly.opml"))
    assert rc == 3 and out == "", (out, err)
    rc, out, err = feedwatch("--socket", os.path.join(t.dir, "none.sock"), "export-opml")
    assert rc == 3 and out == "", (out, err)


if __name__ == "__main__":
    fwtest.main()
