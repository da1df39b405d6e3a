// SPDX-License-Identifier: Apache-2.0
// python/errors: the batchmd exception hierarchy in Python. Each C++ error type becomes a Python
// class that also derives from the built-in exception a Python user would catch for it, so
// `except ValueError` works as well as `except batchmd.InvalidArgument`; the message is the C++ one.
//   batchmd::Error            -> batchmd.Error            (Exception)
//   batchmd::InvalidArgument  -> batchmd.InvalidArgument  (Error, ValueError)
//   batchmd::FormatError      -> batchmd.FormatError      (Error, ValueError)
//   batchmd::CapacityError    -> batchmd.CapacityError    (Error, RuntimeError)
//   batchmd::IOError          -> batchmd.IOError          (Error, OSError)
//   batchmd::NumericalError   -> batchmd.NumericalError   (Error, FloatingPointError)
// A new C++ error type gets one make() line and one catch clause here.
#include "batchmd/core/error.hpp"
#include "common.hpp"

namespace batchmd::python {

namespace {

struct Types {
  PyObject *error, *invalid, *format, *capacity, *io, *numerical;
};
Types& types() {
  static Types t{};
  return t;
}

PyObject* make(py::module_& m, const char* name, py::handle base, py::handle builtin, const char* doc) {
  // Two statements, not ?: — newer pybind11 gives each make_tuple its own typed tuple class.
  py::tuple bases = py::make_tuple(base);
  if (builtin) bases = py::make_tuple(base, builtin);
  py::dict ns;
  ns["__module__"] = "batchmd";
  ns["__doc__"] = doc;
  py::object cls = py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(&PyType_Type))(name, bases, ns);
  m.attr(name) = cls;
  return cls.release().ptr();  // kept for the process lifetime (the translator uses them)
}

}  // namespace

void bind_errors(py::module_& m) {
  Types& t = types();
  t.error = make(m, "Error", PyExc_Exception, py::handle(), "Base of every batchmd error.");
  t.invalid = make(m, "InvalidArgument", t.error, PyExc_ValueError,
                   "A bad argument, configuration value or API misuse (wrong shape, bad frequency, ...).");
  t.format =
      make(m, "FormatError", t.error, PyExc_ValueError, "Stored data is malformed, foreign, truncated or corrupt.");
  t.capacity = make(m, "CapacityError", t.error, PyExc_RuntimeError,
                    "A sink or buffer has no room for what was asked of it; nothing was stored.");
  t.io = make(m, "IOError", t.error, PyExc_OSError,
              "The operating system or a remote store failed (open, read, write, network).");
  t.numerical = make(m, "NumericalError", t.error, PyExc_FloatingPointError,
                     "The numbers went wrong (NaN/Inf positions, exploding energies).");

  py::register_exception_translator([](std::exception_ptr p) {
    const Types& ty = types();
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InvalidArgument& e) {
      PyErr_SetString(ty.invalid, e.what());
    } catch (const FormatError& e) {
      PyErr_SetString(ty.format, e.what());
    } catch (const CapacityError& e) {
      PyErr_SetString(ty.capacity, e.what());
    } catch (const IOError& e) {
      PyErr_SetString(ty.io, e.what());
    } catch (const NumericalError& e) {
      PyErr_SetString(ty.numerical, e.what());
    } catch (const Error& e) {
      PyErr_SetString(ty.error, e.what());
    }
  });
}

}  // namespace batchmd::python
