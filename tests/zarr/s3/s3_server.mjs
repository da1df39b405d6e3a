// SPDX-License-Identifier: Apache-2.0
// Test launcher for a local S3 server (npm s3rver) on 127.0.0.1:
//   node s3_server.mjs --dir DIR [--port N] [--bucket NAME]... [--conditional-writes]
// Prints "PORT <n>" on stdout once listening; stops on SIGTERM/SIGINT or when stdin closes.
// s3rver writes an object in place and answers a PUT before the bytes are on disk; real S3
// replaces objects atomically and confirms only stored writes. This launcher makes the test
// server behave like S3 there: a PUT is written to a temporary file, then renamed over the object
// (with its metadata) under a per-key lock that GETs also take until their file is open.
// s3rver ignores If-None-Match and If-Match on PUT (it honours If-None-Match only on GET, with
// 304), so a conditional write silently overwrites. With --conditional-writes this launcher
// enforces them as S3 does (412 PreconditionFailed; If-Match on a missing key: 404 NoSuchKey),
// checked under the same per-key lock, so the writer-lock tests run against both behaviours.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const require = createRequire(import.meta.url);

// s3rver seals ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (and so current node)
// no longer offers: give it a pass-through "cipher" for that (the tokens stay opaque to clients).
const nodeCrypto = require('node:crypto');
for (const name of ['createCipheriv', 'createDecipheriv']) {
  const orig = nodeCrypto[name];
  nodeCrypto[name] = function (algorithm, ...rest) {
    if (algorithm !== 'des') return orig.call(this, algorithm, ...rest);
    return { update: (data, enc) => Buffer.from(data, enc), final: () => Buffer.alloc(0) };
  };
}
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Error = require('s3rver/lib/models/error');
const objectController = require('s3rver/lib/controllers/object');
const { AsyncLocalStorage } = require('node:async_hooks');

const args = process.argv.slice(2);
let dir = null, port = 0, conditionalWrites = false;
const buckets = [];
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--dir') dir = args[++i];
  else if (args[i] === '--conditional-writes') conditionalWrites = true;
  else if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--bucket') buckets.push(args[++i]);
  else { console.error(`s3_server.mjs: unknown argument ${args[i]}`); process.exit(2); }
}
if (!dir) { console.error('s3_server.mjs: --dir is required'); process.exit(2); }

const locks = new Map();
async function withLock(key, fn) {
  const prev = locks.get(key) || Promise.resolve();
  let release;
  const mine = new Promise(r => { release = r; });
  const chained = prev.then(() => mine);
  locks.set(key, chained);
  await prev;
  try { return await fn(); } finally {
    release();
    if (locks.get(key) === chained) locks.delete(key);
  }
}

const origGet = FilesystemStore.prototype.getObject;
FilesystemStore.prototype.getObject = function (bucket, key, options) {
  return withLock(`${bucket}/${key}`, () => origGet.call(this, bucket, key, options));
};
const origDelete = FilesystemStore.prototype.deleteObject;
FilesystemStore.prototype.deleteObject = function (bucket, key) {
  return withLock(`${bucket}/${key}`, () => origDelete.call(this, bucket, key));
};
// The PUT's conditions travel from the controller to the store's putObject with the request.
const putConditions = new AsyncLocalStorage();
const origPutController = objectController.putObject;
objectController.putObject = function (ctx) {
  const cond = { ifNoneMatch: ctx.headers['if-none-match'], ifMatch: ctx.headers['if-match'] };
  if (!conditionalWrites || (cond.ifNoneMatch === undefined && cond.ifMatch === undefined)) {
    return origPutController.call(this, ctx);
  }
  return putConditions.run(cond, () => origPutController.call(this, ctx));
};
const unquote = tag => String(tag).replace(/^W\//, '').replace(/"/g, '');
async function checkConditions(store, object, cond) {
  const exists = await store.existsObject(object.bucket, object.key);
  const failed = () => new S3Error('PreconditionFailed',
    'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match/If-Match' });
  if (cond.ifNoneMatch !== undefined && cond.ifNoneMatch.trim() === '*' && exists) throw failed();
  if (cond.ifMatch !== undefined) {
    if (!exists) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: object.key });
    const meta = await store.getMetadata(object.bucket, object.key);
    if (unquote(meta.etag) !== unquote(cond.ifMatch)) throw failed();
  }
}

FilesystemStore.prototype.putObject = async function (object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
  const temp = `${objectPath}.tmp-${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
  const md5 = crypto.createHash('md5');
  let size = 0;
  const out = fs.createWriteStream(temp);
  await new Promise((resolve, reject) => {
    out.on('error', reject);
    out.on('finish', resolve);
    if (Buffer.isBuffer(object.content)) {
      md5.update(object.content); size = object.content.length; out.end(object.content);
    } else {
      object.content.on('error', reject);
      object.content.on('data', c => { md5.update(c); size += c.length; });
      object.content.pipe(out);
    }
  });
  const digest = md5.digest('hex');
  const cond = putConditions.getStore();
  await withLock(`${object.bucket}/${object.key}`, async () => {
    try {
      if (cond) await checkConditions(this, object, cond);
    } catch (err) {
      await fs.promises.unlink(temp).catch(() => {});
      throw err;
    }
    await fs.promises.rename(temp, objectPath);
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
  });
  return { size, md5: digest };
};

// s3rver's delimited listing never reports a common prefix whose folder holds only sub-folders
// (e.g. "meta/" above "meta/atoms_ptr/zarr.json"). Delimited listings are computed here from the
// full listing instead (unpaginated: the tests' folders are small).
const origList = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function (bucket, options) {
  const { delimiter = '', prefix = '' } = options;
  if (!delimiter) return origList.call(this, bucket, options);
  const all = await origList.call(this, bucket, { ...options, delimiter: '', maxKeys: Infinity });
  const common = new Set();
  const objects = [];
  for (const obj of all.objects) {
    const rest = obj.key.slice(prefix.length);
    const idx = rest.indexOf(delimiter);
    if (idx === -1) objects.push(obj); else common.add(prefix + rest.slice(0, idx + delimiter.length));
  }
  return { objects, commonPrefixes: [...common].sort(), isTruncated: false };
};

const server = new S3rver({
  address: '127.0.0.1',
  port,
  directory: dir,
  silent: true,
  configureBuckets: buckets.map(name => ({ name, configs: [] })),
});
const address = await server.run();
process.stdout.write(`PORT ${address.port}\n`);
const stop = async () => { try { await server.close(); } finally { process.exit(0); } };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
