// Drives `cityts serve` with InfluxDB's official JavaScript clients, the
// way an application uses them: the v1 client `influx` (create a
// database, list databases, write points, query them back, ping) and the
// v2 client `@influxdata/influxdb-client` (write through /api/v2/write
// with a Token; read through the v1-compatible /query endpoint, which
// InfluxDB 2.x also serves, since cityts speaks InfluxQL and not Flux).
// Authentication is on, as in production.
//
// Usage: CITYTS=/path/to/cityts node --test clients.test.mjs
// (npm ci first; run.sh does both).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Influx from 'influx';
import { InfluxDB, Point } from '@influxdata/influxdb-client';

const CITYTS = process.env.CITYTS;
const dir = mkdtempSync(join(process.env.CTS_TEST_TMPDIR || tmpdir(), 'clients-'));
const sha = (s) => createHash('sha256').update(s).digest('hex');
let server;
let port;
let exitCode = null;

before(async () => {
  assert.ok(CITYTS, 'set CITYTS to the cityts binary');
  const users = join(dir, 'users');
  writeFileSync(users, `admin:${sha('s3cret')}:admin\ngateway:${sha('gw-pass')}:write\n`, {
    mode: 0o600,
  });
  server = spawn(CITYTS, ['serve', '--data', join(dir, 'data'), '--listen', '127.0.0.1:0',
    '--auth', users], { stdio: ['ignore', 'ignore', 'pipe'] });
  server.on('exit', (code) => { exitCode = code; });
  port = await new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`no listen line: ${log}`)), 30000);
    server.stderr.on('data', (d) => {
      log += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
});

after(async () => {
  if (server && exitCode === null) {
    const done = new Promise((resolve) => server.on('exit', resolve));
    server.kill('SIGTERM');
    await done;
  }
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 10, 2); // 2026-11-02T00:00:00Z

test('v1 client: ping reports InfluxDB 1.x', async () => {
  const influx = new Influx.InfluxDB({ host: '127.0.0.1', port });
  const [p] = await influx.ping(2000);
  assert.equal(p.online, true);
  assert.equal(p.version, '1.8.10');
});

test('v1 client: create, list, write, query', async () => {
  const influx = new Influx.InfluxDB({ host: '127.0.0.1', port, database: 'city',
    username: 'admin', password: 's3cret' });
  await influx.createDatabase('city');
  assert.ok((await influx.getDatabaseNames()).includes('city'));
  await influx.writePoints([
    { measurement: 'air', tags: { city: 'lisbon', sensor: 'a1' }, fields: { pm25: 12.5, pm10: 20 },
      timestamp: new Date(T0) },
    { measurement: 'air', tags: { city: 'lisbon', sensor: 'a1' }, fields: { pm25: 13.5, pm10: 21 },
      timestamp: new Date(T0 + 60000) },
    { measurement: 'air', tags: { city: 'milan', sensor: 'm1' }, fields: { pm25: 30, pm10: 41 },
      timestamp: new Date(T0) },
  ], { precision: 'ms' });
  const rows = await influx.query(`SELECT pm25 FROM air WHERE city = 'lisbon' ORDER BY time`);
  assert.deepEqual(rows.map((r) => r.pm25), [12.5, 13.5]);
  assert.equal(rows[0].time.getTime(), T0);
  const agg = await influx.query('SELECT mean(pm25) FROM air GROUP BY city');
  const byCity = Object.fromEntries(agg.map((r) => [r.city, r.mean]));
  assert.deepEqual(byCity, { lisbon: 13, milan: 30 });
});

test('v1 client: a writer cannot query, a bad password is refused', async () => {
  const writer = new Influx.InfluxDB({ host: '127.0.0.1', port, database: 'city',
    username: 'gateway', password: 'gw-pass' });
  await writer.writePoints([{ measurement: 'air', tags: { city: 'burgas', sensor: 'b1' },
    fields: { pm25: 7 }, timestamp: new Date(T0) }], { precision: 'ms' });
  await assert.rejects(writer.query('SELECT * FROM air'), /not authorized/);
  const wrong = new Influx.InfluxDB({ host: '127.0.0.1', port, database: 'city',
    username: 'admin', password: 'nope' });
  await assert.rejects(wrong.query('SELECT * FROM air'), /authorization failed/);
});

test('v1 client: a partial write reports the bad point', async () => {
  const influx = new Influx.InfluxDB({ host: '127.0.0.1', port, database: 'city',
    username: 'admin', password: 's3cret' });
  await assert.rejects(influx.writePoints([
    { measurement: 'air', tags: { city: 'london', sensor: 'l1' }, fields: { pm25: 'high' },
      timestamp: new Date(T0) },
  ], { precision: 'ms' }), /field type conflict/);
});

test('v2 client: write with a Token, read through /query', async () => {
  const db = new InfluxDB({ url: `http://127.0.0.1:${port}`, token: 'gateway:gw-pass' });
  const w = db.getWriteApi('any-org', 'city/autogen', 'ns');
  for (let i = 0; i < 100; i++) {
    w.writePoint(new Point('traffic').tag('city', 'warsaw').tag('sensor', 't1')
      .intField('count', i).floatField('avg_speed', 30 + i / 10)
      .timestamp(BigInt(T0) * 1000000n + BigInt(i) * 60000000000n));
  }
  await w.close(); // flushes; rejects on any non-2xx

  const admin = new InfluxDB({ url: `http://127.0.0.1:${port}`, token: 'admin:s3cret' });
  const q = encodeURIComponent('SELECT count(count), sum(count) FROM traffic');
  const res = await admin.transport.request(`/query?db=city&q=${q}`, null, { method: 'GET' });
  const s = res.results[0].series[0];
  assert.deepEqual(s.columns, ['time', 'count', 'sum']);
  assert.deepEqual(s.values[0].slice(1), [100, 4950]);
});

test('v2 client: a wrong token is refused with 401', async () => {
  const db = new InfluxDB({ url: `http://127.0.0.1:${port}`, token: 'gateway:wrong' });
  const w = db.getWriteApi('o', 'city', 'ns', { maxRetries: 0 });
  w.writePoint(new Point('traffic').tag('city', 'x').intField('count', 1));
  await assert.rejects(w.close(), (e) => e.statusCode === 401);
});

test('server stops cleanly on SIGTERM', async () => {
  const done = new Promise((resolve) => server.on('exit', resolve));
  server.kill('SIGTERM');
  await done;
  assert.equal(exitCode, 0);
});
