// Where this process sits in a distributed job, read from the environment the usual launchers set:
//   torchrun / `compress launch`: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT
//   Slurm (srun):                 SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE / SLURM_NNODES
//   Open MPI (mpirun):            OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE
// MASTER_ADDR / MASTER_PORT (default 29500, as PyTorch) locate rank 0's key-value store under every launcher;
// MASTER_ADDR may be omitted when all ranks are on one machine (127.0.0.1). COMPRESS_STORE_FILE names a shared
// file store instead; COMPRESS_DIST_TIMEOUT (seconds, default 300) bounds every wait; GLOO_SOCKET_IFNAME picks
// the network interface Gloo uses, as in PyTorch; COMPRESS_SYNC_BN=1 synchronises batch norm across ranks.
package org.compress.engine.dist;

import java.time.Duration;
import java.util.Map;

public record DistEnv(int rank, int worldSize, int localRank, int localWorldSize, String masterAddr, int masterPort,
                      String storeFile, Duration timeout, String socketInterface, String launcher, boolean syncBatchNorm) {
    public static final int DEFAULT_PORT = 29500;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(300);

    public DistEnv {
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new DistException(launcher + ": expected 0 <= rank < world size, found rank " + rank + ", world size " + worldSize);
        }
        if (localRank < 0 || localWorldSize < 1 || localRank >= localWorldSize) {
            throw new DistException(launcher + ": expected 0 <= local rank < local world size, found " + localRank + ", " + localWorldSize);
        }
        if (masterPort < 1 || masterPort > 65535) throw new DistException("MASTER_PORT: expected 1..65535, found " + masterPort);
        if (timeout.isNegative() || timeout.isZero()) throw new DistException("COMPRESS_DIST_TIMEOUT: expected > 0 s, found " + timeout);
    }

    /** One process, nothing to rendezvous with. */
    public static DistEnv single() {
        return new DistEnv(0, 1, 0, 1, "127.0.0.1", DEFAULT_PORT, null, DEFAULT_TIMEOUT, "", "single process", false);
    }

    public static DistEnv fromEnvironment() { return from(System.getenv()); }

    /** Reads the first launcher whose variables are present (torchrun, then Open MPI, then Slurm); none: one process. */
    public static DistEnv from(Map<String, String> env) {
        String launcher;
        int rank, size, localRank, localSize;
        boolean singleNode;
        if (env.containsKey("RANK") || env.containsKey("WORLD_SIZE")) {
            launcher = "torchrun-style environment (RANK, WORLD_SIZE)";
            rank = intVar(env, "RANK", null);
            size = intVar(env, "WORLD_SIZE", null);
            localRank = intVar(env, "LOCAL_RANK", env.containsKey("LOCAL_WORLD_SIZE") ? null : rank);
            localSize = intVar(env, "LOCAL_WORLD_SIZE", size);   // unknown: as if every rank were on this machine
            singleNode = localSize == size;
        } else if (env.containsKey("OMPI_COMM_WORLD_RANK")) {
            launcher = "mpirun (OMPI_COMM_WORLD_*)";
            rank = intVar(env, "OMPI_COMM_WORLD_RANK", null);
            size = intVar(env, "OMPI_COMM_WORLD_SIZE", null);
            localRank = intVar(env, "OMPI_COMM_WORLD_LOCAL_RANK", rank);
            localSize = intVar(env, "OMPI_COMM_WORLD_LOCAL_SIZE", size);
            singleNode = localSize == size;
        } else if (env.containsKey("SLURM_PROCID")) {
            launcher = "srun (SLURM_PROCID, SLURM_NTASKS)";
            rank = intVar(env, "SLURM_PROCID", null);
            size = intVar(env, "SLURM_NTASKS", null);
            localRank = intVar(env, "SLURM_LOCALID", rank);
            int nodes = intVar(env, "SLURM_NNODES", 1);
            singleNode = nodes == 1;
            localSize = singleNode ? size : leadingInt(env.getOrDefault("SLURM_NTASKS_PER_NODE", ""), size / nodes);
        } else {
            return single().withOverrides(env);
        }
        String addr = env.get("MASTER_ADDR");
        if ((addr == null || addr.isBlank()) && size > 1 && !env.containsKey("COMPRESS_STORE_FILE")) {
            if (!singleNode) {
                throw new DistException(launcher + ": MASTER_ADDR is not set and the job spans several machines; set it to rank 0's host"
                        + " (under Slurm: export MASTER_ADDR=$(scontrol show hostnames $SLURM_JOB_NODELIST | head -n 1))");
            }
            addr = "127.0.0.1";
        }
        DistEnv base = new DistEnv(rank, size, localRank, Math.max(localSize, localRank + 1), addr == null || addr.isBlank() ? "127.0.0.1" : addr,
                intVar(env, "MASTER_PORT", DEFAULT_PORT), null, DEFAULT_TIMEOUT, "", launcher, false);
        return base.withOverrides(env);
    }

    private DistEnv withOverrides(Map<String, String> env) {
        String file = env.get("COMPRESS_STORE_FILE");
        int seconds = intVar(env, "COMPRESS_DIST_TIMEOUT", (int) timeout.toSeconds());
        String iface = env.getOrDefault("GLOO_SOCKET_IFNAME", socketInterface);
        String sync = env.getOrDefault("COMPRESS_SYNC_BN", "0").trim();
        if (!sync.matches("0|1|true|false")) throw new DistException("COMPRESS_SYNC_BN: expected 0, 1, true or false, found '" + sync + "'");
        return new DistEnv(rank, worldSize, localRank, localWorldSize, masterAddr, masterPort, file == null || file.isBlank() ? null : file,
                Duration.ofSeconds(seconds), iface, launcher, sync.equals("1") || sync.equals("true"));
    }

    public boolean isDistributed() { return worldSize > 1; }

    public boolean isMaster() { return rank == 0; }

    /**
     * The backend to use: with several ranks on a machine, "cuda" and "auto" become cuda:LOCAL_RANK (one GPU per process,
     * as torchrun users expect); an explicit cuda:N or cpu is kept.
     */
    public String backendFor(String requested) {
        if (localWorldSize <= 1 && worldSize <= 1) return requested;
        if (requested.equals("cuda")) return "cuda:" + localRank;
        if (requested.equals("auto")) {
            return org.compress.engine.backend.cuda.CudaProbe.probe().available() ? "cuda:" + localRank : "cpu";
        }
        return requested;
    }

    @Override public String toString() {
        return "rank " + rank + "/" + worldSize + " (local " + localRank + "/" + localWorldSize + ", " + launcher + ", store "
                + (storeFile != null ? "file " + storeFile : masterAddr + ":" + masterPort) + ")";
    }

    private static int intVar(Map<String, String> env, String name, Integer fallback) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            if (fallback == null) throw new DistException("environment: " + name + " is required by this launcher but not set");
            return fallback;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new DistException("environment: expected an integer in " + name + ", found '" + v + "'");
        }
    }

    /** Slurm writes tasks per node as "4" or "4(x2)"; the leading count is what each node runs. */
    private static int leadingInt(String v, int fallback) {
        int i = 0;
        while (i < v.length() && Character.isDigit(v.charAt(i))) i++;
        return i == 0 ? fallback : Integer.parseInt(v.substring(0, i));
    }
}
