import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runChecked } from './process.js';

/**
 * Certificates the lab makes with openssl at start: a "public-like" CA for the internet's hosts
 * and a cluster CA for the kubelet and the API server. EC P-256 keys keep start-up fast.
 */

export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface CaFiles extends CertFiles {
  readonly pem: string;
}

const DAYS = '30';

export async function makeCa(dir: string, name: string, subject: { o: string; cn: string }): Promise<CaFiles> {
  await mkdir(dir, { recursive: true });
  const config = join(dir, `${name}.cnf`);
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  await writeFile(
    config,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      'x509_extensions = v3_ca',
      '[dn]',
      `O = ${subject.o}`,
      `CN = ${subject.cn}`,
      '[v3_ca]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  await runChecked('openssl', [
    'req',
    '-x509',
    '-config',
    config,
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    DAYS,
    '-set_serial',
    serial(),
  ]);
  return { certFile, keyFile, pem: await readFile(certFile, 'utf8') };
}

/** A server certificate for `dnsNames` and `ips`, signed by `ca`. */
export async function makeLeaf(
  dir: string,
  name: string,
  ca: CertFiles,
  cn: string,
  dnsNames: readonly string[],
  ips: readonly string[],
): Promise<CertFiles> {
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  const san = [...dnsNames.map((d) => `DNS:${d}`), ...ips.map((ip) => `IP:${ip}`)].join(',');
  await writeFile(
    ext,
    [
      '[v3]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = ${san}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  await runChecked('openssl', [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    csr,
    '-subj',
    `/CN=${cn}`,
  ]);
  await runChecked('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-set_serial',
    serial(),
    '-days',
    DAYS,
    '-extfile',
    ext,
    '-extensions',
    'v3',
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}

function serial(): string {
  // Positive 63-bit serial: the top bit cleared keeps DER from reading it as negative.
  const bytes = randomBytes(8);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString('hex')}`;
}
