// Physical order of a 4-d tensor whose logical shape is always (N, C, H, W): CONTIGUOUS stores NCHW,
// CHANNELS_LAST stores NHWC (cuDNN's fast tensor-core path). Other ranks are always CONTIGUOUS.
package org.compress.engine.tensor;

public enum MemoryFormat { CONTIGUOUS, CHANNELS_LAST }
