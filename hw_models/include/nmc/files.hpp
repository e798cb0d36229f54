#pragma once
// File helpers shared by every writer and reader. Outputs are never written in
// place: `atomic_write` writes a temporary file beside the target and renames it
// over the target only once everything is written and flushed, so a failed run
// never leaves a half-written or clobbered output behind (docs/ARCHITECTURE.md 2.3).
//
// An output replaces only a regular file or nothing: a directory, a device
// (/dev/full, /dev/null), a FIFO or a socket at the path is an io_error when
// the output is opened, before any long step, and again just before the
// rename. A symlink to a regular file is written through (the file it names
// is replaced, the link stays); a dangling symlink is replaced.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nmc {

// Reads a whole file; throws io_error naming the file if it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Calls `write` with a stream onto a temporary file in the target's directory,
// then renames it over `path`. If `write` throws or the stream fails, the
// temporary file is removed, `path` is left untouched, and the error propagates.
void atomic_write(const std::filesystem::path& path,
                  const std::function<void(std::ostream&)>& write);

// An output file written through a temporary sibling and renamed over the
// target by commit(); destroyed without commit(), it removes the temporary and
// leaves the target untouched. For outputs streamed while a run goes on.
class atomic_file {
public:
  explicit atomic_file(const std::filesystem::path& path);
  ~atomic_file();
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;
  std::ostream& stream();
  // Flushes and closes the temporary file; throws io_error if anything
  // written failed. commit() does this first; calling it for every output of
  // a run before committing any makes a failed write replace none of them.
  void close();
  void commit();

private:
  std::filesystem::path path_, tmp_;
  std::string shown_;  // the path as given, for messages
  int slot_ = -1;      // in the registry of temporary files a fatal signal removes
  std::unique_ptr<std::ofstream> out_;
  bool committed_ = false;
};

// For a fatal-signal handler (SIGINT, SIGTERM): removes the temporary files
// of every atomic_file not yet committed or destroyed, so a killed run leaves
// nothing behind either. Async-signal-safe.
void remove_pending_outputs() noexcept;

// Convenience overload for content that is already in memory.
void atomic_write(const std::filesystem::path& path, std::string_view content);

// 64-bit FNV-1a hash, used for content hashes of models and checksums.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed = 0xcbf29ce484222325ULL);

}  // namespace nmc
