#!/usr/bin/env python3
"""Fail when a crate's top-level modules depend on each other in a cycle (e.g. `io` uses `train` and `train` uses
`io`). A module's dependencies are the `crate::NAME` paths in its files (src/NAME.rs or src/NAME/**). Run from the
repository root; prints each cycle found and exits 1 if any."""

import pathlib
import re
import sys

PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
USE_GROUP = re.compile(r"\buse\s+crate::\{([^;]*)\}", re.S)


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
    for src in sorted(pathlib.Path("crates").glob("*/src")):
        mods = module_files(src)
        graph = {m: deps(fs, set(mods)) - {m} for m, fs in mods.items()}
        for c in cycles(graph):
            bad += 1
            print(f"module cycle in {src.parent.name}: {' <-> '.join(c)}")
    if bad:
        sys.exit(1)
    print("ok: no module cycles")


if __name__ == "__main__":
    main()
