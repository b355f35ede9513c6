import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackHost, startupSummary } from '../../src/serve/banner.ts';

const served = {
  address: 'http://0.0.0.0:8080',
  metricsAddress: null,
  createdAdminKey: null,
  where: { database: '/srv/data/postgres (PGlite, embedded PostgreSQL)', cache: 'in this process', keyPool: 'in this process' },
};

test('the start-up summary points at the web app and the API docs on the local address', () => {
  const text = startupSummary({ served, publicBaseUrl: 'http://localhost:8080', allowAnonymous: true, host: '127.0.0.1' });
  assert.match(text, /API docs {5}http:\/\/127\.0\.0\.1:8080\/docs\n/);
  assert.match(text, /web app {6}http:\/\/127\.0\.0\.1:8080\/ {3}\(open it in a browser/);
  assert.doesNotMatch(text, /Warning/);
});

test('bound to every interface with anonymous creation on, the summary warns that anyone on the network can create links', () => {
  const text = startupSummary({ served, publicBaseUrl: 'http://localhost:8080', allowAnonymous: true, host: '0.0.0.0' });
  assert.match(text, /Warning: HOST=0\.0\.0\.0 makes this server reachable from the network/);
  assert.match(text, /anyone who can reach it can create links/);
  assert.match(text, /set PUBLIC_BASE_URL to the address people use \(short links now start with http:\/\/localhost:8080\)/);
});

test('no warning when creating links needs a key, or when only this machine can connect', () => {
  assert.doesNotMatch(startupSummary({ served, publicBaseUrl: 'https://s.example', allowAnonymous: false, host: '0.0.0.0' }), /Warning/);
  for (const host of ['127.0.0.1', '127.0.0.53', 'localhost', '::1', '[::1]']) assert.equal(isLoopbackHost(host), true, host);
  for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) assert.equal(isLoopbackHost(host), false, host);
});

test('with metrics on, the summary says where the metrics listener is (METRICS_PORT=0 picks a port only this says)', () => {
  const text = startupSummary({ served: { ...served, metricsAddress: 'http://0.0.0.0:41234' }, publicBaseUrl: 'http://localhost:8080', allowAnonymous: false, host: '0.0.0.0' });
  assert.match(text, /\n {2}API docs {5}http:\/\/127\.0\.0\.1:8080\/docs\n {2}metrics {6}http:\/\/127\.0\.0\.1:41234\/metrics {3}\(for Prometheus; METRICS_PORT=off turns it off\)\n/);
  assert.doesNotMatch(startupSummary({ served, publicBaseUrl: 'http://localhost:8080', allowAnonymous: false, host: '0.0.0.0' }), /metrics/, 'METRICS_PORT=off: no line');
});
