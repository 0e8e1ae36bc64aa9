-- The audit trail (user_interaction_events) and soft deletes of
-- 20250601000000_interaction_audit_and_soft_delete.sql, exercised as PostgREST runs requests
-- (role and claims local to the transaction). Runs with `supabase test db`, or scripts/pgtap.sh.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(41);

-- --- Objects and privileges ---------------------------------------------------------------------
select has_table('public', 'user_interaction_events', 'user_interaction_events exists');
select columns_are('public', 'user_interaction_events',
    array['seq', 'interaction_id', 'user_id', 'grant_id', 'operation', 'old_action',
          'new_action', 'old_notes', 'new_notes', 'changed_by', 'changed_at'],
    'user_interaction_events has exactly the expected columns');
select table_privs_are('public', 'user_interaction_events', 'authenticated', array['SELECT'],
    'authenticated may only read events');
select table_privs_are('public', 'user_interaction_events', 'anon', array[]::text[],
    'anon has no privilege on events');
select table_privs_are('public', 'user_interaction_events', 'service_role',
    array['SELECT', 'DELETE'], 'service_role reads events and may delete them (erasure), never writes them');
select sequence_privs_are('public', 'user_interaction_events_seq_seq', 'authenticated',
    array[]::text[], 'authenticated has no privilege on the events'' sequence');
select sequence_privs_are('public', 'user_interaction_events_seq_seq', 'anon',
    array[]::text[], 'anon has no privilege on the events'' sequence');
select policies_are('public', 'user_interaction_events', array['user_interaction_events_select_own'],
    'the only policy on events is the owner''s read');
select is((select relrowsecurity from pg_class where oid = 'public.user_interaction_events'::regclass),
    true, 'row-level security is enabled on events');
select has_column('public', 'user_interactions', 'deleted_at', 'user_interactions.deleted_at exists');

insert into auth.users (id, email) values
    ('40000000-0000-4000-8000-00000000000a', 'audit-a@example.test'),
    ('40000000-0000-4000-8000-00000000000b', 'audit-b@example.test');

-- The app's upsert, as PostgREST sends it.
create function pg_temp.record(action text) returns setof public.user_interactions
language sql as $$
    insert into public.user_interactions (user_id, grant_id, action)
    values ('40000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001', action)
    on conflict (user_id, grant_id) do update
        set user_id = excluded.user_id, grant_id = excluded.grant_id, action = excluded.action
    returning *
$$;
grant execute on function pg_temp.record(text) to authenticated;
create temporary table first_write (id uuid, created_at timestamptz, updated_at timestamptz);
grant all on first_write to authenticated;

-- B has an interaction, written by the service role (no auth.uid()).
insert into public.user_interactions (user_id, grant_id, action)
values ('40000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-000000000001', 'saved');

-- ==== As user A ================================================================================
set local role authenticated;
select set_config('request.jwt.claims',
    '{"sub":"40000000-0000-4000-8000-00000000000a","role":"authenticated"}', true);

insert into first_write select id, created_at, updated_at from pg_temp.record('saved');
select results_eq(
    $$ select operation, old_action, new_action, changed_by from public.user_interaction_events $$,
    $$ values ('insert'::text, null::text, 'saved'::text, '40000000-0000-4000-8000-00000000000a'::uuid) $$,
    'an insert is recorded, with the writer; A sees only their own events (not B''s)');

select results_eq($$ select action from pg_temp.record('applied') $$, $$ values ('applied'::text) $$,
    'A records the same pair again');
select results_eq(
    $$ select operation, old_action, new_action from public.user_interaction_events order by seq $$,
    $$ values ('insert'::text, null::text, 'saved'::text), ('update', 'saved', 'applied') $$,
    'the upsert that updates is recorded as an update with the old and new action');

select throws_ok(
    $$ insert into public.user_interaction_events (interaction_id, user_id, grant_id, operation)
       values (gen_random_uuid(), '40000000-0000-4000-8000-00000000000a',
               '00000000-0000-4000-8000-000000000001', 'insert') $$,
    '42501', null, 'A cannot insert an event');
