// SPDX-License-Identifier: Apache-2.0
// io/cif_stub: the CIF seam of a build without gemmi (or PEGTL): reading CIF is a clear error.
#include "batchmd/core/error.hpp"
#include "batchmd/io/cif.hpp"

namespace batchmd::io {

bool cif_supported() { return false; }

std::vector<AtomicData> read_cif(std::string_view, const ReadOptions&, std::string_view source) {
  throw InvalidArgument(std::string(source) +
                        ": this batchmd was built without CIF support (install Debian's gemmi-dev and "
                        "tao-pegtl-dev, then reconfigure)");
}

}  // namespace batchmd::io
