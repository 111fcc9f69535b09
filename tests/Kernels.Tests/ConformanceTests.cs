namespace Testbed.Kernels.Tests;

/// <summary>
/// The conformance suite: each kernel on every available backend (Cpu always, OpenCl where a device
/// exists, PoCL in CI) with the same expected results.
/// </summary>
public sealed class ConformanceTests
{
    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Map_applies_the_function_elementwise(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        var input = Enumerable.Range(0, 1000).ToArray();
        using var a = acc.Allocate1D(input);
        using var b = acc.Allocate1D<int>(1000);
        acc.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map)(1000, a.View, b.View, 3);
        acc.Synchronize();
        Assert.Equal(input.Select(x => (x * 3) + 1), b.GetAsArray1D());
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void A_launch_allocates_nothing_once_warm(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        using var a = acc.Allocate1D(Enumerable.Range(0, 256).ToArray());
        using var b = acc.Allocate1D<int>(256);
        var map = acc.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map);
        var count = acc.LoadAutoGroupedKernel<ArrayView<int>, int>(ConformanceKernels.Count);
        long allocated = 0;
        for (var round = 0; round < 4; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            map(256, a.View, b.View.SubView(0, 256), 3);
            count(256, a.View, 1);
            acc.Synchronize();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(0, allocated);
        Assert.Equal(Enumerable.Range(0, 256).Sum() + (4 * 256), a.GetAsArray1D().Sum());
    }

    [OpenClFact]
    public void A_device_backend_refuses_a_view_of_another_accelerators_buffer_by_argument()
    {
        using var acc = Backends.Create(AcceleratorType.OpenCl);
        using var cpu = Backends.Create(AcceleratorType.Cpu);
        using var mine = acc.Allocate1D<int>(16);
        using var theirs = cpu.Allocate1D<int>(16);
        var map = acc.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map);
        var e = Assert.Throws<ArgumentException>(() => map(16, mine.View, theirs.View, 3));
        Assert.Equal("Launch of Map: argument 2 is a view of a buffer of another accelerator.", e.Message);
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Sub_views_address_their_own_elements(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        var input = Enumerable.Range(0, 200).ToArray();
        using var a = acc.Allocate1D(input);
        using var b = acc.Allocate1D<int>(200);
        acc.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map)(50, a.View.SubView(100, 50), b.View.SubView(10, 50), 2);
        acc.Synchronize();
        var expected = new int[200];
        for (var i = 0; i < 50; i++)
        {
            expected[10 + i] = (input[100 + i] * 2) + 1;
        }

        Assert.Equal(expected, b.GetAsArray1D());
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Counter_increments_are_exact(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        using var counters = acc.Allocate1D<int>(64);
        acc.LoadAutoGroupedKernel<ArrayView<int>, int>(ConformanceKernels.Count)(10_000, counters.View, 13);
        Assert.Equal(Enumerable.Repeat(10_000 * 13 / 64, 64).Sum(), counters.GetAsArray1D().Sum() - (10_000 * 13 % 64));
        Assert.Equal(10_000 * 13, counters.GetAsArray1D().Sum());
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Histogram_matches_a_sequential_count(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        var values = Enumerable.Range(0, 5000).Select(i => (uint)((i * 2654435761u) >> 7)).ToArray();
        using var v = acc.Allocate1D(values);
        using var bins = acc.Allocate1D<int>(17);
        acc.LoadAutoGroupedKernel<ArrayView<uint>, ArrayView<int>>(ConformanceKernels.Histogram)(values.Length, v.View, bins.View);
        var expected = new int[17];
        foreach (var x in values)
        {
            expected[x % 17]++;
        }

        Assert.Equal(expected, bins.GetAsArray1D());
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Compare_exchange_loop_finds_the_maximum(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        var values = Enumerable.Range(0, 4096).Select(i => (i * 7919) % 100_003).ToArray();
        using var v = acc.Allocate1D(values);
        using var max = acc.Allocate1D(new[] { int.MinValue });
        acc.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>>(ConformanceKernels.CasMax)(values.Length, v.View, max.View);
        Assert.Equal(values.Max(), max.GetAsArray1D()[0]);
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Sixty_four_bit_adds_go_past_two_to_the_thirty_two(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        using var sum = acc.Allocate1D<long>(1);
        acc.LoadAutoGroupedKernel<ArrayView<long>, long>(ConformanceKernels.WideAdd)(3000, sum.View, 3_000_000L);
        Assert.Equal(9_000_000_000L, sum.GetAsArray1D()[0]);
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void A_kernel_can_call_a_device_function(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        using var output = acc.Allocate1D<int>(100);
        acc.LoadAutoGroupedKernel<ArrayView<int>>(ConformanceKernels.CallsDeviceFunction)(100, output.View);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (i * i) - i), output.GetAsArray1D());
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Min_max_and_or_xor_exchange_combine_correctly(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        using var cells = acc.Allocate1D(new[] { 0L, 0L, 0L });
        using var ucells = acc.Allocate1D(new[] { 0u, uint.MaxValue, 0u });
        acc.LoadAutoGroupedKernel<ArrayView<long>, ArrayView<uint>>(ConformanceKernels.AllAtomics)(64, cells.View, ucells.View);
        acc.Synchronize();
        Assert.Equal(new[] { -63L, 63L, 7L }, cells.GetAsArray1D());
        Assert.Equal(new[] { uint.MaxValue, 0u, 0u }, ucells.GetAsArray1D());
    }

    [Theory]
    [MemberData(nameof(Backends.Available), MemberType = typeof(Backends))]
    public void Explicit_group_size_sets_group_and_grid_indices(AcceleratorType type)
    {
        using var acc = Backends.Create(type);
        using var gi = acc.Allocate1D<int>(100);
        using var gd = acc.Allocate1D<int>(100);
        using var li = acc.Allocate1D<int>(100);
        acc.LoadStreamKernel<ArrayView<int>, ArrayView<int>, ArrayView<int>>(ConformanceKernels.GroupIndices)(acc.DefaultStream, 100, 32, gi.View, gd.View, li.View);
        acc.Synchronize();
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i / 32), gi.GetAsArray1D());
        Assert.All(gd.GetAsArray1D(), d => Assert.Equal(32, d));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i % 32), li.GetAsArray1D());
    }
}

