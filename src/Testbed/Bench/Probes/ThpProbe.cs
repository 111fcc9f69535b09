using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm.Cpu;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Bench.Probes;

/// <summary>
/// Transparent huge pages against 4 KiB pages, each pair measured alternately in one run so that
/// the ratios compare like with like on a noisy machine:
/// <list type="bullet">
/// <item><c>device_fault_speedup</c>: a kernel touches every page of an aligned 2 MiB range that
/// lives in system memory; the time the driver spends servicing its faults (migrate and map the
/// range, launches excluded) with a THP and 2 MiB device folios, against the same range as 512
/// small pages (target ≥ 5x: the kernel community's anchor is 132 µs against 966 µs, about 7x).
/// The small pages sit in fragmented system memory (every other frame of the arena held, as on a
/// system that has run a while), so each is its own copy, as each 4 KiB page is its own DMA in a
/// driver; <c>device_fault_speedup_contiguous</c> is the same against small pages that happen to be
/// physically contiguous (a fresh arena touched in order), whose copies coalesce into one. Both
/// sides copy the same 2 MiB, so the speedup cannot exceed <c>copy_bound_speedup</c>, the
/// small-page time over the copy floor of 2 MiB: what THP would give if its servicing cost nothing
/// but the copy. On the CPU accelerators that copy is a large part of the small-page time, and the
/// bound is below the target.</item>
/// <item><c>migrate_vma_ratio</c>: <c>MigrateToDevice</c> of one 2 MiB THP into one device folio
/// against the copy floor of 2 MiB (<see cref="CopyFloor"/>: a memcpy on the CPU accelerators, a
/// plain host-to-device copy on a GPU; target ≥ 0.8x).</item>
/// <item><c>first_touch_speedup</c>: CPU first-touch writes per 4 KiB of a THP-backed region (one
/// fault and one 2 MiB zeroing per 512 pages) against order-0 faults (informational; measured once,
/// with the cpu runner, as it involves no device).</item>
/// </list>
/// The pages are evicted back (untimed) between samples. Run once per accelerator, like
/// <c>migrate-vma</c>; on ilgpu-cpu for information.
/// </summary>
public sealed class ThpProbe(AcceleratorEntry device) : IBenchProbe
{
    private const int Block = MirrorDevice.RangeBlockPages;

    /// <inheritdoc/>
    public string Name => "thp";

    /// <inheritdoc/>
    public string Summary { get; } = $"THP vs 4 KiB pages: device fault of 2 MiB, MigrateVma of a THP vs {CopyFloor.Of(device)}, CPU first touch";

    /// <inheritdoc/>
    public IReadOnlyList<BenchTarget> Targets { get; } = BenchSettings.Informational(device) ? [] :
    [
        new("device_fault_speedup", 5, AtLeast: true, "x", "THP over 512 small pages, per 2 MiB"),
        new("migrate_vma_ratio", 0.8, AtLeast: true, "x", $"of {CopyFloor.Of(device)} of 2 MiB"),
    ];

    /// <inheritdoc/>
    public PolicyRun Run(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var (thpFault, smallFault, contiguousFault, faultAudit) = DeviceFaults(settings);
        var (floor, migrate, migrateAudit) = MigrateThp(settings);
        var metrics = new Dictionary<string, Metric>
        {
            ["device_fault_speedup"] = new(smallFault / thpFault, "x"),
            ["device_fault_speedup_contiguous"] = new(contiguousFault / thpFault, "x"),
            ["thp_fault_us"] = new(thpFault * 1e6, "us"),
            ["small_fault_us"] = new(smallFault * 1e6, "us"),
            ["contiguous_fault_us"] = new(contiguousFault * 1e6, "us"),
            ["copy_bound_speedup"] = new(smallFault / floor, "x"),
            ["migrate_vma_ratio"] = new(floor / migrate, "x"),
            ["migrate_thp_us"] = new(migrate * 1e6, "us"),
            ["floor_us"] = new(floor * 1e6, "us"),
        };
        var detail = $"per 2 MiB on {device.Name}: device fault service {thpFault * 1e6:0} µs with a THP, {smallFault * 1e6:0} µs as 512 scattered pages ({contiguousFault * 1e6:0} µs contiguous); MigrateToDevice of a THP {migrate * 1e6:0} µs, {CopyFloor.Of(device)} {floor * 1e6:0} µs";
        IReadOnlyList<Invariant> touchAudit = [];
        if (device.Kind == AcceleratorKind.Cpu)
        {
            (var thpTouch, var smallTouch, touchAudit) = FirstTouch(settings);
            metrics["first_touch_speedup"] = new(smallTouch / thpTouch, "x");
            metrics["thp_touch_ns_per_4k"] = new(thpTouch * 1e9, "ns");
            metrics["small_touch_ns_per_4k"] = new(smallTouch * 1e9, "ns");
            detail += $"; first touch {thpTouch * 1e9:0} ns per 4 KiB with THP, {smallTouch * 1e9:0} ns without";
        }

        return BenchRun.Of(this, device.Kind.Name(), metrics, detail + " (medians)", Merge([.. faultAudit, .. migrateAudit, .. touchAudit]));
    }

