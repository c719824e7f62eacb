// Data-parallel gradients that are bitwise the same for any number of ranks.
//
// The defined gradient. A global batch of B rows is split into M micro-batches of B / M rows
// (M is a flag, --micro-batches, chosen independently of the number of ranks N). Micro-batch i's
// loss is its mean loss scaled by 1 / M, so its gradient g_i is the share of the global batch's
// mean gradient, and the step's gradient is the left fold
//
//     g = (((g_0 + g_1) + g_2) + ... ) + g_{M-1}
//
// added element by element in exactly this order. Float addition is not associative: any other
// parenthesisation, e.g. (g_0 + g_1) + (g_2 + g_3), may differ in the last bit, and after a few
// hundred Adam steps so do the weights. So the order of the additions is part of the definition.
//
// One process computes the fold directly: g_0, then + g_1, and so on (each g_i from its own
// backward, on zeroed grads, kept apart from the others: a leaf's grad summed across micro-batches
// by the engine would also fold the paths inside one backward into the same sum, in another order).
//
// N ranks compute the same fold as a chain. Rank r owns a contiguous block of micro-batches,
// [first_r, first_r + count_r) (micro_batches_of; N <= M, so none is empty), computes their
// gradients, and then
//
//     rank 0:       p = g_0 + ... + g_{count_0 - 1}, send p to rank 1
//     rank r:       receive p from rank r - 1, p = p + g_{first_r} + ... (own, in order), send on
//     last rank:    its p is the whole fold g; broadcast g to every rank
//
// Every addition happens in the one order of the single-process fold, so g is bitwise the same
// for N = 1, 2, 3, ... MPI_Allreduce cannot give this: it sums the ranks' contributions in an
// order of its own choosing (a tree or a ring, picked by message size and rank count), and it
// would only see one sum per rank anyway, which already fixes a different parenthesisation.
// The chain costs N - 1 sequential hops instead of a tree's log N; it is the price of the
// definition. (Every rank then applies the same optimizer step to the same g, so the weights
// stay identical; rank 0 broadcasts the initial ones.)
//
// Overlap. The parameters are grouped into buckets of about bucket_bytes, in reverse registration
// order (roughly the order backward finishes them: the last layers first). During the backward
// of a rank's last micro-batch, the engine reports each parameter whose gradient is complete
// (autograd/graph.h, LeafGradHook); when every parameter of a bucket is, the bucket's chain step
// starts with nonblocking sends and receives while backward carries on with the earlier layers.
// Buckets start in index order on every rank, so the matching messages and broadcasts agree.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>
#include "autograd/tensor.h"
#include "nn/distributed/world.h"

namespace dl::dist {

// The micro-batches rank `rank` of `ranks` computes: [first, first + count), contiguous blocks
// whose sizes differ by at most one. Throws unless 1 <= ranks <= micro_batches.
struct MicroBatchRange {
  int64_t first = 0, count = 0;
};
MicroBatchRange micro_batches_of(int rank, int ranks, int64_t micro_batches);

class ChainReducer {
 public:
  // params: float32 leaves, the same list in the same order on every rank.
  ChainReducer(const World& world, std::vector<Tensor> params, int64_t bucket_bytes = int64_t{1} << 20);
  ~ChainReducer();
  ChainReducer(const ChainReducer&) = delete;
  ChainReducer& operator=(const ChainReducer&) = delete;

  // Every rank's parameters take root's values.
  void broadcast_parameters();

  // One of this rank's micro-batches, in order: loss.backward() on zeroed grads, and the grads
  // kept as this micro-batch's g. `last` (the rank's last micro-batch) lets buckets leave while
  // backward still runs.
  void backward(const Tensor& loss, bool last);

  // After the last micro-batch: waits for the chain and the broadcast, then sets every
  // parameter's grad to the fold g (a parameter no backward reached counts as zeros).
  void finish();

  // Seconds spent in finish() so far: waiting for the chain and the broadcast, and the folds of
  // the buckets that had not started during backward (the communication backward did not hide).
  double seconds_in_finish() const;
  int64_t bytes_per_step() const;  // the size of g: what the chain moves per hop and broadcasts
  int64_t buckets() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dl::dist
