#!/usr/bin/env bash
# Installs the toolchain pieces the gates need; each step does nothing when its piece is present.
#   bash ci/install.sh components        rustfmt + clippy on the active toolchain
#   bash ci/install.sh targets           the three bare-metal targets of the no_std builds
#   bash ci/install.sh nightly           nightly + miri + rust-src, then miri's sysroot
#   bash ci/install.sh msrv VERSION      the toolchain named by the workspace's rust-version
#   bash ci/install.sh redis             redis-server and redis-cli (Debian packages) for readthrough-redis's tests
#   bash ci/install.sh qemu              QEMU for the firmware gates (Debian packages, as root)
#   bash ci/install.sh defmt-print       the host decoder of the firmware's defmt logs (crates.io)
set -uo pipefail

NO_STD_TARGETS=(thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imac-unknown-none-elf)

has_toolchain() {
    rustup toolchain list | grep -q "^$1"
}

has_component() {
    local toolchain=$1 component=$2
    rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q "^$component"
}

install_components() {
    rustup component add rustfmt clippy
}

install_targets() {
    local installed missing=() target
    installed=$(rustup target list --installed)
    for target in "${NO_STD_TARGETS[@]}"; do
        grep -qx "$target" <<<"$installed" || missing+=("$target")
    done
    if ((${#missing[@]} == 0)); then
        echo "targets present: ${NO_STD_TARGETS[*]}"
        return 0
    fi
    rustup target add "${missing[@]}"
}

install_nightly() {
    if ! has_toolchain nightly; then
        rustup toolchain install nightly --profile minimal || return
    fi
    local missing=() component
    for component in miri rust-src; do
        has_component nightly "$component" || missing+=("$component")
    done
    if ((${#missing[@]} > 0)); then
        rustup component add --toolchain nightly "${missing[@]}" || return
    fi
    cargo +nightly miri setup
}

install_msrv() {
    local version=$1
    if has_toolchain "$version"; then
        echo "toolchain $version present"
        return 0
    fi
    rustup toolchain install "$version" --profile minimal
}

# redis-server (built with TLS on Debian: the rediss:// tests use --tls-port) and redis-tools'
# redis-cli (the cluster test creates its cluster with `redis-cli --cluster create`).
install_redis() {
    if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
        redis-server --version
        return 0
    fi
    apt-get -o DPkg::Lock::Timeout=300 update &&
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
            --no-install-recommends redis-server redis-tools
}

# qemu-system-arm has the mps2-an386 and microbit boards, qemu-system-misc qemu-system-riscv32.
install_qemu() {
    if command -v qemu-system-arm >/dev/null && command -v qemu-system-riscv32 >/dev/null; then
        echo "qemu present: $(qemu-system-arm --version | head -n 1)"
        return 0
    fi
    # The lock timeout waits out another apt run (unattended upgrades) instead of failing.
    apt-get -o DPkg::Lock::Timeout=300 update &&
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
            --no-install-recommends qemu-system-arm qemu-system-misc &&
        qemu-system-arm --version | head -n 1 &&
        qemu-system-riscv32 --version | head -n 1
}

# Pinned, so a new decoder is taken deliberately; --locked builds it with its tested dependencies.
DEFMT_PRINT_VERSION=1.2.0
install_defmt_print() {
    if [[ $(defmt-print --version 2>/dev/null) == *" $DEFMT_PRINT_VERSION"* ]]; then
        echo "defmt-print $DEFMT_PRINT_VERSION present"
        return 0
    fi
    # Unoptimised: it decodes a few hundred bytes per run, and opt-level 0 halves its build time.
    CARGO_PROFILE_RELEASE_OPT_LEVEL=0 cargo install defmt-print --version "$DEFMT_PRINT_VERSION" --locked
}

case ${1:-} in
    components) install_components ;;
    targets) install_targets ;;
    nightly) install_nightly ;;
    msrv) install_msrv "${2:?msrv needs a version}" ;;
    redis) install_redis ;;
    qemu) install_qemu ;;
    defmt-print) install_defmt_print ;;
    *)
        echo "usage: $0 components|targets|nightly|msrv VERSION|redis|qemu|defmt-print" >&2
        exit 2
        ;;
esac
