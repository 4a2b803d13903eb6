// Key-value store over TCP (torch.distributed.TCPStore's role): rank 0 runs the server on MASTER_PORT, every rank
// (rank 0 included) is a client. One connection per rank stays open for the whole job, so the server also knows
// which rank died: a connection that drops without a BYE marks that rank dead ("dead ranks" in error messages).
// Protocol (DataInput/Output): HELLO rank | SET key bytes | GET key waitMillis -> found bytes | DEAD -> ranks |
// JOINED -> ranks | BYE. A blocking get() waits in short slices and stops as soon as a rank has died (a rendezvous
// cannot complete without it), naming it; a timeout names the rank whose key is missing when it never joined.
package org.compress.engine.dist;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

public final class TcpStore implements Store {
    private static final byte HELLO = 1, SET = 2, GET = 3, DEAD = 4, BYE = 5, JOINED = 6;
    /** How long one slice of a blocking get() waits before it checks for dead ranks. */
    private static final long SLICE_MILLIS = 250;

    private final Server server;   // rank 0 only
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final Duration timeout;
    private final String where;
    private boolean closed;

    private TcpStore(Server server, Socket socket, Duration timeout, String where) throws IOException {
        this.server = server;
        this.socket = socket;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
        this.timeout = timeout;
        this.where = where;
    }

