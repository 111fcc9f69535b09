#!/usr/bin/env bash
# Fetches ptxas (Debian 12 non-free nvidia-cuda-toolkit 11.8, which accepts PTX ISA <= 7.8 for sm_80 and
# sm_90) into .tools/ptxas without a GPU and without touching the system's apt sources: a private
# sources list and private apt state, `apt-get download`, `dpkg-deb -x`, and only usr/bin/ptxas kept.
# Prints the path of ptxas.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/ptxas"
if [ -x "$dest/ptxas" ]; then
  echo "$dest/ptxas"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/root" "$dest"
echo "deb http://deb.debian.org/debian bookworm non-free" > "$work/sources.list"
opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root")
apt-get "${opts[@]}" update -qq >&2
(cd "$work/debs" && apt-get "${opts[@]}" download nvidia-cuda-toolkit >&2)
dpkg-deb -x "$work"/debs/nvidia-cuda-toolkit_*.deb "$work/root"
install -m 755 "$work/root/usr/bin/ptxas" "$dest/ptxas"
echo "$dest/ptxas"
