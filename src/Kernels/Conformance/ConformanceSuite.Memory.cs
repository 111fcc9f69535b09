using System.Runtime.InteropServices;
using ILGPU;
using Testbed.Kernels.DeviceCode;
using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Conformance;

public static partial class ConformanceSuite
{
    private static ConformanceCheck[] MemoryChecks =>
    [
        new("mapped-host-memory", "kernels read and write mapped host memory in place", MappedHostMemory),
        new("copies", "copies and clears move exactly the elements asked for", Copies),
    ];

    private static unsafe ConformanceOutcome MappedHostMemory(KernelRunner runner)
    {
        var host = (int*)NativeMemory.AlignedAlloc(4096, 4096);
        try
        {
            for (var i = 0; i < 1024; i++)
            {
                host[i] = i;
            }

            ConformanceOutcome read;
            using (var mapped = runner.MapHost(host, 1024))
            {
                using var output = runner.Allocate1D<int>(1024);
                runner.LoadAutoGroupedStreamKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map)(1024, mapped.View, output.View, 2);
                runner.LoadAutoGroupedStreamKernel<ArrayView<int>, int>(ConformanceKernels.Count)(1024, mapped.View, 1);
                runner.Synchronize();
                read = ConformanceOutcome.Same([.. Enumerable.Range(0, 1024).Select(i => (i * 2) + 1)], runner.GetAsArray<int>(output.View), "read from host memory");
            }

            return read.Held ? ConformanceOutcome.Same([.. Enumerable.Range(0, 1024).Select(i => i + 1)], new ReadOnlySpan<int>(host, 1024).ToArray(), "written to host memory") : read;
        }
        finally
        {
            NativeMemory.AlignedFree(host);
        }
    }

    private static ConformanceOutcome Copies(KernelRunner runner)
    {
        using var buffer = runner.Allocate1D<long>(8);
        var zeroed = ConformanceOutcome.Same(new long[8], runner.GetAsArray<long>(buffer.View), "a new buffer");
        if (!zeroed.Held)
        {
            return zeroed;
        }

        ArrayView<long> view = buffer.View;
        runner.CopyFromCPU(view.SubView(2, 4), [1L << 40, 2, 3]);
        var back = new long[2];
        runner.CopyToCPU(view.SubView(3, 2), back);
        if (back[0] != 2 || back[1] != 3)
        {
            return ConformanceOutcome.Fail($"copied back {back[0]}, {back[1]}; expected 2, 3");
        }

        runner.Clear(view.SubView(3, 1));
        return ConformanceOutcome.Same([0, 0, 1L << 40, 0, 3, 0, 0, 0], runner.GetAsArray<long>(buffer.View), "after copies and a clear");
    }
}
