/**
 * Ed25519 keys for signing evidence (a PKCS#8 PEM from a file or Secret) and for verifying it
 * (the public key PEM; a private key also works, its public half is used).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { UsageError } from '../base/errors.js';

function requireEd25519(key: KeyObject, source: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new UsageError(`${source} is a ${key.asymmetricKeyType ?? 'symmetric'} key; evidence is signed with Ed25519`);
  return key;
}

export function signingKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new UsageError(`${source} is not a PEM private key (make one: openssl genpkey -algorithm ed25519)`, { cause: err });
  }
  return requireEd25519(key, source);
}

export function verifyingKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new UsageError(`${source} is not a PEM public key`, { cause: err });
  }
  return requireEd25519(key, source);
}
