#!/usr/bin/env python3
"""Regenerate ERRATA.md from the `// Book:` comments in the code.

Usage, from anywhere in the repository:

    python3 scripts/errata.py            # rewrites ERRATA.md at the root
    python3 scripts/errata.py -o FILE    # writes FILE instead (`-` for stdout); CI diffs it

Needs nothing but Python 3 (3.8 or newer) and reads nothing but the source tree, so the same tree
always gives the same bytes.

What it reads: every `.rs` file of `common/` and of every chapter directory `chNN-*/` (src, tests,
benches, examples; `target/` is skipped), so a chapter's notes appear as soon as its files land.

What a note is: a line comment whose text starts with `Book:`, written `// Book:`, `/// Book:` or
`//! Book:`, on a line of its own or after code. It goes on over the following lines that hold
only a comment of the same kind in the same column, and ends at the first other line, an empty
comment line, or a comment starting `Book:` or `SAFETY:`. So a note should be the last thing in
its comment block; its lines are joined with single spaces and the `Book:` is left off.

Where a note is listed: under its chapter (titles from the root README's chapter table), then
under the book section of its file:
  - a demo's module, `src/<id_with_underscores>.rs` (or `tests/`, `benches/`, `examples/` with
    that name), takes the section its id has in the chapter's table of demos, the
    `Demo::new("id", "section", module::run)` entries of `src/main.rs` (a section given as a
    `const` of main.rs or lib.rs is looked up too);
  - any other file takes the first section of the chapter quoted in its leading `//!` comment,
    for example `(book section "What Is Async?")`;
  - otherwise it is listed under "Shared helpers" (src), "Tests", "Benchmarks" or "Examples".
Sections come in the order of the demo table; within one, notes follow the demo order, then the
file path, then the line. `common/`'s notes come last, by file and line.
"""

import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
COMMAND = "python3 scripts/errata.py"

# Kinds of file, in the order their notes are listed, and the group a file falls into when its
# name is no demo's and its docs name no section.
KINDS = ["src", "tests", "benches", "examples"]
FALLBACK = {"src": "Shared helpers", "tests": "Tests", "benches": "Benchmarks", "examples": "Examples"}
OTHER = "Other files"

STRING = r'"(?:[^"\\]|\\.)*"'
DEMO = re.compile(r'Demo::new\(\s*"([^"]+)"\s*,\s*(' + STRING + r'|[A-Za-z_][A-Za-z0-9_:]*)\s*,', re.S)
CONST = re.compile(r'\b(?:const|static)\s+([A-Z_][A-Z0-9_]*)\s*:\s*&(?:\'static\s+)?str\s*=\s*(' + STRING + r')', re.S)
CHAPTER_ROW = re.compile(r'^\|\s*(\d+)\.\s*(.+?)\s*\|\s*`(ch\d\d)`')


def unquote(literal):
    """The value of a simple Rust string literal (escapes `\\"`, `\\\\`, `\\n`, `\\t`)."""
    body = literal[1:-1]
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def squash(text):
    return " ".join(text.split())


def comment_start(line):
    """The column of the `//` that starts a line comment, or None: a `//` inside a string or
    character literal on the same line does not count (strings spanning lines are not tracked)."""
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
        elif c == "'" and re.match(r"'(?:[^'\\]|\\.[^']*)'", line[i:]):
            i += len(re.match(r"'(?:[^'\\]|\\.[^']*)'", line[i:]).group(0)) - 1
        elif line.startswith("//", i):
            return i
        i += 1
    return None


def split_comment(line):
    """(column, marker, text) of the line comment on `line`, or None. The marker is `//!`, `///`
    or `//`; `////…` counts as a plain `//`."""
    col = comment_start(line)
    if col is None:
        return None
    rest = line[col:]
    if rest.startswith("//!"):
        return col, "//!", rest[3:].strip()
    if rest.startswith("///") and not rest.startswith("////"):
        return col, "///", rest[3:].strip()
    return col, "//", rest.lstrip("/").strip()


def notes_in(path):
    """[(line number, text)] of the `Book:` notes in one file."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    found = []
    i = 0
    while i < len(lines):
        comment = split_comment(lines[i])
        if comment is None or not comment[2].startswith("Book:"):
            i += 1
            continue
        col, marker, text = comment
        parts = [text[len("Book:"):].strip()]
        start = i
        i += 1
        while i < len(lines):
            line = lines[i]
            nxt = split_comment(line)
            if nxt is None or line[:col].strip() or nxt[0] != col or nxt[1] != marker:
                break
            body = nxt[2]
            if not body or body.startswith("Book:") or body.startswith("SAFETY:"):
                break
            parts.append(body)
            i += 1
        found.append((start + 1, squash(" ".join(parts))))
    return found


def leading_doc(path):
    """The file's leading `//!` comment, as one line of text."""
    text = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stripped = line.strip()
        if stripped.startswith("//!"):
            text.append(stripped[3:])
        elif stripped and not text:
            break  # code before any `//!`: no leading doc
        elif text:
            break
    return squash(" ".join(text))


def demo_table(crate):
    """[(module name, section)] from the chapter's `Demo::new(...)` entries, in table order."""
    sources = [crate / "src" / "main.rs", crate / "src" / "lib.rs"]
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sources if p.exists()]
    consts = {}
    for text in texts:
        for name, literal in CONST.findall(text):
            consts.setdefault(name, unquote(literal))
    table = []
    for text in texts:
        for demo_id, section in DEMO.findall(text):
            if section.startswith('"'):
                section = unquote(section)
            else:
                section = consts.get(section.split("::")[-1], OTHER)
            table.append((demo_id.replace("-", "_"), squash(section)))
    return table


