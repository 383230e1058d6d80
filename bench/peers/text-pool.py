#!/usr/bin/env python3
"""Item texts of real feeds, one a line, tags and entities gone: the text that stage-limits
pushes through each per-item stage.

usage: text-pool.py FEEDS_REAL_DIR OUT.txt      (for example tests/fixtures/corpus/feeds-real)
"""
import glob
import gzip
import html
import os
import re
import sys

FIELD = re.compile(r"<(description|content:encoded|content|summary)\b[^>]*>(.*?)</\1>", re.S)


def main():
    root, out = sys.argv[1], sys.argv[2]
    texts = set()
    for path in glob.glob(os.path.join(root, "**", "*"), recursive=True):
        if os.path.isdir(path) or path.endswith((".json", ".md")):
            continue
        raw = open(path, "rb").read()
        if path.endswith(".gz"):
            raw = gzip.decompress(raw)
        for m in FIELD.finditer(raw.decode("utf-8", "replace")):
            t = re.sub(r"<!\[CDATA\[|\]\]>", "", m.group(2))
            t = " ".join(re.sub(r"<[^>]+>", " ", html.unescape(html.unescape(t))).split())
            if len(t) > 40:
                texts.add(t[:3000])
    with open(out, "w", encoding="utf-8") as f:
        f.writelines(t + "\n" for t in sorted(texts))
    print("%d texts, %.1f MB" % (len(texts), sum(map(len, texts)) / 1e6))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main()
