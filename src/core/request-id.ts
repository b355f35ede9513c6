// A request's id: the caller's `x-request-id` when it is a sane token (so that it travels URL service
// → KGS, and from a proxy in front), else a new UUID. Every answer carries it, in the header and in
// a problem's `request_id`, those written before any route sees the request included (problem.ts).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A caller's request id is kept; anything odd is replaced. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}
