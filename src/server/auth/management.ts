import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ManagementGuard } from './guard.js';

/**
 * How a management route is authorized, declared in its route options (`config.management`) and enforced by one
 * preHandler hook (registerManagementAuth), so no route can forget it and none repeats it.
 */
export interface ManagementRule {
  /** The OAuth 2.0 scope the bearer token must hold. */
  scope: string;
  action: string;
  /** The policy resource after the configured prefix, e.g. `clients`, or from the target's id (`clients:<id>`). */
  resource: string | ((id: string) => string);
  /**
   * For a route about one object: its id from the request, checked before anyone is authenticated (a malformed id
   * is a 400 whoever asks), and how to load it once the caller is: its owner is the policy's context, and the
   * handler finds it in request.managedTarget instead of loading it again.
   */
  target?: {
    id: (request: FastifyRequest) => string;
    load: (id: string) => Promise<object | undefined>;
  };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    management?: ManagementRule;
  }
  interface FastifyRequest {
    /** What a management route's rule loaded (undefined when the target does not exist). */
    managedTarget: unknown;
  }
}

/**
 * Gives every route declared with `config.management` the preHandler that enforces its rule, when the route is
 * registered: routes without a rule (the token endpoint's hot path among them) run no hook at all. Must be called on
 * the root instance before the route plugins are registered.
 */
export function registerManagementAuth(app: FastifyInstance, guard: ManagementGuard): void {
  app.decorateRequest('managedTarget', undefined);
  app.addHook('onRoute', (route) => {
    const rule = route.config?.management;
    if (!rule) return;
    const enforce = async (request: FastifyRequest) => {
      const id = rule.target?.id(request);
      const caller = await guard.authenticate(request);
      const target = id === undefined ? undefined : await rule.target!.load(id);
      request.managedTarget = target;
      await guard.authorize(request, caller, {
        scope: rule.scope,
        resource: typeof rule.resource === 'string' ? rule.resource : rule.resource(id ?? ''),
        action: rule.action,
        ...(rule.target ? { context: { owner: ownerOf(target) } } : {}),
      });
    };
    const existing = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    route.preHandler = [enforce, ...existing];
  });
}

const ownerOf = (target: object | undefined) => (target && 'owner' in target && typeof target.owner === 'string' ? target.owner : undefined);
