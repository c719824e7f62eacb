// The chain of reducer.h: buckets, the hook that starts them, and the fold.
#include "nn/distributed/reducer.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <unordered_map>
#include "autograd/graph.h"

namespace dl::dist {

MicroBatchRange micro_batches_of(int rank, int ranks, int64_t micro_batches) {
  DL_CHECK(ranks >= 1 && ranks <= micro_batches, "micro_batches_of",
           "--micro-batches " + std::to_string(micro_batches) + " is fewer than the " + std::to_string(ranks) +
               " ranks: every rank needs at least one micro-batch");
  const int64_t first = rank * micro_batches / ranks, next = (rank + 1) * micro_batches / ranks;
  return {first, next - first};
}

// A group of parameters whose gradients travel as one message: their values side by side in flat.
struct Bucket {
  std::vector<size_t> params;    // indices into State::params
  std::vector<int64_t> offsets;  // where each starts in flat
  std::vector<float> flat;       // (numel) the partial fold, then the whole fold g
  int missing = 0;               // its parameters still in the last micro-batch's backward
  MPI_Request recv = MPI_REQUEST_NULL, send = MPI_REQUEST_NULL, bcast = MPI_REQUEST_NULL;
};

struct ChainReducer::State {
  const World& world;
  std::vector<Tensor> params;
  std::unordered_map<const TensorImpl*, size_t> index;  // parameter -> its place in params
  std::vector<size_t> bucket_of;                       // parameter -> its bucket
  std::vector<Bucket> buckets;
  std::vector<std::vector<Tensor>> grads;  // [this rank's micro-batch j][parameter]: g_j, apart
  size_t started = 0;  // buckets [0, started) are complete and have started their chain step
  size_t folded = 0;   // buckets [0, folded) hold this rank's partial fold (and were sent on)
  double seconds_in_finish = 0;

  State(const World& w, std::vector<Tensor> p) : world(w), params(std::move(p)) {}
  bool first_rank() const { return world.rank() == 0; }
  bool last_rank() const { return world.rank() == world.size() - 1; }

  // g_j of parameter p; the rank's last micro-batch's is still in the parameter's grad while
  // its backward runs.
  Tensor grad(size_t j, size_t p) const { return j < grads.size() ? grads[j][p] : params[p].grad(); }

  // Continues bucket b's fold with this rank's micro-batches, in order (rank 0: starts it).
  void fold(Bucket& b, size_t micro_batches) {
    for (size_t k = 0; k < b.params.size(); ++k) {
      float* sum = b.flat.data() + b.offsets[k];
      const int64_t n = params[b.params[k]].numel();
      for (size_t j = 0; j < micro_batches; ++j) {
        const Tensor g = grad(j, b.params[k]);
        const bool starts = first_rank() && j == 0;
        if (!g.defined()) {  // no backward reached the parameter: its g is zeros
          if (starts) std::fill(sum, sum + n, 0.0f);
          continue;
        }
        const float* gj = g.data<float>();
        if (starts) std::copy(gj, gj + n, sum);
        else
          for (int64_t i = 0; i < n; ++i) sum[i] = sum[i] + gj[i];
      }
    }
  }

  // The bucket's partial fold goes on down the chain; the last rank broadcasts the whole.
  void pass_on(Bucket& b, int tag) {
    const int count = static_cast<int>(b.flat.size());
    if (!last_rank())
      check_mpi(MPI_Isend(b.flat.data(), count, MPI_FLOAT, world.rank() + 1, tag, MPI_COMM_WORLD, &b.send),
                "MPI_Isend");
    else if (world.size() > 1)
      check_mpi(MPI_Ibcast(b.flat.data(), count, MPI_FLOAT, world.rank(), MPI_COMM_WORLD, &b.bcast), "MPI_Ibcast");
  }

  // Folds every started bucket whose partial has arrived from the previous rank, in order;
  // `wait`: waits for each instead of stopping at the first still in flight.
  void advance(size_t micro_batches, bool wait) {
    for (; folded < started; ++folded) {
      Bucket& b = buckets[folded];
      if (!first_rank()) {
        int arrived = 1;
        if (wait) check_mpi(MPI_Wait(&b.recv, MPI_STATUS_IGNORE), "MPI_Wait");
        else check_mpi(MPI_Test(&b.recv, &arrived, MPI_STATUS_IGNORE), "MPI_Test");
        if (!arrived) return;
      }
      fold(b, micro_batches);
      pass_on(b, static_cast<int>(folded));
    }
  }

  // The hook: leaf's gradient is complete in the rank's last micro-batch.
  void complete(const Tensor& leaf, size_t micro_batches) {
    auto it = index.find(leaf.impl_ptr().get());
    if (it == index.end()) return;  // a leaf that is not one of the parameters
    --buckets[bucket_of[it->second]].missing;
    while (started < buckets.size() && buckets[started].missing == 0) ++started;
    advance(micro_batches, false);
  }

