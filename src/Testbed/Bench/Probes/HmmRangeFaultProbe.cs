using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Hmm;
using Testbed.HostMm.Notifiers;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Bench.Probes;

/// <summary>
/// <c>HmmRangeFault</c> over pages that are already resident and writable: the walk and the
/// output array, no fault taken — what a mirror pays to learn where a range lives.
/// </summary>
public sealed class HmmRangeFaultProbe : IBenchProbe
{
    /// <inheritdoc/>
    public string Name => "hmm-range-fault";

    /// <inheritdoc/>
    public string Summary => "HmmRangeFault on resident pages (write requested), pages per second";

    /// <inheritdoc/>
    public IReadOnlyList<BenchTarget> Targets { get; } = [new("pages_per_s", 20_000_000, AtLeast: true, "pages/s")];

    /// <inheritdoc/>
    public PolicyRun Run(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var pages = settings.Pick(4096, 16384);
        var rate = Measure(settings, pages, out var audit);
        return BenchRun.Of(this, "cpu", new Dictionary<string, Metric>
        {
            ["pages_per_s"] = new(rate, "pages/s"),
            ["page_ns"] = new(1e9 / rate, "ns"),
        }, $"{pages} pages per call", audit);
    }

    /// <summary>Median pages per second of one <c>HmmRangeFault</c> over <paramref name="pages"/> resident pages.</summary>
    public static double Measure(BenchSettings settings, int pages, out IReadOnlyList<Invariant> audit)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var rig = new ScenarioRig(settings.Context(), LinkCoherence.Native, BenchSettings.Kernel(((long)pages * 4096) + (64L << 20)));
        var va = rig.Map(pages);
        using (var cpu = new CpuContext(rig.Mm))
        {
            for (var p = 0L; p < pages; p++)
            {
                ScenarioRig.Check(cpu.Write(va + ((ulong)p * (ulong)rig.PageSize), 1), "populate");
            }
        }

        ScenarioRig.Check(rig.Mm.Notifiers.Insert(va, (ulong)pages * (ulong)rig.PageSize, new QuietMirror(), out var notifier), "notifier insert");
        var range = new HmmRange
        {
            Notifier = notifier!,
            Start = va,
            End = va + ((ulong)pages * (ulong)rig.PageSize),
            HmmPfns = new ulong[pages],
            DefaultFlags = HmmPfn.ReqFault | HmmPfn.ReqWrite,
        };
        var perPage = Timing.PerOp(
            () =>
            {
                range.NotifierSeq = notifier!.ReadBegin();
                rig.Mm.MmapLock.DownRead();
                var err = HmmMirror.HmmRangeFault(range);
                rig.Mm.MmapLock.UpRead();
                ScenarioRig.Check(err, "HmmRangeFault");
            },
            pages,
            settings.Budget);
        notifier!.Remove();
        audit = rig.TearDown();
        return 1 / perPage;
    }

    /// <summary>A mirror with no device page table: it only acknowledges invalidations.</summary>
    private sealed class QuietMirror : IMmuIntervalNotifierOps
    {
        public bool Invalidate(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq)
        {
            subscription.SetSeq(curSeq);
            return true;
        }
    }
}
