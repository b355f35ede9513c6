// Webhook endpoints per API key: create (the signing secret is answered once), list, read, change,
// delete, and the delivery log. A key sees only its own endpoints; an admin key sees every endpoint.
// Which events an endpoint gets is decided where they are written (webhook_subscribers in
// migrations/006_webhooks.sql): a key's endpoints get the events of the links it owns, an admin key's
// endpoints those of every link (anonymous ones included), as an admin key can list and manage them all.
import { InvalidRequest, NotFound, Unauthorized } from '../core/errors.ts';
import { isPostgresUnavailable } from '../core/unavailable.ts';
import { DependencyDown } from '../core/errors.ts';
import type { DeliveryRecord, WebhookEndpointPatch, WebhookEndpointRecord, WebhookEventType, WebhookStore } from '../storage/webhook-store.ts';
import { WEBHOOK_EVENTS } from '../storage/webhook-store.ts';
import type { Principal } from './link-service.ts';
import { checkWebhookUrl, type WebhookTargetPolicy } from './webhook-target.ts';
import { newWebhookSecret } from './webhook-signature.ts';

/** Endpoints one key may have: each is called for every event, so the fan-out of one change stays bounded. */
export const MAX_ENDPOINTS_PER_KEY = 20;

export interface NewEndpointInput {
  url: string;
  events: readonly string[];
  description?: string | null;
}

export interface WebhookService {
  createEndpoint(principal: Principal, input: NewEndpointInput): Promise<{ endpoint: WebhookEndpointRecord; secret: string }>;
  listEndpoints(principal: Principal): Promise<WebhookEndpointRecord[]>;
  getEndpoint(principal: Principal, id: number): Promise<WebhookEndpointRecord>;
  updateEndpoint(principal: Principal, id: number, patch: { url?: string; events?: readonly string[]; description?: string | null; isActive?: boolean }): Promise<WebhookEndpointRecord>;
  deleteEndpoint(principal: Principal, id: number): Promise<void>;
  listDeliveries(principal: Principal, id: number, page: { beforeId?: number; limit: number }): Promise<DeliveryRecord[]>;
}

/** 503 for a database that cannot be reached; anything else passes as it is (see link-service.ts). */
async function db<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!isPostgresUnavailable(err)) throw err;
    throw new DependencyDown('postgres', 'The database is unavailable; try again shortly.', 1, { cause: err });
  }
}

function checkEvents(events: readonly string[]): WebhookEventType[] {
  if (events.length === 0) throw new InvalidRequest(`events must name at least one of ${WEBHOOK_EVENTS.join(', ')}.`);
  const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (unknown.length > 0) throw new InvalidRequest(`Unknown events: ${unknown.join(', ')}; known: ${WEBHOOK_EVENTS.join(', ')}.`);
  return [...new Set(events)] as WebhookEventType[];
}

function required(principal: Principal): { keyId: number; isAdmin: boolean } {
  if (principal === null) throw new Unauthorized('An API key is required.');
  return principal;
}

export function createWebhookService(options: { store: WebhookStore; policy: WebhookTargetPolicy }): WebhookService {
  const { store, policy } = options;

  async function owned(principal: Principal, id: number): Promise<WebhookEndpointRecord> {
    const caller = required(principal);
    const endpoint = await db(() => store.findEndpoint(id));
    // Someone else's endpoint is "not found": its existence is not the caller's business.
    if (endpoint === null || (!caller.isAdmin && endpoint.ownerKeyId !== caller.keyId)) throw new NotFound('No webhook endpoint has this id.', 'webhook_not_found');
    return endpoint;
  }

  return {
    async createEndpoint(principal, input) {
      const caller = required(principal);
      const events = checkEvents(input.events);
      const url = await checkWebhookUrl(input.url, policy);
      const secret = newWebhookSecret();
      // Counted and inserted in one step (the store's transaction): a count here, before the insert,
      // let concurrent creations by one key all pass it.
      const endpoint = await db(() =>
        store.insertEndpointWithin({ ownerKeyId: caller.keyId, url, events, description: input.description ?? null, secret }, MAX_ENDPOINTS_PER_KEY),
      );
      if (endpoint === null) throw new InvalidRequest(`A key may have at most ${MAX_ENDPOINTS_PER_KEY} webhook endpoints.`);
      return { endpoint, secret };
    },

    async listEndpoints(principal) {
      const caller = required(principal);
      return db(() => store.listEndpoints(caller.isAdmin ? undefined : caller.keyId));
    },

    getEndpoint: owned,

    async updateEndpoint(principal, id, patch) {
      const endpoint = await owned(principal, id);
      const checked: WebhookEndpointPatch = {
        ...(patch.url === undefined ? {} : { url: await checkWebhookUrl(patch.url, policy) }),
        ...(patch.events === undefined ? {} : { events: checkEvents(patch.events) }),
        ...(patch.description === undefined ? {} : { description: patch.description }),
        ...(patch.isActive === undefined ? {} : { isActive: patch.isActive }),
      };
      const updated = await db(() => store.updateEndpoint(endpoint.id, checked));
      if (updated === null) throw new NotFound('No webhook endpoint has this id.', 'webhook_not_found');
      return updated;
    },

    async deleteEndpoint(principal, id) {
      const endpoint = await owned(principal, id);
      await db(() => store.deleteEndpoint(endpoint.id));
    },

    async listDeliveries(principal, id, page) {
      const endpoint = await owned(principal, id);
      return db(() => store.listDeliveries(endpoint.id, page));
    },
  };
}
