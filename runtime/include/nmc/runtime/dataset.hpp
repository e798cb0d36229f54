#pragma once
// Labelled image datasets for simulation and evaluation. Fashion-MNIST comes
// from Debian's dataset-fashion-mnist package (IDX files, gzip), never from
// the network.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nmc::runtime {

struct dataset {
  std::string name;    // e.g. "fashion-mnist:test"
  std::string source;  // the images file it was read from, if any
  int channels = 1, height = 0, width = 0;
  std::size_t frames = 0;
  std::vector<std::uint8_t> pixels;  // frames x channels x height x width
  std::vector<std::uint8_t> labels;  // frames

  std::size_t pixels_per_frame() const {
    return static_cast<std::size_t>(channels) * height * width;
  }
  // For messages: the name and the file, "fashion-mnist:test (/usr/share/.../t10k-images-idx3-ubyte.gz)".
  std::string where() const { return source.empty() ? name : name + " (" + source + ")"; }
  std::span<const std::uint8_t> frame(std::size_t i) const {
    return {pixels.data() + i * pixels_per_frame(), pixels_per_frame()};
  }
};

// Reads an IDX image file (ubyte, N x rows x cols) and its IDX label file (ubyte,
// N). Either may be gzip-compressed. Throws data_error naming the file on a
// missing, truncated, corrupt or mismatched file.
dataset read_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                 std::string name);

// Where Fashion-MNIST is looked for: $NMC_FASHION_MNIST_DIR, else Debian's
// /usr/share/datasets/fashion-mnist.
std::filesystem::path fashion_mnist_dir();

// Loads a dataset by name: "fashion-mnist:test" or "fashion-mnist:train"
// ("fashion-mnist" alone means the test split).
dataset load_dataset(std::string_view spec);

// The first `frames` frames of `split` (all if frames == 0); throws data_error
// if the split has fewer.
void limit_frames(dataset& d, std::size_t frames);

// Frames [begin, end) of `d`, as a dataset of their own (same name).
dataset slice_frames(const dataset& d, std::size_t begin, std::size_t end);

}  // namespace nmc::runtime
