import t from 'tap';
import type { CheckResult, ProbePlan } from '../../probes/base/model.js';
import { LOG_FORMATS, markersSeen, parseLogFormat, receiptFindings, receiptsOf } from './receipts.js';

// Lines as the companions wrote them: mitmdump 8.1.1 at its default flow_detail and Squid 5.7's
// native access.log (strip_query_terms off), both captured on this machine; Envoy's from its
// documented default format (https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage).
const MITMPROXY = [
  '10.244.0.12:58470: client connect',
  '10.244.0.12:58470: server connect 203.0.113.10:443',
  '10.244.0.12:58470: GET https://203.0.113.10/?egress-verify-receipt=ev-lq3x9k-a1b2c3-0-4 HTTP/1.1',
  '     << HTTP/1.0 200 OK 44b',
  '10.244.0.12:58484: GET https://203.0.113.10/x?q=1&egress-verify-receipt=ev-lq3x9k-a1b2c3-0-9 HTTP/2.0',
  // Cut to the terminal's width (COLUMNS unset): the marker is not whole, so it does not count.
  '10.77.1.2:38870: GET https://outside.test/?egress-verify-receipt=ev-dbg-1234…',
  // flow_detail 2 prints the request's headers.
  '    x-egress-verify-receipt: ev-lq3x9k-a1b2c3-0-7',
  // Only the tunnel of a CONNECT-only companion: no request line, no marker.
  '10.244.0.12:58490: CONNECT 203.0.113.10:443',
].join('\n');
const SQUID = [
  '1796071095.299      2 127.0.0.1 TCP_MISS/200 987 GET http://127.0.0.1:18081/?egress-verify-receipt=ev-lq3x9k-a1b2c3-0-4 - HIER_DIRECT/127.0.0.1 text/html',
  // With Squid's default strip_query_terms on, the query is cut from the log.
  '1796071095.301      2 127.0.0.1 TCP_MISS/200 987 GET http://127.0.0.1:18081/? - HIER_DIRECT/127.0.0.1 text/html',
  '1796071095.302    130 10.244.0.12 TCP_TUNNEL/200 4030 CONNECT 203.0.113.10:443 - HIER_DIRECT/203.0.113.10 -',
].join('\n');
const ENVOY = [
  '[2026-11-30T20:17:00.310Z] "GET /?egress-verify-receipt=ev-lq3x9k-a1b2c3-0-4 HTTP/1.1" 200 - 0 44 226 100 "10.0.35.28" "egress-verify" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "203.0.113.10" "203.0.113.10:443"',
  '[2026-11-30T20:17:01.000Z] "CONNECT - HTTP/1.1" 200 - 0 0 50 - "-" "-" "-" "203.0.113.10:443" "203.0.113.10:443"',
].join('\n');

t.test('each preset finds the marker in its own request lines, and only there', async (t) => {
  t.same([...markersSeen(MITMPROXY, LOG_FORMATS.mitmproxy)], ['ev-lq3x9k-a1b2c3-0-4', 'ev-lq3x9k-a1b2c3-0-9', 'ev-lq3x9k-a1b2c3-0-7']);
  t.same([...markersSeen(SQUID, LOG_FORMATS.squid)], ['ev-lq3x9k-a1b2c3-0-4']);
  t.same([...markersSeen(ENVOY, LOG_FORMATS.envoy)], ['ev-lq3x9k-a1b2c3-0-4']);
  t.same([...markersSeen(SQUID, LOG_FORMATS.mitmproxy)], [], "another format's lines are not read as this one's");
  t.same([...markersSeen(MITMPROXY, LOG_FORMATS.envoy)], []);
});

t.test('--receipt-format: a preset, or a regular expression with a marker group', async (t) => {
  t.equal(parseLogFormat('squid'), LOG_FORMATS.squid);
  const header = parseLogFormat('receipt=(?<marker>[a-z0-9-]+)');
  t.same([...markersSeen('x receipt=ev-1 y', header)], ['ev-1']);
  t.throws(() => parseLogFormat('GET (\\S+)'), /named group \(\?<marker>/);
  t.throws(() => parseLogFormat('(?<marker>['), /neither a preset .* nor a valid regular expression/);
});

const plan: ProbePlan = {
  version: 1,
  checks: [
    {
      id: 'proxy-https/site',
      kind: 'proxy-https',
      expect: 'reachable',
      deadlineMs: 1000,
      url: 'https://203.0.113.10/',
      companion: { url: 'http://egress-guardian-svc:8080' },
      receipt: 'ev-run-0-0',
    },
    { id: 'proxy-env/app', kind: 'proxy-env', expect: 'reachable', deadlineMs: 1000, url: 'https://203.0.113.10/', receipt: 'ev-run-0-1' },
    {
      id: 'proxy-https/down',
      kind: 'proxy-https',
      expect: 'reachable',
      deadlineMs: 1000,
      url: 'https://198.51.100.9/',
      companion: { url: 'http://egress-guardian-svc:8080' },
      receipt: 'ev-run-0-2',
    },
  ],
};
const result = (id: string, reached: boolean): CheckResult => ({
  id,
  kind: 'proxy-https',
  expect: 'reachable',
  target: id,
  verdict: reached ? 'pass' : 'inconclusive',
  reason: '',
  workload: 'deployment/app',
  observation: {
    outcome: reached ? 'http-response' : 'upstream-error',
    class: reached ? 'reached' : 'indeterminate',
    durationMs: 1,
    detail: '',
  },
});
const marked = [{ workload: 'deployment/app', companion: 'http://egress-guardian-svc:8080', plan }];
const results = [result('proxy-https/site', true), result('proxy-env/app', true), result('proxy-https/down', false)];

t.test('a request that went through but is not in the log is unseen; one that never got through has nothing to show', async (t) => {
  const receipts = receiptsOf(marked, results, new Set(['ev-run-0-0']));
  t.same(
    receipts.map((r) => [r.check, r.status]),
    [
      ['proxy-https/site', 'seen'],
      ['proxy-env/app', 'unseen'],
      ['proxy-https/down', 'not-through'],
    ],
  );
  const required = receiptFindings(receipts, new Map(), true, 'production-agents');
  t.equal(required.length, 1);
  t.match(required[0], {
    ruleId: 'inspection-not-logged',
    decides: 'fail',
    object: { kind: 'Service', namespace: 'production-agents', name: 'egress-guardian-svc' },
    message: /1 of 2 requests .* proxy-env\/app$/,
  });
  const advised = receiptFindings(receipts, new Map(), false, 'production-agents');
  t.equal(advised[0]?.decides, undefined, 'not asked for: a warning that does not decide the verdict');
  t.equal(advised[0]?.severity, 'low');
  t.same(
    receiptFindings(receiptsOf(marked, results, new Set(['ev-run-0-0', 'ev-run-0-1'])), new Map(), true, 'ns'),
    [],
    'all seen: no finding',
  );
});

t.test('a log that cannot be read proves nothing: asked for, the run is inconclusive', async (t) => {
  const receipts = receiptsOf(marked, results, new Set());
  const [f] = receiptFindings(receipts, new Map([['http://egress-guardian-svc:8080', 'Forbidden']]), true, 'ns');
  t.match(f, { decides: 'inconclusive', message: /could not be read \(Forbidden\)/ });
});
