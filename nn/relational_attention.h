// RelationalAttention (docs/relational.md): the relational heads of the Dual Attention Transformer.
// x (B, T, d) and symbols from a SymbolSource (nn/symbols.h) -> (B, T, H dh):
//
//   q_attn, k_attn = x Wq_attn, x Wk_attn                     (d -> H dh, split into H heads)
//   q_rel, k_rel   = x Wq_rel, x Wk_rel                       (d -> d_r dp, split into d_r)
//   sv             = s Ws                                      (d -> H dh)
//   a^h            = sum_j alpha_ij^h (r_ij Wr^h + s_j Ws^h)   (ops/relational_attention.h)
//   out            = concat_h(a^h) Wo + bo                     (H dh -> H dh)
//
// Parameters: the Linears `wq_attn`, `wk_attn`, `wq_rel`, `wk_rel` (when symmetric, the very
// module wq_rel registered under both names: Wk_rel = Wq_rel, r is a symmetric kernel, the state
// dict holds both names as PyTorch's would, and loading checks the two copies are equal), `wv`
// (Ws, applied to the symbols), the tensor
// `wr` (H, dh, d_r) and the Linear `wo`. With rca (the Abstractor's relational cross-attention,
// a^h = sum_j alpha_ij^h s_j Ws^h) there is no relation term, so no wq_rel, wk_rel or wr.
// Defaults: dh = d / H, d_r = H, dp = dh. Masks weight alpha; the relations are never masked.
//
// Incremental (greedy) decoding: pass a RelationalKVCache with x = the new positions only and
// their symbols (positional symbols from the cached length on, nn/symbols.h). As KVCache does for
// MultiHeadAttention, it appends their keys (k_attn, k_rel) and symbol values sv to the earlier
// positions' and sets the mask's query_offset, so a step projects only its own positions and
// attends to all: O(S) work per new position instead of re-running the prefix's O(S^2). What is
// cached per symbol source: positional symbols and symbolic attention's symbols belong to one
// position each (symbolic attention's depend on x there, which does not change), so their values
// are cached; the position-relative table depends on i - j, so it is not cached but passed whole
// every step, and the op indexes it with the query offset.
#pragma once
#include <memory>
#include "nn/linear.h"
#include "nn/symbols.h"
#include "ops/attention_probs.h"

namespace dl {

struct RelationalAttentionOptions {  // set by name; not an aggregate, so its sizes cannot be swapped in a {...}
  explicit RelationalAttentionOptions() = default;
  int64_t head_dim = 0;     // dh; 0: d / n_heads
  int64_t n_relations = 0;  // d_r; 0: n_heads
  int64_t rel_dim = 0;      // dp; 0: dh
  bool symmetric = false;   // Wk_rel = Wq_rel
  bool rca = false;         // no relation term
  bool bias = true;         // on every Linear
  bool wr_fan_in = false;   // wr ~ U(+-1/sqrt(dh d_r)), the DAT code's kaiming_uniform(a = sqrt 5)
                            // on (H, dh, d_r); else U(+-1/sqrt(d_r)), Linear(d_r, H dh)'s
};

// The earlier positions of one RelationalAttention layer, for decoding.
struct RelationalKVCache {
  Tensor k_attn;  // (B, H, S, dh)
  Tensor k_rel;   // (B, S, d_r, dp); undefined with rca
  Tensor sv;      // (1 or B, H, S, dh); undefined with position-relative symbols
  int64_t length() const { return k_attn.defined() ? k_attn.size(2) : 0; }
  // Appends this step's k_attn (B, H, t, dh), k_rel (B, t, d_r, dp) and, unless relative, sv
  // (1 or B, H, t, dh), replacing each with the whole cache; throws, naming the tensor and both
  // shapes, when a step does not continue the cache. Returns mask with query_offset set to the
  // number of positions cached before this step.
  AttentionMask append(Tensor& k_attn_step, Tensor& k_rel_step, Tensor& sv_step, bool relative,
                       AttentionMask mask);
};

class RelationalAttention : public Module {
 public:
  RelationalAttention(int64_t d, int64_t n_heads, Generator& gen,
                      const RelationalAttentionOptions& options = RelationalAttentionOptions(), DType dtype = DType::F32);

  // x (B, T, d); symbols per position (T, d) or (B, T, d), or a relative table -> (B, T, H dh).
  // With a cache, x and per-position symbols hold the positions after the cached ones.
  Tensor forward(const Tensor& x, const Symbols& symbols, AttentionMask mask = {},
                 RelationalKVCache* cache = nullptr);

  int64_t d, n_heads, head_dim, n_relations, rel_dim;
  bool symmetric, rca;
  std::shared_ptr<Linear> wq_attn, wk_attn, wq_rel, wk_rel, wv, wo;  // wq_rel, wk_rel null with rca
  Tensor wr;                                                         // (H, dh, d_r), or undefined

  // From the last forward, detached, for heatmaps: alpha (B, H, T, T) and r (B, T, T, d_r)
  // (r undefined with rca). Above the tiled threshold (ops/attention_select.h) only from a
  // forward under NoGradGuard: a training step keeps neither.
  const Tensor& last_attention() const { return last_attention_; }
  const Tensor& last_relations() const { return last_relations_; }

 private:
  Tensor last_attention_, last_relations_;
};

}  // namespace dl
