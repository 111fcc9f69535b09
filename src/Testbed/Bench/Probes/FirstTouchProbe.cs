using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Mm;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Bench.Probes;

/// <summary>Anonymous first-touch write faults on one core: TLB miss, walk, allocation, zeroing, PTE install.</summary>
public sealed class FirstTouchProbe : IBenchProbe
{
    /// <inheritdoc/>
    public string Name => "first-touch";

    /// <inheritdoc/>
    public string Summary => "anonymous first-touch write faults per second, one thread";

    /// <inheritdoc/>
    public IReadOnlyList<BenchTarget> Targets { get; } = [new("faults_per_s", 500_000, AtLeast: true, "faults/s")];

    /// <inheritdoc/>
    public PolicyRun Run(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var pages = settings.Pick(8192, 65536);
        var rate = Measure(settings, pages, out var audit);
        return BenchRun.Of(this, "cpu", new Dictionary<string, Metric>
        {
            ["faults_per_s"] = new(rate, "faults/s"),
            ["fault_ns"] = new(1e9 / rate, "ns"),
        }, $"{pages} pages per mapping", audit);
    }

    /// <summary>Median first-touch faults per second over mappings of <paramref name="pages"/> pages; the teardown audit in <paramref name="audit"/>.</summary>
    public static double Measure(BenchSettings settings, int pages, out IReadOnlyList<Invariant> audit)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var rig = new ScenarioRig(settings.Context(), LinkCoherence.Native, BenchSettings.Kernel(((long)pages * 4096) + (64L << 20)));
        var bytes = (ulong)pages * (ulong)rig.PageSize;
        var times = new List<double>();
        using (var cpu = new CpuContext(rig.Mm))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (times.Count < 3 || (clock.Elapsed < settings.Budget && times.Count < 1000))
            {
                ScenarioRig.Check(rig.Mm.Mmap(0, bytes, Prot.ReadWrite, MmapFlags.Private, out var va), "mmap");
                times.Add(Timing.Once(() =>
                {
                    for (var p = 0UL; p < (ulong)pages; p++)
                    {
                        cpu.Write(va + (p * (ulong)rig.PageSize), 1L);
                    }
                }) / pages);
                ScenarioRig.Check(rig.Mm.Munmap(va, bytes), "munmap");
            }
        }

        audit = rig.TearDown();
        return 1 / Timing.Median(times);
    }
}
