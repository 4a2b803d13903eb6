// A pickle interpreter for what torch.save writes (binary protocols 2-5): it builds plain Java containers and
// tensors only. It never imports or calls anything: GLOBAL names are looked up in a fixed table of markers
// (OrderedDict, tensor/parameter rebuild, storage types, argparse.Namespace) and any other name is refused.
package org.compress.engine.io;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class TorchUnpickler {
    /** Supplies the bytes of archive/data/&lt;key&gt;, checked to hold at least numel elements of the type. */
    interface StorageSource {
        ByteBuffer bytes(String key, StorageType type, long numel);
    }

    /** torch.&lt;Name&gt;Storage: the element type of a persistent storage; dtype null where the engine has none. */
    record StorageType(String name, DType dtype, int elementBytes) {}

    /** The persistent id torch.save writes for a storage: ('storage', type, key, location, numel). */
    private record StorageRef(StorageType type, String key, String location, long numel) {}

    private enum Callable { ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE, NAMESPACE }

    private static final Map<String, Object> GLOBALS = new HashMap<>();

    static {
        GLOBALS.put("collections.OrderedDict", Callable.ORDERED_DICT);
        GLOBALS.put("torch._utils._rebuild_tensor_v2", Callable.REBUILD_TENSOR_V2);
        GLOBALS.put("torch._utils._rebuild_parameter", Callable.REBUILD_PARAMETER);
        GLOBALS.put("torch._utils._rebuild_parameter_with_state", Callable.REBUILD_PARAMETER_WITH_STATE);
        // Official CompRess checkpoints hold their argparse options under 'opt'; rebuilt as a plain attribute map.
        GLOBALS.put("argparse.Namespace", Callable.NAMESPACE);
        storage("FloatStorage", DType.F32, 4);
        storage("BFloat16Storage", DType.BF16, 2);
        storage("HalfStorage", DType.F16, 2);
        storage("LongStorage", DType.I64, 8);
        storage("IntStorage", DType.I32, 4);
        storage("ByteStorage", DType.U8, 1);
        storage("BoolStorage", DType.U8, 1);   // one byte per bool, 0 or 1: read as U8
        // Known types without an engine dtype: they load as UnsupportedTensor placeholders and fail only if used.
        storage("DoubleStorage", null, 8);
        storage("ShortStorage", null, 2);
        storage("CharStorage", null, 1);
        storage("ComplexFloatStorage", null, 8);
        storage("ComplexDoubleStorage", null, 16);
    }

    private static void storage(String name, DType dtype, int bytes) {
        GLOBALS.put("torch." + name, new StorageType("torch." + name, dtype, bytes));
    }

    private static final Object MARK = new Object() {
        @Override public String toString() { return "MARK"; }
    };

    private final ByteBuffer in;
    private final String source;
    private final StorageSource storages;
    private final List<Object> stack = new ArrayList<>();
    private final Deque<Integer> marks = new ArrayDeque<>();
    private final Map<Long, Object> memo = new HashMap<>();
    /** Objects a BUILD may target: OrderedDicts (attributes such as _metadata are dropped) and Namespaces. */
    private final Set<Object> orderedDicts = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<Object> namespaces = Collections.newSetFromMap(new IdentityHashMap<>());
    /** Every storage the pickle referenced, by key. */
    private final Map<String, StorageType> storageTypes = new HashMap<>();

    TorchUnpickler(byte[] pickle, String source, StorageSource storages) {
        this(ByteBuffer.wrap(pickle), source, storages);
    }

    /**
     * Reads one pickle starting at {@code in}'s position (the legacy format holds several back to back); after
     * load() the buffer's position is just past its STOP. storages null: tensors come back as {@link PendingTensor}s
     * (the legacy format stores the storages after the pickle), to be filled in by {@link #resolve}.
     */
    TorchUnpickler(ByteBuffer in, String source, StorageSource storages) {
        this.in = in.order(ByteOrder.LITTLE_ENDIAN);
        this.source = source;
        this.storages = storages;
    }

    /** A tensor whose storage bytes come later in the file: storage key and type, and the view on the storage. */
    record PendingTensor(StorageType type, String key, long numel, int[] shape, long[] stride, long offset) {}

    /** The type of a storage the pickle referenced (after load), or null. */
    StorageType storageType(String key) { return storageTypes.get(key); }

    /** Keys of the storages a pending tensor needs, with their types and element counts, in first-use order. */
    static Map<String, PendingTensor> pendingStorages(Object root) {
        Map<String, PendingTensor> out = new LinkedHashMap<>();
        walk(root, Collections.newSetFromMap(new IdentityHashMap<>()), o -> {
            if (o instanceof PendingTensor p) out.putIfAbsent(p.key(), p);
            return o;
        });
        return out;
    }

    /** Replaces every PendingTensor in the object graph by the tensor read from {@code storages}; returns the new root. */
    static Object resolve(Object root, StorageSource storages) {
        return walk(root, Collections.newSetFromMap(new IdentityHashMap<>()), o -> o instanceof PendingTensor p
                ? TensorBytes.gather(storages.bytes(p.key(), p.type(), p.numel()), p.type().dtype(), p.shape(), p.stride(), p.offset())
                : o);
    }

    @SuppressWarnings("unchecked")
    private static Object walk(Object o, Set<Object> seen, java.util.function.UnaryOperator<Object> leaf) {
        if (o instanceof Map<?, ?> m) {
            if (seen.add(m)) ((Map<Object, Object>) m).replaceAll((k, v) -> walk(v, seen, leaf));
            return m;
        }
        if (o instanceof ArrayList<?> l) {
            if (seen.add(l)) ((List<Object>) l).replaceAll(v -> walk(v, seen, leaf));
            return l;
        }
        if (o instanceof List<?> tuple) { // unmodifiable: rebuilt
            List<Object> items = new ArrayList<>();
            for (Object v : tuple) items.add(walk(v, seen, leaf));
            return Collections.unmodifiableList(items);
        }
        return leaf.apply(o);
    }

    /** Names the reader accepts in a GLOBAL, for error messages and documentation. */
    static Set<String> allowedGlobals() { return new TreeSet<>(GLOBALS.keySet()); }

    Object load() {
        while (true) {
            int at = in.position();
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = u8();
                    if (proto < 2 || proto > 5) throw fail(at, "pickle protocol " + proto + " (expected 2 to 5)");
                }
                case 0x95 -> bytes(8); // FRAME: a length hint only
                case '.' -> { // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) {
                        throw fail(at, "STOP with " + stack.size() + " values and " + marks.size() + " marks on the stack (malformed pickle)");
                    }
                    return stack.get(0);
                }
                case '(' -> { marks.push(stack.size()); stack.add(MARK); }
                case '0' -> pop(at);
                case '1' -> popMark(at);
                case '2' -> push(peek(at));
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) in.getInt(need(4)));
                case 'K' -> push((long) u8());
                case 'M' -> push((long) (in.getShort(need(2)) & 0xffff));
                case 0x8a -> push(longOf(bytes(u8())));
                case 0x8b -> push(longOf(bytes(length(in.getInt(need(4)), at))));
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong(need(8))))); // big-endian double
                case 'X' -> push(utf8(length(in.getInt(need(4)), at)));
                case 0x8c -> push(utf8(u8()));
                case 0x8d -> push(utf8(length(in.getLong(need(8)), at)));
                case 'T' -> push(latin1(length(in.getInt(need(4)), at)));
                case 'U' -> push(latin1(u8()));
                case 'B' -> push(bytes(length(in.getInt(need(4)), at)));
                case 'C' -> push(bytes(u8()));
                case 0x8e -> push(bytes(length(in.getLong(need(8)), at)));
                case '}' -> push(new LinkedHashMap<Object, Object>());
                case ']' -> push(new ArrayList<Object>());
                case ')' -> push(tuple(List.of()));
                case 'd' -> {
                    List<Object> items = popMark(at);
                    Map<Object, Object> d = new LinkedHashMap<>();
                    putPairs(at, d, items);
                    push(d);
                }
                case 'l' -> push(new ArrayList<>(popMark(at)));
                case 't' -> push(tuple(popMark(at)));
                case 0x85 -> push(tuple(List.of(pop(at))));
                case 0x86 -> { Object b = pop(at), a = pop(at); push(tuple(Arrays.asList(a, b))); }
                case 0x87 -> { Object c = pop(at), b = pop(at), a = pop(at); push(tuple(Arrays.asList(a, b, c))); }
                case 'a' -> { Object v = pop(at); listAt(at, peek(at)).add(v); }
                case 'e' -> { List<Object> items = popMark(at); listAt(at, peek(at)).addAll(items); }
                case 's' -> { Object v = pop(at), k = pop(at); dictAt(at, peek(at)).put(k, v); }
                case 'u' -> { List<Object> items = popMark(at); putPairs(at, dictAt(at, peek(at)), items); }
                case 'q' -> memo.put((long) u8(), peek(at));
                case 'r' -> memo.put(in.getInt(need(4)) & 0xffffffffL, peek(at));
                case 0x94 -> memo.put((long) memo.size(), peek(at));
                case 'h' -> push(memoGet(at, u8()));
                case 'j' -> push(memoGet(at, in.getInt(need(4)) & 0xffffffffL));
                case 'c' -> push(global(at, line(at), line(at)));
                case 0x93 -> { Object name = pop(at), module = pop(at); push(global(at, stringAt(at, module), stringAt(at, name))); }
                case 'Q' -> push(persistentLoad(at, pop(at)));
                case 'R' -> { Object args = pop(at), fn = pop(at); push(reduce(at, fn, args)); }
                case 0x81 -> { Object args = pop(at), cls = pop(at); push(newObject(at, cls, args)); }
                case 'b' -> { Object state = pop(at); build(at, peek(at), state); }
                default -> throw fail(at, String.format("unsupported pickle opcode 0x%02x%s: torch.save does not write it for state dicts"
                        + " (is this a PyTorch checkpoint?)", op, op >= 0x20 && op < 0x7f ? " ('" + (char) op + "')" : ""));
            }
        }
    }

    private Object global(int at, String module, String name) {
        Object g = GLOBALS.get(module + "." + name);
        if (g == null) {
            throw new CheckpointException(source + ": refusing pickle GLOBAL '" + module + "." + name + "' (at byte " + at
                    + "): the engine only builds tensors and plain containers and never runs code from a checkpoint;"
                    + " allowed: " + String.join(", ", allowedGlobals()) + ". Re-save the file with only tensors, numbers,"
                    + " strings, lists and dicts (e.g. torch.save({'state_dict': model.state_dict()}, f)).");
        }
        return g;
    }

    private Object persistentLoad(int at, Object pid) {
        // zip format: ('storage', type, key, location, numel); legacy format: the same plus view_metadata (None)
        if (!(pid instanceof List<?> t) || t.size() < 5 || t.size() > 6 || !"storage".equals(t.get(0))) {
            throw fail(at, "persistent id " + describe(pid) + " is not ('storage', type, key, location, numel[, view_metadata])");
        }
        if (t.size() == 6 && t.get(5) != null) {
            throw fail(at, "storage view " + describe(t.get(5)) + " (a pre-1.0 storage view) is not supported; re-save the file with"
                    + " a recent PyTorch");
        }
        if (!(t.get(1) instanceof StorageType type)) throw fail(at, "persistent storage type is " + describe(t.get(1)));
        StorageRef ref = new StorageRef(type, stringAt(at, t.get(2)), stringAt(at, t.get(3)), longAt(at, t.get(4), "storage numel"));
        storageTypes.putIfAbsent(ref.key(), type);
        return ref;
    }

    private Object reduce(int at, Object fn, Object argsObject) {
        if (!(argsObject instanceof List<?> args)) throw fail(at, "REDUCE arguments are " + describe(argsObject) + ", not a tuple");
        if (fn == Callable.ORDERED_DICT) {
            Map<Object, Object> d = new LinkedHashMap<>();
            if (args.size() == 1 && args.get(0) instanceof List<?> pairs) {
                for (Object p : pairs) {
                    if (!(p instanceof List<?> kv) || kv.size() != 2) throw fail(at, "OrderedDict item " + describe(p) + " is not a pair");
                    d.put(kv.get(0), kv.get(1));
                }
            } else if (!args.isEmpty()) {
                throw fail(at, "OrderedDict called with " + args.size() + " arguments");
            }
            orderedDicts.add(d);
            return d;
        }
        if (fn == Callable.REBUILD_TENSOR_V2) return rebuildTensor(at, args);
        if (fn == Callable.REBUILD_PARAMETER || fn == Callable.REBUILD_PARAMETER_WITH_STATE) {
            int expected = fn == Callable.REBUILD_PARAMETER ? 3 : 4;
            if (args.size() != expected) throw fail(at, "_rebuild_parameter takes " + expected + " arguments, found " + args.size());
            Object data = args.get(0);
            if (!(data instanceof Tensor) && !(data instanceof TorchCheckpoint.UnsupportedTensor) && !(data instanceof PendingTensor)) {
                throw fail(at, "_rebuild_parameter of " + describe(data) + ", not a tensor");
            }
            return data; // a Parameter's data; requires_grad, hooks and Python attributes have no meaning here
        }
        throw fail(at, "REDUCE of " + describe(fn) + " is not supported (only OrderedDict, _rebuild_tensor_v2 and _rebuild_parameter)");
    }

    private Object newObject(int at, Object cls, Object args) {
        if (!(args instanceof List<?> a) || !a.isEmpty()) throw fail(at, "NEWOBJ with arguments " + describe(args));
        if (cls == Callable.NAMESPACE) {
            Map<Object, Object> ns = new LinkedHashMap<>();
            namespaces.add(ns);
            return ns;
        }
        if (cls == Callable.ORDERED_DICT) {
            Map<Object, Object> d = new LinkedHashMap<>();
            orderedDicts.add(d);
            return d;
        }
        throw fail(at, "NEWOBJ of " + describe(cls) + " is not supported (only argparse.Namespace and OrderedDict)");
    }

    private void build(int at, Object target, Object state) {
        if (namespaces.contains(target)) {
            if (!(state instanceof Map<?, ?> attrs)) throw fail(at, "Namespace state is " + describe(state) + ", not a dict");
            dictAt(at, target).putAll(attrs);
        } else if (orderedDicts.contains(target)) {
            // OrderedDict attributes (state_dict()'s _metadata with per-module versions): plain data, not items; dropped.
            if (state != null && !(state instanceof Map<?, ?>) && !(state instanceof List<?>)) {
                throw fail(at, "OrderedDict state is " + describe(state));
            }
        } else {
            throw fail(at, "BUILD on " + describe(target) + " is not supported (only on OrderedDict and argparse.Namespace)");
        }
    }

    /** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
    private Object rebuildTensor(int at, List<?> args) {
        if (args.size() != 6 && args.size() != 7) throw fail(at, "_rebuild_tensor_v2 takes 6 or 7 arguments, found " + args.size());
        if (!(args.get(0) instanceof StorageRef storage)) throw fail(at, "_rebuild_tensor_v2 storage is " + describe(args.get(0)));
        long offset = longAt(at, args.get(1), "storage offset");
        List<?> sizeList = listArg(at, args.get(2), "size");
        List<?> strideList = listArg(at, args.get(3), "stride");
        if (sizeList.size() != strideList.size()) {
            throw fail(at, "tensor size " + sizeList + " and stride " + strideList + " have different ranks");
        }
        int[] shape = new int[sizeList.size()];
        long[] stride = new long[shape.length];
        long numel = 1;
        long last = offset; // the furthest storage element the view reads
        for (int d = 0; d < shape.length; d++) {
            long size = longAt(at, sizeList.get(d), "size");
            stride[d] = longAt(at, strideList.get(d), "stride");
            if (size < 0 || size > Integer.MAX_VALUE || stride[d] < 0) {
                throw fail(at, "tensor size " + sizeList + " / stride " + strideList + " out of range");
            }
            shape[d] = (int) size;
            numel *= size;
            if (numel > Integer.MAX_VALUE - 8) throw fail(at, "tensor of size " + sizeList + " exceeds the CPU tensor limit");
            last += (size - 1) * stride[d];
        }
        if (offset < 0) throw fail(at, "negative storage offset " + offset);
        if (numel > 0 && last >= storage.numel()) {
            throw fail(at, "tensor view (offset " + offset + ", size " + sizeList + ", stride " + strideList + ") reaches element "
                    + last + " but storage '" + storage.key() + "' holds " + storage.numel());
        }
        if (storage.type().dtype() == null) return new TorchCheckpoint.UnsupportedTensor(storage.type().name(), shape);
        if (storages == null) return new PendingTensor(storage.type(), storage.key(), storage.numel(), shape, stride, offset);
        ByteBuffer bytes = storages.bytes(storage.key(), storage.type(), storage.numel());
        return TensorBytes.gather(bytes, storage.type().dtype(), shape, stride, offset);
    }

    // ---- stack, memo and reading helpers ----

    private void push(Object o) { stack.add(o); }

    private Object pop(int at) {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) throw fail(at, "stack underflow (malformed pickle)");
        return stack.remove(stack.size() - 1);
    }

    private Object peek(int at) {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) throw fail(at, "stack underflow (malformed pickle)");
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark(int at) {
        if (marks.isEmpty()) throw fail(at, "no MARK on the stack (malformed pickle)");
        int m = marks.pop();
        List<Object> items = new ArrayList<>(stack.subList(m + 1, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private Object memoGet(int at, long index) {
        if (!memo.containsKey(index)) throw fail(at, "memo index " + index + " was never stored (malformed pickle)");
        return memo.get(index);
    }

    private static List<Object> tuple(List<Object> items) { return Collections.unmodifiableList(new ArrayList<>(items)); }

    private void putPairs(int at, Map<Object, Object> d, List<Object> items) {
        if (items.size() % 2 != 0) throw fail(at, "odd number of items (" + items.size() + ") for a dict");
        for (int i = 0; i < items.size(); i += 2) d.put(items.get(i), items.get(i + 1));
    }

    @SuppressWarnings("unchecked")
    private List<Object> listAt(int at, Object o) {
        if (o instanceof ArrayList<?> l) return (List<Object>) l; // tuples are unmodifiable and not ArrayLists
        throw fail(at, "APPEND to " + describe(o) + ", not a list");
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dictAt(int at, Object o) {
        if (o instanceof LinkedHashMap<?, ?> m) return (Map<Object, Object>) m;
        throw fail(at, "SETITEM on " + describe(o) + ", not a dict");
    }

    private List<?> listArg(int at, Object o, String what) {
        if (o instanceof List<?> l) return l;
        throw fail(at, "tensor " + what + " is " + describe(o) + ", not a tuple");
    }

    private long longAt(int at, Object o, String what) {
        if (o instanceof Long l) return l;
        throw fail(at, what + " is " + describe(o) + ", not an int");
    }

    private String stringAt(int at, Object o) {
        if (o instanceof String s) return s;
        throw fail(at, "expected a string, found " + describe(o));
    }

    private int u8() { return in.get(need(1)) & 0xff; }

    /** Absolute index of the next n bytes, advancing past them; fails clearly at the end of the data. */
    private int need(int n) {
        int p = in.position();
        if (in.remaining() < n) {
            throw new CheckpointException(source + ": the pickle ends at byte " + in.limit() + " in the middle of an opcode"
                    + " (truncated?)");
        }
        in.position(p + n);
        return p;
    }

    private int length(long n, int at) {
        if (n < 0 || n > in.remaining()) {
            throw new CheckpointException(source + ": a value at byte " + at + " claims " + n + " bytes but only " + in.remaining()
                    + " remain (truncated or corrupt pickle)");
        }
        return (int) n;
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[length(n, in.position())];
        in.get(b);
        return b;
    }

    private String utf8(int n) { return new String(bytes(n), StandardCharsets.UTF_8); }

    private String latin1(int n) { return new String(bytes(n), StandardCharsets.ISO_8859_1); }

    private String line(int at) {
        int start = in.position();
        while (in.hasRemaining()) {
            if (in.get() == '\n') {
                return new String(in.array(), start, in.position() - start - 1, StandardCharsets.UTF_8);
            }
        }
        throw fail(at, "GLOBAL name runs past the end of the pickle (truncated?)");
    }

    /** LONG1/LONG4: little-endian two's complement; a Long where it fits, else a BigInteger. */
    private static Object longOf(byte[] le) {
        if (le.length == 0) return 0L;
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) be[i] = le[le.length - 1 - i];
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private CheckpointException fail(int at, String message) {
        return new CheckpointException(source + ": " + message + " (pickle byte " + at + ")");
    }

    static String describe(Object o) {
        if (o == null) return "None";
        if (o instanceof Callable c) return c.name();
        if (o instanceof StorageType s) return s.name();
        if (o instanceof StorageRef) return "a storage";
        if (o instanceof String s) return "'" + s + "'";
        if (o instanceof List<?> l) return "a sequence of " + l.size();
        if (o instanceof Map<?, ?> m) return "a dict of " + m.size();
        return o.getClass().getSimpleName() + " " + o;
    }
}