  // Each rank's Irecv for every bucket's partial, posted before the step's first backward.
  void post_receives() {
    for (size_t i = 0; i < buckets.size(); ++i)
      check_mpi(MPI_Irecv(buckets[i].flat.data(), static_cast<int>(buckets[i].flat.size()), MPI_FLOAT,
                          world.rank() - 1, static_cast<int>(i), MPI_COMM_WORLD, &buckets[i].recv),
                "MPI_Irecv");
  }

  // Every rank but the last receives g: after its send from the same buffer has completed, and
  // bucket by bucket in index order, as the last rank broadcasts them.
  void receive_totals() {
    for (Bucket& b : buckets) {
      if (last_rank()) continue;
      check_mpi(MPI_Wait(&b.send, MPI_STATUS_IGNORE), "MPI_Wait");
      check_mpi(MPI_Ibcast(b.flat.data(), static_cast<int>(b.flat.size()), MPI_FLOAT, world.size() - 1,
                           MPI_COMM_WORLD, &b.bcast),
                "MPI_Ibcast");
    }
    for (Bucket& b : buckets) check_mpi(MPI_Wait(&b.bcast, MPI_STATUS_IGNORE), "MPI_Wait");
  }
};

ChainReducer::ChainReducer(const World& world, std::vector<Tensor> params, int64_t bucket_bytes)
    : state_(std::make_unique<State>(world, std::move(params))) {
  State& s = *state_;
  s.bucket_of.resize(s.params.size());
  int64_t bytes = bucket_bytes;  // of the bucket being filled; a full one starts the next
  for (size_t p = s.params.size(); p-- > 0;) {
    const Tensor& t = s.params[p];
    DL_CHECK(t.dtype() == DType::F32 && t.is_contiguous() && t.is_leaf(), "ChainReducer",
             "parameter " + std::to_string(p) + " is " + t.str() + "; expected a contiguous float32 leaf");
    s.index[t.impl_ptr().get()] = p;
    if (bytes >= bucket_bytes) {
      s.buckets.emplace_back();
      bytes = 0;
    }
    Bucket& b = s.buckets.back();
    b.params.push_back(p);
    b.offsets.push_back(static_cast<int64_t>(b.flat.size()));
    b.flat.resize(b.flat.size() + static_cast<size_t>(t.numel()));
    DL_CHECK(b.flat.size() <= INT32_MAX, "ChainReducer", "a bucket of more than 2^31 elements");
    s.bucket_of[p] = s.buckets.size() - 1;
    bytes += t.numel() * static_cast<int64_t>(sizeof(float));
  }
}

ChainReducer::~ChainReducer() = default;

void ChainReducer::broadcast_parameters() {
  for (const Tensor& p : state_->params)
    state_->world.broadcast(p.raw_data(), p.numel() * static_cast<int64_t>(sizeof(float)), World::root);
}

void ChainReducer::backward(const Tensor& loss, bool last) {
  State& s = *state_;
  if (s.grads.empty()) {  // the step's first micro-batch
    s.started = s.folded = 0;
    if (!s.first_rank()) s.post_receives();
  }
  for (const Tensor& p : s.params) p.zero_grad();
  if (!last) {
    loss.backward();
  } else {
    for (Bucket& b : s.buckets) b.missing = static_cast<int>(b.params.size());
    const size_t micro_batches = s.grads.size() + 1;
    LeafGradHook hook([&s, micro_batches](const Tensor& leaf) { s.complete(leaf, micro_batches); });
    loss.backward();
  }
  std::vector<Tensor> g;
  for (const Tensor& p : s.params) g.push_back(p.grad());
  s.grads.push_back(std::move(g));
}

void ChainReducer::finish() {
  State& s = *state_;
  DL_CHECK(!s.grads.empty(), "ChainReducer::finish", "no micro-batch's backward ran this step");
  const auto start = std::chrono::steady_clock::now();
  s.started = s.buckets.size();  // a bucket some parameter of which no backward reached
  s.advance(s.grads.size(), true);
  if (s.world.size() > 1) s.receive_totals();
  for (const Bucket& b : s.buckets)
    for (size_t k = 0; k < b.params.size(); ++k) {
      const Tensor& p = s.params[b.params[k]];
      Tensor g = Tensor::uninitialized(p.shape());
      std::memcpy(g.raw_data(), b.flat.data() + b.offsets[k], static_cast<size_t>(p.numel()) * sizeof(float));
      p.set_grad(g);
    }
  s.grads.clear();
  s.seconds_in_finish += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double ChainReducer::seconds_in_finish() const { return state_->seconds_in_finish; }

int64_t ChainReducer::bytes_per_step() const {
  int64_t bytes = 0;
  for (const Bucket& b : state_->buckets) bytes += static_cast<int64_t>(b.flat.size() * sizeof(float));
  return bytes;
}

int64_t ChainReducer::buckets() const { return static_cast<int64_t>(state_->buckets.size()); }

}  // namespace dl::dist
