import t from 'tap';
import { expandCatalogue } from '../catalogue.js';
import { validatePlan } from '../plan.js';
import { carriesReceipt, markedUrl, markPlan, RECEIPT_PARAM } from './receipt.js';

t.test('the marker goes into the query, after what the URL already asks', async (t) => {
  t.equal(markedUrl('https://203.0.113.10/', 'ev-a1-0-1'), `https://203.0.113.10/?${RECEIPT_PARAM}=ev-a1-0-1`);
  t.equal(markedUrl('https://example.test/p?q=1', 'ev-a1-0-1'), `https://example.test/p?q=1&${RECEIPT_PARAM}=ev-a1-0-1`);
  t.equal(markedUrl('https://example.test/p', undefined), 'https://example.test/p', 'no marker: the URL unchanged');
});

t.test('every proxied request that is not only a control gets a marker unique to the run, the workload and the check', async (t) => {
  const plan = expandCatalogue(
    {
      version: 1,
      outside: [{ name: 'site', url: 'https://203.0.113.10/', tcpPorts: [443, 22] }],
      resolvers: [{ address: '198.51.100.53', transports: ['udp'] }],
      application: ['https://203.0.113.10/'],
    },
    { url: 'http://companion:8080' },
  );
  const marked = markPlan(plan, 'lq3x9k-a1b2c3', 1);
  validatePlan(marked, 'marked');
  const receipts = marked.checks.flatMap((c) => (carriesReceipt(c) && c.receipt ? [[c.id, c.receipt]] : []));
  t.same(
    receipts.map(([id]) => id),
    ['proxy-https/site', 'proxy-env/https://203.0.113.10/'],
    'the site through the companion and the application path; tunnel controls carry none',
  );
  t.equal(new Set(receipts.map(([, m]) => m)).size, receipts.length, 'no two checks share a marker');
  t.ok(
    receipts.every(([, m]) => m?.startsWith('ev-lq3x9k-a1b2c3-1-')),
    'the marker names the run and the workload',
  );
  const other = markPlan(plan, 'other-run', 1).checks.find((c) => c.id === 'proxy-https/site');
  t.not(other && carriesReceipt(other) ? other.receipt : undefined, receipts[0]?.[1], 'another run, another marker');
});
