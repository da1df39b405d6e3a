// SPDX-License-Identifier: Apache-2.0
// Independent reader: lists every object under a prefix with @aws-sdk/client-s3
// (ListObjectsV2, paginated) and writes each object's bytes to OUT/<key below the prefix>.
//   node read_store.mjs --endpoint URL --bucket B --prefix P --out DIR
// Prints "OBJECTS <n>". Credentials: the AWS_* environment variables.
import { S3Client, ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';

const a = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) a[argv[i].replace(/^--/, '')] = argv[i + 1];
const client = new S3Client({
  endpoint: a.endpoint, region: process.env.AWS_REGION || 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
});
const prefix = a.prefix ? a.prefix.replace(/\/$/, '') + '/' : '';
let token, n = 0;
do {
  const page = await client.send(new ListObjectsV2Command({ Bucket: a.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 50 }));
  for (const obj of page.Contents || []) {
    const got = await client.send(new GetObjectCommand({ Bucket: a.bucket, Key: obj.Key }));
    const bytes = await got.Body.transformToByteArray();
    const file = path.join(a.out, obj.Key.slice(prefix.length));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
    ++n;
  }
  token = page.IsTruncated ? page.NextContinuationToken : undefined;
} while (token);
console.log(`OBJECTS ${n}`);
