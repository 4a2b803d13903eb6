// CPU ring-buffer enqueue: row (start + i) % K of the bank = keys[i], rounded to the bank's dtype.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.MemoryBankOp;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class CpuMemoryBank implements MemoryBankOp {
    @Override public void enqueue(Tensor bank, Tensor keys, int start) {
        MemoryBankOp.check(bank, keys, start);
        int k = bank.dim(0), d = bank.dim(1), b = keys.dim(0);
        float[] src = keys.cpuStorage().f32();
        int so = (int) keys.offset(), bo = (int) bank.offset();
        for (int i = 0; i < b; i++) {
            int row = (start + i) % k;
            for (int c = 0; c < d; c++) {
                float v = src[so + i * d + c];
                if (bank.dtype() == DType.F32) bank.cpuStorage().f32()[bo + row * d + c] = v;
                else bank.cpuStorage().u16()[bo + row * d + c] = BFloat16.fromFloat(v);
            }
        }
    }
}
