// CSV per RFC 4180, read as a stream: records come out as the bytes arrive, so a file of a million
// rows is read in the memory of one record. Quoted fields may hold commas, line breaks and doubled
// quotes; CRLF or LF ends a record; a UTF-8 byte order mark at the start is skipped.
import { StringDecoder } from 'node:string_decoder';

/** Longest record (its characters, quotes included): a file without line ends must not grow one field forever. */
export const MAX_RECORD_CHARS = 64 * 1024;

/** A record too long to be a link, or a quote never closed: the file cannot be read further. */
export class CsvSyntaxError extends Error {
  constructor(
    message: string,
    readonly record: number,
  ) {
    super(message);
    this.name = 'CsvSyntaxError';
  }
}

/**
 * The records of a CSV stream, each an array of fields, in order. Throws CsvSyntaxError on a record
 * over `maxRecordChars` or a quoted field that the stream ends inside. Blank lines are skipped.
 */
export async function* readCsvRecords(source: AsyncIterable<Buffer | string>, maxRecordChars = MAX_RECORD_CHARS): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  /** Just read a quote inside a quoted field: the next character tells an escaped quote from the end. */
  let quoteSeen = false;
  let fieldStarted = false;
  let records = 0;
  let first = true;

  const recordChars = (): number => field.length + fields.reduce((n, f) => n + f.length + 1, 0);
  const tooLong = () => new CsvSyntaxError(`Record ${records + 1} is longer than ${maxRecordChars} characters.`, records + 1);

  const endRecord = (): string[] | null => {
    fields.push(field);
    const done = fields;
    fields = [];
    field = '';
    fieldStarted = false;
    // A blank line is one empty field: nothing to read.
    return done.length === 1 && done[0] === '' ? null : done;
  };

  for await (const chunk of source) {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (first && text.length > 0) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (quoted) {
        if (quoteSeen) {
          quoteSeen = false;
          if (ch === 0x22) {
            // "" inside quotes: one quote; the first was left out of the field already.
            start = i;
            continue;
          }
          quoted = false; // the quote closed the field; this character is read below as unquoted
        } else {
          if (ch === 0x22) {
            field += text.slice(start, i);
            start = i + 1;
            quoteSeen = true;
          }
          continue;
        }
      }
      if (ch === 0x2c) {
        field += text.slice(start, i);
        fields.push(field);
        field = '';
        fieldStarted = false;
        start = i + 1;
      } else if (ch === 0x0a || ch === 0x0d) {
        field += text.slice(start, i);
        // Also here, not only per chunk: a record that passes the bound and ends in the same chunk.
        if (recordChars() > maxRecordChars) throw tooLong();
        if (ch === 0x0d && text.charCodeAt(i + 1) === 0x0a) i++;
        start = i + 1;
        records++;
        const record = endRecord();
        if (record) yield record;
      } else if (ch === 0x22 && !fieldStarted && field === '' && i === start) {
        quoted = true;
        start = i + 1;
      } else {
        fieldStarted = true;
      }
    }
    field += text.slice(start);
    // And per chunk, so a record without an end is caught within one chunk past its bound.
    if (recordChars() > maxRecordChars) throw tooLong();
  }
  field += decoder.end();
  if (recordChars() > maxRecordChars) throw tooLong();
  if (quoted && !quoteSeen) throw new CsvSyntaxError(`Record ${records + 1} ends inside a quoted field.`, records + 1);
  const last = endRecord();
  if (last) yield last;
}

/** Lines of a text stream without their line ends (LF or CRLF), each at most `maxLineChars`. Blank lines are skipped. */
export async function* readLines(source: AsyncIterable<Buffer | string>, maxLineChars = MAX_RECORD_CHARS): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let lines = 0;
  let first = true;
  for await (const chunk of source) {
    let text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    if (first && text.length > 0) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const line = text.slice(start, text.charCodeAt(end - 1) === 0x0d ? end - 1 : end);
      start = end + 1;
      lines++;
      if (line.length > maxLineChars) throw new CsvSyntaxError(`Line ${lines} is longer than ${maxLineChars} characters.`, lines);
      if (line.trim() !== '') yield line;
    }
    rest = text.slice(start);
    if (rest.length > maxLineChars) throw new CsvSyntaxError(`Line ${lines + 1} is longer than ${maxLineChars} characters.`, lines + 1);
  }
  rest += decoder.end();
  if (rest.trim() !== '') yield rest.replace(/\r$/, '');
}

/** One CSV field: quoted when it holds a comma, a quote, a line break or leading/trailing space. */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: readonly (string | number | boolean | null)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
