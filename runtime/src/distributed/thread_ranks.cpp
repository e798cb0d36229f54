// Ranks as threads of one process (distributed.hpp): the collectives meet at
// a barrier, each rank publishing a pointer to its data, reading the others'
// and meeting again before anyone's data may change.

#include <barrier>
#include <cstring>
#include <memory>

#include <nmc/runtime/distributed.hpp>

namespace nmc::runtime {

namespace {

struct meeting {
  explicit meeting(int n)
      : ranks(n), point(n), counts(static_cast<std::size_t>(n)), data(static_cast<std::size_t>(n)),
        data_counts(static_cast<std::size_t>(n)), ints(static_cast<std::size_t>(n)),
        doubles(static_cast<std::size_t>(n)), strings(static_cast<std::size_t>(n)) {}
  int ranks;
  std::barrier<> point;
  std::vector<std::vector<std::size_t>> counts;  // [from][to]
  std::vector<const std::byte*> data;
  std::vector<const std::size_t*> data_counts;
  std::vector<std::int64_t*> ints;
  std::vector<double*> doubles;
  std::vector<const std::string*> strings;
};

class thread_rank final : public communicator {
public:
  thread_rank(std::shared_ptr<meeting> m, int rank) : m_(std::move(m)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return m_->ranks; }

  void exchange_counts(std::span<const std::size_t> send_counts, std::span<std::size_t> recv_counts) override {
    m_->counts[me()].assign(send_counts.begin(), send_counts.end());
    m_->point.arrive_and_wait();
    for (std::size_t r = 0; r < recv_counts.size(); ++r) recv_counts[r] = m_->counts[r][me()];
    m_->point.arrive_and_wait();
  }

  void exchange_data(std::span<const std::byte> send, std::span<const std::size_t> send_counts,
                     std::span<std::byte> recv, std::span<const std::size_t> recv_counts) override {
    m_->data[me()] = send.data();
    m_->data_counts[me()] = send_counts.data();
    m_->point.arrive_and_wait();
    std::size_t at = 0;
    for (std::size_t r = 0; r < static_cast<std::size_t>(size()); ++r) {
      std::size_t from = 0;  // where r's block for this rank starts in r's buffer
      for (std::size_t k = 0; k < me(); ++k) from += m_->data_counts[r][k];
      if (recv_counts[r]) std::memcpy(recv.data() + at, m_->data[r] + from, recv_counts[r]);
      at += recv_counts[r];
    }
    m_->point.arrive_and_wait();
  }

  void sum(std::span<std::int64_t> values) override {
    reduce(values, m_->ints, [](std::int64_t a, std::int64_t b) { return a + b; });
  }
  void max(std::span<double> values) override {
    reduce(values, m_->doubles, [](double a, double b) { return a > b ? a : b; });
  }

  std::vector<std::string> gather(const std::string& mine) override {
    m_->strings[me()] = &mine;
    m_->point.arrive_and_wait();
    std::vector<std::string> all;
    for (const auto* s : m_->strings) all.push_back(*s);
    m_->point.arrive_and_wait();
    return all;
  }

private:
  std::size_t me() const { return static_cast<std::size_t>(rank_); }
  template <class T, class Op>
  void reduce(std::span<T> values, std::vector<T*>& slots, Op op) {
    slots[me()] = values.data();
    m_->point.arrive_and_wait();
    std::vector<T> result(values.begin(), values.end());
    for (std::size_t r = 0; r < slots.size(); ++r)
      if (r != me())
        for (std::size_t i = 0; i < result.size(); ++i) result[i] = op(result[i], slots[r][i]);
    m_->point.arrive_and_wait();  // everyone has read the others' values
    std::copy(result.begin(), result.end(), values.begin());
  }
  std::shared_ptr<meeting> m_;
  int rank_;
};

}  // namespace

std::vector<std::unique_ptr<communicator>> thread_ranks(int ranks) {
  auto m = std::make_shared<meeting>(ranks);
  std::vector<std::unique_ptr<communicator>> out;
  for (int r = 0; r < ranks; ++r) out.push_back(std::make_unique<thread_rank>(m, r));
  return out;
}

}  // namespace nmc::runtime
