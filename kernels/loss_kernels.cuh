// Host launchers for the contrastive-loss kernels: fused CompRess / MoCo InfoNCE loss + gradient over a memory
// bank (loss_fused.cu), their unfused row-wise middle steps and small helpers (loss_rows.cu). Each launcher
// enqueues work on `stream`, never synchronises, and returns the launch status for the JNI layer to map.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

namespace compress {

// Bank element type code shared with Java (LossKernels): 0 = F32, 1 = BF16 (bits stored as uint16).
constexpr int kBankF32 = 0;
constexpr int kBankBF16 = 1;
// Largest Dt / Ds / D the fused kernels handle; above it they return cudaErrorNotSupported.
constexpr int kFusedMaxDim = 256;

// ---- loss_fused.cu -------------------------------------------------------------------------------------
// Workspace bytes compress_loss_fused needs on the current device (the split count depends on the SM count),
// or -1 when the sizes are invalid or unsupported (then *status says why: cudaErrorInvalidValue/NotSupported,
// or the CUDA error of the device query).
int64_t compress_loss_workspace_bytes(int b, int k, int dt, int ds, int bank_type, cudaError_t* status);

// CompRess loss: teacher B x Dt, student B x Ds (F32, rows L2-normalised), banks K x Dt / K x Ds of bank_type.
// teacher_bank == student_bank (with dt == ds) selects the one-bank (1q) kernel that loads the bank once.
// Writes loss_per_query[B], loss_mean[1], grad_student[B x Ds] (F32). Returns cudaErrorInvalidValue when
// workspace_bytes is too small and cudaErrorNotSupported when Dt or Ds > kFusedMaxDim.
cudaError_t compress_loss_fused(const float* teacher, const float* student, const void* teacher_bank,
                                const void* student_bank, int bank_type, int b, int k, int dt, int ds,
                                float inv_tau, float* loss_per_query, float* loss_mean, float* grad_student,
                                void* workspace, size_t workspace_bytes, cudaStream_t stream);

// MoCo v2 InfoNCE: logits_i = [q_i.kpos_i, q_i.bank_j] / tau, cross-entropy with target 0.
int64_t infonce_workspace_bytes(int b, int k, int d, int bank_type, cudaError_t* status);
cudaError_t infonce_fused(const float* q, const float* kpos, const void* bank, int bank_type, int b, int k, int d,
                          float inv_tau, float* loss_per_query, float* loss_mean, float* grad_q, void* workspace,
                          size_t workspace_bytes, cudaStream_t stream);

// ---- loss_rows.cu --------------------------------------------------------------------------------------
// Unfused CompRess middle step: zt, zs are B x K raw dot products. diff = (ps - pt) / (tau B); may alias zs.
cudaError_t compress_loss_rows(const float* zt, const float* zs, int b, int k, float inv_tau, float* loss_per_query,
                               float* diff, cudaStream_t stream);
// Unfused InfoNCE: logits B x (K+1) raw dot products, column 0 the positive. diff may alias logits.
cudaError_t infonce_rows(const float* logits, int b, int k_plus_1, float inv_tau, float* loss_per_query, float* diff,
                         cudaStream_t stream);
// out[0] = mean of x[0..n), summed in a fixed order.
cudaError_t mean_f32(const float* x, int n, float* out, cudaStream_t stream);
// bank row (start + i) % K = keys[i] (F32 -> bank type, BF16 rounds to nearest even); requires b <= k.
cudaError_t bank_enqueue(void* bank, int bank_type, int k, int d, const float* keys, int b, int start,
                         cudaStream_t stream);
// out[0] (int32) = number of NaN/Inf in x[0..n).
cudaError_t count_non_finite(const float* x, int64_t n, int* out, cudaStream_t stream);

}  // namespace compress
