import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import { openDatabase, migrateToLatest, pendingMigrations, ping, type DatabaseHandle } from '../db/database.js';
import { Keyring, deriveKey } from '../crypto/keys.js';
import { KeyedSecretHash } from '../crypto/keyed-secret-hash.js';
import { SecretMinter } from '../crypto/minted-secret.js';
import { OpaqueTokens } from '../crypto/opaque-token.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { ManagementGuard } from './auth/guard.js';
import { registerManagementAuth } from './auth/management.js';
import { registerDeclaredInput } from './openapi/declare.js';
import type { RegisteredRoute } from './openapi/document.js';
import { bootstrapRootClient, recordSystemSecrets, resolveSystemSecret, systemSecretsFor, type RootClientResult } from './bootstrap.js';
import { VerifiedCredentialCache } from './client/credential-cache.js';
import { clientRoutes } from './client/routes.js';
import { ClientManagers } from './client/managers.js';
import { AuthFailureLimiter } from './client/auth-failure-limiter.js';
import { ClientSecrets } from './client/secrets.js';
import { ClientService } from './client/service.js';
import { ClientCorsOrigins } from './client/cors-origins.js';
import { SqlClientStore } from './client/store.js';
import { discoveryRoutes } from './discovery/routes.js';
import { healthRoutes } from './health/routes.js';
import { ApiError } from './errors.js';
import { clientErrorHandler, registerCors, registerManagementErrors, registerObservability, requestIdOf } from './http.js';
import { KeyService } from './jwk/service.js';
import { SqlKeyStore } from './jwk/store.js';
import { HeldRefusals } from './oauth2/held-refusals.js';
import { TokenBuckets } from './token-buckets.js';
import { AUTHORIZATION_ENDPOINT_GRANTS, SUPPORTED_RESPONSE_TYPES } from './authorize/request.js';
import { authorizeRoutes } from './authorize/routes.js';
import { AuthorizeService } from './authorize/service.js';
import { consentRoutes } from './consent/routes.js';
import { devConsentRoutes } from './dev-consent/routes.js';
import { ConsentService } from './consent/service.js';
import { SqlConsentStore } from './consent/store.js';
import { ExpiredRows } from '../db/expired-rows.js';
import { SqlGrantStore } from './oauth2/grant-store.js';
import { IdTokenSigner } from './oauth2/id-token.js';
import { TokenIssuer } from './oauth2/issuer.js';
import { oauth2Routes } from './oauth2/routes.js';
import { OAuth2Service } from './oauth2/service.js';
import { TokenJanitor } from './oauth2/janitor.js';
import { IdleMemoryReclaimer, exposedGarbageCollector } from './idle-memory.js';
import { SqlTokenStore } from './oauth2/token-store.js';
import { PolicyService } from './policy/service.js';
import { SqlPolicyStore } from './policy/store.js';

export interface Server {
  app: FastifyInstance;
  database: DatabaseHandle;
  logger: Logger;
  /** Set on the start that created the root client. */
  rootClient: RootClientResult | undefined;
  /** Every method and path the server registered (HEAD routes included, as Fastify adds them). */
  routes: readonly ServedRoute[];
  /** Set when this start generated the system secret file. */
  generatedSystemSecretFile: string | undefined;
  close(): Promise<void>;
}

/** A route as registered, with the declarations the OpenAPI document is generated from (openapi/document.ts). */
export type ServedRoute = RegisteredRoute;

export interface ServerOptions {
  logger?: Logger;
  /** Run pending migrations on PostgreSQL too (SQLite always migrates). */
  migrate?: boolean;
  processMetrics?: boolean;
  /** Mount the development login-and-consent page (`serve --dev`); CONSENT_URL should point at it. */
  devConsent?: boolean;
}

/** How soon a replica sees the CORS origins another replica's clients were given. */
const CLIENT_ORIGINS_RELOAD_MS = 30_000;

