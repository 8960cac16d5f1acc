import t from 'tap';
import { judgeAnswer, statusDeclared } from './origin.js';

const marked = { status: ['2xx'], header: { name: 'x-lab-origin', value: 'outside-https' } };
const answer = (status: number, headers: Record<string, string> = {}, body = '') => ({ status, headers, body });

t.test('only the declared status with the declared marker is the origin', async (t) => {
  t.match(judgeAnswer(answer(200, { 'x-lab-origin': 'outside-https' }), marked), { class: 'reached', outcome: 'http-response' });
  t.match(judgeAnswer(answer(200), marked), { class: 'indeterminate', outcome: 'origin-unproven', detail: /no "x-lab-origin/ });
  t.match(judgeAnswer(answer(200, { 'x-lab-origin': 'resolver-https' }), marked), { class: 'indeterminate' }, 'another service');
  t.match(judgeAnswer(answer(404, { 'x-lab-origin': 'outside-https' }), marked), { class: 'indeterminate' }, 'an undeclared status');
  t.match(judgeAnswer(answer(200, {}, '<h1>welcome</h1>'), { status: ['2xx'], body: 'welcome' }), { class: 'reached' });
});

t.test("a proxy's own pages: refusals are blocked, the rest says the origin was not reached", async (t) => {
  t.match(judgeAnswer(answer(403, { 'x-squid-error': 'ERR_ACCESS_DENIED 0' })), { class: 'blocked', outcome: 'proxy-refused' });
  t.match(judgeAnswer(answer(503, { 'x-squid-error': 'ERR_CONNECT_FAIL 101' })), { class: 'indeterminate', outcome: 'upstream-error' });
  t.match(judgeAnswer(answer(500, { server: 'tinyproxy/1.11.1' })), { class: 'indeterminate', outcome: 'upstream-error' });
  t.match(judgeAnswer(answer(403), marked), { class: 'blocked' }, 'a 403 without the declared marker');
  t.match(judgeAnswer(answer(403)), { class: 'indeterminate' }, 'a bare 403 with no marker declared may be the origin');
});

t.test('statuses are classes or codes', async (t) => {
  t.ok(statusDeclared(204, ['2xx']));
  t.ok(statusDeclared(401, ['401']));
  t.notOk(statusDeclared(403, ['2xx', '401']));
});
