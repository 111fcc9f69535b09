using ILGPU;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;
using Testbed.Results;

namespace Testbed.Bench.Probes;

/// <summary>
/// What a launch costs on one accelerator: the median time of a launch of 1 work item, of 256, and of
/// 2^20 items doing nothing (a trivial kernel over a large grid), each waited for; atomic adds per second of a launch of 2^18 items adding 16 times each to their own
/// counter; and the bytes a warm launch allocates on the launching thread. The mirror's replay loop
/// launches again after every fault batch, so on the direct cpu runner a launch of a small grid must
/// take under a microsecond and allocate nothing (the targets). On ILGPU's CPU accelerator the numbers
/// are the price of its reference semantics, for information; on a GPU they are the driver's launch
/// latency.
/// </summary>
public sealed class LaunchProbe(AcceleratorEntry device) : IBenchProbe
{
    private const int Items = 1 << 18;

    /// <summary>The share of the budget each of the four timings gets.</summary>
    private const int Timings = 4;
    private const int PerItem = 16;

    /// <inheritdoc/>
    public string Name => "kernel-launch";

    /// <inheritdoc/>
    public string Summary => "launch latency (1 and 256 work items), raw atomic throughput, bytes allocated per warm launch";

    /// <inheritdoc/>
    public IReadOnlyList<BenchTarget> Targets { get; } = device.Kind == AcceleratorKind.Cpu
        ? [new("launch_1_us", 1, AtLeast: false, "us", "for a launch of 1 work item"), new("allocated_bytes_per_launch", 0, AtLeast: false, "B", "once warm")]
        : [];

    /// <inheritdoc/>
    public PolicyRun Run(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var runner = device.CreateRunner();
        using var counters = runner.Allocate1D<int>(Items);
        var add = runner.LoadAutoGroupedStreamKernel<ArrayView<int>, int>(BenchmarkKernels.AddToCounters);
        var share = settings.Budget / Timings;
        var one = Timing.PerOp(() => Launch(add, 1, counters.View, runner), 1, share);
        var small = Timing.PerOp(() => Launch(add, 256, counters.View, runner), 1, share);
        var grid = Timing.PerOp(() => Launch(add, 1 << 20, counters.View, runner, 0), 1, share);
        var atomics = Timing.PerOp(() => Launch(add, Items, counters.View, runner, PerItem), Items * PerItem, share);
        const int Launches = 100;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Launches; i++)
        {
            Launch(add, 256, counters.View, runner);
        }

        var allocated = (double)(GC.GetAllocatedBytesForCurrentThread() - before) / Launches;

        // Every launch above added to counter i once per add; counter 0 saw all of them.
        runner.Clear<int>(counters.View);
        Launch(add, Items, counters.View, runner, PerItem);
        var values = runner.GetAsArray<int>(counters.View);
        var exact = values.All(v => v == PerItem);
        return BenchRun.Of(this, device.Kind.Name(), new Dictionary<string, Metric>
        {
            ["launch_1_us"] = new(one * 1e6, "us"),
            ["launch_256_us"] = new(small * 1e6, "us"),
            ["trivial_1m_us"] = new(grid * 1e6, "us"),
            ["atomics_mops_per_s"] = new(1e-6 / atomics, "M ops/s"),
            ["allocated_bytes_per_launch"] = new(allocated, "B"),
        }, $"on {device.Name}: a launch of 1 item {one * 1e6:0.0} µs, of 256 {small * 1e6:0.0} µs, of 2^20 doing nothing {grid * 1e3:0.0} ms; {1e-6 / atomics:0} M atomic adds/s; {allocated:0} B allocated per launch", [
            new Invariant("adds_exact", exact, exact ? $"all {Items} counters hold {PerItem}" : $"{values.Count(v => v != PerItem)} of {Items} counters do not hold {PerItem}"),
        ]);
    }

    private static void Launch(Action<Index1D, ArrayView<int>, int> add, int items, ArrayView<int> counters, Kernels.Runners.KernelRunner runner, int perItem = 1)
    {
        add(items, counters, perItem);
        runner.Synchronize();
    }
}