    /** Rank 0 starts the server on (addr, port) and every rank connects, retrying until the timeout. */
    public static TcpStore open(String addr, int port, int rank, Duration timeout) {
        String where = addr + ":" + port;
        InetAddress host;
        try {
            host = InetAddress.getByName(addr);
        } catch (UnknownHostException e) {
            throw new DistException("store: MASTER_ADDR '" + addr + "' does not resolve to an address (" + e.getMessage() + ")");
        }
        Server server = null;
        if (rank == 0) server = Server.start(host, port, where);
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress(host, port), (int) Math.min(timeout.toMillis(), 5_000));
                s.setTcpNoDelay(true);
                TcpStore store = new TcpStore(server, s, timeout, where);
                store.out.writeByte(HELLO);
                store.out.writeInt(rank);
                store.out.flush();
                return store;
            } catch (IOException e) {
                last = e;
                closeQuietly(s);
                if (!(e instanceof ConnectException || e instanceof SocketTimeoutException)) break;
                sleep(100);
            }
        }
        if (server != null) server.close();
        throw new DistException("store: rank " + rank + " could not reach rank 0's store at " + where + " within " + timeout.toSeconds()
                + " s (" + last + "); check MASTER_ADDR/MASTER_PORT and that rank 0 started");
    }

    @Override public synchronized void set(String key, byte[] value) {
        try {
            out.writeByte(SET);
            out.writeUTF(key);
            out.writeInt(value.length);
            out.write(value);
            out.flush();
            if (in.readByte() != SET) throw new IOException("protocol error");
        } catch (IOException e) {
            throw unreachable("set '" + key + "'", e);
        }
    }

    @Override public byte[] get(String key) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            byte[] v = tryGet(key, Duration.ofMillis(Math.max(0, Math.min(left, SLICE_MILLIS))));
            if (v != null) return v;
            Set<Integer> dead = deadRanks();
            if (!dead.isEmpty()) {
                throw new DistException("store: " + ranks(dead) + " exited or died while the others waited for '" + key + "' at " + where
                        + " (during the rendezvous)");
            }
            if (left <= 0) break;
        }
        Set<Integer> joined = joinedRanks();
        Integer owner = ownerRank(key);
        String who = owner != null && !joined.contains(owner) ? "rank " + owner + " never joined the store"
                : "the rank that publishes it did not get that far";
        throw new DistException("store: key '" + key + "' did not appear in " + where + " within " + timeout.toSeconds() + " s: " + who
                + " (joined: ranks " + joined + "); a rank did not start, or stopped or hung before the rendezvous");
    }

    /** The rank a rendezvous key belongs to, when it ends in "/RANK" (Gloo's and NCCL's keys), else null. */
    static Integer ownerRank(String key) {
        int slash = key.lastIndexOf('/');
        try {
            return slash < 0 ? null : Integer.valueOf(key.substring(slash + 1));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String ranks(Set<Integer> r) { return r.size() == 1 ? "rank " + r.iterator().next() : "ranks " + r; }

    @Override public synchronized byte[] tryGet(String key, Duration wait) {
        try {
            out.writeByte(GET);
            out.writeUTF(key);
            out.writeLong(wait.toMillis());
            out.flush();
            if (!in.readBoolean()) return null;
            byte[] v = new byte[in.readInt()];
            in.readFully(v);
            return v;
        } catch (IOException e) {
            throw unreachable("get '" + key + "'", e);
        }
    }

    @Override public Set<Integer> deadRanks() { return rankList(DEAD, "list dead ranks"); }

    /** The ranks that have connected to the store so far (dead ones included). */
    public Set<Integer> joinedRanks() { return rankList(JOINED, "list joined ranks"); }

    private synchronized Set<Integer> rankList(byte op, String what) {
        try {
            out.writeByte(op);
            out.flush();
            int n = in.readInt();
            Set<Integer> ranks = new TreeSet<>();
            for (int i = 0; i < n; i++) ranks.add(in.readInt());
            return ranks;
        } catch (IOException e) {
            throw unreachable(what, e);
        }
    }

    private DistException unreachable(String what, IOException e) {
        return new DistException("store: rank 0's store at " + where + " is unreachable (" + what + ": " + e
                + "); rank 0 died or closed the job", e);
    }

    /** Closes this rank's connection cleanly (not counted as a death); rank 0 then stops the server. */
    @Override public void close() { close(true); }

    /** clean = false: leave as a failed rank does (the server then lists this rank among the dead). */
    public synchronized void close(boolean clean) {
        if (closed) return;
        closed = true;
        if (clean) {
            try {
                out.writeByte(BYE);
                out.flush();
            } catch (IOException ignored) {
                // the server is gone already
            }
        }
        closeQuietly(socket);
        if (server != null) server.close();
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistException("store: interrupted while connecting");
        }
    }

    /** The server: a daemon thread per connection; values and dead ranks under one monitor. */
    private static final class Server implements AutoCloseable {
        private final ServerSocket socket;
        private final Map<String, byte[]> values = new HashMap<>();
        private final Set<Integer> dead = new TreeSet<>();
        private final Set<Integer> joined = new TreeSet<>();
        private volatile boolean closing;

        private Server(ServerSocket socket) { this.socket = socket; }

        static Server start(InetAddress host, int port, String where) {
            ServerSocket ss = null;
            try {
                ss = new ServerSocket();
                ss.setReuseAddress(true);
                // a loopback MASTER_ADDR keeps the store private to this machine; otherwise listen on every interface
                ss.bind(host.isLoopbackAddress() ? new InetSocketAddress(host, port) : new InetSocketAddress(port), 128);
            } catch (BindException e) {
                if (ss != null) closeQuietly(ss);
                throw new DistException("store: rank 0 cannot listen on " + where + ": the port is in use (another job?) or the address"
                        + " is not this machine's (" + e.getMessage() + "); choose another MASTER_PORT");
            } catch (IOException e) {
                if (ss != null) closeQuietly(ss);
                throw new DistException("store: rank 0 cannot listen on " + where + ": " + e, e);
            }
            Server server = new Server(ss);
            Thread t = new Thread(server::accept, "compress-store-accept");
            t.setDaemon(true);
            t.start();
            return server;
        }

        private void accept() {
            while (!closing) {
                try {
                    Socket s = socket.accept();
                    s.setTcpNoDelay(true);
                    Thread t = new Thread(() -> serve(s), "compress-store-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    if (closing) return;
                }
            }
        }

        private void serve(Socket s) {
            int rank = -1;
            boolean bye = false;
            try (s; DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
                 DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()))) {
                while (true) {
                    byte op = in.readByte();
                    switch (op) {
                        case HELLO -> {
                            rank = in.readInt();
                            synchronized (this) { joined.add(rank); }
                        }
                        case SET -> {
                            String key = in.readUTF();
                            byte[] v = new byte[in.readInt()];
                            in.readFully(v);
                            synchronized (this) {
                                values.put(key, v);
                                notifyAll();
                            }
                            out.writeByte(SET);
                        }
                        case GET -> {
                            String key = in.readUTF();
                            long deadline = System.nanoTime() + in.readLong() * 1_000_000L;
                            byte[] v;
                            synchronized (this) {
                                while ((v = values.get(key)) == null && !closing) {
                                    long left = (deadline - System.nanoTime()) / 1_000_000L;
                                    if (left <= 0) break;
                                    wait(left);
                                }
                            }
                            out.writeBoolean(v != null);
                            if (v != null) {
                                out.writeInt(v.length);
                                out.write(v);
                            }
                        }
                        case DEAD, JOINED -> {
                            Integer[] d;
                            synchronized (this) { d = (op == DEAD ? dead : joined).toArray(new Integer[0]); }
                            out.writeInt(d.length);
                            for (int r : d) out.writeInt(r);
                        }
                        case BYE -> {
                            bye = true;
                            return;
                        }
                        default -> throw new IOException("store protocol: unknown request " + op);
                    }
                    out.flush();
                }
            } catch (EOFException | java.net.SocketException e) {
                // the peer went away: handled below
            } catch (IOException e) {
                // as above
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                if (!bye && rank >= 0 && !closing) {
                    synchronized (this) {
                        dead.add(rank);
                        notifyAll();
                    }
                }
            }
        }

        @Override public void close() {
            closing = true;
            synchronized (this) { notifyAll(); }
            closeQuietly(socket);
        }
    }
}
