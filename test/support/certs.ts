import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** A certificate authority the suite generates (EC P-256, valid for two days). */
export interface Ca {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** A server certificate signed by a suite CA. */
export interface ServerCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The leaf followed by the CA, as a TLS server would present it. */
  readonly chainPem: string;
  readonly hosts: readonly string[];
}

/** An RSA key and its self-signed certificate, used to sign registry bearer tokens (RS256). */
export interface SigningKey {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The certificate as base64 (standard alphabet) DER, as the JWT `x5c` header wants it. */
  readonly certDerBase64: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileP('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

/** Creates `ca.crt` / `ca.key` in `dir`. */
export async function makeCa(dir: string, name = 'image-sync test CA'): Promise<Ca> {
  const certFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'ca.key');
  await openssl([
    'req',
    '-x509',
    ...EC,
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=${name} ${randomBytes(4).toString('hex')}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return {
    certFile,
    keyFile,
    certPem: await readFile(certFile, 'utf8'),
    keyPem: await readFile(keyFile, 'utf8'),
  };
}

/** Creates `server.crt` / `server.key` in `dir`, signed by `ca`, with the given hosts as SANs. */
export async function makeServerCert(
  ca: Ca,
  dir: string,
  hosts: readonly string[] = ['127.0.0.1', 'localhost'],
): Promise<ServerCert> {
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  const csrFile = join(dir, 'server.csr');
  const extFile = join(dir, 'server.ext');
  const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  await writeFile(
    extFile,
    [
      `subjectAltName=${san}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  await openssl([
    'req',
    '-new',
    ...EC,
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    csrFile,
    '-subj',
    `/CN=${hosts[0]}`,
  ]);
  await openssl([
    'x509',
    '-req',
    '-in',
    csrFile,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '2',
    '-extfile',
    extFile,
    '-out',
    certFile,
  ]);
  const certPem = await readFile(certFile, 'utf8');
  return {
    certFile,
    keyFile,
    certPem,
    keyPem: await readFile(keyFile, 'utf8'),
    chainPem: certPem + ca.certPem,
    hosts: [...hosts],
  };
}

/** Creates `token.crt` / `token.key` (RSA 2048, self-signed) in `dir`. */
export async function makeSigningKey(dir: string): Promise<SigningKey> {
  const certFile = join(dir, 'token.crt');
  const keyFile = join(dir, 'token.key');
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=image-sync test token issuer ${randomBytes(4).toString('hex')}`,
  ]);
  const certPem = await readFile(certFile, 'utf8');
  return {
    certFile,
    keyFile,
    certPem,
    keyPem: await readFile(keyFile, 'utf8'),
    certDerBase64: new X509Certificate(certPem).raw.toString('base64'),
  };
}
