-- The set_updated_at trigger: created_at never changes after insert, updated_at advances.
-- Runs with `supabase test db`, or locally: scripts/pgtap.sh
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(15);

select trigger_is('public', 'user_interactions', 'user_interactions_set_updated_at',
    'public', 'set_updated_at', 'user_interactions has the set_updated_at trigger');
select ok(
    (select tgtype & 2 = 2          -- BEFORE
        and tgtype & 1 = 1          -- FOR EACH ROW
        and tgtype & 16 = 16        -- UPDATE
        and tgtype & 4 = 4          -- INSERT
       from pg_trigger
      where tgrelid = 'public.user_interactions'::regclass
        and tgname = 'user_interactions_set_updated_at'),
    'the trigger fires BEFORE INSERT OR UPDATE, FOR EACH ROW');

insert into auth.users (id, email)
values ('20000000-0000-4000-8000-00000000000a', 'ts-a@example.test');

-- A row with a fresh default timestamp pair.
insert into public.user_interactions (user_id, grant_id, action)
values ('20000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001', 'saved');

select ok(
    (select updated_at = created_at and created_at = now()
       from public.user_interactions
      where user_id = '20000000-0000-4000-8000-00000000000a'
        and grant_id = '00000000-0000-4000-8000-000000000001'),
    'on insert, created_at and updated_at both default to now()');

-- A row with known, old timestamps, so every later change is visible.
insert into public.user_interactions (user_id, grant_id, action, created_at, updated_at)
values ('20000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000002', 'saved',
        '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00');

update public.user_interactions
   set action = 'applied'
 where user_id = '20000000-0000-4000-8000-00000000000a'
   and grant_id = '00000000-0000-4000-8000-000000000002';

select is(
    (select created_at from public.user_interactions
      where user_id = '20000000-0000-4000-8000-00000000000a'
        and grant_id = '00000000-0000-4000-8000-000000000002'),
    '2024-01-01 00:00:00+00'::timestamptz,
    'an update keeps created_at');
-- clock_timestamp(), not now(): later than the start of this very transaction.
select ok(
    (select updated_at > now()
       from public.user_interactions
      where user_id = '20000000-0000-4000-8000-00000000000a'
        and grant_id = '00000000-0000-4000-8000-000000000002'),
    'an update sets updated_at to the time of the write (after the transaction started)');

create temp table before_second_write on commit drop as
select updated_at
  from public.user_interactions
 where user_id = '20000000-0000-4000-8000-00000000000a'
   and grant_id = '00000000-0000-4000-8000-000000000002';

update public.user_interactions
   set action = 'ignored',
       created_at = '2000-01-01 00:00:00+00',
       updated_at = '1999-01-01 00:00:00+00'
 where user_id = '20000000-0000-4000-8000-00000000000a'
   and grant_id = '00000000-0000-4000-8000-000000000002';

select is(
    (select created_at from public.user_interactions
      where user_id = '20000000-0000-4000-8000-00000000000a'
        and grant_id = '00000000-0000-4000-8000-000000000002'),
    '2024-01-01 00:00:00+00'::timestamptz,
    'an update that sets created_at explicitly cannot change it');
select ok(
    (select u.updated_at > b.updated_at
       from public.user_interactions u, before_second_write b
      where u.user_id = '20000000-0000-4000-8000-00000000000a'
        and u.grant_id = '00000000-0000-4000-8000-000000000002'),
    'updated_at advances on a second write in the same transaction, and cannot be set backwards');

-- The upsert PostgREST runs when a client sends created_at: every sent column is overwritten
-- from EXCLUDED on conflict. created_at must survive it.
select results_eq(
    $$ insert into public.user_interactions (user_id, grant_id, action, created_at)
       values ('20000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000002',
               'saved', '2030-12-31 00:00:00+00')
       on conflict (user_id, grant_id) do update
          set user_id = excluded.user_id, grant_id = excluded.grant_id,
              action = excluded.action, created_at = excluded.created_at
       returning action, created_at $$,
    $$ values ('saved'::text, '2024-01-01 00:00:00+00'::timestamptz) $$,
    'an upsert that overwrites created_at from EXCLUDED keeps the original created_at');
select ok(
    (select updated_at >= created_at
       from public.user_interactions
      where user_id = '20000000-0000-4000-8000-00000000000a'
        and grant_id = '00000000-0000-4000-8000-000000000002'),
    'updated_at >= created_at after the upsert');
select is(
    (select count(*)::int from public.user_interactions
      where user_id = '20000000-0000-4000-8000-00000000000a'
        and grant_id = '00000000-0000-4000-8000-000000000002'),
    1,
    'the upsert updated the row in place');

-- The upsert as the app sends it (only user_id, grant_id, action, notes) on a fresh pair.
select results_eq(
    $$ insert into public.user_interactions (user_id, grant_id, action, notes)
       values ('20000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000003',
               'saved', 'first')
       on conflict (user_id, grant_id) do update
          set user_id = excluded.user_id, grant_id = excluded.grant_id,
              action = excluded.action, notes = excluded.notes
       returning action, notes, created_at = now(), updated_at = created_at $$,
    $$ values ('saved'::text, 'first'::text, true, true) $$,
    'upsert on a fresh pair inserts with created_at = updated_at = now()');
select results_eq(
    $$ insert into public.user_interactions (user_id, grant_id, action, notes)
       values ('20000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000003',
               'applied', null)
       on conflict (user_id, grant_id) do update
          set user_id = excluded.user_id, grant_id = excluded.grant_id,
              action = excluded.action, notes = excluded.notes
       returning action, notes, created_at = now(), updated_at > created_at $$,
    $$ values ('applied'::text, null::text, true, true) $$,
    'upsert on an existing pair updates action and notes, keeps created_at, advances updated_at');

-- Hand-written timestamps cannot break updated_at >= created_at: raised on insert...
select results_eq(
    $$ insert into public.user_interactions (user_id, grant_id, action, created_at, updated_at)
       values ('20000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000004',
               'saved', '2024-02-01 00:00:00+00', '2024-01-01 00:00:00+00')
       returning created_at, updated_at $$,
    $$ values ('2024-02-01 00:00:00+00'::timestamptz, '2024-02-01 00:00:00+00'::timestamptz) $$,
    'an insert with updated_at before created_at gets updated_at = created_at');
-- ...and the CHECK that states the invariant is there as a backstop.
select col_has_check('public', 'user_interactions', array['updated_at', 'created_at'],
    'user_interactions has CHECK (updated_at >= created_at)');
select throws_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action, notes)
       values ('20000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000003',
               'archived', null)
       on conflict (user_id, grant_id) do update set action = excluded.action $$,
    '23514', null,
    'the action CHECK also guards the update branch of an upsert');

select * from finish();
rollback;
