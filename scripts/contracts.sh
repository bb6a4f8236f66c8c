#!/usr/bin/env bash
# Builds, checks and tests the Solidity contracts under contracts/ with the toolchain that
# `npm ci` installs from package.json (forge and the npm Solidity compiler).
#
#   scripts/contracts.sh build   compile, then export crates/contracts/artifacts/<Contract>.json
#   scripts/contracts.sh check   fail if the committed artifacts differ from a fresh build
#   scripts/contracts.sh test    forge tests, the ABI check and the revert-data check against the
#                                deployed contract's ABI and its libraries' revert strings
#   scripts/contracts.sh gas     measure confirmAlert gas, rewrite its section of docs/benchmarks.md
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
contracts="$root/contracts"
artifacts="$root/crates/contracts/artifacts"
forge="$root/node_modules/.bin/forge"
# The deployed MachServiceManager's ABI, which ours must keep (a copy of the mainnet contract's).
reference_abi="$root/crates/contracts/tests/data/MachServiceManager.abi.json"
# The revert strings of the libraries the deployed contract is built on (OpenZeppelin, EigenLayer).
reference_strings="$root/crates/contracts/tests/data/MachServiceManager.revert-strings.json"

# Scratch space for the commands below, removed on exit.
scratch=""
cleanup() {
  [[ -z "$scratch" ]] || rm -rf "$scratch"
}
trap cleanup EXIT

die() {
  echo "contracts.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

require_toolchain() {
  command -v node >/dev/null 2>&1 || die "node is not installed (Node.js 20 or newer is needed)"
  if [[ ! -x "$forge" || ! -d "$root/node_modules/solc" ]]; then
    die "the contract toolchain is missing from $root/node_modules: run \`npm ci\` in $root first"
  fi
}

# Compiles contracts/src (tests are not part of the artifacts) into $1 with cache $2; fails if
# a contract exceeds the EIP-170/EIP-3860 size limits.
compile_sources() {
  (cd "$contracts" && "$forge" build src --sizes --out "$1" --cache-path "$2")
}

cmd_build() {
  compile_sources "$contracts/out" "$contracts/cache"
  node "$contracts/tools/artifacts.js" export "$contracts/out" "$artifacts"
  echo "artifacts written to ${artifacts#"$root"/}"
}

cmd_check() {
  scratch=$(mktemp -d)
  compile_sources "$scratch/out" "$scratch/cache" >/dev/null
  node "$contracts/tools/artifacts.js" export "$scratch/out" "$scratch/artifacts"
  if [[ ! -d "$artifacts" ]] || ! diff -r -q "$scratch/artifacts" "$artifacts" >&2; then
    die "crates/contracts/artifacts is not what contracts/src compiles to: run \`scripts/contracts.sh build\` and commit the result"
  fi
  echo "artifacts are up to date"
}

cmd_test() {
  (cd "$contracts" && "$forge" test -vv)
  [[ -f "$reference_abi" ]] || die "reference ABI not found at $reference_abi (restore it from git)"
  [[ -f "$reference_strings" ]] || die "revert strings not found at $reference_strings (restore it from git)"
  scratch=$(mktemp -d)
  node "$contracts/tools/artifacts.js" export "$contracts/out" "$scratch/artifacts"
  node "$contracts/tools/artifacts.js" abi-compat "$scratch/artifacts/MachServiceManager.json" "$reference_abi"
  # The same tests again (already compiled), as JSON with their logs: the reverts they expect.
  (cd "$contracts" && "$forge" test --json -vv >"$scratch/forge-test.json") ||
    die "forge test --json failed although forge test passed"
  node "$contracts/tools/artifacts.js" reverts "$scratch/forge-test.json" "$contracts/out" \
    "$reference_abi" "$reference_strings"
}

cmd_gas() {
  scratch=$(mktemp -d)
  local log="$scratch/forge.log"
  # The `gas` profile measures under Osaka rules, built apart from the artifacts' Cancun build.
  (cd "$contracts" && FOUNDRY_PROFILE=gas "$forge" test --match-path test/ConfirmAlertGas.t.sol -vv \
    --out "$scratch/out" --cache-path "$scratch/cache") | tee "$log"
  local cpu
  cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
  node "$contracts/tools/gas-report.js" "$log" "$root/docs/benchmarks.md" \
    "$(uname -m)" "${cpu:-unknown CPU}" "$(date -u +%Y-%m-%d)"
  echo "docs/benchmarks.md updated"
}

[[ $# -eq 1 ]] || usage
case "$1" in
  build | check | test | gas) ;;
  *) usage ;;
esac
require_toolchain
"cmd_$1"
