// Nothing lost (docs/ARCHITECTURE.md 2.3): a run that fails midway, after it started
// writing, leaves every existing output byte for byte as it was and no
// temporary file beside it. Writes are made to fail with a file size limit
// (ulimit -f, with SIGXFSZ ignored so that write() returns EFBIG instead of
// killing nmc), and runs fail late on damaged data.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <map>

#include <sys/wait.h>

#include <nmc/files.hpp>

#include "common/compile.hpp"
#include "common/expect_error.hpp"
#include "common/fake_dataset.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;

namespace {

// Every file in `dir` with its bytes.
std::map<std::string, std::string> snapshot(const std::filesystem::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files[e.path().filename().string()] = nmc::read_file(e.path());
  return files;
}

// Output files from an earlier, successful run.
struct outputs_dir {
  temp_dir dir;
  std::string program = (dir / "p.nmc").string(), report = (dir / "r.json").string(),
              spikes = (dir / "s.csv").string();
  outputs_dir() {
    nmc::atomic_write(program, "the old program\n");
    nmc::atomic_write(report, "{\"old\": true}\n");
    nmc::atomic_write(spikes, "tick,core,neuron,layer\n0,0,0,old\n");
  }
};

// Size limit in 512-byte blocks (POSIX sh), SIGXFSZ ignored.
std::string file_limit(int blocks) { return "ulimit -f " + std::to_string(blocks) + "; trap '' XFSZ; "; }

}  // namespace

TEST_CASE("error: nothing lost: a program write that fails midway keeps the old program") {
  outputs_dir out;
  const auto before = snapshot(out.dir.path);
  // tiny_fmnist's program is a few MB; 64 KiB are written before the limit.
  const auto r = run_nmc("compile " + q(source_path("examples/tiny_fmnist.yaml")) + " -o " + q(out.program),
                         file_limit(128));
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("nmc: i/o error: " + out.program + ": write failed: File too large") != std::string::npos);
  CHECK(snapshot(out.dir.path) == before);
  // A compile that fails before writing (does not fit) keeps it too.
  const auto small_chip = (out.dir / "chip.yaml").string();
  nmc::atomic_write(small_chip, target_with({{"cores_x: 64", "cores_x: 2"}, {"cores_y: 64", "cores_y: 2"}}));
  CHECK(run_nmc("compile " + q(source_path("examples/tiny_fmnist.yaml")) + " --target-file " + q(small_chip) + " -o " +
                q(out.program))
            .code == 1);
  std::filesystem::remove(small_chip);
  CHECK(snapshot(out.dir.path) == before);
}

TEST_CASE("error: nothing lost: a spike file that fills up stops the run and keeps every old output") {
  outputs_dir out;
  temp_dir data;
  write_fake_fashion_mnist(data.path, 400);
  const env_guard env("NMC_FASHION_MNIST_DIR", data.path.string());
  const auto model = (data / "small.yaml").string();
  nmc::atomic_write(model, small_fmnist_yaml());
  const auto before = snapshot(out.dir.path);
  // 400 frames of the small model fire far more than 16 KiB of spike lines.
  const std::string outputs = " --report " + q(out.report) + " --spikes " + q(out.spikes);
  auto r = run_nmc("simulate " + q(out.program) + outputs, file_limit(32));
  CHECK(r.code == 1);  // the old "program" is not a program
  CHECK(snapshot(out.dir.path) == before);

  r = run_nmc("run " + q(model) + " -o " + q(out.program) + " --threads 2" + outputs, file_limit(32));
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("nmc: i/o error: ") != std::string::npos);
  CHECK(r.out.find("File too large") != std::string::npos);
  CHECK(snapshot(out.dir.path) == before);

  // Without the limit the same run replaces all three.
  r = run_nmc("run " + q(model) + " -o " + q(out.program) + " --threads 2" + outputs);
  CHECK(r.code == 0);
  const auto after = snapshot(out.dir.path);
  CHECK(after.size() == 3);
  for (const auto& [name, bytes] : after) CHECK(bytes != before.at(name));
}

