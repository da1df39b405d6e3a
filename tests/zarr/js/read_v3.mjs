// SPDX-License-Identifier: Apache-2.0
// Reads Zarr v3 arrays with zarrita (an independent implementation), for batchmd's interop tests.
//
// usage: node read_v3.mjs STORE OUT NAME...
// Writes OUT/NAME.bin (the array's values, C order, little-endian) and OUT/manifest.json
// ({name: {shape, dtype, attrs}, "/": {attrs}}).
import * as fs from "node:fs";
import * as path from "node:path";
import { FileSystemStore } from "@zarrita/storage";
import * as zarr from "zarrita";

const [storeDir, outDir, ...names] = process.argv.slice(2);
fs.mkdirSync(outDir, { recursive: true });
const root = zarr.root(new FileSystemStore(storeDir));
const manifest = {};
const group = await zarr.open.v3(root, { kind: "group" });
manifest["/"] = { attrs: group.attrs };
for (const name of names) {
  const arr = await zarr.open.v3(root.resolve(name), { kind: "array" });
  const chunk = await zarr.get(arr);
  const data = chunk.data;
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(path.join(outDir, name.replaceAll("/", "_") + ".bin"), bytes);
  manifest[name] = { shape: arr.shape, dtype: arr.dtype, attrs: arr.attrs };
}
fs.writeFileSync(path.join(outDir, "manifest.json"), JSON.stringify(manifest));
