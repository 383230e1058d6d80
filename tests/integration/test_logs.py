#!/usr/bin/python3
"""The daemon's log lines: a UTC timestamp on each line outside the journal, the `<N>`
priority prefix and no timestamp under it (JOURNAL_STREAM set), and `--once` ending with a
one-line summary at notice."""

import os
import re
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


if __name__ == "__main__":
    fwtest.main()
