#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL with this repository's schema.
#
#   scripts/with-postgres.sh <command> [args...]
#   scripts/with-postgres.sh cargo test
#   scripts/with-postgres.sh psql -c 'select count(*) from public.grants'
#   scripts/with-postgres.sh scripts/pgtap.sh
#
# It starts a fresh cluster in a temporary directory (loopback only, trust auth, a free port),
# applies tests/postgrest_standin/sql/supabase_stub.sql (what Supabase provides), every file of
# supabase/migrations/ in name order, then supabase/seed.sql, runs the command with
#
#   SUPABASE_REST_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:<port>/postgres
#   SUPABASE_REST_TEST_RESTART=<a script that restarts the cluster, fast shutdown>
#   PGHOST=127.0.0.1 PGPORT=<port> PGUSER=postgres PGDATABASE=postgres
#   PATH=<postgres bin dir>:$PATH
#
# and always stops the cluster and deletes the directory afterwards (success, failure, Ctrl-C).
# Exits with the command's status.
#
# Environment:
#   PG_BINDIR            PostgreSQL server binaries (default: pg_config --bindir, else the newest
#                        /usr/lib/postgresql/*/bin)
#   PG_MAX_CONNECTIONS   max_connections of the cluster (default 300)
#   WITH_POSTGRES_KEEP=1 keep the data directory (for debugging; the server is still stopped)
#
# Needs: PostgreSQL server binaries, python3 (or falls back to probing ports). pgTAP is installed
# with apt-get when missing and possible (root); scripts/pgtap.sh needs it, nothing else does.

set -euo pipefail

