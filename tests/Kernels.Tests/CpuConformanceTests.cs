using Testbed.Kernels.Cpu;

namespace Testbed.Kernels.Tests;

/// <summary>The conformance kernels on the Cpu accelerator, which runs the C# methods themselves.</summary>
public sealed class CpuConformanceTests : IDisposable
{
    private readonly Context _context = Context.CreateDefault();
    private readonly Accelerator _acc;

    public CpuConformanceTests() => _acc = _context.CpuDevice.CreateAccelerator();

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
    public void Map_applies_the_function_elementwise()
    {
        var input = Enumerable.Range(0, 1000).ToArray();
        using var a = _acc.Allocate1D(input);
        using var b = _acc.Allocate1D<int>(1000);
        _acc.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map)(1000, a.View, b.View, 3);
        _acc.Synchronize();
        Assert.Equal(input.Select(x => (x * 3) + 1), b.GetAsArray1D());
    }

    [Fact]
    public void Counter_increments_are_exact()
    {
        using var counters = _acc.Allocate1D<int>(64);
        _acc.LoadAutoGroupedKernel<ArrayView<int>, int>(ConformanceKernels.Count)(10_000, counters.View, 13);
        Assert.Equal(Enumerable.Repeat(10_000 * 13 / 64, 64).Sum(), counters.GetAsArray1D().Sum() - (10_000 * 13 % 64));
        Assert.Equal(10_000 * 13, counters.GetAsArray1D().Sum());
    }

    [Fact]
    public void Histogram_matches_a_sequential_count()
    {
        var values = Enumerable.Range(0, 5000).Select(i => (uint)((i * 2654435761u) >> 7)).ToArray();
        using var v = _acc.Allocate1D(values);
        using var bins = _acc.Allocate1D<int>(17);
        _acc.LoadAutoGroupedKernel<ArrayView<uint>, ArrayView<int>>(ConformanceKernels.Histogram)(values.Length, v.View, bins.View);
        var expected = new int[17];
        foreach (var x in values)
        {
            expected[x % 17]++;
        }

        Assert.Equal(expected, bins.GetAsArray1D());
    }

    [Fact]
    public void Compare_exchange_loop_finds_the_maximum()
    {
        var values = Enumerable.Range(0, 4096).Select(i => (i * 7919) % 100_003).ToArray();
        using var v = _acc.Allocate1D(values);
        using var max = _acc.Allocate1D(new[] { int.MinValue });
        _acc.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>>(ConformanceKernels.CasMax)(values.Length, v.View, max.View);
        Assert.Equal(values.Max(), max.GetAsArray1D()[0]);
    }

    [Fact]
    public void Sixty_four_bit_adds_go_past_two_to_the_thirty_two()
    {
        using var sum = _acc.Allocate1D<long>(1);
        _acc.LoadAutoGroupedKernel<ArrayView<long>, long>(ConformanceKernels.WideAdd)(3000, sum.View, 3_000_000L);
        Assert.Equal(9_000_000_000L, sum.GetAsArray1D()[0]);
    }

    [Fact]
    public void A_kernel_can_call_a_device_function()
    {
        using var output = _acc.Allocate1D<int>(100);
        _acc.LoadAutoGroupedKernel<ArrayView<int>>(ConformanceKernels.CallsDeviceFunction)(100, output.View);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (i * i) - i), output.GetAsArray1D());
    }

    [Fact]
    public void Every_atomic_returns_the_old_value_and_combines_correctly()
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

        using var cells = _acc.Allocate1D(new[] { 0L, 0L, 0L });
        using var ucells = _acc.Allocate1D(new[] { 0u, uint.MaxValue, 0u });
        _acc.LoadAutoGroupedKernel<ArrayView<long>, ArrayView<uint>>(ConformanceKernels.AllAtomics)(64, cells.View, ucells.View);
        Assert.Equal(new[] { -63L, 63L, 7L }, cells.GetAsArray1D());
        Assert.Equal(new[] { uint.MaxValue, 0u, 0u }, ucells.GetAsArray1D());
    }

    [Fact]
    public void Explicit_group_size_sets_group_and_grid_indices()
    {
        using var gi = _acc.Allocate1D<int>(100);
        using var gd = _acc.Allocate1D<int>(100);
        using var li = _acc.Allocate1D<int>(100);
        _acc.LoadStreamKernel<ArrayView<int>, ArrayView<int>, ArrayView<int>>(ConformanceKernels.GroupIndices)(_acc.DefaultStream, 100, 32, gi.View, gd.View, li.View);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i / 32), gi.GetAsArray1D());
        Assert.All(gd.GetAsArray1D(), d => Assert.Equal(32, d));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i % 32), li.GetAsArray1D());
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
    }

    /// <summary>
    /// The exclusivity check must be able to fail: with the emulated non-coherent link, kernel atomics
    /// on host-mapped memory racing CPU atomics lose updates; with a coherent link none are lost.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public unsafe void Non_coherent_host_atomics_lose_updates_and_coherent_ones_do_not(bool nonCoherent)
    {
        var cpu = (CpuAccelerator)_acc;
        cpu.NonCoherentHostAtomics = nonCoherent;
        var p = (long*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(8);
        try
        {
            using var mapped = cpu.MapHost(p, 1);
            const int DeviceOps = 20_000;
            var stop = false;
            var hostDone = 0L;
            using var running = new ManualResetEventSlim();
            var racer = new Thread(() =>
            {
                running.Set();
                while (!Volatile.Read(ref stop))
                {
                    Interlocked.Increment(ref *p);
                    hostDone++;
                }
            });
            racer.Start();
            Assert.True(running.Wait(TimeSpan.FromSeconds(10)));
            cpu.LoadAutoGroupedKernel<ArrayView<long>, long>(ConformanceKernels.WideAdd)(DeviceOps, mapped.View, 1L);
            Volatile.Write(ref stop, true);
            racer.Join();
            var lost = DeviceOps + hostDone - Volatile.Read(ref *p);
            Assert.Equal(nonCoherent, lost > 0);
            Assert.False(cpu.HostAtomicsCoherent == nonCoherent);
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(p);
        }
    }

    private static void NotAKernel(Index1D i, ArrayView<int> v)
    {
        v[i] = 0;
    }
}
