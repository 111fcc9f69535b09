#!/usr/bin/env bash
# The checks that need an NVIDIA GPU, in one run of a few minutes (7.5 at most: each step has a
# timeout), everything written under one folder. GPU machines lent to this project have no .NET
# SDK, so it runs a self-contained testbed built beforehand on a machine that has one:
#
#   bash scripts/gpu-check.sh --prepare [DIR]  # here: publishes a self-contained testbed into .gpu/ (or DIR: the tests'
#                                              # check that the publish works and the binary runs)
#   bash scripts/gpu-check.sh [FOLDER]         # there: runs the checks; FOLDER defaults to $OUT, else gpu-check/
#
# What it runs on the `cuda` accelerator (each step's exit code is kept; a failure does not stop the rest),
# as seven files (the device tool brings back eight at most):
#   device.txt            nvidia-smi and what testbed lists
#   log.txt               every step's console output, one after another
#   conformance.json      the conformance suite, including `link-native`: whether a host Interlocked.Add
#                         racing device Atomic.Add on registered host memory loses updates
#   exclusivity.json      the exclusivity scenario, protocol on and off, across a non-coherent link: the
#                         GPU's own where it has no host-native atomics (PCIe), else the emulated one
#                         (kernel code on the GPU); the conformance suite emulates it on every GPU
#   suite.json            every scenario at CI size
#   bench.json            testbed bench --quick (cpu, ilgpu-cpu and cuda probes, copy-bandwidth curves; the
#                         explore probe needs the Coyote-rewritten assemblies a build writes, 172 MB, which the
#                         published testbed does not carry: it is left out, named in the result's not_run)
#   summary.txt           one line per step: its exit code and how long it took
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.gpu/testbed

if [ "${1:-}" = "--prepare" ]; then
  dir=${2:-.gpu}
  dotnet publish src/Testbed/Testbed.csproj -c Release -r linux-x64 --self-contained \
    -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true \
    -p:InvariantGlobalization=true -p:DebugType=none -p:GenerateDocumentationFile=false -o "$dir" -nologo -v:q || exit 1
  echo "prepared $dir/testbed ($(du -h "$dir/testbed" | cut -f1)); carry $dir to the GPU machine as .gpu and run: bash scripts/gpu-check.sh"
  exit 0
fi

out=${1:-${OUT:-gpu-check}}
mkdir -p "$out"
if [ ! -x "$bin" ]; then
  echo "gpu-check: $bin is missing: run 'bash scripts/gpu-check.sh --prepare' on a machine with the .NET SDK and carry .gpu" >&2
  exit 2
fi

summary="$out/summary.txt"
log="$out/log.txt"
: > "$summary"
: > "$log"
step() {
  local name=$1; shift
  local start=$SECONDS
  printf '===== %s: %s\n' "$name" "$*" >> "$log"
  "$@" >> "$log" 2>&1
  local code=$?
  printf '%-22s exit %d  %4d s  %s\n' "$name" "$code" "$((SECONDS - start))" "$*" | tee -a "$summary"
}

{ nvidia-smi; echo; "$bin" list; } > "$out/device.txt" 2>&1
step conformance timeout 90 "$bin" conformance --accelerator cuda --json "$out/conformance.json"
step exclusivity timeout 90 "$bin" run exclusivity --accelerator cuda --rounds 50 --json "$out/exclusivity.json"
step suite timeout 150 "$bin" suite --accelerator cuda --json "$out/suite.json"
step bench timeout 120 "$bin" bench --quick --json "$out/bench.json"

echo "done: $(wc -l < "$summary") steps, results in $out"
