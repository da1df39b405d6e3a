// SPDX-License-Identifier: Apache-2.0
// mpi/wire: packing a Batch into bytes for MPI messages, and unpacking it.
#include "wire.hpp"

#include <cstring>
#include <string>

#include "batchmd/core/error.hpp"

namespace batchmd::mpi::wire {

namespace {

constexpr char kMagic[8] = {'B', 'M', 'D', 'W', 'I', 'R', 'E', '1'};

void put_raw(std::vector<std::byte>& out, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::byte*>(p);
  out.insert(out.end(), b, b + n);
  out.resize(out.size() + (8 - n % 8) % 8, std::byte{0});  // keep 8-byte alignment
}
void put(std::vector<std::byte>& out, std::int64_t v) { put_raw(out, &v, sizeof v); }

class Reader {
 public:
  explicit Reader(std::span<const std::byte> b) : b_(b) {}
  const std::byte* take(std::size_t n, const char* what) {
    const std::size_t padded = n + (8 - n % 8) % 8;
    if (padded > b_.size() - pos_)
      throw FormatError("MPI message: truncated batch (" + std::string(what) + " needs " + std::to_string(n) +
                        " bytes at offset " + std::to_string(pos_) + " of " + std::to_string(b_.size()) + ")");
    const std::byte* p = b_.data() + pos_;
    pos_ += padded;
    return p;
  }
  std::int64_t i64(const char* what) {
    std::int64_t v = 0;
    std::memcpy(&v, take(sizeof v, what), sizeof v);
    return v;
  }
  std::int64_t count(const char* what, std::int64_t most) {
    const std::int64_t v = i64(what);
    if (v < 0 || v > most)
      throw FormatError("MPI message: " + std::string(what) + " = " + std::to_string(v) + " is out of range");
    return v;
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  std::span<const std::byte> b_;
  std::size_t pos_ = 0;
};

}  // namespace

void pack(const Batch& batch, std::vector<std::byte>& out) {
  if (batch.is_cuda()) return pack(batch.to(Device::cpu()), out);
  const std::int64_t ns = batch.n_systems();
  put_raw(out, kMagic, sizeof kMagic);
  put(out, ns);
  put(out, static_cast<std::int64_t>(batch.fields().size()));
  const auto* ap = batch.atoms_ptr_data();
  const auto* ep = batch.edges_ptr().data<std::int64_t>();
  std::vector<std::int64_t> counts(static_cast<std::size_t>(ns));
  for (std::int64_t s = 0; s < ns; ++s) counts[s] = ap[s + 1] - ap[s];
  put_raw(out, counts.data(), counts.size() * sizeof(std::int64_t));
  for (std::int64_t s = 0; s < ns; ++s) counts[s] = ep[s + 1] - ep[s];
  put_raw(out, counts.data(), counts.size() * sizeof(std::int64_t));
  for (const auto& [name, f] : batch.fields()) {
    put(out, static_cast<std::int64_t>(name.size()));
    put_raw(out, name.data(), name.size());
    put(out, static_cast<std::int64_t>(f.level));
    put(out, static_cast<std::int64_t>(f.tensor.dtype()));
    put(out, static_cast<std::int64_t>(f.tensor.ndim()));
    for (std::size_t d = 0; d < f.tensor.ndim(); ++d) put(out, f.tensor.dim(d));
    put(out, static_cast<std::int64_t>(f.tensor.nbytes()));
    put_raw(out, f.tensor.raw(), f.tensor.nbytes());
  }
}

Batch unpack(std::span<const std::byte> bytes) {
  Reader r(bytes);
  if (std::memcmp(r.take(sizeof kMagic, "magic"), kMagic, sizeof kMagic) != 0)
    throw FormatError("MPI message: not a packed batch (bad magic)");
  constexpr std::int64_t kMost = std::int64_t{1} << 48;
  const std::int64_t ns = r.count("systems", kMost);
  const std::int64_t nf = r.count("fields", 1 << 16);
  std::vector<std::int64_t> atoms(static_cast<std::size_t>(ns)), edges(static_cast<std::size_t>(ns));
  std::memcpy(atoms.data(), r.take(atoms.size() * sizeof(std::int64_t), "atom counts"),
              atoms.size() * sizeof(std::int64_t));
  std::memcpy(edges.data(), r.take(edges.size() * sizeof(std::int64_t), "edge counts"),
              edges.size() * sizeof(std::int64_t));
  std::map<std::string, Field, std::less<>> fields;
  for (std::int64_t k = 0; k < nf; ++k) {
    const std::int64_t len = r.count("field name length", 4096);
    const std::byte* p = r.take(static_cast<std::size_t>(len), "field name");
    std::string name(reinterpret_cast<const char*>(p), static_cast<std::size_t>(len));
    const std::int64_t level = r.count("level", 2);
    const std::int64_t dtype = r.count("dtype", static_cast<std::int64_t>(DType::UInt8));
    const std::int64_t ndim = r.count("ndim", 8);
    Shape shape;
    for (std::int64_t d = 0; d < ndim; ++d) shape.push_back(r.count("dimension", kMost));
    Tensor t(static_cast<DType>(dtype), shape);
    const std::int64_t nbytes = r.count("data bytes", kMost);
    if (static_cast<std::size_t>(nbytes) != t.nbytes())
      throw FormatError("MPI message: field '" + name + "' carries " + std::to_string(nbytes) + " bytes, its shape " +
                        std::to_string(t.nbytes()));
    std::memcpy(t.raw(), r.take(static_cast<std::size_t>(nbytes), "field data"), t.nbytes());
    fields.emplace(std::move(name), Field{static_cast<Level>(level), std::move(t)});
  }
  if (!r.done()) throw FormatError("MPI message: bytes left over after the packed batch");
  return Batch::from_parts(atoms, edges, std::move(fields));
}

std::vector<std::byte> message(std::int64_t kind, std::int64_t value, const Batch* batch) {
  std::vector<std::byte> out(kMessageHeader);
  const std::int64_t h[2] = {kind, value};
  std::memcpy(out.data(), h, kMessageHeader);
  if (batch) pack(*batch, out);
  return out;
}

Message read_message(std::span<const std::byte> bytes, std::string_view stream, int from, std::int64_t first_kind,
                     std::int64_t last_kind) {
  if (bytes.size() < kMessageHeader)
    throw FormatError("MPI: a " + std::string(stream) + " message of " + std::to_string(bytes.size()) +
                      " bytes from rank " + std::to_string(from) + " is too short");
  Message m;
  std::int64_t h[2];
  std::memcpy(h, bytes.data(), kMessageHeader);
  m.kind = h[0];
  m.value = h[1];
  if (m.kind < first_kind || m.kind > last_kind)
    throw FormatError("MPI: unknown " + std::string(stream) + " message kind " + std::to_string(m.kind) +
                      " from rank " + std::to_string(from));
  if (bytes.size() > kMessageHeader) {
    m.batch = unpack(bytes.subspan(kMessageHeader));
    m.has_batch = true;
  }
  return m;
}

}  // namespace batchmd::mpi::wire
