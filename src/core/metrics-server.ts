// The metrics listener: a second port (METRICS_PORT) that serves only `GET /metrics`, so the
// Prometheus exposition — process and dependency detail — never reaches the public port. It binds
// the same host as the main port; keep the port off the internet (docs/operations.md).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { HttpTimeouts } from './config.ts';
import { connectionsCheckingInterval } from './http-app.ts';
import type { Logger } from './logger.ts';
import type { Registry } from './metrics.ts';
import { AppError, InternalError, NotFound } from './errors.ts';
import { answerClientError, answerUnmetExpectation, connectRefusal, refuseMalformed, writeProblem } from './problem.ts';
import { requestIdOf } from './request-id.ts';

/** All this port answers, as Allow says it. */
const METHODS = 'GET, HEAD';

export interface MetricsServer {
  /** e.g. http://127.0.0.1:9464 */
  address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: { host: string; port: number; registry: Registry; log: Logger; timeouts: HttpTimeouts }): Promise<MetricsServer> {
  const { registry, log, timeouts } = options;
  // Errors as problem+json, as on the main port (README, "Errors"): what Node would refuse itself with
  // a bare status (no Host, an Expect it cannot meet) or a closed connection (CONNECT) included.
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    if (refuseMalformed(request, response, METHODS)) return;
    const path = (request.url ?? '/').split('?')[0];
    // With its request id in the body and the header, as every problem of the main port.
    const requestId = requestIdOf(request);
    if (path !== '/metrics') {
      writeProblem(response, new NotFound('Only /metrics is served on this port.'), false, requestId);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const detail = `/metrics does not answer ${String(request.method).slice(0, 20)}; it answers ${METHODS}.`;
      writeProblem(response, new AppError({ status: 405, code: 'method_not_allowed', title: 'Method not allowed', detail, headers: { allow: METHODS } }), false, requestId);
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(request.method === 'HEAD' ? undefined : body),
      (err: unknown) => {
        log.error({ err }, 'could not render metrics');
        writeProblem(response, new InternalError(), false, requestId);
      },
    );
  };
  // requireHostHeader off: refuseMalformed answers a missing Host instead of Node's bare 400.
  const server = createServer(
    { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: connectionsCheckingInterval(timeouts), requireHostHeader: false },
    handle,
  );
  server.keepAliveTimeout = timeouts.keepAliveMs;
  server.on('clientError', answerClientError);
  server.on('checkExpectation', answerUnmetExpectation);
  server.on('connect', connectRefusal(METHODS));
  server.listen({ host: options.host, port: options.port });
  // A port in use is said with the setting that chose it (METRICS_PORT), not the main port's.
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(Object.assign(err as Error, { setting: 'METRICS_PORT' })))]);
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    address: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
