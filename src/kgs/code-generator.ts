// Random short codes from a cryptographically secure source, with no modulo bias: each character is
// drawn by rejection sampling over the smallest power-of-two range that covers the alphabet.
import { randomFillSync } from 'node:crypto';
import { isReservedCode } from '../core/reserved.ts';
import type { CodeConfig } from '../core/config.ts';

export type RandomFill = (buffer: Uint8Array) => Uint8Array;

export interface CodeGenerator {
  readonly alphabet: string;
  readonly length: number;
  /** alphabet.length ** length, as a float (exact up to 2^53, which covers every small space). */
  readonly spaceSize: number;
  /** `count` fresh random codes, none of them reserved. Duplicates within a batch are possible. */
  generate(count: number): string[];
  /** True when `code` has the generator's shape (length and alphabet) and is not reserved. */
  produces(code: string): boolean;
  /** The code at `index` of the space in a fixed order (0 <= index < spaceSize). */
  codeAt(index: number): string;
}

export function createCodeGenerator(config: CodeConfig, randomFill: RandomFill = randomFillSync): CodeGenerator {
  const { alphabet, length } = config;
  const size = alphabet.length;
  if (size < 2 || size > 256) throw new RangeError('alphabet must have 2 to 256 characters');
  const mask = (1 << Math.ceil(Math.log2(size))) - 1;
  const allowed = new Set(alphabet);
  // Refilled in bulk: one syscall serves many characters.
  const pool = new Uint8Array(4096);
  let cursor = pool.length;

  function nextIndex(): number {
    for (;;) {
      if (cursor === pool.length) {
        randomFill(pool);
        cursor = 0;
      }
      const candidate = (pool[cursor++] as number) & mask;
      if (candidate < size) return candidate;
    }
  }

  function one(): string {
    let code = '';
    for (let i = 0; i < length; i++) code += alphabet[nextIndex()];
    return code;
  }

  return {
    alphabet,
    length,
    spaceSize: size ** length,
    generate(count) {
      const codes: string[] = [];
      while (codes.length < count) {
        const code = one();
        if (!isReservedCode(code)) codes.push(code);
      }
      return codes;
    },
    produces(code) {
      if (code.length !== length || isReservedCode(code)) return false;
      for (const ch of code) if (!allowed.has(ch)) return false;
      return true;
    },
    codeAt(index) {
      let code = '';
      let rest = index;
      for (let i = 0; i < length; i++) {
        code = (alphabet[rest % size] as string) + code;
        rest = Math.floor(rest / size);
      }
      return code;
    },
  };
}