    /// <summary>The teardown invariants of the probe's rigs, one per name: held when every rig's held.</summary>
    private static List<Invariant> Merge(IEnumerable<Invariant> audits) =>
        [.. audits.GroupBy(i => i.Name).Select(g => g.All(i => i.Held) ? g.First() : new Invariant(g.Key, false, string.Join("; ", g.Where(i => !i.Held).Select(i => i.Detail))))];

    /// <summary>Median seconds of fault service per 2 MiB with a THP, with scattered small pages and with contiguous ones, alternating.</summary>
    private (double Thp, double Small, double Contiguous, IReadOnlyList<Invariant> Audit) DeviceFaults(BenchSettings settings)
    {
        using var huge = new FaultRig(settings, device, Backing.Thp);
        using var small = new FaultRig(settings, device, Backing.Scattered);
        using var contiguous = new FaultRig(settings, device, Backing.Contiguous);
        var (a, b, c) = (new List<double>(), new List<double>(), new List<double>());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (a.Count < 5 || (clock.Elapsed < settings.Budget && a.Count < 1000))
        {
            a.Add(huge.Sample());
            b.Add(small.Sample());
            c.Add(contiguous.Sample());
        }

        return (Timing.Median(a), Timing.Median(b), Timing.Median(c), [.. huge.TearDown(), .. small.TearDown(), .. contiguous.TearDown()]);
    }

    /// <summary>Median seconds of the copy floor of 2 MiB and of <c>MigrateToDevice</c> of one THP, alternating.</summary>
    private (double Floor, double Migrate, IReadOnlyList<Invariant> Audit) MigrateThp(BenchSettings settings)
    {
        using var rig = new ScenarioRig(settings.Context(device), LinkCoherence.Native, BenchSettings.Kernel());
        var va = rig.Map(Block, thp: true);
        var mirror = rig.Mirror(va, Block, new MigratePolicy(), new MirrorOptions { DevicePages = 2 * Block, ChunkPages = Block, Thp = true });
        using (var cpu = new CpuContext(rig.Mm))
        {
            rig.CpuWrite(cpu, va, Enumerable.Range(0, Block * rig.WordsPerPage).ToArray());
        }

        using var floor = new CopyFloor(device, rig.Runner, (nuint)Block * (nuint)rig.PageSize);
        var (copies, migrations) = (new List<double>(), new List<double>());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (migrations.Count < 5 || (clock.Elapsed < settings.Budget && migrations.Count < 10_000))
        {
            copies.Add(Timing.Once(floor.Copy));
            var err = HostMm.Errno.Ok;
            migrations.Add(Timing.Once(() => err = mirror.MigrateToDevice(va, Block)));
            ScenarioRig.Check(err, $"MigrateToDevice: {mirror.LastError}");
            mirror.EvictAll();
        }

        ThpCheck(rig, HostMm.Diagnostics.MmEvent.ThpMigrationSuccess, 2 * copies.Count, "MigrateToDevice and eviction");
        return (Timing.Median(copies), Timing.Median(migrations), rig.TearDown());
    }

    /// <summary>Median seconds per 4 KiB of first-touch writes over a THP-backed region and over an order-0 one, alternating.</summary>
    private static (double Thp, double Small, IReadOnlyList<Invariant> Audit) FirstTouch(BenchSettings settings)
    {
        var pages = settings.Pick(8, 32) * Block;
        using var rig = new ScenarioRig(settings.Context(), LinkCoherence.Native, BenchSettings.Kernel(((long)pages * 4096 * 2) + (64L << 20)));
        var bytes = (ulong)pages * (ulong)rig.PageSize;
        var (a, b) = (new List<double>(), new List<double>());
        using (var cpu = new CpuContext(rig.Mm))
        {
            double Touch(bool thp)
            {
                var va = rig.Map(pages, thp);
                var seconds = Timing.Once(() =>
                {
                    for (var p = 0UL; p < (ulong)pages; p++)
                    {
                        cpu.Write(va + (p * (ulong)rig.PageSize), 1L);
                    }
                });
                ScenarioRig.Check(rig.Mm.Munmap(va, bytes), "munmap");
                return seconds / pages;
            }

            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (a.Count < 3 || (clock.Elapsed < settings.Budget && a.Count < 1000))
            {
                a.Add(Touch(thp: true));
                b.Add(Touch(thp: false));
            }
        }

        ThpCheck(rig, HostMm.Diagnostics.MmEvent.ThpFaultAlloc, a.Count * (pages / Block), "first touch");
        return (Timing.Median(a), Timing.Median(b), rig.TearDown());
    }

