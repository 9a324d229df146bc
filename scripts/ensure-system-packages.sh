#!/usr/bin/env bash
# Installs the Debian packages modelhaul's tests (and, with --bench, its benchmark) run against,
# when they are missing: a real nginx for real-server behaviour, strace to observe the order of
# fsync and rename, Chromium for the download modal's browser tests (driven by playwright-core,
# which never downloads a browser of its own), a real OCI registry (docker-registry, CNCF
# distribution) with htpasswd from apache2-utils and openssl for its auth variants, and the peers
# the benchmark measures against. Runs as part of `npm test`, so a fresh machine needs no manual
# step. Without root or apt-get it says what is missing; the tests that need it are then skipped
# with a message, never silently passed.
set -euo pipefail

declare -A binary_of=( [nginx]=/usr/sbin/nginx [strace]=strace [chromium]=/usr/bin/chromium [docker-registry]=/usr/bin/docker-registry [apache2-utils]=/usr/bin/htpasswd [openssl]=openssl [curl]=curl [wget]=wget [aria2]=aria2c [time]=/usr/bin/time )
packages=(nginx strace chromium docker-registry apache2-utils openssl)
if [[ "${1:-}" == "--bench" ]]; then packages+=(curl wget aria2 time); fi

missing=()
for package in "${packages[@]}"; do
  command -v "${binary_of[$package]}" >/dev/null 2>&1 || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "modelhaul: missing system packages: ${missing[*]} (install them with your package manager; the tests that need them are skipped)" >&2
  exit 0
fi

echo "modelhaul: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || echo "modelhaul: apt-get update failed; trying the installed package lists" >&2
# One package at a time, so that one that cannot be installed only skips what needs it.
# policy-rc.d may refuse to start the distribution's nginx service; modelhaul never uses it.
for package in "${missing[@]}"; do
  apt-get install -y -qq --no-install-recommends "$package" >/dev/null \
    || echo "modelhaul: could not install $package; what needs it is skipped" >&2
done
