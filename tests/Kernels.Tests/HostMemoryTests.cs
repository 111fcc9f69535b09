using System.Runtime.InteropServices;
using ILGPU;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Kernels.Tests;

/// <summary>Host memory mapped into each accelerator is reached in place by kernels, and copies move exactly what they are given.</summary>
public sealed class HostMemoryTests
{
    [Theory]
    [MemberData(nameof(Runners.Available), MemberType = typeof(Runners))]
    public unsafe void A_kernel_reaches_mapped_host_memory_in_place(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        var host = (int*)NativeMemory.AlignedAlloc(4096, 4096);
        try
        {
            for (var i = 0; i < 1024; i++)
            {
                host[i] = i;
            }

            using (var mapped = runner.MapHost(host, 1024))
            {
                using var output = runner.Allocate1D<int>(1024);
                runner.LoadAutoGroupedStreamKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map)(1024, mapped.View, output.View, 2);
                runner.LoadAutoGroupedStreamKernel<ArrayView<int>, int>(ConformanceKernels.Count)(1024, mapped.View, 1);
                runner.Synchronize();
                Assert.Equal(Enumerable.Range(0, 1024).Select(i => (i * 2) + 1), runner.GetAsArray<int>(output.View));
            }

            Assert.Equal(Enumerable.Range(0, 1024).Select(i => i + 1), new ReadOnlySpan<int>(host, 1024).ToArray());
        }
        finally
        {
            NativeMemory.AlignedFree(host);
        }
    }

    [Theory]
    [MemberData(nameof(Runners.Available), MemberType = typeof(Runners))]
    public void Copies_and_clears_move_exactly_the_elements_asked_for(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        using var buffer = runner.Allocate1D<long>(8);
        Assert.Equal(new long[8], runner.GetAsArray<long>(buffer.View));
        ArrayView<long> view = buffer.View;
        runner.CopyFromCPU(view.SubView(2, 4), [1L << 40, 2, 3]);
        Assert.Equal([0, 0, 1L << 40, 2, 3, 0, 0, 0], runner.GetAsArray<long>(buffer.View));
        var back = new long[2];
        runner.CopyToCPU(view.SubView(3, 2), back);
        Assert.Equal([2L, 3L], back);
        runner.Clear(view.SubView(3, 1));
        Assert.Equal([0, 0, 1L << 40, 0, 3, 0, 0, 0], runner.GetAsArray<long>(buffer.View));
        Assert.Throws<ArgumentOutOfRangeException>(() => runner.CopyToCPU(view.SubView(6, 2), new long[3]));
    }

    [Fact]
    public unsafe void Mapping_a_null_pointer_or_a_negative_length_is_refused()
    {
        using var runner = Runners.Create(AcceleratorKind.Cpu);
        Assert.Throws<ArgumentNullException>(() => runner.MapHost<int>(null, 4));
        var host = stackalloc int[4];
        Assert.Throws<ArgumentOutOfRangeException>(() => runner.MapHost(host, -1));
    }
}
