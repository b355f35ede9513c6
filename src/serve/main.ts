// `curt serve` (what `npm start` runs): reads configuration, claims the data folder, starts everything
// in one process, prints where it is, and shuts down without losing clicks or codes.
import { resolve } from 'node:path';
import { loadServeConfig, type Env } from '../core/config.ts';
import { hostRefusal } from '../core/host-refusal.ts';
import { createLogger } from '../core/logger.ts';
import { onShutdown } from '../core/shutdown.ts';
import { startupSummary } from './banner.ts';
import { claimDataDir } from './data-dir.ts';
import { startServe } from './serve.ts';

export async function serve(env: Env, print: (text: string) => void): Promise<void> {
  const config = loadServeConfig(env);
  const log = createLogger({ service: 'curt-serve', level: config.service.logLevel });
  // Relative to the working directory: `npm start` runs in the project folder, so ./data is there.
  const dataDir = resolve(config.dataDir);
  // The embedded database's files are this user's alone (folders 0700, files 0600), whatever the
  // shell's umask: nothing else this process writes is meant for other users either.
  if (config.databaseUrl === null) process.umask(0o077);
  const release = config.databaseUrl === null ? await claimDataDir(dataDir) : async () => undefined;
  const served = await startServe(config, dataDir, log).catch(async (err: unknown) => {
    await release();
    throw hostRefusal(err, config.service.listen.host) ?? err;
  });
  print(
    startupSummary({ served, publicBaseUrl: config.service.publicBaseUrl, allowAnonymous: config.service.allowAnonymous, host: config.service.listen.host }),
  );
  onShutdown(
    log,
    async (drain) => {
      const lost = await served.stop(performance.now() + config.service.shutdownTimeoutMs, drain);
      await release();
      // The one line a stop prints (info logs are off in this mode): every click counted was written.
      // Bot hits (curl, crawlers, link previews) are said apart: a redirect tried with curl is one.
      const { clicks, botHits } = await served.clicksWritten();
      const bots = botHits > 0 ? ` and ${botHits} ${botHits === 1 ? 'bot hit' : 'bot hits'}` : '';
      print(`Stopped: ${clicks} ${clicks === 1 ? 'click' : 'clicks'}${bots} written since start${lost > 0 ? `, ${lost} lost` : ''}.\n`);
      // Exit 1: clicks were lost, and whoever stopped the process should be able to tell.
      if (lost > 0) throw new Error(`${lost} counted clicks could not be written to the database`);
    },
    config.service.shutdownTimeoutMs,
  );
}
