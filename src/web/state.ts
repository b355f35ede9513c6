// What every page shares: the instance's config, the signed-in API key, and the live region.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { CurtClient, InstanceConfig } from '../client/curt-client.ts';

export interface Session {
  /** null until GET /api/config answered. */
  config: InstanceConfig | null;
  apiKey: string | null;
  /** null: not known yet (or no key). */
  isAdmin: boolean | null;
  client: CurtClient;
  signIn: (key: string, remember: boolean) => Promise<void>;
  signOut: () => void;
  /** Says `message` in the live region, for screen readers (results and errors of actions). */
  announce: (message: string) => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside the app');
  return session;
}
