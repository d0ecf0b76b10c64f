import type { FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from '../errors.js';
import type { OAuth2Service } from '../oauth2/service.js';
import { scopeCovers } from '../oauth2/scope.js';
import type { PolicyService } from '../policy/service.js';

export interface Authorization {
  scope: string;
  /** Resource name without the configurable prefix, e.g. `clients:<id>`. */
  resource: string;
  action: string;
  context?: Record<string, string | undefined>;
}

export interface Caller {
  subject: string;
  clientId: string;
  scopes: string[];
}

/** Management calls: a bearer token from this server, holding the area's scope, and a policy that allows the action. */
export class ManagementGuard {
  constructor(
    private readonly oauth2: OAuth2Service,
    private readonly policies: PolicyService,
    private readonly resourcePrefix: string,
  ) {}

  async authenticate(request: FastifyRequest): Promise<Caller> {
    const header = request.headers.authorization;
    if (!header) throw unauthorized('the Authorization header is missing; send "Authorization: Bearer <access token>"');
    const match = /^bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <access token>"');
    const record = await this.oauth2.activeAccessToken(match[1]!);
    if (!record) throw unauthorized('the access token is invalid, expired or revoked');
    return { subject: record.subject, clientId: record.clientId, scopes: record.scopes };
  }

  /** Checks an already authenticated caller; split from authenticate so a route can load the resource in between. */
  async authorize(request: FastifyRequest, caller: Caller, what: Authorization): Promise<void> {
    if (!scopeCovers(caller.scopes, what.scope)) throw forbidden(`the access token was not granted the scope "${what.scope}"`);
    const resource = `${this.resourcePrefix}:${what.resource}`;
    const decision = await this.policies.decide({
      subject: caller.subject,
      resource,
      action: what.action,
      context: { remoteIP: request.ip, ...what.context },
    });
    if (!decision.allowed) throw forbidden(`subject "${caller.subject}" may not ${what.action} ${resource}: ${decision.reason}`);
  }

  /** authenticate and authorize in one step, for routes that need nothing from the resource first. */
  async require(request: FastifyRequest, what: Authorization): Promise<Caller> {
    const caller = await this.authenticate(request);
    await this.authorize(request, caller, what);
    return caller;
  }
}
