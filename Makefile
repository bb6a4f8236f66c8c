# The two commands of the README live here. `make devnet` installs the pinned toolchain, builds
# `mach` and runs a whole MACH network locally (`mach devnet up`). `make test` installs what the
# tests need (the pinned npm toolchain: forge, anvil, cast, solc) and runs every check CI runs.

NPM_STAMP := node_modules/.installed
DEPLOY_STAMP := deploy/tools/.installed
MOTO_STAMP := .tools/moto/.installed

.PHONY: devnet test setup contracts lint build

## Install the pinned npm toolchain into ./node_modules (re-run when package-lock.json changes)
## and the deploy checkers into deploy/tools (docker compose, helm, hadolint, kubernetes-validate),
## and moto's server into .tools/moto (the AWS KMS the signer tests use).
setup: $(NPM_STAMP) $(DEPLOY_STAMP) $(MOTO_STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(DEPLOY_STAMP): scripts/deploy-setup.sh deploy/tools/requirements.txt deploy/tools/package.json deploy/tools/package-lock.json
	scripts/deploy-setup.sh

$(MOTO_STAMP): scripts/moto-setup.sh scripts/moto-requirements.txt
	scripts/moto-setup.sh

## A whole MACH network on this machine, in the foreground (Ctrl-C stops it). Options go in
## DEVNET_ARGS, e.g. `make devnet DEVNET_ARGS="--operators 10 --l2-network ethereum"`.
DEVNET_ARGS ?=
devnet: $(NPM_STAMP)
	cargo run --locked -p mach -- devnet up $(DEVNET_ARGS)

## Everything CI runs: formatting, lints, contract artifacts, forge tests, deploy files, Rust tests.
test: setup lint
	scripts/contracts.sh check
	scripts/deploy-check.sh
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