    /// <summary>Fails the probe if the THP side did not use THPs, <paramref name="counted"/> having been counted fewer than <paramref name="expected"/> times (a fallback would compare small pages with small pages).</summary>
    private static void ThpCheck(ScenarioRig rig, HostMm.Diagnostics.MmEvent counted, long expected, string what)
    {
        var seen = rig.Kernel.Counters[counted];
        if (seen < expected)
        {
            throw new InvalidOperationException($"thp probe: {what} used {seen} THPs, expected {expected}: the THP side fell back to small pages.");
        }
    }

    /// <summary>What backs the range of a <see cref="FaultRig"/>.</summary>
    private enum Backing
    {
        /// <summary>A THP, moved into a 2 MiB device folio.</summary>
        Thp,

        /// <summary>512 small pages on every other frame of a fragmented arena: each page its own copy.</summary>
        Scattered,

        /// <summary>512 small pages a fresh arena hands out in order: their copies coalesce into one.</summary>
        Contiguous,
    }

    /// <summary>One side of the device-fault comparison: a 2 MiB range in system memory, a mirror, and a kernel that touches each of its pages once.</summary>
    private sealed class FaultRig : IDisposable
    {
        private readonly MirrorDevice _mirror;
        private readonly DeviceWork _work;
        private readonly bool _thp;
        private readonly List<HostMm.Memory.Folio> _held = [];

        public FaultRig(BenchSettings settings, AcceleratorEntry device, Backing backing)
        {
            _thp = backing == Backing.Thp;
            Rig = new ScenarioRig(settings.Context(device), LinkCoherence.Native, BenchSettings.Kernel());
            if (backing == Backing.Scattered)
            {
                Fragment();
            }

            var va = Rig.Map(Block, _thp);
            _mirror = Rig.Mirror(va, Block, new MigratePolicy(), new MirrorOptions { DevicePages = 2 * Block, ChunkPages = Block, Thp = _thp, FaultBufferCapacity = Block });
            using (var cpu = new CpuContext(Rig.Mm))
            {
                Rig.CpuWrite(cpu, va, new int[Block * Rig.WordsPerPage]);
            }

            _work = DeviceWork.Adds(items: Block, opsPerItem: 1, firstWord: 0, span: (long)Block * Rig.WordsPerPage, stride: Rig.WordsPerPage);
        }

        public ScenarioRig Rig { get; }

        /// <summary>Frees the frames <see cref="Fragment"/> held, then tears the rig down with its audit.</summary>
        public IReadOnlyList<Invariant> TearDown()
        {
            _held.ForEach(f => f.Put());
            _held.Clear();
            return Rig.TearDown();
        }

        /// <summary>Takes every free frame, then gives back every other one: no two free frames are neighbours, so no two pages allocated from here are.</summary>
        private void Fragment()
        {
            var all = new List<HostMm.Memory.Folio>();
            while (Rig.Kernel.Memory.AllocFolio(zero: false) is { } folio)
            {
                all.Add(folio);
            }

            foreach (var folio in all)
            {
                if (folio.Pfn % 2 == 0)
                {
                    _held.Add(folio);
                }
                else
                {
                    folio.Put();
                }
            }
        }

        /// <summary>Seconds of fault service for one launch over the range, which is then evicted back (untimed).</summary>
        public double Sample()
        {
            var (time, thps) = (_mirror.Counters.FaultServiceTime, Rig.Kernel.Counters[HostMm.Diagnostics.MmEvent.ThpMigrationSuccess]);
            ScenarioRig.Check(_mirror.Run(_work), $"Run: {_mirror.LastError}");
            var seconds = (_mirror.Counters.FaultServiceTime - time).TotalSeconds;
            if (_thp && Rig.Kernel.Counters[HostMm.Diagnostics.MmEvent.ThpMigrationSuccess] == thps)
            {
                throw new InvalidOperationException("thp probe: the device fault did not move the THP whole.");
            }

            _mirror.EvictAll();
            return seconds;
        }

        public void Dispose()
        {
            _held.ForEach(f => f.Put());
            _held.Clear();
            Rig.Dispose();
        }
    }
}
