import t from 'tap';
import { noProxyOf, proxyFor, proxyForUrl } from './proxy-env.js';

t.test("curl's rules: lowercase first, http_proxy only in lowercase, ALL_PROXY as the fallback", async (t) => {
  t.equal(proxyFor('https', { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:1' }), 'http://lower:1');
  t.equal(proxyFor('https', { HTTPS_PROXY: 'http://upper:1', ALL_PROXY: 'http://all:1' }), 'http://upper:1');
  t.equal(proxyFor('https', { HTTP_PROXY: 'http://h:1', http_proxy: 'http://h:2' }), undefined, 'an http proxy is not an https proxy');
  t.equal(proxyFor('https', { ALL_PROXY: 'socks5://all:1080' }), 'socks5://all:1080');
  t.equal(proxyFor('https', { all_proxy: 'http://a:1', ALL_PROXY: 'http://b:1' }), 'http://a:1');
  t.equal(proxyFor('http', { HTTP_PROXY: 'http://upper:1' }), undefined, 'HTTP_PROXY is ignored (httpoxy)');
  t.equal(proxyFor('http', { HTTP_PROXY: 'http://upper:1', ALL_PROXY: 'http://all:1' }), 'http://all:1');
  t.equal(proxyFor('http', { http_proxy: 'http://lower:1', ALL_PROXY: 'http://all:1' }), 'http://lower:1');
  t.equal(proxyFor('https', { https_proxy: '', HTTPS_PROXY: 'http://upper:1' }), 'http://upper:1', 'empty counts as unset');
  t.equal(proxyFor('https', {}), undefined);
});

t.test('by URL, and NO_PROXY', async (t) => {
  t.equal(proxyForUrl('https://203.0.113.10/', { HTTPS_PROXY: 'http://c:8080' }), 'http://c:8080');
  t.equal(proxyForUrl('http://203.0.113.10/', { HTTPS_PROXY: 'http://c:8080' }), undefined);
  t.equal(proxyForUrl('ftp://203.0.113.10/', { HTTPS_PROXY: 'http://c:8080', ALL_PROXY: 'http://a:1' }), 'http://a:1');
  t.equal(noProxyOf({ no_proxy: '.svc', NO_PROXY: '*' }), '.svc');
  t.equal(noProxyOf({ NO_PROXY: '.cluster.local' }), '.cluster.local');
  t.equal(noProxyOf({}), undefined);
});
