// JNI entry points of libcompress_gloo.so: Gloo collectives (TCP transport) for org.compress.engine.dist.GlooCollectives.
// Rendezvous goes through the Java store (org.compress.engine.dist.Store): Gloo's connectFullMesh calls set/get
// on the calling thread, so the JNIEnv of that call is valid for the callbacks. Buffers are direct ByteBuffers
// (addresses, never moved by the GC). Every Gloo or store failure becomes a Java CollectiveException whose
// message is Gloo's own (it names the peer address, or the timeout).
#include <jni.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>

namespace {

constexpr const char* kCollectiveException = "org/compress/engine/dist/CollectiveException";

// Thrown when a Java callback left an exception pending; the JNI entry point returns and Java rethrows it.
struct JavaPending : std::runtime_error {
    JavaPending() : std::runtime_error("java exception pending") {}
};

void throwJava(JNIEnv* env, const std::string& message) {
    if (env->ExceptionCheck()) return;
    jclass cls = env->FindClass(kCollectiveException);
    if (cls != nullptr) env->ThrowNew(cls, message.c_str());
}

// gloo::rendezvous::Store backed by the Java store: set(String, byte[]) and get(String) (which waits up to the
// store's timeout for the key and throws naming it).
class JavaStore : public gloo::rendezvous::Store {
public:
    JavaStore(JNIEnv* env, jobject store) : env_(env), store_(store) {
        jclass cls = env->GetObjectClass(store);
        set_ = env->GetMethodID(cls, "set", "(Ljava/lang/String;[B)V");
        get_ = env->GetMethodID(cls, "get", "(Ljava/lang/String;)[B");
        if (set_ == nullptr || get_ == nullptr) throw JavaPending();
    }

    void set(const std::string& key, const std::vector<char>& data) override {
        jstring k = env_->NewStringUTF(key.c_str());
        jbyteArray v = env_->NewByteArray(static_cast<jsize>(data.size()));
        env_->SetByteArrayRegion(v, 0, static_cast<jsize>(data.size()), reinterpret_cast<const jbyte*>(data.data()));
        env_->CallVoidMethod(store_, set_, k, v);
        env_->DeleteLocalRef(k);
        env_->DeleteLocalRef(v);
        if (env_->ExceptionCheck()) throw JavaPending();
    }

    std::vector<char> get(const std::string& key) override {
        jstring k = env_->NewStringUTF(key.c_str());
        auto v = static_cast<jbyteArray>(env_->CallObjectMethod(store_, get_, k));
        env_->DeleteLocalRef(k);
        if (env_->ExceptionCheck()) throw JavaPending();
        std::vector<char> out(env_->GetArrayLength(v));
        env_->GetByteArrayRegion(v, 0, static_cast<jsize>(out.size()), reinterpret_cast<jbyte*>(out.data()));
        env_->DeleteLocalRef(v);
        return out;
    }

    void wait(const std::vector<std::string>& keys) override {
        for (const auto& key : keys) get(key); // get() waits for the key (with the store's timeout)
    }

    void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds&) override { wait(keys); }

private:
    JNIEnv* env_;
    jobject store_;
    jmethodID set_;
    jmethodID get_;
};

struct Handle {
    std::shared_ptr<gloo::transport::Device> device;
    std::shared_ptr<gloo::rendezvous::Context> context;
    std::chrono::milliseconds timeout;
};

Handle* handle(jlong h) { return reinterpret_cast<Handle*>(h); }

char* address(JNIEnv* env, jobject buffer, jlong offset, jlong bytes, const char* what) {
    auto* base = static_cast<char*>(env->GetDirectBufferAddress(buffer));
    jlong capacity = env->GetDirectBufferCapacity(buffer);
    if (base == nullptr || offset < 0 || bytes < 0 || offset + bytes > capacity) {
        throw std::invalid_argument(std::string(what) + ": expected a direct buffer holding [" + std::to_string(offset) + ", "
                                    + std::to_string(offset + bytes) + "), found capacity " + std::to_string(capacity));
    }
    return base + offset;
}

// Runs fn, mapping C++ exceptions to a pending Java CollectiveException ("<op>: <gloo's message>").
template <typename F>
void guarded(JNIEnv* env, const char* op, F fn) {
    try {
        fn();
    } catch (const JavaPending&) {
        // the Java exception stays pending
    } catch (const gloo::IoException& e) {
        throwJava(env, std::string(op) + ": I/O error: " + e.what());
    } catch (const std::exception& e) {
        throwJava(env, std::string(op) + ": " + e.what());
    }
}

} // namespace

