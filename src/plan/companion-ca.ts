/**
 * The companion's interception CA, as the probe gets it in its plan: certificates only.
 */
import { X509Certificate } from 'node:crypto';
import { UsageError } from '../base/errors.js';
import { readInput } from '../base/input.js';

export function readCompanionCa(path: string): string {
  return checkPem(readInput(path, 'companion CA'), path);
}

/**
 * Keeps only the CERTIFICATE blocks: a companion's CA Secret often holds its private key too,
 * and the plan travels in the probe pod's environment.
 */
export function checkPem(pem: string, source: string): string {
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (certs.length === 0) throw new Error('no CERTIFICATE block');
    for (const cert of certs) new X509Certificate(cert);
  } catch (err) {
    throw new UsageError(`companion CA ${source} is not a PEM certificate`, { cause: err });
  }
  return `${certs.join('\n')}\n`;
}
