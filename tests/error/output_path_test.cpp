// Error catalogue: output paths that cannot be written (-o, --report,
// --spikes, --counts). Each is refused before any long step, naming the path
// and why, and leaves nothing behind.
#include <doctest/doctest.h>

#include <chrono>
#include <unistd.h>

#include <nmc/files.hpp>

#include "common/expect_error.hpp"
#include "common/fake_dataset.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;

namespace {

std::size_t entries(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

// A directory this process cannot create files in: a read-only one, or, for
// root (who writes anywhere), /proc, a file system that refuses new files.
struct read_only_dir {
  temp_dir tmp;
  std::filesystem::path path;
  read_only_dir() {
    if (geteuid() == 0) {
      path = "/proc";
    } else {
      path = tmp.path / "ro";
      std::filesystem::create_directory(path);
      std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    }
  }
  ~read_only_dir() {
    if (path != "/proc") std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  }
};

}  // namespace

TEST_CASE("error: -o into a missing directory, a read-only directory or below a file") {
  temp_dir dir;
  const auto model = source_path("examples/tiny_fmnist.yaml");
  const auto missing = (dir / "no/such/dir").string();
  auto r = expect_error("compile " + q(model) + " -o " + q(missing + "/p.nmc"), "i/o error",
                        {missing + "/p.nmc: cannot write: directory " + missing + " does not exist"});
  expect_hint(r, "create the directory");
  CHECK(!std::filesystem::exists(dir / "no"));

  const read_only_dir ro;
  const auto in_ro = (ro.path / "p.nmc").string();
  r = expect_error("compile " + q(model) + " -o " + q(in_ro), "i/o error",
                   {in_ro + ": cannot write in " + ro.path.string() + ": "});
  expect_hint(r, "writable");

  nmc::atomic_write(dir / "file", "x");
  const auto below = (dir / "file/p.nmc").string();
  r = expect_error("compile " + q(model) + " -o " + q(below), "i/o error",
                   {below + ": cannot write: " + (dir / "file").string() + " is not a directory"});
  expect_hint(r, "another output path");
  CHECK(entries(dir.path) == 1);
}

TEST_CASE("error: unwritable --report, --spikes and run -o are refused before the simulation") {
  temp_dir dir, data;
  write_fake_fashion_mnist(data.path, 20);
  const env_guard env("NMC_FASHION_MNIST_DIR", data.path.string());
  const auto model = (dir / "small.yaml").string(), program = (dir / "small.nmc").string();
  nmc::atomic_write(model, small_fmnist_yaml());
  REQUIRE(run_nmc("compile " + q(model) + " -o " + q(program)).code == 0);
  const auto missing = (dir / "missing").string();
  const read_only_dir ro;
  for (const char* option : {"--report", "--spikes"}) {
    for (const std::string& d : {missing, ro.path.string()}) {
      const auto out = d + "/out.txt";
      const auto r = expect_error("simulate " + q(program) + " " + std::string(option) + " " + q(out), "i/o error", {out + ": cannot write"});
      // Refused up front: the simulator never started (it prints no table).
      CHECK(r.out.find("accuracy") == std::string::npos);
    }
  }
  const auto r = expect_error("run " + q(model) + " -o " + q(missing + "/p.nmc"), "i/o error",
                              {missing + "/p.nmc: cannot write: directory " + missing + " does not exist"});
  CHECK(r.out.find("compiled") == std::string::npos);
  expect_error("eval " + q(model) + " --counts " + q(missing + "/c.csv"), "i/o error", {"does not exist"});
  CHECK(entries(dir.path) == 2);  // the model and the program
}
