# The two commands of the README live here. `make test` installs what the tests need (the pinned
# npm toolchain: forge, anvil, cast, solc) and runs every check CI runs.

NPM_STAMP := node_modules/.installed

.PHONY: test setup contracts lint build

## Install the pinned npm toolchain into ./node_modules (re-run when package-lock.json changes).
setup: $(NPM_STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## Everything CI runs: formatting, lints, contract artifacts, forge tests, Rust tests.
test: setup lint
	scripts/contracts.sh check
	scripts/contracts.sh test
	cargo test --workspace --locked

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

## Rebuild the contracts and refresh the committed artifacts in crates/contracts/artifacts.
contracts: setup
	scripts/contracts.sh build

build:
	cargo build --workspace --locked
