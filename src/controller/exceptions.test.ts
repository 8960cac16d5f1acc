import t from 'tap';
import { exceptionFindings, exceptionWarnings } from './exceptions.js';

const row = { workload: 'deployment/pinned', url: 'https://203.0.113.10/', reason: 'pins its TLS certificate', expires: '2026-01-31' };

t.test('an expired exception is a finding on its workload; an active one is none', async (t) => {
  t.match(exceptionFindings([{ ...row, status: 'expired', checks: ['curl/noproxy/site'] }], 'ns'), [
    {
      ruleId: 'exception-expired',
      severity: 'medium',
      object: { kind: 'Deployment', namespace: 'ns', name: 'pinned' },
      message: /expired on 2026-01-31/,
    },
  ]);
  t.same(exceptionFindings([{ ...row, status: 'active', checks: ['curl/noproxy/site'] }], 'ns'), []);
});

t.test('an exception that matches no check is said to sanction nothing', async (t) => {
  t.match(exceptionWarnings([{ ...row, status: 'active', checks: [] }]), [/matches no direct check/]);
});