TEST_CASE("error: nothing lost: a spike write failing during the simulation is reported with the frame") {
  outputs_dir out;
  temp_dir data;
  write_fake_fashion_mnist(data.path, 400);
  const env_guard env("NMC_FASHION_MNIST_DIR", data.path.string());
  const auto model = (data / "small.yaml").string(), program = (data / "small.nmc").string();
  nmc::atomic_write(model, small_fmnist_yaml());
  REQUIRE(run_nmc("compile " + q(model) + " -o " + q(program)).code == 0);
  const auto before = snapshot(out.dir.path);
  const auto r = run_nmc("simulate " + q(program) + " --threads 1 --report " + q(out.report) + " --spikes " +
                             q(out.spikes),
                         file_limit(32));
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("nmc: i/o error: " + out.spikes + ": writing spikes failed after ") != std::string::npos);
  CHECK(r.out.find("of 400 frames: File too large") != std::string::npos);
  expect_hint(r, "ulimit -f");
  CHECK(snapshot(out.dir.path) == before);
}

TEST_CASE("error: nothing lost: a report write that fails keeps the old report") {
  outputs_dir out;
  temp_dir data;
  write_fake_fashion_mnist(data.path, 20);
  const env_guard env("NMC_FASHION_MNIST_DIR", data.path.string());
  const auto model = (data / "small.yaml").string(), program = (data / "small.nmc").string();
  nmc::atomic_write(model, small_fmnist_yaml());
  REQUIRE(run_nmc("compile " + q(model) + " -o " + q(program)).code == 0);
  const auto before = snapshot(out.dir.path);
  // The report is a few KiB; the limit is one block.
  const auto r = run_nmc("simulate " + q(program) + " --report " + q(out.report), file_limit(1));
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("nmc: i/o error: " + out.report + ": write failed: File too large") != std::string::npos);
  CHECK(snapshot(out.dir.path) == before);
}

TEST_CASE("error: nothing lost: damaged data found after the outputs were opened keeps them") {
  outputs_dir out;
  temp_dir data;
  write_fake_fashion_mnist(data.path, 50);
  const auto model = (data / "small.yaml").string(), program = (data / "small.nmc").string();
  nmc::atomic_write(model, small_fmnist_yaml());
  REQUIRE(run_nmc("compile " + q(model) + " -o " + q(program)).code == 0);
  const auto labels = (data / "t10k-labels-idx1-ubyte.gz").string();
  const auto gz = nmc::read_file(labels);
  nmc::atomic_write(labels, gz.substr(0, gz.size() - 10));  // the gzip stream is cut short
  const env_guard env("NMC_FASHION_MNIST_DIR", data.path.string());
  const auto before = snapshot(out.dir.path);
  const std::string outputs = " --report " + q(out.report) + " --spikes " + q(out.spikes);
  auto r = run_nmc("simulate " + q(program) + outputs);
  CHECK(r.code == 1);
  CHECK(r.out.find("nmc: data error: " + labels + ": truncated gzip stream") != std::string::npos);
  r = run_nmc("run " + q(model) + " -o " + q(out.program) + outputs);
  CHECK(r.code == 1);
  CHECK(snapshot(out.dir.path) == before);
  // --frames beyond the split, found once the data is read.
  write_fake_fashion_mnist(data.path, 50);
  r = run_nmc("run " + q(model) + " -o " + q(out.program) + " --frames 51" + outputs);
  CHECK(r.code == 1);
  CHECK(snapshot(out.dir.path) == before);
}

TEST_CASE("error: nothing lost: a run killed with SIGTERM or SIGHUP leaves its old outputs and no temporary file") {
  outputs_dir out;
  temp_dir data;
  write_fake_fashion_mnist(data.path, 10000);  // long enough to be killed while simulating
  const env_guard env("NMC_FASHION_MNIST_DIR", data.path.string());
  const auto before = snapshot(out.dir.path);
  for (const char* sig : {"TERM", "HUP"}) {
    CAPTURE(sig);
    const std::string cmd = "sh -c '" + std::string(NMC_BINARY) + " run " + source_path("examples/tiny_fmnist.yaml") +
                            " -o " + out.program + " --report " + out.report + " --spikes " + out.spikes +
                            " --threads 1 > /dev/null 2>&1 & pid=$!; sleep 1.5; kill -" + sig + " $pid; wait $pid; exit $?'";
    const int status = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 128 + (std::string(sig) == "TERM" ? SIGTERM : SIGHUP));  // died of the signal
    CHECK(snapshot(out.dir.path) == before);
  }
}
