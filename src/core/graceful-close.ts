// Closing an HTTP app without resetting anyone (docs/operations.md, "Stopping"). Closing at once
// (Node's server.close()) destroys every idle kept-alive connection, and a client that sends on one
// at that moment — a proxy reusing its upstream connections while Kubernetes removes the pod's
// endpoints — gets a connection reset. So a stop first drains: for up to `drainMs` the app keeps
// listening and answers everything as usual, except that the last answer a connection has pending
// says `Connection: close`, so each client closes its connection after its next answer, cleanly.
// Pipelined requests are all answered first: only the answer with no request behind it closes. The
// drain ends early once no connection is left; then the listener closes, what is left idle is
// closed, and requests in flight finish.
import type { FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';

declare module 'fastify' {
  interface FastifyInstance {
    /** See installGracefulClose: drains for at most `drainMs`, then closes. */
    closeGracefully(drainMs: number): Promise<void>;
  }
}

export interface GracefulClose {
  /** Drains for at most `drainMs`, then closes the app (its onClose hooks included). */
  close(drainMs: number): Promise<void>;
}

export function installGracefulClose(app: FastifyInstance): GracefulClose {
  const open = new Set<Socket>();
  /** Requests received on a connection and not yet answered (several when pipelined). */
  const pending = new WeakMap<Socket, number>();
  let draining = false;
  let onEmpty: (() => void) | null = null;

  app.server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      if (open.size === 0) onEmpty?.();
    });
  });
  // Before Fastify's own listener, so the count includes this request when its answer is sent.
  app.server.prependListener('request', (request, response) => {
    const socket = request.socket;
    pending.set(socket, (pending.get(socket) ?? 0) + 1);
    response.once('close', () => pending.set(socket, Math.max(0, (pending.get(socket) ?? 1) - 1)));
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (draining && (pending.get(request.raw.socket) ?? 0) <= 1) reply.header('connection', 'close');
    return payload;
  });

  return {
    async close(drainMs) {
      draining = true;
      if (drainMs > 0 && open.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drainMs);
          onEmpty = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      onEmpty = null;
      await app.close();
    },
  };
}
