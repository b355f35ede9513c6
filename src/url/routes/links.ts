// The link management API: create, read, update, delete, list, analytics.
import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../../core/http-app.ts';
import { InvalidRequest } from '../../core/errors.ts';
import type { LinkService } from '../link-service.ts';
import {
  AnalyticsView,
  CodeParams,
  CreateLinkBody,
  LinkPage,
  ListQuery,
  PatchLinkBody,
  Problem,
  toAnalyticsView,
  toLinkView,
} from './schemas.ts';

export interface LinkRouteDeps {
  links: LinkService;
  publicBaseUrl: string;
  now: () => number;
}

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 413: Problem, 415: Problem, 429: Problem, 503: Problem };
const security = [{ bearer: [] }];

function encodeCursor(id: number): string {
  return Buffer.from(`id:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^id:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new InvalidRequest('cursor is not valid: pass next_cursor from the previous page.');
  return Number(match[1]);
}

export async function registerLinkRoutes(app: HttpApp, deps: LinkRouteDeps): Promise<void> {
  const { links } = deps;
  const view = (link: Parameters<typeof toLinkView>[0]) => toLinkView(link, deps.publicBaseUrl, deps.now());

  app.post(
    '/urls',
    { schema: { summary: 'Create a short link', security, body: CreateLinkBody, response: { 201: Type.Ref('Link'), ...errors } } },
    async (request, reply) => {
      const body = request.body;
      const link = await links.createLink(
        {
          url: body.url,
          ...(body.alias === undefined ? {} : { alias: body.alias }),
          ...(body.expires_at === undefined ? {} : { expiresAt: new Date(body.expires_at) }),
          ...(body.expires_in === undefined ? {} : { expiresInS: body.expires_in }),
          ...(body.one_time === undefined ? {} : { oneTime: body.one_time }),
        },
        request.principal,
        { requestId: request.id },
      );
      return reply.code(201).header('location', `/urls/${link.code}`).send(view(link));
    },
  );

  app.get(
    '/urls',
    { schema: { summary: "The caller's links, newest first; `q` and `state` narrow them (the cursor keeps the same q and state)", security, querystring: ListQuery, response: { 200: LinkPage, ...errors } } },
    async (request) => {
      const limit = request.query.limit === undefined ? 20 : Number(request.query.limit);
      if (limit < 1 || limit > 100) throw new InvalidRequest('limit must be from 1 to 100.');
      const beforeId = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor);
      const { q, state } = request.query;
      const page = await links.listLinks(request.principal, {
        limit: limit + 1,
        ...(beforeId === undefined ? {} : { beforeId }),
        ...(q === undefined || q === '' ? {} : { search: q }),
        ...(state === undefined ? {} : { state, now: new Date(deps.now()) }),
      });
      const items = page.slice(0, limit);
      const last = items[items.length - 1];
      return { items: items.map(view), next_cursor: page.length > limit && last ? encodeCursor(last.id) : null };
    },
  );

  app.get(
    '/urls/:short_code',
    { schema: { summary: "A link's metadata", security, params: CodeParams, response: { 200: Type.Ref('Link'), ...errors } } },
    async (request) => view(await links.getLink(request.params.short_code, request.principal)),
  );

  app.patch(
    '/urls/:short_code',
    { schema: { summary: 'Enable or disable a link, change its target or its expiry; every replica redirects by the change at once', security, params: CodeParams, body: PatchLinkBody, response: { 200: Type.Ref('Link'), ...errors } } },
    async (request) => {
      const { is_active, expires_at, url } = request.body;
      const expiresAt = expires_at === undefined || expires_at === null ? expires_at : new Date(expires_at);
      // The date-time format admits a leap second (23:59:60) that Date cannot represent.
      if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new InvalidRequest('expires_at must be an ISO 8601 date-time.', 'invalid_expiry');
      const link = await links.updateLink(
        request.params.short_code,
        {
          ...(is_active === undefined ? {} : { isActive: is_active }),
          ...(url === undefined ? {} : { url }),
          ...(expiresAt === undefined ? {} : { expiresAt }),
        },
        request.principal,
      );
      return view(link);
    },
  );

  app.delete(
    '/urls/:short_code',
    { schema: { summary: 'Delete a link; its generated code goes back to the KGS after the cool-down', security, params: CodeParams, response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      await links.deleteLink(request.params.short_code, request.principal, { requestId: request.id });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/urls/:short_code/analytics',
    { schema: { summary: 'Click analytics of a link', security, params: CodeParams, response: { 200: AnalyticsView, ...errors } } },
    async (request) => {
      const { link, analytics } = await links.getAnalytics(request.params.short_code, request.principal);
      return toAnalyticsView(link, analytics, deps.now());
    },
  );
}
