// Error catalogue: outputs whose path names something other than a regular
// file (a character device such as /dev/full, a directory, a FIFO). nmc
// writes a temporary file and renames it over the output, which would replace
// the device node or the FIFO (as root, /dev/full too) or fail late on a
// directory; each is refused when the output is opened, before any long
// step, naming the path and what it is, and nothing is written or left
// behind. A symlink to a regular file is written through.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <nmc/files.hpp>

#include "common/expect_error.hpp"
#include "common/fake_dataset.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

// Temporary siblings of /dev/full a failed run might have left (".full.tmp-...").
bool temporaries_in_dev() {
  for (const auto& e : fs::directory_iterator("/dev"))
    if (e.path().filename().string().starts_with(".full.tmp-")) return true;
  return false;
}

struct fixture {
  temp_dir dir, data;
  std::string model = (dir / "small.yaml").string(), program = (dir / "small.nmc").string();
  std::string fifo = (dir / "fifo").string(), folder = (dir / "folder").string();
  env_guard env{"NMC_FASHION_MNIST_DIR", data.path.string()};
  fixture() {
    write_fake_fashion_mnist(data.path, 20);
    nmc::atomic_write(model, small_fmnist_yaml());
    REQUIRE(run_nmc("compile " + q(model) + " -o " + q(program)).code == 0);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    fs::create_directory(folder);
  }
  void check_untouched() {
    CHECK(fs::is_character_file("/dev/full"));
    CHECK(!temporaries_in_dev());
    CHECK(fs::is_fifo(fifo));
    CHECK(fs::is_directory(folder));
    CHECK(fs::is_empty(folder));
    CHECK(names_in(dir.path) == std::vector<std::string>{"fifo", "folder", "small.nmc", "small.yaml"});
  }
};

void expect_refused(const std::string& args, const std::string& path, const std::string& what) {
  const auto r = expect_error(args, "i/o error", {path + ": cannot write: it is " + what + ", not a regular file"});
  expect_hint(r, "the path of a regular file or of a new one");
  // Refused up front: neither the compiler nor the simulator ran.
  CHECK(r.out.find("compiled") == std::string::npos);
  CHECK(r.out.find("accuracy") == std::string::npos);
}

}  // namespace

TEST_CASE("error: -o, --report, --spikes and --counts naming a device, a directory or a FIFO are refused") {
  fixture f;
  for (const auto& [path, what] : std::vector<std::pair<std::string, std::string>>{
           {"/dev/full", "a character device"}, {f.folder, "a directory"}, {f.fifo, "a FIFO"}}) {
    CAPTURE(path);
    expect_refused("compile " + q(f.model) + " -o " + q(path), path, what);
    expect_refused("compile " + q(f.model) + " --target danna -o " + q(path), path, what);
    expect_refused("run " + q(f.model) + " -o " + q(path), path, what);
    expect_refused("run " + q(f.model) + " --report " + q(path), path, what);
    expect_refused("simulate " + q(f.program) + " --report " + q(path), path, what);
    expect_refused("simulate " + q(f.program) + " --spikes " + q(path), path, what);
    expect_refused("eval " + q(f.model) + " --counts " + q(path), path, what);
    f.check_untouched();
  }
}

TEST_CASE("error: a symlink to a directory is refused; a symlink to a regular file is written through") {
  fixture f;
  const auto to_folder = (f.dir / "to_folder").string();
  fs::create_symlink(f.folder, to_folder);
  expect_refused("compile " + q(f.model) + " -o " + q(to_folder), to_folder, "a directory");
  CHECK(fs::is_symlink(to_folder));
  CHECK(fs::is_empty(f.folder));
  fs::remove(to_folder);

  // The link stays a link; the file it names is replaced, as `cp` would.
  const auto report = (f.dir / "report.json").string(), link = (f.dir / "link.json").string();
  nmc::atomic_write(report, "old\n");
  fs::create_symlink("report.json", link);
  const auto r = run_nmc("simulate " + q(f.program) + " --report " + q(link));
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(fs::is_symlink(link));
  CHECK(nmc::read_file(report).starts_with("{"));
  CHECK(names_in(f.dir.path) == std::vector<std::string>{"fifo", "folder", "link.json", "report.json", "small.nmc",
                                                         "small.yaml"});
}
