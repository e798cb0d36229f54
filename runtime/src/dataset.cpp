#include <nmc/runtime/dataset.hpp>

#include <cstdint>
#include <cstdlib>

#include <fmt/format.h>
#include <zlib.h>

#include <nmc/error.hpp>

namespace nmc::runtime {

namespace fs = std::filesystem;

namespace {

constexpr const char* install_hint =
    "install Debian's package with 'apt-get install dataset-fashion-mnist' (scripts/setup.sh "
    "does), or set NMC_FASHION_MNIST_DIR to a folder holding the four IDX files";

// Reads a file through zlib, which passes uncompressed files through unchanged.
std::vector<std::uint8_t> read_maybe_gzip(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw data_error(fmt::format("{}: no such file", path.string()), install_hint);
  }
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw data_error(fmt::format("{}: cannot open", path.string()), "check permissions");
  std::vector<std::uint8_t> out;
  std::uint8_t buffer[1 << 16];
  for (;;) {
    const int n = gzread(f, buffer, sizeof buffer);
    if (n < 0) {
      int errnum = 0;
      const std::string msg = gzerror(f, &errnum);
      gzclose(f);
      throw data_error(fmt::format("{}: corrupt or truncated gzip stream ({})", path.string(), msg),
                       install_hint);
    }
    if (n == 0) break;
    out.insert(out.end(), buffer, buffer + n);
  }
  // gzread reports a stream cut short as a clean end; gzclose_r reports it.
  const int rc = gzclose_r(f);
  if (rc != Z_OK) {
    throw data_error(fmt::format("{}: truncated gzip stream (zlib error {})", path.string(), rc),
                     install_hint);
  }
  return out;
}

std::uint32_t be32(const std::vector<std::uint8_t>& b, std::size_t off) {
  return (std::uint32_t{b[off]} << 24) | (std::uint32_t{b[off + 1]} << 16) |
         (std::uint32_t{b[off + 2]} << 8) | std::uint32_t{b[off + 3]};
}

// Checks the IDX header (unsigned bytes, `dims` dimensions); returns the sizes.
std::vector<std::size_t> idx_header(const std::vector<std::uint8_t>& b, const fs::path& path,
                                    int dims) {
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(dims);
  if (b.size() < header) {
    throw data_error(fmt::format("{}: truncated: {} bytes, shorter than the {}-byte IDX header",
                                 path.string(), b.size(), header),
                     install_hint);
  }
  if (b[0] != 0 || b[1] != 0 || b[2] != 0x08 || b[3] != dims) {
    throw data_error(
        fmt::format("{}: not an IDX file of unsigned bytes with {} dimensions (magic {:02x} {:02x} "
                    "{:02x} {:02x}, expected 00 00 08 {:02x})",
                    path.string(), dims, b[0], b[1], b[2], b[3], dims),
        "pass the IDX images (idx3) and labels (idx1) files");
  }
  std::vector<std::size_t> sizes;
  std::size_t total = 1;
  for (int d = 0; d < dims; ++d) {
    sizes.push_back(be32(b, 4 + 4 * static_cast<std::size_t>(d)));
    if (__builtin_mul_overflow(total, sizes.back(), &total)) total = SIZE_MAX;  // no file holds that much
  }
  if (dims == 3 && (sizes[1] == 0 || sizes[2] == 0 || sizes[1] > 65535 || sizes[2] > 65535)) {
    throw data_error(fmt::format("{}: images of {} x {} pixels: rows and columns must be 1 to 65535",
                                 path.string(), sizes[1], sizes[2]),
                     install_hint);
  }
  if (b.size() - header < total) {
    std::string dims_text;
    for (std::size_t k = 0; k < sizes.size(); ++k) dims_text += fmt::format("{}{}", k ? " x " : "", sizes[k]);
    throw data_error(fmt::format("{}: truncated: the header declares {} bytes of data ({}), the file holds {}",
                                 path.string(), total == SIZE_MAX ? std::string("more than 2^64") : std::to_string(total),
                                 dims_text, b.size() - header),
                     install_hint);
  }
  return sizes;
}

}  // namespace

