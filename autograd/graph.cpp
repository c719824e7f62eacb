// The tape and the reverse-mode engine.
//
// backward(root) in three steps:
//   1. collect the Nodes reachable from root (explicit stack, no recursion) and count, for each,
//      how many reachable consumers will send it a gradient;
//   2. process Nodes in Kahn order from root: a Node runs when all its consumers have run, so its
//      incoming gradient is complete (summed over every path);
//   3. send each input's gradient on: into the producing Node's pending sum, or, for a leaf that
//      requires grad, accumulated (+=) into leaf.grad; with a LeafGradHook set, a leaf whose last
//      consumer has run is reported complete.
// Unless keep_graph, a Node drops its closure and inputs right after it runs, so saved
// activations are freed during backward, and a second backward fails with a clear message.
// The walk (count_consumers, send, Tensor::backward) is at the end of this file; the hooks it
// calls (run_closure: profiling; check_grad: shapes and anomaly mode; free_node) just above it.
// Prose and pictures: docs/autograd.md.
#include "autograd/graph.h"

#include <atomic>
#include <optional>
#include <sstream>
#include <unordered_map>
#include "autograd/anomaly.h"
#include "autograd/kernels.h"
#include "autograd/profile.h"

namespace dl {

static thread_local bool g_grad_enabled = true;
static std::atomic<int64_t> g_live_nodes{0};

int64_t live_nodes() { return g_live_nodes.load(); }

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

static thread_local LeafGradReady g_leaf_grad_ready;
LeafGradHook::LeafGradHook(LeafGradReady ready) : previous_(std::move(g_leaf_grad_ready)) {
  g_leaf_grad_ready = std::move(ready);
}
LeafGradHook::~LeafGradHook() { g_leaf_grad_ready = std::move(previous_); }

// t's metadata and grad_fn, without its storage.
static Tensor without_values(const Tensor& t) {
  auto impl = std::make_shared<TensorImpl>();
  impl->offset = t.offset();
  impl->shape = t.shape();
  impl->strides = t.strides();
  impl->dtype = t.dtype();
  impl->requires_grad = t.requires_grad();
  impl->grad_fn = t.grad_fn();
  return Tensor(std::move(impl));
}

Tensor record(const char* op, Tensor out, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!g_grad_enabled) return out;
  if (anomaly_mode()) check_forward_anomaly(op, out, inputs);
  if (profiling()) detail::profile_forward(op);
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return out;
  // A non-leaf input is kept without its values: the engine needs only its Node, shape and dtype,
  // and the closure saved whatever values the backward reads. So an intermediate that no
  // backward reads (a product before its bias, the source of a contiguous copy) is freed when
  // the forward drops it, not after backward.
  for (Tensor& t : inputs)
    if (t.defined() && t.grad_fn()) t = without_values(t);
  auto node = std::make_shared<Node>();
  node->op = op;
  node->out_shape = out.shape();
  node->out_dtype = out.dtype();
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  // `out` may share its impl with nobody yet; give it the node.
  out.impl().grad_fn = std::move(node);
  out.impl().requires_grad = true;
  return out;
}

// Destroying the last tensor of a long chain would otherwise recurse impl -> node -> impl ...
// Instead, a dying Node moves the inputs that only it still owns onto a local worklist and
// unlinks their Nodes there, so every destructor returns after constant depth.
static void steal_inputs(Node& node, std::vector<std::shared_ptr<Node>>& work) {
  for (Tensor& t : node.inputs) {
    if (!t.defined()) continue;
    const auto& impl = t.impl_ptr();
    if (impl.use_count() == 1 && impl->grad_fn && impl->grad_fn.use_count() == 1)
      work.push_back(std::move(impl->grad_fn));
  }
  node.inputs.clear();
}

Node::Node() { ++g_live_nodes; }

Node::~Node() {
  --g_live_nodes;
  std::vector<std::shared_ptr<Node>> work;
  steal_inputs(*this, work);
  while (!work.empty()) {
    std::shared_ptr<Node> n = std::move(work.back());
    work.pop_back();
    steal_inputs(*n, work);
    n->backward = nullptr;  // closures may hold tensors too; they are freed here, at depth 1
  }
}

TensorImpl::~TensorImpl() = default;

// ---- summing gradients in place ----

