#!/usr/bin/env bash
# Installs what the tests need when it is missing (PoCL, clang and Chromium with apt; ptxas unpacked into .tools/),
# checks formatting, builds the solution, runs
# every test project and prints, as its last line, "N passed, N failed, N skipped" counted from the
# test results. Exits non-zero if anything failed. Used by .ci/run and by newcomers alike.
set -uo pipefail
cd "$(dirname "$0")/.."

say() { printf '== %s\n' "$*"; }

# What the tests need: the .NET 10 SDK; PoCL, the OpenCL driver ILGPU refuses (the catalog must say so
# in ILGPU's words, and probing it must leave the process intact); clang, whose OpenCL C front end
# compiles ILGPU's OpenCL C; ptxas, which assembles ILGPU's PTX. Installed when missing (as root);
# otherwise the checks that need them skip, saying why — except under CI=true, where they fail.
if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET 10 SDK is required and 'dotnet' is not on PATH" >&2
  echo "0 passed, 1 failed, 0 skipped"
  exit 2
fi

# apt_install WHAT PACKAGES...: installs PACKAGES with apt (as root; the package lists are fetched
# once, when there are none), or says that the checks needing WHAT will skip.
apt_install() {
  local what=$1; shift
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "install $* ($what)"
    export DEBIAN_FRONTEND=noninteractive
    { [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] || apt-get update -qq; } \
      && apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
      || echo "test.sh: could not install $*; the checks needing $what will skip" >&2
  else
    echo "test.sh: $* not installed and this is not root; the checks needing $what will skip" >&2
  fi
}

if [ ! -e /etc/OpenCL/vendors/pocl.icd ] || ! ldconfig -p | grep -q 'libOpenCL.so.1'; then
  apt_install "an OpenCL driver ILGPU refuses" ocl-icd-libopencl1 pocl-opencl-icd
fi
if ! command -v chromium >/dev/null 2>&1; then
  apt_install "headless Chromium (the HTML report test)" chromium
fi
if ! command -v clang >/dev/null 2>&1 && ! ls /usr/bin/clang-1[4-9] >/dev/null 2>&1; then
  apt_install "clang's OpenCL C front end" clang
fi

# ptxas, so every kernel's PTX is assembled even without a GPU.
if [ -z "${TESTBED_PTXAS:-}" ]; then
  say "fetch ptxas (Debian non-free CUDA 11.8) into .tools/ptxas"
  if ptxas=$(bash scripts/fetch-ptxas.sh); then
    export TESTBED_PTXAS="$ptxas"
  else
    echo "test.sh: could not fetch ptxas; the PTX checks will skip" >&2
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0

say "build (Release, warnings as errors)"
if ! dotnet build Testbed.sln -c Release -nologo -v:q; then
  echo "test.sh: build failed" >&2
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

say "format check"
if ! dotnet format Testbed.sln --verify-no-changes --no-restore -v:q; then
  echo "test.sh: 'dotnet format' would change files; run 'dotnet format Testbed.sln'" >&2
  status=1
fi

projects=(tests/*/*.csproj)
for proj in "${projects[@]}"; do
  name=$(basename "$proj" .csproj)
  say "test $name"
  # A test stuck for 10 minutes is reported by name and fails the run, instead of holding CI to its limit.
  if ! dotnet test "$proj" -c Release --no-build -nologo \
      --blame-hang-timeout 10m --blame-hang-dump-type none \
      --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
      --results-directory "$results"; then
    status=1
  fi
  if [ ! -f "$results/$name.trx" ]; then
    echo "test.sh: $name produced no results (test host crashed?)" >&2
    status=1
  fi
done

# Sum the <Counters .../> of every TRX file.
passed=0 failed=0 skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  attr() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(attr passed)))
  failed=$((failed + $(attr failed) + $(attr error) + $(attr timeout) + $(attr aborted)))
  skipped=$((skipped + $(attr total) - $(attr executed)))
done
# Every skipped test, with the reason it gave (a GPU test says which device or library is missing).
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  perl -0777 -ne 'while (/<UnitTestResult[^>]*testName="([^"]*)"[^>]*outcome="NotExecuted"[^>]*>(.*?)<\/UnitTestResult>/gs) { my ($n, $b) = ($1, $2); my ($m) = $b =~ /<Message>(.*?)<\/Message>/s; print "skipped: $n: ", ($m // "no reason given"), "\n"; }' "$trx"
done

if [ "$failed" -gt 0 ]; then status=1; fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
