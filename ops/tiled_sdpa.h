// Tiled scaled dot-product attention (FlashAttention-2's scheme on the CPU): the same function as
// ops/sdpa.h, but never a (T, S) matrix. Memory O(T dh) per head instead of O(T S), so long
// sequences fit; the dense op stays the readable reference (docs/attention.md, Tiled attention).
//
// Queries are cut into tiles of Bq rows, keys into tiles of Bk rows (the last tile of each may be
// short). Per (batch, head), for one query tile Q_I (Bq, dh) and one key tile K_J, V_J (Bk, dh):
//
// Forward: walk the key tiles J = 1, 2, ... keeping per query row i only its running max m_i, its
// running sum l_i and an unnormalised output row o_i (m_i = -inf, l_i = 0, o_i = 0 at the start):
//   Z_IJ   = scale Q_I K_J^T + M_IJ                 score_tile: (Bq, Bk), -inf where masked
//   m'_i   = max(m_i, max_j Z_ij)                   online_softmax_tile: the new running max
//   c_i    = exp(m_i - m'_i)                          how much the old sums shrink (0 at the start)
//   P~_ij  = exp(Z_ij - m'_i)                         this tile's weights, up to the common 1 / l
//   l_i    = c_i l_i + sum_j P~_ij                    the running sum, rescaled to the new max
//   o_i    = c_i o_i + (P~_IJ V_J)_i                  the running output, rescaled likewise
//   m_i    = m'_i
// After the last tile:
//   O_i    = o_i / l_i                              finish_rows: the softmax's division, once
//   L_i    = m_i + log l_i                          the log-sum-exp of row i, kept for the backward
// Why it is exact: after any prefix of tiles, l_i = sum_j exp(Z_ij - m_i) and o_i =
// sum_j exp(Z_ij - m_i) v_j over the keys seen so far; multiplying both by c_i moves them to the
// new max, so the final O_i = sum_j exp(Z_ij) v_j / sum_j exp(Z_ij) is softmax(Z_i) V.
//
// Backward, given dO. The dense backward (ops/sdpa.h) needs P, which is rebuilt one tile at a time
// from Q, K and L, since P_ij = exp(Z_ij - m_i) / l_i = exp(Z_ij - L_i):
//   D_i    = rowsum(dO_i * O_i)                     output_dot_rows: = sum_j P_ij dP_ij, as below
//   then for every key tile J, and every query tile I that sees it:
//   Z_IJ   = scale Q_I K_J^T + M_IJ                 score_tile, as in the forward
//   P_IJ   = exp(Z_IJ - L_I)                        recompute_probs_tile
//   dV_J  += P_IJ^T dO_I                            the dense dV = P^T dO, summed over query tiles
//   dP_IJ  = dO_I V_J^T
//   dZ_IJ  = P_IJ * (dP_IJ - D_I)                   softmax_grad_tile: the softmax Jacobian
//   dQ_I  += scale dZ_IJ K_J                        summed over key tiles
//   dK_J  += scale dZ_IJ^T Q_I                      summed over query tiles
// D_i replaces the dense rowsum(dP_i * P_i), which would need the whole row of P at once:
// sum_j dP_ij P_ij = sum_j (dO_i . v_j) P_ij = dO_i . (sum_j P_ij v_j) = dO_i . O_i.
//
// Masks as in ops/attention_probs.h. Under a causal mask a tile above the diagonal is skipped
// whole (every entry masked). A query with no visible key has l_i = 0: O_i = 0 and its L_i is
// stored as +inf, so the recomputed P_i = exp(Z_i - inf) = 0 and no gradient flows, never NaN.
//
// The kernels named on the right live in ops/attention_tiles.h, shared with the other tiled ops.
// Kept for the backward: Q, K, V, O and L (B, H, T). Each (batch, head) runs as one task in the
// backward (dQ, dK, dV are sums over tiles, added in one fixed order: the same bits for any thread
// count); the forward runs one task per (batch, head, query tile).
#pragma once
#include <vector>
#include "ops/attention_probs.h"

namespace dl {

// The tile edge used for both Bq and Bk. 64 rows of dh = 32 floats are 8 KB per Q, K or V tile and
// 16 KB per (Bq, Bk) score tile: the working set of one step stays within a 1 MB L2 cache, with
// room for the second thread. docs/attention.md gives the measurements behind the choice.
constexpr int64_t kAttentionTile = 64;

// The same inputs, output and probs as scaled_dot_product_attention (ops/sdpa.h). probs, when
// given, is the dense P, a (B, H, T, S) tensor computed only inside an AttentionMapsGuard (for
// drawing a heatmap); elsewhere it is left undefined, as keeping it would undo the memory saving.
Tensor tiled_scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                          const AttentionMask& mask, Tensor* probs = nullptr,
                                          int64_t tile = kAttentionTile);

// Asks the tiled ops, on this thread and while it lives, for the dense attention matrices their
// callers pass a pointer for (a heatmap's forward, under NoGradGuard). Without it they give none:
// not in training, where a (T, S) matrix per layer would undo the tiling's saving, nor in an
// evaluation's forward, where computing one per batch would cost more than the attention itself
// and keep (B, H, T, S) floats per layer alive until the next forward.
class AttentionMapsGuard {
 public:
  AttentionMapsGuard();
  ~AttentionMapsGuard();
  AttentionMapsGuard(const AttentionMapsGuard&) = delete;
  AttentionMapsGuard& operator=(const AttentionMapsGuard&) = delete;

 private:
  bool previous_;
};
bool attention_maps_wanted();

// Raw kernels (not recorded), shared with the tiled daGPAM and differential attention. q, k, v
// contiguous as checked by check_attention_inputs. Sets O (B, H, T, dv) and L (B, H, T).
void tiled_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMask& mask,
                             double scale, int64_t tile, Tensor& O, Tensor& L);
// From dO (B, H, T, dv), contiguous: sets *dq, *dk (both or neither) and *dv where given.
void tiled_attention_backward(const Tensor& dO, const Tensor& q, const Tensor& k, const Tensor& v,
                              const Tensor& O, const Tensor& L, const AttentionMask& mask, double scale,
                              int64_t tile, Tensor* dq, Tensor* dk, Tensor* dv);

}  // namespace dl
