// SPDX-License-Identifier: Apache-2.0
// tests/fuzz: the fuzz harnesses, one function per target. Each takes one input and returns 0;
// a bug shows as a sanitizer report, an uncaught exception (anything but batchmd::Error is a
// bug: std::bad_alloc, a JSON library exception) or a failed invariant (abort). The libFuzzer
// targets (fuzz_*.cpp) call them, and so does the regression test over tests/fuzz/regressions
// and the seed corpora, which runs in the normal test suite.
#pragma once
#include <cstddef>
#include <cstdint>

namespace batchmd::fuzz {

/// Sets the process-wide bounds the harnesses run under (the zarr read budget: 64 MiB).
void init();

/// A Zarr v3 zarr.json: parsed as an array (and written back and parsed again: the same array)
/// and as a group; the array is opened over a memory store and read.
int zarr_v3_metadata(const std::uint8_t* data, std::size_t size);
/// A Zarr v2 .zarray, then optionally a 0 byte and its .zattrs: the same, for v2.
int zarr_v2_metadata(const std::uint8_t* data, std::size_t size);
/// One codec (bytes, zstd, blosc, gzip, crc32c), a codec pipeline or a shard index, chosen and
/// configured by the first bytes, decoding the rest; encode/decode round trips must be exact.
int codec_decode(const std::uint8_t* data, std::size_t size);
/// A whole store (records: u16 key length, key, u32 value length, value) read by
/// TrajectoryReader: samples, system ids, the restart batch, field listing, model state.
int trajectory_reader(const std::uint8_t* data, std::size_t size);
/// A TOML job file through parse_config, and the estimate of what an accepted job implies.
int job_config(const std::uint8_t* data, std::size_t size);
/// A structure file's text read by io::parse_structures in one format each (harness_io.cpp); what
/// is accepted has the standard fields, and (extended XYZ, LAMMPS data, POSCAR) written back by
/// batchmd reads again with the same frames and atom counts.
int io_extxyz(const std::uint8_t* data, std::size_t size);
int io_lammps_data(const std::uint8_t* data, std::size_t size);
int io_poscar(const std::uint8_t* data, std::size_t size);
int io_cif(const std::uint8_t* data, std::size_t size);

}  // namespace batchmd::fuzz
