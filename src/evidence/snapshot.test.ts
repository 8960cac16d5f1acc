import t from 'tap';
import { REDACTED, redactEnv } from './snapshot.js';

t.test('literal env values are redacted, proxy variables and references are kept', async (t) => {
  const deployment = {
    kind: 'Deployment',
    spec: {
      template: {
        spec: {
          initContainers: [{ name: 'init', env: [{ name: 'TOKEN', value: 'hunter2' }] }],
          containers: [
            {
              name: 'app',
              env: [
                { name: 'HTTPS_PROXY', value: 'http://egress-guardian-svc:8080' },
                { name: 'no_proxy', value: '.cluster.local' },
                { name: 'OPENAI_API_KEY', value: 'sk-live-secret' },
                { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
              ],
            },
          ],
        },
      },
    },
  };
  const out = JSON.stringify(redactEnv(deployment));
  t.notMatch(out, /hunter2|sk-live-secret/);
  t.match(redactEnv(deployment), {
    spec: {
      template: {
        spec: {
          initContainers: [{ env: [{ name: 'TOKEN', value: REDACTED }] }],
          containers: [
            {
              env: [
                { name: 'HTTPS_PROXY', value: 'http://egress-guardian-svc:8080' },
                { name: 'no_proxy', value: '.cluster.local' },
                { name: 'OPENAI_API_KEY', value: REDACTED },
                { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
              ],
            },
          ],
        },
      },
    },
  });
});
