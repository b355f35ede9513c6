// Request and response schemas of the URL service: the single source of validation, TypeScript
// types and the OpenAPI document. JSON is snake_case, like the design's fields.
import { Type, type Static } from '@sinclair/typebox';
import { MAX_URL_LENGTH } from '../../core/validation-message.ts';
import type { AnalyticsQuery, DimensionCount, LinkAnalytics, LinkRecord } from '../../storage/link-store.ts';
import { MAX_TAGS, MAX_TAGS_GIVEN, TAG_MAX_LENGTH, TAG_PATTERN_SOURCE, TAG_RULE } from '../../client/tag-rule.ts';
import { MAX_VISITS } from '../visit-limit.ts';

const Tags = (description: string) =>
  Type.Array(Type.String({ pattern: TAG_PATTERN_SOURCE, maxLength: TAG_MAX_LENGTH }), {
    maxItems: MAX_TAGS_GIVEN,
    description: `${description}: each ${TAG_RULE}; stored lower case, each once, sorted; at most ${MAX_TAGS} distinct (letter case aside), ${MAX_TAGS_GIVEN} as given`,
  });

export const Problem = Type.Ref('Problem');

/** 8..128 characters (code points, as ajv counts them); only its scrypt hash is kept, and it is never returned. */
const Password = Type.String({
  minLength: 8,
  maxLength: 128,
  description: 'Protects the link: 8 to 128 characters. Only a scrypt hash is stored; no answer ever shows it (`has_password` says whether one is set)',
});

export const CodeParams = Type.Object({ short_code: Type.String({ maxLength: 64 }) });

const MaxVisits = () =>
  Type.Integer({
    minimum: 1,
    maximum: MAX_VISITS,
    description:
      'Redirects the link gives people, 1..1,000,000,000; then it answers 410 `link_used`. Each is decided in the database, exactly, across replicas; bots get a preview page and HEAD does not count',
  });
const ForwardQuery = () =>
  Type.Boolean({
    description:
      "Add the short link's query string to the target's (default false): the target's parameters whose name the short link's query lacks, in order, then the short link's, in order (a name in both takes the short link's value, every occurrence of the target's dropped); the target's fragment stays last. A redirect without a query string, or one whose result would pass 2048 characters, leads to the target as it is",
  });

export const CreateLinkBody = Type.Object(
  {
    url: Type.String({ description: `Absolute http(s) URL, at most ${MAX_URL_LENGTH} characters (also once normalised)`, maxLength: MAX_URL_LENGTH }),
    alias: Type.Optional(Type.String({ description: 'Custom code: 3 to 10 of A-Z a-z 0-9 _ -', maxLength: 64 })),
    expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'ISO 8601 date-time with a time zone' })),
    expires_in: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_153_600_000, description: 'Seconds from now' })),
    one_time: Type.Optional(Type.Boolean({ description: 'The same as `max_visits: 1`; given with a `max_visits` that says otherwise, 400' })),
    max_visits: Type.Optional(MaxVisits()),
    forward_query: Type.Optional(ForwardQuery()),
    password: Type.Optional(Password),
    tags: Type.Optional(Tags('Tags')),
  },
  { additionalProperties: false },
);
export type CreateLinkBody = Static<typeof CreateLinkBody>;

export const PatchLinkBody = Type.Object(
  {
    is_active: Type.Optional(Type.Boolean()),
    url: Type.Optional(Type.String({ description: `A new target: the same rules as at creation, at most ${MAX_URL_LENGTH} characters`, maxLength: MAX_URL_LENGTH })),
    expires_at: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'null removes the expiry' })),
    max_visits: Type.Optional(
      Type.Union([MaxVisits(), Type.Null()], {
        description:
          'A new visit limit, 1..1,000,000,000, or null to remove it. At or below the visits already made, the link is used at once; above them (or with no limit), a used link is active again',
      }),
    ),
    forward_query: Type.Optional(ForwardQuery()),
    password: Type.Optional(Type.Union([Password, Type.Null()], { description: 'A new password (8 to 128 characters) sets or replaces it; null removes it' })),
    tags: Type.Optional(Tags('Replaces every tag of the link ([] removes them all)')),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const LinkView = Type.Object(
  {
    short_code: Type.String(),
    short_url: Type.String(),
    original_url: Type.String(),
    created_at: Type.String({ format: 'date-time' }),
    expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    is_one_time: Type.Boolean({ description: '`max_visits` is 1' }),
    max_visits: Type.Union([Type.Integer(), Type.Null()], { description: 'Redirects the link gives people; null = no limit' }),
    visits: Type.Integer({ description: 'Redirects that counted toward `max_visits` (counted only while a limit is set)' }),
    forward_query: Type.Boolean({ description: "The short link's query string is added to the target's" }),
    is_active: Type.Boolean(),
    is_expired: Type.Boolean(),
    is_custom_alias: Type.Boolean(),
    state: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('used'), Type.Literal('disabled')]),
    clicks: Type.Integer({ description: 'Redirects served to people, all time' }),
    bot_hits: Type.Integer({ description: 'Hits by bots, crawlers, link previews and HTTP libraries, all time; not clicks' }),
    last_clicked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    has_password: Type.Boolean({ description: 'A password protects the link (the password itself is never returned)' }),
    tags: Type.Array(Type.String(), { description: 'Lower case, sorted' }),
  },
  { $id: 'Link' },
);
export type LinkView = Static<typeof LinkView>;

