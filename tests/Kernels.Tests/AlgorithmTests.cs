using ILGPU;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Algorithms;

namespace Testbed.Kernels.Tests;

/// <summary>
/// ILGPU.Algorithms where the device side uses them, at small sizes on ILGPU's CPU accelerator (and on
/// a GPU where one exists): a range's 64-bit sum, and a fault batch sorted and coalesced on the device
/// exactly as the host would. On the direct cpu runner the host sums in place and the sorter is refused.
/// </summary>
public sealed class AlgorithmTests
{
    [Theory]
    [MemberData(nameof(Runners.Available), MemberType = typeof(Runners))]
    public void A_sum_of_words_is_exact_in_sixty_four_bits(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        var rng = new Random(7);
        var values = Enumerable.Range(0, 3000).Select(_ => rng.Next(int.MinValue, int.MaxValue)).Append(int.MaxValue).Append(int.MaxValue).ToArray();
        using var buffer = runner.Allocate1D<int>(values);
        Assert.Equal(values.Sum(v => (long)v), DeviceAlgorithms.Sum(runner, buffer.View));
        ArrayView<int> view = buffer.View;
        Assert.Equal(values.Skip(10).Take(7).Sum(v => (long)v), DeviceAlgorithms.Sum(runner, view.SubView(10, 7)));
    }

    [Theory]
    [MemberData(nameof(Runners.RunningAlgorithms), MemberType = typeof(Runners))]
    public void A_fault_batch_sorted_on_the_device_keeps_one_record_per_page_with_the_strongest_access(AcceleratorKind kind)
    {
        using var runner = Runners.Create(kind);
        const int Capacity = 300;
        using var sorter = new DeviceFaultSorter(runner, Capacity);
        using var buffer = runner.Allocate1D<int>(Capacity);
        ArrayView<int> view = buffer.View;
        var rng = new Random(3);
        foreach (var count in new[] { 0, 1, 2, 17, 120, Capacity })
        {
            var records = Enumerable.Range(0, count).Select(_ => (rng.Next(0, 40) * 4) + rng.Next(0, 3)).ToArray();
            runner.CopyFromCPU(view, records);
            var distinct = sorter.SortUnique(view.SubView(0, count));
            var expected = records.GroupBy(r => r >> 2).OrderBy(g => g.Key).Select(g => (g.Key * 4) + g.Max(r => r & 3)).ToArray();
            Assert.Equal(expected, runner.GetAsArray<int>(view).Take(distinct));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => sorter.SortUnique(runner.Allocate1D<int>(Capacity + 1).View));
    }

    [Fact]
    public void The_direct_runner_has_no_device_sorter()
    {
        using var runner = Runners.Create(AcceleratorKind.Cpu);
        var e = Assert.Throws<NotSupportedException>(() => new DeviceFaultSorter(runner, 16));
        Assert.Contains("the host sorts there", e.Message, StringComparison.Ordinal);
    }
}
