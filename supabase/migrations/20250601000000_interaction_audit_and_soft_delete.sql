-- An audit trail of every change to user_interactions, and soft deletes.
--
-- Applies unchanged to a Supabase project after 20240101000000_grants_schema.sql: it creates no
-- roles and no auth objects, and uses only auth.uid() and auth.users, which Supabase provides.
--
-- * public.user_interaction_events: one row per insert, update, soft delete, revival and hard
--   delete of an interaction, written only by the trigger below. Users read their own events;
--   nobody writes them through the API.
-- * user_interactions.deleted_at: removing an interaction sets it (one PATCH). A removed
--   interaction is invisible to its owner's reads. Recording it again (the unchanged atomic
--   upsert, byte for byte the same request) revives the same row: same id, same created_at.
--   A hard delete stays possible (the service role, e.g. for account erasure).

-- ---------------------------------------------------------------------------------------------
-- Soft deletes
-- ---------------------------------------------------------------------------------------------
alter table public.user_interactions add column deleted_at timestamptz;

comment on column public.user_interactions.deleted_at is
    'When the user removed the interaction (soft delete); null while it is live. Set to the '
    'transaction time by a trigger whatever value the client sends.';

-- Revival is the upsert's: recording an interaction again on a removed (user, grant) pair must
-- update that same row (same id, same created_at) through the unchanged request. An
-- INSERT ... ON CONFLICT DO UPDATE checks the conflicting row against the SELECT policy, which
-- hides removed rows, and fails rather than skip it. So a BEFORE INSERT trigger names the pair
-- being inserted in a transaction-local setting, the SELECT policy lets the owner's removed row
-- of exactly that pair through for the conflict check, and the BEFORE UPDATE trigger clears
-- deleted_at on that pair's conflict update. (Updating the row from the BEFORE INSERT trigger
-- instead would make the conflict see a row changed later in its own command, which
-- PostgreSQL refuses.) The setting reveals nothing a user could not see before: only their own
-- row of the pair they are writing, and only until that write's statement ends (the audit
-- statement trigger clears it).
create function public.note_interaction_pair()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    perform pg_catalog.set_config(
        'supabase_rest.writing_pair', new.user_id::text || '/' || new.grant_id::text, true);
    -- A new row is live: removing is an update of its own (and of the audit trail).
    new.deleted_at := null;
    return new;
end;
$$;

comment on function public.note_interaction_pair() is
    'Trigger: names the (user, grant) pair an insert or upsert is writing, for the revival of a removed row.';

create trigger user_interactions_note_pair
    before insert on public.user_interactions
    for each row execute function public.note_interaction_pair();

-- The statement is over (an upsert that did nothing on a conflict included, which fires no row
-- trigger after it): the pair stops revealing anything for the rest of the transaction.
create function public.forget_interaction_pair()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    perform pg_catalog.set_config('supabase_rest.writing_pair', '', true);
    return null;
end;
$$;

comment on function public.forget_interaction_pair() is
    'Trigger: clears the pair noted for the revival once an insert or upsert statement ends.';

create trigger user_interactions_forget_pair
    after insert on public.user_interactions
    for each statement execute function public.forget_interaction_pair();

-- The owner sees only live rows, plus:
-- * a row their own transaction is removing right now: the soft delete is an UPDATE, and
--   PostgreSQL checks the updated row against this policy (the request has a WHERE clause and
--   PostgREST reads the result back), so without this arm the PATCH that removes an
--   interaction would fail as an RLS violation. deleted_at holds the removing transaction's
--   start time (trigger below), which now() equals only inside that transaction;
-- * the removed row of the pair their upsert is writing (see above).
drop policy user_interactions_select_own on public.user_interactions;
create policy user_interactions_select_own
    on public.user_interactions
    for select
    to authenticated
    using (
        user_id = (select auth.uid())
        and (
            deleted_at is null
            or deleted_at = now()
            or current_setting('supabase_rest.writing_pair', true)
                = user_id::text || '/' || grant_id::text
        )
    );

-- deleted_at is the database's: a removal stamps the transaction time and a second removal
-- keeps the first time; only the conflict update of an upsert on the pair it names revives the
-- row (an UPDATE that sets deleted_at to null, even one that reaches a removed row because it
-- reads no column, keeps it removed).
create function public.stamp_deleted_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if old.deleted_at is not null
        and current_setting('supabase_rest.writing_pair', true)
            = old.user_id::text || '/' || old.grant_id::text
    then
        new.deleted_at := null;
    elsif old.deleted_at is not null or new.deleted_at is not null then
        new.deleted_at := coalesce(old.deleted_at, now());
    end if;
    return new;