select throws_ok($$ update public.user_interaction_events set new_action = 'forged' $$,
    '42501', null, 'A cannot change an event');
select throws_ok($$ delete from public.user_interaction_events $$,
    '42501', null, 'A cannot delete an event');

-- The soft delete, as PostgREST runs PATCH ...?user_id=eq.A&grant_id=eq.1 with a body
-- {"deleted_at":"now"} and Prefer: return=representation.
select results_eq(
    $$ with pgrst_source as (
         update public.user_interactions set deleted_at = 'now'
         where user_id = '40000000-0000-4000-8000-00000000000a'
           and grant_id = '00000000-0000-4000-8000-000000000001'
         returning id)
       select count(*) from pgrst_source $$,
    $$ values (1::bigint) $$,
    'A removes the interaction with one UPDATE (the row passes the SELECT policy in its own transaction)');
select is((select operation from public.user_interaction_events order by seq desc limit 1),
    'soft_delete', 'the removal is recorded as a soft delete');
select ok((select u.updated_at > f.updated_at from public.user_interactions u, first_write f
           where u.id = f.id), 'updated_at advances on the removal');

-- Make the removal one of an earlier transaction (a test runs in one transaction, where now()
-- never moves): as the owner, with the stamping and audit triggers off for one statement (it
-- stands for the passing of time, not for a write).
reset role;
alter table public.user_interactions disable trigger user_interactions_stamp_deleted_at;
alter table public.user_interactions disable trigger user_interactions_record_event;
update public.user_interactions set deleted_at = now() - interval '1 minute'
where user_id = '40000000-0000-4000-8000-00000000000a';
alter table public.user_interactions enable trigger user_interactions_stamp_deleted_at;
alter table public.user_interactions enable trigger user_interactions_record_event;
set local role authenticated;

select is((select count(*) from public.user_interactions), 0::bigint,
    'a removed interaction is invisible to its owner');
select is((select count(*) from public.user_interactions
           where user_id = '40000000-0000-4000-8000-00000000000a'
             and grant_id = '00000000-0000-4000-8000-000000000001'), 0::bigint,
    'even when asked for by its key');
select results_eq(
    $$ with s as (update public.user_interactions set action = 'ignored'
                  where user_id = '40000000-0000-4000-8000-00000000000a' returning 1)
       select count(*) from s $$,
    $$ values (0::bigint) $$, 'an UPDATE of the owner cannot reach a removed row');

-- Recording it again revives the same row.
select results_eq(
    $$ select r.id, r.created_at, r.deleted_at, r.action from pg_temp.record('saved') r $$,
    $$ select id, created_at, null::timestamptz, 'saved'::text from first_write $$,
    'recording a removed interaction again revives it: same id, same created_at, live');
select ok((select u.updated_at > f.updated_at from public.user_interactions u, first_write f
           where u.id = f.id), 'updated_at advances on the revival');
select is((select count(*) from public.user_interactions), 1::bigint,
    'the revived interaction is visible again, and still one row');
select results_eq(
    $$ select operation, old_action, new_action from public.user_interaction_events
       order by seq desc limit 1 $$,
    $$ values ('revive'::text, 'applied'::text, 'saved'::text) $$,
    'the revival is one event: a revive from the last action to the new one');
select is((select count(*) from public.user_interaction_events), 4::bigint,
    'A has four events: insert, update, soft delete, revive');

-- Removal stamps the transaction time, whatever the client sends.
update public.user_interactions set deleted_at = '2000-01-01' where user_id = '40000000-0000-4000-8000-00000000000a';
select is(
    (select deleted_at from public.user_interactions where user_id = '40000000-0000-4000-8000-00000000000a'),
    now(), 'the removal stamps the transaction time, not the client''s value');
-- An upsert that does nothing on its conflict fires no row trigger after it; the pair it
-- noted is still forgotten when the statement ends.
insert into public.user_interactions (user_id, grant_id, action)
values ('40000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001', 'saved')
on conflict (user_id, grant_id) do nothing;
select is(current_setting('supabase_rest.writing_pair', true), '',
    'an upsert that did nothing leaves no pair noted for the rest of the transaction');