const Day = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'A UTC day, YYYY-MM-DD' });
const Breakdown = (what: string) =>
  Type.Array(Type.Object({ name: Type.String(), clicks: Type.Integer() }), {
    description: `Clicks in the range by ${what}: the top \`top\`, most first, then "(other)" with the rest`,
  });

export const AnalyticsQueryString = Type.Object(
  {
    from: Type.Optional({ ...Day, description: 'First UTC day, inclusive (default: 89 days before `to`)' }),
    to: Type.Optional({ ...Day, description: 'Last UTC day, inclusive (default: today)' }),
    top: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'Values listed per breakdown, 1..100, default 10' })),
  },
  { additionalProperties: false },
);

export const AnalyticsView = Type.Object({
  short_code: Type.String(),
  clicks: Type.Integer({ description: 'Redirects served to people, all time' }),
  bot_hits: Type.Integer({ description: 'Hits by bots, crawlers, link previews and HTTP libraries, all time' }),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  is_one_time: Type.Boolean(),
  is_active: Type.Boolean(),
  is_expired: Type.Boolean(),
  state: Type.String(),
  last_clicked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  from: Day,
  to: Day,
  range_clicks: Type.Integer({ description: 'Clicks in the range' }),
  range_bot_hits: Type.Integer({ description: 'Bot hits in the range' }),
  daily: Type.Array(Type.Object({ date: Day, clicks: Type.Integer(), bot_hits: Type.Integer() }), { description: 'Days of the range with any hit, oldest first' }),
  referrers: Type.Array(Type.Object({ host: Type.String(), clicks: Type.Integer() }), {
    description: 'Clicks in the range by referrer host ("(direct)" = no Referer): the top `top`, then "(other)" with the rest',
  }),
  countries: Breakdown('country (ISO 3166-1 alpha-2, "(unknown)" when not known)'),
  browsers: Breakdown('browser'),
  operating_systems: Breakdown('operating system'),
  devices: Breakdown('device type: desktop, mobile, tablet or other'),
  bots: Type.Array(Type.Object({ name: Type.String(), hits: Type.Integer() }), {
    description: 'Bot hits in the range by bot: the top `top`, then "(other)" with the rest',
  }),
});

const DateTimeBound = (description: string) => Type.Optional(Type.String({ format: 'date-time', description: `ISO 8601 date-time with a time zone: ${description}` }));

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1..100, default 20' })),
    cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor of the previous page; it is bound to the sort and order it came from' })),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Only links whose code or target URL contains this text (any letter case), at least 3 characters, no control characters; empty = no filter' })),
    state: Type.Optional(
      Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('used'), Type.Literal('disabled')], { description: 'Only links in this state' }),
    ),
    tag: Type.Optional(
      Type.Union([Type.String({ maxLength: 700 }), Type.Array(Type.String({ maxLength: 700 }), { maxItems: MAX_TAGS_GIVEN })], {
        description: `Only links having every one of these tags (any letter case): repeat it (tag=a&tag=b) or separate with commas (tag=a,b); at most ${MAX_TAGS} distinct (letter case aside), ${MAX_TAGS_GIVEN} as given`,
      }),
    ),
    created_after: DateTimeBound('only links created at or after it'),
    created_before: DateTimeBound('only links created before it'),
    expires_after: DateTimeBound('only links expiring at or after it (never-expiring links do not match)'),
    expires_before: DateTimeBound('only links expiring before it (never-expiring links do not match)'),
    sort: Type.Optional(
      Type.Union([Type.Literal('created'), Type.Literal('clicks'), Type.Literal('last_click')], {
        description: 'created (default; the order links were stored in), clicks (by people, all time) or last_click (never-clicked links last in both orders)',
      }),
    ),
    order: Type.Optional(Type.Union([Type.Literal('desc'), Type.Literal('asc')], { description: 'desc (default) or asc; ties by creation in the same direction' })),
  },
  { additionalProperties: false },
);