extern "C" {

JNIEXPORT jlong JNICALL Java_org_compress_engine_dist_GlooCollectives_create(JNIEnv* env, jclass, jint rank, jint size, jobject store,
                                                                            jstring prefix, jstring hostname, jstring iface,
                                                                            jlong timeoutMs) {
    Handle* result = nullptr;
    guarded(env, "gloo rendezvous", [&] {
        gloo::transport::tcp::attr attr;
        const char* host = env->GetStringUTFChars(hostname, nullptr);
        const char* ifc = env->GetStringUTFChars(iface, nullptr);
        attr.hostname = host;
        attr.iface = ifc;
        env->ReleaseStringUTFChars(hostname, host);
        env->ReleaseStringUTFChars(iface, ifc);
        if (!attr.iface.empty()) attr.hostname.clear();   // an interface name wins, as GLOO_SOCKET_IFNAME in PyTorch
        auto h = std::make_unique<Handle>();
        h->timeout = std::chrono::milliseconds(timeoutMs);
        h->device = gloo::transport::tcp::CreateDevice(attr);
        h->context = std::make_shared<gloo::rendezvous::Context>(rank, size);
        h->context->setTimeout(h->timeout);
        JavaStore javaStore(env, store);
        const char* p = env->GetStringUTFChars(prefix, nullptr);
        gloo::rendezvous::PrefixStore prefixed(p, javaStore);
        env->ReleaseStringUTFChars(prefix, p);
        h->context->connectFullMesh(prefixed, h->device);
        result = h.release();
    });
    return reinterpret_cast<jlong>(result);
}

JNIEXPORT void JNICALL Java_org_compress_engine_dist_GlooCollectives_destroy(JNIEnv*, jclass, jlong h) {
    delete handle(h);
}

JNIEXPORT void JNICALL Java_org_compress_engine_dist_GlooCollectives_allReduceSumF32(JNIEnv* env, jclass, jlong h, jobject buffer,
                                                                                    jlong offset, jlong count, jint tag) {
    guarded(env, "gloo all-reduce", [&] {
        auto* data = reinterpret_cast<float*>(address(env, buffer, offset, count * 4, "all-reduce"));
        gloo::AllreduceOptions opts(handle(h)->context);
        opts.setOutput(data, static_cast<size_t>(count));
        opts.setAlgorithm(gloo::AllreduceOptions::Algorithm::RING); // fixed reduction order: the same bits on every rank
        opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<float>));
        opts.setTag(static_cast<uint32_t>(tag));
        opts.setTimeout(handle(h)->timeout);
        gloo::allreduce(opts);
    });
}

JNIEXPORT void JNICALL Java_org_compress_engine_dist_GlooCollectives_allGather(JNIEnv* env, jclass, jlong h, jobject in, jlong inOffset,
                                                                              jobject out, jlong outOffset, jlong bytes, jint tag) {
    guarded(env, "gloo all-gather", [&] {
        Handle* g = handle(h);
        char* src = address(env, in, inOffset, bytes, "all-gather input");
        char* dst = address(env, out, outOffset, bytes * g->context->size, "all-gather output");
        gloo::AllgatherOptions opts(g->context);
        opts.setInput(src, static_cast<size_t>(bytes));
        opts.setOutput(dst, static_cast<size_t>(bytes * g->context->size));
        opts.setTag(static_cast<uint32_t>(tag));
        opts.setTimeout(g->timeout);
        gloo::allgather(opts);
    });
}

JNIEXPORT void JNICALL Java_org_compress_engine_dist_GlooCollectives_broadcast(JNIEnv* env, jclass, jlong h, jobject buffer, jlong offset,
                                                                              jlong bytes, jint root, jint tag) {
    guarded(env, "gloo broadcast", [&] {
        char* data = address(env, buffer, offset, bytes, "broadcast");
        gloo::BroadcastOptions opts(handle(h)->context);
        opts.setOutput(data, static_cast<size_t>(bytes));
        opts.setRoot(root);
        opts.setTag(static_cast<uint32_t>(tag));
        opts.setTimeout(handle(h)->timeout);
        gloo::broadcast(opts);
    });
}

JNIEXPORT void JNICALL Java_org_compress_engine_dist_GlooCollectives_barrier(JNIEnv* env, jclass, jlong h, jint tag) {
    guarded(env, "gloo barrier", [&] {
        gloo::BarrierOptions opts(handle(h)->context);
        opts.setTag(static_cast<uint32_t>(tag));
        opts.setTimeout(handle(h)->timeout);
        gloo::barrier(opts);
    });
}

} // extern "C"
