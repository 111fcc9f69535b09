namespace Testbed.Kernels.Generator.Tests;

/// <summary>Each construct of the supported subset, as it comes out in OpenCL C and CUDA C.</summary>
public sealed class TranslationTests
{
    [Fact]
    public void Kernel_signature_becomes_extent_pointers_and_lengths_with_a_bounds_guard()
    {
        var g = GeneratorHarness.Translate("""
            public static class K { [Kernel] public static void Copy(Index1D i, ArrayView<int> a, ArrayView<ulong> b, float f) { a[i] = (int)b[i]; } }
            """);
        Assert.Contains("__kernel void K_Copy(int __extent, ulong __nc_lo, ulong __nc_hi, int __nc_delay, __global int* __nc_locks, __global int* a, long a_offset, long a_length, __global ulong* b, long b_offset, long b_length, float f)", g);
        Assert.Contains("a += a_offset;", g);
        Assert.Contains("extern \"C\" __global__ void K_Copy(int __extent, int* a, long long a_length, unsigned long long* b, long long b_length, float f)", g);
        Assert.Contains("int i = (int)get_global_id(0);", g);
        Assert.Contains("int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);", g);
        Assert.Contains("if (i >= __extent) return;", g);
        Assert.Contains("a[i] = ((int)(b[i]));", g);
        Assert.Contains("KernelRegistry.Register(new global::Testbed.Kernels.KernelSource(typeof(global::Sample.K), @\"Copy\", @\"K_Copy\"", g);
    }

    [Fact]
    public void Control_flow_and_operators_translate_one_to_one()
    {
        var g = GeneratorHarness.Translate("""
            public static class K
            {
                [Kernel]
                public static void Flow(Index1D i, ArrayView<int> a, int n)
                {
                    var s = 0;
                    for (var k = 0; k < n; k++) { if (k % 2 == 0) s += k; else s -= 1; }
                    while (s > 100) s >>= 1;
                    do { s++; } while (s < 3 && !(s == 7) || s != 9);
                    a[i] = s > 0 ? s : -s;
                    a[i] ^= ~s & 5 | 6;
                    if (n < 0) return;
                    for (;;) { if (s-- <= 0) break; continue; }
                }
            }
            """);
        Assert.Contains("for (int k = 0; k < n; k++)", g);
        Assert.Contains("if (k % 2 == 0)", g);
        Assert.Contains("s += k;", g);
        Assert.Contains("else", g);
        Assert.Contains("while (s > 100)", g);
        Assert.Contains("s >>= 1;", g);
        Assert.Contains("while (s < 3 && !(s == 7) || s != 9);", g);
        Assert.Contains("a[i] = (s > 0 ? s : -s);", g);
        Assert.Contains("a[i] ^= ~s & 5 | 6;", g);
        Assert.Contains("return;", g);
        Assert.Contains("for (; ; )", g);
        Assert.Contains("break;", g);
        Assert.Contains("continue;", g);
    }

    [Fact]
    public void Literals_carry_the_dialects_suffixes_and_constants_are_folded()
    {
        var g = GeneratorHarness.Translate("""
            public static class K
            {
                [Kernel]
                public static void Lit(Index1D i, ArrayView<long> a, ArrayView<ulong> b, ArrayView<uint> c, ArrayView<double> d, ArrayView<float> f)
                {
                    const int Shift = 3;
                    a[i] = 5000000000L + int.MinValue;
                    b[i] = 1UL << (Shift + 1);
                    c[i] = 7u;
                    d[i] = 2.0;
                    f[i] = 0.5f;
                    a[0] = long.MinValue;
                }
            }
            """);
        Assert.Contains("a[i] = 2852516352L;", g);
        Assert.Contains("a[i] = 2852516352LL;", g);
        Assert.Contains("b[i] = 16UL;", g);
        Assert.Contains("b[i] = 16ULL;", g);
        Assert.Contains("c[i] = 7u;", g);
        Assert.Contains("d[i] = 2.0;", g);
        Assert.Contains("f[i] = 0.5f;", g);
        Assert.Contains("(-9223372036854775807L - 1)", g);
        Assert.DoesNotContain("Shift", g);
    }

