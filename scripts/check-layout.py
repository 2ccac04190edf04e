#!/usr/bin/env python3
"""Fails when the files of app/src import each other in a cycle.

Every `crate::…`, `super::…` and `self::…` path (in `use` trees and in code)
is resolved to the file that defines what it names, following the `pub use`
re-exports of each folder's mod.rs, so an import through a room's front
door counts as an import of the file behind it. A folder's mod.rs declaring
its children (`mod x;`) is containment, not an import.

Usage: python3 scripts/check-layout.py [app/src]
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "app", "src")
ROOT = os.path.normpath(ROOT)
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def module_file(parts):
    """The file of module `crate::parts…`, or None."""
    base = os.path.join(ROOT, *parts) if parts else ROOT
    if not parts:
        return os.path.join(ROOT, "lib.rs")
    for cand in (base + ".rs", os.path.join(base, "mod.rs")):
        if os.path.isfile(cand):
            return cand
    return None


def module_of(path):
    rel = os.path.relpath(path, ROOT)[: -len(".rs")].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


def strip_comments(src):
    src = re.sub(r"//[^\n]*", "", src)
    return re.sub(r"/\*.*?\*/", "", src, flags=re.S)


def expand_tree(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = tree.strip()
    m = re.match(r"^(.*?)\{(.*)\}$", tree, re.S)
    if not m:
        return [re.sub(r"\s+as\s+" + IDENT + r"$", "", tree).strip()]
    prefix, inner = m.group(1), m.group(2)
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    out = []
    for it in items:
        if it.strip():
            out += [prefix + e for e in expand_tree(it)]
    return out


_reexports = {}


def reexports(file):
    """name -> full path, for the `pub use` lines of a module file."""
    if file not in _reexports:
        table = {}
        src = strip_comments(open(file).read())
        for tree in re.findall(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", src):
            for path in expand_tree(tree):
                name = path.split("::")[-1].strip()
                if name == "self":
                    continue
                table[name] = path.strip()
        _reexports[file] = table
    return _reexports[file]


def absolute(path, here):
    """A path as segments from the crate root; None for other crates."""
    segs = [s.strip() for s in path.split("::") if s.strip()]
    if not segs:
        return None
    if segs[0] == "crate":
        return segs[1:]
    if segs[0] in ("super", "self"):
        mod = list(here)
        while segs and segs[0] in ("super", "self"):
            if segs.pop(0) == "super":
                mod = mod[:-1]
        return mod + segs
    # A child module named without `self::` (inside mod.rs: `http::cast_vote`).
    if module_file(here + [segs[0]]):
        return here + segs
    return None


def resolve(segs, depth=0):
    """The file defining `crate::segs…`."""
    if segs is None or depth > 20:
        return None
    mod = []
    for i, seg in enumerate(segs):
        if module_file(mod + [seg]):
            mod.append(seg)
            continue
        file = module_file(mod)
        target = reexports(file).get(seg) if file else None
        if target:
            again = absolute(target, mod)
            if again is not None:
                return resolve(again + segs[i + 1:], depth + 1)
        return file
    return module_file(mod)


def edges():
    graph = {}
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            here = module_of(path)
            src = strip_comments(open(path).read())
            src = re.sub(r"#\[cfg\(test\)\]\s*mod\s+tests\s*\{.*", "", src, flags=re.S)
            paths = []
            for tree in re.findall(r"\buse\s+([^;]+);", src):
                paths += expand_tree(tree)
            body = re.sub(r"\buse\s+[^;]+;", "", src)
            paths += re.findall(r"\b(?:crate|super|self)(?:::" + IDENT + ")+", body)
            targets = set()
            for p in paths:
                t = resolve(absolute(p, here))
                if t and os.path.normpath(t) != os.path.normpath(path):
                    targets.add(os.path.normpath(t))
            graph[os.path.normpath(path)] = targets
    return graph


def find_cycle(graph):
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def main():
    graph = edges()
    cycle = find_cycle(graph)
    rel = lambda p: os.path.relpath(p, ROOT)
    if cycle:
        print("import cycle in app/src: " + " -> ".join(rel(p) for p in cycle))
        return 1
    n = sum(len(v) for v in graph.values())
    print(f"layout: {len(graph)} files, {n} imports between them, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
