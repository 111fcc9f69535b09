using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm.Cpu;
using Testbed.Results;
using Testbed.Scenarios;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Bench.Probes;

/// <summary>
/// GPU fault batch service: a kernel touches pages that live in system memory, the driver drains
/// the fault buffer, coalesces and sorts it, and services it in batches under the <c>migrate</c>
/// policy (migrate each run of pages to the device and map it) before the replay. Measured: time
/// in fault service divided by faults serviced (launches excluded). UVMSmart assumes 45 µs per
/// far-fault on real hardware. The pages are evicted back (untimed) between samples.
/// </summary>
public sealed class FaultBatchProbe : IBenchProbe
{
    /// <inheritdoc/>
    public string Name => "fault-batch";

    /// <inheritdoc/>
    public string Summary => "GPU fault batch service (batch 256, migrate policy): time per fault";

    /// <inheritdoc/>
    public IReadOnlyList<BenchTarget> Targets { get; } = [new("us_per_fault", 5, AtLeast: false, "us")];

    /// <inheritdoc/>
    public PolicyRun Run(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var pages = settings.Pick(1024, 4096);
        var us = Measure(settings, 256, pages, out var audit);
        return BenchRun.Of(this, "cpu", new Dictionary<string, Metric>
        {
            ["us_per_fault"] = new(us, "us"),
        }, $"{pages} faulting pages per launch, batches of 256", audit);
    }

    /// <summary>Median µs of fault service per fault with batches of <paramref name="batch"/> over <paramref name="pages"/> faulting pages.</summary>
    public static double Measure(BenchSettings settings, int batch, int pages, out IReadOnlyList<Invariant> audit)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var rig = new ScenarioRig(settings.Context(), LinkCoherence.Native, BenchSettings.Kernel(((long)pages * 4096 * 2) + (64L << 20)));
        var va = rig.Map(pages);
        var mirror = rig.Mirror(va, pages, new MigratePolicy(), new MirrorOptions { DevicePages = pages, ChunkPages = pages / 8, FaultBatchSize = batch, FaultBufferCapacity = pages });
        using (var cpu = new CpuContext(rig.Mm))
        {
            rig.CpuWrite(cpu, va, new int[pages * rig.WordsPerPage]);
        }

        var work = DeviceWork.Adds(items: pages, opsPerItem: 1, firstWord: 0, span: (long)pages * rig.WordsPerPage, stride: rig.WordsPerPage);
        var samples = new List<double>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (samples.Count < 3 || (clock.Elapsed < settings.Budget && samples.Count < 1000))
        {
            var (time, faults) = (mirror.Counters.FaultServiceTime, mirror.Counters.GpuFaults);
            ScenarioRig.Check(mirror.Run(work), $"Run: {mirror.LastError}");
            var serviced = mirror.Counters.GpuFaults - faults;
            if (serviced > 0)
            {
                samples.Add((mirror.Counters.FaultServiceTime - time).TotalMicroseconds / serviced);
            }

            mirror.EvictAll();
        }

        audit = rig.TearDown();
        return Timing.Median(samples);
    }
}
