// What every CodeSource must do, whether the codes come from a KGS over HTTP (the URL service's
// client, src/kgs-client/) or from a key pool in the same process (`curt serve`,
// src/kgs/local-code-source.ts): codes unique across takes and across sources sharing a pool, alias
// claims, returns with and without the cool-down, close() giving the buffer back, and a 503 when no
// code can be had. Run by test/integration/code-source-contract.test.ts once per adapter.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AppError, Conflict, InvalidRequest } from '../../src/core/errors.ts';
import { isReservedCode } from '../../src/core/reserved.ts';
import type { CodeSource } from '../../src/kgs-client/types.ts';
import type { PoolSizes } from '../../src/storage/key-store.ts';

export interface CodePoolOptions {
  length: number;
  alphabet: string;
  reuseCooldownS: number;
}

/** One key pool (a KGS, or the pool of `curt serve`) and the code sources over it. */
export interface CodeSourcePool {
  /** A new source over this pool, buffering up to `batchSize` codes: a replica's client, or `curt serve`'s own. */
  source(batchSize: number): CodeSource;
  /** What the pool holds, to see what the sources did to it. */
  sizes(): Promise<PoolSizes>;
  /** Moves the pool's clock on by `ms` and lets its upkeep release the codes whose cool-down ended. */
  advance(ms: number): Promise<void>;
  /** Closes every source still open, then the pool. */
  close(): Promise<void>;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** How a promise rejects; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>, what: string): Promise<AppError> {
  const outcome = await promise.then(
    (value: unknown) => ({ value }),
    (err: unknown) => ({ err }),
  );
  if (!('err' in outcome)) assert.fail(`${what}: resolved with ${String(outcome.value)}, expected a rejection`);
  assert.ok(outcome.err instanceof AppError, `${what}: expected an AppError, got ${String(outcome.err)}`);
  return outcome.err;
}

