#!/usr/bin/python3
"""The man pages and shell completions say what the programs do: every command and option
that `feedwatch --help` and `feedwatchd --help` list is in feedwatch(1) / feedwatchd(8) and in
the bash and zsh completions, and each page has its exit codes and files. (The config keys
are checked against feedwatch.conf(5) by test_conf, from the reader's own key tables.)"""

import os
import re
import subprocess

import fwtest

SRC = os.environ.get("FW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
MAN = os.path.join(SRC, "docs", "man")
BASH = open(os.path.join(SRC, "completions", "feedwatch.bash")).read()
ZSH = open(os.path.join(SRC, "completions", "_feedwatch")).read()


def help_text(prog):
    p = subprocess.run([prog, "--help"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p
    return p.stdout


def cli_commands():
    cmds = []
    for line in help_text(fwtest.FEEDWATCH).splitlines():
        m = re.match(r"  ([a-z][a-z-]+)\b", line)
        if m:
            cmds.append(m.group(1))
    return cmds


def test_every_cli_command_is_documented_and_completed(t):
    page = open(os.path.join(MAN, "feedwatch.1.scd")).read()
    cmds = cli_commands()
    assert len(cmds) >= 15 and "status" in cmds and "match" in cmds, cmds
    for c in cmds:
        assert re.search(rf"^\*{c}\*", page, re.M), f"feedwatch(1) lacks command {c}"
        assert re.search(rf"\b{c}\b", BASH.split("local commands=")[1].split("\n")[0]), \
            f"bash completion lacks {c}"
        assert f"'{c}:" in ZSH or f'"{c}:' in ZSH, f"zsh completion lacks {c}"
    for opt in sorted(set(re.findall(r"--[a-z][a-z-]+", help_text(fwtest.FEEDWATCH)))):
        assert f"*{opt}*" in page, f"feedwatch(1) lacks option {opt}"
        assert opt in BASH and opt in ZSH, f"completion lacks option {opt}"
    for code in ("*0*", "*1*", "*2*", "*3*"):
        assert code in page.split("# EXIT STATUS")[1].split("\n# ")[0], code


def test_every_daemon_option_is_documented_and_completed(t):
    page = open(os.path.join(MAN, "feedwatchd.8.scd")).read()
    opts = sorted(set(re.findall(r"--[a-z][a-z-]+", help_text(fwtest.FEEDWATCHD))))
    assert "--check" in opts and "--once" in opts, opts
    for opt in opts:
        assert f"*{opt}*" in page, f"feedwatchd(8) lacks option {opt}"
        assert opt in BASH.split("_feedwatchd()")[1], f"bash completion lacks {opt}"
        assert opt in ZSH.split("_feedwatchd()")[1], f"zsh completion lacks {opt}"
    for section in ("# EXIT STATUS", "# FILES", "# SIGNALS", "# HOOKS"):
        assert section in page, section


def proto_commands():
    """The command names of proto/ctlproto.c's table, through ctlproto.h's CTL_CMD_* names."""
    names = dict(re.findall(r'#define (CTL_CMD_[A-Z_]+) "([a-z-]+)"',
                            open(os.path.join(SRC, "proto", "ctlproto.h")).read()))
    table = open(os.path.join(SRC, "proto", "ctlproto.c")).read()
    table = table.split("ctlproto_cmds[] = {")[1].split("};")[0]
    return [names[c] for c in re.findall(r"\{(CTL_CMD_[A-Z_]+),", table)]


def test_help_fits_80_columns(t):
    """Every line of `feedwatch --help`, of `feedwatch CMD --help` for each command, and of
    `feedwatchd --help` fits 80 columns (issue 15); each command of the socket protocol has a
    CLI command with its own help."""
    def run(*argv):
        p = subprocess.run(list(argv), capture_output=True, timeout=10,
                           env=dict(os.environ, COLUMNS="200"))
        assert p.returncode == 0 and p.stderr == b"", (argv, p)
        text = p.stdout.decode("utf-8")
        for line in text.splitlines():
            assert "\t" not in line and len(line) <= 80, (argv, len(line), line)
        return text

    top = run(fwtest.FEEDWATCH, "--help")
    cmds = cli_commands()
    proto = proto_commands()
    assert len(proto) >= 15 and "watch" in proto and "redeliver" in proto, proto
    assert set(proto) <= set(cmds), sorted(set(proto) - set(cmds))
    for c in cmds:
        text = run(fwtest.FEEDWATCH, c, "--help")
        lines = text.splitlines()
        assert lines[0].startswith(f"usage: feedwatch {c}"), (c, text)
        assert text != top and len([ln for ln in lines if ln.strip()]) >= 3, (c, text)
        assert re.search(rf"^  {re.escape(c)}\b", top, re.M), c
    run(fwtest.FEEDWATCH, "--help", "items")   # --help before the command too
    run(fwtest.FEEDWATCHD, "--help")


if __name__ == "__main__":
    fwtest.main()
