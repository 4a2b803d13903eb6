// Rendezvous: the launchers' environments are read as PyTorch reads them, and a bad setup (port in use, wrong
// address, nobody listening, bad variables, a world size > 1 without a store) fails at once with a clear message.
package org.compress.engine.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RendezvousTest {
    @Test void torchrunSlurmAndMpiEnvironments() {
        DistEnv t = DistEnv.from(Map.of("RANK", "3", "WORLD_SIZE", "8", "LOCAL_RANK", "1", "LOCAL_WORLD_SIZE", "4", "MASTER_ADDR", "node0",
                "MASTER_PORT", "1234"));
        assertEquals(3, t.rank());
        assertEquals(8, t.worldSize());
        assertEquals(1, t.localRank());
        assertEquals("node0:1234", t.masterAddr() + ":" + t.masterPort());
        assertEquals("cuda:1", t.backendFor("cuda"));
        assertEquals("cpu", t.backendFor("cpu"));

        DistEnv s = DistEnv.from(Map.of("SLURM_PROCID", "5", "SLURM_NTASKS", "8", "SLURM_LOCALID", "1", "SLURM_NNODES", "2",
                "SLURM_NTASKS_PER_NODE", "4(x2)", "MASTER_ADDR", "n1"));
        assertEquals(5, s.rank());
        assertEquals(4, s.localWorldSize());
        assertEquals(DistEnv.DEFAULT_PORT, s.masterPort());

        DistEnv m = DistEnv.from(Map.of("OMPI_COMM_WORLD_RANK", "1", "OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_RANK", "1",
                "OMPI_COMM_WORLD_LOCAL_SIZE", "2"));
        assertEquals("127.0.0.1", m.masterAddr(), "one machine: MASTER_ADDR may be omitted");

        assertEquals(1, DistEnv.from(Map.of()).worldSize());
        DistException e = assertThrows(DistException.class, () -> DistEnv.from(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "8", "SLURM_NNODES", "2")));
        assertTrue(e.getMessage().contains("MASTER_ADDR is not set and the job spans several machines"), e.getMessage());
        e = assertThrows(DistException.class, () -> DistEnv.from(Map.of("RANK", "2", "WORLD_SIZE", "2")));
        assertTrue(e.getMessage().contains("rank 2, world size 2"), e.getMessage());
        e = assertThrows(DistException.class, () -> DistEnv.from(Map.of("RANK", "x", "WORLD_SIZE", "2")));
        assertTrue(e.getMessage().contains("expected an integer in RANK, found 'x'"), e.getMessage());
        assertTrue(DistEnv.from(Map.of("RANK", "0", "WORLD_SIZE", "2", "COMPRESS_SYNC_BN", "1")).syncBatchNorm());
    }

    @Test void aGlobalBatchThatDoesNotSplitEvenlyIsRefused() throws Exception {
        var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> InProcessRanks.run(5, (dist, cpu) ->
                dist.shard(org.compress.engine.data.loader.LoaderConfig.of(48))));
        assertTrue(e.getCause().getMessage().contains("must be a multiple of the world size: found batch 48 on 5 ranks"), e.getCause().getMessage());
    }

    @Test void aPortInUseIsNamed() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            DistException e = assertThrows(DistException.class, () -> TcpStore.open("127.0.0.1", taken.getLocalPort(), 0, Duration.ofSeconds(2)));
            assertTrue(e.getMessage().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": the port is in use"), e.getMessage());
        }
    }

    @Test void aWrongAddressOrNobodyListeningIsNamedWithinTheTimeout() throws Exception {
        DistException e = assertThrows(DistException.class, () -> TcpStore.open("no-such-host.invalid", 29500, 1, Duration.ofSeconds(2)));
        assertTrue(e.getMessage().contains("MASTER_ADDR 'no-such-host.invalid' does not resolve"), e.getMessage());
        int port = InProcessRanks.freePort();
        long start = System.nanoTime();
        e = assertThrows(DistException.class, () -> TcpStore.open("127.0.0.1", port, 1, Duration.ofSeconds(2)));
        double s = (System.nanoTime() - start) / 1e9;
        assertTrue(e.getMessage().contains("rank 1 could not reach rank 0's store at 127.0.0.1:" + port + " within 2 s"), e.getMessage());
        assertTrue(s >= 1.9 && s < 10, "gave up after the 2 s timeout: " + s);
    }

    @Test void storesShareValuesAndNameMissingKeys(@TempDir Path dir) throws Exception {
        int port = InProcessRanks.freePort();
        try (TcpStore master = TcpStore.open("127.0.0.1", port, 0, Duration.ofSeconds(5));
             TcpStore other = TcpStore.open("127.0.0.1", port, 1, Duration.ofSeconds(1))) {
            master.set("a", "x".getBytes(StandardCharsets.UTF_8));
            assertEquals("x", new String(other.get("a"), StandardCharsets.UTF_8));
            DistException e = assertThrows(DistException.class, () -> other.get("never"));
            assertTrue(e.getMessage().contains("key 'never' did not appear"), e.getMessage());
            assertTrue(master.deadRanks().isEmpty());
        }
        try (FileStore a = new FileStore(dir, Duration.ofMillis(300)); FileStore b = new FileStore(dir, Duration.ofMillis(300))) {
            a.set("gloo/rank0", new byte[] {1, 2});
            assertEquals(2, b.get("gloo/rank0").length);
            assertThrows(DistException.class, () -> b.get("missing"));
            // key files keep the umask's permissions (ranks of one group may run as other users), not 0600
            java.nio.file.Path plain = java.nio.file.Files.write(dir.resolve("plain"), new byte[1]);
            try (var keys = java.nio.file.Files.list(dir)) {
                for (java.nio.file.Path key : keys.filter(p -> !p.equals(plain)).toList()) {
                    assertEquals(java.nio.file.Files.getPosixFilePermissions(plain), java.nio.file.Files.getPosixFilePermissions(key), key.toString());
                }
            }
        }
    }

    @Test void aRankThatLeavesWithoutFinishingIsListedDead() throws Exception {
        int port = InProcessRanks.freePort();
        try (TcpStore master = TcpStore.open("127.0.0.1", port, 0, Duration.ofSeconds(5))) {
            TcpStore.open("127.0.0.1", port, 2, Duration.ofSeconds(5)).close(false);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (master.deadRanks().isEmpty() && System.nanoTime() < deadline) Thread.sleep(20);
            assertEquals(java.util.Set.of(2), master.deadRanks());
            TcpStore.open("127.0.0.1", port, 1, Duration.ofSeconds(5)).close(true);
            Thread.sleep(200);
            assertEquals(java.util.Set.of(2), master.deadRanks(), "a clean close is not a death");
        }
    }
}
