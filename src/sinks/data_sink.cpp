// sinks/data_sink: mask handling shared by sinks, and the HostMemory sink.
#include "batchmd/sinks/data_sink.hpp"

#include <cstring>

#include "batchmd/core/error.hpp"

namespace batchmd::sinks {

std::vector<std::int64_t> DataSink::selected(const Batch& batch, const std::vector<bool>& mask,
                                             const std::string& sink) {
  if (mask.size() != static_cast<std::size_t>(batch.n_systems()))
    throw InvalidArgument(sink + ".write: mask has " + std::to_string(mask.size()) + " entries but the batch has " +
                          std::to_string(batch.n_systems()) + " systems");
  std::vector<std::int64_t> idx;
  for (std::size_t s = 0; s < mask.size(); ++s)
    if (mask[s]) idx.push_back(static_cast<std::int64_t>(s));
  return idx;
}

HostMemory::HostMemory(std::int64_t capacity) : capacity_(capacity) {
  if (capacity < 1) throw InvalidArgument("HostMemory capacity must be >= 1 sample, got " + std::to_string(capacity));
}

void HostMemory::write(const Batch& batch, const std::vector<bool>& mask) {
  const auto idx = selected(batch, mask, name());
  if (idx.empty()) return;
  if (size() + static_cast<std::int64_t>(idx.size()) > capacity_)
    throw CapacityError("HostMemory is full: " + std::to_string(idx.size()) + " samples do not fit (" +
                        std::to_string(size()) + " of " + std::to_string(capacity_) + " used)");
  if (!blocks_.empty()) {  // every write must carry the same fields as the first
    const auto& first = blocks_.front().fields;
    bool same = first.size() == batch.fields().size();
    for (const auto& [k, f] : batch.fields()) {
      auto it = first.find(k);
      same = same && it != first.end() && it->second.level == f.level &&
             it->second.tensor.dtype() == f.tensor.dtype() && it->second.tensor.row_numel() == f.tensor.row_numel();
    }
    if (!same) throw InvalidArgument("HostMemory.write: the batch's fields differ from those already stored");
  }
  Block block;
  block.samples = static_cast<std::int64_t>(idx.size());
  if (idx.size() == static_cast<std::size_t>(batch.n_systems())) {
    for (const auto& [k, f] : batch.fields()) block.fields.emplace(k, Field{f.level, f.tensor.clone()});
  } else {
    Batch sub = batch.index_select(idx);
    for (const auto& [k, f] : sub.fields()) block.fields.emplace(k, Field{f.level, sub.get(k).clone()});
  }
  const auto* ap = batch.atoms_ptr_data();
  const auto* ep = batch.edges_ptr().data<std::int64_t>();
  for (auto s : idx) {
    atoms_.push_back(ap[s + 1] - ap[s]);
    edges_.push_back(ep[s + 1] - ep[s]);
  }
  blocks_.push_back(std::move(block));
}

Batch HostMemory::read() {
  if (blocks_.empty()) throw InvalidArgument("HostMemory.read: the sink is empty");
  std::map<std::string, Field, std::less<>> fields;
  for (const auto& [k, f] : blocks_.front().fields) {
    std::int64_t rows = 0;
    for (const auto& b : blocks_) rows += b.fields.find(k)->second.tensor.rows();
    Shape shape = f.tensor.shape();
    shape[0] = rows;
    Tensor t(f.tensor.dtype(), shape);
    std::size_t off = 0;
    for (const auto& b : blocks_) {
      const Tensor& src = b.fields.find(k)->second.tensor;
      if (src.nbytes()) std::memcpy(t.bytes() + off, src.raw(), src.nbytes());
      off += src.nbytes();
    }
    fields.emplace(k, Field{f.level, std::move(t)});
  }
  Batch out = Batch::from_parts(atoms_, edges_, std::move(fields));
  // edge_index is stored global to each written batch; rebase it onto the concatenation.
  if (out.has(kEdgeIndex)) {
    auto* ei = out.get(kEdgeIndex).data<std::int64_t>();
    const auto* ap = out.atoms_ptr_data();
    const auto* ep = out.edges_ptr().data<std::int64_t>();
    std::int64_t sample = 0;
    for (const auto& b : blocks_) {
      const std::int64_t block_samples = b.samples;
      const std::int64_t block_atom0 = ap[sample];
      // Within a block the indices count from the block's first atom (they were global to the
      // written batch or its index_select); shift them by where the block starts.
      for (std::int64_t e = ep[sample]; e < ep[sample + block_samples]; ++e) {
        ei[2 * e] += block_atom0;
        ei[2 * e + 1] += block_atom0;
      }
      sample += block_samples;
    }
  }
  return out;
}

void HostMemory::zero() {
  blocks_.clear();
  atoms_.clear();
  edges_.clear();
}

std::size_t HostMemory::raw_bytes() const {
  std::size_t n = 0;
  for (const auto& b : blocks_)
    for (const auto& [k, f] : b.fields) n += f.tensor.nbytes();
  return n;
}

std::size_t HostMemory::allocated_bytes() const {
  std::size_t n = 0;
  for (const auto& b : blocks_)
    for (const auto& [k, f] : b.fields) n += f.tensor.capacity_bytes();
  return n;
}

}  // namespace batchmd::sinks
