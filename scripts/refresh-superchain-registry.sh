#!/usr/bin/env bash
# Replaces the vendored Superchain registry snapshot (crates/verifier/registry/) with the chain
# configs of a local checkout of https://github.com/ethereum-optimism/superchain-registry:
# superchain/configs/{mainnet,sepolia}/*.toml, LICENSE, superchain/README.md (as
# superchain-README.md, when the checkout has it), and the `- Commit:` line of the snapshot's
# README.md from `git log -1` of the checkout. Then rebuild and run
# `cargo test -p mach-verifier registry`, review the diff, and commit.
#
# usage: scripts/refresh-superchain-registry.sh PATH_TO_REGISTRY_CHECKOUT
set -euo pipefail

fail() {
  echo "refresh-superchain-registry: $*" >&2
  exit 1
}

if [ "$#" -ne 1 ]; then
  echo "usage: $0 PATH_TO_REGISTRY_CHECKOUT" >&2
  echo "  (a git clone of https://github.com/ethereum-optimism/superchain-registry)" >&2
  exit 2
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/crates/verifier/registry"
src="$1"
superchains=(mainnet sepolia)

[ -d "$src" ] || fail "$src is not a directory; pass the path of a superchain-registry checkout"
src="$(cd "$src" && pwd)"
git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
  || fail "$src is not a git checkout; clone https://github.com/ethereum-optimism/superchain-registry and pass its path (the commit is recorded from git)"
for superchain in "${superchains[@]}"; do
  [ -f "$src/superchain/configs/$superchain/superchain.toml" ] \
    || fail "$src has no superchain/configs/$superchain/superchain.toml; is it a superchain-registry checkout?"
done
[ -f "$src/LICENSE" ] || fail "$src has no LICENSE; is it a superchain-registry checkout?"
if [ -n "$(git -C "$src" status --porcelain -- superchain/configs LICENSE superchain/README.md)" ]; then
  fail "$src has uncommitted changes under superchain/configs (or LICENSE); the snapshot would not match its commit. Commit, stash or discard them first."
fi
[ -f "$dest/README.md" ] || fail "$dest/README.md is missing; restore it with git before refreshing"
grep -q '^- Commit: ' "$dest/README.md" \
  || fail "$dest/README.md has no '- Commit: ' line to rewrite; restore it with git before refreshing"

commit="$(git -C "$src" log -1 --format=%H)"
date="$(TZ=UTC git -C "$src" log -1 --date=format-local:%Y-%m-%d --format=%cd)"

# Stage the new files first (outside the crate, where build.rs would see them), then swap, so a
# failure while copying leaves the snapshot as it was.
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
for superchain in "${superchains[@]}"; do
  mkdir "$stage/$superchain"
  cp "$src/superchain/configs/$superchain/"*.toml "$stage/$superchain/"
done
cp "$src/LICENSE" "$stage/LICENSE"
sed "s|^- Commit: .*|- Commit: \`$commit\`, $date|" "$dest/README.md" >"$stage/README.md"

for superchain in "${superchains[@]}"; do
  rm -rf "${dest:?}/$superchain"
  mv "$stage/$superchain" "$dest/$superchain"
done
mv "$stage/LICENSE" "$dest/LICENSE"
mv "$stage/README.md" "$dest/README.md"
if [ -f "$src/superchain/README.md" ]; then
  cp "$src/superchain/README.md" "$dest/superchain-README.md"
else
  echo "refresh-superchain-registry: $src has no superchain/README.md; superchain-README.md left as it was" >&2
fi

for superchain in "${superchains[@]}"; do
  count="$(find "$dest/$superchain" -maxdepth 1 -name '*.toml' | wc -l | tr -d ' ')"
  echo "refresh-superchain-registry: $superchain: $count files"
done
echo "refresh-superchain-registry: snapshot is now superchain-registry ${commit:0:8} ($date)"
echo "next: cargo test -p mach-verifier registry, review git diff -- crates/verifier/registry, commit"
