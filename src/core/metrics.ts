// Prometheus metrics. Each app owns its registry (passed in), so two apps in one process — the
// one-machine mode, or a test — never share or double-register series.
import { Registry, collectDefaultMetrics, Histogram } from 'prom-client';

export { Registry, Counter, Gauge, Histogram } from 'prom-client';

export function createRegistry(options: { defaultMetrics: boolean; prefix?: string } = { defaultMetrics: true }): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: options.prefix ?? '' });
  return registry;
}

export function createHttpMetrics(registry: Registry): Histogram<'method' | 'route' | 'status_code'> {
  return new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    // Redirects live in the sub-millisecond buckets; creation and analytics further up.
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
}
