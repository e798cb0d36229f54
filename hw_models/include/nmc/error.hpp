#pragma once
// One error hierarchy for the whole project (STYLE.md). A user error says what
// went wrong, where (file, layer, node, core), why, and how to fix it; the
// `hint` carries the way out separately so the CLI can print it on its own line.
// Internal errors are bugs in nmc and map to a different exit code.

#include <stdexcept>
#include <string>

namespace nmc {

enum class exit_code : int { ok = 0, user_error = 1, usage = 2, internal = 3 };

class error : public std::runtime_error {
public:
  explicit error(const std::string& what, std::string hint = {})
      : std::runtime_error(what), hint_(std::move(hint)) {}
  const std::string& hint() const noexcept { return hint_; }
  virtual exit_code code() const noexcept { return exit_code::user_error; }
  virtual const char* kind() const noexcept { return "error"; }

private:
  std::string hint_;
};

// A model file or model IR that is malformed or violates a constraint.
class model_error : public error {
public:
  using error::error;
  const char* kind() const noexcept override { return "model error"; }
};

// A valid model that does not fit the target (cores, fan-in, reach, delays).
class fit_error : public error {
public:
  using error::error;
  const char* kind() const noexcept override { return "fit error"; }
};

// A bad configuration file (hardware description, options file).
class config_error : public error {
public:
  using error::error;
  const char* kind() const noexcept override { return "config error"; }
};

// A dataset that is missing, truncated or malformed.
class data_error : public error {
public:
  using error::error;
  const char* kind() const noexcept override { return "data error"; }
};

// A file that cannot be read or written (permissions, missing, corrupt).
class io_error : public error {
public:
  using error::error;
  const char* kind() const noexcept override { return "i/o error"; }
};

// Bad command-line use (unknown option, incompatible flags).
class usage_error : public error {
public:
  using error::error;
  exit_code code() const noexcept override { return exit_code::usage; }
  const char* kind() const noexcept override { return "usage error"; }
};

// A broken invariant inside nmc: a bug, never the user's fault.
class internal_error : public error {
public:
  using error::error;
  exit_code code() const noexcept override { return exit_code::internal; }
  const char* kind() const noexcept override { return "internal error"; }
};

}  // namespace nmc
