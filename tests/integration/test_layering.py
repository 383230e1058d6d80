#!/usr/bin/python3
"""The layering of feeds/ (DESIGN.md: base < parse < text < topics, never the shell) holds in
this tree, and scripts/check-layering, which the build runs before compiling feeds/, fails on
each kind of wrong include with the file, the line and the rule."""

import os
import shutil
import subprocess
import sys

import fwtest

SRC = os.environ.get("FW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CHECK = os.path.join(SRC, "scripts", "check-layering")


def run(root):
    return subprocess.run([sys.executable, CHECK, "--root", root], capture_output=True,
                          text=True, timeout=60)


def test_the_tree_holds_its_layering(t):
    p = run(SRC)
    assert p.returncode == 0, p.stderr
    assert "holds its layering" in p.stdout, p.stdout


def fake_tree(t, name):
    """A copy of feeds/ (sources and headers only) under the test's directory."""
    root = os.path.join(t.dir, name)
    shutil.copytree(os.path.join(SRC, "feeds"), os.path.join(root, "feeds"),
                    ignore=lambda d, names: [n for n in names
                                             if os.path.isfile(os.path.join(d, n))
                                             and not n.endswith((".c", ".h"))])
    return root


def add_line(root, rel, line):
    path = os.path.join(root, "feeds", rel)
    with open(path) as f:
        lines = f.read().split("\n")
    # after the file's first #include, so the line number is known
    at = next(i for i, s in enumerate(lines) if s.startswith("#include")) + 1
    lines.insert(at, line)
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return at + 1


def test_each_wrong_include_fails_with_file_line_and_rule(t):
    cases = [
        ("text/html.c", '#include "topics/match.h"', "text may include only base, parse, text"),
        ("base/buf.c", '#include "parse/feed.h"', "base may include only base (parse is above"),
        ("parse/date.c", '#include "text/lang.h"', "parse may include only base, parse"),
        ("topics/query.c", '#include "daemon.h"', "qualified from feeds/"),
        ("text/lang.c", '#include "../../daemon/daemon.h"', "never includes the shell"),
        ("parse/feed.c", '#include "config/conf.h"', "never includes the shell"),
        ("topics/match.c", '#include <cli/output.h>', "never includes the shell"),
        ("text/content.c", '#include "buf.h"', "qualified from feeds/"),
        ("text/article.c", '#include "parse/feedparse-internal.h"', "private header of parse"),
        ("topics/match.c", '#include "text/html-internal.h"', "private header of text"),
        ("topics/place.c", '#include "text/nosuch.h"', "no such header in feeds/text/"),
    ]
    for i, (rel, line, rule) in enumerate(cases):
        root = fake_tree(t, "case%d" % i)
        assert run(root).returncode == 0, "the copy itself must pass"
        lineno = add_line(root, rel, line)
        p = run(root)
        assert p.returncode == 1, (line, p.returncode, p.stderr)
        want = "feeds/%s:%d: includes " % (rel, lineno)
        assert want in p.stderr and rule in p.stderr, (want, rule, p.stderr)
        assert "1 violation of the layering" in p.stderr, p.stderr


def test_a_source_outside_the_groups_fails(t):
    root = fake_tree(t, "stray")
    with open(os.path.join(root, "feeds", "stray.c"), "w") as f:
        f.write('#include "base/buf.h"\n')
    p = run(root)
    assert p.returncode == 1 and "feeds/stray.c:0: a source of feeds/ outside" in p.stderr, \
        p.stderr


def test_a_lower_group_may_be_used_from_above(t):
    root = fake_tree(t, "ok")
    add_line(root, "topics/match.c", '#include "text/html.h"')
    add_line(root, "topics/query.c", '#include "parse/date.h"')
    add_line(root, "parse/feedext.c", '#include "parse/feedparse-internal.h"')
    p = run(root)
    assert p.returncode == 0, p.stderr


fwtest.main()
