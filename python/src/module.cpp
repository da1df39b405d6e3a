// SPDX-License-Identifier: Apache-2.0
// python/module: the extension module batchmd._batchmd. Each bind_* function lives in its own file
// (one per C++ module) so they compile in parallel; the Python package (python/batchmd) arranges the
// names into batchmd.data, batchmd.models, batchmd.dynamics, ... with the ALCHEMI toolkit's layout.
#include "common.hpp"

PYBIND11_MODULE(_batchmd, m) {
  using namespace batchmd::python;
  m.doc() = "batchmd C++ bindings (use the batchmd package, not this module directly)";
  bind_errors(m);
  bind_core(m);
  bind_views(m);
  bind_atomic_data(m);
  bind_batch(m);
  bind_models(m);
  bind_dynamics(m);
  bind_hooks(m);
  bind_sinks(m);
}
