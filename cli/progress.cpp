#include "progress.hpp"

#include <cstdio>

#include <fmt/format.h>
#include <unistd.h>

namespace nmc::cli {

progress_bar::progress_bar(std::string label, std::size_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(isatty(fileno(stderr)) != 0 && total > 0),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

progress_bar::~progress_bar() { finish(); }

void progress_bar::update(std::size_t done) {
  if (!enabled_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  const double s = std::chrono::duration<double>(now - start_).count();
  constexpr int width = 30;
  const int filled = static_cast<int>(width * done / total_);
  fmt::print(stderr, "\r{} [{}{}] {:3d}% {}/{} {:.0f}/s ", label_, std::string(filled, '#'),
             std::string(width - filled, ' '), static_cast<int>(100 * done / total_), done, total_,
             s > 0 ? done / s : 0.0);
  std::fflush(stderr);
}

void progress_bar::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace nmc::cli
