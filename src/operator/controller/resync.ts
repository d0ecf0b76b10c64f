import type { OAuth2Client } from '../../sdk/types.js';
import type { OAuth2ClientResource } from '../api/oauth2client.js';
import { desiredClient, driftedFields } from './desired.js';

export type ResyncScope = 'full' | 'drift';

/**
 * Which resources a periodic pass queues, given every client the default server lists.
 * - drift (every 30 s by default): only resources that were Ready on the default server and whose client is now
 *   missing or differs. Resources that are not Ready are already being retried with backoff, and queueing them here
 *   would cut that backoff short every 30 s.
 * - full (every 5 min): also every resource that is not in line, those on another server, and those whose
 *   credentials come from a user-managed Secret (existingSecret), as a backstop to that Secret's watch.
 */
export function resourcesToQueue(
  scope: ResyncScope,
  resources: readonly OAuth2ClientResource[],
  onServer: ReadonlyMap<string, OAuth2Client>,
  isDefaultServer: (resource: OAuth2ClientResource) => boolean,
): OAuth2ClientResource[] {
  return resources.filter((resource) => {
    const onDefaultServer = isDefaultServer(resource);
    const id = resource.status?.clientId;
    const ready = resource.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    const actual = id ? onServer.get(id) : undefined;
    const clientInLine = actual !== undefined && driftedFields(desiredClient(resource, id!), actual).length === 0;
    if (scope === 'drift') return onDefaultServer && ready && id !== undefined && !clientInLine;
    return !onDefaultServer || Boolean(resource.spec.existingSecret) || !ready || !clientInLine;
  });
}
