// The link management API: create, read, update, delete, list, analytics.
import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../../core/http-app.ts';
import { InvalidRequest } from '../../core/errors.ts';
import { calendarDayMs, isStorableTime, STORABLE_RANGE } from '../../core/storable-dates.ts';
import type { AnalyticsQuery } from '../../storage/link-store.ts';
import type { LinkService } from '../link-service.ts';
import { encodeCursor, parseListQuery } from './list-query.ts';
import { MAX_RANGE_DAYS } from '../../client/analytics-range.ts';
import {
  AnalyticsQueryString,
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
  /** ALLOW_ANONYMOUS: creating a link needs no key (the OpenAPI document says so). */
  allowAnonymous: boolean;
}

const DAY_MS = 86_400_000;
const DEFAULT_RANGE_DAYS = 90;


const dayName = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The range and top-N asked for, with their defaults; a range that is no range is a 400. */
export function analyticsQuery(query: { from?: string; to?: string; top?: string }, nowMs: number): AnalyticsQuery {
  const to = query.to === undefined ? Math.floor(nowMs / DAY_MS) * DAY_MS : calendarDayMs(query.to);
  if (to === null) throw new InvalidRequest(`to is not a calendar day: ${query.to}.`);
  const from = query.from === undefined ? to - (DEFAULT_RANGE_DAYS - 1) * DAY_MS : calendarDayMs(query.from);
  if (from === null) throw new InvalidRequest(`from is not a calendar day: ${query.from}.`);
  if (from > to) throw new InvalidRequest('from must not be after to.');
  // `from` may be a default 89 days before `to`: both are checked, whichever was given.
  if (!isStorableTime(from) || !isStorableTime(to)) throw new InvalidRequest(`from and to must be days ${STORABLE_RANGE}.`);
  if ((to - from) / DAY_MS + 1 > MAX_RANGE_DAYS) throw new InvalidRequest(`A range spans at most ${MAX_RANGE_DAYS} days.`);
  const top = query.top === undefined ? 10 : Number(query.top);
  if (top < 1 || top > 100) throw new InvalidRequest('top must be from 1 to 100.');
  return { from: dayName(from), to: dayName(to), top };
}

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 413: Problem, 415: Problem, 429: Problem, 503: Problem };
const security = [{ bearer: [] }];
/** A key, or none (OpenAPI's empty requirement): anonymous links are read without one, and made without one when ALLOW_ANONYMOUS is on. */
const keyOptional: { [scheme: string]: string[] }[] = [{ bearer: [] }, {}];

export async function registerLinkRoutes(app: HttpApp, deps: LinkRouteDeps): Promise<void> {
  const { links } = deps;
  const view = (link: Parameters<typeof toLinkView>[0]) => toLinkView(link, deps.publicBaseUrl, deps.now());

  app.post(
    '/urls',
    { schema: { summary: 'Create a short link', security: deps.allowAnonymous ? keyOptional : security, body: CreateLinkBody, response: { 201: Type.Ref('Link', { description: 'The link made', headers: { Location: { type: 'string', description: 'The link\'s own address in the API, `/urls/{short_code}`' } } }), ...errors } } },
    async (request, reply) => {
      const body = request.body;
      const link = await links.createLink(
        {
          url: body.url,
          ...(body.alias === undefined ? {} : { alias: body.alias }),
          ...(body.expires_at === undefined ? {} : { expiresAt: new Date(body.expires_at) }),
          ...(body.expires_in === undefined ? {} : { expiresInS: body.expires_in }),
          ...(body.one_time === undefined ? {} : { oneTime: body.one_time }),
          ...(body.password === undefined ? {} : { password: body.password }),
          ...(body.tags === undefined ? {} : { tags: body.tags }),
          ...(body.max_visits === undefined ? {} : { maxVisits: body.max_visits }),
          ...(body.forward_query === undefined ? {} : { forwardQuery: body.forward_query }),
        },
        request.principal,
        { requestId: request.id },
      );
      return reply.code(201).header('location', `/urls/${link.code}`).send(view(link));
    },
  );

  app.get(
    '/urls',
    {
      schema: {
        summary:
          "The caller's links, newest first unless `sort`/`order` say; `tag`, `state`, `q` and the date ranges narrow them. The cursor pins the sort and order; the filters must be sent again with it",
        security,
        querystring: ListQuery,
        response: { 200: LinkPage, ...errors },
      },
    },
    async (request) => {
      const { limit, sort, order, options } = parseListQuery(request.query, new Date(deps.now()));
      const page = await links.listLinks(request.principal, { ...options, limit: limit + 1 });
      const items = page.slice(0, limit);
      const last = items[items.length - 1];
      return { items: items.map(view), next_cursor: page.length > limit && last ? encodeCursor(last, sort, order) : null };
    },
  );

  app.get(
    '/urls/:short_code',
    { schema: { summary: "A link's metadata", description: 'An anonymous link is read without a key; a key reads its own links (an admin key any).', security: keyOptional, params: CodeParams, response: { 200: Type.Ref('Link'), ...errors } } },
    async (request) => view(await links.getLink(request.params.short_code, request.principal)),
  );

  app.patch(
    '/urls/:short_code',
    {
      schema: {
        summary: 'Enable or disable a link, change its target, its expiry, its tags, its password, its visit limit or its query forwarding; every replica redirects by the change at once',
        security,
        params: CodeParams,
        body: PatchLinkBody,
        response: { 200: Type.Ref('Link'), ...errors },
      },
    },
    async (request) => {
      const { is_active, expires_at, url, tags, max_visits, forward_query, password } = request.body;
      const expiresAt = expires_at === undefined || expires_at === null ? expires_at : new Date(expires_at);
      // The date-time format admits a leap second (23:59:60) that Date cannot represent.
      if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new InvalidRequest('expires_at must be an ISO 8601 date-time.', 'invalid_expiry');
      const link = await links.updateLink(
        request.params.short_code,
        {
          ...(is_active === undefined ? {} : { isActive: is_active }),
          ...(url === undefined ? {} : { url }),
          ...(expiresAt === undefined ? {} : { expiresAt }),
          ...(password === undefined ? {} : { password }),
          ...(tags === undefined ? {} : { tags }),
          ...(max_visits === undefined ? {} : { maxVisits: max_visits }),
          ...(forward_query === undefined ? {} : { forwardQuery: forward_query }),
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
    {
      schema: {
        summary: 'Click analytics of a link over a range of UTC days: the daily series, and clicks by referrer, country, browser, OS and device; bot hits apart',
        security: keyOptional,
        params: CodeParams,
        querystring: AnalyticsQueryString,
        response: { 200: AnalyticsView, ...errors },
      },
    },
    async (request) => {
      const query = analyticsQuery(request.query, deps.now());
      const { link, analytics } = await links.getAnalytics(request.params.short_code, request.principal, query);
      return toAnalyticsView(link, query, analytics, deps.now());
    },
  );
}
