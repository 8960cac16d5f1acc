/**
 * A companion that asks for credentials (HTTP 407, SOCKS5 username and password), as many
 * enterprise proxies do. The workload's proxy URL carries them; the probe sends them the way curl
 * and undici do, so the allowed path works, and credentials that are missing or wrong are a fail
 * that says so. Real mitmproxy (`proxyauth`) and tinyproxy (`BasicAuth`). Needs root.
 */
import t from 'tap';
import type { CheckResult } from '../../probes/base/model.js';
import { labSuite, probeInLab } from './harness.js';
import type { CompanionKind, ProxyAuth } from './lab.js';
import { appEnv, labPlan } from './plan.js';

t.setTimeout(600_000);

// tinyproxy takes only [-a-z0-9._] in BasicAuth; decoding %-escapes has its own unit test.
const AUTH: ProxyAuth = { user: 'agent', password: 's3cret-p.w_x' };
const WRONG: ProxyAuth = { user: 'agent', password: 'not-it' };

const leaks = (results: Map<string, CheckResult>, auth: ProxyAuth): boolean => {
  const text = JSON.stringify([...results.values()]);
  return text.includes(auth.password) || text.includes(encodeURIComponent(auth.password));
};

for (const kind of ['mitmproxy', 'tinyproxy'] as const satisfies readonly CompanionKind[]) {
  t.test(`${kind} asking for credentials`, async (t) => {
    const { lab, scratch } = await labSuite(t, `evl-auth-${kind}-`, { companion: kind, proxyAuth: AUTH });
    await lab.setPolicy('article');
    const probe = async (auth?: ProxyAuth): Promise<Map<string, CheckResult>> => {
      const run = await probeInLab(lab, scratch, labPlan(lab, {}, auth ? { auth } : {}), {
        env: { ...appEnv(auth), NODE_EXTRA_CA_CERTS: lab.outsideCaFile },
      });
      return new Map(run.results.map((r) => [r.id, r]));
    };
    const allowed = (results: Map<string, CheckResult>): CheckResult[] =>
      [...results.values()].filter((r) => r.id.startsWith('proxy-https/site') || r.id.startsWith('proxy-env/'));

    t.test('with the credentials in the URL: the allowed path works, and the blocks have their controls', async (t) => {
      const results = await probe(AUTH);
      t.ok(
        allowed(results).length >= (kind === 'mitmproxy' ? 3 : 2),
        'the site through the companion, by CONNECT, from the environment (and SOCKS5)',
      );
      for (const r of allowed(results)) t.equal(r.verdict, 'pass', `${r.id}: ${r.observation.detail}`);
      // Internal targets wait for a control pod; the rest are proven by a control through the companion.
      const blocked = [...results.values()].filter((r) => r.expect === 'blocked' && r.id.startsWith('tcp/') && r.control !== undefined);
      t.ok(blocked.length > 0);
      for (const r of blocked) t.equal(r.verdict, 'pass', `${r.id}: ${r.reason}`);
      t.notOk(leaks(results, AUTH), 'the password appears in no result');
    });

    t.test('without credentials: the allowed path fails, and says the URL has none', async (t) => {
      const results = await probe();
      const site = results.get('proxy-https/site');
      t.match(site, { verdict: 'fail', observation: { outcome: 'proxy-refused', detail: /407.*its URL has no credentials/ } });
      if (kind === 'mitmproxy')
        t.match(results.get('proxy-https/site/socks5h'), {
          verdict: 'fail',
          observation: { outcome: 'proxy-refused', detail: /requires authentication and its URL has no credentials/ },
        });
      for (const r of [...results.values()].filter((r) => r.expect === 'blocked' && r.id.startsWith('tcp/')))
        t.not(r.verdict, 'pass', `${r.id}: no control, no pass`);
    });

    t.test('with the wrong credentials: a fail that names them as the reason', async (t) => {
      const results = await probe(WRONG);
      t.match(results.get('proxy-https/site'), { verdict: 'fail', observation: { detail: /40[17].*to the credentials in its URL/ } });
      if (kind === 'mitmproxy')
        t.match(results.get('proxy-https/site/socks5h'), {
          verdict: 'fail',
          observation: { detail: /refused the credentials in its URL/ },
        });
      t.notOk(leaks(results, WRONG), 'the password appears in no result');
    });
  });
}
