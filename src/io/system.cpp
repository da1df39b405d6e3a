// SPDX-License-Identifier: Apache-2.0
// io/system (internal): AtomicData from parsed parts; cell arithmetic.
#include "system.hpp"

#include <cmath>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"

namespace batchmd::io::detail {

void set_floats(AtomicData& d, const std::string& name, Level level, const std::vector<double>& values, Shape shape,
                DType fdt) {
  Tensor t(fdt, std::move(shape));
  if (static_cast<std::size_t>(t.numel()) != values.size())
    throw Error("io: field '" + name + "' has " + std::to_string(values.size()) + " values for shape " +
                shape_str(t.shape()));
  dispatch_float(fdt, [&](auto zero) {
    using T = decltype(zero);
    T* p = t.data<T>();
    for (std::size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
  });
  d.set(name, level, std::move(t));
}

void set_ints(AtomicData& d, const std::string& name, Level level, const std::vector<std::int64_t>& values, Shape shape,
              DType dt) {
  Tensor t(dt, std::move(shape));
  if (static_cast<std::size_t>(t.numel()) != values.size())
    throw Error("io: field '" + name + "' has " + std::to_string(values.size()) + " values for shape " +
                shape_str(t.shape()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (dt == DType::Int64)
      t.data<std::int64_t>()[i] = values[i];
    else if (dt == DType::Int32)
      t.data<std::int32_t>()[i] = static_cast<std::int32_t>(values[i]);
    else if (dt == DType::UInt8)
      t.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(values[i]);
    else
      throw Error("io: set_ints: field '" + name + "' is not an integer dtype");
  }
  d.set(name, level, std::move(t));
}

void set_bools(AtomicData& d, const std::string& name, Level level, const std::vector<bool>& values, Shape shape) {
  Tensor t(DType::Bool, std::move(shape));
  if (static_cast<std::size_t>(t.numel()) != values.size())
    throw Error("io: field '" + name + "' has " + std::to_string(values.size()) + " values for shape " +
                shape_str(t.shape()));
  for (std::size_t i = 0; i < values.size(); ++i) t.data<bool>()[i] = values[i];
  d.set(name, level, std::move(t));
}

AtomicData build_system(const SystemParts& parts, DType fdt, std::string_view source) {
  if (!is_floating(fdt)) throw_not_floating(fdt);
  const auto n = static_cast<std::int64_t>(parts.numbers.size());
  std::vector<double> masses;
  if (parts.masses) {
    masses = *parts.masses;
  } else {
    masses.resize(parts.numbers.size());
    for (std::size_t i = 0; i < parts.numbers.size(); ++i) {
      const std::int64_t z = parts.numbers[i];
      if (z < 1 || z > 118)
        throw FormatError(std::string(source) + ": atomic number " + std::to_string(z) + " is not an element");
      masses[i] = atomic_mass(z);
    }
  }
  AtomicData d;
  set_floats(d, "positions", Level::Atom, parts.positions, {n, 3}, fdt);
  set_ints(d, "atomic_numbers", Level::Atom, parts.numbers, {n});
  set_floats(d, "masses", Level::Atom, masses, {n}, fdt);
  set_floats(d, "cell", Level::System, std::vector<double>(parts.cell.begin(), parts.cell.end()), {1, 3, 3}, fdt);
  set_bools(d, "pbc", Level::System, {parts.pbc[0], parts.pbc[1], parts.pbc[2]}, {1, 3});
  return d;
}

double value_as_double(const Tensor& t, std::int64_t row, std::int64_t k) {
  const std::int64_t i = row * t.row_numel() + k;
  switch (t.dtype()) {
    case DType::Float64:
      return t.data<double>()[i];
    case DType::Float32:
      return static_cast<double>(t.data<float>()[i]);
    case DType::Int64:
      return static_cast<double>(t.data<std::int64_t>()[i]);
    case DType::Int32:
      return static_cast<double>(t.data<std::int32_t>()[i]);
    case DType::UInt8:
      return static_cast<double>(t.data<std::uint8_t>()[i]);
    case DType::Bool:
      return t.data<bool>()[i] ? 1.0 : 0.0;
  }
  return 0.0;
}

Mat3 cell_of(const AtomicData& d) {
  Mat3 c{};
  if (!d.has("cell")) return c;
  const Tensor& t = d.get("cell");
  if (t.numel() != 9 || t.dtype() == DType::Bool) throw InvalidArgument("the system's cell is not 3x3 numbers");
  for (int k = 0; k < 9; ++k) c[static_cast<std::size_t>(k)] = value_as_double(t, 0, k);
  return c;
}

std::array<bool, 3> pbc_of(const AtomicData& d) {
  std::array<bool, 3> p{};
  if (!d.has("pbc")) return p;
  const Tensor& t = d.get("pbc");
  if (t.numel() != 3) throw InvalidArgument("the system's pbc does not have 3 values");
  for (int k = 0; k < 3; ++k) p[static_cast<std::size_t>(k)] = value_as_double(t, 0, k) != 0.0;
  return p;
}

bool is_zero(const Mat3& m) {
  for (double v : m)
    if (v != 0.0) return false;
  return true;
}

double det3(const Mat3& m) {
  return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}

std::optional<Mat3> inverse3(const Mat3& m) {
  const double det = det3(m);
  double scale = 0;
  for (double v : m) scale = std::max(scale, std::abs(v));
  if (!(std::abs(det) > 1e-12 * scale * scale * scale)) return std::nullopt;
  const double id = 1.0 / det;
  return Mat3{(m[4] * m[8] - m[5] * m[7]) * id, (m[2] * m[7] - m[1] * m[8]) * id, (m[1] * m[5] - m[2] * m[4]) * id,
              (m[5] * m[6] - m[3] * m[8]) * id, (m[0] * m[8] - m[2] * m[6]) * id, (m[2] * m[3] - m[0] * m[5]) * id,
              (m[3] * m[7] - m[4] * m[6]) * id, (m[1] * m[6] - m[0] * m[7]) * id, (m[0] * m[4] - m[1] * m[3]) * id};
}

}  // namespace batchmd::io::detail
