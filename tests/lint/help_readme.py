#!/usr/bin/env python3
"""help_readme.py — README.md and the CLI parsers against --help (called by help.sh).

  help_readme.py SOURCE_DIR HELP_DIR   (HELP_DIR: help.sh's top.help, COMMAND.help, COMMAND.SUB.help)

How the README is read: every line of a fenced code block and every inline code span (`...`, which may run over a
line break) is searched for the word `cardline` followed by a command; in code blocks a shell comment (` #` to the
end of the line) is dropped first. Global options before the command are skipped. The text is split into
alternatives at ` | `; an alternative that starts with one of the command's subcommands names that subcommand,
any other continues the one before (`return CARD | return --due`, `(--key-service SPEC | --config FILE)`).
Then: the command must be listed by `cardline --help`; a command that has subcommands must be followed by one
(or by `a|b` naming several) that its --help lists; each `--option` (or `-x`) shown must appear in the
subcommand's --help (in the command's when no subcommand is named, in the top-level help before the command).

The dispatcher: every command in cli.c's table must be listed by `cardline --help`.
The translation: each NAME.zh (the same help in Chinese) keeps the synopsis, the commands and the options.
The parsers: every long option in a `struct option` table or compared with strcmp() in producer/cli/*.c must
appear in the --help of a command that file implements (cmd_<x>.c: command x; the others: any command).
"""
import os
import re
import shlex
import sys

src, helps = sys.argv[1], sys.argv[2]
bad = []


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def commands_of(text):
    out, on = [], False
    for line in text.splitlines():
        if line == "Commands:":
            on = True
        elif on and re.match(r"  [a-z]", line):
            out.append(line.split()[0])
        elif on and not line.startswith(" "):
            on = False
    return out


top = read(os.path.join(helps, "top.help"))
commands = {}
for c in commands_of(top):
    group = read(os.path.join(helps, c + ".help"))
    subs = {s: read(os.path.join(helps, f"{c}.{s}.help")) for s in commands_of(group)}
    commands[c] = (group, subs)


def has_option(text, opt):
    return re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text) is not None


GLOBAL_WITH_VALUE = {"--data-dir", "--db"}


def check(where, text):
    """One README mention: TEXT is what follows the word cardline."""
    try:
        tokens = shlex.split(text)
    except ValueError:
        tokens = text.split()
    while tokens and tokens[0].startswith("-"):
        opt = tokens.pop(0)
        if not has_option(top, opt.split("=")[0]):
            bad.append(f"{where}: 'cardline {opt}' is not an option in 'cardline --help'")
        if opt in GLOBAL_WITH_VALUE and tokens:
            tokens.pop(0)
    if not tokens or not re.fullmatch(r"[a-z][a-z-]*", tokens[0]):
        return
    cmd = tokens[0]
    if cmd not in commands:
        bad.append(f"{where}: 'cardline {cmd}' is not a command in 'cardline --help'")
        return
    group, subs = commands[cmd]
    # alternatives at " | "
    alts, current = [], None
    for part in re.split(r"\s\|\s", " ".join(tokens[1:])):
        words = part.split()
        first = words[0].strip("()[]") if words else ""
        if current is None or (subs and first in subs):
            current = [part]
            alts.append(current)
        else:
            current.append(part)
    for alt in alts:
        words = " ".join(alt).split()
        named = []
        if subs:
            if not words or not re.fullmatch(r"[a-z][a-z|-]*", words[0]):
                if words:
                    bad.append(f"{where}: 'cardline {cmd} {words[0]}': '{cmd}' needs one of {', '.join(subs)}")
                continue
            named = words.pop(0).split("|")
            for s in named:
                if s not in subs:
                    bad.append(f"{where}: 'cardline {cmd} {s}' is not a subcommand in 'cardline {cmd} --help'")
            named = [s for s in named if s in subs]
        helptext = "".join(subs[s] for s in named) if named else group + "".join(subs.values())
        for w in words:
            m = re.match(r"^[\[(]*(--?[a-zA-Z][a-zA-Z0-9-]*)", w)
            if not m or re.fullmatch(r"-\d.*", w):
                continue
            opt = m.group(1)
            if not has_option(helptext, opt):
                what = f"cardline {cmd}" + (f" {'|'.join(named)}" if named else "")
                bad.append(f"{where}: '{what} ... {opt}': '{opt}' is not in '{what} --help'")


