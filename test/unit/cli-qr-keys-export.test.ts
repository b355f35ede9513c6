// `curt qr` (a link's QR code to a file or standard output), `curt export --json` (NDJSON, not CSV),
// and `curt keys create` printing the id that `curt keys revoke` takes. A fake fetch stands in for the
// server; the command's own rules are what is tested.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand, UsageError } from '../../src/cli/args.ts';
import { runClientCommand, type ClientCommand } from '../../src/cli/commands.ts';
import { createCurtClient } from '../../src/client/curt-client.ts';

const usage = (argv: string[], message: RegExp) =>
  assert.throws(() => parseCommand(argv), (err: unknown) => err instanceof UsageError && message.test(err.message) && err.verb === argv[0], argv.join(' '));

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

/** A client whose requests are recorded; GET .../qr answers PNG bytes, anything else `json`. */
function fakeServer(json: unknown = {}) {
  const asked: string[] = [];
  const client = createCurtClient({
    baseUrl: 'http://cu.rt',
    fetch: async (input) => {
      const url = new URL(input instanceof Request ? input.url : input instanceof URL ? input.href : input);
      asked.push(url.pathname + url.search);
      if (url.pathname.endsWith('/qr')) return new Response(PNG, { headers: { 'content-type': url.searchParams.get('format') === 'png' ? 'image/png' : 'image/svg+xml' } });
      return new Response(typeof json === 'string' ? json : JSON.stringify(json), { headers: { 'content-type': typeof json === 'string' ? 'application/x-ndjson' : 'application/json' } });
    },
  });
  return { client, asked };
}

test('qr: the format from --format or the file name (else SVG); --size is a PNG width of 64..2048; --json needs --output', () => {
  assert.deepEqual(parseCommand(['qr', 'launch']), { verb: 'qr', code: 'launch', format: 'svg', client: { json: false } });
  assert.deepEqual(parseCommand(['qr', 'launch', '-o', 'Launch.PNG', '--size', '512']), { verb: 'qr', code: 'launch', format: 'png', size: 512, output: 'Launch.PNG', client: { json: false } });
  assert.deepEqual(parseCommand(['qr', 'launch', '--format', 'png', '--output', 'qr.img']), { verb: 'qr', code: 'launch', format: 'png', output: 'qr.img', client: { json: false } });
  usage(['qr', 'launch', '--format', 'gif'], /^--format must be svg or png \(got "gif"\)$/);
  usage(['qr', 'launch', '--size', '512'], /^--size is the width of a PNG: give --format png too/);
  // Where the SVG was asked for, by the file's name or --format, "give --format png" would clash with it.
  usage(['qr', 'q3', '-o', 'q3.svg', '--size', '300'], /^--size is the width of a PNG, and the file name q3\.svg says SVG \(an SVG scales\): for a PNG, give -o q3\.png --size 300$/);
  usage(['qr', 'q3', '-o', 'my qr.SVG', '--size', '300'], /give -o 'my qr\.png' --size 300$/);
  usage(['qr', 'q3', '--format', 'svg', '--size', '300'], /^--size is the width of a PNG, and --format svg asks for an SVG \(an SVG scales\): give --format png, or leave out --size$/);
  usage(['qr', 'launch', '--format', 'png', '--size', '10'], /^--size must be a whole number from 64 to 2048 \(got "10"\)$/);
  usage(['qr', 'launch', '--format', 'png', '--size', '4096'], /^--size must be a whole number from 64 to 2048/);
  usage(['qr', 'launch', '--json'], /^--json needs --output FILE/);
  usage(['qr'], /^qr needs <code>$/);
  // The file's name and --format must agree; `-o -` is standard output.
  usage(['qr', 'launch', '--format', 'svg', '-o', 'qr.png'], /^--format svg and a file named \.png disagree: give one of them$/);
  usage(['qr', 'launch', '--format', 'png', '-o', 'qr.SVG'], /^--format png and a file named \.svg disagree/);
  assert.deepEqual(parseCommand(['qr', 'launch', '-o', '-']), { verb: 'qr', code: 'launch', format: 'svg', client: { json: false } });
});

