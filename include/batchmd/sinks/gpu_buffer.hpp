// SPDX-License-Identifier: Apache-2.0
// sinks/gpu_buffer: GPUBuffer, the DataSink that keeps snapshots in pre-allocated GPU memory —
// masked writes copy the selected systems of every field with one fused kernel, in stream order
// on the device's compute stream, so writing never waits for the GPU.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/sinks/data_sink.hpp"

namespace batchmd::sinks {

namespace detail {
class FusedGather;
struct GatherFieldSpec;
}  // namespace detail

/// Snapshots in GPU memory. Storage for `capacity` samples of at most `max_atoms` atoms and
/// `max_edges` edges each is allocated by the first write, from that batch's fields (names,
/// levels, dtypes, trailing shapes): that schema is then fixed, and a write with other fields
/// is an InvalidArgument naming the field. A write from a GPU batch on the buffer's device
/// copies the selected systems of every field with one fused gather kernel (no per-system or
/// per-field launches) and returns without waiting for it; a CPU batch (or one on another GPU)
/// is copied in first. read() returns the stored samples as a Batch on the device, edge_index
/// global to it. zero() forgets the samples and keeps the storage and the schema. Writes that
/// repeat the last write's selection (same systems, same atom and edge counts, same source
/// tensors) launch the last write's gather table again at the new rows: no planning, no upload.
class GPUBuffer : public DataSink {
 public:
  /// capacity: samples. max_atoms / max_edges: the most atoms / edges one sample may have.
  /// device: a CUDA device; InvalidArgument if it is the CPU, or if this build has no CUDA
  /// backend or the machine no such GPU.
  GPUBuffer(std::int64_t capacity, std::int64_t max_atoms, std::int64_t max_edges,
            Device device = Device{Device::Kind::CUDA, 0});
  ~GPUBuffer() override;
  GPUBuffer(const GPUBuffer&) = delete;
  GPUBuffer& operator=(const GPUBuffer&) = delete;

  std::string name() const override { return "GPUBuffer(" + device_.str() + ")"; }
  using DataSink::write;
  /// CapacityError (storing nothing) if the selected systems exceed the free samples, or one of
  /// them has more than max_atoms atoms or max_edges edges.
  void write(const Batch& batch, const std::vector<bool>& mask) override;
  /// The stored samples, copied into a new Batch on the device (ordered on its compute stream).
  /// InvalidArgument if the buffer is empty.
  Batch read() override;
  void zero() override;
  /// Waits until the writes so far have completed on the GPU (surfacing any kernel failure).
  void flush() override;
  std::int64_t size() const override { return static_cast<std::int64_t>(atoms_.size()); }
  std::int64_t capacity() const override { return capacity_; }
  std::int64_t max_atoms() const { return max_atoms_; }
  std::int64_t max_edges() const { return max_edges_; }
  const Device& device() const { return device_; }
  /// Atoms and edges stored.
  std::int64_t n_atoms() const { return n_atoms_; }
  std::int64_t n_edges() const { return n_edges_; }
  /// GPU bytes of the storage (0 before the first write).
  std::size_t allocated_bytes() const;

 private:
  void check_schema(const Batch& batch) const;
  void allocate(const Batch& batch);
  void check_room(std::int64_t k) const;
  void gathered_fields(const Batch& src);
  bool write_again(const Batch& batch, const std::vector<bool>& mask);

  std::int64_t capacity_, max_atoms_, max_edges_;
  Device device_;
  bool allocated_ = false;
  std::map<std::string, Field, std::less<>> storage_;  // full-capacity tensors on device_
  std::vector<std::int64_t> atoms_, edges_;            // per stored sample
  std::int64_t n_atoms_ = 0, n_edges_ = 0;
  std::unique_ptr<detail::FusedGather> gather_;
  std::vector<std::int64_t> idx_;                // per write: the selected systems (capacity kept)
  std::vector<detail::GatherFieldSpec> fields_;  // per write: the gathered fields (capacity kept)
  // The last write, for the next one with the same mask over the same offsets (write_again).
  struct LastWrite {
    bool valid = false;
    std::vector<std::uint64_t> mask;         // its mask, as words
    std::vector<std::int64_t> ap, ep;        // the batch's atom and edge offsets (every system)
    std::vector<std::int64_t> atoms, edges;  // per selected system
    std::int64_t n_atoms = 0, n_edges = 0;
  } last_;
  std::vector<std::uint64_t> words_;  // per write: the mask as words (capacity kept)
};

}  // namespace batchmd::sinks
