using ILGPU;
using ILGPU.Runtime;
using Testbed.Kernels.DeviceCode;
using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Conformance;

public static partial class ConformanceSuite
{
    private static ConformanceCheck[] KernelChecks =>
    [
        new("map", "output[i] = input[i] * 3 + 1 over 1000 items", Map),
        new("sub-views", "a kernel on sub-views addresses their own elements", SubViews),
        new("counters", "10,000 items x 13 atomic adds over 64 counters, none lost", Counters),
        new("histogram", "atomic histogram of 5000 values equals a sequential count", Histogram),
        new("compare-exchange", "a compare-and-swap loop finds the maximum of 4096 values", CompareExchange),
        new("wide-adds", "64-bit atomic adds go past 2^32", WideAdds),
        new("device-function", "a kernel calls a device function", DeviceFunction),
        new("all-atomics", "min, max, or, and, xor and exchange combine correctly", AllAtomics),
        new("empty-launch", "an empty extent launches nothing; a negative one is refused", EmptyLaunch),
        new("explicit-groups", "an explicitly grouped kernel with shared memory and barriers", ExplicitGroups, r => r.RunsAlgorithms),
    ];

    private static ConformanceOutcome Map(KernelRunner runner)
    {
        var input = Enumerable.Range(0, 1000).ToArray();
        using var a = runner.Allocate1D<int>(input);
        using var b = runner.Allocate1D<int>(1000);
        runner.LoadAutoGroupedStreamKernel<ArrayView<int>, ArrayView<int>, int>(ConformanceKernels.Map)(1000, a.View, b.View, 3);
        runner.Synchronize();
        return ConformanceOutcome.Same([.. input.Select(x => (x * 3) + 1)], runner.GetAsArray<int>(b.View), "output");
    }

    private static ConformanceOutcome SubViews(KernelRunner runner)
    {
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

        return ConformanceOutcome.Same(expected, runner.GetAsArray<int>(b.View), "output");
    }

    private static ConformanceOutcome Counters(KernelRunner runner)
    {
        using var counters = runner.Allocate1D<int>(64);
        runner.LoadAutoGroupedStreamKernel<ArrayView<int>, int>(ConformanceKernels.Count)(10_000, counters.View, 13);
        runner.Synchronize();
        var values = runner.GetAsArray<int>(counters.View);

        // Item i adds to counters i .. i + 12 (mod 64): counter c gets one add from every item i with (c - i) mod 64 < 13.
        var expected = new int[64];
        for (var i = 0; i < 10_000; i++)
        {
            for (var k = 0; k < 13; k++)
            {
                expected[(i + k) % 64]++;
            }
        }

        return ConformanceOutcome.Same(expected, values, "counters");
    }

    private static ConformanceOutcome Histogram(KernelRunner runner)
    {
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

        return ConformanceOutcome.Same(expected, runner.GetAsArray<int>(bins.View), "bins");
    }

    private static ConformanceOutcome CompareExchange(KernelRunner runner)
    {
        var values = Enumerable.Range(0, 4096).Select(i => (i * 7919) % 100_003).ToArray();
        using var v = runner.Allocate1D<int>(values);
        using var max = runner.Allocate1D<int>([int.MinValue]);
        runner.LoadAutoGroupedStreamKernel<ArrayView<int>, ArrayView<int>>(ConformanceKernels.CasMax)(values.Length, v.View, max.View);
        runner.Synchronize();
        return ConformanceOutcome.Same([values.Max()], runner.GetAsArray<int>(max.View), "maximum");
    }

    private static ConformanceOutcome WideAdds(KernelRunner runner)
    {
        using var sum = runner.Allocate1D<long>(1);
        runner.LoadAutoGroupedStreamKernel<ArrayView<long>, long>(ConformanceKernels.WideAdd)(3000, sum.View, 3_000_000L);
        runner.Synchronize();
        return ConformanceOutcome.Same([9_000_000_000L], runner.GetAsArray<long>(sum.View), "sum");
    }

    private static ConformanceOutcome DeviceFunction(KernelRunner runner)
    {
        using var output = runner.Allocate1D<int>(100);
        runner.LoadAutoGroupedStreamKernel<ArrayView<int>>(ConformanceKernels.CallsDeviceFunction)(100, output.View);
        runner.Synchronize();
        return ConformanceOutcome.Same([.. Enumerable.Range(0, 100).Select(i => (i * i) - i)], runner.GetAsArray<int>(output.View), "output");
    }

    private static ConformanceOutcome AllAtomics(KernelRunner runner)
    {
        using var cells = runner.Allocate1D<long>([0L, 0L, 0L]);
        using var ucells = runner.Allocate1D<uint>([0u, uint.MaxValue, 0u]);
        runner.LoadAutoGroupedStreamKernel<ArrayView<long>, ArrayView<uint>>(ConformanceKernels.AllAtomics)(64, cells.View, ucells.View);
        runner.Synchronize();
        var signed = ConformanceOutcome.Same([-63L, 63L, 7L], runner.GetAsArray<long>(cells.View), "min, max, exchange");
        return signed.Held ? ConformanceOutcome.Same([uint.MaxValue, 0u, 0u], runner.GetAsArray<uint>(ucells.View), "or, and, xor") : signed;
    }

    private static ConformanceOutcome EmptyLaunch(KernelRunner runner)
    {
        using var output = runner.Allocate1D<int>([9, 9, 9, 9]);
        var launch = runner.LoadAutoGroupedStreamKernel<ArrayView<int>>(ConformanceKernels.CallsDeviceFunction);
        launch(0, output.View);
        runner.Synchronize();
        try
        {
            launch(-1, output.View);
            return ConformanceOutcome.Fail("a launch over -1 items was not refused");
        }
        catch (ArgumentOutOfRangeException e) when (e.Message.Contains("the extent -1 is negative", StringComparison.Ordinal))
        {
            return ConformanceOutcome.Same([9, 9, 9, 9], runner.GetAsArray<int>(output.View), "after an empty launch");
        }
    }

    private static ConformanceOutcome ExplicitGroups(KernelRunner runner)
    {
        var group = Math.Min(16, runner.Accelerator.MaxNumThreadsPerGroup);
        var input = Enumerable.Range(1, 64).ToArray();
        using var data = runner.Allocate1D<int>(input);
        using var sums = runner.Allocate1D<int>(64 / group);
        runner.Accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<int>>(ConformanceKernels.GroupSums)(new KernelConfig(64 / group, group), data.View, sums.View);
        runner.Synchronize();
        return ConformanceOutcome.Same([.. Enumerable.Range(0, 64 / group).Select(g => input.Skip(g * group).Take(group).Sum())], runner.GetAsArray<int>(sums.View), $"group sums ({group} threads per group)");
    }
}
