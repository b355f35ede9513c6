// A real HTTP receiver for webhook tests (node:http on a free port): records every request, and can
// be told to answer 500, to hang (no answer until the client gives up) or to answer 204 again.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  json: { type: string; timestamp: string; data: Record<string, unknown> };
}

export type ReceiverMode = 'ok' | 'fail' | 'hang';

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Requests answered (or hung) in each mode, in order. */
  attempts: ReceiverMode[];
  setMode(mode: ReceiverMode): void;
  /** Resolves once `count` requests were answered 2xx. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(path = '/hook'): Promise<WebhookReceiver> {
  let mode: ReceiverMode = 'ok';
  const received: ReceivedWebhook[] = [];
  const attempts: ReceiverMode[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      attempts.push(mode);
      if (mode === 'hang') {
        hanging.add(response);
        return;
      }
      if (mode === 'fail') {
        response.writeHead(500).end('no');
        return;
      }
      const body = Buffer.concat(chunks).toString();
      received.push({ headers: request.headers, body, json: JSON.parse(body) as ReceivedWebhook['json'] });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    attempts,
    setMode(next) {
      mode = next;
    },
    async waitFor(count, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > until) throw new Error(`received ${received.length} webhooks, expected ${count}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return received;
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
