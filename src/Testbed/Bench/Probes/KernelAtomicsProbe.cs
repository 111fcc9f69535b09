using Testbed.Driver;
using Testbed.Driver.Policies;
using ILGPU;
using Testbed.Kernels.Accelerators;
using Testbed.Results;
using Testbed.Scenarios;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Bench.Probes;

/// <summary>
/// Kernel atomics through the device page table (<see cref="MirrorWorkload.DeviceOps"/>: translate
/// each address, then <c>Atomic.Add</c> on device memory) against the same adds on a plain device
/// buffer (<see cref="BenchmarkKernels.PlainAdds"/>), on one accelerator. Every page is resident on the
/// device and one launch does all the work, so no fault is taken: this is translation's cost alone,
/// plus the driver's per-launch work (page-table upload check, progress counters, header read back).
/// </summary>
public sealed class KernelAtomicsProbe(AcceleratorEntry device) : IBenchProbe
{
    private const int Pages = 64;
    private const int Items = 4096;
    private const int OpsPerItem = 64;

    /// <inheritdoc/>
    public string Name => "kernel-atomics";

    /// <inheritdoc/>
    public string Summary => "kernel atomics through the device page table vs the same kernel on a plain buffer";

    /// <inheritdoc/>
    public IReadOnlyList<BenchTarget> Targets { get; } = BenchSettings.Informational(device) ? [] : [new("ratio", 0.5, AtLeast: true, "x", "of the plain kernel")];

    /// <inheritdoc/>
    public PolicyRun Run(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var rig = new ScenarioRig(settings.Context(device), LinkCoherence.Native, BenchSettings.Kernel());
        var va = rig.Map(Pages);
        var mirror = rig.Mirror(va, Pages, new MigratePolicy(), new MirrorOptions { DevicePages = Pages, ChunkPages = Pages, OpsPerLaunch = OpsPerItem });
        var words = Pages * rig.WordsPerPage;
        var work = DeviceWork.Adds(items: Items, opsPerItem: OpsPerItem, firstWord: 0, span: words, stride: rig.WordsPerPage + 1);
        ScenarioRig.Check(mirror.MigrateToDevice(va, Pages), $"MigrateToDevice: {mirror.LastError}");
        ScenarioRig.Check(mirror.Run(work), $"Run: {mirror.LastError}");
        var acc = rig.Runner;
        using var plain = acc.Allocate1D<int>(words);
        var launch = acc.LoadAutoGroupedStreamKernel<ArrayView<int>, DeviceWork>(BenchmarkKernels.PlainAdds);
        var replays = mirror.Counters.Replays;
        var (bare, translated) = Timing.PerOpPair(
            () =>
            {
                launch(Items, plain.View, work);
                acc.Synchronize();
            },
            Items * OpsPerItem,
            () => ScenarioRig.Check(mirror.Run(work), $"Run: {mirror.LastError}"),
            Items * OpsPerItem,
            settings.Budget);
        var faulted = mirror.Counters.Replays - replays;
        var backend = device.Kind.Name();
        return BenchRun.Of(this, backend, new Dictionary<string, Metric>
        {
            ["ratio"] = new(bare / translated, "x"),
            ["plain_ns_per_op"] = new(bare * 1e9, "ns"),
            ["translated_ns_per_op"] = new(translated * 1e9, "ns"),
        }, $"{Items * OpsPerItem} adds per launch on {device.Name}: {bare * 1e9:0.00} ns plain, {translated * 1e9:0.00} ns translated", [new Invariant("no_faults", faulted == 0, $"{faulted} replays while timing (every page should stay resident)"), .. rig.TearDown()]);
    }
}
