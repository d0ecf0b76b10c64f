import { describe, expect, it } from 'vitest';
import { versionLine } from '../../src/cli/version.js';
import { clientListView, clientView, rotationView, tokenView } from '../../src/cli/views.js';
import type { OAuth2Client } from '../../src/sdk/types.js';
import { aClient } from '../support/clients.js';

const client = (fields: Partial<OAuth2Client> = {}): OAuth2Client =>
  aClient({ id: 'app', client_name: 'App', grant_types: ['client_credentials'], scope: 'reports', ...fields });

describe('client views', () => {
  it('lists one row per client with the useful columns', () => {
    const text = clientListView([client(), client({ id: 'spa', client_name: 'SPA', public: true, grant_types: ['authorization_code', 'refresh_token'] })]);
    expect(text).toBe(
      [
        'CLIENT ID   NAME   TYPE           GRANT TYPES                        SCOPE',
        'app         App    confidential   client_credentials                 reports',
        'spa         SPA    public         authorization_code,refresh_token   reports',
      ].join('\n'),
    );
  });

  it('says when the page hides clients, and when there are none', () => {
    expect(clientListView([client()], 5)).toMatch(/\n\nShowing 1 of 5 clients; use --limit and --offset for more\.$/);
    expect(clientListView([], 0)).toBe('No clients found.');
    expect(clientListView([], 3)).toContain('3 in all');
  });

  it('shows a secret with a warning that it is shown once, and no secret line otherwise', () => {
    const created = clientView(client({ client_secret: 's3cret' }));
    expect(created).toMatch(/^Secret:\s+s3cret$/m);
    expect(created).toMatch(/Save the secret now: it will not be shown again\.$/);
    expect(clientView(client())).not.toMatch(/secret/i);
  });
});

describe('token and key views', () => {
  it('lists the token response, leaving out tokens that were not issued', () => {
    const text = tokenView({ access_token: 'at', token_type: 'bearer', expires_in: 3600, scope: 'a b' });
    expect(text).toBe(['Access token:   at', 'Token type:     bearer', 'Expires in:     3600s', 'Scope:          a b'].join('\n'));
  });

  it('tables the new signing key above the retired ones', () => {
    expect(rotationView({ kid: 'new', retired: ['old'] }).split('\n')).toEqual([
      'KEY ID   STATE',
      'new      signing',
      'old      retired, published until the tokens it signed expire',
    ]);
  });
});

describe('versionLine', () => {
  it('names the package version from package.json and the running Node.js', () => {
    expect(versionLine()).toBe(`gatehouse 0.1.0 (node ${process.version})`);
  });
});
