import t from 'tap';
import { controllerPodOwner } from './run.js';

t.test('the controller pod owns the run object only from the same namespace', async (t) => {
  const env = { EGRESS_VERIFY_POD_NAME: 'audit-1', EGRESS_VERIFY_POD_UID: 'u-1', EGRESS_VERIFY_POD_NAMESPACE: 'egress-verify-system' };
  // An owner in another namespace counts as absent: the garbage collector would delete the probes.
  t.equal(controllerPodOwner('production-agents', env), undefined);
  t.same(controllerPodOwner('egress-verify-system', env), { apiVersion: 'v1', kind: 'Pod', name: 'audit-1', uid: 'u-1' });
  t.equal(controllerPodOwner('production-agents', { ...env, EGRESS_VERIFY_POD_NAMESPACE: undefined }), undefined);
});
