// A link as the API shows it (GET /urls/{code}), for tests of what prints or reads one: an active
// link made 2026-11-01 09:30 UTC, never clicked, with nothing set but what `overrides` says.
import type { Link } from '../../src/client/curt-client.ts';

export function linkView(overrides: Partial<Link> & { short_code: string }): Link {
  return {
    short_url: `http://localhost:8080/${overrides.short_code}`,
    original_url: 'https://example.com/',
    created_at: '2026-11-01T09:30:00.000Z',
    expires_at: null,
    is_one_time: false,
    max_visits: null,
    visits: 0,
    forward_query: false,
    is_active: true,
    is_expired: false,
    is_custom_alias: false,
    state: 'active',
    clicks: 0,
    bot_hits: 0,
    last_clicked_at: null,
    tags: [],
    has_password: false,
    ...overrides,
  };
}