-- As the owner of the table, with the first removal made earlier: deleted_at is the database's.
reset role;
alter table public.user_interactions disable trigger user_interactions_stamp_deleted_at;
alter table public.user_interactions disable trigger user_interactions_record_event;
update public.user_interactions set deleted_at = now() - interval '2 minutes'
where user_id = '40000000-0000-4000-8000-00000000000a';
alter table public.user_interactions enable trigger user_interactions_stamp_deleted_at;
alter table public.user_interactions enable trigger user_interactions_record_event;
update public.user_interactions set deleted_at = '2001-01-01' where user_id = '40000000-0000-4000-8000-00000000000a';
select is(
    (select deleted_at from public.user_interactions where user_id = '40000000-0000-4000-8000-00000000000a'),
    now() - interval '2 minutes', 'a second removal keeps the first removal''s time');
update public.user_interactions set deleted_at = null where user_id = '40000000-0000-4000-8000-00000000000a';
select isnt(
    (select deleted_at from public.user_interactions where user_id = '40000000-0000-4000-8000-00000000000a'),
    null, 'clearing deleted_at by hand does not revive: only recording the interaction does');
select throws_ok(
    $$ update public.user_interactions set grant_id = '00000000-0000-4000-8000-000000000002'
       where user_id = '40000000-0000-4000-8000-00000000000a' $$,
    '23514', null, 'an interaction cannot move to another (user, grant) pair');
insert into public.user_interactions (user_id, grant_id, action, deleted_at)
values ('40000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000002', 'saved', '2000-01-01');
select is(
    (select deleted_at from public.user_interactions
     where user_id = '40000000-0000-4000-8000-00000000000a'
       and grant_id = '00000000-0000-4000-8000-000000000002'),
    null, 'an inserted row is live, whatever deleted_at it was sent with');
set local role authenticated;

-- ==== As user B ================================================================================
select set_config('request.jwt.claims',
    '{"sub":"40000000-0000-4000-8000-00000000000b","role":"authenticated"}', true);
select results_eq($$ select operation, changed_by from public.user_interaction_events $$,
    $$ values ('insert'::text, null::uuid) $$,
    'B sees only their own event, written by the service role (changed_by null)');

-- ==== As the service role ======================================================================
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is((select count(*) from public.user_interaction_events), 9::bigint,
    'service_role reads every event (A: 8, B: 1)');
select throws_ok(
    $$ update public.user_interaction_events set operation = 'update' $$,
    '42501', null, 'service_role cannot change an event');
select results_eq(
    $$ with d as (delete from public.user_interactions
                  where user_id = '40000000-0000-4000-8000-00000000000b' returning 1)
       select count(*) from d $$,
    $$ values (1::bigint) $$, 'service_role hard-deletes an interaction');
select results_eq(
    $$ select operation, old_action, new_action, changed_by from public.user_interaction_events
       where user_id = '40000000-0000-4000-8000-00000000000b' order by seq desc limit 1 $$,
    $$ values ('delete'::text, 'saved'::text, null::text, null::uuid) $$,
    'the hard delete is recorded, and its event outlives the row');

-- Account erasure: deleting the user removes their interactions and their events, without
-- recording events for a user who no longer exists.
reset role;
delete from auth.users where id = '40000000-0000-4000-8000-00000000000a';
select is((select count(*) from public.user_interactions
           where user_id = '40000000-0000-4000-8000-00000000000a'), 0::bigint,
    'erasing A removes A''s interactions');
select is((select count(*) from public.user_interaction_events
           where user_id = '40000000-0000-4000-8000-00000000000a'), 0::bigint,
    'erasing A removes A''s events');
select is((select count(*) from public.user_interaction_events
           where user_id = '40000000-0000-4000-8000-00000000000b'), 2::bigint,
    'B''s events are untouched');
select * from finish();
rollback;
