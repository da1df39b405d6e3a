// SPDX-License-Identifier: Apache-2.0
// Independent SigV4 signer (@smithy/signature-v4, the AWS SDK's): reads a JSON array of requests
//   {method, host, path (URI-encoded), query: [[k, v]...], headers: [[k, v]...], payload_hash,
//    access_key, secret_key, session_token, region, service, amz_date}
// from the file named by argv[2] and prints a JSON array of Authorization header values.
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import fs from 'node:fs';

const reqs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const out = [];
for (const r of reqs) {
  const signer = new SignatureV4({
    service: r.service, region: r.region, sha256: Sha256, uriEscapePath: false, applyChecksum: true,
    credentials: { accessKeyId: r.access_key, secretAccessKey: r.secret_key, sessionToken: r.session_token || undefined },
  });
  const query = {};
  for (const [k, v] of r.query) {
    if (k in query) query[k] = [].concat(query[k], v); else query[k] = v;
  }
  const headers = {};
  for (const [k, v] of r.headers) headers[k] = v;
  headers['x-amz-content-sha256'] = r.payload_hash;
  const d = r.amz_date;
  const date = new Date(Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15)));
  const signed = await signer.sign({ method: r.method, protocol: 'https:', hostname: r.host, path: r.path, query, headers }, { signingDate: date });
  out.push(signed.headers['authorization']);
}
console.log(JSON.stringify(out));
