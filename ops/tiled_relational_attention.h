// Tiled relational attention (docs/relational.md, Tiled form): the same function as
// relational_attention (ops/relational_attention.h), in the manner of FlashAttention-2
// (ops/tiled_sdpa.h), so that neither the (T, S) matrix alpha nor the (T, S, d_r) relations r are
// ever built: memory O(T (dh + d_r)) per head instead of O(T S (H + d_r)).
//
// Per batch item, query tile I (Bq rows), key tile J (Bk rows), head h; notation as the dense op.
// Forward: every query row i keeps, per head, a running max m_i, a running sum l_i and one
// unnormalised running row [o_i | abar~_i]: the symbol part o_i (dh values, or the 2D+1 bins of
// the position-relative form) then the d_r relation sums (all 0, m_i = -inf, at the start):
//   r_IJl  = Q_rel,I^l K_rel,J^l^T / sqrt(dp)        relations_tile: (d_r, Bq, Bk), once for all heads
//   Z_IJ   = scale Q_I K_J^T + M_IJ                  score_tile (ops/attention_tiles.h)
//   m'_i, c_i = exp(m_i - m'_i), P~_ij = exp(Z_ij - m'_i), l_i = c_i l_i + sum_j P~_ij
//                                                     online_softmax_tile, as in ops/tiled_sdpa.h,
//   [o_i | abar~_i] *= c_i                            which rescales the whole running row
//   o_i      += sum_j P~_ij sv_j                      accumulate_tile: per position (a gemm),
//   bins~_im += sum of P~_ij over j with c(i, j) = m      or position-relative (binned per tile)
//   abar~_il += sum_j P~_ij r_ijl                     the relations, rescaled exactly as o
// After the last key tile (finish_rows): divide the row by l_i, L_i = m_i + log l_i. Then
//   abar_i = abar~_i / l_i = sum_j alpha_ij r_ij      (the same argument as for O in tiled_sdpa.h:
//                                                      after every prefix both are sums of
//                                                      exp(Z_ij - m_i) times a per-key row)
//   a^h    = o^h + abar^h Wr^h   or   bins^h sv^h + abar^h Wr^h
//
// Backward, given g = da (B, H, T, dh). The dense op's lines (ops/relational_attention.h), with
// alpha and r rebuilt per tile: alpha_IJ = exp(Z_IJ - L_I), r_IJ by relations_tile.
//   dwr[h]   = sum_b g^h^T abar^h                     relation_weights_grad, as dense (abar kept)
//   dabar^h  = g^h wr[h]                              abar_grad, as dense
//   D_i      = sum_j alpha_ij dalpha_ij = g_i . a_i   output_dot_rows: the D of tiled_sdpa.h; why:
//            sum_j alpha_ij (dabar_i . r_ij + g_i . sv_j) = dabar_i . abar_i + g_i . o_i
//            = g_i . (abar_i Wr^T) + g_i . o_i = g_i . a_i   (dabar_i = g_i Wr)
//   then for every key tile J, every query tile I that sees it, every head h:
//   dbeta_IJ = g_I sv_J^T                             per position (a gemm), or
//   dbeta_ij = G_i,c(i,j),  G = g sv^T (T, 2D+1)      position-relative: the gradient of its bin
//   dalpha_ij = dbeta_ij + sum_l dabar_il r_ijl       alpha_grad_tile
//   dZ_IJ    = alpha_IJ * (dalpha_IJ - D_I)           softmax_grad_tile (ops/attention_tiles.h)
//   dQ_I    += scale dZ_IJ K_J,  dK_J += scale dZ_IJ^T Q_I
//   dsv_J   += alpha_IJ^T g_I                         per position; position-relative, once at
//                                                     the end: dsv = bins^T g (bins kept)
//   dr_IJl  += alpha_IJ * dabar_Il                    summed over the heads (relation_grad_tile)
//   then, once the heads are summed:
//   dQ_rel,I^l += dr_IJl K_rel,J^l / sqrt(dp),  dK_rel,J^l += dr_IJl^T Q_rel,I^l / sqrt(dp)
//
// Masks as in ops/tiled_sdpa.h: tiles above a causal diagonal are skipped, and a query with no
// visible key has l = 0, so a = 0 and L = +inf, its recomputed alpha is 0 and no gradient flows.
//
// Kept for the backward: the inputs, a (B, H, T, dh), L (B, H, T), abar (B, H, T, d_r) and, when
// position-relative, bins (B, H, T, 2D+1). The forward runs one task per (batch item, query tile);
// the backward one per (batch item, chunk of key tiles): a task loops over the heads inside each
// tile, as the relation gradient sums over them. Query-side gradients get one buffer per chunk,
// summed in chunk order, and dsv, when the batch shares it, is summed over batch items in order:
// the same bits for any thread count.
#pragma once
#include "ops/tiled_sdpa.h"

namespace dl {

// Inputs and output as relational_attention. alpha and r, when given, are the dense attention
// matrix and relations, computed only inside an AttentionMapsGuard (for a heatmap), else left
// undefined (see tiled_sdpa.h).
Tensor tiled_relational_attention(const Tensor& q_attn, const Tensor& k_attn, const Tensor& q_rel,
                                  const Tensor& k_rel, const Tensor& wr, const Tensor& sv,
                                  const AttentionMask& mask = AttentionMask(), Tensor* alpha = nullptr,
                                  Tensor* r = nullptr, int64_t tile = kAttentionTile);

}  // namespace dl