export function codeSourceContract(adapter: string, openPool: (options: CodePoolOptions) => Promise<CodeSourcePool>): void {
  describe(`CodeSource contract: ${adapter}`, () => {
    const open: CodeSourcePool[] = [];
    const pool = async (options: Partial<CodePoolOptions> = {}): Promise<CodeSourcePool> => {
      const opened = await openPool({ length: 6, alphabet: LETTERS, reuseCooldownS: 0, ...options });
      open.push(opened);
      return opened;
    };
    afterEach(async () => {
      for (const opened of open.splice(0)) await opened.close();
    });
    const alias = () => `a${randomBytes(3).toString('hex')}`;

    test('takes hand out codes unique across calls and across sources sharing a pool, none reserved, each of the configured shape', async () => {
      const p = await pool();
      const [one, two] = [p.source(20), p.source(20)];
      const taken = await Promise.all(Array.from({ length: 150 }, (_, i) => (i % 2 === 0 ? one : two).takeCode()));
      taken.push(...(await Promise.all(Array.from({ length: 50 }, () => one.takeCode()))));
      assert.equal(new Set(taken).size, 200, 'no code handed out twice');
      assert.ok(taken.every((code) => /^[a-z]{6}$/.test(code)), 'every code has the configured length and alphabet');
      assert.ok(!taken.some(isReservedCode), 'no reserved word is handed out');
      const err = await rejection(two.claimCode(taken[0] ?? ''), 'claiming a code that was handed out');
      assert.ok(err instanceof Conflict && err.code === 'alias_taken', `a code handed out is taken for aliases too, got ${err.code}`);
    });

    test('a pool of 8 codes hands out each of them exactly once, then a take fails with 503 instead of waiting', async () => {
      const p = await pool({ length: 3, alphabet: 'xy' });
      const source = p.source(20);
      const taken = [];
      for (let i = 0; i < 8; i++) taken.push(await source.takeCode());
      assert.deepEqual([...taken].sort(), ['xxx', 'xxy', 'xyx', 'xyy', 'yxx', 'yxy', 'yyx', 'yyy']);
      const err = await rejection(source.takeCode(), 'a take from a used-up space');
      assert.equal(err.status, 503);
    });

    test('claim: a free alias is claimed once for every source; reserved words and malformed aliases are refused', async () => {
      const p = await pool();
      const [one, two] = [p.source(5), p.source(5)];
      const before = await p.sizes();
      const wanted = alias();
      assert.equal(await one.claimCode(wanted), wanted);
      assert.equal((await p.sizes()).used, before.used + 1, 'the alias is used in the pool');
      for (const source of [one, two]) {
        const taken = await rejection(source.claimCode(wanted), 'a second claim');
        assert.ok(taken instanceof Conflict && taken.code === 'alias_taken', `a second claim is alias_taken, got ${taken.code}`);
      }
      const concurrent = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? one : two).claimCode('racing')));
      assert.equal(concurrent.filter((r) => r.status === 'fulfilled').length, 1, 'one of ten concurrent claims wins');
      const reserved = await rejection(two.claimCode('docs'), 'claiming a reserved word');
      assert.ok(reserved instanceof Conflict && reserved.code === 'alias_reserved', `a reserved word is alias_reserved, got ${reserved.code}`);
      for (const malformed of ['ab', 'eleven-char', 'a/b']) {
        const invalid = await rejection(one.claimCode(malformed), `claiming "${malformed}"`);
        assert.ok(invalid instanceof InvalidRequest && invalid.status === 400, `"${malformed}" is refused as invalid (400), got ${invalid.status} ${invalid.code}`);
      }
    });

    test('returns: a deleted link\'s code and alias come back after the cool-down, an unused code at once; each counts once', async () => {
      const p = await pool({ reuseCooldownS: 60 });
      const source = p.source(5);
      const [deleted, unused] = [await source.takeCode(), await source.takeCode()];
      const claimed = await source.claimCode(alias());
      assert.equal(await source.returnCodes([deleted, deleted, claimed, 'qqqqqq']), 2, 'only codes in use count, and each once');
      assert.equal(await source.returnCodes([deleted]), 0, 'a code already cooling down is not returned twice');
      assert.equal((await p.sizes()).coolingDown, 2);
      for (const code of [deleted, claimed]) {
        const cooling = await rejection(source.claimCode(code), `claiming ${code} while it cools down`);
        assert.equal(cooling.code, 'alias_cooling_down', 'a code cooling down cannot be claimed, and says so');
        assert.ok(typeof cooling.extensions.available_at === 'string', 'it says when the code is free again');
      }
      assert.equal(await source.returnCodes([unused], undefined, { unused: true }), 1);
      assert.equal(await source.claimCode(unused), unused, 'a code that never served a link is free again at once');

      await p.advance(61_000);
      assert.equal((await p.sizes()).coolingDown, 0);
      assert.equal(await source.claimCode(claimed), claimed, 'the alias can be claimed again after its cool-down');
      assert.equal(await source.claimCode(deleted), deleted, 'the generated code is free again after its cool-down');
    });

    test('close() gives the buffer back, free at once: the pool keeps only the codes the caller holds; takes after it fail with 503', async () => {
      const p = await pool({ reuseCooldownS: 60 });
      const before = await p.sizes();
      const source = p.source(20);
      const held = [];
      for (let i = 0; i < 5; i++) held.push(await source.takeCode());
      assert.ok(source.buffered() > 0, 'codes are buffered between takes');
      await source.close();
      assert.equal(source.buffered(), 0);
      const after = await p.sizes();
      assert.equal(after.used - before.used, held.length, 'every buffered code went back; the taken ones stay used');
      assert.equal(after.coolingDown, 0, 'buffered codes never served a link: no cool-down');
      const err = await rejection(source.takeCode(), 'a take after close');
      assert.equal(err.status, 503);
      await source.close();
      assert.equal((await p.sizes()).used, after.used, 'a second close returns nothing more');
    });
  });
}
