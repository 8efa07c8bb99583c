// Drives @socialgouv/aes-gcm-rsa-oaep for the compatibility tests: JSON list of operations on stdin,
// JSON list of results on stdout. Errors are reported per operation, never thrown away silently.
'use strict';
const peer = require('@socialgouv/aes-gcm-rsa-oaep');
const { webcrypto } = require('crypto');

async function importPrivateKey(pkcs8Pem) {
  const body = pkcs8Pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  return webcrypto.subtle.importKey('pkcs8', Buffer.from(body, 'base64'),
    { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt']);
}

async function run(op) {
  const args = { pemKey: op.cert, scope: op.scope, namespace: op.namespace, name: op.name };
  switch (op.op) {
    case 'sealedSecret':
      return peer.getSealedSecret({ ...args, values: op.values });
    case 'encryptValue':
      return peer.encryptValue({ ...args, value: op.value });
    case 'decrypt': {
      const key = await importPrivateKey(op.privateKey);
      const label = Buffer.from(peer.getLabel(args));
      const ct = Buffer.from(op.ciphertext, 'base64');
      const buf = ct.buffer.slice(ct.byteOffset, ct.byteOffset + ct.byteLength);
      return peer.HybridDecrypt(key, buf, label);
    }
    default:
      throw new Error(`unknown op ${op.op}`);
  }
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const ops = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const results = [];
  for (const op of ops) {
    try {
      results.push({ ok: true, value: await run(op) });
    } catch (err) {
      results.push({ ok: false, error: String((err && err.name) || err) });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => { process.stderr.write(String(err) + '\n'); process.exit(1); });
