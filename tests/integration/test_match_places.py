#!/usr/bin/env python3
"""`feedwatch match` with place: and alias: terms, offline.

The seed articles (tests/fixtures/corpus/seeds) against place:UA and an [alias] set read
from --config; a feed whose items say their language (xml:lang), so that a Dutch name
counts in the Dutch item and not in the English one; --explain and --json's "via"; the exit
codes of a config that cannot be read and of an alias no config defines.

Environment: FEEDWATCH (the CLI binary), FW_CORPUS (default: this checkout's corpus).
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FEEDWATCH = os.environ.get("FEEDWATCH") or os.path.join(HERE, "../../build/cli/feedwatch")
CORPUS = os.environ.get("FW_CORPUS") or os.path.join(HERE, "..", "fixtures", "corpus")
SEEDS = os.path.join(CORPUS, "seeds")
TIMEOUT = 60

CONF = """[daemon]
socket = /run/feedwatch-test.sock

[alias "osce"]
names = OSCE, OVSE, OSZE, ОБСЕ, "Organization for Security and Co-operation in Europe"

[feed "f"]
url = not checked by the CLI
"""

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title><link>http://example.org/</link>
<item xml:lang="nl"><title>Grens</title><guid>nl-1</guid>
<description>Troepen aan de grens met Oekraïne.</description></item>
<item xml:lang="en"><title>Border</title><guid>en-1</guid>
<description>The Dutch call it Oekraïne.</description></item>
<item xml:lang="ru"><title>Граница</title><guid>ru-1</guid>
<description>Войска у границы Украины.</description></item>
<item xml:lang="en"><title>Trap</title><guid>en-2</guid>
<description>Let us talk as friends about the end of the island.</description></item>
</channel></rss>
"""


def run(args):
    return subprocess.run([FEEDWATCH] + args, capture_output=True, timeout=TIMEOUT,
                          env=dict(os.environ, TZ="UTC"))


class MatchPlacesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="fwplaces-")
        cls.conf = os.path.join(cls.dir, "feedwatch.conf")
        with open(cls.conf, "w", encoding="utf-8") as f:
            f.write(CONF)
        cls.feed = os.path.join(cls.dir, "feed.xml")
        with open(cls.feed, "w", encoding="utf-8") as f:
            f.write(FEED)
        cls.seeds = sorted(os.path.join(SEEDS, n) for n in os.listdir(SEEDS)
                           if n.endswith(".txt"))
        if len(cls.seeds) != 5:
            raise AssertionError(f"expected 5 seeds in {SEEDS}, found {len(cls.seeds)}")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_seeds_place_ua(self):
        # All five mention Ukraine (003 too: "Oekraïne"), each in its own language.
        r = run(["--json", "match", "place:UA", *self.seeds])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [json.loads(l) for l in r.stdout.decode().splitlines()]
        self.assertEqual([os.path.basename(l["file"])[:3] for l in lines],
                         ["000", "001", "002", "003", "004"])
        for l in lines:
            self.assertEqual(l["matched"][0]["term"], "place:UA")
            self.assertTrue(l["matched"][0]["via"].startswith("place UA: "), l)

    def test_seeds_alias_from_config(self):
        r = run(["--config", self.conf, "match", "--explain", "alias:osce AND place:UA",
                 *self.seeds])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        for n in ("000", "001", "002", "004"):
            self.assertIn(f"/{n}_", out)
        self.assertNotIn("/003_", out)      # no OSCE in 003
        self.assertIn('matched alias osce: "OVSE"', out)
        self.assertIn('matched place UA: "Oekraïne" (', out)

    def test_item_language_decides(self):
        r = run(["--json", "match", "place:UA", self.feed])
        self.assertEqual(r.returncode, 0, r.stderr)
        items = {json.loads(l)["item"]: json.loads(l) for l in r.stdout.decode().splitlines()}
        self.assertEqual(sorted(items), ["nl-1", "ru-1"])
        self.assertIn("inflected (Snowball ru)", items["ru-1"]["matched"][0]["via"])
        r = run(["match", "place:US OR place:IS OR place:IN", self.feed])
        self.assertEqual(r.returncode, 1, r.stdout)   # the traps stay silent

    def test_errors_exit_2(self):
        r = run(["match", "alias:nope", self.feed])
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"unknown alias 'nope'", r.stderr)
        r = run(["--config", os.path.join(self.dir, "missing.conf"), "match", "osce",
                 self.feed])
        self.assertEqual(r.returncode, 2)
        r = run(["match", "place:Atlantis", self.feed])
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"unknown place 'Atlantis'", r.stderr)


if __name__ == "__main__":
    unittest.main()