readme = read(os.path.join(src, "README.md"))
mentions = 0
in_block, prose, prose_start = False, [], 1
for n, line in enumerate(readme.splitlines(), 1):
    if line.startswith("```"):
        in_block = not in_block
        prose.append("")
        continue
    if in_block:
        code = re.sub(r"\s#.*$", "", line)
        for m in re.finditer(r"(?:^|[\s/])cardline\s+(.+)$", code):
            mentions += 1
            check(f"README.md:{n}", m.group(1))
        prose.append("")
    else:
        prose.append(line)
# inline code spans, which may run over one line break (the line is where the span starts)
text = "\n".join(prose)
for m in re.finditer(r"`([^`]+)`", text):
    span = m.group(1).replace("\n", " ")
    line = text.count("\n", 0, m.start()) + 1
    for c in re.finditer(r"(?:^|[\s/])cardline\s+(.+)$", span):
        mentions += 1
        check(f"README.md:{line}", c.group(1))

# the parsers' options
cli = os.path.join(src, "producer", "cli")
all_help = top + "".join(g + "".join(s.values()) for g, s in commands.values())
options = 0
for name in sorted(os.listdir(cli)):
    if not name.endswith(".c"):
        continue
    code = read(os.path.join(cli, name))
    m = re.fullmatch(r"cmd_([a-z]+)\.c", name)
    cmd = m.group(1) if m and m.group(1) in commands else None
    helptext = commands[cmd][0] + "".join(commands[cmd][1].values()) if cmd else all_help
    found = set(re.findall(r'\{"([a-z][a-z0-9-]*)",\s*(?:required|no|optional)_argument', code))
    found |= {o[2:] for o in re.findall(r'strcmp\([^,()]+,\s*"(--[a-z][a-z0-9-]*)"\)', code)}
    for opt in sorted(found - {"help"}):
        options += 1
        if not has_option(helptext, "--" + opt):
            bad.append(f"producer/cli/{name}: option --{opt} is in no help text of "
                       f"{'cardline ' + cmd if cmd else 'any command'}")

# every command the dispatcher in cli.c knows is in the command reference
for name in re.findall(r'\{"([a-z][a-z-]*)",\s*cmd_[a-z_]+\}', read(os.path.join(cli, "cli.c"))):
    if name not in commands:
        bad.append(f"producer/cli/cli.c: command '{name}' is not listed by 'cardline --help' (add it to help.c)")

# the Chinese help (NAME.zh beside each NAME.help, the default language's): the same synopsis after its
# translated "Usage:", the same commands listed, the same options named (a translation keeps them as they are)
translated = 0
for name in sorted(f[:-5] for f in os.listdir(helps) if f.endswith(".help")):
    zh_path = os.path.join(helps, name + ".zh")
    if not os.path.exists(zh_path):
        continue
    en, zh = read(os.path.join(helps, name + ".help")), read(zh_path)
    what = "cardline " + ("" if name == "top" else name.replace(".", " ") + " ") + "--help"
    translated += 1
    if en == zh:
        bad.append(f"'{what}' is not translated into Chinese")
    if re.sub(r"^[^c]*cardline", "cardline", zh.split("\n")[0]) != en.split("\n")[0].removeprefix("Usage: "):
        bad.append(f"'{what}' in Chinese has another synopsis: {zh.split(chr(10))[0]}")
    zh_commands = commands_of(zh.replace("\n命令：\n", "\nCommands:\n"))
    if commands_of(en) != zh_commands:
        bad.append(f"'{what}' in Chinese lists other commands: {zh_commands}")
    en_opts, zh_opts = (set(re.findall(r"--[a-z][a-z0-9-]*", t)) for t in (en, zh))
    if en_opts != zh_opts:
        bad.append(f"'{what}' in Chinese names other options: only English {sorted(en_opts - zh_opts)}, "
                   f"only Chinese {sorted(zh_opts - en_opts)}")

for b in bad:
    print("help:", b, file=sys.stderr)
print(f"help: {translated} help texts in Chinese checked against the English ones (synopsis, commands, options)")
print(f"help: {mentions} README mentions of cardline and {options} parser options checked against --help")
sys.exit(1 if bad else 0)