end;
$$;

comment on function public.stamp_deleted_at() is
    'Trigger: deleted_at = the time of the first removal (transaction time); an upsert of the pair revives the row.';

create trigger user_interactions_stamp_deleted_at
    before update on public.user_interactions
    for each row execute function public.stamp_deleted_at();

-- ---------------------------------------------------------------------------------------------
-- Audit trail
-- ---------------------------------------------------------------------------------------------
create table public.user_interaction_events (
    -- Orders the events of one (user, grant) pair by commit: every write of a pair holds that
    -- pair's row lock (or, for the first insert, its unique-index entry) from before its trigger
    -- takes a number until it commits, so a later write of the pair takes its number only
    -- after the earlier one committed. Across pairs the numbers only say which trigger ran first.
    seq bigint generated always as identity primary key,
    interaction_id uuid not null,
    -- No foreign key to user_interactions: a hard delete's event outlives the row. Deleting
    -- the user (account erasure) deletes their events too.
    user_id uuid not null references auth.users (id) on delete cascade,
    grant_id uuid not null,
    operation text not null,
    old_action text,
    new_action text,
    old_notes text,
    new_notes text,
    -- auth.uid() of the writer; null for the service role and other writers without a user.
    changed_by uuid,
    changed_at timestamptz not null default clock_timestamp(),
    constraint user_interaction_events_operation_check
        check (operation in ('insert', 'update', 'soft_delete', 'revive', 'delete'))
);

comment on table public.user_interaction_events is
    'Every change to user_interactions, in commit order per (user_id, grant_id); written only by a trigger.';

create index user_interaction_events_pair_idx
    on public.user_interaction_events (user_id, grant_id, seq);

-- One event per row change. An upsert that finds its conflict fires the UPDATE triggers only,
-- so it is recorded as an update (with the old values), never as an insert. SECURITY DEFINER:
-- the callers have no privilege on the events table.
create function public.record_user_interaction_event()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    op text;
begin
    if tg_op = 'INSERT' then
        op := 'insert';
    elsif tg_op = 'UPDATE' then
        -- An interaction never moves to another (user, grant) pair: its history is filed
        -- under its pair. (Checked after the row-level security checks, which refuse handing
        -- a row to another user first.)
        if new.user_id is distinct from old.user_id or new.grant_id is distinct from old.grant_id
        then
            raise exception 'an interaction cannot move to another (user_id, grant_id) pair'
                using errcode = '23514';
        end if;
        op := case
            when old.deleted_at is null and new.deleted_at is not null then 'soft_delete'
            when old.deleted_at is not null and new.deleted_at is null then 'revive'
            else 'update'
        end;
    else
        -- Deleting the user cascades here after their auth.users row is gone; their events go
        -- with them (foreign key), so there is nothing to record.
        if not exists (select 1 from auth.users where id = old.user_id) then
            return null;
        end if;
        op := 'delete';
    end if;
    insert into public.user_interaction_events
        (interaction_id, user_id, grant_id, operation,
         old_action, new_action, old_notes, new_notes, changed_by)
    values (
        coalesce(new.id, old.id),
        coalesce(new.user_id, old.user_id),
        coalesce(new.grant_id, old.grant_id),
        op,
        case when tg_op = 'INSERT' then null else old.action end,
        case when tg_op = 'DELETE' then null else new.action end,
        case when tg_op = 'INSERT' then null else old.notes end,
        case when tg_op = 'DELETE' then null else new.notes end,
        auth.uid()
    );
    return null;
end;
$$;

comment on function public.record_user_interaction_event() is
    'Trigger: appends one row to user_interaction_events per change of user_interactions.';

revoke execute on function public.record_user_interaction_event() from public, anon, authenticated;

create trigger user_interactions_record_event
    after insert or update or delete on public.user_interactions
    for each row execute function public.record_user_interaction_event();

-- Users read their own events; nothing writes them through the API. The service role reads
-- every event and may delete them (account erasure); nobody may insert or change one.
revoke all on table public.user_interaction_events from anon, authenticated, service_role;
-- Supabase's default privileges also grant the identity's sequence: a role that could call
-- setval() on it would make every later event collide with an earlier one.
revoke all on sequence public.user_interaction_events_seq_seq from anon, authenticated, service_role;
grant select on table public.user_interaction_events to authenticated;
grant select, delete on table public.user_interaction_events to service_role;

alter table public.user_interaction_events enable row level security;

create policy user_interaction_events_select_own
    on public.user_interaction_events
    for select
    to authenticated
    using (user_id = (select auth.uid()));
