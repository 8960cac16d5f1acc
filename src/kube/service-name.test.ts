import t from 'tap';
import { serviceNamed } from './service-name.js';

t.test('the names cluster DNS gives a Service, and nothing else', async (t) => {
  const egress = { name: 'egress', namespace: 'proxies' };
  t.same(serviceNamed('egress', 'proxies'), egress, "a short name is in the pod's own namespace");
  t.same(serviceNamed('egress.proxies', 'apps'), egress);
  t.same(serviceNamed('egress.proxies.svc', 'apps'), egress);
  t.same(serviceNamed('egress.proxies.svc.cluster.local', 'apps'), egress);
  t.equal(serviceNamed('egress.proxies.svc.example.com', 'apps'), undefined, 'public DNS, not the Service');
  t.equal(serviceNamed('proxy.example.com', 'apps'), undefined);
  t.equal(serviceNamed('203.0.113.10', 'apps'), undefined);
  t.equal(serviceNamed('[2001:db8::1]', 'apps'), undefined);
  t.equal(serviceNamed('2001:db8::1', 'apps'), undefined);
  t.equal(serviceNamed('', 'apps'), undefined);
});
