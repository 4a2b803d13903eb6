// The caching allocator's bucketing, reuse, statistics and out-of-memory path, on a fake device.
package org.compress.engine.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.compress.engine.backend.cuda.CachingAllocator;
import org.compress.engine.backend.cuda.DeviceBuffer;
import org.compress.engine.backend.cuda.DeviceOutOfMemoryException;
import org.compress.engine.backend.cuda.RawDeviceMemory;
import org.compress.engine.tensor.Device;
import org.junit.jupiter.api.Test;

class CachingAllocatorTest {
    /** A device of `capacity` bytes that hands out increasing fake addresses. */
    static final class FakeDevice implements RawDeviceMemory {
        final long capacity;
        long used;
        long next = 0x1000_0000L;
        final Set<Long> live = new HashSet<>();
        final java.util.Map<Long, Long> sizes = new java.util.HashMap<>();

        FakeDevice(long capacity) { this.capacity = capacity; }

        @Override public long allocate(long bytes) {
            if (used + bytes > capacity) return 0;
            long a = next;
            next += bytes;
            used += bytes;
            live.add(a);
            sizes.put(a, bytes);
            return a;
        }

        @Override public void free(long address) {
            assertTrue(live.remove(address), "double free or unknown address");
            used -= sizes.remove(address);
        }

        @Override public long[] memoryInfo() { return new long[] {capacity - used, capacity}; }

        @Override public String deviceName() { return "fake GPU"; }
    }

    @Test void steadyStateReusesBlocksWithoutNewAllocations() {
        FakeDevice dev = new FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator(dev, Device.cuda(0));
        for (int step = 0; step < 10; step++) {
            DeviceBuffer x = a.allocate(1000);
            DeviceBuffer y = a.allocate(3_000_000);
            DeviceBuffer z = a.allocate(3_000_000);
            x.close();
            y.close();
            z.close();
        }
        MemoryStats s = a.stats();
        assertEquals(3, s.rawAllocations(), "only the first step reaches the device");
        assertEquals(0, s.bytesInUse());
        assertEquals(1024 + 2 * (4L << 20), s.peakBytesInUse(), "512 B and 2 MiB rounding");
        assertEquals(s.peakBytesInUse(), s.bytesCached());
        a.close();
        assertEquals(0, dev.used, "close returns the cache to the device");
    }

    @Test void largeRequestsReuseSlightlyLargerBlocksButNotMuchLarger() {
        FakeDevice dev = new FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator(dev, Device.cuda(0));
        a.allocate(10L << 20).close();               // a 10 MiB block is cached
        a.allocate(9L << 20).close();                // 9 MiB -> 10 MiB block is within 25%: reused
        assertEquals(1, a.stats().rawAllocations());
        a.allocate(4L << 20).close();                // 4 MiB would waste 60%: a new block
        assertEquals(2, a.stats().rawAllocations());
    }

    @Test void outOfMemoryReleasesTheCacheRetriesThenSaysRequestedAndFree() {
        FakeDevice dev = new FakeDevice(64L << 20);
        CachingAllocator a = new CachingAllocator(dev, Device.cuda(0));
        a.allocate(40L << 20).close();               // cached, holding 40 of 64 MiB
        DeviceBuffer big = a.allocate(50L << 20);    // only fits after the cache is released
        assertEquals(2, a.stats().rawAllocations());
        assertEquals(1, a.stats().rawFrees());
        var e = assertThrows(DeviceOutOfMemoryException.class, () -> a.allocate(30L << 20));
        assertEquals(30L << 20, e.requestedBytes());
        assertEquals(14L << 20, e.freeBytes());
        assertTrue(e.getMessage().contains("requested 30.0 MiB (31457280 bytes), device has 14.0 MiB free of 64.0 MiB"),
                e.getMessage());
        assertTrue(e.getMessage().contains("cuda:0 (fake GPU)"), e.getMessage());
        big.close();
    }

    @Test void closingTwiceReleasesOnce() {
        FakeDevice dev = new FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator(dev, Device.cuda(0));
        DeviceBuffer b = a.allocate(100);
        b.close();
        b.close();
        assertEquals(0, a.stats().bytesInUse());
        assertThrows(IllegalStateException.class, b::address);
        assertThrows(IllegalArgumentException.class, () -> a.allocate(-1));
    }
}
