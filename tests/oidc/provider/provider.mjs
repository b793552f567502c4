// A real OpenID Provider (oidc-provider) on loopback for kidrate's tests.
//
// One JSON configuration in the environment variable OIDC_TEST_CONFIG:
//   {"port": 0 or n, "clients": [{client_id, client_secret, redirect_uris, post_logout_redirect_uris, ...}],
//    "accounts": {"<login name>": {sub, email, email_verified, name, groups, amr, acr}},
//    "jwks": {"keys": [<private RSA JWK>]}}          (jwks optional: a key is generated when absent)
//
// Authorization code flow with PKCE (S256, required), client_secret_basic / client_secret_post, scopes
// openid email profile groups; the ID token carries the scopes' claims plus amr and acr of the sign-in.
// Its own minimal interaction: a form with one field "login"; consent is granted without a page.
// RP-initiated logout with oidc-provider's confirmation form.
// Test knobs: POST /__test__/tamper-next-id-token (JSON claims; "exp_offset" shifts exp and iat; null
// removes a claim) re-signs the NEXT token response's id_token with the provider's own key;
// GET /__test__/health answers "ok".
// Prints "listening <issuer>" on stdout when ready; exits cleanly on SIGTERM.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG || '{}');
const accountsByLogin = config.accounts || {};
const accountsBySub = new Map(Object.values(accountsByLogin).map((account) => [account.sub, account]));

async function signingJwks() {
  if (config.jwks?.keys?.length) {
    return config.jwks;
  }
  const { privateKey } = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  jwk.kid = await jose.calculateJwkThumbprint(jwk);
  return { keys: [{ ...jwk, alg: 'RS256', use: 'sig' }] };
}

function htmlEscape(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  }[c]));
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${htmlEscape(title)}</title></head>
<body><h1>${htmlEscape(title)}</h1>
${body}
</body></html>`;
}

function loginForm(uid, error) {
  const message = error ? `<p class="error" id="error">${htmlEscape(error)}</p>\n` : '';
  return page('Sign in at the test provider', `${message}<form method="post" action="/interaction/${htmlEscape(uid)}/login">