dataset read_idx(const fs::path& images, const fs::path& labels, std::string name) {
  const auto ib = read_maybe_gzip(images);
  const auto is = idx_header(ib, images, 3);
  const auto lb = read_maybe_gzip(labels);
  const auto ls = idx_header(lb, labels, 1);
  if (is[0] != ls[0]) {
    throw data_error(fmt::format("{} holds {} images but {} holds {} labels", images.string(),
                                 is[0], labels.string(), ls[0]),
                     "use the images and labels files of the same split");
  }
  dataset d;
  d.name = std::move(name);
  d.source = images.string();
  d.frames = is[0];
  d.channels = 1;
  d.height = static_cast<int>(is[1]);
  d.width = static_cast<int>(is[2]);
  d.pixels.assign(ib.begin() + 16, ib.begin() + 16 + static_cast<std::ptrdiff_t>(d.frames * is[1] * is[2]));
  d.labels.assign(lb.begin() + 8, lb.begin() + 8 + static_cast<std::ptrdiff_t>(d.frames));
  return d;
}

fs::path fashion_mnist_dir() {
  if (const char* env = std::getenv("NMC_FASHION_MNIST_DIR"); env && *env) return env;
  return "/usr/share/datasets/fashion-mnist";
}

dataset load_dataset(std::string_view spec) {
  const auto colon = spec.find(':');
  const std::string_view base = spec.substr(0, colon);
  const std::string_view split = colon == std::string_view::npos ? "test" : spec.substr(colon + 1);
  if (base != "fashion-mnist") {
    throw usage_error(fmt::format("unknown dataset '{}'", spec),
                      "datasets: fashion-mnist:test, fashion-mnist:train");
  }
  std::string prefix;
  if (split == "test") {
    prefix = "t10k";
  } else if (split == "train") {
    prefix = "train";
  } else {
    throw usage_error(fmt::format("unknown split '{}' of fashion-mnist", split),
                      "splits: test, train");
  }
  const fs::path dir = fashion_mnist_dir();
  const fs::path images = dir / (prefix + "-images-idx3-ubyte.gz");
  const fs::path labels = dir / (prefix + "-labels-idx1-ubyte.gz");
  std::error_code ec;
  if (!fs::exists(images, ec) || !fs::exists(labels, ec)) {
    throw data_error(fmt::format("fashion-mnist:{}: {} not found", split,
                                 fs::exists(images, ec) ? labels.string() : images.string()),
                     install_hint);
  }
  return read_idx(images, labels, fmt::format("fashion-mnist:{}", split));
}

void limit_frames(dataset& d, std::size_t frames) {
  if (frames == 0 || frames == d.frames) return;
  if (frames > d.frames) {
    throw data_error(fmt::format("--frames {} but {} has only {} frames", frames, d.name, d.frames),
                     fmt::format("use --frames {} or fewer (or leave it out for all)", d.frames));
  }
  d.frames = frames;
  d.pixels.resize(frames * d.pixels_per_frame());
  d.labels.resize(frames);
}

dataset slice_frames(const dataset& d, std::size_t begin, std::size_t end) {
  if (begin > end || end > d.frames)
    throw internal_error(fmt::format("slice [{}, {}) of {} frames of {}", begin, end, d.frames, d.name));
  dataset s;
  s.name = d.name;
  s.channels = d.channels, s.height = d.height, s.width = d.width;
  s.frames = end - begin;
  const auto ppf = static_cast<std::ptrdiff_t>(d.pixels_per_frame());
  s.pixels.assign(d.pixels.begin() + static_cast<std::ptrdiff_t>(begin) * ppf,
                  d.pixels.begin() + static_cast<std::ptrdiff_t>(end) * ppf);
  s.labels.assign(d.labels.begin() + static_cast<std::ptrdiff_t>(begin),
                  d.labels.begin() + static_cast<std::ptrdiff_t>(end));
  return s;
}

}  // namespace nmc::runtime
