// SPDX-License-Identifier: Apache-2.0
// Test support: the message of an expected exception, for the tests that check what an error
// names (file, line, key, system, atom). One helper for every test folder, so that a call that
// throws nothing, or throws another type, fails the test and reads the same everywhere.
#pragma once
#include <gtest/gtest.h>

#include <exception>
#include <string>
#include <utility>

namespace batchmd::test_support {

/// The what() of the E that f() throws, or "" when f() throws nothing: for a call that may report
/// its error now or later (a GPU hook reports at a later call or at close()). Another exception
/// type is a test failure (ADD_FAILURE, the test goes on) and returns "<other exception> " and its
/// what(). *threw (when given) says whether f() threw at all.
template <typename E, typename F>
std::string error_if_thrown(F&& f, bool* threw = nullptr) {
  if (threw) *threw = true;
  try {
    std::forward<F>(f)();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected another exception type; this one says: " << e.what();
    return std::string("<other exception> ") + e.what();
  }
  if (threw) *threw = false;
  return "";
}

/// The what() of the E that f() throws. A call that throws nothing is a test failure too, and
/// returns "<no exception>".
template <typename E, typename F>
std::string error_of(F&& f) {
  bool threw = false;
  std::string what = error_if_thrown<E>(std::forward<F>(f), &threw);
  if (!threw) {
    ADD_FAILURE() << "expected an exception; none was thrown";
    return "<no exception>";
  }
  return what;
}

}  // namespace batchmd::test_support
