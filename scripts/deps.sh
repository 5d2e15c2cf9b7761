#!/usr/bin/env bash
# Installs the Debian packages postprof needs to build, test and run.
# Idempotent: asks apt only for what is missing; does nothing when all is there.
set -euo pipefail

PKGS=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  clang-format file binutils
  # libraries (DESIGN.md: Debian packages made for the job)
  libcmocka-dev libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev
  libpq-dev libhiredis-dev libjansson-dev libutf8proc-dev libopenblas-dev
  libdw-dev libelf-dev libunwind-dev libprotobuf-c-dev protobuf-c-compiler
  zlib1g-dev libinih-dev
  # test peers and independent readers
  prometheus prometheus-alertmanager redis-server postgresql protobuf-compiler curl
  linux-perf libgoogle-perftools-dev heaptrack python3
  chromium chromium-driver nodejs npm
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# nodejs/npm may come from outside Debian on some images; accept any working npm.
if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
  tmp=()
  for p in "${missing[@]}"; do
    case "$p" in nodejs|npm) ;; *) tmp+=("$p") ;; esac
  done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
