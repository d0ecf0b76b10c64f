/** A mistake in how the command was called: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const HELP: Record<string, string> = {
  main: `gatehouse — OAuth 2.0 / OpenID Connect server and Kubernetes operator

Usage: gatehouse <command> [options]

Commands:
  serve            run the authorization server
  migrate          apply database migrations (needed for PostgreSQL)
  clients          create | get | list | update | delete OAuth 2.0 clients on a running server, or mint a secret
  token client     print a client-credentials access token
  keys rotate      add a new ID-token signing key and retire the current one
  operator         run the Kubernetes operator for OAuth2Client resources

Options:
  -h, --help       this text; \`gatehouse <command> --help\` shows a command's options
  -V, --version    print the version of gatehouse and of Node.js

Commands that print data take -o, --output table|json|yaml: a table at a terminal by default, otherwise what
scripts read (JSON for clients).`,
  serve: `Usage: gatehouse serve [--config FILE] [--migrate] [--dev]

Runs the server. Settings come from environment variables (DATABASE_URL, SYSTEM_SECRET, ISSUER, PORT, …) and an
optional YAML file with the same keys; the environment wins.
  --config FILE   YAML configuration file
  --migrate       apply pending migrations first (SQLite always does)
  --dev           mount a development sign-in page at /dev/consent and point CONSENT_URL at it (anyone can sign
                  in as anyone: never in production)
Connections (durations such as 30s or 2m):
  REQUEST_TIMEOUT     time to receive a whole request, headers and body; 408 and closed after (30s)
  HEADERS_TIMEOUT     time to receive the request line and headers; at most REQUEST_TIMEOUT (10s)
  KEEP_ALIVE_TIMEOUT  how long an idle connection is kept for the next request (72s)
  MAX_CONNECTIONS     open connections at most; more are closed on accept (10000)
Storage:
  JANITOR_INTERVAL    how often expired tokens, codes and consent requests are deleted (10m; off: only POST /oauth2/flush)
  JANITOR_RETENTION   how long a token is kept after it expired (1h); JANITOR_BATCH_SIZE rows a statement (1000)
Browser flow:
  CONSENT_URL         the login-and-consent app browsers are sent to, with ?consent=<id> (--dev: the built-in page)
  REFRESH_TOKEN_LIFESPAN, AUTH_CODE_LIFESPAN, CHALLENGE_TOKEN_LIFESPAN (consent requests): 720h, 10m, 10m
Client authentication:
  AUTH_FAILURE_BURST  failed client authentications per client id before 429 (10; 0: both limits off)
  AUTH_FAILURE_ADDRESS_BURST  the same per source address (100)
  AUTH_FAILURE_RATE   failures forgiven per second (1)
  AUTH_FAILURE_DELAY  how long a 429 is held before it is sent, at most its Retry-After (1s; off: at once)
  TRUST_PROXY         whose X-Forwarded-For gives the caller's address: true, hops, or proxy CIDRs (false)
FORCE_ROOT_CLIENT_CREDENTIALS=<id>:<secret> creates that root client, with its admin policy, on any start where it is
missing: the way back when no client can manage clients any more.`,
  migrate: `Usage: gatehouse migrate [--config FILE]

Applies pending database migrations to DATABASE_URL and exits.`,
  clients: `Usage: gatehouse clients <create|get|list|update|delete|mint-secret> [options]

Talks to a running server, authenticating with client credentials.
Connection (or GATEHOUSE_ENDPOINT, GATEHOUSE_CLIENT_ID, GATEHOUSE_CLIENT_SECRET):
  --endpoint URL         server URL (default http://localhost:4444)
  --client-id ID         management client id
  --client-secret SECRET management client secret
Commands:
  create [fields]        prints the new client, with its secret (minted by the server unless --secret; shown once)
  get <id>
  list [--limit N] [--offset N]
  update <id> [fields]   replaces the client; the secret is kept unless --secret is given
  delete <id>
  mint-secret            prints a secret minted by the server and stored nowhere yet; a client created or
                         updated with it (--secret) is checked in microseconds, a chosen secret costs an scrypt
Fields:
  --file FILE            JSON body of the client (fields below override it)
  --id ID  --name NAME  --secret SECRET  --scope "a b"  --owner OWNER  --public
  --redirect-uri URI     repeatable, or comma separated
  --grant-type TYPE      repeatable, or comma separated
  --response-type TYPE   repeatable, or comma separated
  --policy-uri --tos-uri --client-uri --logo-uri URI  --contact ADDRESS (repeatable)
Output:
  -o, --output FORMAT    table (default at a terminal), json (default when piped) or yaml`,
  token: `Usage: gatehouse token client [--scope "a b"] [connection options of \`gatehouse clients\`]

Gets a token with the client credentials grant. At a terminal it prints the whole token response as a table;
piped, just the access token, so \`TOKEN=$(gatehouse token client)\` works.
  -o, --output FORMAT    table, json or yaml: the whole token response in that format
  --json                 same as -o json`,
  operator: `Usage: gatehouse operator [options]

Reconciles OAuth2Client resources against a Gatehouse server and writes credentials into Secrets.
Each option also reads an environment variable (in brackets); options win.
  --server-url URL         default server for resources without spec.server [GATEHOUSE_SERVER_URL]
  --client-id ID           the operator's own management client [GATEHOUSE_CLIENT_ID]
  --client-secret SECRET   its secret [GATEHOUSE_CLIENT_SECRET]
  --namespaces a,b         namespaces to watch; all when empty [WATCH_NAMESPACES]
  --selector LABELS        only resources matching this label selector [RESOURCE_SELECTOR]
  --workers N              concurrent reconciles (4) [WORKERS]
  --resync DURATION        how often every resource is reconciled again (5m) [RESYNC_PERIOD]
  --drift-check DURATION   how often the server's clients are listed to restore lost or changed ones; writes
                           nothing when nothing drifted (30s) [DRIFT_CHECK_PERIOD]
  --health-probe-bind-address ADDR
                           /healthz and /readyz, e.g. :8081 [HEALTH_PROBE_BIND_ADDRESS]
  --metrics-bind-address ADDR
                           /metrics on a listener of its own, e.g. :8080; 0 turns metrics off; unset, /metrics
                           is served beside the probes [METRICS_BIND_ADDRESS]
  --health-port N          the probes' port when no bind address is given (8081) [HEALTH_PORT]
  --health-host HOST       (0.0.0.0) [HEALTH_HOST]
  --leader-elect BOOL      elect a leader through a Lease (true) [LEADER_ELECT]
  --lease-namespace NS     namespace of the Lease (default) [POD_NAMESPACE]
  --lease-name NAME        (gatehouse-operator) [LEASE_NAME]
  --identity NAME          this replica's name in the Lease (host-pid) [POD_NAME]
  --kubeconfig FILE        outside a cluster; in-cluster config otherwise [KUBECONFIG]
  --log-level LEVEL        (info) [LOG_LEVEL]`,
  keys: `Usage: gatehouse keys rotate [--config FILE] [-o table|json|yaml]

Adds a new ID-token signing key; the previous public key stays published until tokens it signed have expired.
Works on the database directly (DATABASE_URL, SYSTEM_SECRET).
  -o, --output FORMAT    table, json or yaml; piped without it, a one-line summary`,
};
