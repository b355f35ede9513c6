// My links' "Import / Export": the export saved as a file, and a file imported with its report shown.
// The export is fetched with the page's key into a Blob and saved from a blob: URL: a plain link to
// /urls/export could not send the key. The import sends the File itself (browsers stream a request
// body over HTTP/2 only) and reads the report as it comes: the summary, and each refused row's reason.
// The buttons stay focusable while busy (aria-disabled: a disabled button drops the focus to <body>);
// an import's end moves the focus to what it says: the summary, why it stopped, or the error.
import { useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ImportCutOffError, type ImportReportRow, type ImportSummary } from '../../client/curt-client.ts';
import { explain } from '../api.ts';
import { formatNumber } from '../format.ts';
import { useSession } from '../state.ts';

/** Refused rows shown: a file of a million bad rows must not become a million table rows. */
const MAX_SHOWN = 500;

interface Outcome {
  summary: ImportSummary | null;
  refused: ImportReportRow[];
  refusedTotal: number;
  /** Why the import stopped part way, when it did. */
  stopped: string | null;
}

function summaryText(s: ImportSummary): string {
  return `${formatNumber(s.rows)} ${s.rows === 1 ? 'row' : 'rows'}: ${formatNumber(s.created)} created, ${formatNumber(s.exists)} already there, ${formatNumber(s.refused)} refused.`;
}

export function ImportExport({ onImported }: { onImported: () => void }) {
  const session = useSession();
  const id = useId();
  const [busy, setBusy] = useState<'export' | 'import' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  /** Bumped when an import ends: the focus goes to its report (or its error) once drawn. */
  const [ended, setEnded] = useState(0);
  const reportRef = useRef<HTMLParagraphElement>(null);
  const stoppedRef = useRef<HTMLParagraphElement>(null);
  const errorRef = useRef<HTMLParagraphElement>(null);
  useLayoutEffect(() => {
    if (ended > 0) (errorRef.current ?? stoppedRef.current ?? reportRef.current)?.focus();
  }, [ended]);

  async function download() {
    if (busy !== null) return;
    setBusy('export');
    setError(null);
    try {
      const url = URL.createObjectURL(await session.client.exportFile('csv'));
      const link = document.createElement('a');
      link.href = url;
      link.download = 'curt-links.csv';
      document.body.append(link);
      link.click();
      link.remove();
      // Revoked later, not at once: the download may not have read it yet.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      session.announce('Your links are downloading as curt-links.csv.');
    } catch (err) {
      setError(explain(err).message);
    } finally {
      setBusy(null);
    }
  }

  async function upload(event: Event) {
    event.preventDefault();
    if (busy !== null) return;
    if (file === null) {
      setError('Choose a CSV or NDJSON file to import.');
      setEnded((n) => n + 1);
      return;
    }
    setBusy('import');
    setError(null);
    setOutcome(null);
    const result: Outcome = { summary: null, refused: [], refusedTotal: 0, stopped: null };
    try {
      const type = /\.(ndjson|jsonl)$/i.test(file.name) ? 'ndjson' : 'csv';
      try {
        for await (const line of session.client.importLinks(file, { type })) {
          if ('summary' in line) result.summary = line;
          else if ('error' in line) result.stopped = line.error.detail ?? line.error.code;
          else if (line.status === 'refused' && result.refusedTotal++ < MAX_SHOWN) result.refused.push(line);
        }
      } catch (err) {
        // Cut off on its way here: what came before it is shown, with the reason. Anything else (the
        // server refused the file, could not be reached) is the dialog's error.
        if (!(err instanceof ImportCutOffError)) throw err;
        result.stopped = err.reason === null ? 'Its report ended before the summary.' : 'Its report was cut off on its way here.';
      }
      setOutcome(result);
      session.announce(result.summary === null ? 'The import stopped part way.' : `Imported. ${summaryText(result.summary)}`);
      onImported();
    } catch (err) {
      setError(explain(err).message);
    } finally {
      setBusy(null);
      setEnded((n) => n + 1);
    }
  }

  return (
    <div class="porting">
      <h3>Export</h3>
      <p class="hint">Every link of your key with its clicks, as a CSV file that Curt (or a spreadsheet) reads back.</p>
      <div class="actions">
        <button type="button" onClick={() => void download()} aria-disabled={busy !== null ? 'true' : undefined} aria-busy={busy === 'export'}>
          Download CSV
        </button>
      </div>

      <h3>Import</h3>
      <form onSubmit={(e) => void upload(e)}>
        <label for={`${id}-file`}>CSV or NDJSON file</label>
        <input
          id={`${id}-file`}
          type="file"
          accept=".csv,.ndjson,.jsonl,text/csv,application/x-ndjson"
          aria-describedby={`${id}-hint`}
          onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
        />
        <p id={`${id}-hint`} class="hint">
          Curt&apos;s export, a sheet with a url column (and alias, expires_at), or Kutt&apos;s or YOURLS&apos;s links. Links already here are left as they are.
        </p>
        <div class="actions">
          <button type="submit" aria-disabled={busy !== null ? 'true' : undefined} aria-busy={busy === 'import'}>
            Import a file
          </button>
        </div>
      </form>

      {error !== null && (
        <p class="error" role="alert" tabIndex={-1} ref={errorRef}>
          {error}
        </p>
      )}
      {outcome !== null && (
        <div data-testid="import-report">
          {outcome.summary !== null && (
            <p class="import-summary" tabIndex={-1} ref={reportRef}>
              {summaryText(outcome.summary)}
            </p>
          )}
          {outcome.stopped !== null && (
            <p class="error" role="alert" tabIndex={-1} ref={stoppedRef}>
              The import stopped: {outcome.stopped} The rows before it are done; import the same file again to go on.
            </p>
          )}
          {outcome.refused.length > 0 && (
            <div class="table-wrap">
              <table data-testid="import-refused">
                <caption>
                  Refused rows{outcome.refusedTotal > outcome.refused.length ? ` (the first ${formatNumber(outcome.refused.length)} of ${formatNumber(outcome.refusedTotal)})` : ''}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Row</th>
                    <th scope="col">Why</th>
                  </tr>
                </thead>
                <tbody>
                  {outcome.refused.map((r) => (
                    <tr key={r.row}>
                      <td class="num">{r.row}</td>
                      <td>{r.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
