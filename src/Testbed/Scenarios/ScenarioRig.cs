using Testbed.HostMm.Diagnostics;
using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Mm;
using Testbed.Kernels.Runners;
using Testbed.Results;

namespace Testbed.Scenarios;

/// <summary>
/// One run's world: a HostMm kernel, an address space, an accelerator and the mirrors on it, and
/// the teardown audit every run ends with (<see cref="HostKernel.Audit"/>) — every system frame
/// free, every device frame returned and its pagemap unregistered, no folio freed while mapped, no
/// notifier left, the lock validator silent — reported as invariants.
/// </summary>
public sealed class ScenarioRig : IDisposable
{
    private readonly List<MirrorDevice> _mirrors = [];
    private readonly List<KernelRunner> _runners = [];
    private readonly ScenarioContext _context;
    private readonly LinkCoherence _coherence;
    private bool _abandoned;
    private bool _disposed;

    /// <summary>Builds the kernel (<paramref name="options"/>: a scenario sizes its RAM with <see cref="SystemMemory.For"/>; 64 MiB by default) and an address space, with a runner from <paramref name="context"/>.</summary>
    public ScenarioRig(ScenarioContext context, LinkCoherence coherence, HostKernelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        (_context, _coherence) = (context, coherence);
        Kernel = new HostKernel(options ?? new HostKernelOptions());
        Mm = Kernel.CreateAddressSpace();
        try
        {
            Runner = context.CreateRunner(coherence);
        }
        catch
        {
            Mm.Dispose();
            Kernel.Dispose();
            throw;
        }

        _runners.Add(Runner);
    }

    /// <summary>The HostMm kernel.</summary>
    public HostKernel Kernel { get; }

    /// <summary>The address space every thread and device works on.</summary>
    public AddressSpace Mm { get; }

    /// <summary>The accelerator the device runs kernels on.</summary>
    public KernelRunner Runner { get; }

    /// <summary>System and device frames still in use when <see cref="TearDown"/> ran (0 before it).</summary>
    public long LeakedFrames { get; private set; }

    /// <summary>Bytes per page.</summary>
    public int PageSize => Mm.PageSize;

    /// <summary>32-bit words per page.</summary>
    public int WordsPerPage => Mm.PageSize / sizeof(int);

    /// <summary>Maps <paramref name="pages"/> private anonymous read-write pages.</summary>
    public ulong Map(long pages)
    {
        Check(Mm.Mmap(0, (ulong)pages * (ulong)PageSize, Prot.ReadWrite, MmapFlags.Private, out var addr), "mmap");
        return addr;
    }

    /// <summary>
    /// <see cref="Map(long)"/> for <c>--thp</c>: with <paramref name="thp"/>, the mapping starts on a 2 MiB
    /// boundary (the slack of a larger mmap is unmapped) and gets <c>MADV_HUGEPAGE</c>, so that its
    /// aligned 2 MiB spans fault in as transparent huge pages.
    /// </summary>
    public ulong Map(long pages, bool thp)
    {
        if (!thp)
        {
            return Map(pages);
        }

        var huge = Mm.PmdSize;
        var len = (ulong)pages * (ulong)PageSize;
        Check(Mm.Mmap(0, len + huge, Prot.ReadWrite, MmapFlags.Private, out var addr), "mmap");
        var start = (addr + huge - 1) & ~(huge - 1);
        Check(start > addr ? Mm.Munmap(addr, start - addr) : Errno.Ok, "munmap");
        Check(Mm.Munmap(start + len, addr + len + huge - (start + len)), "munmap");
        Check(Mm.MadviseHugePage(start, len, HugePageAdvice.HugePage), "madvise(MADV_HUGEPAGE)");
        return start;
    }

    /// <summary>
    /// The THP counts of the run so far, when <paramref name="thp"/> (<c>--thp on</c>; nothing with it
    /// off): <c>thp_faults</c> (THPs a CPU write fault mapped), <c>thp_migrations</c> (THPs moved whole
    /// between system and device memory) and <c>thp_splits</c> (THPs split because no 2 MiB
    /// destination was free, or to move part of one).
    /// </summary>
    public void AddThpMetrics(IDictionary<string, Metric> metrics, bool thp)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (!thp)
        {
            return;
        }

