// CPU execution of the augmentation kernels (kernels/augment.cu and augment_device.cuh, the code nvcc compiles,
// unchanged, run by kernels/emu): reads a case written by AugmentEmulationTest (packed AugmentJob upload + source
// images), runs augment_batch, the launcher the engine calls, and writes the output as float32. It checks the
// kernels' logic and the Java/C++ job layout without a GPU; it says nothing about nvcc's code generation or the
// device itself.
//   g++ -std=c++20 -O2 -ffp-contract=off -pthread -DCOMPRESS_EMU -include kernels/emu/cuda_emu.h -I<cuda>/include
//       -Ikernels -Ikernels/emu kernels/emu/augment_emu.cpp kernels/emu/emu_runtime.cpp -x c++ kernels/augment.cu
//   ./a.out case.bin out.bin
#include "augment_device.cuh"
#include "augment_kernels.cuh"
#include "emu_control.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <vector>

namespace {
template <class T>
T read(std::ifstream& in) {
    T v;
    in.read(reinterpret_cast<char*>(&v), sizeof v);
    return v;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: augment_emu CASE.bin OUT.bin\n";
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    if (read<int32_t>(in) != 0x41554745) {   // "AUGE"
        std::cerr << "not an augment emulation case: " << argv[1] << "\n";
        return 2;
    }
    int out_h = read<int32_t>(in), out_w = read<int32_t>(in), job_count = read<int32_t>(in);
    int max_crop_h = read<int32_t>(in), finish_count = read<int32_t>(in), blur_count = read<int32_t>(in);
    int max_blur = read<int32_t>(in), bf16 = read<int32_t>(in), samples = read<int32_t>(in);
    compress::AugmentNormalize norm{};
    for (float& m : norm.mean) m = read<float>(in);
    for (float& s : norm.std) s = read<float>(in);
    int64_t upload_bytes = read<int64_t>(in), taps_at = read<int64_t>(in), finish_at = read<int64_t>(in);
    int64_t blur_at = read<int64_t>(in), scratch_floats = read<int64_t>(in), image_bytes = read<int64_t>(in);
    std::vector<unsigned char> upload(upload_bytes), images(image_bytes);
    in.read(reinterpret_cast<char*>(upload.data()), upload_bytes);
    in.read(reinterpret_cast<char*>(images.data()), image_bytes);
    if (!in) {
        std::cerr << "truncated case file\n";
        return 2;
    }
    auto* jobs = reinterpret_cast<compress::AugmentJob*>(upload.data());
    for (int j = 0; j < job_count; ++j) jobs[j].src += reinterpret_cast<uint64_t>(images.data());   // offsets -> addresses

    int64_t elements = (int64_t)samples * 3 * out_h * out_w;
    std::vector<float> out_f32(bf16 ? 0 : elements), stage(bf16 ? elements : 0);
    std::vector<__nv_bfloat16> out_bf16(bf16 ? elements : 0);
    std::vector<float> scratch(scratch_floats + 1);
    std::vector<double> partials((size_t)job_count * compress::augment_blocks_per_job(out_h, out_w) + 1);
    void* out = bf16 ? (void*)out_bf16.data() : (void*)out_f32.data();
    float* stage_ptr = bf16 ? stage.data() : out_f32.data();

    // The kernels may touch exactly these host buffers.
    for (auto* v : {&upload, &images}) emu::register_host(v->data(), v->size());
    emu::register_host(out, (size_t)elements * (bf16 ? 2 : 4));
    if (bf16) emu::register_host(stage.data(), stage.size() * 4);
    emu::register_host(scratch.data(), scratch.size() * 4);
    emu::register_host(partials.data(), partials.size() * 8);
    cudaError_t st = compress::augment_batch(jobs, job_count, max_crop_h, out_h, out_w,
                                             reinterpret_cast<const int*>(upload.data() + finish_at), finish_count,
                                             reinterpret_cast<const int*>(upload.data() + blur_at), blur_count, max_blur,
                                             reinterpret_cast<const double*>(upload.data() + taps_at), norm, bf16, stage_ptr,
                                             out, scratch.data(), partials.data(), nullptr);
    if (st == cudaSuccess) st = cudaStreamSynchronize(nullptr);
    if (st != cudaSuccess) {
        std::cerr << "augment_batch: " << cudaGetErrorString(st) << "\n";
        return 1;
    }
    std::ofstream o(argv[2], std::ios::binary);
    for (int64_t i = 0; i < elements; ++i) {
        float v = bf16 ? __bfloat162float(out_bf16[i]) : out_f32[i];
        o.write(reinterpret_cast<const char*>(&v), sizeof v);
    }
    return o ? 0 : 1;
}
