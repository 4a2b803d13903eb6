// Public view of a JPEG's frame header for code outside this package (the GPU data path routes images by it):
// size, component count, progressive or not, and the Adobe transform that marks CMYK / YCCK files.
package org.compress.engine.data.io;

public record JpegInfo(int width, int height, int components, boolean progressive, int adobeTransform) {
    /** Parses the marker segments up to the first SOS; throws CorruptSampleException naming {@code source}. */
    public static JpegInfo read(byte[] bytes, String source) {
        JpegHeader h = JpegHeader.parse(bytes, source);
        return new JpegInfo(h.width(), h.height(), h.components(), h.progressive(), h.adobeTransform());
    }
}
