#!/usr/bin/env python3
"""Folds the lines of protoc-gen-swift's output that pass 120 columns, without changing what
the code means: doc comments re-wrapped at word boundaries, long conformance lists and
`let x: T = call(...) {` headers broken after the colon or the equals sign, and the long
`_NameMap(bytecode: "...")` literals turned into multi-line literals whose line breaks are
escaped (the same string). Usage: fold_generated.py FILE (in place)."""
import re
import sys
import textwrap

LIMIT = 120


def split_literal(indent, prefix, body, suffix):
    """A string literal's body as a multi-line literal, cut between escape sequences."""
    tokens = re.findall(r'\\u\{[0-9a-fA-F]+\}|\\.|[^\\]', body)
    width = LIMIT - len(indent) - 4 - 1  # room for the continuation backslash
    lines, cur = [], ""
    for t in tokens:
        if len(cur) + len(t) > width:
            lines.append(cur)
            cur = ""
        cur += t
    lines.append(cur)
    inner = indent + "    "
    out = [indent + prefix + '"""']
    for i, l in enumerate(lines):
        # A line may not end in a space before the escaped newline: keep spaces as \u{20}.
        if l.endswith(" "):
            l = l[:-1] + "\\u{20}"
        if l.startswith(" ") or l.startswith('"'):
            l = ("\\u{20}" if l[0] == " " else '\\"') + l[1:]
        out.append(inner + l + ("\\" if i < len(lines) - 1 else ""))
    out.append(inner + '"""' + suffix)
    return out


def fold(line):
    if len(line) <= LIMIT:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    stripped = line.strip()
    if stripped.startswith("///"):
        text = stripped[3:].lstrip()
        return textwrap.wrap(text, LIMIT, initial_indent=indent + "/// ", subsequent_indent=indent + "/// ",
                             break_long_words=False, break_on_hyphens=False) or [line]
    m = re.match(r'^(\s*)(.*_NameMap\(bytecode: )"(.*)"(\)\s*)$', line)
    if m:
        return split_literal(m.group(1), m.group(2), m.group(3), m.group(4))
    m = re.match(r'^(\s*)((?:nonisolated )?extension [\w.]+):\s*(.*)\s*\{$', line)
    if m:
        return [m.group(1) + m.group(2) + ":", m.group(1) + "    " + m.group(3).strip(), m.group(1) + "{"]
    m = re.match(r'^(\s*)(let \w+: \w+ =)\s*(.*)$', line)
    if m:
        return [m.group(1) + m.group(2), m.group(1) + "    " + m.group(3)]
    return [line]


def main(path):
    lines = open(path, encoding="utf8").read().split("\n")
    out = []
    for l in lines:
        out.extend(fold(l))
    open(path, "w", encoding="utf8").write("\n".join(out))
    left = [i + 1 for i, l in enumerate(out) if len(l) > LIMIT]
    if left:
        sys.exit(f"fold_generated: lines still over {LIMIT} columns: {left[:10]}")


if __name__ == "__main__":
    main(sys.argv[1])
