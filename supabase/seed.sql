-- Seed data, loaded by `supabase db reset` (and by scripts/with-postgres.sh) after the migrations.
--
-- The grants have FIXED ids so tests and examples can name them:
--   00000000-0000-4000-8000-000000000001 .. 00000000-0000-4000-8000-000000000005
-- (valid version-4 UUIDs: version nibble 4, variant nibble 8). No users are seeded: auth.users
-- belongs to Supabase Auth; tests create their own users.
--
-- Re-runnable: existing ids are left as they are.

insert into public.grants (id, title, funder, amount, deadline, status)
values
    ('00000000-0000-4000-8000-000000000001',
     'Community Water Resilience Fund', 'Rivers Trust', 25000, '2030-03-31', 'open'),
    ('00000000-0000-4000-8000-000000000002',
     'Open Source Infrastructure Grant', 'Digital Commons Foundation', 50000, '2030-06-30', 'open'),
    ('00000000-0000-4000-8000-000000000003',
     'Rural Broadband Pilot', 'Regional Development Agency', 120000.50, '2030-09-15', 'open'),
    -- No amount or deadline: rolling, amount decided per application.
    ('00000000-0000-4000-8000-000000000004',
     'Arts in Schools Microgrant', null, null, null, 'open'),
    -- A closed grant, for filters on status.
    ('00000000-0000-4000-8000-000000000005',
     'Urban Tree Canopy Program', 'City Parks Department', 10000, '2020-01-31', 'closed')
on conflict (id) do nothing;
