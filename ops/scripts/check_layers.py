#!/usr/bin/env python3
"""Checks the one direction of vigil's crate arrows (docs/architecture.md).

Reads `cargo metadata` of the workspace and of every stand-alone manifest (the board entry
points `firmware/boards/*/` and the fuzz targets `**/fuzz/`), and fails when a package depends (normal, build or dev) on a
vigil package of a layer it may not import:

    events    -> (nothing of vigil)
    firmware  -> firmware                      (the cores know only the wire)
    store     -> events
    config    -> events
    actors    -> events, store, config, firmware   (never ops: actors know no CLI)
    ops       -> anything

A package's layer is the top-level folder of its manifest. Exit 0 when every arrow is allowed,
1 when one is not (each offending arrow printed as `package (folder) -> dependency (folder)`),
2 on bad input (cargo or the metadata failed).

    python3 ops/scripts/check_layers.py                 # the repository this script is in
    python3 ops/scripts/check_layers.py --metadata m.json [--root DIR]   # a saved metadata file
"""

import argparse
import json
import os
import subprocess
import sys

ALLOWED = {
    "events": set(),
    "firmware": {"firmware"},
    "store": {"events"},
    "config": {"events"},
    "actors": {"events", "store", "config", "firmware"},
    "ops": {"events", "store", "config", "actors", "firmware", "ops"},
}


def layer(root, manifest_path):
    """The top-level folder of a manifest relative to root, or None outside the layers."""
    rel = os.path.relpath(os.path.dirname(os.path.abspath(manifest_path)), root)
    top = rel.split(os.sep)[0]
    return top if top in ALLOWED else None


def violations(root, metadata):
    """Every forbidden arrow of one `cargo metadata` document, as printable lines."""
    packages = metadata.get("packages", [])
    # Where each vigil package lives (path dependencies), by name.
    where = {p["name"]: layer(root, p["manifest_path"]) for p in packages}
    out = []
    for p in packages:
        src = layer(root, p["manifest_path"])
        if src is None:
            continue
        for dep in p.get("dependencies", []):
            path = dep.get("path")
            if path is not None:
                dst = layer(root, os.path.join(path, "Cargo.toml"))
            else:
                dst = where.get(dep["name"]) if dep.get("source") is None else None
            if dst is None or dst == src:
                continue
            if dst not in ALLOWED[src]:
                kind = dep.get("kind") or "normal"
                out.append(f"{p['name']} ({src}/) -> {dep['name']} ({dst}/) [{kind}]")
    return out


def standalone_manifests(root):
    """Manifests outside the workspace: board entry points and fuzz targets."""
    found = []
    for top in sorted(ALLOWED):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d != "target" and not d.startswith("."))
            parts = os.path.relpath(dirpath, root).split(os.sep)
            standalone = "fuzz" in parts or parts[:2] == ["firmware", "boards"] and len(parts) == 3
            if standalone and "Cargo.toml" in filenames:
                found.append(os.path.join(dirpath, "Cargo.toml"))
    return found


def cargo_metadata(manifest):
    cargo = os.environ.get("CARGO", "cargo")
    cmd = [cargo, "metadata", "--format-version", "1", "--no-deps", "--manifest-path", manifest]
    try:
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        print(f"check_layers: {' '.join(cmd)} failed: {err.strip()}", file=sys.stderr)
        sys.exit(2)
    return json.loads(done.stdout)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(here)),
                    help="the repository root (default: the one holding this script)")
    ap.add_argument("--metadata", action="append", default=[],
                    help="a saved `cargo metadata` JSON file instead of running cargo (repeatable)")
    a = ap.parse_args()
    root = os.path.abspath(a.root)

    docs = []
    if a.metadata:
        for f in a.metadata:
            try:
                with open(f, encoding="utf-8") as fh:
                    docs.append(json.load(fh))
            except (OSError, ValueError) as e:
                print(f"check_layers: {f}: {e}", file=sys.stderr)
                sys.exit(2)
    else:
        manifests = [os.path.join(root, "Cargo.toml")] + standalone_manifests(root)
        docs = [cargo_metadata(m) for m in manifests]

    bad = sorted({line for doc in docs for line in violations(root, doc)})
    if bad:
        print("check_layers: forbidden dependencies (see docs/architecture.md):", file=sys.stderr)
        for line in bad:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)
    checked = sum(len(d.get("packages", [])) for d in docs)
    print(f"check_layers: {checked} packages, every arrow points the allowed way")


if __name__ == "__main__":
    main()
