// Reads an IDX file (MNIST / Fashion-MNIST format), gzipped or not (told by the gzip magic, not the name).
// Header: two zero bytes, a type code (only 0x08 = unsigned byte is supported), the number of dimensions,
// then one big-endian int32 per dimension; the data must hold exactly the product of the dimensions.
package org.compress.engine.data.io;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.compress.engine.data.DataException;

public record IdxFile(Path path, int[] dims, byte[] data) {
    private static final int UBYTE = 0x08;

    public static IdxFile read(Path path) {
        byte[] bytes = readMaybeGzipped(path);
        if (bytes.length < 4) throw new DataException(path + ": not an IDX file (only " + bytes.length + " bytes)");
        if (bytes[0] != 0 || bytes[1] != 0) {
            throw new DataException(path + ": not an IDX file: expected the magic to start with 00 00, found "
                    + String.format("%02x %02x", bytes[0] & 0xff, bytes[1] & 0xff));
        }
        int type = bytes[2] & 0xff;
        if (type != UBYTE) {
            throw new DataException(path + ": IDX element type 0x" + Integer.toHexString(type)
                    + " is not supported; expected 0x08 (unsigned byte)");
        }
        int rank = bytes[3] & 0xff;
        if (rank < 1 || rank > 4) throw new DataException(path + ": IDX rank must be 1..4, found " + rank);
        int headerBytes = 4 + 4 * rank;
        if (bytes.length < headerBytes) throw new DataException(path + ": IDX header truncated");
        int[] dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++) {
            int p = 4 + 4 * i;
            dims[i] = ((bytes[p] & 0xff) << 24) | ((bytes[p + 1] & 0xff) << 16) | ((bytes[p + 2] & 0xff) << 8) | (bytes[p + 3] & 0xff);
            if (dims[i] < 0) throw new DataException(path + ": IDX dimension " + i + " is negative");
            count *= dims[i];
        }
        long found = bytes.length - (long) headerBytes;
        if (found != count) {
            throw new DataException(path + ": IDX header " + Arrays.toString(dims) + " promises " + count
                    + " bytes of data, found " + found + (found < count ? " (truncated file?)" : " (trailing bytes)"));
        }
        return new IdxFile(path, dims, Arrays.copyOfRange(bytes, headerBytes, bytes.length));
    }

    static byte[] readMaybeGzipped(Path path) {
        try {
            byte[] raw = Files.readAllBytes(path);
            if (raw.length >= 2 && (raw[0] & 0xff) == 0x1f && (raw[1] & 0xff) == 0x8b) {
                try (InputStream in = new GZIPInputStream(new BufferedInputStream(new java.io.ByteArrayInputStream(raw)), 1 << 16)) {
                    ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length * 4);
                    in.transferTo(out);
                    return out.toByteArray();
                }
            }
            return raw;
        } catch (NoSuchFileException e) {
            throw new DataException(path + ": file not found", e);
        } catch (ZipException | java.io.EOFException e) {
            throw new DataException(path + ": corrupt gzip stream (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new DataException(path + ": cannot read (" + e + ")", e);
        }
    }
}
