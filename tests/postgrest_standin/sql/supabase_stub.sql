-- A stand-in for what a Supabase project provides BEFORE user migrations run, for a bare
-- PostgreSQL 15. It is test support only: never apply it to a real Supabase project (which
-- already has all of this, with more).
--
-- Mirrors, in the parts our schema depends on:
--   * supabase/postgres  migrations/db/init-scripts/00000000000000-initial-schema.sql
--     (roles anon / authenticated / service_role / authenticator, schema grants, default privileges)
--   * supabase/auth      tenant migrations (auth.uid(), auth.role(), auth.jwt() read the claims that
--     PostgREST sets with set_config('request.jwt.claims', ...), falling back to the legacy
--     per-claim settings 'request.jwt.claim.<name>')
--
-- Idempotent: roles are cluster-wide, so every statement tolerates a second run.
-- Apply as a superuser (the throwaway cluster's `postgres`), e.g.
--   psql -v ON_ERROR_STOP=1 -f tests/support/sql/supabase_stub.sql

-- ---------------------------------------------------------------------------------------------
-- Roles
-- ---------------------------------------------------------------------------------------------
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'service_role') then
        -- Supabase's service key role: bypasses row-level security.
        create role service_role nologin noinherit bypassrls;
    end if;
    if not exists (select 1 from pg_roles where rolname = 'authenticator') then
        -- The role PostgREST logs in as; it only switches to the three roles above.
        create role authenticator login noinherit password 'authenticator';
    end if;
end
$$;

-- Re-assert the attributes in case the roles pre-existed with others.
alter role anon          nologin noinherit;
alter role authenticated nologin noinherit;
alter role service_role  nologin noinherit bypassrls;
alter role authenticator login   noinherit password 'authenticator';

do $$
declare
    r text;
begin
    foreach r in array array['anon', 'authenticated', 'service_role'] loop
        if not pg_has_role('authenticator', r, 'member') then
            execute format('grant %I to authenticator', r);
        end if;
    end loop;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Schemas and privileges
-- ---------------------------------------------------------------------------------------------
-- Supabase installs extensions (pgTAP included, in `supabase test db`) into `extensions`, which is
-- on the search_path of the `postgres` role.
create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;

grant usage on schema public to postgres, anon, authenticated, service_role;

-- Supabase grants ALL on every new table, function and sequence in `public` to the API roles by
-- default (for objects created by `postgres`, which is who runs user migrations, and by
-- `supabase_admin`). Mirrored faithfully, so our migration must revoke what it does not want the
-- API roles to have, exactly as it must on a real project.
alter default privileges for role postgres in schema public
    grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
    grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
    grant all on sequences to postgres, anon, authenticated, service_role;

-- `extensions` first-class on the search_path of new sessions, as on Supabase (pgTAP lives there).
alter role postgres set search_path = "$user", public, extensions;

-- ---------------------------------------------------------------------------------------------
-- auth schema (owned by Supabase's auth service on a real project; a minimal table here)
-- ---------------------------------------------------------------------------------------------
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
    id uuid primary key,
    email text,
    created_at timestamptz default now()
);
comment on table auth.users is
    'Test stand-in for Supabase Auth''s users table (only the columns our schema and tests use).';

-- The user id of the request: the JWT `sub` claim, as PostgREST exposes it.
create or replace function auth.uid()
returns uuid
language sql
stable
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$$;

-- The JWT `role` claim (anon, authenticated, service_role).
create or replace function auth.role()
returns text
language sql
stable
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
$$;

-- The JWT `email` claim.
create or replace function auth.email()
returns text
language sql
stable
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim.email', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    )::text
$$;

-- All the JWT claims.
create or replace function auth.jwt()
returns jsonb
language sql
stable
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
    to anon, authenticated, service_role;
