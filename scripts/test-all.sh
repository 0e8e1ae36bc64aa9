#!/usr/bin/env bash
# Every check and test of the repository, in one command (the README's test command):
#
#   ./scripts/test-all.sh
#
#   1. cargo fmt --check
#   2. cargo clippy on every target, warnings denied
#   3. cargo doc, warnings denied
#   4. shellcheck on scripts/ (only when shellcheck is installed)
#   5. in ONE throwaway PostgreSQL (scripts/with-postgres.sh): the pgTAP tests of supabase/tests
#      first, on the freshly migrated and seeded schema; the drift check (src/grants/schema.rs
#      regenerated from that schema must be unchanged); then `cargo test` of the workspace
#      (unit, contract, golden, property, fault-injection, real-PostgreSQL, generator,
#      compile-fail and doc tests) on the default hyper transport, then every integration
#      test that sends requests once more on the reqwest transport (SUPABASE_REST_TRANSPORT)
#   6. the examples, with no configuration
#
# Stops at the first failure and exits non-zero.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

step() { printf '\n==> %s\n' "$*" >&2; }

start=$SECONDS

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo doc (-D warnings)"
RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -D warnings" cargo doc --no-deps --all-features

step "packaging: rust-version matches clippy's msrv; the package ships no tests, scripts or fixtures"
rust_version=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
clippy_msrv=$(sed -n 's/^msrv = "\(.*\)"/\1/p' clippy.toml)
[[ -n "$rust_version" && "$rust_version" == "$clippy_msrv" ]] || {
    echo "rust-version ($rust_version) and clippy.toml msrv ($clippy_msrv) differ" >&2
    exit 1
}
package_files=$(cargo package --list --allow-dirty 2>/dev/null)
if grep -E '^(tests|scripts|\.ci|benches|tools|proptest-regressions)/' <<<"$package_files"; then
    echo "the package would ship the files above" >&2
    exit 1
fi

if command -v shellcheck >/dev/null 2>&1; then
    step "shellcheck scripts/*.sh"
    shellcheck scripts/*.sh
else
    step "shellcheck not installed; skipped"
fi

# The integration tests that send requests, run a second time on the reqwest transport (the
# property tests and the compile-fail tests send nothing).
on_both=()
for test in tests/*.rs; do
    name=$(basename "$test" .rs)
    case $name in
        prop_encoding | typed_compile_fail) ;;
        *) on_both+=(--test "$name") ;;
    esac
done

step "pgTAP and cargo test against a throwaway PostgreSQL (hyper transport, then reqwest)"
scripts/with-postgres.sh bash -c "scripts/pgtap.sh && scripts/check-schema-drift.sh \
    && SUPABASE_REST_TRANSPORT=hyper cargo test --workspace --all-targets \
    && SUPABASE_REST_TRANSPORT=hyper cargo test --doc \
    && SUPABASE_REST_TRANSPORT=reqwest cargo test ${on_both[*]}"

step "examples run with no configuration"
env -u SUPABASE_URL cargo run --quiet --example quickstart >/dev/null
env -u SUPABASE_URL cargo run --quiet --example race_demo >/dev/null
env -u SUPABASE_URL -u GRANTS_API_ADDR cargo run --quiet --example grants_api >/dev/null
env -u SUPABASE_URL cargo run --quiet --example typed_queries >/dev/null
env -u SUPABASE_URL cargo run --quiet --example typed_schema >/dev/null
env -u SUPABASE_URL cargo run --quiet --example sign_in >/dev/null

step "all checks passed in $((SECONDS - start))s"
