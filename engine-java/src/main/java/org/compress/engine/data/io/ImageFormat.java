// Image formats told apart by their magic bytes, never by the file name: ImageNet holds a PNG named .JPEG.
package org.compress.engine.data.io;

public enum ImageFormat {
    JPEG, PNG, BMP, UNKNOWN;

    public static ImageFormat sniff(byte[] b) {
        if (b.length >= 3 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8 && (b[2] & 0xff) == 0xFF) return JPEG;
        if (b.length >= 8 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G'
                && b[4] == 0x0D && b[5] == 0x0A && b[6] == 0x1A && b[7] == 0x0A) return PNG;
        if (b.length >= 14 && b[0] == 'B' && b[1] == 'M') return BMP;
        return UNKNOWN;
    }

    /** The first bytes in hex, for "not an image" messages. */
    static String head(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Math.min(8, b.length); i++) s.append(String.format("%02x ", b[i] & 0xff));
        return b.length == 0 ? "(empty file)" : s.toString().trim();
    }
}
