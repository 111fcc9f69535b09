using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm.Cpu;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Bench.Probes;

/// <summary>
/// A CPU read of a page the device holds: TLB miss, the walk finds the device-private swap entry,
/// <c>DoSwapPage</c> calls the driver's <c>MigrateToRam</c>, which zaps the device's entry, copies
/// the 4 KiB back through the accelerator and finishes the migration; then the read retries.
/// Each sample is one such read; the page is migrated back to the device (untimed) between samples.
/// </summary>
public sealed class SwapFaultProbe : IBenchProbe
{
    /// <inheritdoc/>
    public string Name => "swap-fault";

    /// <inheritdoc/>
    public string Summary => "DoSwapPage + MigrateToRam of one 4 KiB page: latency of the faulting CPU read";

    /// <inheritdoc/>
    public IReadOnlyList<BenchTarget> Targets { get; } =
    [
        new("p50_us", 10, AtLeast: false, "us"),
        new("p99_us", 50, AtLeast: false, "us"),
    ];

    /// <inheritdoc/>
    public PolicyRun Run(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var rig = new ScenarioRig(settings.Context(), LinkCoherence.Native, BenchSettings.Kernel());
        var va = rig.Map(1);
        var mirror = rig.Mirror(va, 1, new MigratePolicy(), new MirrorOptions { DevicePages = 16, ChunkPages = 16 });
        var samples = new List<double>();
        using (var cpu = new CpuContext(rig.Mm))
        {
            ScenarioRig.Check(cpu.Write(va, 7), "write");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (samples.Count < 200 || (clock.Elapsed < settings.Budget && samples.Count < 200_000))
            {
                ScenarioRig.Check(mirror.MigrateToDevice(va, 1), $"MigrateToDevice: {mirror.LastError}");
                var err = HostMm.Errno.Ok;
                var value = 0;
                samples.Add(Timing.Once(() => err = cpu.Read(va, out value)) * 1e6);
                ScenarioRig.Check(err, "read");
                if (value != 7)
                {
                    throw new InvalidOperationException($"swap-fault: the page came back holding {value}, not 7");
                }
            }
        }

        var p50 = Percentiles.Of(samples, 50);
        var p99 = Percentiles.Of(samples, 99);
        return BenchRun.Of(this, "cpu", new Dictionary<string, Metric>
        {
            ["p50_us"] = new(p50, "us"),
            ["p99_us"] = new(p99, "us"),
            ["samples"] = new(samples.Count, "count"),
        }, $"{samples.Count} faults, {mirror.Counters.MigrationsToRam} migrations to RAM", rig.TearDown());
    }
}