<label>Login <input type="text" name="login" autofocus></label>
<button type="submit">Sign in</button>
</form>`);
}

async function readBody(ctx, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > limit) {
      ctx.throw(413, 'body too large');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// The grant a first-party client gets without a consent page: whatever OIDC scopes and claims the
// request asks for (the provider only knows those of its configuration).
async function grantFor(provider, details) {
  const { prompt, params, session, grantId } = details;
  const accountId = details.result?.login?.accountId || session?.accountId;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope(prompt.details.missingOIDCScope?.join(' ') || params.scope);
  if (prompt.details.missingOIDCClaims) {
    grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  }
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

function interactionRoutes(provider) {
  return async (ctx, next) => {
    const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(ctx.path);
    if (!match) {
      return next();
    }
    ctx.set('Cache-Control', 'no-store');
    const [, uid, login] = match;
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) {
      ctx.throw(400, 'interaction mismatch');
    }

    if (!login && ctx.method === 'GET') {
      if (details.prompt.name === 'login') {
        ctx.type = 'html';
        ctx.body = loginForm(uid);
        return undefined;
      }
      // consent (or anything else the policy asks for after sign-in): granted without a page
      const grantId = await grantFor(provider, details);
      ctx.status = 303;
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } },
        { mergeWithLastSubmission: true }));
      return undefined;
    }

    if (login && ctx.method === 'POST') {
      const name = new URLSearchParams(await readBody(ctx)).get('login') || '';
      const account = Object.hasOwn(accountsByLogin, name) ? accountsByLogin[name] : undefined;
      if (!account) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = loginForm(uid, `Unknown login name: ${name}`);
        return undefined;
      }
      const result = { login: { accountId: account.sub, amr: account.amr, acr: account.acr } };
      const grantId = await grantFor(provider, { ...details, result });
      result.consent = { grantId };
      ctx.status = 303;
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
      return undefined;
    }

    ctx.throw(405);
    return undefined;
  };
}

function testKnobs(provider, signingJwk) {
  let tamper = null;
  let signingKey;
  const tokenPath = new URL(provider.urlFor('token')).pathname;

  async function retokened(idToken, changes) {
    signingKey ??= await jose.importJWK(signingJwk, 'RS256');
    const header = jose.decodeProtectedHeader(idToken);
    const claims = jose.decodeJwt(idToken);
    const { exp_offset: expOffset, ...replaced } = changes;
    if (expOffset) {
      for (const name of ['exp', 'iat']) {
        if (typeof claims[name] === 'number') {
          claims[name] += expOffset;
        }
      }
    }
    for (const [name, value] of Object.entries(replaced)) {
      if (value === null) {
        delete claims[name];
      } else {
        claims[name] = value;
      }
    }
    return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ ...header, alg: 'RS256', kid: signingJwk.kid })
      .sign(signingKey);
  }

  return async (ctx, next) => {
    if (ctx.path === '/__test__/health' && ctx.method === 'GET') {
      ctx.type = 'text';
      ctx.body = 'ok';
      return;
    }
    if (ctx.path === '/__test__/tamper-next-id-token' && ctx.method === 'POST') {
      let changes;
      try {
        changes = JSON.parse(await readBody(ctx));
      } catch {
        ctx.throw(400, 'a JSON object of claims is expected');
      }
      if (!changes || typeof changes !== 'object' || Array.isArray(changes)) {
        ctx.throw(400, 'a JSON object of claims is expected');
      }
      tamper = changes;
      ctx.body = { armed: changes };
      return;
    }

    await next();

    if (tamper && ctx.path === tokenPath && ctx.status === 200 && typeof ctx.body?.id_token === 'string') {
      const changes = tamper;
      tamper = null;
      ctx.body = { ...ctx.body, id_token: await retokened(ctx.body.id_token, changes) };
      console.log(`tampered id_token: ${JSON.stringify(changes)}`);
    }
  };
}

const jwks = await signingJwks();
const signingJwk = jwks.keys.find((key) => key.kty === 'RSA' && key.d && (key.use ?? 'sig') === 'sig');
if (!signingJwk) {
  throw new Error('OIDC_TEST_CONFIG.jwks needs a private RSA signing key');
}

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(config.port) || 0, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const acrValues = [...new Set(Object.values(accountsByLogin).map((a) => a.acr).filter(Boolean))];

const provider = new Provider(issuer, {
  clients: (config.clients || []).map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks,
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  claims: {
    // acr and amr come from the sign-in (interaction result), not from the account; oidc-provider puts a
    // claim in the ID token only when a granted scope (or the claims parameter) asks for it
    openid: ['sub', 'acr', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  conformIdTokenClaims: false,
  acrValues,
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  pkce: { required: () => true },
  async findAccount(_ctx, sub) {
    const account = accountsBySub.get(sub);
    if (!account) {
      return undefined;
    }
    return {
      accountId: sub,
      async claims() {
        const claims = { sub };
        for (const name of ['email', 'email_verified', 'name', 'groups']) {
          if (account[name] !== undefined) {
            claims[name] = account[name];
          }
        }
        return claims;
      },
    };
  },
  interactions: {
    url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out of the test provider?', `${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p>You are signed out of the test provider.</p>');
      },
    },
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Provider error', `<pre id="error">${htmlEscape(JSON.stringify(out, null, 2))}</pre>`);
  },
});

provider.use(testKnobs(provider, signingJwk));
provider.use(interactionRoutes(provider));
provider.on('server_error', (_ctx, error) => console.error('server_error', error));

server.on('request', provider.callback());

function shutdown(signal) {
  console.log(`${signal}: stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

console.log(`listening ${issuer}`);
