#!/usr/bin/env python3
"""Print the workspace's packages as tab-separated lines for ci/test.sh.

Reads `cargo metadata --no-deps` JSON on stdin and prints, per workspace member:
name, manifest directory relative to the workspace root, its features
(comma-separated, without `default`), its target kinds (comma-separated),
its rust-version (or `-`), and where it runs: `host`; `firmware` when it depends on a
bare-metal runtime crate (cortex-m-rt, ...) for every target, so it builds for an MCU only;
`both` when that dependency is limited to some targets (a firmware with a host variant).
Packages outside the workspace (excluded example crates) are not listed: the
caller finds those on disk.
"""

import json
import os
import sys


BARE_METAL_RUNTIMES = {"cortex-m-rt", "riscv-rt", "esp-hal", "embassy-rp", "embassy-stm32", "embassy-nrf"}


def runs_on(package: dict) -> str:
    bare_metal = [dep for dep in package["dependencies"] if dep["name"] in BARE_METAL_RUNTIMES]
    if not bare_metal:
        return "host"
    if all(dep.get("target") for dep in bare_metal):
        return "both"
    return "firmware"


def main() -> int:
    metadata = json.load(sys.stdin)
    root = metadata["workspace_root"]
    members = set(metadata["workspace_members"])
    for package in metadata["packages"]:
        if package["id"] not in members:
            continue
        directory = os.path.relpath(os.path.dirname(package["manifest_path"]), root)
        features = sorted(name for name in package["features"] if name != "default")
        kinds = sorted({kind for target in package["targets"] for kind in target["kind"]})
        fields = [
            package["name"],
            directory,
            ",".join(features) or "-",
            ",".join(kinds) or "-",
            package.get("rust_version") or "-",
            runs_on(package),
        ]
        print("\t".join(fields))
    return 0


if __name__ == "__main__":
    sys.exit(main())
