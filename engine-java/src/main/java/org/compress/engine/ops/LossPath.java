// How a contrastive loss is computed on the GPU: FUSED (one pass over the anchors, never materialising
// B x K), UNFUSED (cuBLAS GEMM -> row softmax/KL kernel -> GEMM: the correctness baseline), or AUTO
// (fused where the kernel supports the embedding sizes, D <= 256, else unfused). The CPU has one path.
package org.compress.engine.ops;

public enum LossPath { AUTO, FUSED, UNFUSED }
