// The KGS's answers are checked before anything uses them. A code becomes a link's path and a
// PostgreSQL key, so a replica with a bug, an old version or an impostor behind a wrong KGS_URL must
// not get a reserved word, a value that is no code, or one code twice into the URL service.
// Every code the URL service can store and redirect (CODE_SHAPE), not the configured CODE_LENGTH and
// CODE_ALPHABET: the URL service is not told them, and codes made before they changed are still good.
import { CODE_SHAPE, isReservedCode } from '../core/reserved.ts';

/** Why a code from the KGS was dropped (the `reason` label of kgs_client_codes_dropped_total). */
export type DropReason = 'not_a_string' | 'not_a_code' | 'reserved' | 'duplicate';

export type DropCounts = Partial<Record<DropReason, number>>;

/** An answer of the wrong shape (its message fits "200 with ..."): the attempt counts as no answer. */
export class UnusableAnswer extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnusableAnswer';
  }
}

/** `held`: codes the client has already (its buffer); the KGS handing one out again is a duplicate. */
export function checkCodes(body: unknown, held: Iterable<string>): { usable: string[]; dropped: DropCounts } {
  const codes = fieldOf(body, 'codes');
  if (!Array.isArray(codes)) throw new UnusableAnswer('an answer to GET /codes that is not {"codes": [...]}');
  const usable: string[] = [];
  const seen = new Set(held);
  const dropped: DropCounts = {};
  for (const code of codes as unknown[]) {
    const reason = dropReason(code, seen);
    if (reason !== undefined) {
      dropped[reason] = (dropped[reason] ?? 0) + 1;
      continue;
    }
    seen.add(code as string);
    usable.push(code as string);
  }
  return { usable, dropped };
}

function dropReason(code: unknown, seen: ReadonlySet<string>): DropReason | undefined {
  if (typeof code !== 'string') return 'not_a_string';
  if (!CODE_SHAPE.test(code)) return 'not_a_code';
  if (isReservedCode(code)) return 'reserved';
  if (seen.has(code)) return 'duplicate';
  return undefined;
}

/** How many codes were dropped, for the log line and the error that says none was usable. */
export function describeDrops(dropped: DropCounts): { total: number; summary: string } {
  const entries = Object.entries(dropped);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  return { total, summary: entries.map(([reason, n]) => `${n} ${reason}`).join(', ') };
}

/** The answer to a claim names the alias asked for; anything else is not the KGS confirming it. */
export function checkClaimed(body: unknown, asked: string): string {
  if (fieldOf(body, 'code') !== asked) throw new UnusableAnswer('an answer to POST /codes/claim that does not name the alias asked for');
  return asked;
}

/** The KGS counts the codes it took back: a whole number, at most the ones sent. */
export function checkReturned(body: unknown, sent: number): number {
  const returned = fieldOf(body, 'returned');
  if (typeof returned !== 'number' || !Number.isSafeInteger(returned) || returned < 0 || returned > sent) {
    throw new UnusableAnswer('an answer to POST /codes/return that is not {"returned": <0..codes sent>}');
  }
  return returned;
}

function fieldOf(body: unknown, name: string): unknown {
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  return isObject && Object.hasOwn(body, name) ? (body as Record<string, unknown>)[name] : undefined;
}
