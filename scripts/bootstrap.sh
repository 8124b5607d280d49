#!/usr/bin/env bash
# Idempotent set-up: system packages (Debian), uv, and the two pinned environments.
# Only installs what is missing or out of date; safe to run on every `make run` / `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
PYTHON=${PYTHON:-python3.11}
SYSTEM_PACKAGES=(openjdk-17-jre-headless chromium chromium-driver fonts-noto-cjk)

log() { printf '[setup] %s\n' "$*"; }

# --- system packages -----------------------------------------------------------------------------
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    # a Java 17 from elsewhere also does
    if [ "$pkg" = openjdk-17-jre-headless ] && ls -d /usr/lib/jvm/java-17-openjdk* >/dev/null 2>&1; then continue; fi
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "[setup] missing system packages: ${missing[*]}" >&2
    echo "[setup] run as root:  $cmd" >&2
    exit 1
  fi
fi

# --- uv --------------------------------------------------------------------------------------------
if ! command -v uv >/dev/null || [ "$(uv --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  log "installing uv $UV_VERSION with pip"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
UV=$(command -v uv || echo "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/uv")

export UV_COMPILE_BYTECODE=1 UV_NO_PROGRESS=1

# --- environments: re-synced only when their lock file changed ---------------------------------------
sync_env() {  # venv lockfile [editable]
  local venv=$1 lock=$2 stamp="$1/.lock.sha256" inputs=("$2")
  [ "${3:-}" = editable ] && inputs+=(setup.cfg pyproject.toml)
  local want; want=$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "syncing $venv from $lock"
  [ -x "$venv/bin/python" ] || "$UV" venv --quiet --python "$PYTHON" "$venv"
  "$UV" pip sync --quiet --python "$venv/bin/python" "$lock"
  if [ "${3:-}" = editable ]; then
    # compat mode: the repository root goes on sys.path, so new top-level packages need no reinstall
    "$UV" pip install --quiet --python "$venv/bin/python" --no-deps --config-settings editable_mode=compat -e .
  fi
  echo "$want" > "$stamp"
}
sync_env .venv requirements/main.lock editable
sync_env .venv-superset requirements/superset.lock
log "environments ready"