/** Wires storage, services and routes; the caller decides whether and where to listen. */
export async function createServer(config: Config, options: ServerOptions = {}): Promise<Server> {
  const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const metrics = new Metrics({ processMetrics: options.processMetrics ?? false });
  const database = openDatabase(config.DATABASE_URL, {
    // The WAL stays bounded meanwhile (the main connection's backstop), but reads slow down as it grows.
    onCheckpoint: (event) => {
      if (event.failure) {
        metrics.checkpointFailures.inc();
        logger.warn({ reason: event.failure }, 'SQLite checkpoints are failing; the WAL grows until they work again');
      } else if (event.recovered) logger.info('SQLite checkpoints work again');
    },
  });
  try {
    await prepareSchema(database, options.migrate ?? false);
    const { secret, generatedAt } = resolveSystemSecret(config.SYSTEM_SECRET, database.sqlitePath, config.DATABASE_URL === 'memory');
    const keyring = new Keyring(await systemSecretsFor(database.db, secret));

    const policyStore = new SqlPolicyStore(database.db);
    const policies = new PolicyService(policyStore, config.POLICIES);
    const clientStore = new SqlClientStore(database.db, database.kind, database.makeDurable);
    // Clients' own CORS origins count only where CORS is on (as in Hydra) and not already open to every origin.
    const clientOrigins =
      config.CORS_ENABLED && !config.CORS_ALLOWED_ORIGINS.includes('*')
        ? new ClientCorsOrigins(
            () => clientStore.listCorsOrigins(),
            CLIENT_ORIGINS_RELOAD_MS,
            (error) => logger.warn({ err: error }, 'could not reload the CORS origins of clients; the ones known are kept'),
          )
        : undefined;
    const clients = new ClientService(
      clientStore,
      new ClientSecrets(
        new SecretMinter(keyring.all('secret-check')),
        new KeyedSecretHash(keyring.all('secret-storage')),
        new VerifiedCredentialCache(keyring.primary('credential-cache'), config.CREDENTIAL_CACHE_SIZE),
        (scheme, purpose) => metrics.secretHashes.inc({ scheme, purpose }),
      ),
      new ClientManagers(policies, config.RESOURCE_NAME_PREFIX),
      config.AUTH_FAILURE_BURST > 0
        ? new AuthFailureLimiter({
            burst: config.AUTH_FAILURE_BURST,
            addressBurst: config.AUTH_FAILURE_ADDRESS_BURST,
            ratePerSecond: config.AUTH_FAILURE_RATE,
          })
        : undefined,
      clientOrigins,
    );
    // How long a retired signing key stays published; no ID token, whatever its client's lifespan, may outlive it.
    const keyPublicationMs = Math.max(config.ID_TOKEN_LIFESPAN, config.ACCESS_TOKEN_LIFESPAN);
    const keys = new KeyService(new SqlKeyStore(database.db), keyring.all('jwk-encryption'), keyPublicationMs);
    const tokenStore = new SqlTokenStore(database.db);
    const grantStore = new SqlGrantStore(database.db, database.makeDurable);
    const expiredRows = new ExpiredRows(database.db, database.kind);
    const issuerUrl = config.ISSUER.replace(/\/+$/, '');
    const tokenHmacKeys = keyring.all('token-hmac');
    const issuer = new TokenIssuer(
      {
        accessToken: new OpaqueTokens(tokenHmacKeys, 'accessToken'),
        refreshToken: new OpaqueTokens(tokenHmacKeys, 'refreshToken'),
        authorizationCode: new OpaqueTokens(tokenHmacKeys, 'authorizationCode'),
      },
      tokenStore,
      grantStore,
      new IdTokenSigner(keys, { issuer: issuerUrl, lifespanMs: config.ID_TOKEN_LIFESPAN }),
      {
        accessTokenMs: config.ACCESS_TOKEN_LIFESPAN,
        authorizationCodeMs: config.AUTH_CODE_LIFESPAN,
        refreshTokenMs: config.REFRESH_TOKEN_LIFESPAN,
        idTokenMs: config.ID_TOKEN_LIFESPAN,
        idTokenCeilingMs: keyPublicationMs,
      },
    );
    const oauth2 = new OAuth2Service(clients, tokenStore, grantStore, issuer, { issuer: issuerUrl }, metrics, expiredRows);
    const consent = new ConsentService(
      new SqlConsentStore(database.db),
      { issuer: issuerUrl, lifespanMs: config.CHALLENGE_TOKEN_LIFESPAN },
      config.COOKIE_SECRET ? deriveKey(config.COOKIE_SECRET, 'cookie') : keyring.primary('cookie'),
    );
    const authorize = new AuthorizeService(
      clients,
      consent,
      issuer,
      { consentUrl: config.CONSENT_URL },
      config.AUTHORIZE_ADDRESS_BURST > 0 ? { buckets: new TokenBuckets(config.AUTHORIZE_ADDRESS_RATE), burst: config.AUTHORIZE_ADDRESS_BURST } : undefined,
    );
    const guard = new ManagementGuard(oauth2, policies, config.RESOURCE_NAME_PREFIX);

    const rootClient = await bootstrapRootClient({
      clients,
      policies: policyStore,
      forcedCredentials: config.FORCE_ROOT_CLIENT_CREDENTIALS,
      resourcePrefix: config.RESOURCE_NAME_PREFIX,
    });
    if (rootClient?.recreated) logger.warn({ client: rootClient.id }, 'the root client was missing: created it again from FORCE_ROOT_CLIENT_CREDENTIALS');
    await keys.ensureSigningKey();
    const resealed = await keys.resealUnderFirstSecret();
    if (resealed) logger.info({ resealed }, 'sealed signing keys again under the first SYSTEM_SECRET');
    // Only now, with every key open under these secrets, do they become what the next start is checked against.
    await recordSystemSecrets(database.db, keyring.secrets);
    // The root client, the policies, the signing key and the secrets' record may all be new: before anyone is told
    // about them (the root client's secret, the keys in /.well-known/jwks.json), they must survive power loss.
    await database.makeDurable();
    const underPrevious = await clients.countSecretsUnderPreviousSystemSecrets();
    if (underPrevious) {
      logger.warn(
        { clients: underPrevious, systemSecrets: keyring.secrets.length },
        keyring.secrets.length > 1
          ? 'client secrets still hashed under a previous SYSTEM_SECRET: keep it listed until these clients authenticate once (they are re-hashed then) or get new secrets'
          : 'client secrets hashed under a SYSTEM_SECRET that is no longer configured: these clients cannot authenticate until it is listed again (after the current one) or they get new secrets',
      );
    }
    await policies.reload();

    // Fastify's own logger type, so that the instance's type is the plain FastifyInstance the route plugins take.
    const baseLogger: FastifyBaseLogger = logger;
    const app = Fastify({
      loggerInstance: baseLogger,
      // One access-log line per request comes from registerObservability, instead of Fastify's two.
      logController: new LogController({ disableRequestLogging: true }),
      genReqId: requestIdOf,
      bodyLimit: config.BODY_LIMIT,
      // Behind an ingress every caller would share the proxy's address, and one guesser would limit them all.
      trustProxy: typeof config.TRUST_PROXY === 'number' ? trustHops(config.TRUST_PROXY) : config.TRUST_PROXY,
      // Fastify's default of no request timeout would let a client that trickles its body hold a connection forever.
      requestTimeout: config.REQUEST_TIMEOUT,
      keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT,
      http: {
        // Also here, for Node's check at creation that the header timer does not outlast it (Fastify sets it later).
        requestTimeout: config.REQUEST_TIMEOUT,
        headersTimeout: config.HEADERS_TIMEOUT,
        // Node enforces both timers by sweeping the connections every 30 s by default, which would let a 10 s header
        // timeout run to 40 s; a tenth of the shorter timer keeps them within 10 %. The sweep visits only
        // connections with a request in progress.
        connectionsCheckingInterval: Math.max(100, Math.round(config.HEADERS_TIMEOUT / 10)),
      },
      return503OnClosing: true,
      // Client ids may be 255 characters, up to three times that once percent-encoded; Fastify's default is 100.
      routerOptions: { maxParamLength: 1024 },
      // What Node's HTTP parser refuses never becomes a request: answer it in our envelope too.
      clientErrorHandler,
      // A malformed or overlong URL is refused by the router before any hook runs: answer it in our envelope too.
      frameworkErrors: (error, request, reply) => {
        const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
        (reply as FastifyReply).code(status).header('X-Request-ID', request.id).send(new ApiError(status, error.message).toBody(request.id));
      },
    });
    // Node drops connections above this at accept, before they cost a parser or a request.
    app.server.maxConnections = config.MAX_CONNECTIONS;
    registerObservability(app, metrics);
    const janitor = new TokenJanitor(
      expiredRows,
      { intervalMs: config.JANITOR_INTERVAL, retentionMs: config.JANITOR_RETENTION, batchSize: config.JANITOR_BATCH_SIZE },
      metrics,
      logger,
    );
    const collectGarbage = config.IDLE_GC_AFTER > 0 ? exposedGarbageCollector() : undefined;
    if (config.IDLE_GC_AFTER > 0 && !collectGarbage)
      logger.info(
        'IDLE_GC_AFTER is set but this process has no gc function (started without --expose-gc, e.g. not through bin/gatehouse.js): memory is left to V8',
      );
    const reclaimer =
      collectGarbage &&
      new IdleMemoryReclaimer(
        collectGarbage,
        { idleMs: config.IDLE_GC_AFTER, minGrowthBytes: 8 * 1024 * 1024 },
        (freed) => {
          metrics.idleCollections.inc();
          metrics.idleCollectionFreed.inc(freed);
        },
        (error) => logger.warn({ err: error }, 'the idle garbage collection failed'),
      );
    // A listener on the Node server, not a Fastify hook: it sees every request at the cost of one call. Probes and
    // scrapes are not load: a kubelet's or Prometheus's visits must not keep the server from ever counting as idle.
    if (reclaimer)
      app.server.on('request', (request: { url?: string }, response: { once(event: 'close', listener: () => void): void }) => {
        if (!request.url?.startsWith('/health/') && !request.url?.startsWith('/metrics')) response.once('close', reclaimer.noteRequest());
      });
    // On shutdown, a keep-alive connection whose request was in flight would otherwise stay open for the whole
    // keep-alive timeout (KEEP_ALIVE_TIMEOUT) and hold app.close() that long; "Connection: close" ends it with the response.
    let closing = false;
    // Callback style: this runs on every response, where an async hook would cost a promise each time.
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (closing) reply.header('connection', 'close');
      done(null, payload);
    });
    await registerCors(app, config, clientOrigins);
    registerManagementErrors(app);
    // What this server serves, as registered: the OpenAPI document is generated from it.
    const routes: ServedRoute[] = [];
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url, config: route.config, schema: route.schema });
    });
    // Before any route is registered: they give each route that declares a management rule its check, and each route
    // that declares its input the parsing of it (after the check).
    registerManagementAuth(app, guard);
    registerDeclaredInput(app);
    await app.register(
      healthRoutes({
        checkDatabase: async () => {
          await ping(database.db);
          const failure = database.durabilityFailure();
          if (failure) throw failure;
        },
        metrics,
      }),
    );
    await app.register(
      discoveryRoutes({
        issuer: config.ISSUER,
        keys,
        grantTypes: [...oauth2.grantTypes, ...AUTHORIZATION_ENDPOINT_GRANTS],
        responseTypes: SUPPORTED_RESPONSE_TYPES,
      }),
    );
    await app.register(clientRoutes({ clients, allowHttpRedirectUris: config.ALLOW_HTTP_REDIRECT_URIS, maxIdTokenLifespanMs: keyPublicationMs }));
    const heldRefusals = new HeldRefusals({ delayMs: config.AUTH_FAILURE_DELAY, maxHeld: config.MAX_CONNECTIONS });
    metrics.heldRefusals = () => heldRefusals.held;
    await app.register(oauth2Routes({ oauth2, guard, heldRefusals }));
    await app.register(consentRoutes({ consent }));
    await app.register(authorizeRoutes({ authorize, issuer: issuerUrl }));
    if (options.devConsent) await app.register(devConsentRoutes({ consent, clients }));

    await clientOrigins?.start();
    janitor.start();
    await reclaimer?.start();
    return {
      app,
      database,
      logger,
      rootClient,
      routes,
      generatedSystemSecretFile: generatedAt,
      async close() {
        closing = true;
        heldRefusals.close();
        clientOrigins?.stop();
        await janitor.stop();
        await reclaimer?.stop();
        await app.close();
        await database.close();
        await new Promise<void>((resolve) => logger.flush(() => resolve()));
      },
    };
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
}

async function prepareSchema(database: DatabaseHandle, migrate: boolean): Promise<void> {
  if (database.kind === 'sqlite' || migrate) {
    await migrateToLatest(database.db);
    return;
  }
  const pending = await pendingMigrations(database.db);
  if (pending.length) {
    throw new ConfigError(`the PostgreSQL schema is not up to date (pending: ${pending.join(', ')}); run \`gatehouse migrate\` or start with --migrate`);
  }
}

/** proxy-addr's hop count: the last `hops` addresses in X-Forwarded-For are proxies, the one before them the caller. */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}
