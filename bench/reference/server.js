// The reference OP for `python -m bench http` (issue 13): node-oidc-provider with the
// same clients, scopes and token formats as vhod's side of the bench.
//
// Environment (set by bench/http.py): REF_PORT, REF_ISSUER, REF_WORKERS (node:cluster
// workers), REF_JWKS (a file with the private JWK Set, RS256 and ES256, the same for
// every worker), REF_CLIENTS (a file with the clients), REF_REDIS_URL and REF_REDIS_PREFIX
// (the adapter below: tokens live in Redis so that any worker can introspect a token
// another one issued, as vhod's do).
//
// Tokens: client_credentials with resource indicators; each client's default resource
// decides the format: `urn:bench:jwt` → JWT signed RS256, `urn:bench:jwt-es256` → JWT
// signed ES256, `urn:bench:opaque` → opaque. The authorization-code client (no default
// resource: opaque access tokens for userinfo) gets refresh tokens, rotated on every use
// (`rotateRefreshToken`), as vhod's; its login and consent are the interaction below,
// which signs the bench's person in and grants what was asked without a page.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Redis from 'ioredis';
import Provider from 'oidc-provider';

const env = process.env;
const workers = Number(env.REF_WORKERS || 2);

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on('exit', (worker, code) => {
    if (code !== 0) console.error(`worker ${worker.process.pid} exited ${code}`);
  });
  const stop = () => {
    for (const worker of Object.values(cluster.workers)) worker.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const redis = new Redis(env.REF_REDIS_URL, { keyPrefix: env.REF_REDIS_PREFIX });

  class RedisAdapter {
    constructor(name) {
      this.name = name;
    }

    key(id) {
      return `${this.name}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const value = JSON.stringify(payload);
      const ex = expiresIn ? ['EX', expiresIn] : [];
      await redis.set(this.key(id), value, ...ex);
      // Sessions are found by uid too (a code bound to its session checks it).
      if (payload.uid) await redis.set(this.key(`uid:${payload.uid}`), id, ...ex);
    }

    async find(id) {
      const value = await redis.get(this.key(id));
      return value ? JSON.parse(value) : undefined;
    }

    async findByUid(uid) {
      const id = await redis.get(this.key(`uid:${uid}`));
      return id ? this.find(id) : undefined;
    }

    async findByUserCode() {
      return undefined;
    }

    async consume(id) {
      const found = await this.find(id);
      if (found) {
        found.consumed = Math.floor(Date.now() / 1000);
        const ttl = await redis.ttl(this.key(id));
        await this.upsert(id, found, ttl > 0 ? ttl : undefined);
      }
    }

    async destroy(id) {
      await redis.del(this.key(id));
    }

    async revokeByGrantId() {}
  }

  const clients = JSON.parse(readFileSync(env.REF_CLIENTS, 'utf8'));
  const provider = new Provider(env.REF_ISSUER, {
    adapter: RedisAdapter,
    clients,
    jwks: JSON.parse(readFileSync(env.REF_JWKS, 'utf8')),
    scopes: ['openid', 'diary', 'schedule'],
    cookies: { keys: ['bench-reference-cookie-key-not-a-secret'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // as vhod: a client introspects its own tokens
        allowedPolicy: (ctx, client, token) => token.clientId === client.clientId,
      },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client) => client.metadata().bench_resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          const alg = { 'urn:bench:jwt': 'RS256', 'urn:bench:jwt-es256': 'ES256' }[resource];
          return {
            scope: 'diary schedule',
            audience: resource,
            accessTokenTTL: 600,
            accessTokenFormat: alg ? 'jwt' : 'opaque',
            ...(alg ? { jwt: { sign: { alg } } } : {}),
          };
        },
      },
    },
    extraClientMetadata: { properties: ['bench_resource'] },
    ttl: { ClientCredentials: 600 },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.on('grant.error', (ctx, err) => console.error('grant.error', err.error_detail || err));

  // The interaction: sign in `bench-person` and grant the requested OpenID scopes.
  const interaction = async (req, res) => {
    try {
      const details = await provider.interactionDetails(req, res);
      const accountId = details.session?.accountId || 'bench-person';
      const grant =
        (details.grantId && (await provider.Grant.find(details.grantId))) ||
        new provider.Grant({ accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    } catch (err) {
      console.error('interaction', err);
      res.statusCode = 500;
      res.end(String(err));
    }
  };
  const callback = provider.callback();
  http
    .createServer((req, res) =>
      req.url.startsWith('/interaction/') ? interaction(req, res) : callback(req, res),
    )
    .listen(Number(env.REF_PORT), '127.0.0.1');
}
