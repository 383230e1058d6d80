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


if __name__ == "__main__":
    fwtest.main()
