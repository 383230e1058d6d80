#!/usr/bin/env python3
"""Builds feedwatch's place table (feeds/topics/place.h) from the installed CLDR and Hunspell files.

usage: gen-places.py CLDR_COMMON_DIR HUNSPELL_DIR OUT.c

Runs at build time (CMake), never at daemon start. Reads:
  CLDR_COMMON_DIR/main/*.xml          localeDisplayNames/territories/territory (alt forms too)
  CLDR_COMMON_DIR/subdivisions/*.xml  localeDisplayNames/subdivisions/subdivision
  HUNSPELL_DIR/{uk_UA,pl_PL,cs_CZ}.{dic,aff} with `unmunch` (hunspell-tools): the inflected
                                       forms of the one-word territory names of uk, pl, cs
Writes one C source with the tables declared in feeds/topics/place.h. Python 3 standard library
only. Every name is kept with the set of base languages (the locale's part before '_') that
give it; English names count everywhere at run time. The lookup index maps each name, folded
like feeds/text/normalize.c folds words (NFKC, case fold, marks stripped, a few letters by hand,
Han/kana as bigrams), to the places that bear it.
"""
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
import xml.etree.ElementTree as ET

HUNSPELL_LANGS = {"uk": "uk_UA", "pl": "pl_PL", "cs": "cs_CZ"}
SKIP_TERRITORIES = {"ZZ"}  # "Unknown Region"

FLAG_EXACT = 1  # three letters or fewer: only as written in CLDR
FLAG_FORM = 2   # an inflected form (Hunspell), not a CLDR name
FLAG_SUBDIVISION = 4

HAND = str.maketrans({"đ": "d", "ł": "l", "ø": "o", "ħ": "h", "ı": "i", "ŧ": "t"})


def is_cjk(cp):
    return (0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0x3400 <= cp <= 0x4DBF
            or 0x4E00 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0xFF66 <= cp <= 0xFF9D
            or 0x20000 <= cp <= 0x3134F)


def word_char(ch):
    return unicodedata.category(ch)[0] in "LM" or unicodedata.category(ch) in ("Nd", "Nl", "No")


def fold_word(w):
    w = unicodedata.normalize("NFKC", w).casefold()
    w = unicodedata.normalize("NFD", w)
    w = "".join(c for c in w if unicodedata.category(c) not in ("Mn", "Mc", "Me", "Cf"))
    w = unicodedata.normalize("NFC", w).translate(HAND)
    return unicodedata.normalize("NFC", w)


def fold(text):
    """The words of text as normalize_text() gives them: folded, Han/kana runs as bigrams."""
    out = []
    word = []
    cjk = []

    def flush():
        if word:
            f = fold_word("".join(word))
            if f:
                out.append(f)
            word.clear()
        if cjk:
            if len(cjk) == 1:
                out.append(fold_word(cjk[0]))
            else:
                for i in range(len(cjk) - 1):
                    out.append(fold_word(cjk[i] + cjk[i + 1]))
            cjk.clear()

    for ch in text:
        if is_cjk(ord(ch)) and unicodedata.category(ch)[0] != "P":
            if word:
                flush()
            cjk.append(ch)
        elif word_char(ch):
            if cjk:
                flush()
            word.append(ch)
        elif unicodedata.category(ch) == "Cf":
            continue
        else:
            flush()
    flush()
    return " ".join(out)


def letters(name):
    return sum(1 for c in name if word_char(c))


def base_lang(locale):
    return locale.split("_")[0]


def read_names(path, tag):
    try:
        tree = ET.parse(path)
    except ET.ParseError as e:
        sys.exit(f"gen-places: {path}: {e}")
    out = []
    for el in tree.getroot().iter(tag):
        code = el.get("type")
        text = (el.text or "").strip()
        if code and text and el.get("draft") not in ("unconfirmed",):
            out.append((code, text))
    return out


