using ILGPU;
using Testbed.Kernels.Algorithms;
using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Conformance;

public static partial class ConformanceSuite
{
    private static ConformanceCheck[] AlgorithmChecks =>
    [
        new("sum", "a range's 64-bit sum (ILGPU.Algorithms' reduce; the host on the cpu runner)", Sum),
        new("fault-sort", "a fault batch sorted and coalesced on the device (radix sort, unique) as the host would", FaultSort, r => r.RunsAlgorithms),
    ];

    private static ConformanceOutcome Sum(KernelRunner runner)
    {
        var rng = new Random(7);
        var values = Enumerable.Range(0, 3000).Select(_ => rng.Next(int.MinValue, int.MaxValue)).Append(int.MaxValue).Append(int.MaxValue).ToArray();
        using var buffer = runner.Allocate1D<int>(values);
        ArrayView<int> view = buffer.View;
        var whole = ConformanceOutcome.Same([values.Sum(v => (long)v)], [DeviceAlgorithms.Sum(runner, view)], "sum of 3002 words");
        return whole.Held ? ConformanceOutcome.Same([values.Skip(10).Take(7).Sum(v => (long)v)], [DeviceAlgorithms.Sum(runner, view.SubView(10, 7))], "sum of a sub-view") : whole;
    }

    private static ConformanceOutcome FaultSort(KernelRunner runner)
    {
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
            var outcome = ConformanceOutcome.Same(expected, [.. runner.GetAsArray<int>(view).Take(distinct)], $"a batch of {count}");
            if (!outcome.Held)
            {
                return outcome;
            }
        }

        return ConformanceOutcome.Pass("batches of 0 to 300 records: one per page, ascending, the strongest access kept");
    }
}
