// Closing an HTTP app without resetting anyone (docs/operations.md, "Shutdown (SIGTERM)"). Node's
// server.close() destroys every idle kept-alive connection at once, and a client that sends on one at
// that moment — a proxy reusing its upstream connections while Kubernetes removes the pod's
// endpoints — gets a connection reset. So a stop goes in four steps:
//  1. Drain, for `drainMs`: the app keeps listening (new connections too) and answers as usual,
//     except that the last answer a connection has pending says `Connection: close`, so each client
//     closes its connection after its next answer, cleanly. Pipelined requests are all answered:
//     only the answer with no request behind it closes. A 'full' drain lasts all of `drainMs` even
//     with no connection open: a load balancer that has not yet noticed the stop may open a new one
//     at any moment, and would find the port closed. An 'until-idle' drain ends early once no
//     connection is left (no load balancer waits: Ctrl-C at a terminal, a crash; see shutdown.ts).
//  2. Stop listening. A connection that has carried no request since the drain began (idle since
//     before it) is closed now: its client has had the whole drain to use it. The others — a request
//     in flight, or a connection opened during the drain whose request is on its way — get up to
//     `settleMs` to be answered and close.
//  3. A request still arriving then (its headers or its body: a slow client) is timed out by Node's
//     own check, made immediate (`checkingIntervalMs`): Node knows which connections have a request
//     half read, answers them 408 through the server's client-error handler and closes them, and
//     leaves a request that has arrived, and an answer being sent (a streamed export), alone. Closing
//     the app stops those checks, so such a request would otherwise hold the stop until its deadline.
//  4. Close the app (its onClose hooks; whatever is still open is closed).
import type { FastifyInstance } from 'fastify';
import { Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';

declare module 'fastify' {
  interface FastifyInstance {
    /** See installGracefulClose. */
    closeGracefully(drainMs: number, settleMs: () => number, drain: DrainMode): Promise<void>;
    /** True from the start of closeGracefully: `/ready` then answers 503, so a balancer's health check stops sending here. */
    isDraining(): boolean;
  }
}

/** How the drain (step 1) ends: after all of `drainMs`, or early once no connection is left. */
export type DrainMode = 'full' | 'until-idle';

export interface GracefulClose {
  /**
   * `settleMs` is read when the drain has ended: what is left of a deadline then, not before the
   * drain (read before, it counted the drain's time twice, and the settle ran past the deadline).
   */
  close(drainMs: number, settleMs: () => number, drain: DrainMode): Promise<void>;
  /**
   * Counts a request the app will answer. Called for every request unless `trackRequests` is
   * 'by-caller': then the server's own handler calls it, for the requests it hands to the app and
   * those a fast path holds for a later answer (a fast path's immediate answers are sent before it
   * returns, so they are never pending; see http-app.ts). False, and not counted, when the
   * connection already has `maxWaitingPerConnection` waiting: the caller answers it itself.
   */
  track(request: IncomingMessage, response: ServerResponse): boolean;
  /** True from the start of close(): requests must then go through the app's onSend hook. */
  draining(): boolean;
}

export interface GracefulCloseOptions {
  trackRequests?: 'all' | 'by-caller';
  /**
   * Most requests one connection may have waiting for their answers (pipelined); `track` refuses one
   * more (false), and the caller answers it. Default: no bound.
   */
  maxWaitingPerConnection?: number;
  /** The server's `connectionsCheckingInterval`: how soon Node's request timeouts act once made immediate (step 3). */
  checkingIntervalMs?: number;
}

export function installGracefulClose(app: FastifyInstance, options: GracefulCloseOptions = {}): GracefulClose {
  const open = new Set<Socket>();
  /**
   * The responses of each connection whose answer has not been sent yet (several when pipelined);
   * a connection with none may have no entry. Counted down when the answer is sent, not when it is
   * written: Node queues pipelined answers. An answer passes onSend and then closes, and only the
   * first of the two counts it down. Plain collections, not weak ones (every request paid a weak
   * collection's write barrier and the garbage collector's handling of it): a connection's entry goes
   * when it closes, with the responses it still held.
   */
  const pending = new Map<Socket, Set<ServerResponse>>();
  const unanswered = (socket: Socket): number => pending.get(socket)?.size ?? 0;
  const countDown = (socket: Socket, response: ServerResponse): void => {
    pending.get(socket)?.delete(response);
  };
  // One listener for every response, not a closure each; `this` is the response.
  function closed(this: ServerResponse): void {
    countDown(this.req.socket, this);
  }
  /** Connections accepted, or that received a request, since the drain began. */
  const touched = new WeakSet<Socket>();
  let draining = false;
  let onEmpty: (() => void) | null = null;

  app.server.on('connection', (socket: Socket) => {
    open.add(socket);
    if (draining) touched.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      pending.delete(socket);
      if (open.size === 0) onEmpty?.();
    });
  });
  const maxWaiting = options.maxWaitingPerConnection ?? Infinity;
  const track = (request: IncomingMessage, response: ServerResponse): boolean => {
    const socket = request.socket;
    if (draining) touched.add(socket);
    let responses = pending.get(socket);
    if (responses === undefined) pending.set(socket, (responses = new Set()));
    else if (responses.size >= maxWaiting) return false;
    responses.add(response);
    // An answer that never passes onSend (the connection died first, or a fast path answered it) is
    // counted down here; a response emits 'close' once, whether it was sent or its connection died.
    response.on('close', closed);
    return true;
  };
  // Before Fastify's own listener, so the count includes this request when its answer is sent.
  if (options.trackRequests !== 'by-caller') app.server.prependListener('request', track);
  // A callback, not an async hook: nothing here waits, and every answer passes it.
  app.addHook('onSend', (request, reply, payload, done) => {
    const socket = request.raw.socket;
    countDown(socket, reply.raw);
    if (draining && unanswered(socket) === 0) reply.header('connection', 'close');
    done(null, payload);
  });

  /** Resolves when no connection is open, or after `ms`. */
  const noneOpenWithin = (ms: number): Promise<void> =>
    ms <= 0 || open.size === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          onEmpty = () => {
            clearTimeout(timer);
            resolve();
          };
        }).finally(() => (onEmpty = null));

  return {
    track,
    draining: () => draining,
    async close(drainMs, settleMs, drain) {
      draining = true;
      if (drain === 'full') await sleep(drainMs);
      else await noneOpenWithin(drainMs);
      if (app.server.listening) {
        // net.Server's close only stops accepting; http.Server's would also destroy idle connections.
        Server.prototype.close.call(app.server);
      }
      for (const socket of open) {
        if (!touched.has(socket) && unanswered(socket) === 0) socket.destroy();
      }
      await noneOpenWithin(settleMs());
      if (open.size > 0 && options.checkingIntervalMs !== undefined) {
        // Step 3: every request still arriving is past its time from now on; Node's next check (one
        // interval away at most) answers it 408.
        const server = app.server;
        server.headersTimeout = 1;
        server.requestTimeout = 1;
        await noneOpenWithin(options.checkingIntervalMs + 50);
      }
      await app.close();
    },
  };
}
