-- Schema, constraints, privileges and policies of supabase/migrations/.
-- Runs with `supabase test db`, or locally: scripts/pgtap.sh
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(40);

-- --- Tables and columns ------------------------------------------------------------------------
select has_table('public', 'grants', 'grants exists');
select has_table('public', 'user_interactions', 'user_interactions exists');
select columns_are('public', 'grants',
    array['id', 'title', 'funder', 'amount', 'deadline', 'status', 'created_at'],
    'grants has exactly the expected columns');
select columns_are('public', 'user_interactions',
    array['id', 'user_id', 'grant_id', 'action', 'notes', 'created_at', 'updated_at', 'deleted_at'],
    'user_interactions has exactly the expected columns');
select col_is_pk('public', 'grants', 'id', 'grants.id is the primary key');
select col_is_pk('public', 'user_interactions', 'id', 'user_interactions.id is the primary key');
select col_type_is('public', 'user_interactions', 'user_id', 'uuid', 'user_id is uuid');
select col_type_is('public', 'user_interactions', 'grant_id', 'uuid', 'grant_id is uuid');
select col_not_null('public', 'user_interactions', 'action', 'action is not null');
select col_default_is('public', 'grants', 'status', 'open', 'grants.status defaults to open');
select col_not_null('public', 'user_interactions', 'created_at', 'created_at is not null');
select col_not_null('public', 'user_interactions', 'updated_at', 'updated_at is not null');

-- --- Keys ----------------------------------------------------------------------------------------
select fk_ok('public', 'user_interactions', 'user_id', 'auth', 'users', 'id',
    'user_id references auth.users(id)');
select fk_ok('public', 'user_interactions', 'grant_id', 'public', 'grants', 'id',
    'grant_id references grants(id)');
select is(
    (select array_agg(a.attname::text order by k.ord)
       from pg_constraint c
       cross join lateral unnest(c.conkey) with ordinality as k(attnum, ord)
       join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
      where c.conrelid = 'public.user_interactions'::regclass
        and c.conname = 'user_interactions_user_id_grant_id_key'
        and c.contype = 'u'),
    array['user_id', 'grant_id'],
    'UNIQUE constraint user_interactions_user_id_grant_id_key is on exactly (user_id, grant_id)');
select has_index('public', 'user_interactions', 'user_interactions_user_id_action_idx',
    array['user_id', 'action'], 'index on (user_id, action) for listing');
select has_index('public', 'user_interactions', 'user_interactions_grant_id_idx',
    array['grant_id'], 'index on grant_id for the foreign key');

-- --- Constraints at work --------------------------------------------------------------------------
insert into auth.users (id, email)
values ('10000000-0000-4000-8000-00000000000a', 'schema-a@example.test');

select lives_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('10000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001', 'saved') $$,
    'a first interaction is inserted');
select throws_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('10000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001', 'applied') $$,
    '23505',
    'duplicate key value violates unique constraint "user_interactions_user_id_grant_id_key"',
    'a second plain insert for the same (user, grant) is a unique violation');
select lives_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('10000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001', 'applied')
       on conflict (user_id, grant_id) do update set action = excluded.action $$,
    'on conflict (user_id, grant_id) matches the constraint (no 42P10)');
select is(
    (select count(*)::int from public.user_interactions
      where user_id = '10000000-0000-4000-8000-00000000000a'),
    1,
    'still exactly one row for the pair');
select throws_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('10000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000002', 'bookmarked') $$,
    '23514',
    'new row for relation "user_interactions" violates check constraint "user_interactions_action_check"',
    'an action outside saved/applied/ignored is rejected');
select lives_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('10000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000002', 'saved'),
              ('10000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000003', 'applied'),
              ('10000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000004', 'ignored') $$,
    'saved, applied and ignored are accepted');
select throws_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('10000000-0000-4000-8000-00000000000a', '99999999-0000-4000-8000-000000000000', 'saved') $$,
    '23503', null, 'an unknown grant is a foreign key violation');
select throws_ok(
    $$ insert into public.user_interactions (user_id, grant_id, action)
       values ('99999999-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000001', 'saved') $$,
    '23503', null, 'an unknown user is a foreign key violation');
delete from auth.users where id = '10000000-0000-4000-8000-00000000000a';
select is(
    (select count(*)::int from public.user_interactions
      where user_id = '10000000-0000-4000-8000-00000000000a'),
    0,
    'deleting the user deletes their interactions (on delete cascade)');

-- --- Privileges (Supabase's default ALL grants revoked where not wanted) --------------------------
select table_privs_are('public', 'user_interactions', 'anon', array[]::text[],
    'anon has no privileges on user_interactions');
select table_privs_are('public', 'user_interactions', 'authenticated',
    array['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
    'authenticated may select/insert/update/delete user_interactions (no TRUNCATE)');
select table_privs_are('public', 'grants', 'anon', array['SELECT'], 'anon may only read grants');
select table_privs_are('public', 'grants', 'authenticated', array['SELECT'],
    'authenticated may only read grants');
select table_privs_are('public', 'user_interactions', 'service_role',
    array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'],
    'service_role has all privileges on user_interactions');
select table_privs_are('public', 'grants', 'service_role',
    array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'],
    'service_role has all privileges on grants');

-- --- Row-level security ---------------------------------------------------------------------------
select ok((select relrowsecurity from pg_class where oid = 'public.user_interactions'::regclass),
    'RLS is enabled on user_interactions');
select ok((select relrowsecurity from pg_class where oid = 'public.grants'::regclass),
    'RLS is enabled on grants');
select policies_are('public', 'user_interactions',
    array['user_interactions_select_own', 'user_interactions_insert_own',
          'user_interactions_update_own', 'user_interactions_delete_own'],
    'user_interactions has one policy per command');
select policies_are('public', 'grants', array['grants_select_all'],
    'grants has only the read policy');
select is(
    (select array_agg(p.cmd || ':' || array_to_string(p.roles, ',') order by p.cmd)
       from pg_policies p
      where p.schemaname = 'public' and p.tablename = 'user_interactions'),
    array['DELETE:authenticated', 'INSERT:authenticated', 'SELECT:authenticated', 'UPDATE:authenticated'],
    'each user_interactions policy covers one command, for authenticated only');
select ok(
    (select qual is not null and with_check is not null
       from pg_policies
      where schemaname = 'public' and tablename = 'user_interactions'
        and policyname = 'user_interactions_update_own'),
    'the update policy has both USING and WITH CHECK');

-- --- Trigger function hardening ---------------------------------------------------------------------
select is(
    (select proconfig from pg_proc where oid = 'public.set_updated_at()'::regprocedure),
    array['search_path=""'],
    'set_updated_at() runs with an empty search_path');

-- --- Seed ------------------------------------------------------------------------------------------
select set_eq(
    $$ select id from public.grants where id::text like '00000000-0000-4000-8000-00000000000_' $$,
    $$ values ('00000000-0000-4000-8000-000000000001'::uuid), ('00000000-0000-4000-8000-000000000002'),
              ('00000000-0000-4000-8000-000000000003'), ('00000000-0000-4000-8000-000000000004'),
              ('00000000-0000-4000-8000-000000000005') $$,
    'the seed grants have their fixed ids');

select * from finish();
rollback;