log() { printf 'with-postgres: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

[[ $# -gt 0 ]] || die "usage: $0 <command> [args...]"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STUB="$ROOT/tests/postgrest_standin/sql/supabase_stub.sql"
MIGRATIONS="$ROOT/supabase/migrations"
SEED="$ROOT/supabase/seed.sql"

# --- PostgreSQL binaries ----------------------------------------------------------------------
find_bindir() {
    if [[ -n "${PG_BINDIR:-}" ]]; then
        printf '%s\n' "$PG_BINDIR"
        return
    fi
    local dir
    # Debian's /usr/bin/pg_config belongs to libpq-dev and may not know the server; prefer the
    # newest server directory, then whatever pg_config says.
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
        printf '%s\n' "$dir"
        return
    fi
    if command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir)
        if [[ -x "$dir/initdb" ]]; then
            printf '%s\n' "$dir"
            return
        fi
    fi
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    return 1
}

BINDIR=$(find_bindir) || die "no PostgreSQL server binaries found (install postgresql, or set PG_BINDIR)"
for tool in initdb pg_ctl psql; do
    [[ -x "$BINDIR/$tool" ]] || die "$BINDIR/$tool not found (set PG_BINDIR to the server's bin directory)"
done
PG_MAJOR=$("$BINDIR/pg_ctl" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')
SHAREDIR=$("$BINDIR/pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/$PG_MAJOR")
export PATH="$BINDIR:$PATH"

# --- pgTAP ------------------------------------------------------------------------------------
# The extension (needed by scripts/pgtap.sh) and, best effort, pg_prove (which the pgTAP package
# only recommends; scripts/pgtap.sh falls back to psql without it).
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1 && return 0
    log "apt-get install $* failed; running apt-get update and retrying"
    apt-get update -q >/dev/null 2>&1 || true
    apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

ensure_pgtap() {
    local control="$SHAREDIR/extension/pgtap.control" pkg="postgresql-$PG_MAJOR-pgtap"
    local can_install=0
    [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1 && can_install=1
    if [[ ! -f "$control" ]]; then
        if [[ $can_install -eq 1 ]]; then
            log "installing $pkg (pgTAP) with apt-get"
            apt_install "$pkg" || die "could not install $pkg"
            [[ -f "$control" ]] || die "$pkg installed but $control is still missing"
        else
            log "warning: pgTAP is not installed ($control missing); scripts/pgtap.sh will fail."
            log "         install it with: sudo apt-get install -y $pkg"
        fi
    fi
    if [[ $can_install -eq 1 ]] && ! command -v pg_prove >/dev/null 2>&1; then
        log "installing pg_prove (libtap-parser-sourcehandler-pgtap-perl) with apt-get"
        apt_install libtap-parser-sourcehandler-pgtap-perl \
            || log "warning: could not install pg_prove; scripts/pgtap.sh will use psql"
    fi
    return 0
}
ensure_pgtap

# --- Running server tools as a non-root user --------------------------------------------------
# initdb and pg_ctl refuse to run as root; as root they run as the `postgres` user.
if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user to run the server"
    PG_OWNER=postgres
    TMP_PARENT=/tmp # readable by the postgres user, unlike a private TMPDIR
else
    PG_OWNER=
    TMP_PARENT=${TMPDIR:-/tmp}
fi

as_owner() {
    if [[ -z "$PG_OWNER" ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$PG_OWNER" -- "$@"
    else
        su -s /bin/sh "$PG_OWNER" -c "$(printf '%q ' "$@")"
    fi
}

# --- Cleanup, installed before anything is created --------------------------------------------
WORKDIR=""
DATADIR=""
STARTED=0

cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    if [[ $STARTED -eq 1 ]]; then
        if ! as_owner "$BINDIR/pg_ctl" stop -D "$DATADIR" -m fast -w -t 30 >/dev/null 2>&1; then
            log "fast shutdown failed; stopping immediately"
            as_owner "$BINDIR/pg_ctl" stop -D "$DATADIR" -m immediate -w -t 30 >/dev/null 2>&1 || true
        fi
        # Last resort: the postmaster we started, by its pid.
        if [[ -f "$DATADIR/postmaster.pid" ]]; then
            local pid
            pid=$(head -n 1 "$DATADIR/postmaster.pid" 2>/dev/null || true)
            if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
                log "postmaster $pid still running; killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
    fi
    if [[ -n "$WORKDIR" && -d "$WORKDIR" ]]; then
        if [[ "${WITH_POSTGRES_KEEP:-0}" == 1 ]]; then
            log "kept $WORKDIR"
        else
            rm -rf -- "$WORKDIR"
        fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- Cluster ----------------------------------------------------------------------------------
WORKDIR=$(mktemp -d "$TMP_PARENT/supabase-rest-pg.XXXXXX")
DATADIR="$WORKDIR/data"
LOGFILE="$WORKDIR/postgres.log"
if [[ -n "$PG_OWNER" ]]; then
    chown "$PG_OWNER" "$WORKDIR"
fi

if ! as_owner "$BINDIR/initdb" -D "$DATADIR" -U postgres -A trust -E UTF8 --no-locale \
    >"$WORKDIR/initdb.log" 2>&1; then
    cat "$WORKDIR/initdb.log" >&2
    die "initdb failed"
fi

# Loopback TCP and the private socket only; trust (no passwords) is safe there.
as_owner tee "$DATADIR/pg_hba.conf" >/dev/null <<'EOF'
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF

as_owner tee -a "$DATADIR/postgresql.conf" >/dev/null <<EOF

# --- scripts/with-postgres.sh: throwaway test cluster ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORKDIR'
max_connections = ${PG_MAX_CONNECTIONS:-300}
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' 2>/dev/null && return 0
    fi
    # No python3: a random port in the dynamic range that nothing answers on.
    local port
    for _ in $(seq 1 50); do
        port=$((49152 + RANDOM % 16000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    return 1
}

# A free port can be taken between choosing and binding it; retry a few times.
PORT=""
for attempt in 1 2 3 4 5; do
    PORT=$(free_port) || die "no free port found on 127.0.0.1"
    if as_owner "$BINDIR/pg_ctl" start -D "$DATADIR" -l "$LOGFILE" -w -t 60 -o "-p $PORT" >/dev/null 2>&1; then
        STARTED=1
        break
    fi
    # pg_ctl may give up while a postmaster is still coming up; make sure it is gone.
    as_owner "$BINDIR/pg_ctl" stop -D "$DATADIR" -m immediate -w >/dev/null 2>&1 || true
    log "server did not start on port $PORT (attempt $attempt)"
done
if [[ $STARTED -ne 1 ]]; then
    tail -n 30 "$LOGFILE" >&2 2>/dev/null || true
    die "PostgreSQL did not start; log above ($LOGFILE)"
fi

export PGHOST=127.0.0.1 PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres
export SUPABASE_REST_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres"

# A command that restarts this cluster (fast shutdown: every session is terminated), for the
# tests of a database restart under load. Same data, same port.
RESTART="$WORKDIR/restart-postgres"
{
    printf '#!/usr/bin/env bash\nset -euo pipefail\n'
    if [[ -z "$PG_OWNER" ]]; then
        printf '%q ' "$BINDIR/pg_ctl" restart -D "$DATADIR" -m fast -w -t 60 -l "$LOGFILE"
    elif command -v runuser >/dev/null 2>&1; then
        printf '%q ' runuser -u "$PG_OWNER" -- "$BINDIR/pg_ctl" restart -D "$DATADIR" -m fast -w -t 60 -l "$LOGFILE"
    else
        printf 'su -s /bin/sh %q -c %q' "$PG_OWNER" "$(printf '%q ' "$BINDIR/pg_ctl" restart -D "$DATADIR" -m fast -w -t 60 -l "$LOGFILE")"
    fi
    printf '>/dev/null\n'
} >"$RESTART"
chmod +x "$RESTART"
export SUPABASE_REST_TEST_RESTART="$RESTART"
unset PGPASSWORD PGSERVICE PGSERVICEFILE PGOPTIONS PGSSLMODE

# --- Schema -----------------------------------------------------------------------------------
apply_sql() {
    local file=$1 out
    if ! out=$("$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 --single-transaction -f "$file" 2>&1); then
        printf '%s\n' "$out" >&2
        die "applying ${file#"$ROOT"/} failed (nothing of that file was applied)"
    fi
    # Keep real warnings visible; NOTICEs (e.g. "already exists, skipping") are noise.
    if [[ -n "$out" ]]; then
        printf '%s\n' "$out" | grep -v '^psql:.*NOTICE:' >&2 || true
    fi
}

[[ -f "$STUB" ]] || die "missing $STUB"
apply_sql "$STUB"
shopt -s nullglob
migrations=("$MIGRATIONS"/*.sql)
shopt -u nullglob
[[ ${#migrations[@]} -gt 0 ]] || die "no migrations in $MIGRATIONS"
# Globs expand sorted (by the current collation); force byte order like the Supabase CLI.
mapfile -t migrations < <(printf '%s\n' "${migrations[@]}" | LC_ALL=C sort)
for file in "${migrations[@]}"; do
    apply_sql "$file"
done
if [[ -f "$SEED" ]]; then
    apply_sql "$SEED"
fi
log "PostgreSQL $PG_MAJOR on 127.0.0.1:$PORT: stub, ${#migrations[@]} migration(s) and seed applied"

# --- The command ------------------------------------------------------------------------------
set +e
"$@"
status=$?
set -e
exit "$status"
