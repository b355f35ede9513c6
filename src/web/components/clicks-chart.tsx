// Clicks and bot hits per day as a uPlot chart, loaded only on the stats page (its own chunk, off the
// home page's JavaScript). The chart is a picture for eyes; the table beside it carries the same numbers
// for screen readers, so the canvas is hidden from them. Colours follow the light or dark theme; bot hits
// are the secondary series: a thin dashed line in the muted text colour, no fill.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { DayCount } from '../days.ts';

const css = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

const DAY_S = 86_400;
/**
 * The time axis's steps, whole days and up (uPlot's own from a day on): the points are days, and a
 * range of one day must not be ticked in hours.
 */
const DAY_STEPS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 30, 60, 90, 120, 180, 365, 730, 1825, 3650].map((n) => n * DAY_S);

/**
 * The x range: the first day to the last, and half a day either side of a range of one day. Not
 * uPlot's own: for a single point of a time scale in seconds it adds 86400 / 1e-3 seconds, so a link
 * made today had an axis of a thousand days.
 */
function dayRange(x: readonly number[]): [number, number] {
  const first = x[0] ?? 0;
  const last = x[x.length - 1] ?? first;
  return first === last ? [first - DAY_S / 2, last + DAY_S / 2] : [first, last];
}

export function ClicksChart({ days, label }: { days: DayCount[]; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  const [theme, setTheme] = useState(0);

  useEffect(() => {
    const media = matchMedia('(prefers-color-scheme: dark)');
    const changed = () => setTheme((n) => n + 1);
    media.addEventListener('change', changed);
    return () => media.removeEventListener('change', changed);
  }, []);

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    let chart: { destroy(): void; setSize(size: { width: number; height: number }): void } | null = null;
    let observer: ResizeObserver | null = null;
    let live = true;
    import('uplot').then(
      ({ default: UPlot }) => {
        if (!live) return;
        const text = css('--text-2');
        const grid = css('--line');
        const accent = css('--accent');
        const muted = css('--text-2');
        const width = Math.max(280, el.clientWidth);
        const x = days.map((d) => Date.parse(d.date) / 1000);
        const clicks = days.map((d) => d.clicks);
        const bots = days.map((d) => d.bot_hits);
        chart = new UPlot(
          {
            width,
            height: 220,
            tzDate: (ts: number) => UPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
            legend: { show: false },
            // The days the axis spans, as drawn (the canvas has no text to read): for tests and tools.
            hooks: {
              setScale: [
                (u: { scales: Record<string, { min?: number | null; max?: number | null }> }, key: string) => {
                  const { min, max } = u.scales[key] ?? {};
                  if (key === 'x' && typeof min === 'number' && typeof max === 'number') el.dataset.axis = `${new Date(min * 1000).toISOString()}/${new Date(max * 1000).toISOString()}`;
                },
              ],
            },
            cursor: { drag: { x: false, y: false } },
            scales: { x: { time: true, range: () => dayRange(x) }, y: { range: (_u: unknown, _min: number, max: number) => [0, Math.max(1, Math.ceil(max * 1.1))] } },
            axes: [
              { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, incrs: DAY_STEPS },
              { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10_000, 100_000] },
            ],
            series: [
              {},
              { label: 'Clicks', stroke: accent, fill: `${accent}33`, width: 2, points: { show: days.length <= 31 } },
              // One day has no line to draw: its point is shown.
              { label: 'Bot hits', stroke: muted, dash: [4, 4], width: 1.5, points: { show: days.length === 1 } },
            ],
          },
          [x, clicks, bots],
          el,
        );
        observer = new ResizeObserver(() => chart?.setSize({ width: Math.max(280, el.clientWidth), height: 220 }));
        observer.observe(el);
      },
      () => live && setFailed(true),
    );
    return () => {
      live = false;
      observer?.disconnect();
      chart?.destroy();
    };
  }, [days, theme]);

  const total = days.reduce((sum, d) => sum + d.clicks, 0);
  const botHits = days.reduce((sum, d) => sum + d.bot_hits, 0);
  return (
    <figure class="chart" data-testid="clicks-chart" data-total={total} data-bot-hits={botHits} data-days={days.length}>
      <div ref={box} class="chart-box" aria-hidden="true" />
      {!failed && (
        <ul class="chart-legend" aria-hidden="true">
          <li>
            <span class="swatch swatch-clicks" /> Clicks
          </li>
          <li>
            <span class="swatch swatch-bots" /> Bot hits
          </li>
        </ul>
      )}
      <figcaption>{failed ? 'The chart could not be drawn; the table below has the numbers.' : label}</figcaption>
    </figure>
  );
}
