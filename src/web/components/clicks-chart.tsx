// Clicks per day as a uPlot chart, loaded only on the stats page (its own chunk, off the home page's
// JavaScript). The chart is a picture for eyes; the table beside it carries the same numbers for
// screen readers, so the canvas is hidden from them. Colours follow the light or dark theme.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { DayCount } from '../days.ts';

const css = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

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
        const width = Math.max(280, el.clientWidth);
        const x = days.map((d) => Date.parse(d.date) / 1000);
        const y = days.map((d) => d.clicks);
        chart = new UPlot(
          {
            width,
            height: 220,
            tzDate: (ts: number) => UPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
            legend: { show: false },
            cursor: { drag: { x: false, y: false } },
            scales: { x: { time: true }, y: { range: (_u: unknown, _min: number, max: number) => [0, Math.max(1, Math.ceil(max * 1.1))] } },
            axes: [
              { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } },
              { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10_000, 100_000] },
            ],
            series: [{}, { label: 'Clicks', stroke: accent, fill: `${accent}33`, width: 2, points: { show: days.length <= 31 } }],
          },
          [x, y],
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
  return (
    <figure class="chart" data-testid="clicks-chart" data-total={total} data-days={days.length}>
      <div ref={box} class="chart-box" aria-hidden="true" />
      <figcaption>{failed ? 'The chart could not be drawn; the table below has the numbers.' : label}</figcaption>
    </figure>
  );
}
