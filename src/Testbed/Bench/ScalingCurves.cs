using System.Globalization;
using Testbed.Bench.Probes;
using Testbed.HostMm.Cpu;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Bench;

/// <summary>
/// How the hot paths grow (DESIGN §7, issue 7): one curve per axis — pages (HmmRangeFault and
/// first-touch rates from 1K pages; 1M at full size), CPU threads (aggregate CpuContext atomics,
/// 1 to 16 threads), fault batch size (service time per fault, 32 to 1024), and oversubscription
/// (device ops/s and evictions, 0.5 to 2), and copy size (<see cref="CopyBandwidth"/>, per
/// accelerator: the physical limit of a migration's copy, 4 KiB to 64 MiB). Each axis is a result
/// whose <c>x_axis</c> parameter names the run setting plotted across, and <c>curves</c> the metrics
/// the report draws against it.
/// </summary>
public static class ScalingCurves
{
    /// <summary>One result per axis, then the copy bandwidth of the cpu runner and of each available GPU (ILGPU's CPU accelerator copies as the cpu runner does).</summary>
    public static IReadOnlyList<ScenarioResult> Run(ScenarioContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = BenchScenario.Settings(context, BenchScenario.Others());
        return
        [
            Pages(context, s), Threads(context, s), Batches(context, s), Oversubscription(context, s),
            .. new[] { s.Cpu }.Concat(s.Others.Where(d => !BenchSettings.Informational(d))).Select(d => CopyBandwidth.Axis(d, s, context.Status)),
        ];
    }

    private static ScenarioResult Pages(ScenarioContext context, BenchSettings s)
    {
        var points = s.Pick(new[] { 1024, 4096, 16384, 65536 }, [1024, 4096, 16384, 65536, 262144, 1048576]);
        var brief = s with { Quick = true };
        var runs = points.Select(pages =>
        {
            context.Status($"scaling: {pages} pages");
            var hmm = HmmRangeFaultProbe.Measure(brief, pages, out var a1);
            var touch = FirstTouchProbe.Measure(brief, pages, out var a2);
            return Point("pages", pages, new Dictionary<string, Metric>
            {
                ["hmm_range_fault_pages_per_s"] = new(hmm, "pages/s"),
                ["first_touch_faults_per_s"] = new(touch, "faults/s"),
            }, [.. a1, .. a2]);
        }).ToList();
        return Axis("scaling: pages", "pages", "hmm_range_fault_pages_per_s,first_touch_faults_per_s", runs);
    }

    private static ScenarioResult Threads(ScenarioContext context, BenchSettings s)
    {
        var points = s.Pick(new[] { 1, 2, 4, 8 }, [1, 2, 4, 8, 16]);
        var runs = points.Select(threads =>
        {
            context.Status($"scaling: {threads} CPU threads");
            using var rig = new ScenarioRig(context, LinkCoherence.Native, BenchSettings.Kernel());
            var va = rig.Map(threads * 2);
            var ops = 0L;
            var budget = s.Pick(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1));
            var workers = new ScenarioThreads(threads, "scaling cpu", (t, _) =>
            {
                using var cpu = new CpuContext(rig.Mm);
                var own = va + ((ulong)t * 2 * (ulong)rig.PageSize);
                var shared = va + (ulong)rig.PageSize;
                var until = Environment.TickCount64 + (long)budget.TotalMilliseconds;
                var n = 0L;
                while (Environment.TickCount64 < until)
                {
                    for (var i = 0; i < 1024; i++)
                    {
                        cpu.AtomicAdd(i % 8 == 0 ? shared : own, 1L, out long _);
                    }

                    n += 1024;
                }

                Interlocked.Add(ref ops, n);
            });
            workers.Start();
            workers.Join();
            return Point("threads", threads, new Dictionary<string, Metric>
            {
                ["cpu_atomic_ops_per_s"] = new(ops / budget.TotalSeconds, "ops/s"),
            }, rig.TearDown());
        }).ToList();
        return Axis("scaling: CPU threads", "threads", "cpu_atomic_ops_per_s", runs);
    }

    private static ScenarioResult Batches(ScenarioContext context, BenchSettings s)
    {
        var points = new[] { 32, 64, 128, 256, 512, 1024 };
        var brief = s with { Quick = true };
        var runs = points.Select(batch =>
        {
            context.Status($"scaling: fault batch {batch}");
            var us = FaultBatchProbe.Measure(brief, batch, s.Pick(1024, 4096), out var audit);
            return Point("batch", batch, new Dictionary<string, Metric> { ["us_per_fault"] = new(us, "us") }, audit);
        }).ToList();
        return Axis("scaling: fault batch size", "batch", "us_per_fault", runs);
    }

    private static ScenarioResult Oversubscription(ScenarioContext context, BenchSettings s)
    {
        var settings = context.Settings with { Pages = s.Pick(64, 256), Rounds = s.Pick(2, 5), Options = new Dictionary<string, string> { ["ratios"] = "0.5,0.75,1,1.25,1.5,2" } };
        var result = new OversubscriptionScenario().Run(new ScenarioContext(settings, context.Accelerator, context.Status));
        return result with { Scenario = "scaling: oversubscription" };
    }

    private static PolicyRun Point(string axis, double x, IReadOnlyDictionary<string, Metric> metrics, IReadOnlyList<Invariant> audit) => new()
    {
        Name = $"{axis}={x.ToString(CultureInfo.InvariantCulture)}",
        Policy = "-",
        Settings = new Dictionary<string, string> { [axis] = x.ToString(CultureInfo.InvariantCulture) },
        Metrics = metrics,
        Invariants = audit,
    };

    private static ScenarioResult Axis(string name, string axis, string curves, IReadOnlyList<PolicyRun> runs) =>
        new(name, new Dictionary<string, string> { ["x_axis"] = axis, ["curves"] = curves }, runs);
}
