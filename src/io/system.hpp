// SPDX-License-Identifier: Apache-2.0
// io/system (internal): building an AtomicData from what a reader parsed (all values held as
// double/int64/bool until the end, then stored in the requested float dtype), and the 3x3 cell
// arithmetic the readers and writers share.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/data/batch.hpp"

namespace batchmd::io::detail {

using Mat3 = std::array<double, 9>;  // row-major; for a cell, rows are a, b, c

/// The parts every system has.
struct SystemParts {
  std::vector<double> positions;      // [n][3], Å
  std::vector<std::int64_t> numbers;  // [n]
  Mat3 cell{};                        // zeros: open system
  std::array<bool, 3> pbc{};
  std::optional<std::vector<double>> masses;  // [n], amu; standard weights when absent
};

/// An AtomicData of the parts in float dtype `fdt`. Masses absent: standard atomic weights; an
/// element without one throws FormatError naming `source`.
AtomicData build_system(const SystemParts& parts, DType fdt, std::string_view source);

/// Sets a field from doubles, stored in `fdt` (float32/float64); shape includes the leading axis.
void set_floats(AtomicData& d, const std::string& name, Level level, const std::vector<double>& values, Shape shape,
                DType fdt);
/// Sets a field from integers, stored as `dt` (int64, int32 or uint8).
void set_ints(AtomicData& d, const std::string& name, Level level, const std::vector<std::int64_t>& values, Shape shape,
              DType dt = DType::Int64);
void set_bools(AtomicData& d, const std::string& name, Level level, const std::vector<bool>& values, Shape shape);

/// Element k of a tensor row as double (any dtype; bools as 0/1).
double value_as_double(const Tensor& t, std::int64_t row, std::int64_t k);
/// The system's cell (zeros when it has none) and pbc (all false when it has none).
Mat3 cell_of(const AtomicData& d);
std::array<bool, 3> pbc_of(const AtomicData& d);
bool is_zero(const Mat3& m);

double det3(const Mat3& m);
/// Inverse of a 3x3 matrix; nullopt when singular (|det| tiny relative to its entries).
std::optional<Mat3> inverse3(const Mat3& m);

}  // namespace batchmd::io::detail
