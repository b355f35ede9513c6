// An import's report as the SDK yields it, gathered: its rows and its summary (which must end it).
import assert from 'node:assert/strict';
import type { ImportReportLine, ImportReportRow, ImportSummary } from '../../src/client/curt-client.ts';

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export function split(lines: ImportReportLine[]): { rows: ImportReportRow[]; summary: ImportSummary } {
  const summary = lines.at(-1);
  assert.ok(summary && 'summary' in summary, `the report ends with a summary: ${JSON.stringify(summary)}`);
  return { rows: lines.filter((l): l is ImportReportRow => 'status' in l), summary };
}
