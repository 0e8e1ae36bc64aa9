#!/usr/bin/env bash
# Fails when src/grants/schema.rs is not what supabase-rest-gen writes for the database it runs
# against, so that the migrations of supabase/ and the crate's generated types cannot drift.
#
#   scripts/with-postgres.sh scripts/check-schema-drift.sh          (the test command does this)
#   scripts/with-postgres.sh scripts/check-schema-drift.sh --fix    (rewrites the file instead)
#
# Needs SUPABASE_REST_TEST_DATABASE_URL (set by scripts/with-postgres.sh).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

: "${SUPABASE_REST_TEST_DATABASE_URL:?run through scripts/with-postgres.sh}"
TARGET=src/grants/schema.rs
fresh=$(mktemp)
trap 'rm -f "$fresh"' EXIT

cargo run --quiet -p supabase-rest-gen -- \
    --db-url "$SUPABASE_REST_TEST_DATABASE_URL" --schema public --out "$fresh"

if [[ "${1:-}" == "--fix" ]]; then
    cp "$fresh" "$TARGET"
    echo "check-schema-drift: rewrote $TARGET" >&2
elif ! diff -u "$TARGET" "$fresh"; then
    echo "check-schema-drift: $TARGET differs from the schema of supabase/migrations (diff above);" >&2
    echo "  regenerate it: scripts/with-postgres.sh scripts/check-schema-drift.sh --fix" >&2
    exit 1
fi
