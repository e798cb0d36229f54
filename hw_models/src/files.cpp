#include <nmc/files.hpp>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <unistd.h>

#include <fmt/format.h>
#include <fmt/std.h>

#include <nmc/error.hpp>

namespace nmc {

namespace fs = std::filesystem;

namespace {

// Temporary files of open atomic_files, in fixed storage a signal handler can
// read: a slot is filled before its file is created and emptied after the
// file is renamed or removed. `claimed` hands slots out, `ready` tells the
// handler the path is complete. Past the last slot a file is not covered.
struct pending_slot {
  std::atomic<bool> claimed{false}, ready{false};
  char path[4096] = {};
};
pending_slot pending[64];

int register_pending(const fs::path& tmp) {
  const std::string& s = tmp.native();
  if (s.size() >= sizeof pending[0].path) return -1;
  for (int i = 0; i < static_cast<int>(std::size(pending)); ++i) {
    bool expected = false;
    if (pending[i].claimed.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      std::memcpy(pending[i].path, s.c_str(), s.size() + 1);
      pending[i].ready.store(true, std::memory_order_release);
      return i;
    }
  }
  return -1;
}

void unregister_pending(int slot) {
  if (slot < 0) return;
  pending[slot].ready.store(false, std::memory_order_release);
  pending[slot].claimed.store(false, std::memory_order_release);
}

// What `status` is, for a message: "a directory", "a character device".
const char* file_kind(fs::file_type t) {
  switch (t) {
    case fs::file_type::directory: return "a directory";
    case fs::file_type::character: return "a character device";
    case fs::file_type::block: return "a block device";
    case fs::file_type::fifo: return "a FIFO";
    case fs::file_type::socket: return "a socket";
    default: return "not a regular file";
  }
}

// The output policy (files.hpp): an output replaces only a regular file or
// nothing. Anything else is refused, as root too: renaming over /dev/full
// or a FIFO would replace the node, not write to it.
void check_replaceable(const fs::path& path, const std::string& shown) {
  std::error_code ec;
  const auto st = fs::status(path, ec);  // follows a symlink to what it names
  if (st.type() == fs::file_type::not_found || st.type() == fs::file_type::regular) return;
  if (ec && st.type() == fs::file_type::none) {
    throw io_error(fmt::format("{}: cannot write: {}", shown, ec.message()), "choose another output path");
  }
  throw io_error(fmt::format("{}: cannot write: it is {}, not a regular file", shown, file_kind(st.type())),
                 "give the path of a regular file or of a new one (nmc writes a new file and renames it over the old)");
}

// A symlink to a file is written through: the file it names is replaced and
// the link kept, as `cp` would. A dangling link is replaced by the new file.
fs::path through_links(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(path, ec))) return path;
  const auto target = fs::canonical(path, ec);
  return ec ? path : target;
}

}  // namespace

void remove_pending_outputs() noexcept {
  for (auto& p : pending)
    if (p.ready.load(std::memory_order_acquire)) ::unlink(p.path);
}

std::string read_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw io_error(fmt::format("{}: no such file", path.string()),
                   "check the path; relative paths are resolved from the current directory");
  }
  if (fs::is_directory(path, ec)) {
    throw io_error(fmt::format("{}: is a directory, expected a file", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw io_error(fmt::format("{}: cannot open for reading: {}", path.string(),
                               std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    throw io_error(fmt::format("{}: read failed: {}", path.string(), std::strerror(errno)));
  }
  return std::move(buffer).str();
}

atomic_file::atomic_file(const fs::path& path)
    : path_(through_links(path.has_parent_path() ? path : fs::path(".") / path)), shown_(path.string()) {
  const fs::path dir = path_.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (fs::exists(dir, ec)) {
      throw io_error(fmt::format("{}: cannot write: {} is not a directory", path.string(), dir.string()),
                     "choose another output path");
    }
    throw io_error(fmt::format("{}: cannot write: directory {} does not exist", path.string(), dir.string()),
                   "create the directory first or choose another output path");
  }
  check_replaceable(path_, shown_);
  // A unique sibling name so the rename stays on one filesystem (atomic on POSIX).
  std::random_device rd;
  tmp_ = dir / fmt::format(".{}.tmp-{:08x}", path_.filename().string(), rd());
  slot_ = register_pending(tmp_);
  out_ = std::make_unique<std::ofstream>(tmp_, std::ios::binary | std::ios::trunc);
  if (!*out_) {
    unregister_pending(slot_);
    throw io_error(fmt::format("{}: cannot write in {}: {}", path.string(), dir.string(), std::strerror(errno)),
                   "check that the directory is writable, or choose another output path");
  }
}

atomic_file::~atomic_file() {
  if (committed_) return;
  out_.reset();
  std::error_code ec;
  fs::remove(tmp_, ec);
  unregister_pending(slot_);
}

std::ostream& atomic_file::stream() {
  if (!out_) throw internal_error(fmt::format("{}: written after close()", shown_));
  return *out_;
}

void atomic_file::close() {
  if (!out_) return;
  out_->flush();
  if (*out_) out_->close();  // close() writes what is left; its failure counts too
  if (!*out_) {
    throw io_error(fmt::format("{}: write failed: {}", shown_, std::strerror(errno)),
                   "check free disk space and file size limits (ulimit -f); the old file, if any, is unchanged");
  }
  out_.reset();
}

void atomic_file::commit() {
  close();
  check_replaceable(path_, shown_);  // again: the path may have changed during a long run
  std::error_code ec;
  fs::rename(tmp_, path_, ec);
  if (ec) throw io_error(fmt::format("{}: cannot replace file: {}", shown_, ec.message()));
  committed_ = true;
  unregister_pending(slot_);
}

void atomic_write(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  atomic_file f(path);
  write(f.stream());
  f.commit();
}

void atomic_write(const fs::path& path, std::string_view content) {
  atomic_write(path, [&](std::ostream& out) {
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  });
}

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace nmc
