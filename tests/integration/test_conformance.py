#!/usr/bin/env python3
"""The feed parser against the conformance corpus of tests/fixtures/conformance.

Each folder there holds small feed documents, each about one rule of a specification (RSS
2.0, RSS 1.0 and its modules, Atom RFC 4287, Atom 0.3), and an expect.json naming, for
each document, the fields feedwatch promises and their values: "feed.title", "feed.link",
"feed.language", "feed.updated", "items" (the item count), and "items[N].<field>" for
title, link, id, author, published, updated, summary, content, categories and language,
as `feedwatch parse --json` prints them (null: absent). test_feedparse checks that the
output does not depend on how the input is split; this test checks what is read.

The score (documents fully right / documents, assertions right / assertions) is printed per
folder and in total; any assertion that does not hold fails the test, and so does a folder
without an expect.json or a document without expectations (README.md lists the cases
deliberately not followed, which have no document here).

Environment: FEEDWATCH (the CLI binary), FW_FIXTURES (default: this checkout's).
"""

import json
import os
import re
import subprocess
import sys

import fwtest

CONFORMANCE = os.path.join(fwtest.FIXTURES, "conformance")
KEY = re.compile(r"^(feed)\.(title|link|language|updated|format)$"
                 r"|^items\[(\d+)\]\.(title|link|id|author|published|updated|summary|content"
                 r"|categories|language)$|^items$")


def lookup(doc, key):
    """The value of one expectation key in the JSON of `feedwatch parse`."""
    if key == "items":
        return len(doc["items"])
    m = KEY.match(key)
    assert m, "unknown expectation key %r" % key
    if m.group(1):
        return doc["feed"][m.group(2)]
    n = int(m.group(3))
    if n >= len(doc["items"]):
        return "<no item %d>" % n
    return doc["items"][n][m.group(4)]


def run_folder(name):
    """Checks one folder; returns (docs, docs_ok, asserts, asserts_ok, failure lines)."""
    folder = os.path.join(CONFORMANCE, name)
    with open(os.path.join(folder, "expect.json"), encoding="utf-8") as f:
        expect = json.load(f)
    files = sorted(x for x in os.listdir(folder) if x != "expect.json")
    missing = [x for x in files if x not in expect]
    assert not missing, "%s: documents without expectations: %s" % (name, missing)
    docs = docs_ok = asserts = asserts_ok = 0
    failures = []
    for doc_name, fields in sorted(expect.items()):
        path = os.path.join(folder, doc_name)
        assert os.path.isfile(path), "%s: no document %s" % (name, doc_name)
        assert fields, "%s/%s: no expectations" % (name, doc_name)
        r = subprocess.run([fwtest.FEEDWATCH, "parse", "--json", path], capture_output=True,
                           timeout=30)
        docs += 1
        if r.returncode != 0:
            asserts += len(fields)
            failures.append("%s/%s: exit %d: %s" % (name, doc_name, r.returncode,
                                                    r.stderr.decode(errors="replace").strip()))
            continue
        doc = json.loads(r.stdout)
        ok = True
        for key, want in sorted(fields.items()):
            asserts += 1
            got = lookup(doc, key)
            if got == want:
                asserts_ok += 1
            else:
                ok = False
                failures.append("%s/%s: %s: want %s, got %s" % (
                    name, doc_name, key, json.dumps(want, ensure_ascii=False),
                    json.dumps(got, ensure_ascii=False)))
        docs_ok += ok
    return docs, docs_ok, asserts, asserts_ok, failures


def test_corpus(t):
    folders = sorted(d for d in os.listdir(CONFORMANCE)
                     if os.path.isdir(os.path.join(CONFORMANCE, d)))
    assert folders, "no conformance folders in " + CONFORMANCE
    total = [0, 0, 0, 0]
    failures = []
    for name in folders:
        docs, docs_ok, asserts, asserts_ok, fails = run_folder(name)
        for i, v in enumerate((docs, docs_ok, asserts, asserts_ok)):
            total[i] += v
        failures += fails
        print("  %-16s documents %3d/%-3d assertions %3d/%d" % (name, docs_ok, docs,
                                                                asserts_ok, asserts))
    print("  %-16s documents %3d/%-3d assertions %3d/%d" % ("total", total[1], total[0],
                                                            total[3], total[2]))
    for line in failures:
        print("  FAIL " + line)
    sys.stdout.flush()
    assert total[0] >= 150 and total[2] >= 250, "the corpus shrank: %r" % total
    assert not failures, "%d assertions do not hold" % len(failures)


if __name__ == "__main__":
    fwtest.main()
