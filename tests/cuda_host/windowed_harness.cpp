// Runs gpuent's windowed-histogram kernel (the real .cu) on the host, one launch per call:
//   windowed_harness REQUEST OUTPUT
// REQUEST (little endian): "GPUENTH1", u32 name length, name (a kernel_name() of _cuda.py),
// u32 grid, u32 block, u64 dynamic shared bytes, u64 garbage seed, u32 argument count, then
// per argument a 2-byte type code ("u1" "u2" "u4" "i4" "i8" "f4" "f8", "rw" for raw
// memory, "st" for a struct) and, for arrays, u8 1 + u64 bytes + bytes; for scalars, u8 0 +
// 8 bytes; for a struct passed by value, u8 2 + u64 bytes + bytes + u32 member count, then
// per array it points to, u64 offset of the pointer in the struct + an array as above
// (code, u8 1, u64 bytes, bytes), its address written at that offset.
// Every array gets its own exact-size heap block (AddressSanitizer sees any overrun), and
// the dynamic shared memory of each block is a fresh heap block filled with garbage. The
// last argument (the output) is written to OUTPUT. The variants compiled in are listed in
// the generated variants.inc (GPUENT_VARIANT(name, template arguments) lines).
#include "cuda_stand_in.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

static unsigned char* gpuent_harness_smem = nullptr;
#define GPUENT_DYNAMIC_SHARED(name) unsigned char* name = gpuent_harness_smem
#include GPUENT_KERNEL_FILE

namespace {

[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "harness: %s\n", why.c_str());
    std::exit(3);
}

struct Arg {
    std::string code;
    bool array = false;
    std::vector<unsigned char> scalar;  // 8 bytes, or a struct's bytes
    unsigned char* data = nullptr;      // exact-size heap block
    std::size_t nbytes = 0;
    std::vector<std::pair<std::uint64_t, Arg>> members;  // struct: (offset, array)
};

struct Reader {
    std::FILE* f;
    template <typename T>
    T get() {
        T v;
        if (std::fread(&v, sizeof v, 1, f) != 1) fail("truncated request");
        return v;
    }
    std::string bytes(std::size_t n) {
        std::string s(n, '\0');
        if (n && std::fread(&s[0], 1, n, f) != n) fail("truncated request");
        return s;
    }
};

template <typename T> struct Code;
template <> struct Code<unsigned char> { static constexpr const char* v = "u1"; };
template <> struct Code<unsigned short> { static constexpr const char* v = "u2"; };
template <> struct Code<unsigned int> { static constexpr const char* v = "u4"; };
template <> struct Code<int> { static constexpr const char* v = "i4"; };
template <> struct Code<long long> { static constexpr const char* v = "i8"; };
template <> struct Code<float> { static constexpr const char* v = "f4"; };
template <> struct Code<double> { static constexpr const char* v = "f8"; };

// One kernel argument of C type T from argument i, with its type checked.
template <typename T>
T take(std::vector<Arg>& args, std::size_t i) {
    if (i >= args.size()) fail("too few arguments");
    Arg& a = args[i];
    if constexpr (std::is_pointer_v<T>) {
        using E = std::remove_cv_t<std::remove_pointer_t<T>>;
        if (!a.array) fail("argument " + std::to_string(i) + " must be an array");
        if (a.code != Code<E>::v && !(a.code == "rw" && a.nbytes % sizeof(E) == 0))
            fail("argument " + std::to_string(i) + " has type " + a.code + ", kernel wants " +
                 Code<E>::v);
        return reinterpret_cast<T>(a.data);
    } else {
        if constexpr (std::is_class_v<T>) {
            // a struct by value: exactly its size, every pointer member inside it
            if (a.array || a.code != "st" || a.scalar.size() != sizeof(T))
                fail("argument " + std::to_string(i) + " must be a struct of " +
                     std::to_string(sizeof(T)) + " bytes");
            std::vector<unsigned char> bytes = a.scalar;
            for (auto& m : a.members) {
                if (m.first % alignof(void*) || m.first + sizeof(void*) > sizeof(T))
                    fail("a struct member lies outside the struct");
                std::memcpy(&bytes[m.first], &m.second.data, sizeof(void*));
            }
            T v;
            std::memcpy(static_cast<void*>(&v), bytes.data(), sizeof v);
            return v;
        } else {
            if (a.array || a.code != Code<T>::v)
                fail("argument " + std::to_string(i) + " has type " + a.code +
                     ", kernel wants " + Code<T>::v + " scalar");
            T v;
            std::memcpy(&v, a.scalar.data(), sizeof v);
            return v;
        }
    }
}

struct Launch {
    unsigned int grid, block;
    std::uint64_t shared_bytes, seed;
};

