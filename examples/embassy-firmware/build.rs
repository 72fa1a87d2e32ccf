//! Picks the board from the target triple (`cfg(board = "...")`, see `src/board/mod.rs`) and
//! links the firmware with its runtime's `link.x` (cortex-m-rt or riscv-rt) and the board's
//! `memory/<board>.x`. Doing it here instead of in `.cargo/config.toml` means a plain
//! `cargo build -p readthrough-example-embassy --target <triple>` from the workspace root links
//! correctly; host builds are left alone.

use std::path::PathBuf;
use std::{env, fs};

/// Target triple, board cfg value, memory layout.
const BOARDS: &[(&str, &str, &str)] = &[
    ("thumbv7em-none-eabihf", "mps2_an386", "memory/mps2-an386.x"),
    ("thumbv6m-none-eabi", "microbit", "memory/microbit.x"),
    (
        "riscv32imac-unknown-none-elf",
        "qemu_virt",
        "memory/qemu-virt.x",
    ),
];

fn main() {
    println!("cargo::rerun-if-changed=memory");
    println!("cargo::rerun-if-changed=build.rs");
    println!(
        "cargo::rustc-check-cfg=cfg(board, values(\"mps2_an386\", \"microbit\", \"qemu_virt\"))"
    );
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let target = env::var("TARGET").expect("cargo sets TARGET for build scripts");
    let Some(&(_, board, memory)) = BOARDS.iter().find(|(triple, _, _)| *triple == target) else {
        panic!(
            "no board for target {target}: add one to build.rs and src/board/ (boards exist for {})",
            BOARDS
                .iter()
                .map(|(triple, _, _)| *triple)
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    println!("cargo::rustc-cfg=board=\"{board}\"");
    let out_dir =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    fs::copy(memory, out_dir.join("memory.x")).expect("the board's memory layout is readable");
    println!("cargo::rustc-link-search={}", out_dir.display());
    println!("cargo::rustc-link-arg-bins=--nmagic");
    println!("cargo::rustc-link-arg-bins=-Tlink.x");
    if env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        // defmt keeps its format strings in a section of their own, placed by its linker script.
        println!("cargo::rustc-link-arg-bins=-Tdefmt.x");
    }
}
