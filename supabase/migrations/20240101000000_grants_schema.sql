-- Grants and each user's interaction with a grant (saved / applied / ignored).
--
-- Applies unchanged to a Supabase project (`supabase db push`, `supabase db reset`): it relies on
-- what Supabase provides (`auth.users`, `auth.uid()`, the roles anon / authenticated /
-- service_role) and creates no roles or auth objects. For a bare PostgreSQL, apply
-- tests/support/sql/supabase_stub.sql first (scripts/with-postgres.sh does).
--
-- The app records an interaction with ONE atomic upsert, which PostgREST runs as
--   insert into public.user_interactions (user_id, grant_id, action, ...) values (...)
--   on conflict (user_id, grant_id) do update set <every sent column> = excluded.<column>
-- (`?on_conflict=user_id,grant_id` + `Prefer: resolution=merge-duplicates`). That needs:
--   * the unique constraint below on exactly (user_id, grant_id), or PostgreSQL raises 42P10;
--   * INSERT, SELECT and UPDATE policies for the caller, or the upsert fails with 42501
--     "new row violates row-level security policy".

-- ---------------------------------------------------------------------------------------------
-- grants: the catalogue. Readable by everyone; written only with the service role.
-- ---------------------------------------------------------------------------------------------
create table public.grants (
    id uuid primary key default gen_random_uuid(),
    title text not null,
    funder text,
    amount numeric,
    deadline date,
    status text not null default 'open',
    created_at timestamptz not null default now()
);

comment on table public.grants is 'Funding opportunities. Read by anyone; written with the service role.';

-- ---------------------------------------------------------------------------------------------
-- user_interactions: at most one row per (user, grant), holding the user's latest action.
-- ---------------------------------------------------------------------------------------------
create table public.user_interactions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users (id) on delete cascade,
    grant_id uuid not null references public.grants (id) on delete cascade,
    action text not null,
    notes text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint user_interactions_action_check
        check (action in ('saved', 'applied', 'ignored')),
    -- The upsert's conflict target. Name kept stable: clients match on it in 23505 messages.
    constraint user_interactions_user_id_grant_id_key unique (user_id, grant_id),
    -- Holds by construction (the set_updated_at trigger); declared so it can never silently
    -- break (e.g. with triggers disabled during a restore).
    constraint user_interactions_updated_at_check check (updated_at >= created_at)
);

comment on table public.user_interactions is
    'A user''s latest action on a grant: one row per (user_id, grant_id), written by upsert.';
comment on column public.user_interactions.created_at is
    'When the user first interacted with the grant. Never changes after insert (trigger).';
comment on column public.user_interactions.updated_at is
    'When the row last changed. Maintained by the set_updated_at trigger.';

-- Listing a user's interactions, optionally by action. (Lookups by user alone are also served by
-- the unique index, whose leading column is user_id.)
create index user_interactions_user_id_action_idx
    on public.user_interactions (user_id, action);
-- The foreign key to grants: keeps `on delete cascade` from a grant from scanning the table.
create index user_interactions_grant_id_idx
    on public.user_interactions (grant_id);

-- ---------------------------------------------------------------------------------------------
-- Timestamps trigger
-- ---------------------------------------------------------------------------------------------
-- For tables with both created_at and updated_at; keeps updated_at >= created_at at all times.
--   * created_at: restored from the old row on every UPDATE, so no update and no upsert
--     (`on conflict do update set created_at = excluded.created_at`, which PostgREST emits when a
--     client sends created_at) can rewrite the first-interaction time.
--   * updated_at: the column DEFAULT is now() (the transaction start, equal to created_at on
--     insert). On UPDATE the trigger uses clock_timestamp() instead, the actual time of the
--     write, so it also advances for a row written twice in one transaction and orders
--     concurrent upserts by when they ran; greatest(...) keeps it >= created_at even if the clock
--     steps back. On INSERT a hand-written updated_at earlier than created_at is raised to it
--     (an INSERT trigger, not only the table's CHECK, because PostgreSQL checks constraints on the
--     proposed row of an upsert BEFORE it detects the conflict: a client sending a future
--     created_at in an upsert would otherwise fail instead of having created_at ignored).
-- search_path is empty: nothing in the body resolves through a caller-controlled path
-- (clock_timestamp/greatest are pg_catalog built-ins, always searched).
create function public.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if tg_op = 'INSERT' then
        new.updated_at := greatest(new.updated_at, new.created_at);
    else
        new.created_at := old.created_at;
        new.updated_at := greatest(clock_timestamp(), old.created_at);
    end if;
    return new;
end;
$$;

comment on function public.set_updated_at() is
    'Trigger: created_at never changes after insert; updated_at = time of the last write, >= created_at.';

create trigger user_interactions_set_updated_at
    before insert or update on public.user_interactions
    for each row execute function public.set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------------------------
-- Supabase's default privileges give anon, authenticated and service_role ALL on every new table
-- in public (TRUNCATE, which ignores RLS, included). Start from nothing and grant what is meant.
revoke all on table public.grants, public.user_interactions from anon, authenticated;

grant select on table public.grants to anon, authenticated;
grant select, insert, update, delete on table public.user_interactions to authenticated;
-- anon: nothing on user_interactions (401/403 "permission denied", before any policy runs).
grant all on table public.grants, public.user_interactions to service_role;

-- ---------------------------------------------------------------------------------------------
-- Row-level security
-- ---------------------------------------------------------------------------------------------
-- service_role has BYPASSRLS on Supabase, so it needs no policies. `(select auth.uid())` is
-- evaluated once per statement instead of once per row (Supabase's recommended form).

alter table public.grants enable row level security;

create policy grants_select_all
    on public.grants
    for select
    to anon, authenticated
    using (true);
-- No insert/update/delete policies: with RLS on, only the service role (or the owner) writes.

alter table public.user_interactions enable row level security;

create policy user_interactions_select_own
    on public.user_interactions
    for select
    to authenticated
    using (user_id = (select auth.uid()));

create policy user_interactions_insert_own
    on public.user_interactions
    for insert
    to authenticated
    with check (user_id = (select auth.uid()));

-- USING picks the rows the user may change (including the conflicting row of an upsert);
-- WITH CHECK stops a change that would hand the row to someone else.
create policy user_interactions_update_own
    on public.user_interactions
    for update
    to authenticated
    using (user_id = (select auth.uid()))
    with check (user_id = (select auth.uid()));

create policy user_interactions_delete_own
    on public.user_interactions
    for delete
    to authenticated
    using (user_id = (select auth.uid()));