def chapter_titles():
    """{"ch01": "Introduction to Async", …} from the root README's chapter table."""
    readme = ROOT / "README.md"
    titles = {}
    if readme.exists():
        for line in readme.read_text(encoding="utf-8").splitlines():
            m = CHAPTER_ROW.match(line)
            if m:
                titles[m.group(3)] = (int(m.group(1)), m.group(2))
    return titles


def rust_files(crate):
    files = []
    for path in crate.rglob("*.rs"):
        rel = path.relative_to(crate)
        if any(part == "target" or part.startswith(".") for part in rel.parts):
            continue
        files.append(path)
    return sorted(files, key=lambda p: p.relative_to(ROOT).as_posix())


def kind_of(rel):
    return rel.parts[0] if len(rel.parts) > 1 and rel.parts[0] in KINDS else None


def module_name(rel):
    return rel.parent.name if rel.stem == "mod" else rel.stem


def md_text(text):
    """Note text for Markdown: `<` outside code spans is escaped, so `Vec<T>` stays visible."""
    pieces = re.split(r"(`+[^`]*`+)", text)
    return "".join(p if p.startswith("`") else p.replace("<", "&lt;") for p in pieces)


def slug(heading):
    """The anchor GitHub gives a heading."""
    kept = "".join(c for c in heading.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def entry(path, line, text):
    rel = path.relative_to(ROOT).as_posix()
    shown = path.relative_to(ROOT).relative_to(path.relative_to(ROOT).parts[0]).as_posix()
    return f"- [`{shown}:{line}`]({rel}#L{line}): {md_text(text)}"


def chapter_part(crate, titles):
    """(heading, [(section, [entry lines])], note count) for one chapter, or None if no notes."""
    table = demo_table(crate)
    order = {module: i for i, (module, _) in enumerate(table)}
    section_of = {}
    sections = []
    for module, section in table:
        section_of.setdefault(module, section)
        if section not in sections:
            sections.append(section)

    grouped = {}
    count = 0
    for path in rust_files(crate):
        notes = notes_in(path)
        if not notes:
            continue
        rel = path.relative_to(crate)
        kind = kind_of(rel)
        module = module_name(rel)
        if module in section_of:
            section = section_of[module]
        else:
            doc = leading_doc(path)
            quoted = [(doc.find(f'"{s}"'), s) for s in sections if f'"{s}"' in doc]
            section = min(quoted)[1] if quoted else FALLBACK.get(kind, OTHER)
        key = (order.get(module, len(order)), KINDS.index(kind) if kind else len(KINDS), rel.as_posix())
        for line, text in notes:
            grouped.setdefault(section, []).append((key, line, entry(path, line, text)))
            count += 1
    if not count:
        return None

    extra = [s for s in list(FALLBACK.values()) + [OTHER] if s not in sections]
    parts = []
    for section in sections + extra:
        if section in grouped:
            lines = [e for _, _, e in sorted(grouped[section], key=lambda t: (t[0], t[1]))]
            parts.append((section, lines))
    short = crate.name[:4]
    if short in titles:
        number, title = titles[short]
        heading = f"Chapter {number}: {title}"
    else:
        heading = crate.name
    return heading, crate.name, parts, count


def common_part():
    crate = ROOT / "common"
    lines, count = [], 0
    if crate.is_dir():
        for path in rust_files(crate):
            for line, text in notes_in(path):
                lines.append(entry(path, line, text))
                count += 1
    if not count:
        return None
    return "Shared crate: common", "common", [(None, lines)], count


def render():
    titles = chapter_titles()
    chapters = sorted(p for p in ROOT.glob("ch[0-9][0-9]-*") if p.is_dir())
    parts = [chapter_part(c, titles) for c in chapters] + [common_part()]
    parts = [p for p in parts if p]

    out = [
        "<!-- Generated by `python3 scripts/errata.py` from the `// Book:` comments in the code: edit",
        "     those, then run the script again. CI fails while this page is out of date. -->",
        "",
        "# Errata",
        "",
        "Where our code differs from the book's printed listings or prose (a bug fixed, an API that",
        "changed since the book, an endless loop made to finish, a claim corrected), a `// Book:`",
        "comment at that spot in the code says how and why. This page collects them all, by chapter",
        "and by the section of the book the code follows, each with a link to its file and line.",
        "Most notes first say what the book does, then what we do instead.",
        "",
        "| part | notes |",
        "|---|---|",
    ]
    for heading, directory, _, count in parts:
        out.append(f"| [{heading}](#{slug(heading)}) (`{directory}/`) | {count} |")
    total = sum(p[3] for p in parts)
    out.append(f"| all | {total} |")
    for heading, directory, sections, _ in parts:
        out += ["", f"## {heading}", ""]
        if directory == "common":
            out += ["Shared by every chapter; see [`common/src/lib.rs`](common/src/lib.rs).", ""]
        else:
            out += [f"Crate directory [`{directory}/`]({directory}/README.md).", ""]
        first = True
        for section, lines in sections:
            if section is not None:
                if not first:
                    out.append("")
                out += [f"### {section}", ""]
            out += lines
            first = False
    return "\n".join(out) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description="Regenerate ERRATA.md from the // Book: comments.")
    parser.add_argument("-o", "--output", default=str(ROOT / "ERRATA.md"),
                        help="where to write (default: ERRATA.md at the root; - for stdout)")
    args = parser.parse_args(argv)
    page = render()
    if args.output == "-":
        sys.stdout.write(page)
    else:
        with open(args.output, "w", encoding="utf-8", newline="\n") as f:
            f.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