def hunspell_forms(hdir, lang, words):
    """{word: [forms]} for the words found as roots in the language's dictionary."""
    base = os.path.join(hdir, HUNSPELL_LANGS[lang])
    with open(base + ".aff", "rb") as f:
        enc = "utf-8"
        for line in f:
            m = re.match(rb"\s*SET\s+(\S+)", line)
            if m:
                enc = m.group(1).decode("ascii").lower()
                break
    if enc in ("microsoft-cp1251", "cp1251"):
        enc = "cp1251"
    entries = {}
    with open(base + ".dic", "rb") as f:
        next(f, None)  # the count
        for raw in f:
            line = raw.decode(enc, errors="replace").rstrip("\n")
            field = line.split("\t")[0].split(" ")[0]
            root = re.split(r"(?<!\\)/", field, maxsplit=1)[0]
            if root in words:
                entries.setdefault(root, []).append(field)
    if not entries:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        dic = os.path.join(tmp, "p.dic")
        order = []
        lines = []
        for root in sorted(entries):
            for field in entries[root]:
                order.append(root)
                lines.append(field)
                lines.append(f"FWSENTINEL{len(order)}")
        with open(dic, "wb") as f:
            f.write(f"{len(lines)}\n".encode(enc))
            f.write(("\n".join(lines) + "\n").encode(enc, errors="replace"))
        res = subprocess.run(["unmunch", dic, base + ".aff"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=True)
    forms = {}
    i = 0
    cur = []
    for line in res.stdout.decode(enc, errors="replace").splitlines():
        m = re.fullmatch(r"FWSENTINEL(\d+)", line.strip())
        if m:
            root = order[int(m.group(1)) - 1]
            forms.setdefault(root, set()).update(w for w in cur if w and w != root)
            cur = []
            i += 1
            continue
        cur.append(line.strip())
    if i != len(order):
        sys.exit(f"gen-places: unmunch gave {i} of {len(order)} entries for {lang}")
    return {k: sorted(v) for k, v in forms.items()}


def c_string(s):
    """A C string literal's inside: UTF-8 as is, quotes, backslashes and '?' escaped."""
    out = []
    for c in s:
        if c in '"\\?' or unicodedata.category(c)[0] in "CZ" and c != " ":
            # controls and format characters (bidi overrides among them) as UTF-8 escapes
            out.append("".join("\\%03o" % b for b in c.encode("utf-8")))
        else:
            out.append(c)
    return "".join(out)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    common, hdir, out_path = sys.argv[1:]
    main_dir = os.path.join(common, "main")
    sub_dir = os.path.join(common, "subdivisions")
    # places[code] = {"kind": flags, "names": {name: set(langs)}}
    places = {}
    locales = sorted(f[:-4] for f in os.listdir(main_dir) if f.endswith(".xml"))
    n_locales_with_names = 0
    for loc in locales:
        if loc == "root":
            continue
        names = read_names(os.path.join(main_dir, loc + ".xml"), "territory")
        if names:
            n_locales_with_names += 1
        for code, text in names:
            if code in SKIP_TERRITORIES:
                continue
            p = places.setdefault(code, {"kind": 0, "names": {}})
            p["names"].setdefault(text, set()).add(base_lang(loc))
    if "UA" not in places or n_locales_with_names < 50:
        sys.exit(f"gen-places: {main_dir}: too few territory names (is unicode-cldr-core installed?)")
    for f in sorted(os.listdir(sub_dir)):
        if not f.endswith(".xml") or f == "root.xml":
            continue
        loc = f[:-4]
        for code, text in read_names(os.path.join(sub_dir, f), "subdivision"):
            m = re.fullmatch(r"([a-z]{2})([a-z0-9]{1,4})", code)
            if not m:
                continue
            iso = m.group(1).upper() + "-" + m.group(2).upper()
            p = places.setdefault(iso, {"kind": FLAG_SUBDIVISION, "names": {}})
            p["names"].setdefault(text, set()).add(base_lang(loc))
    # Inflected forms of the one-word territory names of the Hunspell languages.
    n_forms = {}
    for lang in HUNSPELL_LANGS:
        words = set()
        for code, p in places.items():
            if p["kind"] & FLAG_SUBDIVISION:
                continue
            for name, langs in p["names"].items():
                if lang in langs and " " not in name:
                    words.add(name)
        forms = hunspell_forms(hdir, lang, words)
        n_forms[lang] = 0
        for code, p in places.items():
            if p["kind"] & FLAG_SUBDIVISION:
                continue
            extra = {}
            for name, langs in p["names"].items():
                if lang in langs and name in forms:
                    for form in forms[name]:
                        extra.setdefault(form, set()).add(lang)
            for form, ls in extra.items():
                if form not in p["names"]:
                    p.setdefault("forms", {})[form] = ls
                    n_forms[lang] += 1
        if n_forms[lang] == 0:
            sys.exit(f"gen-places: no inflected forms for {lang} (hunspell-{lang} installed?)")

    # Tables.
    strings = []
    str_off = {}
    size = [0]

    def intern(s):
        if s not in str_off:
            str_off[s] = size[0]
            strings.append(s)
            size[0] += len(s.encode("utf-8")) + 1
        return str_off[s]

    langs_all = sorted({l for p in places.values() for ls in list(p["names"].values()) +
                        list(p.get("forms", {}).values()) for l in ls})
    if len(langs_all) > 65535:
        sys.exit("gen-places: too many languages")
    lang_idx = {l: i for i, l in enumerate(langs_all)}
    langsets = []
    langset_off = {}

    def langset(ls):
        key = tuple(sorted(lang_idx[l] for l in ls))
        if key not in langset_off:
            langset_off[key] = len(langsets)
            langsets.append(len(key))
            langsets.extend(key)
        return langset_off[key]

    recs = []
    names = []
    index = []  # (folded bytes, -locales, kind, rec)
    for code in sorted(places):
        p = places[code]
        first = len(names)
        entries = [(n, ls, 0) for n, ls in sorted(p["names"].items())]
        entries += [(n, ls, FLAG_FORM) for n, ls in sorted(p.get("forms", {}).items())]
        rec = len(recs)
        for n, ls, flags in entries:
            if letters(n) <= 3:
                flags |= FLAG_EXACT
            names.append((intern(n), langset(ls), flags))
            f = fold(n)
            if f and not flags & FLAG_FORM and not p["kind"] & FLAG_SUBDIVISION:
                index.append((f.encode("utf-8"), -len(ls), p["kind"], rec))
        recs.append((intern(code), first, len(names) - first, p["kind"]))
    # One index entry per (folded name, place): the place most locales name so first,
    # territories before subdivisions.
    index.sort(key=lambda e: (e[0], e[2] & FLAG_SUBDIVISION, e[1], e[3]))
    seen = set()
    idx = []
    for f, _, _, rec in index:
        if (f, rec) in seen:
            continue
        seen.add((f, rec))
        idx.append((intern(f.decode("utf-8")), rec))

    for l in langs_all:
        intern(l)
    if len(langsets) >= 1 << 29 or size[0] >= 1 << 32:
        sys.exit("gen-places: table too large for its 32-bit offsets")
    with open(out_path + ".tmp", "w", encoding="utf-8") as o:
        o.write("/* Generated by scripts/gen-places.py from CLDR and Hunspell: do not edit. */\n")
        o.write('#include "topics/place.h"\n\n')
        o.write(f"/* {n_locales_with_names} CLDR locales with territory names; inflected forms:"
                f" {', '.join(f'{k} {v}' for k, v in n_forms.items())} */\n")
        o.write(f"const size_t place_n_locales = {n_locales_with_names};\n")
        o.write("const char place_strings[] =\n")
        for i in range(0, len(strings), 8):
            o.write('    "' + "".join(c_string(x) + "\\000" for x in strings[i:i + 8]) + '"\n')
        o.write(";\n")
        o.write(f"const size_t place_strings_size = sizeof(place_strings);\n\n")
        o.write("const uint32_t place_lang_codes[] = {")
        o.write(", ".join(str(intern_done(str_off, l)) for l in langs_all))
        o.write("};\n")
        o.write(f"const size_t place_n_langs = {len(langs_all)};\n\n")
        o.write("const uint16_t place_langsets[] = {\n")
        for i in range(0, len(langsets), 16):
            o.write("    " + ", ".join(str(x) for x in langsets[i:i + 16]) + ",\n")
        o.write("};\n\n")
        o.write("const struct place_rec place_recs[] = {\n")
        for code, first, n, kind in recs:
            o.write(f"    {{{code}, {first}, {n}, {kind}}},\n")
        o.write("};\n")
        o.write(f"const size_t place_n_recs = {len(recs)};\n\n")
        o.write("const struct place_name place_names[] = {\n")
        for s, ls, flags in names:
            o.write(f"    {{{s}, {ls | flags << 29}}},\n")
        o.write("};\n")
        o.write(f"const size_t place_n_names = {len(names)};\n\n")
        o.write("const struct place_index place_index[] = {\n")
        for s, rec in idx:
            o.write(f"    {{{s}, {rec}}},\n")
        o.write("};\n")
        o.write(f"const size_t place_n_index = {len(idx)};\n")
    os.replace(out_path + ".tmp", out_path)


def intern_done(str_off, s):
    return str_off[s]


if __name__ == "__main__":
    main()