test('qr writes the image to standard output, refuses a PNG to a terminal before asking, and saves to --output', async () => {
  const { client, asked } = fakeServer();
  const written: Uint8Array[] = [];
  const printed: string[] = [];
  const io = { writeBytes: async (bytes: Uint8Array) => void written.push(bytes), stdoutIsTerminal: false };
  const run = (argv: string[], more: Partial<Parameters<typeof runClientCommand>[4]> = {}) =>
    runClientCommand(parseCommand(argv) as ClientCommand, client, (text) => printed.push(text), Date.now, { ...io, ...more });

  assert.equal(await run(['qr', 'a/b', '--format', 'png', '--size', '300']), 0);
  assert.deepEqual(asked, ['/urls/a%2Fb/qr?format=png&size=300']);
  assert.deepEqual(written, [PNG]);
  assert.deepEqual(printed, [], 'the image alone goes to standard output');

  asked.length = 0;
  await assert.rejects(run(['qr', 'launch', '--format', 'png'], { stdoutIsTerminal: true }), (err: unknown) => err instanceof UsageError && /^a PNG is not for a terminal: give --output FILE/.test(err.message));
  assert.deepEqual(asked, [], 'refused before any request');
  // An SVG is text: a terminal may have it.
  assert.equal(await run(['qr', 'launch'], { stdoutIsTerminal: true }), 0);

  const saved = new Map<string, Uint8Array>();
  assert.equal(await run(['qr', 'launch', '-o', 'launch.png'], { saveFile: async (path, bytes) => void saved.set(path, bytes) }), 0);
  assert.deepEqual(saved.get('launch.png'), PNG);
  assert.equal(printed.at(-1), "Wrote the QR code of launch (PNG, the server's default width, 11 bytes) to launch.png.");
  assert.equal(await run(['qr', 'launch', '-o', 'launch.svg', '--json'], { saveFile: async () => undefined }), 0);
  assert.deepEqual(JSON.parse(printed.at(-1) ?? ''), { short_code: 'launch', format: 'svg', file: 'launch.svg', bytes: 11 });

  const cannot = Object.assign(new Error('EACCES: permission denied, open'), { code: 'EACCES' });
  await assert.rejects(run(['qr', 'launch', '-o', '/root/qr.png'], { saveFile: async () => Promise.reject(cannot) }), (err: unknown) => err instanceof UsageError && err.message === 'cannot write /root/qr.png: permission denied');
});

test('export --json writes NDJSON, as --json means JSON on every verb; with --format csv it is a usage error', async () => {
  assert.deepEqual(parseCommand(['export', '--json']), { verb: 'export', format: 'ndjson', client: { json: true } });
  assert.deepEqual(parseCommand(['export']), { verb: 'export', format: 'csv', client: { json: false } });
  usage(['export', '--json', '--format', 'csv'], /^--json writes NDJSON \(a JSON object a line\): give --json or --format csv, not both$/);
  const { client, asked } = fakeServer('{"short_code":"a"}\n');
  const chunks: string[] = [];
  assert.equal(await runClientCommand(parseCommand(['export', '--json']) as ClientCommand, client, () => undefined, Date.now, { write: async (chunk) => void chunks.push(chunk) }), 0);
  assert.deepEqual(asked, ['/urls/export?format=ndjson']);
  assert.equal(chunks.join(''), '{"short_code":"a"}\n');
});

test('keys create prints the key once with the id that keys revoke takes', async () => {
  const { client } = fakeServer({ id: 42, key: 'curt_0123456789abcdef0123456789abcdef', name: 'ci', is_admin: false, created_at: '2026-12-06T22:00:00.000Z' });
  const printed: string[] = [];
  assert.equal(await runClientCommand(parseCommand(['keys', 'create', '--name', 'ci']) as ClientCommand, client, (text) => printed.push(text)), 0);
  const out = printed.join('\n');
  assert.match(out, /^Id\s+42$/m);
  assert.match(out, /Revoke it with: curt keys revoke 42$/);
});

test('webhooks enable and disable PATCH is_active and print the endpoint, its description too', async () => {
  const hook = { id: 7, url: 'https://h.example/in', events: ['link.created'], description: 'the CRM', state: 'active', consecutive_failures: 0, created_at: '2026-12-07T10:00:00.000Z' };
  for (const [verb, expected] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    const bodies: unknown[] = [];
    const client = createCurtClient({
      baseUrl: 'http://cu.rt',
      fetch: async (input, init) => {
        const request = input instanceof Request ? input : new Request(input, init);
        bodies.push([request.method, new URL(request.url).pathname, await request.json()]);
        return new Response(JSON.stringify({ ...hook, state: expected ? 'active' : 'disabled' }), { headers: { 'content-type': 'application/json' } });
      },
    });
    const printed: string[] = [];
    assert.equal(await runClientCommand(parseCommand(['webhooks', verb, '7']) as ClientCommand, client, (text) => printed.push(text)), 0);
    assert.deepEqual(bodies, [['PATCH', '/webhooks/7', { is_active: expected }]]);
    assert.equal(printed.join('\n'), `Webhook 7: https://h.example/in\n  events: link.created\n  state:  ${expected ? 'active' : 'disabled'}\n  about:  the CRM`);
  }
});
