# The README's commands: `make demo` and `make test`. Everything they need is installed here.
DENO := node_modules/.bin/deno
BUN := node_modules/.bin/bun
DENO_FLAGS := --allow-ffi --allow-read --allow-write --allow-env --allow-run --allow-net=127.0.0.1
LIB := target/release/libremotemedia.so

.PHONY: all deps build test test-rust test-deno test-bun lint demo header contract types binary dist test-dist test-packages bench bench-serve soak fuzz valgrind reliability clean

all: build

# deno and bun come from npm into node_modules/.bin (versions pinned in package-lock.json); so do tsc
# (for `make dist`) and a copy of npm/lib (@remotemedia/lib, which the loader imports).
node_modules/.installed: package.json package-lock.json .npmrc $(wildcard npm/lib/*)
	npm ci --no-audit --no-fund
	touch $@

deps: node_modules/.installed

build: deps
	cargo build --release

lint: deps
	cc -fsyntax-only -Wall -Werror -x c rust/include/remotemedia.h
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo check --quiet --manifest-path rust/fuzz/Cargo.toml  # the fuzz targets keep compiling
	cargo fmt --check --manifest-path rust/fuzz/Cargo.toml
	$(DENO) fmt --check
	$(DENO) lint
	$(DENO) check mod.ts tests/ examples/ ffi/ src/ tools/ bench/ cli/main.ts
	$(DENO) doc --lint mod.ts cli/main.ts
	$(DENO) publish --dry-run --allow-dirty

test-rust:
	cargo test

test-deno: build
	$(DENO) test $(DENO_FLAGS) --v8-flags=--expose-gc tests/

test-bun: build
	$(BUN) test --timeout 120000 tests/

test: build test-rust lint test-deno test-bun

demo: build
	$(DENO) run $(DENO_FLAGS) examples/runtime_data.ts
	@echo "--- speech segments of examples/data/speech.wav (Deno, then Bun)"
	$(DENO) run $(DENO_FLAGS) examples/voice_activity.ts
	$(BUN) run examples/voice_activity.ts

# A standalone `remotemedia` executable (Bun runtime + the native library embedded): dist/remotemedia
binary: build
	$(BUN) build --compile cli/compiled.ts --outfile dist/remotemedia

# What users install, in dist/: the platform package of this machine (stripped library), @remotemedia/lib,
# the npm package remotemedia (JavaScript + .d.ts emitted by tsc), their tarballs, and the release files
# of the download fallback with SHA256SUMS (tools/dist.ts).
dist: build
	rm -rf dist/npm dist/release
	$(DENO) run --allow-read --allow-write --allow-run --allow-env tools/dist.ts all

# A local npm registry for the install tests (Verdaccio; its own lockfile, not needed by `make test`).
tools/registry/node_modules/.installed: tools/registry/package.json tools/registry/package-lock.json
	npm ci --prefix tools/registry --no-audit --no-fund
	touch $@

# Publishes dist/npm to a local registry and installs from it with no Rust toolchain on PATH: Bun
# (bun add, bun build --compile, download fallback) under `bun test`, Deno (npm:, the JSR graph,
# download fallback) under `deno test`. `test-packages` tests whatever dist/ holds (the release
# workflow's packages of every platform); `test-dist` builds dist/ first.
test-dist: dist
	$(MAKE) test-packages

test-packages: deps tools/registry/node_modules/.installed
	REMOTEMEDIA_TEST_DIST=1 $(DENO) test $(DENO_FLAGS) tests/dist.test.ts
	REMOTEMEDIA_TEST_DIST=1 $(BUN) test --timeout 600000 tests/dist.test.ts

# Every benchmark in Deno and Bun (and the native nodes alone), one table, bench/results.json; then the
# sessions-per-core benchmark.
bench: build
	mkdir -p target/bench
	cargo run --release --quiet --example node_bench > target/bench/rust-nodes.jsonl
	$(DENO) run $(DENO_FLAGS) --v8-flags=--expose-gc bench/suite.ts
	$(BUN) run bench/suite.ts
	$(DENO) run -A bench/report.ts
	$(MAKE) bench-serve

# Sessions per core: the voice front end served by serve() (Deno and Bun servers, threaded and inline
# sessions, earshot and Silero VAD), N real-time WebSocket clients in a Bun process, N raised until the
# p99 frame latency passes 20 ms or frames drop. Table on stdout, target/bench/serve.json. Several
# minutes; SERVE_BENCH_* variables narrow it (bench/serve.ts).
bench-serve: build
	$(BUN) run bench/serve.ts

# 2,000,000 frames (Deno: its RSS settles later) and 1,000,000 (Bun) through a mixed native/TS pipeline
# (not part of `make test`).
soak: build
	$(DENO) run $(DENO_FLAGS) --v8-flags=--expose-gc tests/soak.ts 2000000
	$(BUN) run tests/soak.ts

# Fuzzing with cargo-fuzz (nightly toolchain; not part of `make test`). FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz:
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
	cd rust/fuzz && for t in manifest data_abi wav session; do \
	  mkdir -p corpus/$$t && cargo +nightly fuzz run $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

# The C ABI tests and the handle table / engine / session unit tests under valgrind: no invalid access,
# no definite leak.
valgrind:
	cargo test --test abi --no-run
	cargo test --lib --no-run
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	  $$(ls -t target/debug/deps/abi-* | grep -v '\.d$$' | head -1) --test-threads=1
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	  $$(ls -t target/debug/deps/remotemedia-* | grep -v '\.d$$' | head -1) abi:: pipeline:: data:: wav:: --test-threads=1

# Regenerates docs/RELIABILITY.md from the reliability table (commit the result).
reliability: build
	$(DENO) run $(DENO_FLAGS) tools/gen_reliability.ts

# Regenerates src/node_types.ts from the native node schemas (commit the result).
types: build
	$(DENO) run $(DENO_FLAGS) tools/gen_node_types.ts

# Regenerates rust/include/remotemedia.h from the crate (commit the result).
header:
	REMOTEMEDIA_WRITE_HEADER=1 cargo test -p remotemedia --test header

# Regenerates ffi/contract.ts (codes, slot layouts, JSON shapes) from the header and the crate's typed
# JSON shapes (commit the result); `cargo test` fails while it is stale.
contract: header
	REMOTEMEDIA_WRITE_CONTRACT=1 cargo test -p remotemedia --lib contract

clean:
	cargo clean
	rm -rf node_modules
