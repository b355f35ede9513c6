// What `curt import` sends when neither --type nor the file's name says (standard input, links.txt):
// told from the file's first byte that is not white space, `{` for NDJSON (a JSON object a line),
// anything else CSV. Only the first chunks are read to tell, and they are sent first: the file is
// streamed, never held whole.

export type ImportType = 'csv' | 'ndjson';

/** Bytes read at most to find one that is not white space; past them, CSV (the server says what is wrong with it). */
export const MAX_SNIFF_BYTES = 64 * 1024;

const WHITE_SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
/** UTF-8's byte order mark, which spreadsheets write first and the server skips. */
const BOM = [0xef, 0xbb, 0xbf];
const OPEN_BRACE = 0x7b;

/** Where a sniff stands: bytes read, and how many of the first ones were the BOM's. */
interface Sniffed {
  bytes: number;
  bom: number;
}

/** The type told from the next `chunk`, or null while only white space (and a BOM) came. */
function typeOf(chunk: Uint8Array, state: Sniffed): ImportType | null {
  for (const byte of chunk) {
    const at = state.bytes++;
    if (at === state.bom && at < BOM.length && byte === BOM[at]) {
      state.bom++;
      continue;
    }
    if (WHITE_SPACE.has(byte)) continue;
    return byte === OPEN_BRACE ? 'ndjson' : 'csv';
  }
  return null;
}

/**
 * Reads `file` until its type is known, and gives back the type and the whole file again: the chunks
 * read, then the rest as it comes. A reader that stops early closes the file.
 */
export async function sniffImportType(file: AsyncIterable<Uint8Array>): Promise<{ type: ImportType; file: AsyncIterable<Uint8Array> }> {
  const source = file[Symbol.asyncIterator]();
  const read: Uint8Array[] = [];
  const state: Sniffed = { bytes: 0, bom: 0 };
  let type: ImportType | null = null;
  let ended = false;
  while (type === null && state.bytes < MAX_SNIFF_BYTES) {
    const next = await source.next();
    if (next.done === true) {
      ended = true;
      break;
    }
    read.push(next.value);
    type = typeOf(next.value, state);
  }
  async function* whole(): AsyncGenerator<Uint8Array> {
    let done = ended;
    try {
      yield* read;
      while (!done) {
        const next = await source.next();
        done = next.done === true;
        if (next.done !== true) yield next.value;
      }
    } finally {
      if (!done) await source.return?.();
    }
  }
  return { type: type ?? 'csv', file: whole() };
}
