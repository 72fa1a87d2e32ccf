//! This crate's example binaries, for the tests that start them as processes of their own.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The path of example `name`, built up to date in the test binary's own target dir and
/// profile (`<target>/<profile>/examples/`).
///
/// `cargo test` builds the examples before it runs the tests, but a run of one test target
/// (`cargo test --test tokio`) does not, and an example built earlier may be stale: so the
/// example is built here, with the cargo that runs the test (instant when up to date).
pub fn path(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    // <target>[/<triple>]/<profile>/deps/<test binary>
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in <target>/<profile>/deps");
    let profile = profile_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let above = profile_dir.parent().unwrap();
    // Cargo keeps its rustc cache (`.rustc_info.json`) in the target dir itself, never in a
    // `--target` triple's folder below it. (CACHEDIR.TAG is no mark: cargo writes one in a
    // triple's folder too, and none in a target dir that existed before its first build, as
    // CI's does.)
    let is_target_dir = |dir: &Path| dir.join(".rustc_info.json").exists();
    let (target_dir, triple) = match above.parent() {
        Some(parent) if !is_target_dir(above) && is_target_dir(parent) => {
            let triple = above.file_name().unwrap().to_string_lossy().into_owned();
            (parent, Some(triple))
        }
        _ => (above, None),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let mut build = Command::new(cargo);
    build
        .arg("build")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--example", name, "--features", &features()])
        .arg("--target-dir")
        .arg(target_dir);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            build.arg("--release");
        }
        other => {
            build.args(["--profile", other]);
        }
    }
    if let Some(triple) = &triple {
        build.args(["--target", triple]);
    }
    // What cargo set for this test's run (the package's name, its manifest dir...): build
    // scripts (ring's, cc's) rerun when these differ from the outer build's, which would
    // rebuild the TLS stack on every run.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_for_the_test = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
            || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"].contains(&&*name);
        if set_for_the_test {
            build.env_remove(&*name);
        }
    }
    let status = build
        .status()
        .unwrap_or_else(|error| panic!("cannot run cargo to build example {name}: {error}"));
    assert!(status.success(), "building example {name} failed");
    let example = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        example.exists(),
        "example {name} is not at {}",
        example.display()
    );
    example
}

/// The features this test binary was built with: the example is built with the same ones, so
/// that cargo reuses the build of the crate and its dependencies.
fn features() -> String {
    let mut features = vec!["tokio", "serde"];
    for (enabled, feature) in [
        (cfg!(feature = "smol"), "smol"),
        (cfg!(feature = "tokio-rustls"), "tokio-rustls"),
        (cfg!(feature = "smol-rustls"), "smol-rustls"),
        (cfg!(feature = "cluster"), "cluster"),
    ] {
        if enabled {
            features.push(feature);
        }
    }
    features.join(",")
}
