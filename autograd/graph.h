// The tape. Every differentiable op ends with
//
//     return record("op_name", out, {a, b}, [saved...](const Tensor& g, const Needs& needs) {
//       return Grads{grad_a, grad_b};   // one per input; leave undefined where !needs[i]
//     });
//
// record() attaches a Node to `out` when grad mode is on and some input requires grad. The Node
// owns its inputs (a non-leaf input as metadata and grad_fn only, without its values) and the
// backward closure; the closure must capture only what the backward needs, and never `out`
// itself (capture out.detach(), which shares storage without the Node, or the output -> Node ->
// output cycle would leak).
//
// Backward (engine in graph.cpp) visits Nodes in reverse topological order with an explicit
// worklist, so depth is unbounded; a gradient reaching a tensor along several paths is summed.
// Closures run in no-grad mode: their ops are not recorded (no double backward). The gradient
// handed to a closure is always dense (contiguous) and of the output's shape and dtype.
#pragma once
#include <functional>
#include <string>
#include <vector>
#include "autograd/tensor.h"

namespace dl {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;
using BackwardFn = std::function<Grads(const Tensor& grad_output, const Needs& needs)>;

struct Node {
  std::string op;
  Shape out_shape;
  DType out_dtype = DType::F32;
  std::vector<Tensor> inputs;
  BackwardFn backward;  // empty once the graph has been freed
  Node();
  ~Node();             // iterative: a 10^6-deep chain must not overflow the stack
};

// Attach the backward of `out` to the tape (see above) and return it.
Tensor record(const char* op, Tensor out, std::vector<Tensor> inputs, BackwardFn backward);

bool grad_enabled();
int64_t live_nodes();  // Nodes alive now, for leak tests

// RAII: no op records anything while a NoGradGuard lives (on this thread).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// A hook for data-parallel training (nn/distributed/reducer.h): while a LeafGradHook lives (on
// this thread), every backward calls it once per leaf that requires grad, as soon as that leaf's
// grad for this backward is complete: when the last Node consuming the leaf has sent its share.
// The caller may then read (not write) leaf.grad(), e.g. to send a bucket of parameter gradients
// while the rest of backward still runs. Without a hook the engine does no extra work.
using LeafGradReady = std::function<void(const Tensor& leaf)>;
class LeafGradHook {
 public:
  explicit LeafGradHook(LeafGradReady ready);
  ~LeafGradHook();
  LeafGradHook(const LeafGradHook&) = delete;
  LeafGradHook& operator=(const LeafGradHook&) = delete;

 private:
  LeafGradReady previous_;
};

// The graph behind `root` in Graphviz dot: one box per op (name and output shape), one ellipse per
// leaf (shape, and whether it requires grad).
std::string to_dot(const Tensor& root);

}  // namespace dl
