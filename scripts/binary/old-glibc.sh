#!/usr/bin/env bash
# Unpacks an older Debian's C and C++ runtime into build/old-glibc/ so the Linux binary can be run on
# it: test/binary/glibc.test.ts runs it in a chroot of `root` when the folder exists (as root), or by
# hand through that runtime's own loader (the command printed at the end):
#   build/old-glibc/root      libc6, libstdc++6, libgcc-s1 of SUITE (default bullseye: glibc 2.31,
#                             GCC 10's libstdc++; Debian 10's glibc 2.28 has left Debian's mirrors)
#   build/old-glibc/root-krb5 the same plus SUITE's MIT Kerberos libraries
# Uses apt-get with a private sources list and state under build/old-glibc (the machine's own apt
# configuration is read, not changed), with the Debian mirror the machine's sources name.
# Usage: bash scripts/binary/old-glibc.sh [SUITE]
set -euo pipefail
cd "$(dirname "$0")/../.."
suite="${1:-bullseye}"
dir="$PWD/build/old-glibc"
rm -rf "$dir"
mkdir -p "$dir/etc" "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs"

mirror=$(sed -nE 's/^URIs: *(\S+\/debian)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
if [ -z "$mirror" ]; then mirror=$(sed -nE 's/^deb +(\S+\/debian) .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -1); fi
if [ -z "$mirror" ]; then
  echo "old-glibc: no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2
  exit 1
fi
cat >"$dir/etc/old.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$dir/etc" -o "Dir::State::Lists=$dir/lists"
  -o "Dir::Cache=$dir/cache" -o "Dir::State::status=/dev/null" -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" -qq update
runtime=(libc6 libstdc++6 libgcc-s1)
krb5=(libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1 libssl1.1)
(cd "$dir/debs" && apt-get "${apt_opts[@]}" -qq download "${runtime[@]}" "${krb5[@]}")
for p in "${runtime[@]}"; do dpkg-deb -x "$dir"/debs/"${p}"_*.deb "$dir/root"; done
for f in "$dir"/debs/*.deb; do dpkg-deb -x "$f" "$dir/root-krb5"; done
rm -rf "$dir/lists" "$dir/cache"
ls "$dir"/debs
echo "old-glibc: run the binary with: $dir/root/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path $dir/root/lib/x86_64-linux-gnu:$dir/root/usr/lib/x86_64-linux-gnu dist/pi-agent-linux-x64 version"
