// Certificates for a throw-away control plane, made with the openssl CLI because node:crypto can
// create keys but not X.509 certificates. EC P-256 keys keep generation to a few milliseconds.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  caCert: string;
  servingCert: string;
  servingKey: string;
  /** Client certificate in group system:masters, which RBAC lets do anything. */
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

export interface PkiOptions {
  /** Names and addresses the API server is reached at, for the serving certificate's SANs. */
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
}

function openssl(args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw new Error('the openssl CLI is needed to generate control-plane certificates');
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString().trim() ?? err.message}`);
  }
}

function ecKey(path: string): string {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
  return path;
}

function signLeaf(dir: string, name: string, subject: string, extensions: readonly string[]): { cert: string; key: string } {
  const key = ecKey(join(dir, `${name}.key`));
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  const cert = join(dir, `${name}.crt`);
  writeFileSync(extFile, `${extensions.join('\n')}\n`);
  openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    join(dir, 'ca.crt'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '365',
    '-sha256',
    '-extfile',
    extFile,
    '-out',
    cert,
  ]);
  return { cert, key };
}

/** A serving certificate signed by the CA that generatePki made in dir; files `<name>.crt` and `<name>.key`. */
export function issueServingCert(dir: string, name: string, commonName: string, { dnsNames, ipAddresses }: PkiOptions): { cert: string; key: string } {
  const altNames = [...dnsNames.map((dns) => `DNS:${dns}`), ...ipAddresses.map((ip) => `IP:${ip}`)].join(',');
  return signLeaf(dir, name, `/CN=${commonName}`, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${altNames}`,
  ]);
}

/** A client certificate signed by the CA that generatePki made in dir: Kubernetes reads CN as the user, O as groups. */
export function issueClientCert(
  dir: string,
  name: string,
  { commonName, groups = [] }: { commonName: string; groups?: readonly string[] },
): { cert: string; key: string } {
  const subject = [...groups.map((group) => `/O=${group}`), `/CN=${commonName}`].join('');
  return signLeaf(dir, name, subject, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=clientAuth',
  ]);
}

export function generatePki(dir: string, { dnsNames, ipAddresses }: PkiOptions): Pki {
  const caKey = ecKey(join(dir, 'ca.key'));
  const caCert = join(dir, 'ca.crt');
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    caKey,
    '-subj',
    '/CN=gatehouse-envtest-ca',
    '-days',
    '365',
    '-sha256',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    caCert,
  ]);
  const serving = issueServingCert(dir, 'apiserver', 'kube-apiserver', { dnsNames, ipAddresses });
  const admin = issueClientCert(dir, 'admin', { commonName: 'gatehouse-envtest-admin', groups: ['system:masters'] });
  const serviceAccountKey = ecKey(join(dir, 'service-account.key'));
  const serviceAccountPublicKey = join(dir, 'service-account.pub');
  openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPublicKey]);
  return {
    caCert,
    servingCert: serving.cert,
    servingKey: serving.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey,
    serviceAccountPublicKey,
  };
}
