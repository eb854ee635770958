#!/usr/bin/env bash
# posthouse: set-up and the two main commands, for a fresh Debian/Ubuntu machine.
#
#   ./dev.sh demo [DIR]   set up, then run the main job on the built-in demo shoot (default DIR: demo-shoot)
#   ./dev.sh test         set up, then run the whole test suite
#
# Set-up installs what is missing and nothing else: Python >= 3.11 with venv (apt-get, as root), then a
# virtual environment in .venv with posthouse and its Python dependencies (PyPI wheels: PyAV bundles
# FFmpeg, soundfile bundles libsndfile). It is re-run only when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="$ROOT/.venv"

log() { printf '\033[1m[posthouse]\033[0m %s\n' "$*" >&2; }

apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        log "missing system packages ($*) and no apt-get: install them and re-run"; exit 2
    fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { log "run as root to install: $*"; exit 2; }
        sudo="sudo"
    fi
    log "installing system packages: $*"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

find_python() {
    local py
    for py in python3.13 python3.12 python3.11 python3; do
        if command -v "$py" >/dev/null 2>&1 &&
            "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            command -v "$py"; return 0
        fi
    done
    return 1
}

setup() {
    local py
    if ! py=$(find_python); then
        apt_install python3 python3-venv
        if ! py=$(find_python); then
            apt_install python3.11 python3.11-venv   # older Ubuntu: python3 is 3.10
            py=$(find_python) || { log "Python >= 3.11 is required"; exit 2; }
        fi
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating virtual environment with $py"
        if ! "$py" -m venv "$VENV" >/dev/null 2>&1; then
            rm -rf "$VENV"
            local ver; ver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
            apt_install "python${ver}-venv" || apt_install python3-venv
            "$py" -m venv "$VENV"
        fi
    fi
    # JPEG 2000 for DCP pictures: glymur drives the system OpenJPEG library
    if ! ldconfig -p 2>/dev/null | grep -q 'libopenjp2\.so\.7'; then
        ( apt_install libopenjp2-7 ) || log "warning: libopenjp2-7 is missing: DCP picture encoding is unavailable"
    fi
    local stamp="$VENV/.posthouse-installed" want
    want=$(cat pyproject.toml | sha1sum | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        log "installing posthouse and its dependencies into .venv"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e ".[dev]"
        # SoundFont renderer for music mock-ups; --no-deps skips pyaudio (live playback, needs PortAudio)
        "$VENV/bin/python" -m pip install -q --no-deps "tinysoundfont>=0.3.7"
        echo "$want" > "$stamp"
    fi
}

cmd=${1:-}
case "$cmd" in
    demo)
        setup
        dir=${2:-demo-shoot}
        exec "$VENV/bin/posthouse" demo run "$dir"
        ;;
    test)
        setup
        shift
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    setup)
        setup
        ;;
    *)
        echo "usage: ./dev.sh demo [DIR] | ./dev.sh test [PYTEST-ARGS]" >&2
        exit 2
        ;;
esac
