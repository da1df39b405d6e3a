// SPDX-License-Identifier: Apache-2.0
// Internal: how each batchmd DType is named in Zarr v2 (`dtype`, numpy typestr). v3 `data_type`
// names are core's dtype_name().
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "batchmd/core/dtype.hpp"

namespace batchmd::zarr {

/// v2 dtype string in little-endian order: "<f8", "|b1", ...
std::string v2_dtype_string(DType t);
/// Parses "<f8", ">i4", "|u1", ...; `big_endian` tells the byte order it names.
std::optional<DType> dtype_from_v2_string(std::string_view s, bool& big_endian);

}  // namespace batchmd::zarr
