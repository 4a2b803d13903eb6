// The few JPEG header facts ImageIO does not surface conveniently: component count, progressive or not,
// and the Adobe APP14 transform (0 = CMYK stored inverted, 1 = YCbCr, 2 = YCCK), which decides how a
// 4-component JPEG becomes RGB.
package org.compress.engine.data.io;

import org.compress.engine.data.CorruptSampleException;

record JpegHeader(int components, boolean progressive, int adobeTransform, int width, int height) {
    static final int NO_ADOBE = -1;

    /** Walks the marker segments up to the first SOS. */
    static JpegHeader parse(byte[] b, String source) {
        int components = -1, width = 0, height = 0, adobe = NO_ADOBE;
        boolean progressive = false;
        int p = 2;
        while (true) {
            if (p + 4 > b.length) throw new CorruptSampleException(source, "truncated JPEG header (no start-of-scan marker)");
            if ((b[p] & 0xff) != 0xFF) throw new CorruptSampleException(source, "bad JPEG marker at byte " + p);
            while (p < b.length && (b[p] & 0xff) == 0xFF) p++;
            if (p + 3 > b.length) throw new CorruptSampleException(source, "truncated JPEG header");
            int marker = b[p++] & 0xff;
            if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
            int length = ((b[p] & 0xff) << 8) | (b[p + 1] & 0xff);
            int seg = p + 2;
            if (length < 2 || p + length > b.length) throw new CorruptSampleException(source, "truncated JPEG segment 0x" + Integer.toHexString(marker));
            if (marker == 0xDA) break;
            if (marker == 0xEE && length >= 14 && b[seg] == 'A' && b[seg + 1] == 'd' && b[seg + 2] == 'o'
                    && b[seg + 3] == 'b' && b[seg + 4] == 'e') {
                adobe = b[seg + 11] & 0xff;
            }
            boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (sof && length >= 8) {
                height = ((b[seg + 1] & 0xff) << 8) | (b[seg + 2] & 0xff);
                width = ((b[seg + 3] & 0xff) << 8) | (b[seg + 4] & 0xff);
                components = b[seg + 5] & 0xff;
                progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE;
            }
            p += length;
        }
        if (components < 0) throw new CorruptSampleException(source, "JPEG without a frame header (SOF)");
        return new JpegHeader(components, progressive, adobe, width, height);
    }
}
