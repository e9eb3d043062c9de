#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a circle.

Layers must depend one way (domain <- app <- api), and a circle between two modules means
neither can be understood, tested or moved without the other. This check reads every module
file of each crate named on the command line (a `lib.rs` or `main.rs`), resolves the paths it
uses (`use crate::...`, `use super::...`, `use self::...`, `use child::...`, with their `{...}`
groups, and inline `crate::...`, `super::...` and `child::...` paths in code) to the modules
that define what they name, and reports every set of modules that reach each other.

A name a module re-exports (`pub use inner::Item;`) is followed to the module that defines it,
so a `mod.rs` that only declares and re-exports its children is no dependency of its own;
one that defines what its children import, and also imports from them, is a circle like any
other. Tests (`#[cfg(test)]` modules and blocks) may import anything and are not checked.

    scripts/check-import-cycles.py server/src/lib.rs sdk/src/lib.rs ...

It parses text, not Rust: it needs no build, and it is fast on any machine.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

Module = tuple[str, ...]

MOD_DECLARATION = re.compile(
    r"^(\s*#\[cfg\(test\)\]\s*)?\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", re.M
)
INLINE_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+[a-z_][a-z0-9_]*\s*\{")
USE = re.compile(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([a-z_][A-Za-z0-9_]*\s*::[^;]*);", re.S)
INLINE_PATH = re.compile(r"(?<![\w:])([a-z_][a-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def strip_comments_and_strings(text: str) -> str:
    """Blanks comments and string literals, keeping line breaks (so line numbers stay)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
        elif text.startswith('r#"', i) or (text.startswith('r"', i) and not text[i - 1 : i].isalnum()):
            hashes = 1 if text[i + 1] == "#" else 0
            close = '"' + "#" * hashes
            end = text.find(close, i + 2 + hashes)
            end = n if end < 0 else end + len(close)
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif text[i] == "'" and i + 2 < n and text[i + 2] == "'":
            out.append("' '")  # a char literal such as '{' must not count as a brace
            i += 3
        elif text.startswith("'\\", i):
            end = text.find("'", i + 2)
            out.append("' '")
            i = n if end < 0 else end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def expand_use_tree(tree: str) -> list[list[str]]:
    """`super::{a, b::{c, d}}` -> [[super, a], [super, b, c], [super, b, d]]."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)  # renames do not change what is used
    tree = re.sub(r"\s+", "", tree)

    def expand(prefix: list[str], text: str) -> list[list[str]]:
        if "{" not in text:
            path = [part for part in text.split("::") if part]
            if path and path[-1] in ("*", "self"):
                path = path[:-1]
            return [prefix + path]
        head, _, rest = text.partition("{")
        inner = rest[: rest.rfind("}")]
        base = prefix + [part for part in head.split("::") if part]
        items, depth, current = [], 0, ""
        for char in inner:
            if char == "," and depth == 0:
                items.append(current)
                current = ""
                continue
            depth += char == "{"
            depth -= char == "}"
            current += char
        items.append(current)
        paths = []
        for item in items:
            if item:
                paths.extend(expand(base, item))
        return paths or [base]

    return expand([], tree)


def test_spans(text: str) -> list[tuple[int, int]]:
    """The spans of `#[cfg(test)]` inline modules and every inline module's span."""
    spans: list[tuple[int, int, bool]] = []
    opened: list[tuple[int, int, bool]] = []  # (brace depth it opened at, start, is a test)
    depth, offset, test_attribute = 0, 0, False
    for line in text.splitlines(keepends=True):
        if "#[cfg(test)]" in line:
            test_attribute = True
        if INLINE_MOD.match(line):
            opened.append((depth, offset, test_attribute))
            test_attribute = False
        elif line.strip() and not line.strip().startswith("#["):
            test_attribute = False
        for position, char in enumerate(line):
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if opened and depth == opened[-1][0]:
                    _, start, is_test = opened.pop()
                    spans.append((start, offset + position, is_test))
        offset += len(line)
    return spans


class Crate:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[Module, Path] = {}
        self.texts: dict[Module, str] = {}
        self.discover((), root)
        # module -> {re-exported name: the path it re-exports, and the module it sits in}
        self.reexports: dict[Module, dict[str, list[str]]] = {module: {} for module in self.files}
        for module, text in self.texts.items():
            for match in USE.finditer(text):
                if not match.group(1):
                    continue
                for segments in expand_use_tree(match.group(2)):
                    if segments:
                        self.reexports[module][segments[-1]] = segments

    def discover(self, module: Module, path: Path) -> None:
        self.files[module] = path
        text = strip_comments_and_strings(path.read_text())
        self.texts[module] = text
        directory = path.parent if path.name in ("lib.rs", "main.rs", "mod.rs") else path.with_suffix("")
        for is_test, name in MOD_DECLARATION.findall(text):
            if is_test:
                continue
            for candidate in (directory / f"{name}.rs", directory / name / "mod.rs"):
                if candidate.exists():
                    self.discover(module + (name,), candidate)
                    break

    def start(self, here: Module, segments: list[str], depth: int) -> tuple[Module, list[str]] | None:
        """Where a path starts (a module), and the rest of it; `None` for another crate."""
        parts = list(segments)
        if parts[0] == "crate":
            return (), parts[1:]
        if parts[0] not in ("super", "self"):
            if here + (parts[0],) in self.files and depth == 0:
                return here, parts
            return None
        supers = 0
        while parts and parts[0] == "super":
            supers += 1
            parts = parts[1:]
        if parts and parts[0] == "self":
            parts = parts[1:]
        # Inside an inline `mod x { }`, `super` first climbs out of it.
        climb = max(0, supers - depth)
        if climb > len(here):
            return None
        return here[: len(here) - climb], parts

    def resolve(self, base: Module, segments: list[str], seen: frozenset = frozenset()) -> Module:
        """The module that defines what `base` followed by `segments` names, following
        re-exports."""
        module = base
        for index, segment in enumerate(segments):
            if module + (segment,) in self.files:
                module = module + (segment,)
                continue
            reexported = self.reexports.get(module, {}).get(segment)
            if reexported is None or (module, segment) in seen:
                break
            begun = self.start(module, reexported, 0)
            if begun is None:
                break  # re-exported from another crate: it is this module's own
            target = self.resolve(begun[0], begun[1], seen | {(module, segment)})
            return self.resolve(target, segments[index + 1 :], seen) if index + 1 < len(segments) else target
        return module

    def edges(self) -> dict[Module, dict[Module, int]]:
        """module -> {module it uses: the first line that uses it}."""
        graph: dict[Module, dict[Module, int]] = {module: {} for module in self.files}
        for module, text in self.texts.items():
            spans = test_spans(text)

            def inline_depth(at: int) -> int:
                return sum(1 for start, end, _ in spans if start <= at <= end)

            def in_test(at: int) -> bool:
                return any(is_test and start <= at <= end for start, end, is_test in spans)

            def add(segments: list[str], offset: int) -> None:
                if not segments or in_test(offset):
                    return
                begun = self.start(module, segments, inline_depth(offset))
                if begun is None:
                    return
                used = self.resolve(*begun)
                if used == module:
                    return
                graph[module].setdefault(used, text.count("\n", 0, offset) + 1)

            for match in USE.finditer(text):
                for segments in expand_use_tree(match.group(2)):
                    add(segments, match.start())
            # Paths in code, with the use statements (read above) blanked out.
            code = USE.sub(lambda found: re.sub(r"[^\n]", " ", found.group(0)), text)
            for match in INLINE_PATH.finditer(code):
                add(match.group(1).split("::"), match.start())
        return graph


def circles(graph: dict[Module, dict[Module, int]]) -> list[list[Module]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node: Module) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, {}):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def name(module: Module) -> str:
    return "crate" + "".join(f"::{part}" for part in module)


def main(roots: list[str]) -> int:
    failed = False
    for root in roots:
        crate = Crate(Path(root))
        graph = crate.edges()
        for component in circles(graph):
            failed = True
            members = set(component)
            print(f"{root}: these modules import each other in a circle:")
            for module in component:
                for used, line in sorted(graph[module].items()):
                    if used in members:
                        print(f"  {name(module)} -> {name(used)}  ({crate.files[module]}:{line})")
    if failed:
        print("Break each circle: move what both sides need into a module that neither imports.")
        return 1
    print(f"no import circles in {', '.join(roots)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
