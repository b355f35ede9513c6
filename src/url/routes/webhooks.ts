// Webhook endpoints of the caller's API key, and their delivery logs (docs/webhooks.md).
import { Type, type Static } from '@sinclair/typebox';
import type { HttpApp } from '../../core/http-app.ts';
import { InvalidRequest } from '../../core/errors.ts';
import { MAX_URL_LENGTH } from '../../core/validation-message.ts';
import { WEBHOOK_EVENTS, type DeliveryRecord, type WebhookEndpointRecord } from '../../storage/webhook-store.ts';
import type { WebhookService } from '../webhook-service.ts';
import { Problem } from './schemas.ts';

const EventName = Type.Union(
  WEBHOOK_EVENTS.map((e) => Type.Literal(e)),
  { description: 'link.created, link.updated, link.deleted or link.clicked' },
);
const Events = Type.Array(EventName, { minItems: 1, maxItems: WEBHOOK_EVENTS.length * 2 });
const Url = Type.String({ description: `Where events are POSTed: an absolute http(s) URL on a public address, at most ${MAX_URL_LENGTH} characters`, maxLength: MAX_URL_LENGTH });
// No control characters (and PostgreSQL text cannot hold NUL at all).
const Description = Type.String({ maxLength: 200, pattern: '^[^\\u0000-\\u001F\\u007F]*$', description: 'A label, without control characters' });
const When = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const CreateWebhookBody = Type.Object({ url: Url, events: Events, description: Type.Optional(Description) }, { additionalProperties: false });
export const PatchWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    is_active: Type.Optional(Type.Boolean({ description: 'false disables the endpoint; true enables it again and resets its failure count' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const WebhookView = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  events: Type.Array(Type.String()),
  state: Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('disabled_failing')], {
    description: 'disabled_failing: disabled by Curt after deliveries kept failing; PATCH is_active=true enables it again',
  }),
  is_active: Type.Boolean(),
  consecutive_failures: Type.Integer(),
  failing_since: When,
  disabled_at: When,
  created_at: Type.String({ format: 'date-time' }),
  owner_key_id: Type.Integer(),
});
export const CreatedWebhookView = Type.Object({
  ...WebhookView.properties,
  secret: Type.String({ description: 'whsec_…: signs every delivery (Standard Webhooks). Shown only in this answer.' }),
});
export const DeliveryView = Type.Object({
  id: Type.Integer(),
  event_id: Type.String({ description: 'The webhook-id header: the same on every attempt' }),
  type: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')], { description: 'failed: given up after the last retry' }),
  attempts: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
  last_attempt_at: When,
  next_attempt_at: When,
  last_status: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  delivered_at: When,
});
const IdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,14}$', description: 'The id shown by GET /webhooks' }) });
const DeliveriesQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ maxLength: 64, description: 'next_cursor of the previous page' })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1 to 100, default 20' })),
  },
  // Unknown fields are a 400, as on every other route: a misspelt `limt` must not pass unseen.
  { additionalProperties: false },
);

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export function toWebhookView(e: WebhookEndpointRecord): Static<typeof WebhookView> {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: e.events,
    state: e.isActive ? 'active' : e.disabledAt === null ? 'disabled' : 'disabled_failing',
    is_active: e.isActive,
    consecutive_failures: e.consecutiveFailures,
    failing_since: iso(e.failingSince),
    disabled_at: iso(e.disabledAt),
    created_at: e.createdAt.toISOString(),
    owner_key_id: e.ownerKeyId,
  };
}

function toDeliveryView(d: DeliveryRecord): Static<typeof DeliveryView> {
  return {
    id: d.id,
    event_id: d.eventId,
    type: d.type,
    state: d.state,
    attempts: d.attempts,
    created_at: d.createdAt.toISOString(),
    last_attempt_at: iso(d.lastAttemptAt),
    next_attempt_at: iso(d.nextAttemptAt),
    last_status: d.lastStatus,
    last_error: d.lastError,
    delivered_at: iso(d.deliveredAt),
  };
}

function decodeCursor(cursor: string): number {
  const match = /^id:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new InvalidRequest('cursor is not valid: pass next_cursor from the previous page.');
  return Number(match[1]);
}

const errors = { 400: Problem, 401: Problem, 404: Problem, 413: Problem, 415: Problem, 429: Problem, 503: Problem };
const security = [{ bearer: [] }];

export async function registerWebhookRoutes(app: HttpApp, webhooks: WebhookService): Promise<void> {
  app.post(
    '/webhooks',
    { schema: { summary: 'Add a webhook endpoint for this API key; the answer shows its signing secret, once', security, body: CreateWebhookBody, response: { 201: CreatedWebhookView, ...errors } } },
    async (request, reply) => {
      const { endpoint, secret } = await webhooks.createEndpoint(request.principal, {
        url: request.body.url,
        events: request.body.events,
        description: request.body.description ?? null,
      });
      // The signing secret is shown in this answer only: no browser or proxy cache may keep a copy of it.
      return reply.code(201).header('cache-control', 'no-store').send({ ...toWebhookView(endpoint), secret });
    },
  );

  app.get(
    '/webhooks',
    { schema: { summary: "This key's webhook endpoints (an admin key: every endpoint)", security, response: { 200: Type.Object({ items: Type.Array(WebhookView) }), ...errors } } },
    async (request) => ({ items: (await webhooks.listEndpoints(request.principal)).map(toWebhookView) }),
  );

  app.get(
    '/webhooks/:id',
    { schema: { summary: 'One webhook endpoint (never its secret)', security, params: IdParams, response: { 200: WebhookView, ...errors } } },
    async (request) => toWebhookView(await webhooks.getEndpoint(request.principal, Number(request.params.id))),
  );

  app.patch(
    '/webhooks/:id',
    { schema: { summary: 'Change a webhook endpoint: url, events, description, is_active', security, params: IdParams, body: PatchWebhookBody, response: { 200: WebhookView, ...errors } } },
    async (request) => {
      const body = request.body;
      const endpoint = await webhooks.updateEndpoint(request.principal, Number(request.params.id), {
        ...(body.url === undefined ? {} : { url: body.url }),
        ...(body.events === undefined ? {} : { events: body.events }),
        ...(body.description === undefined ? {} : { description: body.description }),
        ...(body.is_active === undefined ? {} : { isActive: body.is_active }),
      });
      return toWebhookView(endpoint);
    },
  );

  app.delete(
    '/webhooks/:id',
    { schema: { summary: 'Delete a webhook endpoint and its pending events', security, params: IdParams, response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      await webhooks.deleteEndpoint(request.principal, Number(request.params.id));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        summary: "An endpoint's delivery log, newest first: each event's id, type, attempts, last status or error, times and state",
        security,
        params: IdParams,
        querystring: DeliveriesQuery,
        response: { 200: Type.Object({ items: Type.Array(DeliveryView), next_cursor: Type.Union([Type.String(), Type.Null()]) }), ...errors },
      },
    },
    async (request) => {
      const limit = request.query.limit === undefined ? 20 : Number(request.query.limit);
      if (limit < 1 || limit > 100) throw new InvalidRequest('limit must be from 1 to 100.');
      const beforeId = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor);
      const page = await webhooks.listDeliveries(request.principal, Number(request.params.id), { limit: limit + 1, ...(beforeId === undefined ? {} : { beforeId }) });
      const items = page.slice(0, limit);
      const last = items.at(-1);
      return { items: items.map(toDeliveryView), next_cursor: page.length > limit && last ? Buffer.from(`id:${last.id}`).toString('base64url') : null };
    },
  );
}