/// <summary>OpenCL specifics: the probe, and what a build failure reports.</summary>
public sealed class OpenClTests
{
    [OpenClFact]
    public void OpenCl_device_is_found_and_runs_the_generated_code()
    {
        using var acc = Backends.Create(AcceleratorType.OpenCl);
        Assert.Equal(AcceleratorType.OpenCl, acc.AcceleratorType);
        Assert.False(string.IsNullOrWhiteSpace(acc.Name));
        using var output = acc.Allocate1D<int>(10);
        acc.LoadAutoGroupedKernel<ArrayView<int>>(ConformanceKernels.CallsDeviceFunction)(10, output.View);
        acc.Synchronize();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (i * i) - i), output.GetAsArray1D());
    }

    [Fact]
    public void Every_device_is_either_available_or_says_why_not()
    {
        using var context = Context.CreateDefault();
        Assert.All(context.Devices, d => Assert.True(d.IsAvailable ^ (d.UnavailableReason is not null), d.ToString()));
        Assert.Contains(context.Devices, d => d.AcceleratorType == AcceleratorType.OpenCl);
        Assert.Contains(context.Devices, d => d.AcceleratorType == AcceleratorType.Cuda);
    }
}

/// <summary>CUDA specifics; the conformance theories above also run on Cuda wherever a device exists.</summary>
public sealed class CudaTests
{
    [CudaFact]
    public unsafe void Cuda_runs_the_generated_code_and_reports_host_atomic_coherence()
    {
        using var acc = Backends.Create(AcceleratorType.Cuda);
        using var output = acc.Allocate1D<int>(10);
        acc.LoadAutoGroupedKernel<ArrayView<int>>(ConformanceKernels.CallsDeviceFunction)(10, output.View);
        acc.Synchronize();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (i * i) - i), output.GetAsArray1D());

        // Host Interlocked.Add racing device atomicAdd on mapped pinned memory: lost only on an incoherent link.
        var host = (long*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(4096);
        try
        {
            using var mapped = acc.MapHost(host, 1);
            var stop = false;
            long hostOps = 0;
            var racer = new Thread(() =>
            {
                while (!Volatile.Read(ref stop))
                {
                    Interlocked.Increment(ref *host);
                    hostOps++;
                }
            });
            racer.Start();
            acc.LoadAutoGroupedKernel<ArrayView<long>, long>(ConformanceKernels.WideAdd)(1 << 20, mapped.View, 1L);
            acc.Synchronize();
            Volatile.Write(ref stop, true);
            racer.Join();
            var lost = (1 << 20) + hostOps - Volatile.Read(ref *host);
            Assert.True(acc.HostAtomicsCoherent ? lost == 0 : lost >= 0, $"lost {lost} with HostAtomicsCoherent={acc.HostAtomicsCoherent}");
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(host);
        }
    }

    [Fact]
    public void Without_a_driver_cuda_is_listed_unavailable_with_the_reason()
    {
        using var context = Context.CreateDefault();
        var cuda = context.Devices.Where(d => d.AcceleratorType == AcceleratorType.Cuda).ToArray();
        Assert.NotEmpty(cuda);
        Assert.All(cuda, d => Assert.True(d.IsAvailable || d.UnavailableReason!.Length > 0));
        if (!cuda[0].IsAvailable)
        {
            var e = Assert.Throws<InvalidOperationException>(cuda[0].CreateAccelerator);
            Assert.Contains(cuda[0].UnavailableReason!, e.Message);
        }
    }
}
