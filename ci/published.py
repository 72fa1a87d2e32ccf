#!/usr/bin/env python3
"""List the workspace's crates.io packages for ci/package.sh, ci/docsrs.sh and ci/semver.sh.

Reads `cargo metadata --format-version 1 --no-deps` JSON on stdin and prints one line per
workspace member that may be published (no `publish = false`, or a `publish` list naming
crates-io), dependencies before their dependents:

    name <TAB> directory (relative) <TAB> version <TAB> license <TAB> docs.rs cargo flags

The flags are what docs.rs derives from `[package.metadata.docs.rs]`: `--features a,b`,
`--all-features`, `--no-default-features`. New crates are picked up without editing this file.
"""

import json
import os
import sys


def publishable(package: dict) -> bool:
    registries = package.get("publish")
    # cargo metadata: null = anywhere, [] = publish = false, else the allowed registries.
    return registries is None or "crates-io" in registries


def docs_rs_flags(package: dict) -> list[str]:
    docs = ((package.get("metadata") or {}).get("docs") or {}).get("rs") or {}
    flags = []
    if docs.get("all-features"):
        flags.append("--all-features")
    if docs.get("no-default-features"):
        flags.append("--no-default-features")
    if docs.get("features"):
        flags += ["--features", ",".join(docs["features"])]
    return flags


def main() -> int:
    metadata = json.load(sys.stdin)
    root = metadata["workspace_root"]
    members = set(metadata["workspace_members"])
    packages = {p["name"]: p for p in metadata["packages"] if p["id"] in members and publishable(p)}
    ordered, visiting = [], set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting:
            return
        visiting.add(name)
        for dep in packages[name]["dependencies"]:
            # Dev-dependencies do not order a release: cargo strips path-only ones, and a
            # versioned one may point at the previous release.
            if dep["name"] in packages and dep.get("kind") != "dev":
                visit(dep["name"])
        visiting.discard(name)
        ordered.append(name)

    for name in sorted(packages):
        visit(name)
    for name in ordered:
        package = packages[name]
        directory = os.path.relpath(os.path.dirname(package["manifest_path"]), root)
        fields = [name, directory, package["version"], package.get("license") or "-"]
        print("\t".join(fields + [" ".join(docs_rs_flags(package))]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
