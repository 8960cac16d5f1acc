/**
 * Flags that take a file or a Secret (`--companion-ca`, `--evidence-key`): FILE, or
 * secret/NAME[:KEY] in the run's namespace. Only the one key is read.
 */
import { UsageError } from '../base/errors.js';
import { isNotFound, type Kube, kubeError } from './client.js';

const SECRET_SPEC = /^secrets?\/([a-z0-9.-]+)(?::(.+))?$/;

export const isSecretSpec = (spec: string): boolean => SECRET_SPEC.test(spec);

/** The Secret's value as text, and "secret/NAME:KEY" to name it in errors. */
export async function readSecretValue(
  kube: Kube,
  spec: string,
  namespace: string,
  flag: string,
  defaultKeys: readonly string[],
): Promise<{ text: string; source: string }> {
  const m = SECRET_SPEC.exec(spec);
  const name = m?.[1];
  if (name === undefined) throw new UsageError(`${flag} "${spec}" is not secret/NAME[:KEY]`);
  try {
    const data = (await kube.core.readNamespacedSecret({ name, namespace })).data ?? {};
    const keys = Object.keys(data);
    // No key named: the conventional one, else the only one there is.
    const key = m?.[2] ?? defaultKeys.find((k) => k in data) ?? (keys.length === 1 ? keys[0] : undefined);
    const value = key === undefined ? undefined : data[key];
    if (value === undefined) throw new UsageError(`secret ${namespace}/${name} has no key ${m?.[2] ?? defaultKeys.join(' or ')} (${flag})`);
    return { text: Buffer.from(value, 'base64').toString('utf8'), source: `secret/${name}:${key}` };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (isNotFound(err)) throw new UsageError(`secret ${namespace}/${name} not found (${flag})`, { cause: err });
    throw kubeError(`reading secret ${namespace}/${name}`, err);
  }
}
