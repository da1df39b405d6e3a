// SPDX-License-Identifier: Apache-2.0
// Test support for trajectory sinks: batches whose every value encodes (sample id, atom, column),
// so a reader can check that each sample it sees is complete and correct.
#pragma once
#include <cstring>
#include <string>

#include "batchmd/data/batch.hpp"

namespace batchmd::test_support {

/// Atoms of sample `id` (1..9, varying).
inline std::int64_t atoms_of(std::int64_t id) { return 1 + (id * 7) % 9; }

/// A batch of samples first_id .. first_id + n - 1 with every dtype and level:
/// positions f64 [3], forces f32 [3], atomic_numbers i64, a uint8 atom field, energy f64,
/// system_id i64, status i32, pbc bool [3], cell f64 [3,3], edge_index i64 [2] + edge f32.
inline Batch encoded_batch(std::int64_t first_id, std::int64_t n, DType fdt = DType::Float64) {
  std::vector<AtomicData> systems;
  for (std::int64_t id = first_id; id < first_id + n; ++id) {
    const std::int64_t na = atoms_of(id);
    std::vector<double> pos;
    std::vector<std::int64_t> z;
    for (std::int64_t a = 0; a < na; ++a) {
      for (int c = 0; c < 3; ++c) pos.push_back(static_cast<double>(id) * 1000.0 + static_cast<double>(a) * 10.0 + c);
      z.push_back(1 + (id + a) % 18);
    }
    AtomicData d = AtomicData::make(fdt, pos, z, {double(id), 0, 0, 0, 1, 0, 0, 0, 1}, {id % 2 == 0, true, false});
    Tensor f(DType::Float32, {na, 3});
    for (std::int64_t i = 0; i < 3 * na; ++i)
      f.data<float>()[i] = static_cast<float>(id) + 0.25f * static_cast<float>(i);
    d.set("forces", Level::Atom, std::move(f));
    Tensor u(DType::UInt8, {na});
    for (std::int64_t a = 0; a < na; ++a) u.data<std::uint8_t>()[a] = static_cast<std::uint8_t>((id + a) & 0xff);
    d.set("tag", Level::Atom, std::move(u));
    Tensor e(DType::Float64, {1});
    e.data<double>()[0] = -0.5 * static_cast<double>(id);
    d.set("energy", Level::System, std::move(e));
    d.set("system_id", Level::System, Tensor::from<std::int64_t>({id}, {1}));
    d.set("status", Level::System, Tensor::from<std::int32_t>({static_cast<std::int32_t>(id % 3)}, {1}));
    const std::int64_t ne = na - 1;
    Tensor ei(DType::Int64, {ne, 2}), ew(DType::Float32, {ne});
    for (std::int64_t k = 0; k < ne; ++k) {
      ei.data<std::int64_t>()[2 * k] = k;
      ei.data<std::int64_t>()[2 * k + 1] = k + 1;
      ew.data<float>()[k] = static_cast<float>(id) * 0.5f + static_cast<float>(k);
    }
    d.set(std::string(kEdgeIndex), Level::Edge, std::move(ei));
    d.set("bond_length", Level::Edge, std::move(ew));
    systems.push_back(std::move(d));
  }
  return Batch::from_systems(systems);
}

/// Checks that sample `s` of `b` is exactly sample `id` of encoded_batch; returns "" or a reason.
inline std::string check_encoded(const Batch& b, std::int64_t s, std::int64_t id) {
  Batch ref = encoded_batch(id, 1, b.get("positions").dtype());
  AtomicData got = b.system(s);
  AtomicData want = ref.system(0);
  if (got.n_atoms() != want.n_atoms()) return "atom count differs for sample " + std::to_string(id);
  for (const auto& [k, f] : want.fields()) {
    if (!got.has(k)) return "missing field " + k;
    const Tensor& t = got.get(k);
    if (t.shape() != f.tensor.shape() || t.dtype() != f.tensor.dtype()) return "shape/dtype of " + k;
    if (t.nbytes() && std::memcmp(t.raw(), f.tensor.raw(), t.nbytes()) != 0)
      return "values of " + k + " in sample " + std::to_string(id);
  }
  return "";
}

}  // namespace batchmd::test_support
