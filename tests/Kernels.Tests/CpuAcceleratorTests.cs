using Testbed.Kernels.Cpu;

namespace Testbed.Kernels.Tests;

/// <summary>What only the Cpu accelerator does: host-side atomics, host indexing errors, the non-coherent link.</summary>
public sealed class CpuAcceleratorTests : IDisposable
{
    private readonly Context _context = Context.CreateDefault();
    private readonly Accelerator _acc;

    public CpuAcceleratorTests() => _acc = _context.CpuDevice.CreateAccelerator();

    public void Dispose()
    {
        _acc.Dispose();
        _context.Dispose();
    }

    [Fact]
    public void Context_lists_an_available_cpu_device()
    {
        var cpu = Assert.Single(_context.Devices, d => d.AcceleratorType == AcceleratorType.Cpu);
        Assert.True(cpu.IsAvailable);
        Assert.Null(cpu.UnavailableReason);
        Assert.Equal(AcceleratorType.Cpu, _acc.AcceleratorType);
        Assert.True(_acc.HostAtomicsCoherent);
    }

    [Fact]
    public void Atomics_called_on_the_host_return_the_old_value()
    {
        var target = 5;
        Assert.Equal(5, Atomic.Add(ref target, 2));
        Assert.Equal(7, Atomic.Exchange(ref target, 1));
        Assert.Equal(1, Atomic.CompareExchange(ref target, 1, 9));
        Assert.Equal(9, Atomic.Min(ref target, 3));
        Assert.Equal(3, Atomic.Max(ref target, 8));
        Assert.Equal(8, Atomic.And(ref target, 12));
        Assert.Equal(8, Atomic.Or(ref target, 1));
        Assert.Equal(9, Atomic.Xor(ref target, 3));
        Assert.Equal(10, target);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public unsafe void A_launch_allocates_nothing_once_warm(bool nonCoherent)
    {
        ((INonCoherentLinkEmulation)_acc).NonCoherentHostAtomics = nonCoherent;
        var host = stackalloc int[64];
        using var mapped = _acc.MapHost(host, 64);
        using var input = _acc.Allocate1D<int>(64);
        var map = _acc.LoadStreamKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map);
        var count = _acc.LoadAutoGroupedKernel<ArrayView<int>, int>(ConformanceKernels.Count);
        input.CopyFromCPU([.. Enumerable.Range(0, 64)]);
        long allocated = 0;
        for (var round = 0; round < 4; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            map(_acc.DefaultStream, 64, 16, input.View, mapped.View, 3);
            count(64, mapped.View, 1);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(0, allocated);
        Assert.Equal((63 * 3) + 1 + 1, host[63]);
    }

    [Fact]
    public void Out_of_range_index_and_unmarked_methods_are_clear_errors()
    {
        using var small = _acc.Allocate1D<int>(4);
        var e = Assert.Throws<IndexOutOfRangeException>(() => _acc.LoadAutoGroupedKernel<ArrayView<int>>(ConformanceKernels.CallsDeviceFunction)(5, small.View));
        Assert.Contains("index 4 is outside [0, 4)", e.Message);
        Assert.Throws<ArgumentException>(() => _acc.LoadAutoGroupedKernel<ArrayView<int>>(NotAKernel));
        Assert.Throws<ArgumentOutOfRangeException>(() => _acc.LoadStreamKernel<ArrayView<int>>(ConformanceKernels.CallsDeviceFunction)(_acc.DefaultStream, 4, 0, small.View));
        Assert.Throws<ArgumentOutOfRangeException>(() => small.CopyFromCPU(new int[5]));
        using var other = _context.CpuDevice.CreateAccelerator();
        var launch = _acc.LoadAutoGroupedStreamKernel<ArrayView<int>>(ConformanceKernels.CallsDeviceFunction);
        Assert.Throws<ArgumentException>(() => launch(other.DefaultStream, 4, small.View));
        Assert.Throws<ArgumentOutOfRangeException>(() => launch(_acc.DefaultStream, -1, small.View));
        small.CopyFromCPU([9, 9, 9, 9]);
        launch(_acc.DefaultStream, 0, small.View);
        Assert.Equal([9, 9, 9, 9], small.GetAsArray1D());
    }

    private static void NotAKernel(Index1D i, ArrayView<int> v)
    {
        v[i] = 0;
    }
}
