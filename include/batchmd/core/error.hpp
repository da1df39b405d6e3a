// SPDX-License-Identifier: Apache-2.0
// core/error: the batchmd exception hierarchy. Every error a user can cause is one of
// these, with a message that names what was wrong and where. The CLI turns each into exit code 2.
#pragma once
#include <stdexcept>
#include <string>

namespace batchmd {

/// Base of every batchmd exception.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// A bad argument, configuration value or API misuse (wrong shape, bad frequency, ...).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};
/// A sink or buffer has no room for what was asked of it; nothing was stored.
class CapacityError : public Error {
 public:
  using Error::Error;
};
/// Stored data is malformed, foreign, truncated or corrupt.
class FormatError : public Error {
 public:
  using Error::Error;
};
/// The operating system or a remote store failed (open, read, write, network).
class IOError : public Error {
 public:
  using Error::Error;
};
/// The numbers went wrong (NaN/Inf positions, exploding energies).
class NumericalError : public Error {
 public:
  using Error::Error;
};
/// The GPU or its driver failed in a way that is neither bad input nor bad numbers: a launch
/// failure, an illegal memory access, a lost or reset device, a driver error (the message names
/// the CUDA call and its error code). The device's state is undefined afterwards.
class DeviceError : public Error {
 public:
  using Error::Error;
};

}  // namespace batchmd
