// SPDX-License-Identifier: Apache-2.0
// Writes a small trajectory store the way the Python ALCHEMI toolkit's Zarr writer
// (nvalchemi.data.AtomicDataZarrWriter, behind nvalchemi.dynamics.ZarrData) lays one out with
// zarr-python 3, using zarrita — an independent Zarr v3 implementation — for the arrays:
//   meta/atoms_ptr, meta/edges_ptr (int64 [N+1]), meta/samples_mask (bool [N]),
//   meta/atoms_mask (bool [V]), meta/edges_mask (bool [E]);
//   core/positions, forces (float32 [V,3]), atomic_numbers (int64 [V]), energy (float32 [N,1]),
//   cell (float32 [N,3,3]), pbc (bool [N,3]), edge_index (int64 [2,E], store-global atom indices:
//   the toolkit concatenates *index* fields along their last axis);
//   custom/label (int64 [N], "system"), custom/bond_length (float32 [E], "edge");
//   root group attributes {"num_samples": N, "fields": {"core": {...}, "custom": {...}}};
//   codecs bytes + zstd (zarr-python 3's defaults), group documents with "consolidated_metadata".
// Soft delete as the toolkit's delete(): masks false over the sample, its data zeroed.
// The values follow formulas test_alchemi_store.cpp repeats (see alchemi_values there).
//
// usage: node toolkit_store.mjs STORE NODE_MODULES simple|full
//   simple: no edges, no custom edge array, nothing deleted
//   full:   edges, custom arrays, sample 3 soft-deleted
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";

const [storeDir, nodeModules, variant] = process.argv.slice(2);
if (!storeDir || !nodeModules || !["simple", "full"].includes(variant)) {
  console.error("usage: node toolkit_store.mjs STORE NODE_MODULES simple|full");
  process.exit(2);
}
async function importPackage(name) {  // by path: node resolves bare imports next to the script only
  const dir = path.join(nodeModules, name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const entry = pkg.exports?.["."]?.import ?? pkg.module ?? pkg.main;
  return import(pathToFileURL(path.join(dir, entry)).href);
}
const zarr = await importPackage("zarrita");
const { FileSystemStore } = await importPackage("@zarrita/storage");

const full = variant === "full";
const N = 6, deleted = full ? 3 : -1;
const natoms = (i) => 2 + ((i * 5) % 7);
const nedges = (i) => (full ? natoms(i) - 1 : 0);
const aptr = [0], eptr = [0];
for (let i = 0; i < N; ++i) { aptr.push(aptr[i] + natoms(i)); eptr.push(eptr[i] + nedges(i)); }
const V = aptr[N], E = eptr[N];

const pos = [], frc = [], z = [], ei0 = [], ei1 = [], bond = [], energy = [], cell = [], pbc = [], label = [];
for (let i = 0; i < N; ++i) {
  const zero = i === deleted;  // delete() zeroes every field of the sample
  for (let a = 0; a < natoms(i); ++a) {
    pos.push(...(zero ? [0, 0, 0] : [i * 10 + a, -0.5 * a, 0.25 * i]));
    frc.push(...(zero ? [0, 0, 0] : [0.125 * a, -i, 1.0]));
    z.push(zero ? 0n : BigInt(1 + ((i + a) % 20)));
  }
  for (let k = 0; k < nedges(i); ++k) {
    ei0.push(zero ? 0n : BigInt(aptr[i] + k));
    ei1.push(zero ? 0n : BigInt(aptr[i] + k + 1));
    bond.push(zero ? 0 : i + 0.5 * k);
  }
  energy.push(zero ? 0 : -1.5 * i);
  cell.push(...(zero ? new Array(9).fill(0) : [10 + i, 0, 0, 0, 11, 0, 0, 0, 12]));
  pbc.push(...(zero ? [0, 0, 0] : [i % 2 === 0 ? 1 : 0, 1, 0]));
  label.push(zero ? 0n : BigInt(100 + i));
}
const samplesMask = [], atomsMask = [], edgesMask = [];
for (let i = 0; i < N; ++i) {
  samplesMask.push(i === deleted ? 0 : 1);
  for (let a = 0; a < natoms(i); ++a) atomsMask.push(i === deleted ? 0 : 1);
  for (let k = 0; k < nedges(i); ++k) edgesMask.push(i === deleted ? 0 : 1);
}

const store = new FileSystemStore(storeDir);
const root = zarr.root(store);
const zstd = { name: "zstd", configuration: { level: 0, checksum: false } };
const kinds = {
  float32: { codecs: [{ name: "bytes", configuration: { endian: "little" } }, zstd], make: (v) => new Float32Array(v), fill: 0.0 },
  int64: { codecs: [{ name: "bytes", configuration: { endian: "little" } }, zstd], make: (v) => new BigInt64Array(v), fill: 0 },
  bool: { codecs: [{ name: "bytes" }, zstd], make: (v) => new zarr.BoolArray(new Uint8Array(v).buffer), fill: false },
};
async function array(name, dtype, shape, values, chunkRows) {
  const k = kinds[dtype];
  const chunkShape = [Math.max(1, chunkRows ?? shape[0]), ...shape.slice(1)];
  const arr = await zarr.create(root.resolve(name), { shape, chunkShape, dtype, codecs: k.codecs, fillValue: k.fill });
  const stride = shape.map((_, d) => shape.slice(d + 1).reduce((p, q) => p * q, 1));
  if (values.length > 0) await zarr.set(arr, null, { data: k.make(values), shape, stride });
}
// zarr-python 3 writes group documents with "consolidated_metadata": null
function group(name, attributes) {
  const doc = { attributes, zarr_format: 3, consolidated_metadata: null, node_type: "group" };
  const dir = path.join(storeDir, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "zarr.json"), JSON.stringify(doc, null, 2));
}

const fields = { core: { positions: "atom", forces: "atom", atomic_numbers: "atom", energy: "system", cell: "system", pbc: "system" },
                 custom: { label: "system" } };
if (full) { fields.core.edge_index = "edge"; fields.custom.bond_length = "edge"; }
fs.mkdirSync(storeDir, { recursive: true });
for (const g of ["meta", "core", "custom"]) group(g, {});
await array("meta/atoms_ptr", "int64", [N + 1], aptr.map(BigInt));
await array("meta/edges_ptr", "int64", [N + 1], eptr.map(BigInt));
await array("meta/samples_mask", "bool", [N], samplesMask);
await array("meta/atoms_mask", "bool", [V], atomsMask);
await array("meta/edges_mask", "bool", [E], edgesMask);
await array("core/positions", "float32", [V, 3], pos, 16);  // several chunks, the last one partial
await array("core/forces", "float32", [V, 3], frc);
await array("core/atomic_numbers", "int64", [V], z, 10);
await array("core/energy", "float32", [N, 1], energy);
await array("core/cell", "float32", [N, 3, 3], cell);
await array("core/pbc", "bool", [N, 3], pbc);
await array("custom/label", "int64", [N], label);
if (full) {
  await array("core/edge_index", "int64", [2, E], [...ei0, ...ei1]);
  await array("custom/bond_length", "float32", [E], bond);
}
group("", { num_samples: N, fields });  // written last, as the toolkit sets root.attrs last
console.log(JSON.stringify({ ok: true, samples: N, atoms: V, edges: E }));
