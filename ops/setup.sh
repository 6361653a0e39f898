#!/usr/bin/env bash
# Sets up what the appliance needs on a fresh Debian 12 + Node 20 machine, then builds it.
#   ops/setup.sh boot   before `npm start`
#   ops/setup.sh test   before `npm test`
# Installs missing Debian packages when run as root; otherwise names them and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-boot}"

say() { printf 'secai setup: %s\n' "$*" >&2; }

# Node.js >= 20.19 (require(esm) and import.meta.resolve are used).
node_version=$(node -p 'process.versions.node')
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  say "Node.js >= 20.19 is required, found $node_version"
  exit 1
fi

# Debian packages: binary -> package. Tests use the same real parts the appliance runs: the bus,
# the YARA scanner, util-linux's unshare/prlimit for the quarantine sandbox, a software TPM
# (swtpm) with tpm2-tools for attestation, and AIDE as the integrity benchmark's baseline.
declare -A needed=(
  [nats-server]=nats-server [yara]=yara [unshare]=util-linux [prlimit]=util-linux
  [swtpm]=swtpm [swtpm_setup]=swtpm-tools [tpm2_quote]=tpm2-tools [aide]=aide
)
missing=()
for bin in "${!needed[@]}"; do
  if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ] && [ ! -x "/usr/bin/$bin" ]; then
    missing+=("${needed[$bin]}")
  fi
done
# Libraries have no binary to look for: tpm2-tools reaches swtpm through this TCTI plug-in.
if command -v dpkg-query >/dev/null 2>&1 &&
  ! dpkg-query -W -f='${Status}' libtss2-tcti-swtpm0 2>/dev/null | grep -q 'install ok installed'; then
  missing+=(libtss2-tcti-swtpm0)
fi
# The tests also drive the UI in Debian's headless Chromium (playwright-core) and `secai watch`
# under tmux; the appliance itself needs neither.
if [ "$mode" = test ]; then
  command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)
fi
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing Debian packages: ${missing[*]}"
    say "install them as root: apt-get update && apt-get install -y ${missing[*]}"
    exit 1
  fi
fi

# npm dependencies, exactly as locked; reinstalled only when the lock file changed.
stamp=node_modules/.secai-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

say "building (tsc -b)"
npm run --silent build

if [ "$mode" = test ]; then
  say "linting"
  npm run --silent lint
fi
