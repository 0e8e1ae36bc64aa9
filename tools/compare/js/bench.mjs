// supabase-js on the workload of tools/compare: node bench.mjs <server-url> <requests> <in-flight> <bulk-rows> <bulk-repeats>
// Prints one JSON line per workload: {"workload", "cpu_s", "wall_s", "requests"}.
import { createClient } from '@supabase/supabase-js';
import ws from 'ws';

const [url, requests, inFlight, bulkRows, bulkRepeats] = process.argv.slice(2);
const N = Number(requests);
const API_KEY = 'sb_publishable_0123456789abcdefghijklmnopqrstuvwxyzABCD';
const JWT = process.env.COMPARE_JWT;

const supabase = createClient(url, API_KEY, {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  global: { headers: { Authorization: `Bearer ${JWT}` } },
  // supabase-js builds a realtime client even when unused; Node < 22 has no WebSocket of its own.
  ...(globalThis.WebSocket ? {} : { realtime: { transport: ws } }),
});

const userId = '0b6a3c2e-1f4d-4e5a-8b7c-9d0e1f2a3b4c';
const grantId = (n) => `5d4c3b2a-1e0f-4a9b-8c7d-${n.toString(16).padStart(12, '0')}`;

async function upsert(n) {
  const { data, error } = await supabase
    .from('user_interactions')
    .upsert({ user_id: userId, grant_id: grantId(n), action: 'saved' }, { onConflict: 'user_id,grant_id' })
    .select()
    .single();
  if (error) throw new Error(JSON.stringify(error));
  return data;
}

async function measure(workload, count, run) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await run();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ workload, cpu_s: (cpu.user + cpu.system) / 1e6, wall_s: wall, requests: count }));
}

async function sequential(count) {
  for (let n = 0; n < count; n++) await upsert(n);
}

async function concurrent(count, width) {
  let next = 0;
  const worker = async () => {
    while (next < count) await upsert(next++);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

const rows = Array.from({ length: Number(bulkRows) }, (_, n) => ({
  user_id: userId,
  grant_id: grantId(n),
  action: ['saved', 'applied', 'ignored'][n % 3],
  ...(n % 2 === 0 ? { notes: `note ${n}` } : {}),
}));

async function bulk(repeats) {
  for (let i = 0; i < repeats; i++) {
    const { error } = await supabase.from('user_interactions').upsert(rows, { onConflict: 'user_id,grant_id' });
    if (error) throw new Error(JSON.stringify(error));
  }
}

async function bulkWithRows(repeats) {
  for (let i = 0; i < repeats; i++) {
    const { data, error } = await supabase
      .from('user_interactions')
      .upsert(rows, { onConflict: 'user_id,grant_id' })
      .select();
    if (error) throw new Error(JSON.stringify(error));
    if (data.length !== rows.length) throw new Error(`expected ${rows.length} rows, got ${data.length}`);
  }
}

// Warm up the connection pool and the JIT.
await concurrent(2000, Number(inFlight));
await measure('sequential', N, () => sequential(N));
await measure('in flight', N, () => concurrent(N, Number(inFlight)));
console.log(JSON.stringify({ workload: 'rss upserts', cpu_s: 0, wall_s: 0, requests: 0, max_rss_kib: process.resourceUsage().maxRSS }));
await measure('bulk minimal', Number(bulkRepeats), () => bulk(Number(bulkRepeats)));
await measure('bulk with representation', Number(bulkRepeats), () => bulkWithRows(Number(bulkRepeats)));
// Peak resident memory of this node process (KiB on Linux).
console.log(JSON.stringify({ workload: 'rss bulk', cpu_s: 0, wall_s: 0, requests: 0, max_rss_kib: process.resourceUsage().maxRSS }));
