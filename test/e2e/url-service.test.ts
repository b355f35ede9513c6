// The real processes — two KGS and two URL services on the real PostgreSQL and Redis — driven over
// HTTP through the SDK, as a deployment with two replicas of each would be (the scenarios live in
// test/support/url-service-scenarios.ts, shared with the runs on other stores).
import { createTestDatabase } from '../support/postgres.ts';
import { openTestRedis } from '../support/redis.ts';
import { runUrlServiceScenarios } from '../support/url-service-scenarios.ts';

runUrlServiceScenarios('two URL services and two KGS on PostgreSQL and Redis', {
  async setUp() {
    const database = await createTestDatabase('e2e_url');
    const redis = await openTestRedis('e2e-url');
    return {
      databaseUrl: database.url,
      redisPrefix: redis.prefix,
      db: database.db,
      async tearDown() {
        await database.drop();
        await redis.cleanup();
      },
    };
  },
});
