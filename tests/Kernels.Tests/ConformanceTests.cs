using ILGPU;
using ILGPU.Runtime;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Kernels.Tests;

/// <summary>
/// The conformance suite: each kernel of <see cref="ConformanceKernels"/> on every available
/// accelerator — the direct cpu runner and ILGPU's CPU accelerator always, a GPU where one exists —
/// with the same expected result.
/// </summary>
public sealed class ConformanceTests
{
    [Theory]
    [MemberData(nameof(Runners.Available), MemberType = typeof(Runners))]
    public void Map_applies_the_function_elementwise(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        var input = Enumerable.Range(0, 1000).ToArray();
        using var a = runner.Allocate1D<int>(input);
        using var b = runner.Allocate1D<int>(1000);
        runner.LoadAutoGroupedStreamKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map)(1000, a.View, b.View, 3);
        runner.Synchronize();
        Assert.Equal(input.Select(x => (x * 3) + 1), runner.GetAsArray<int>(b.View));
    }

    [Theory]
    [MemberData(nameof(Runners.Available), MemberType = typeof(Runners))]
    public void Sub_views_address_their_own_elements(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        var input = Enumerable.Range(0, 200).ToArray();
        using var a = runner.Allocate1D<int>(input);
        using var b = runner.Allocate1D<int>(200);
        ArrayView<int> from = a.View;
        ArrayView<int> to = b.View;
        runner.LoadAutoGroupedStreamKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map)(50, from.SubView(100, 50), to.SubView(10, 50), 2);
        runner.Synchronize();
        var expected = new int[200];
        for (var i = 0; i < 50; i++)
        {
            expected[10 + i] = (input[100 + i] * 2) + 1;
        }

        Assert.Equal(expected, runner.GetAsArray<int>(b.View));
    }

    [Theory]
    [MemberData(nameof(Runners.Available), MemberType = typeof(Runners))]
    public void Counter_increments_are_exact(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        using var counters = runner.Allocate1D<int>(64);
        runner.LoadAutoGroupedStreamKernel<ArrayView<int>, int>(ConformanceKernels.Count)(10_000, counters.View, 13);
        runner.Synchronize();
        var values = runner.GetAsArray<int>(counters.View);
        Assert.Equal(10_000 * 13, values.Sum());
        Assert.All(values, v => Assert.InRange(v, (10_000 * 13 / 64) - 13, (10_000 * 13 / 64) + 13));
    }

    [Theory]
    [MemberData(nameof(Runners.Available), MemberType = typeof(Runners))]
    public void Histogram_matches_a_sequential_count(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        var values = Enumerable.Range(0, 5000).Select(i => (uint)((i * 2654435761u) >> 7)).ToArray();
        using var v = runner.Allocate1D<uint>(values);
        using var bins = runner.Allocate1D<int>(17);
        runner.LoadAutoGroupedStreamKernel<ArrayView<uint>, ArrayView<int>>(ConformanceKernels.Histogram)(values.Length, v.View, bins.View);
        runner.Synchronize();
        var expected = new int[17];
        foreach (var x in values)
        {
            expected[x % 17]++;
        }

        Assert.Equal(expected, runner.GetAsArray<int>(bins.View));
    }

    [Theory]
    [MemberData(nameof(Runners.Available), MemberType = typeof(Runners))]
    public void Compare_exchange_loop_finds_the_maximum(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        var values = Enumerable.Range(0, 4096).Select(i => (i * 7919) % 100_003).ToArray();
        using var v = runner.Allocate1D<int>(values);
        using var max = runner.Allocate1D<int>(new[] { int.MinValue });
        runner.LoadAutoGroupedStreamKernel<ArrayView<int>, ArrayView<int>>(ConformanceKernels.CasMax)(values.Length, v.View, max.View);
        runner.Synchronize();
        Assert.Equal(values.Max(), runner.GetAsArray<int>(max.View)[0]);
    }

    [Theory]
    [MemberData(nameof(Runners.Available), MemberType = typeof(Runners))]
    public void Sixty_four_bit_adds_go_past_two_to_the_thirty_two(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        using var sum = runner.Allocate1D<long>(1);
        runner.LoadAutoGroupedStreamKernel<ArrayView<long>, long>(ConformanceKernels.WideAdd)(3000, sum.View, 3_000_000L);
        runner.Synchronize();
        Assert.Equal(9_000_000_000L, runner.GetAsArray<long>(sum.View)[0]);
    }

    [Theory]
    [MemberData(nameof(Runners.Available), MemberType = typeof(Runners))]
    public void A_kernel_can_call_a_device_function(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        using var output = runner.Allocate1D<int>(100);
        runner.LoadAutoGroupedStreamKernel<ArrayView<int>>(ConformanceKernels.CallsDeviceFunction)(100, output.View);
        runner.Synchronize();
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (i * i) - i), runner.GetAsArray<int>(output.View));
    }

    [Theory]
    [MemberData(nameof(Runners.Available), MemberType = typeof(Runners))]
    public void Min_max_and_or_xor_exchange_combine_correctly(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        using var cells = runner.Allocate1D<long>(new[] { 0L, 0L, 0L });
        using var ucells = runner.Allocate1D<uint>(new[] { 0u, uint.MaxValue, 0u });
        runner.LoadAutoGroupedStreamKernel<ArrayView<long>, ArrayView<uint>>(ConformanceKernels.AllAtomics)(64, cells.View, ucells.View);
        runner.Synchronize();
        Assert.Equal(new[] { -63L, 63L, 7L }, runner.GetAsArray<long>(cells.View));
        Assert.Equal(new[] { uint.MaxValue, 0u, 0u }, runner.GetAsArray<uint>(ucells.View));
    }

    [Theory]
    [MemberData(nameof(Runners.Available), MemberType = typeof(Runners))]
    public void An_empty_launch_does_nothing_and_a_negative_extent_is_refused(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        using var output = runner.Allocate1D<int>(new[] { 9, 9, 9, 9 });
        var launch = runner.LoadAutoGroupedStreamKernel<ArrayView<int>>(ConformanceKernels.CallsDeviceFunction);
        launch(0, output.View);
        runner.Synchronize();
        Assert.Equal([9, 9, 9, 9], runner.GetAsArray<int>(output.View));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => launch(-1, output.View));
        Assert.Contains("Launch of ConformanceKernels.CallsDeviceFunction: the extent -1 is negative.", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Runners.RunningAlgorithms), MemberType = typeof(Runners))]
    public void An_explicitly_grouped_kernel_with_shared_memory_and_barriers_runs_on_ilgpus_accelerators(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        var input = Enumerable.Range(1, 64).ToArray();
        var group = Math.Min(16, runner.Accelerator.MaxNumThreadsPerGroup);
        using var data = runner.Allocate1D<int>(input);
        using var sums = runner.Allocate1D<int>(64 / group);
        var launch = runner.Accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<int>>(ConformanceKernels.GroupSums);
        launch(new KernelConfig(64 / group, group), data.View, sums.View);
        runner.Synchronize();
        Assert.Equal(Enumerable.Range(0, 64 / group).Select(g => input.Skip(g * group).Take(group).Sum()), runner.GetAsArray<int>(sums.View));
    }

    [Fact]
    public void The_direct_runner_refuses_a_kernel_that_needs_groups_naming_it_and_the_alternative()
    {
        using var runner = Runners.Create(AcceleratorKind.Cpu);
        var e = Assert.Throws<NotSupportedException>(() => runner.LoadAutoGroupedStreamKernel<ArrayView<int>>(ConformanceKernels.BarrierInImplicitGroup));
        Assert.Contains("ConformanceKernels.BarrierInImplicitGroup", e.Message, StringComparison.Ordinal);
        Assert.Contains("ILGPU.Group.Barrier", e.Message, StringComparison.Ordinal);
        Assert.Contains("ilgpu-cpu", e.Message, StringComparison.Ordinal);
    }
}
