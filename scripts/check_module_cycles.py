#!/usr/bin/env python3
"""Fail when a crate's top-level modules depend on each other in a cycle (e.g. `io` uses `train` and `train` uses
`io`). A module's dependencies are the `crate::NAME` paths in its files (src/NAME.rs or src/NAME/**). Run from the
repository root; prints each cycle found and exits 1 if any cycle is not in KNOWN.

KNOWN lists the cycles that exist today and are still to be broken up; a new cycle, or a known one that grows,
fails the check, and a known one that disappears must be removed from the list."""

import pathlib
import re
import sys

PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
USE_GROUP = re.compile(r"\buse\s+crate::\{([^;]*)\}", re.S)


KNOWN = {
    ("mirlens-datasets", ("adapters", "synth")),
    ("mirlens-models", ("config", "limits")),
    ("mirlens-sae", ("io", "train")),
    ("mirlens-store", ("manifest", "schema")),
    ("mirlens-store", ("io", "table")),
}


def module_files(src):
    mods = {}
    for p in src.iterdir():
        if p.suffix == ".rs" and p.stem not in ("lib", "main"):
            mods.setdefault(p.stem, []).append(p)
        elif p.is_dir():
            mods.setdefault(p.name, []).extend(p.rglob("*.rs"))
    return mods


def deps(files, names):
    out = set()
    for f in files:
        text = f.read_text()
        text = re.sub(r"//[^\n]*", "", text)
        found = set(PATH.findall(text))
        for group in USE_GROUP.findall(text):
            found.update(re.findall(r"(?:^|[,{\s])([a-z_][a-z0-9_]*)\s*(?:::|,|}|$)", group))
        out |= {m for m in found if m in names}
    return out


def cycles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    bad = 0
    seen = set()
    for src in sorted(pathlib.Path("crates").glob("*/src")):
        mods = module_files(src)
        graph = {m: deps(fs, set(mods)) - {m} for m, fs in mods.items()}
        for c in cycles(graph):
            key = (src.parent.name, tuple(c))
            seen.add(key)
            if key in KNOWN:
                print(f"known module cycle in {src.parent.name}: {' <-> '.join(c)}")
            else:
                bad += 1
                print(f"new module cycle in {src.parent.name}: {' <-> '.join(c)}")
    for crate, c in sorted(KNOWN - seen):
        bad += 1
        print(f"the known cycle {' <-> '.join(c)} in {crate} is gone: remove it from KNOWN")
    if bad:
        sys.exit(1)
    print("ok: no new module cycles")


if __name__ == "__main__":
    main()
