// SPDX-License-Identifier: Apache-2.0
// Reads a batchmd trajectory store (Zarr v3) with zarrita, an independent implementation, and
// prints it as JSON on stdout for test_trajectory_interop:
//   {"zarr_format": 3, "attrs": {...root attributes...},
//    "arrays": {"meta/atoms_ptr": {"shape": [...], "dtype": "int64", "codecs": [...],
//                                  "dims": [...], "values": [flat, C order]}, ...}}
// usage: node zarrita_read.mjs STORE NODE_MODULES
// NODE_MODULES is tests/zarr/js/node_modules (the zarr module's npm install), imported by path.
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";

const [storeDir, nodeModules] = process.argv.slice(2);
if (!storeDir || !nodeModules) {
  console.error("usage: node zarrita_read.mjs STORE NODE_MODULES");
  process.exit(2);
}
// Node resolves bare ESM imports next to the script only, so import the packages by their entry.
async function importPackage(name) {
  const dir = path.join(nodeModules, name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const entry = pkg.exports?.["."]?.import ?? pkg.module ?? pkg.main;
  return import(pathToFileURL(path.join(dir, entry)).href);
}
const zarr = await importPackage("zarrita");
const { FileSystemStore } = await importPackage("@zarrita/storage");

const root = zarr.root(new FileSystemStore(storeDir));
const group = await zarr.open.v3(root, { kind: "group" });
const names = ["meta/atoms_ptr", "meta/edges_ptr", "meta/samples_mask", "meta/atoms_mask", "meta/edges_mask"];
for (const [groupName, fields] of Object.entries(group.attrs.fields ?? {}))
  for (const f of Object.keys(fields)) names.push(`${groupName}/${f}`);

const out = { zarr_format: 3, attrs: group.attrs, arrays: {} };
for (const name of names) {
  const arr = await zarr.open.v3(root.resolve(name), { kind: "array" });
  const chunk = await zarr.get(arr);
  const data = chunk.data;
  const values = [];
  if (typeof data.get === "function") {  // BoolArray and friends
    for (let i = 0; i < data.length; ++i) values.push(data.get(i));
  } else {
    for (const v of data) values.push(typeof v === "bigint" ? Number(v) : v);
  }
  const meta = JSON.parse(fs.readFileSync(path.join(storeDir, name, "zarr.json"), "utf8"));
  out.arrays[name] = {
    shape: arr.shape,
    dtype: arr.dtype,
    codecs: meta.codecs.map((c) => c.name),
    dims: meta.dimension_names ?? null,
    values,
  };
}
process.stdout.write(JSON.stringify(out));
