#!/usr/bin/env bash
# Idempotent set-up for `npm start` and `npm test` (their pre-scripts): installs what is
# missing (Debian packages, npm packages), builds the BPF objects, and says what it does.
# Fast when nothing changed: every step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo npm start / sudo npm test): installing packages and loading eBPF programs need it"
[ -r /sys/kernel/btf/vmlinux ] || die "this kernel has no BTF (/sys/kernel/btf/vmlinux): sysmon-ts's CO-RE driver needs CONFIG_DEBUG_INFO_BTF=y"

# Debian packages: build tools for the driver; rsyslog, libevtx-utils, python3-evtx and
# libxml2-utils are what the test suite checks sinks against (real daemons, independent parsers).
pkgs=(clang llvm libbpf-dev bpftool make libelf-dev zlib1g-dev mingw-w64 binutils-mingw-w64
      rsyslog rsyslog-gnutls rsyslog-relp libxml2-utils libevtx-utils python3-evtx openssl iproute2 dnsmasq-base dnsutils
      gcc libc6-dev util-linux systemd python3 libivykis0 libnet1 libwrap0 libpcre3)
# one dpkg-query for all of them: one call per package took ~0.2 s of every `npm start`
installed=" $(dpkg-query -W -f='${Package} ${Status}\n' "${pkgs[@]}" 2>/dev/null | awk '/ install ok installed$/ {printf "%s ", $1}' || true)"
need_pkgs=()
for p in "${pkgs[@]}"; do
  [[ "$installed" == *" $p "* ]] || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2 || die "apt-get install ${need_pkgs[*]} failed"
fi

# syslog-ng, the sink tests' second real receiver. Debian's syslog-ng-core conflicts with
# rsyslog (both provide system-log-daemon: installing one removes the other), so unless a
# syslog-ng is installed already, the package is unpacked, not installed (no maintainer
# scripts, no service), under /opt/sysmon-ts-test; its libraries are the apt packages above.
sng=/opt/sysmon-ts-test/syslog-ng
if [ ! -x /usr/sbin/syslog-ng ] && [ ! -x "$sng/usr/sbin/syslog-ng" ]; then
  say "unpacking syslog-ng-core into $sng (for the sink tests)"
  tmp=$(mktemp -d)
  (cd "$tmp" && { apt-get download syslog-ng-core >&2 2>/dev/null || { apt-get update -qq >&2 && apt-get download syslog-ng-core >&2; }; }) || die "apt-get download syslog-ng-core failed"
  mkdir -p "$sng" && dpkg-deb -x "$tmp"/syslog-ng-core_*.deb "$sng" || die "unpacking syslog-ng-core failed"
  rm -rf "$tmp"
fi

# tracefs for tracepoint programs (raw tracepoints and tp_btf do not need it)
if [ ! -d /sys/kernel/tracing/events ] && ! mountpoint -q /sys/kernel/tracing; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null && say "mounted tracefs" || true
fi

# npm packages: reinstall only when package-lock.json changed since the last install
stamp=node_modules/.sysmon-ts-lock.sha256
want_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want_sum" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund >&2 || die "npm ci failed"
  echo "$want_sum" > "$stamp"
fi

# the agent compiled to JavaScript (dist/): what `npm start` and the installed service run,
# without tsx's loader thread (~35 MB of RSS). Rebuilt only when a source file changed.
build_sum=$(cat tsconfig.json tsconfig.build.json $(find src sinks -name '*.ts' | sort) | sha256sum | cut -d' ' -f1)
build_stamp=dist/.sysmon-ts-build.sha256
if [ ! -f "$build_stamp" ] || [ "$(cat "$build_stamp")" != "$build_sum" ]; then
  say "compiling the agent (tsc -p tsconfig.build.json -> dist/)"
  rm -rf dist
  npx tsc -p tsconfig.build.json >&2 || die "compiling the agent failed"
  echo "$build_sum" > "$build_stamp"
fi

# the BPF objects: make rebuilds only what changed
if ! make -q -C driver/linux >/dev/null 2>&1; then
  say "building the eBPF driver (driver/linux)"
  make -s -C driver/linux >&2 || die "building the eBPF driver failed"
fi

# driver/native: the agent's native helpers (the journal's CRC32C); the agent falls back to
# JavaScript without them, so a failure here is reported, not fatal
if ! make -q -C driver/native >/dev/null 2>&1; then
  say "building the native helpers (driver/native)"
  make -s -C driver/native >&2 || say "WARNING: building driver/native failed: the journal's checksums stay in JavaScript (slower)"
fi

# Wine, node.exe and koffi's win32 build: for the Windows tests only (npm test passes --test)
if [ "${1:-}" = --test ]; then bash test/windows/wine/setup.sh; fi