// Whether dense t is reachable through no handle but the `handles` its caller counts, and shares
// its storage with no other tensor. Gradients may alias saved tensors or each other, and a caller
// may hold a leaf's grad; only such a tensor may be kept, or summed into in place, unseen.
static bool exclusive(const Tensor& t, long handles) {
  return t.impl_ptr().use_count() == handles && t.impl().storage.use_count() == 1;
}

// The handles the walk itself holds on a gradient, for exclusive():
constexpr long kPendingHandles = 1;   // a Node's pending sum: its entry in the walk's map
constexpr long kLeafGradHandles = 2;  // a leaf's grad: the leaf's own field and the walk's copy
constexpr long kFreshHandles = 1;     // a gradient a closure just returned: the walk's copy

// slot += g, where slot (a gradient being summed) has `handles` handles.
static void accumulate(Tensor& slot, const Tensor& g, long handles) {
  std::optional<detail::ProfileScope> timed;
  if (profiling()) timed.emplace("grad accumulate");
  if (exclusive(slot, handles)) add_into(slot, g);
  else slot = add_kernel(slot, g);
}

// ---- the walk's hooks: profiling, checks, freeing the graph ----

// n's closure on its incoming gradient g, timed when profiling.
static Grads run_closure(Node& n, const Tensor& g, const Needs& needs) {
  std::optional<detail::ProfileScope> timed;
  if (profiling()) timed.emplace(n.op + " backward");
  return n.backward(g, needs);
}

// Throws, naming the op, unless gradient i fits input i (and, in anomaly mode, is finite).
static void check_grad(const Node& node, size_t i, const Tensor& g) {
  const Tensor& in = node.inputs[i];
  DL_CHECK(g.shape() == in.shape() && g.dtype() == in.dtype(), node.op + " backward",
           "gradient " + g.str() + " for input " + std::to_string(i) + " does not match input " +
               in.str());
  if (anomaly_mode()) check_gradient_anomaly(node.op, i, g);
}

// Drops n's closure and inputs once it has run, so saved activations are freed during backward
// and a second backward fails clearly. keep_alive holds n's producers until the walk ends, so
// the raw Node* it still has to visit stay valid.
static void free_node(Node& n, std::vector<std::shared_ptr<Node>>& keep_alive) {
  for (const Tensor& in : n.inputs)
    if (in.defined() && in.grad_fn()) keep_alive.push_back(in.grad_fn());
  n.backward = nullptr;
  n.inputs.clear();
}

// ---- the walk ----

// Step 1: every Node reachable from root, with how many reachable Nodes consume its output.
static std::unordered_map<Node*, int> count_consumers(Node* root) {
  std::unordered_map<Node*, int> consumers{{root, 0}};
  std::vector<Node*> stack{root};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    DL_CHECK(n->backward != nullptr, "backward",
             "the graph through '" + n->op +
                 "' was already freed by an earlier backward; pass keep_graph = true to the first one");
    for (const Tensor& in : n->inputs) {
      if (!in.defined() || !in.requires_grad() || !in.grad_fn()) continue;
      Node* p = in.grad_fn().get();
      auto it = consumers.find(p);
      if (it == consumers.end()) {
        consumers[p] = 1;
        stack.push_back(p);
      } else {
        ++it->second;
      }
    }
  }
  return consumers;
}

// For the LeafGradHook: how many inputs of the reachable Nodes are each leaf that requires grad
// (a Node using a leaf twice counts twice), so the walk knows when a leaf has received its last.
static std::unordered_map<TensorImpl*, int> count_leaf_uses(const std::unordered_map<Node*, int>& nodes) {
  std::unordered_map<TensorImpl*, int> uses;
  for (const auto& entry : nodes)
    for (const Tensor& in : entry.first->inputs)
      if (in.defined() && in.requires_grad() && !in.grad_fn()) ++uses[in.impl_ptr().get()];
  return uses;
}

// Step 3: input `in`'s gradient g (dense) goes into its Node's pending sum, or into a leaf's grad.
static void send(const Tensor& in, const Tensor& g, std::unordered_map<Node*, Tensor>& pending) {
  if (in.grad_fn()) {
    Tensor& slot = pending[in.grad_fn().get()];
    if (slot.defined()) accumulate(slot, g, kPendingHandles);
    else slot = g;
  } else if (in.grad().defined()) {
    Tensor old = in.grad();  // held by the leaf too
    accumulate(old, g, kLeafGradHandles);
    in.set_grad(old);
  } else {
    in.set_grad(exclusive(g, kFreshHandles) ? g : g.clone());
  }
}

