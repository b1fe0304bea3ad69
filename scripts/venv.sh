#!/usr/bin/env bash
# Create/refresh the project virtualenv in .venv (idempotent).
#
# Usage: scripts/venv.sh [dev|base] [--force]
#   dev   (default) install the package editable with the `dev` extra
#   base  install the package editable without extras (enough for `demo`)
#   --force  reinstall even if the stamp says we are up to date
#
# The install is skipped when .venv/.installed is newer than pyproject.toml
# and records an install at least as complete as the one requested
# (a dev install satisfies a base request).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode=dev
force=0
for arg in "$@"; do
    case "$arg" in
        dev | base) mode=$arg ;;
        --force | -f) force=1 ;;
        -h | --help)
            sed -n '2,12p' "$0"
            exit 0
            ;;
        *)
            echo "venv.sh: unknown argument: $arg (expected dev, base or --force)" >&2
            exit 2
            ;;
    esac
done

VENV=.venv
STAMP=$VENV/.installed

# A Python is usable when it runs and is >= 3.11 (pyenv shims may exist
# for versions that are not installed, so actually run it).
usable_python() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

pick_python() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && usable_python "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# (Re)create the venv if it is missing or its interpreter no longer runs.
if [[ ! -x $VENV/bin/python ]] || ! usable_python "$VENV/bin/python"; then
    if ! py=$(pick_python); then
        echo "venv.sh: need python3.11 (or python3 >= 3.11) on PATH" >&2
        exit 1
    fi
    echo "venv.sh: creating $VENV with $py ($("$py" -c 'import sys; print(sys.version.split()[0])'))"
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
    force=1
fi

need_install=$force
if [[ $need_install -eq 0 ]]; then
    if [[ ! -f $STAMP ]] || [[ pyproject.toml -nt $STAMP ]]; then
        need_install=1
    elif [[ $mode == dev ]] && [[ "$(cat "$STAMP" 2>/dev/null)" != dev ]]; then
        need_install=1
    fi
fi

if [[ $need_install -eq 0 ]]; then
    exit 0
fi

if [[ $mode == dev ]]; then
    # The tests exercise the sentence-embeddings extra too. Ask for the CPU build of
    # torch by exact version first: this kind of machine keeps that wheel on disk, and
    # without the pin pip would pick a much larger GPU build.
    target='.[dev,embeddings]'
    echo "venv.sh: installing torch==2.13.0 (CPU) for the embeddings extra"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check 'torch==2.13.0'
else
    target='.'
fi

echo "venv.sh: installing -e '$target' into $VENV"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VENV/bin/python" -m pip install -q -e "$target"

echo "$mode" >"$STAMP"
echo "venv.sh: $VENV ready ($mode)"
