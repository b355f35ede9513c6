// Each breakdown of a range as a table: the value, its count and its share in words, and a bar of the
// share for the eye. The bar is an SVG rect whose width is an attribute, not a style: the page's CSP
// (style-src 'self') forbids inline styles, and a presentation attribute is none. It is hidden from
// screen readers, which read the share as text.
import type { Breakdown } from '../breakdowns.ts';
import { formatNumber } from '../format.ts';

export function Breakdowns({ breakdowns, rangeLabel }: { breakdowns: Breakdown[]; rangeLabel: string }) {
  return (
    <div class="breakdowns">
      {breakdowns.map((b) => (
        <div key={b.field} class={b.secondary ? 'breakdown secondary-stats' : 'breakdown'}>
          <h3 id={`breakdown-${b.field}`}>{b.title}</h3>
          <div class="table-wrap">
            <table data-testid={`${b.field}-table`} aria-labelledby={`breakdown-${b.field}`}>
              <thead>
                <tr>
                  <th scope="col">{b.column}</th>
                  <th scope="col" class="num">
                    {b.unit}
                  </th>
                  <th scope="col" class="num">
                    Share
                  </th>
                </tr>
              </thead>
              <tbody>
                {b.rows.length === 0 ? (
                  <tr>
                    <td colSpan={3}>
                      No {b.unit.toLowerCase()} {rangeLabel}.
                    </td>
                  </tr>
                ) : (
                  b.rows.map((r) => (
                    <tr key={r.key}>
                      <th scope="row">
                        <span class="bar-label">
                          {r.label}
                          {r.code !== null && <span class="country-code"> {r.code}</span>}
                        </span>
                        <svg class="bar" viewBox="0 0 100 4" preserveAspectRatio="none" aria-hidden="true" focusable="false">
                          <rect class="bar-track" width="100" height="4" />
                          <rect class="bar-fill" width={String(Math.round(r.ratio * 1000) / 10)} height="4" />
                        </svg>
                      </th>
                      <td class="num">{formatNumber(r.count)}</td>
                      <td class="num">{r.share}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
          {b.secondary && <p class="hint">Crawlers, link previews and HTTP libraries such as curl: their hits are not clicks.</p>}
        </div>
      ))}
    </div>
  );
}
