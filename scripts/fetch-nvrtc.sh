#!/usr/bin/env bash
# Fetches NVRTC (Debian non-free libnvrtc11.2 + libnvrtc-builtins11.8) into .tools/nvrtc without a
# GPU, without root and without touching the system's apt sources: a private sources list and
# private apt state, `apt-get download`, then `dpkg-deb -x`. Prints the library directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/nvrtc"
lib="$dest/root/usr/lib/x86_64-linux-gnu"
if [ -e "$lib/libnvrtc.so.11.2" ]; then
  echo "$lib"
  exit 0
fi
apt_dir="$dest/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dest/debs" "$dest/root"
echo "deb http://deb.debian.org/debian bookworm non-free" > "$apt_dir/sources.list"
opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root")
apt-get "${opts[@]}" update -qq >&2
(cd "$dest/debs" && apt-get "${opts[@]}" download libnvrtc11.2 libnvrtc-builtins11.8 >&2)
for deb in "$dest"/debs/*.deb; do
  dpkg-deb -x "$deb" "$dest/root"
done
echo "$lib"
