import t from 'tap';
import type { ProbePlan } from '../../probes/model.js';
import { controllerPodOwner, resultsFromTerminationMessage } from './run.js';

const plan: ProbePlan = {
  version: 1,
  checks: [
    { id: 'a', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 443, deadlineMs: 1000 },
    { id: 'b', kind: 'tcp', expect: 'blocked', host: '203.0.113.10', port: 80, deadlineMs: 1000 },
  ],
};
const where = { pod: 'egress-verify-r1-0' };

t.test('the termination message stands in for a lost log', async (t) => {
  const full = JSON.stringify({ verdict: 'fail', notPassed: ['fail:a'], truncated: false });
  t.match(resultsFromTerminationMessage(full, plan, where), [
    { id: 'a', verdict: 'fail', reason: /termination message/ },
    { id: 'b', verdict: 'pass' },
  ]);
});

t.test('a truncated list proves nothing about the checks it does not name', async (t) => {
  const cut = JSON.stringify({ verdict: 'fail', notPassed: ['fail:a'], truncated: true });
  t.match(resultsFromTerminationMessage(cut, plan, where), [{ verdict: 'fail' }, { verdict: 'error' }]);
});

t.test('anything else is an error for every check', async (t) => {
  for (const message of ['Error: boom', '{"verdict":"pass"}', '']) {
    t.match(resultsFromTerminationMessage(message, plan, where), [{ verdict: 'error' }, { verdict: 'error' }]);
  }
});

t.test('the controller pod owns the run object only from the same namespace', async (t) => {
  const env = { EGRESS_VERIFY_POD_NAME: 'audit-1', EGRESS_VERIFY_POD_UID: 'u-1', EGRESS_VERIFY_POD_NAMESPACE: 'egress-verify-system' };
  // An owner in another namespace counts as absent: the garbage collector would delete the probes.
  t.equal(controllerPodOwner('production-agents', env), undefined);
  t.same(controllerPodOwner('egress-verify-system', env), { apiVersion: 'v1', kind: 'Pod', name: 'audit-1', uid: 'u-1' });
  t.equal(controllerPodOwner('production-agents', { ...env, EGRESS_VERIFY_POD_NAMESPACE: undefined }), undefined);
});
