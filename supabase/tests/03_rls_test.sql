-- Row-level security and grants, exercised the way PostgREST runs a request: it switches to the
-- JWT's role and exposes the claims as request.jwt.claims, both local to the transaction.
--   set local role authenticated;
--   select set_config('request.jwt.claims', '{"sub":"<uuid>","role":"authenticated"}', true);
-- Runs with `supabase test db`, or locally: scripts/pgtap.sh
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(30);

-- Users A and B (as the superuser, like Supabase Auth would).
insert into auth.users (id, email) values
    ('30000000-0000-4000-8000-00000000000a', 'rls-a@example.test'),
    ('30000000-0000-4000-8000-00000000000b', 'rls-b@example.test');

-- B already has an interaction with grant 1.
insert into public.user_interactions (user_id, grant_id, action, notes)
values ('30000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-000000000001', 'saved', 'b-note');

-- ==== As user A ================================================================================
set local role authenticated;
select set_config('request.jwt.claims',
    '{"sub":"30000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated"}', true);

select is(auth.uid(), '30000000-0000-4000-8000-00000000000a'::uuid,
    'auth.uid() reads the sub claim of request.jwt.claims');

-- The app's upsert: creates...
select results_eq(
    $$ insert into public.user_interactions (user_id, grant_id, action, notes)
       values ('30000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001', 'saved', 'mine')
       on conflict (user_id, grant_id) do update
          set user_id = excluded.user_id, grant_id = excluded.grant_id,
              action = excluded.action, notes = excluded.notes
       returning user_id, action, notes $$,
    $$ values ('30000000-0000-4000-8000-00000000000a'::uuid, 'saved'::text, 'mine'::text) $$,
    'A upserts a new interaction and gets it back (INSERT + SELECT policies)');
-- ...and updates (UPDATE policy: USING admits the existing row, WITH CHECK the result).
select results_eq(
    $$ insert into public.user_interactions (user_id, grant_id, action, notes)
       values ('30000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001', 'applied', null)
       on conflict (user_id, grant_id) do update
          set user_id = excluded.user_id, grant_id = excluded.grant_id,
              action = excluded.action, notes = excluded.notes
       returning user_id, action, notes $$,
    $$ values ('30000000-0000-4000-8000-00000000000a'::uuid, 'applied'::text, null::text) $$,
    'A upserts the same pair again: the row is updated, not duplicated');
-- The exact statement shape PostgREST v12/v13 generates for
-- POST /user_interactions?on_conflict=user_id,grant_id&select=*  (merge-duplicates, representation).
select results_eq(
    $$ with pgrst_source as (
         insert into "public"."user_interactions"("user_id", "grant_id", "action")
         select pgrst_body."user_id", pgrst_body."grant_id", pgrst_body."action"
           from (select '{"user_id":"30000000-0000-4000-8000-00000000000a","grant_id":"00000000-0000-4000-8000-000000000001","action":"ignored"}'::json as json_data) pgrst_payload,
                lateral (select "user_id", "grant_id", "action"
                           from json_to_record(pgrst_payload.json_data)
                             as _("user_id" uuid, "grant_id" uuid, "action" text)) pgrst_body
         on conflict("user_id", "grant_id") do update
            set "user_id" = excluded."user_id", "grant_id" = excluded."grant_id",
                "action" = excluded."action"
         returning "public"."user_interactions".*
       )
       select count(*)::int, max(action) from pgrst_source $$,
    $$ values (1, 'ignored'::text) $$,
    'the statement PostgREST generates for the upsert succeeds as the owner');
select is(
    (select count(*)::int from public.user_interactions),
    1,
    'A sees exactly one row: their own');

select throws_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('30000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-000000000002', 'saved') $$,
    '42501',
    'new row violates row-level security policy for table "user_interactions"',
    'A cannot insert a row for B');
select throws_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('30000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-000000000001', 'ignored')
       on conflict (user_id, grant_id) do update set action = excluded.action $$,
    '42501', null,
    'A cannot upsert over B''s row');
select lives_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('30000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001', 'saved')
       on conflict (user_id, grant_id) do nothing $$,
    'ignore-duplicates (do nothing) upsert on an existing own row is not an error');
select is(
    (select count(*)::int from public.user_interactions
      where user_id = '30000000-0000-4000-8000-00000000000b'),
    0,
    'A cannot see B''s rows');
