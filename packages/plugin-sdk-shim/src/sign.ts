// Third-party signatures in the daemon's format (plugin-protocol.md §5.7): the zip comment is
// `{"signature":"<base64 RSA PKCS#1 v1.5 SHA-256>","time":<unix seconds>}` over the concatenated
// sha256 of every entry's bytes, in zip order, followed by the decimal time. `.verification.dify.json`
// (`{"authorized_category":"community"}`) is an entry like any other, placed last as the official signer does.
// Keys are PKCS#1 PEM (`RSA PRIVATE KEY` / `RSA PUBLIC KEY`), which is what the daemon loads.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readZip, sha256, type ZipInput } from './packager-zip.js';

export const VERIFICATION_FILE = '.verification.dify.json';
export type AuthorizedCategory = 'langgenius' | 'partner' | 'community';

export interface SignatureComment {
  signature: string;
  time: number;
}

function signedData(entries: Iterable<Uint8Array>, time: number): Buffer {
  const parts: Buffer[] = [];
  for (const data of entries) parts.push(sha256(data));
  parts.push(Buffer.from(String(time), 'ascii'));
  return Buffer.concat(parts);
}

export function verificationEntry(category: AuthorizedCategory = 'community'): ZipInput {
  return { path: VERIFICATION_FILE, data: Buffer.from(JSON.stringify({ authorized_category: category })) };
}

/** Signs the entries (which must already include the verification entry) and returns the zip comment. */
export function signEntries(entries: ZipInput[], privateKey: string | KeyObject, time = Math.floor(Date.now() / 1000)): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`the signing key must be an RSA key, not ${key.asymmetricKeyType ?? 'unknown'}`);
  const signature = sign('sha256', signedData(entries.map((e) => e.data), time), key);
  const comment: SignatureComment = { signature: signature.toString('base64'), time };
  return JSON.stringify(comment);
}

export interface VerifyResult {
  ok: boolean;
  reason?: string;
  time?: number;
  category?: string;
}

/** Checks a .difypkg's signature with a public key, the way the daemon does. */
export async function verifyDifyPkg(pkg: Buffer, publicKey: string | KeyObject): Promise<VerifyResult> {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const zip = await readZip(pkg);
  let comment: SignatureComment;
  try {
    comment = JSON.parse(zip.comment) as SignatureComment;
  } catch {
    return { ok: false, reason: 'the package has no signature comment' };
  }
  if (typeof comment.signature !== 'string' || typeof comment.time !== 'number') return { ok: false, reason: 'the signature comment is malformed' };
  const verification = zip.entries.find((e) => e.path === VERIFICATION_FILE);
  let category: string | undefined;
  if (verification) {
    try {
      category = (JSON.parse(verification.data.toString('utf8')) as { authorized_category?: string }).authorized_category;
    } catch {
      return { ok: false, reason: `${VERIFICATION_FILE} is not JSON` };
    }
  }
  const data = signedData(zip.entries.map((e) => e.data), comment.time);
  const ok = verify('sha256', data, key, Buffer.from(comment.signature, 'base64'));
  const result: VerifyResult = { ok, time: comment.time };
  if (category !== undefined) result.category = category;
  if (!ok) result.reason = 'the signature does not match the package contents';
  return result;
}

/** A new RSA key pair as PKCS#1 PEM, like `dify signature generate` (4096 bits by default). */
export function generateSigningKeyPair(modulusLength = 4096): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}

/** The PKCS#1 public key PEM (what THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS points at) of a private key. */
export function publicKeyPemOf(privateKey: string | KeyObject): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  return createPublicKey(key).export({ type: 'pkcs1', format: 'pem' }).toString();
}
