#!/usr/bin/env bash
# Long fuzz run against a private copy of the test binaries, so the worktree can be rebuilt meanwhile.
#   tools/fuzz/long-run.sh [cases] [seed]        (default 1000000 cases, seed 1)
# Equivalent to: LIGHTNINGCKPT_FUZZ_CASES=1000000 dotnet test tests/LightningCkpt.Tests -c Release --filter FullyQualifiedName~Fuzz
# Failing inputs are kept in $TMPDIR/lightningckpt-fuzz-<pid>/failure-seed<S>-case<N>.pt; re-run one case with
#   LIGHTNINGCKPT_FUZZ_SEED=<S> LIGHTNINGCKPT_FUZZ_CASE=<N> dotnet test tests/LightningCkpt.Tests -c Release --filter FullyQualifiedName~Fuzz
set -euo pipefail
cases=${1:-1000000}
seed=${2:-1}
repo=$(cd "$(dirname "$0")/../.." && pwd)
dotnet build "$repo/tests/LightningCkpt.Tests" -c Release >/dev/null
root=$(mktemp -d "${TMPDIR:-/tmp}/lightningckpt-fuzzroot.XXXXXX")
mkdir -p "$root/repo"
ln -s "$repo/tests" "$root/repo/tests"                     # RepoPaths finds tests/fixtures from the binaries
[ -d "$repo/../shared" ] && ln -s "$(cd "$repo/../shared" && pwd)" "$root/shared"   # ../shared/realworld
cp -r "$repo/tests/LightningCkpt.Tests/bin/Release/net10.0" "$root/repo/bin"
LIGHTNINGCKPT_FUZZ_CASES=$cases LIGHTNINGCKPT_FUZZ_SEED=$seed \
  dotnet test "$root/repo/bin/LightningCkpt.Tests.dll" --filter FullyQualifiedName~Fuzz --logger "console;verbosity=detailed"
rm -rf "$root"