        var c = Kernel.Counters;
        metrics["thp_faults"] = new(c[MmEvent.ThpFaultAlloc], "count");
        metrics["thp_migrations"] = new(c[MmEvent.ThpMigrationSuccess], "count");
        metrics["thp_splits"] = new(c[MmEvent.ThpMigrationSplit] + c[MmEvent.ThpSplitPage], "count");
    }

    /// <summary>
    /// Another runner like <see cref="Runner"/>, with the same link, for another device (its own
    /// memory and its own threads); disposed with the rig.
    /// </summary>
    public KernelRunner AddRunner()
    {
        var runner = _context.CreateRunner(_coherence);
        _runners.Add(runner);
        return runner;
    }

    /// <summary>
    /// A mirror of <paramref name="pages"/> pages from <paramref name="start"/> on
    /// <paramref name="runner"/> (by default <see cref="Runner"/>), disposed with the rig.
    /// </summary>
    public MirrorDevice Mirror(ulong start, long pages, IResidencyPolicy policy, MirrorOptions options, KernelRunner? runner = null)
    {
        var err = MirrorDevice.Create(Mm, runner ?? Runner, start, pages, policy, options, out var mirror);
        if (err == Errno.EOPNOTSUPP)
        {
            throw new ScenarioInputException($"policy '{policy.Name}' needs a coherent link; this accelerator's is not");
        }

        Check(err, "MirrorDevice.Create");
        _mirrors.Add(mirror!);
        return mirror!;
    }

    /// <summary>Writes <paramref name="values"/> from the CPU, word by word, from <paramref name="va"/>.</summary>
    public void CpuWrite(CpuContext cpu, ulong va, ReadOnlySpan<int> values)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        for (var i = 0; i < values.Length; i++)
        {
            Check(cpu.Write(va + ((ulong)i * sizeof(int)), values[i]), "CPU write");
        }
    }

    /// <summary>Reads <paramref name="words"/> words from the CPU.</summary>
    public int[] CpuRead(CpuContext cpu, ulong va, long words)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        var result = new int[words];
        for (var i = 0; i < words; i++)
        {
            Check(cpu.Read(va + ((ulong)i * sizeof(int)), out result[i]), "CPU read");
        }

        return result;
    }

    /// <summary>Leaves everything as it is: a stalled run's threads may still hold the model's locks.</summary>
    public void Abandon() => _abandoned = true;

    /// <summary>
    /// The result of a run that stalled: the rig is abandoned (its threads may hold the model's
    /// locks), and the run reports no metrics, the failed invariant and the missing teardown.
    /// </summary>
    public PolicyRun Stalled(string name, string policy, IReadOnlyDictionary<string, string>? settings, Invariant failure)
    {
        Abandon();
        return new PolicyRun { Name = name, Policy = policy, Settings = settings ?? new Dictionary<string, string>(), Metrics = new Dictionary<string, Metric>(), Invariants = [failure, .. TearDown()] };
    }

    /// <summary>
    /// Tears everything down and reports the audit: <c>frames_balanced</c>, <c>notifiers_removed</c>,
    /// <c>lockdep_silent</c>. An abandoned rig is not torn down and reports that instead. A device
    /// whose frames are still in use after its last eviction (a reference the model leaked) cannot
    /// unregister its memory: that is reported as a failed <c>devices_released</c> invariant, with the
    /// frames in the audit, rather than thrown from inside the teardown.
    /// </summary>
    public IReadOnlyList<Invariant> TearDown()
    {
        if (_abandoned)
        {
            return [new Invariant("teardown", false, "the run stalled; its address space was abandoned without teardown")];
        }

        var refused = new List<string>();
        foreach (var m in _mirrors)
        {
            try
            {
                m.Dispose();
            }
            catch (InvalidOperationException e)
            {
                refused.Add(e.Message);
            }
        }

        Mm.Dispose();
        var audit = Kernel.Audit();
        LeakedFrames = audit.LeakedFrames + audit.LeakedDeviceFrames;
        Dispose();
        return
        [
            new Invariant("frames_balanced", audit.FramesBalanced, audit.FramesBalanced ? "every system and device frame free, no folio freed while mapped" : string.Join("; ", audit.Leaks)),
            new Invariant("notifiers_removed", audit.LiveNotifiers == 0, $"{audit.LiveNotifiers} interval notifier(s) still registered after teardown"),
            new Invariant("lockdep_silent", audit.Lockdep is null, audit.Lockdep?.ToString() ?? "no lock-order report"),
            .. refused.Count == 0 ? [] : new[] { new Invariant("devices_released", false, string.Join("; ", refused)) },
        ];
    }

    /// <summary>Frees what <see cref="TearDown"/> did not (after an exception).</summary>
    public void Dispose()
    {
        if (_abandoned || _disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var m in _mirrors)
        {
            m.Dispose();
        }

        Mm.Dispose();
        foreach (var runner in _runners)
        {
            runner.Dispose();
        }

        _runners.Clear();
        Kernel.Dispose();
    }

    /// <summary>Anything but Ok from a set-up step is a bug in the scenario, not in what it measures.</summary>
    public static void Check(Errno err, string what)
    {
        if (err != Errno.Ok)
        {
            throw new InvalidOperationException(err == Errno.ENOMEM ? $"{what} returned ENOMEM: the model's system memory is exhausted (out of memory)" : $"{what} returned {err}");
        }
    }
}
