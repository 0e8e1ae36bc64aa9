#!/usr/bin/env bash
# Runs the pgTAP tests of supabase/tests/ (the files `supabase test db` runs) against a database.
#
#   scripts/pgtap.sh [file.sql ...]
#
# With no database configured (SUPABASE_REST_TEST_DATABASE_URL unset) it runs itself under
# scripts/with-postgres.sh, so `scripts/pgtap.sh` alone is enough. Otherwise it uses the libpq
# environment (PGHOST, PGPORT, PGUSER, PGDATABASE) that scripts/with-postgres.sh exports.
#
# Uses pg_prove when installed (the pgTAP package ships it), else psql, whose output it checks:
# any `not ok`, a missing plan, a plan/count mismatch or an SQL error fails the run.
#   PGTAP_RUNNER=psql|pg_prove   force one runner

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [[ -z "${SUPABASE_REST_TEST_DATABASE_URL:-}" ]]; then
    exec "$ROOT/scripts/with-postgres.sh" "$ROOT/scripts/pgtap.sh" "$@"
fi

if [[ $# -gt 0 ]]; then
    files=("$@")
else
    mapfile -t files < <(find "$ROOT/supabase/tests" -type f -name '*.sql' | LC_ALL=C sort)
fi
if [[ ${#files[@]} -eq 0 ]]; then
    echo "pgtap: no test files in supabase/tests" >&2
    exit 1
fi

runner=${PGTAP_RUNNER:-}
if [[ -z "$runner" ]]; then
    if command -v pg_prove >/dev/null 2>&1; then runner=pg_prove; else runner=psql; fi
fi

case "$runner" in
pg_prove)
    # pg_prove runs each file through psql (the one first on PATH) and parses the TAP itself.
    exec pg_prove --psql-bin "$(command -v psql)" --ext .sql --failures "${files[@]}"
    ;;
psql) ;;
*)
    echo "pgtap: unknown PGTAP_RUNNER '$runner' (psql or pg_prove)" >&2
    exit 2
    ;;
esac

failed=0
total_tests=0
for file in "${files[@]}"; do
    name=${file#"$ROOT"/}
    if ! out=$(psql -X -q -At -v ON_ERROR_STOP=1 -f "$file" 2>&1); then
        printf '%s\n' "$out"
        echo "FAIL $name: psql error" >&2
        failed=1
        continue
    fi
    plan=$(printf '%s\n' "$out" | sed -nE 's/^1\.\.([0-9]+)$/\1/p' | head -n 1)
    ran=$(printf '%s\n' "$out" | grep -cE '^(not )?ok [0-9]+' || true)
    bad=$(printf '%s\n' "$out" | grep -cE '^not ok [0-9]+' || true)
    if [[ -z "$plan" ]]; then
        printf '%s\n' "$out"
        echo "FAIL $name: no plan" >&2
        failed=1
    elif [[ "$bad" -ne 0 || "$ran" -ne "$plan" ]]; then
        printf '%s\n' "$out"
        echo "FAIL $name: $bad of $ran failed, $plan planned" >&2
        failed=1
    else
        printf 'ok   %s (%s tests)\n' "$name" "$plan"
        total_tests=$((total_tests + plan))
    fi
done

if [[ $failed -ne 0 ]]; then
    echo "pgtap: FAILED" >&2
    exit 1
fi
echo "pgtap: all ${#files[@]} files passed, $total_tests tests"
