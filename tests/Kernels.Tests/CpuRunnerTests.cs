using ILGPU;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;
using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Tests;

/// <summary>What only the direct cpu runner does: launches that allocate nothing, and a kernel's failure — its own exception, or an index outside a view — as a clear error to the caller, never a crash or a write past a buffer.</summary>
public sealed class CpuRunnerTests : IDisposable
{
    private readonly KernelRunner _runner = Runners.Create(AcceleratorKind.Cpu);

    public void Dispose() => _runner.Dispose();

    [Fact]
    public void The_cpu_runner_has_a_coherent_link_and_no_algorithms()
    {
        Assert.Equal(AcceleratorKind.Cpu, _runner.Kind);
        Assert.True(_runner.HostAtomicsCoherent);
        Assert.False(_runner.RunsAlgorithms);
        Assert.Equal(ILGPU.Runtime.AcceleratorType.CPU, _runner.Accelerator.AcceleratorType);
    }

    [Fact]
    public unsafe void A_launch_allocates_nothing_once_warm()
    {
        var host = stackalloc int[64];
        using var mapped = _runner.MapHost(host, 64);
        using var input = _runner.Allocate1D<int>([.. Enumerable.Range(0, 64)]);
        var map = _runner.LoadAutoGroupedStreamKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map);
        var count = _runner.LoadAutoGroupedStreamKernel<ArrayView<int>, int>(ConformanceKernels.Count);
        long allocated = 0;
        for (var round = 0; round < 4; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            map(64, input.View, mapped.View, 3);
            count(64, mapped.View, 1);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(0, allocated);
        Assert.Equal((63 * 3) + 1 + 1, host[63]);
    }

    [Fact]
    public void An_index_outside_a_view_is_an_exception_naming_the_kernel_and_the_item_and_writes_nothing()
    {
        using var data = _runner.Allocate1D<int>(8);
        ArrayView<int> view = data.View;
        var small = view.SubView(0, 4);
        var e = Assert.Throws<KernelException>(() => _runner.LoadAutoGroupedStreamKernel<ArrayView<int>>(ConformanceKernels.CallsDeviceFunction)(5, small));
        Assert.Equal("ConformanceKernels.CallsDeviceFunction", e.Kernel);
        Assert.Equal(4, e.Item);
        Assert.IsType<KernelAssertionException>(e.InnerException);
        Assert.Contains("Index out of range", e.Message, StringComparison.Ordinal);
        Assert.Equal([0, 0, 2, 6, 0, 0, 0, 0], _runner.GetAsArray<int>(data.View));
    }

    [Fact]
    public void A_kernels_own_exception_reaches_the_caller_naming_the_kernel_and_the_item()
    {
        using var data = _runner.Allocate1D<int>(new[] { 1, 1, 0, 1 });
        var e = Assert.Throws<KernelException>(() => _runner.LoadAutoGroupedStreamKernel<ArrayView<int>>(Divides)(4, data.View));
        Assert.Equal(2, e.Item);
        Assert.IsType<DivideByZeroException>(e.InnerException);
        Assert.StartsWith("kernel CpuRunnerTests.Divides, work item 2: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_static_methods_load_and_views_of_host_memory_check_their_bounds_on_the_host_too()
    {
        Action<Index1D, ArrayView<int>> instance = new Holder().Kernel;
        Assert.Throws<ArgumentException>(() => _runner.LoadAutoGroupedStreamKernel(instance));
        using var data = _runner.Allocate1D<int>(4);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _runner.CopyFromCPU<int>(data.View, new int[5]));
        Assert.Contains("CopyFromCPU: 5 elements do not fit the view's 4", e.Message, StringComparison.Ordinal);
        ArrayView<int> view = data.View;
        Assert.Throws<KernelAssertionException>(() => view.SubView(2, 3));
    }

    private static void Divides(Index1D i, ArrayView<int> data)
    {
        data[i] = 12 / data[i];
    }

    private sealed class Holder
    {
        public void Kernel(Index1D i, ArrayView<int> v) => v[i] = i.X;
    }
}
