# tools/lib.sh — shared by tools/demo and tools/test: Debian packages, the build, the sanitizer build
# shellcheck shell=bash

CARDLINE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Everything cardline needs on Debian 12, to build, run and test: one list per part in tools/packages.d/*.txt
# ('#' starts a comment).
read_packages() {
    sed -e 's/#.*//' "$CARDLINE_ROOT"/tools/packages.d/*.txt | tr -s ' \t' '\n' | sed '/^$/d' | sort -u
}

ensure_packages() {
    local missing=() p
    for p in $(read_packages); do
        if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "cardline needs these Debian packages: ${missing[*]}" >&2
        echo "install them as root with:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "== installing Debian packages: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build PRESET: configure (first time) and build with the CMake preset (default -> build/, asan -> build/asan/)
build() {
    local preset=$1 dir
    case "$preset" in
        default) dir="$CARDLINE_ROOT/build" ;;
        asan) dir="$CARDLINE_ROOT/build/asan" ;;
        *) echo "unknown preset $preset" >&2; return 1 ;;
    esac
    echo "== building ($preset) in ${dir#"$CARDLINE_ROOT"/}"
    (cd "$CARDLINE_ROOT" && cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset" -j "$(nproc)")
}