    [Fact]
    public void Device_functions_are_translated_once_each_with_prototypes_and_views_pass_with_their_length()
    {
        var g = GeneratorHarness.Translate("""
            public static class K
            {
                [DeviceFunction] public static int Twice(int x) => Add(x, x);
                [DeviceFunction] public static int Add(int x, int y) { return x + y; }
                [DeviceFunction] public static long Last(ArrayView<long> v) => v[v.Length - 1] + v.IntLength;
                [Kernel] public static void Use(Index1D i, ArrayView<long> v) { v[i] = Twice(i.X) + Add(1, 2) + Last(v); }
            }
            """);
        Assert.Contains("int K_Add(int x, int y, ulong __nc_lo, ulong __nc_hi, int __nc_delay, __global int* __nc_locks);", g);
        Assert.Contains("__device__ int K_Twice(int x);", g);
        Assert.Contains("return K_Add(x, x, __nc_lo, __nc_hi, __nc_delay, __nc_locks);", g);
        Assert.Contains("return K_Add(x, x);", g);
        Assert.Contains("long K_Last(__global long* v, long v_length, ulong __nc_lo, ulong __nc_hi, int __nc_delay, __global int* __nc_locks)", g);
        Assert.Contains("return v[v_length - 1] + ((int)v_length);", g);
        Assert.Contains("v[i] = K_Twice(i, __nc_lo, __nc_hi, __nc_delay, __nc_locks) + K_Add(1, 2, __nc_lo, __nc_hi, __nc_delay, __nc_locks) + K_Last(v, v_length, __nc_lo, __nc_hi, __nc_delay, __nc_locks);", g);
        Assert.Contains("v[i] = K_Twice(i) + K_Add(1, 2) + K_Last(v, v_length);", g);
        Assert.Equal(1, CountOf(g, "int K_Add(int x, int y, ulong __nc_lo, ulong __nc_hi, int __nc_delay, __global int* __nc_locks)\n{"));
        Assert.Equal(1, CountOf(g, "__device__ int K_Add(int x, int y)\n{"));
    }

    [Fact]
    public void Atomics_map_to_each_dialects_builtins_for_every_width()
    {
        var g = GeneratorHarness.Translate("""
            public static class K
            {
                [Kernel]
                public static void At(Index1D i, ArrayView<int> a, ArrayView<long> b, ArrayView<ulong> c)
                {
                    Atomic.Add(ref a[0], 1);
                    Atomic.CompareExchange(ref a[1], 0, i);
                    Atomic.Add(ref b[0], 2L);
                    Atomic.Max(ref b[1], (long)i);
                    Atomic.Xor(ref c[0], 3UL);
                }
            }
            """);
        Assert.Contains("#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable", g);
        Assert.Contains("tb_add_int(&a[0], 1, __nc_lo, __nc_hi, __nc_delay, __nc_locks);", g);
        Assert.Contains("return atomic_add(p, v);", g);
        Assert.Contains("tb_compareexchange_int(&a[1], 0, i, __nc_lo, __nc_hi, __nc_delay, __nc_locks);", g);
        Assert.Contains("if (old == cmp) *p = v;", g);
        Assert.Contains("return atomic_cmpxchg(p, cmp, v);", g);
        Assert.Contains("tb_add_long(&b[0], 2L, __nc_lo, __nc_hi, __nc_delay, __nc_locks);", g);
        Assert.Contains("return atom_add(p, v);", g);
        Assert.Contains("tb_max_long(&b[1], ((long)(i)), __nc_lo, __nc_hi, __nc_delay, __nc_locks);", g);
        Assert.Contains("tb_xor_ulong(&c[0], 3UL, __nc_lo, __nc_hi, __nc_delay, __nc_locks);", g);
        Assert.Contains("if ((ulong)p >= lo && (ulong)p < hi)", g);
        Assert.Contains("atomicAdd(&a[0], 1);", g);
        Assert.Contains("atomicCAS(&a[1], 0, i);", g);
        Assert.Contains("(long long)atomicAdd((unsigned long long*)(&b[0]), (unsigned long long)(2LL));", g);
        Assert.Contains("atomicMax(&b[1], ((long long)(i)));", g);
        Assert.Contains("atomicXor(&c[0], 3ULL);", g);
    }

    [Fact]
    public void Group_grid_queries_math_and_reserved_names_translate()
    {
        var g = GeneratorHarness.Translate("""
            public static class K
            {
                [Kernel]
                public static void Q(Index1D i, ArrayView<int> global, int max)
                {
                    var local = Group.IdxX + Group.DimX + Grid.IdxX + Grid.DimX;
                    global[i] = System.Math.Min(local, max) + System.Math.Max(1, 2) + global.IntLength;
                }
            }
            """);
        Assert.Contains("__global int* global_, long global_offset, long global_length, int max_", g);
        Assert.Contains("int local_ = (int)get_local_id(0) + (int)get_local_size(0) + (int)get_group_id(0) + (int)get_num_groups(0);", g);
        Assert.Contains("int local_ = (int)threadIdx.x + (int)blockDim.x + (int)blockIdx.x + (int)gridDim.x;", g);
        Assert.Contains("global_[i] = min(local_, max_) + max(1, 2) + ((int)global_length);", g);
    }

    private static int CountOf(string s, string part) => (s.Length - s.Replace(part, string.Empty, StringComparison.Ordinal).Length) / part.Length;
}
