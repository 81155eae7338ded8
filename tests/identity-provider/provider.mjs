// A real OpenID Connect provider for Whistle's end-to-end suite: panva's oidc-provider
// (OpenID Certified), on loopback, issuing JWT access tokens by the client-credentials
// grant. Each person is a client whose id is their user id; their name, role and unit
// are added as claims. The resource indicator `urn:whistle:<alg>:<audience>` chooses the
// signing algorithm (RS256, ES256, EdDSA) and the audience. Keys are made afresh at each
// start, their ids naming the generation, so restarting with another generation is a key
// rotation.
//
//   node provider.mjs PORT GENERATION PEOPLE.json
import { readFileSync } from 'node:fs';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, generation, peopleFile] = process.argv.slice(2);
const people = JSON.parse(readFileSync(peopleFile, 'utf8'));

function signingKey(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, alg, use: 'sig', kid: `${alg}-g${generation}-${randomUUID().slice(0, 8)}` };
}

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  jwks: {
    keys: [
      signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
      signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
      signingKey('ed25519', {}, 'EdDSA'),
    ],
  },
  clients: Object.keys(people).map((id) => ({
    client_id: id,
    client_secret: `secret-${id}`,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  })),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:whistle:RS256:whistle-api',
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => {
        const [, , alg, audience] = indicator.split(':');
        return {
          scope: 'whistle',
          audience,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 600,
          jwt: { sign: { alg } },
        };
      },
    },
  },
  extraTokenClaims: (_ctx, token) => people[token.clientId],
});
provider.listen(Number(port), '127.0.0.1', () => console.log(`listening ${issuer}`));