void Tensor::backward(const Tensor& grad_output, bool keep_graph) const {
  DL_CHECK(requires_grad(), "backward", "tensor " + str() + " does not require grad");
  Tensor seed = grad_output;
  if (!seed.defined()) {
    DL_CHECK(numel() == 1, "backward",
             "needs a grad_output for a non-scalar tensor " + str());
    seed = Tensor::full(shape(), 1.0, dtype());
  }
  DL_CHECK(seed.shape() == shape() && seed.dtype() == dtype(), "backward",
           "grad_output " + seed.str() + " does not match tensor " + str());
  NoGradGuard no_grad;
  seed = seed.contiguous();
  if (is_leaf()) {
    Tensor g = grad();
    set_grad(g.defined() ? add_kernel(g, seed) : seed.clone());
    if (g_leaf_grad_ready) g_leaf_grad_ready(*this);
    return;
  }

  Node* root = grad_fn().get();
  std::unordered_map<Node*, int> consumers = count_consumers(root);
  std::unordered_map<TensorImpl*, int> leaf_uses;
  if (g_leaf_grad_ready) leaf_uses = count_leaf_uses(consumers);

  // Step 2: Kahn order from the root. A Node is ready once every consumer has sent its share.
  // One whose consumers sent nothing still runs, with an undefined gradient, only to release
  // its own producers.
  std::unordered_map<Node*, Tensor> pending{{root, seed}};
  std::vector<Node*> ready{root};
  std::vector<std::shared_ptr<Node>> keep_alive{grad_fn()};  // raw Node* stay valid until the end
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    Tensor g = std::move(pending[n]);
    pending.erase(n);
    Needs needs(n->inputs.size());
    for (size_t i = 0; i < needs.size(); ++i)
      needs[i] = n->inputs[i].defined() && n->inputs[i].requires_grad();
    Grads grads = g.defined() ? run_closure(*n, g, needs) : Grads(n->inputs.size());
    DL_CHECK(grads.size() == n->inputs.size(), n->op + " backward",
             "returned " + std::to_string(grads.size()) + " gradients for " +
                 std::to_string(n->inputs.size()) + " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      if (!needs[i]) continue;
      Tensor in = n->inputs[i];
      if (grads[i].defined()) {
        check_grad(*n, i, grads[i]);
        Tensor gi = grads[i].contiguous();
        grads[i] = Tensor();  // gi is now the only handle, unless the closure kept one
        send(in, gi, pending);
      }
      if (in.grad_fn() && --consumers[in.grad_fn().get()] == 0) ready.push_back(in.grad_fn().get());
      if (g_leaf_grad_ready && !in.grad_fn() && --leaf_uses[in.impl_ptr().get()] == 0) g_leaf_grad_ready(in);
    }
    if (!keep_graph) free_node(*n, keep_alive);
  }
}

// Graphviz: number every op node and leaf in traversal order, then emit edges input -> consumer.
std::string to_dot(const Tensor& root) {
  std::ostringstream os;
  os << "digraph tape {\n  rankdir=BT;\n  node [fontname=\"Helvetica\"];\n";
  std::unordered_map<const void*, int> ids;
  auto key = [](const Tensor& t) -> const void* {
    return t.grad_fn() ? static_cast<const void*>(t.grad_fn().get()) : t.impl_ptr().get();
  };
  std::vector<Tensor> stack{root};
  ids[key(root)] = 0;
  while (!stack.empty()) {
    Tensor t = stack.back();
    stack.pop_back();
    int id = ids[key(t)];
    if (!t.grad_fn()) {
      os << "  n" << id << " [shape=ellipse, label=\"" << t.str()
         << (t.requires_grad() ? "\\nrequires_grad" : "") << "\"];\n";
      continue;
    }
    const Node& n = *t.grad_fn();
    os << "  n" << id << " [shape=box, label=\"" << n.op << "\\n" << shape_str(n.out_shape) << "\"];\n";
    for (const Tensor& in : n.inputs) {
      if (!in.defined()) continue;
      auto it = ids.find(key(in));
      if (it == ids.end()) {
        it = ids.emplace(key(in), static_cast<int>(ids.size())).first;
        stack.push_back(in);
      }
      os << "  n" << it->second << " -> n" << id << ";\n";
    }
  }
  os << "}\n";
  return os.str();
}

}  // namespace dl
