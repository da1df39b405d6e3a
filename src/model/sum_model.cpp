// SPDX-License-Identifier: Apache-2.0
// model/sum_model: SumModel — runs each term in turn on the batch's own output fields; after
// every term but the first, the sum so far (kept in accumulator tensors on the batch's device)
// is added back in. No term needs to know it is part of a sum.
#include "batchmd/model/sum_model.hpp"

#include <algorithm>
#include <set>

#include "batchmd/core/error.hpp"
#include "tensor_add.hpp"

namespace batchmd::model {

namespace detail {

void tensor_add(Tensor& dst, const Tensor& src) {
  if (dst.dtype() != src.dtype() || dst.numel() != src.numel() || dst.device() != src.device())
    throw InvalidArgument("tensor_add: tensors differ in dtype, size or device");
  if (dst.is_cuda()) return tensor_add_gpu(dst, src);
  dispatch_float(dst.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* d = dst.data<T>();
    const T* s = src.data<T>();
    for (std::int64_t i = 0; i < dst.numel(); ++i) d[i] += s[i];
  });
}

}  // namespace detail

struct SumModel::Acc {
  Tensor energy, forces, virial, stress;
};

namespace {
void save(Tensor& acc, const Tensor& field) {
  if (!acc.defined() || acc.dtype() != field.dtype() || acc.shape() != field.shape() || acc.device() != field.device())
    acc = Tensor(field.dtype(), field.shape(), field.device());
  acc.copy_from(field);
}
}  // namespace

SumModel::SumModel(std::vector<std::shared_ptr<Model>> terms)
    : terms_(std::move(terms)), acc_(std::make_unique<Acc>()) {
  if (terms_.empty()) throw InvalidArgument("SumModel: needs at least one term");
  for (std::size_t k = 0; k < terms_.size(); ++k)
    if (!terms_[k]) throw InvalidArgument("SumModel: term " + std::to_string(k) + " is null");
}
SumModel::~SumModel() = default;

std::string SumModel::name() const {
  std::string n;
  for (const auto& t : terms_) {
    if (!n.empty()) n += '+';
    n += t->name();
  }
  return n;
}

double SumModel::cutoff() const {
  double rc = 0;
  for (const auto& t : terms_) rc = std::max(rc, t->cutoff());
  return rc;
}

std::int64_t SumModel::neighbor_builds() const {
  std::int64_t n = 0;
  for (const auto& t : terms_) n += t->neighbor_builds();
  return n;
}

std::optional<std::vector<std::int64_t>> SumModel::covered_elements() const {
  std::optional<std::set<std::int64_t>> common;  // every term must take the element
  for (const auto& t : terms_)
    if (auto z = t->covered_elements()) {
      std::set<std::int64_t> mine(z->begin(), z->end());
      if (common)
        std::erase_if(*common, [&](std::int64_t e) { return !mine.count(e); });
      else
        common = std::move(mine);
    }
  if (!common) return std::nullopt;
  return std::vector<std::int64_t>(common->begin(), common->end());
}

void SumModel::compute(Batch& batch, bool compute_stress) {
  terms_[0]->compute(batch, compute_stress);
  Acc& a = *acc_;
  for (std::size_t k = 1; k < terms_.size(); ++k) {
    save(a.energy, batch.get("energy"));
    save(a.forces, batch.get("forces"));
    if (compute_stress) {
      save(a.virial, batch.get("virial"));
      save(a.stress, batch.get("stress"));
    }
    terms_[k]->compute(batch, compute_stress);
    detail::tensor_add(batch.get("energy"), a.energy);
    detail::tensor_add(batch.get("forces"), a.forces);
    if (compute_stress) {
      detail::tensor_add(batch.get("virial"), a.virial);
      detail::tensor_add(batch.get("stress"), a.stress);
    }
  }
}

std::vector<double> SumModel::state() const {
  std::vector<std::vector<double>> parts;
  bool any = false;
  for (const auto& t : terms_) {
    parts.push_back(t->state());
    any = any || !parts.back().empty();
  }
  if (!any) return {};
  // [n_terms, size_0, ..., size_{n-1}, state_0..., state_1..., ...]
  std::vector<double> out{static_cast<double>(parts.size())};
  for (const auto& p : parts) out.push_back(static_cast<double>(p.size()));
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

void SumModel::restore_state(const Batch& batch, std::span<const double> state) {
  if (state.empty()) return;
  const auto n = static_cast<std::size_t>(state[0]);
  if (n != terms_.size() || state.size() < 1 + n)
    throw InvalidArgument("SumModel.restore_state: the state is not of a sum of " + std::to_string(terms_.size()) +
                          " models");
  std::size_t at = 1 + n;
  for (std::size_t k = 0; k < n; ++k) {
    const auto len = static_cast<std::size_t>(state[1 + k]);
    if (at + len > state.size()) throw InvalidArgument("SumModel.restore_state: truncated state");
    if (len > 0) terms_[k]->restore_state(batch, state.subspan(at, len));
    at += len;
  }
}

}  // namespace batchmd::model