select is_empty(
    $$ update public.user_interactions set action = 'ignored', notes = 'hijacked'
        where user_id = '30000000-0000-4000-8000-00000000000b' returning id $$,
    'A''s update of B''s rows affects 0 rows');
select is_empty(
    $$ delete from public.user_interactions
        where user_id = '30000000-0000-4000-8000-00000000000b' returning id $$,
    'A''s delete of B''s rows affects 0 rows');
select throws_ok(
    $$ update public.user_interactions set user_id = '30000000-0000-4000-8000-00000000000b'
        where user_id = '30000000-0000-4000-8000-00000000000a' $$,
    '42501',
    'new row violates row-level security policy for table "user_interactions"',
    'A cannot hand their row to B (UPDATE ... WITH CHECK)');
select throws_ok(
    $$ insert into public.grants (title) values ('sneaky') $$,
    '42501', 'permission denied for table grants',
    'authenticated cannot insert grants');
select throws_ok(
    $$ update public.grants set title = 'renamed' $$,
    '42501', 'permission denied for table grants',
    'authenticated cannot update grants');
select throws_ok(
    $$ truncate public.user_interactions $$,
    '42501', 'permission denied for table user_interactions',
    'authenticated cannot TRUNCATE (which would bypass RLS)');
select ok((select count(*) >= 5 from public.grants), 'authenticated reads grants');

-- ==== As the owner: B's row is exactly as before A's attempts ================================
reset role;
select results_eq(
    $$ select action, notes, updated_at = created_at from public.user_interactions
        where user_id = '30000000-0000-4000-8000-00000000000b' $$,
    $$ values ('saved'::text, 'b-note'::text, true) $$,
    'B''s row is unchanged (checked as the table owner, past RLS)');

-- ==== As user B ================================================================================
set local role authenticated;
select set_config('request.jwt.claims',
    '{"sub":"30000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated"}', true);

select results_eq(
    $$ select action, notes from public.user_interactions $$,
    $$ values ('saved'::text, 'b-note'::text) $$,
    'B sees only their own row');
select results_eq(
    $$ delete from public.user_interactions
        where grant_id = '00000000-0000-4000-8000-000000000001' returning user_id $$,
    $$ values ('30000000-0000-4000-8000-00000000000b'::uuid) $$,
    'B''s delete on grant 1 removes only B''s row');

-- ==== Without a user id ========================================================================
select set_config('request.jwt.claims', '{"role":"authenticated"}', true);
select is((select count(*)::int from public.user_interactions), 0,
    'authenticated without a sub sees nothing');
select throws_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('30000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000003', 'saved') $$,
    '42501', null,
    'authenticated without a sub cannot insert');

-- ==== As anon ==================================================================================
reset role;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);

select throws_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('30000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000002', 'saved') $$,
    '42501', 'permission denied for table user_interactions',
    'anon cannot insert interactions');
select throws_ok(
    $$ select * from public.user_interactions $$,
    '42501', 'permission denied for table user_interactions',
    'anon cannot read interactions');
select ok((select count(*) >= 5 from public.grants), 'anon reads grants');
select throws_ok(
    $$ insert into public.grants (title) values ('sneaky') $$,
    '42501', 'permission denied for table grants',
    'anon cannot insert grants');
select throws_ok(
    $$ delete from public.grants $$,
    '42501', 'permission denied for table grants',
    'anon cannot delete grants');

-- ==== As service_role (BYPASSRLS) ==============================================================
reset role;
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);

select results_eq(
    $$ select user_id, action from public.user_interactions
        where user_id in ('30000000-0000-4000-8000-00000000000a', '30000000-0000-4000-8000-00000000000b')
        order by user_id $$,
    $$ values ('30000000-0000-4000-8000-00000000000a'::uuid, 'ignored'::text) $$,
    'service_role sees every user''s rows (A''s; B deleted theirs)');
select lives_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('30000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-000000000002', 'applied') $$,
    'service_role writes rows for any user');
select is(
    (select count(*)::int from public.user_interactions
      where user_id in ('30000000-0000-4000-8000-00000000000a', '30000000-0000-4000-8000-00000000000b')),
    2,
    'service_role sees both users'' rows');
select lives_ok(
    $$ insert into public.grants (id, title) values ('30000000-0000-4000-8000-0000000000ff', 'by service role') $$,
    'service_role writes grants');

select * from finish();
rollback;