export const LinkPage = Type.Object({ items: Type.Array(Type.Ref('Link')), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export const CreateKeyBody = Type.Object(
  {
    // A label for listings: no control characters (and PostgreSQL text cannot hold NUL at all).
    name: Type.Optional(Type.String({ maxLength: 100, pattern: '^[^\\u0000-\\u001F\\u007F]*$', description: 'A label, without control characters' })),
    is_admin: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const KeyView = Type.Object({
  id: Type.Integer(),
  key: Type.String({ description: 'Shown once; only its hash is stored' }),
  name: Type.Union([Type.String(), Type.Null()]),
  is_admin: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
});

/** A key as listings show it: never the key itself, only its first characters. */
export const KeyInfo = Type.Object({
  id: Type.Integer(),
  key_prefix: Type.String({ description: 'The first characters of the key, to tell keys apart' }),
  name: Type.Union([Type.String(), Type.Null()]),
  is_admin: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const KeyList = Type.Object({ items: Type.Array(KeyInfo) });

// Path parameters arrive as text (no type coercion here): a whole number within JavaScript's safe range.
export const KeyIdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,14}$', description: 'The id shown by GET /api-keys' }) });

export function linkState(link: LinkRecord, now: number): 'active' | 'expired' | 'used' | 'disabled' {
  if (!link.isActive) return 'disabled';
  if (link.consumedAt !== null) return 'used';
  if (link.isExpired || (link.expiresAt !== null && link.expiresAt.getTime() <= now)) return 'expired';
  return 'active';
}

export function toLinkView(link: LinkRecord, publicBaseUrl: string, now: number): LinkView {
  return {
    short_code: link.code,
    short_url: `${publicBaseUrl}/${link.code}`,
    original_url: link.url,
    created_at: link.createdAt.toISOString(),
    expires_at: link.expiresAt?.toISOString() ?? null,
    is_one_time: link.isOneTime,
    max_visits: link.maxVisits,
    visits: link.visits,
    forward_query: link.forwardQuery,
    is_active: link.isActive,
    is_expired: link.isExpired || (link.expiresAt !== null && link.expiresAt.getTime() <= now),
    is_custom_alias: link.isCustomAlias,
    state: linkState(link, now),
    clicks: link.clicks,
    bot_hits: link.botHits,
    last_clicked_at: link.lastClickedAt?.toISOString() ?? null,
    has_password: link.hasPassword,
    tags: link.tags,
  };
}

export function toAnalyticsView(link: LinkRecord, query: AnalyticsQuery, analytics: LinkAnalytics, now: number): Static<typeof AnalyticsView> {
  const view = toLinkView(link, '', now);
  const { dimensions } = analytics;
  const named = (list: DimensionCount[]) => list.map((v) => ({ name: v.value, clicks: v.count }));
  return {
    short_code: view.short_code,
    clicks: view.clicks,
    bot_hits: view.bot_hits,
    created_at: view.created_at,
    expires_at: view.expires_at,
    is_one_time: view.is_one_time,
    is_active: view.is_active,
    is_expired: view.is_expired,
    state: view.state,
    last_clicked_at: view.last_clicked_at,
    from: query.from,
    to: query.to,
    range_clicks: analytics.totals.clicks,
    range_bot_hits: analytics.totals.botHits,
    daily: analytics.daily.map((d) => ({ date: d.date, clicks: d.clicks, bot_hits: d.botHits })),
    referrers: dimensions.referrer.map((v) => ({ host: v.value, clicks: v.count })),
    countries: named(dimensions.country),
    browsers: named(dimensions.browser),
    operating_systems: named(dimensions.os),
    devices: named(dimensions.device),
    bots: dimensions.bot.map((v) => ({ name: v.value, hits: v.count })),
  };
}
