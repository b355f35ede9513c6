// lazyChild (src/core/logger.ts): a request's logger is made only when it writes a line, and then
// writes what pino's own child would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, lazyChild } from '../../src/core/logger.ts';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

test('no child is made for lines below the level; a written line carries the bindings', async () => {
  const { lines, stream } = capture();
  const real = createLogger({ service: 't', level: 'info', destination: stream });
  let made = 0;
  // The parent as lazyChild sees it, counting the children made of it.
  const parent = {
    get level() {
      return real.level;
    },
    isLevelEnabled: (level: string) => real.isLevelEnabled(level),
    child: (...args: Parameters<typeof real.child>) => {
      made += 1;
      return real.child(...args);
    },
  } as unknown as typeof real;
  const log = lazyChild(parent, { request_id: 'r-1' });
  log.debug({ x: 1 }, 'not written');
  log.trace('not written either');
  assert.equal(made, 0, 'nothing written, nothing made');
  assert.equal(log.level, 'info');
  assert.equal(log.isLevelEnabled('debug'), false);
  log.warn({ code: 'x' }, 'written');
  log.info('again');
  assert.equal(made, 1, 'made once, on the first line written');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    lines.map((l) => [l.msg, l.request_id, l.level]),
    [
      ['written', 'r-1', 'warn'],
      ['again', 'r-1', 'info'],
    ],
  );
  log.level = 'debug';
  log.debug('now written');
  assert.equal(log.level, 'debug');
  assert.equal(log.bindings().request_id, 'r-1');
  const grandchild = log.child({ step: 2 });
  grandchild.info('nested');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(lines.slice(2).map((l) => [l.msg, l.request_id, l.step]), [
    ['now written', 'r-1', undefined],
    ['nested', 'r-1', 2],
  ]);
});