template <typename... Ps, std::size_t... I>
void launch_impl(void (*kernel)(Ps...), std::vector<Arg>& args, const Launch& L,
                 std::index_sequence<I...>) {
    if (args.size() != sizeof...(Ps)) fail("argument count differs from the kernel's");
    std::tuple<Ps...> params{take<Ps>(args, I)...};
    std::mt19937_64 rng(L.seed);
    gridDim = {L.grid, 1, 1};
    blockDim = {L.block, 1, 1};
    for (unsigned int b = 0; b < L.grid; ++b) {
        // a fresh block of shared memory, full of garbage
        auto* smem = static_cast<unsigned char*>(std::malloc(L.shared_bytes ? L.shared_bytes : 1));
        for (std::uint64_t k = 0; k < L.shared_bytes; ++k) smem[k] = static_cast<unsigned char>(rng());
        gpuent_harness_smem = L.shared_bytes ? smem : nullptr;
        blockIdx = {b, 0, 0};
        for (unsigned int t = 0; t < L.block; ++t) {
            threadIdx = {t, 0, 0};
            kernel(std::get<I>(params)...);
        }
        std::free(smem);
    }
}

template <typename... Ps>
void launch(void (*kernel)(Ps...), std::vector<Arg>& args, const Launch& L) {
    launch_impl(kernel, args, L, std::index_sequence_for<Ps...>{});
}

using Runner = void (*)(std::vector<Arg>&, const Launch&);

template <typename LT, typename CT, typename OT, bool SH, bool PN, int BW>
void run_variant(std::vector<Arg>& args, const Launch& L) {
    launch(&gpuent::windowed_sliding<LT, CT, OT, SH, PN, BW>, args, L);
}

const std::map<std::string, Runner>& variants() {
    static const std::map<std::string, Runner> table = {
#define GPUENT_VARIANT(NAME, ...) {NAME, &run_variant<__VA_ARGS__>},
#include "variants.inc"
#undef GPUENT_VARIANT
    };
    return table;
}

void read_array(Reader& r, Arg& a) {
    a.nbytes = r.get<std::uint64_t>();
    a.data = static_cast<unsigned char*>(std::malloc(a.nbytes ? a.nbytes : 1));
    const std::string s = r.bytes(a.nbytes);
    if (a.nbytes) std::memcpy(a.data, s.data(), a.nbytes);
}

void read_arg(Reader& r, Arg& a) {
    a.code = r.bytes(2);
    const std::uint8_t kind = r.get<std::uint8_t>();
    a.array = kind == 1;
    if (kind == 1) {
        read_array(r, a);
    } else if (kind == 2) {
        const std::string s = r.bytes(r.get<std::uint64_t>());
        a.scalar.assign(s.begin(), s.end());
        const std::uint32_t n = r.get<std::uint32_t>();
        for (std::uint32_t k = 0; k < n; ++k) {
            const std::uint64_t offset = r.get<std::uint64_t>();
            Arg m;
            m.code = r.bytes(2);
            if (r.get<std::uint8_t>() != 1) fail("a struct member must be an array");
            m.array = true;
            read_array(r, m);
            a.members.emplace_back(offset, std::move(m));
        }
    } else {
        const std::string s = r.bytes(8);
        a.scalar.assign(s.begin(), s.end());
    }
}

void free_arg(Arg& a) {
    std::free(a.data);
    for (auto& m : a.members) std::free(m.second.data);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) fail("usage: windowed_harness REQUEST OUTPUT");
    std::FILE* f = std::fopen(argv[1], "rb");
    if (!f) fail("cannot open the request");
    Reader r{f};
    if (r.bytes(8) != "GPUENTH1") fail("not a request");
    const std::string name = r.bytes(r.get<std::uint32_t>());
    Launch L;
    L.grid = r.get<std::uint32_t>();
    L.block = r.get<std::uint32_t>();
    L.shared_bytes = r.get<std::uint64_t>();
    L.seed = r.get<std::uint64_t>();
    const std::uint32_t nargs = r.get<std::uint32_t>();
    std::vector<Arg> args(nargs);
    for (auto& a : args) read_arg(r, a);
    std::fclose(f);
    const auto it = variants().find(name);
    if (it == variants().end()) fail("variant not compiled in: " + name);
    it->second(args, L);
    if (args.empty() || !args.back().array) fail("the last argument must be the output");
    std::FILE* o = std::fopen(argv[2], "wb");
    if (!o || std::fwrite(args.back().data, 1, args.back().nbytes, o) != args.back().nbytes)
        fail("cannot write the output");
    std::fclose(o);
    for (auto& a : args) free_arg(a);
    return 0;
}
