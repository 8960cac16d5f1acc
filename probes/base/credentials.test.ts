import t from 'tap';
import { basicAuthorization, proxyCredentials, withoutCredentials } from './credentials.js';

t.test('credentials come out of a URL decoded, and a URL without a user has none', async (t) => {
  const url = new URL('http://agent:s3cret%2Fp%2Bw%3A%40@proxy.example:8080');
  t.same(proxyCredentials(url), { user: 'agent', password: 's3cret/p+w:@' });
  t.equal(basicAuthorization(url), `Basic ${Buffer.from('agent:s3cret/p+w:@').toString('base64')}`);
  t.equal(proxyCredentials(new URL('http://proxy.example:8080')), undefined);
  t.equal(basicAuthorization(new URL('http://proxy.example:8080')), undefined);
  t.same(proxyCredentials(new URL('socks5h://only-user@proxy.example:1080')), { user: 'only-user', password: '' });
});

t.test('what is shown of a URL carries neither user nor password', async (t) => {
  t.equal(withoutCredentials(new URL('socks5h://agent:pw@proxy.example:1080')), 'socks5h://proxy.example:1080');
  t.equal(withoutCredentials(new URL('http://agent:pw@proxy.example:8080/')), 'http://proxy.example:8080/');
});
