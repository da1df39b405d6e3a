// SPDX-License-Identifier: Apache-2.0
// python/bind_core: threads, the CUDA runtime's device queries, unit constants, the job-file
// structure generators of the command line (batchmd.app), and two device-memory helpers the GPU
// tests use to check DLPack exports without a CUDA-enabled consumer.
#include <cmath>

#include "batchmd/app/config.hpp"
#include "batchmd/core/cuda.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/units.hpp"
#include "common.hpp"

namespace batchmd::python {

namespace {

app::RunConfig job(const std::optional<std::string>& toml) {
  return toml ? app::parse_config(*toml, "<python>") : app::parse_config(app::kDefaultConfigToml, "<default job>");
}

}  // namespace

void bind_core(py::module_& m) {
  using namespace py::literals;
  m.def("num_threads", &num_threads, "CPU threads the kernels use.");
  m.def("set_num_threads", &set_num_threads, "n"_a, "Sets the CPU threads the kernels use (>= 1).");

  auto cuda = m.def_submodule("cuda", "The CUDA backend: is it built, which GPUs are usable.");
  cuda.def("compiled", &cuda::compiled, "Whether this build has the CUDA backend.");
  cuda.def("device_count", &cuda::device_count, "GPUs usable now (0 without the backend, a driver or a GPU).");
  cuda.def("unavailable_reason", &cuda::unavailable_reason, "Why no GPU is usable ('' when one is).");
  cuda.def("device_name", &cuda::device_name, "index"_a);
  cuda.def(
      "synchronize",
      [](int device) {
        py::gil_scoped_release nogil;
        cuda::synchronize(cuda::compute_stream(device));
      },
      "device"_a = 0, "Waits for the work batchmd queued on the device's compute stream.");
  // Test helpers: raw device memory <-> bytes (the pointer comes from a DLPack capsule).
  cuda.def(
      "_read_device",
      [](std::uintptr_t ptr, std::size_t nbytes, int device) {
        std::string out(nbytes, '\0');
        {
          py::gil_scoped_release nogil;
          cuda::copy(out.data(), reinterpret_cast<const void*>(ptr), nbytes, cuda::compute_stream(device));
        }
        return py::bytes(out);
      },
      "ptr"_a, "nbytes"_a, "device"_a = 0);
  cuda.def(
      "_write_device",
      [](std::uintptr_t ptr, const py::bytes& data, int device) {
        const std::string s = data;
        py::gil_scoped_release nogil;
        cuda::copy(reinterpret_cast<void*>(ptr), s.data(), s.size(), cuda::compute_stream(device));
      },
      "ptr"_a, "data"_a, "device"_a = 0);

  auto units = m.def_submodule("units", "Unit constants of batchmd (Å, eV, amu, fs, K; CODATA 2018).");
  units.attr("ACCEL") = units::kAccel;
  units.attr("MV2_TO_EV") = units::kMv2ToEv;
  units.attr("BOLTZMANN") = units::kBoltzmann;
  // ASE's time unit is Å·sqrt(amu/eV); one femtosecond in it is sqrt(kAccel) with batchmd's constants.
  units.attr("ASE_FS") = std::sqrt(units::kAccel);

  auto appm = m.def_submodule("app", "The job files of the batchmd command line.");
  appm.def(
      "default_job", [] { return std::string(app::kDefaultConfigToml); }, "The embedded default job (TOML).");
  appm.def(
      "build_systems",
      [](const std::optional<std::string>& toml) {
        app::RunConfig c = job(toml);
        py::gil_scoped_release nogil;
        return app::build_systems(c);
      },
      "config"_a = py::none(), "The starting batch a job describes (TOML text; default: the default job).");
  appm.def(
      "job_model_parameters",
      [](const std::optional<std::string>& toml) {
        const auto c = job(toml).lj;
        py::dict d;
        d["epsilon"] = c.epsilon;
        d["sigma"] = c.sigma;
        d["cutoff"] = c.cutoff;
        d["shift_energy"] = c.shift_energy;
        d["skin"] = c.skin;
        return d;
      },
      "config"_a = py::none(), "The job's Lennard-Jones parameters as LennardJones keyword arguments.");
  appm.def(
      "job_run_parameters",
      [](const std::optional<std::string>& toml) {
        const auto c = job(toml);
        py::dict d;
        d["steps"] = c.steps;
        d["dt_fs"] = c.dt_fs;
        d["dtype"] = c.dtype;
        d["seed"] = c.seed;
        d["snapshot_every"] = c.snapshot_every;
        return d;
      },
      "config"_a = py::none(), "The job's [run] values (steps, dt_fs, dtype, seed, snapshot_every).");
}

}  // namespace batchmd::python
