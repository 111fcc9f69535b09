using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Locking;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm;

/// <summary>
/// The modelled kernel's global state: system RAM, the shared zero page, the lock domain (validator
/// and scheduler seam) and the event counters. Address spaces are created from it. Several kernels
/// can live side by side (tests run in parallel), each with its own memory and lock graph.
/// </summary>
public sealed class HostKernel : IDisposable
{
    private int _liveAddressSpaces;
    private int _liveNotifiers;

    /// <summary>Boots a kernel with <paramref name="options"/> (defaults: 64 MiB of 4 KiB pages, validator on).</summary>
    public HostKernel(HostKernelOptions? options = null)
    {
        options ??= new HostKernelOptions();
        Sync = new SyncDomain(options.ValidateLocks);
        SwapFaultLocking = options.SwapFaultLocking;
        ExclusiveLocking = options.ExclusiveLocking;
        TransparentHugepage = options.TransparentHugepage;
        Memory = new PhysicalMemory(Sync, options.MemoryBytes, options.PageSize);
        ZeroPage = Memory.AllocFolio() ?? throw new ArgumentOutOfRangeException(nameof(options), "HostKernel: no memory for the zero page.");
        ZeroPage.IsZeroPage = true;
        DeferredSplit = new DeferredSplitQueue(Sync, Counters);
    }

    /// <summary>How <c>DoSwapPage</c> locks a device-private page (settable, to compare the fix with the livelock).</summary>
    public SwapFaultLocking SwapFaultLocking { get; set; }

    /// <summary>How <c>MakeDeviceExclusive</c> locks the folio (settable, to compare the fix with the -EBUSY it replaced).</summary>
    public Exclusive.ExclusiveLocking ExclusiveLocking { get; set; }

    /// <summary>Where anonymous faults may map transparent huge pages (settable, like the sysfs file).</summary>
    public TransparentHugepage TransparentHugepage { get; set; }

    /// <summary>Partially unmapped large folios waiting to be split (<c>deferred_split_queue</c>).</summary>
    internal DeferredSplitQueue DeferredSplit { get; }

    /// <summary>
    /// The deferred split shrinker (<c>deferred_split_scan()</c>), run now: every large folio that lost
    /// part of its mappings is split, and its pages nothing maps any more are freed. Runs on its own
    /// when an anonymous fault finds no free page. Returns the frames it freed.
    /// </summary>
    public long ShrinkDeferredSplit() => DeferredSplit.Scan(this);

    /// <summary>The lock validator and scheduler seam every model lock reports to.</summary>
    public SyncDomain Sync { get; }

    /// <summary>System RAM.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>The shared zero page (<c>ZERO_PAGE(0)</c>), mapped read-only by read faults on private memory. Never freed.</summary>
    public Folio ZeroPage { get; }

    /// <summary>Failures injected on purpose at the model's and the drivers' <see cref="FaultPoint"/>s.</summary>
    public FaultInjection FaultInjection => Memory.FaultInjection;

    /// <summary>Faults, flushes and invalidations counted so far.</summary>
    public MmCounters Counters { get; } = new();

    /// <summary>Frames in use besides the zero page: zero once every address space is torn down.</summary>
    public long FramesInUse => Memory.TotalFrames - Memory.FreeFrames - 1;

    /// <summary>Address spaces created and not yet torn down.</summary>
    public int LiveAddressSpaces => Volatile.Read(ref _liveAddressSpaces);

    /// <summary>Interval notifiers inserted into any of this kernel's address spaces and not yet removed.</summary>
    public int LiveNotifiers => Volatile.Read(ref _liveNotifiers);

    /// <summary>Creates an empty address space (<c>mm_alloc()</c>).</summary>
    public AddressSpace CreateAddressSpace()
    {
        Interlocked.Increment(ref _liveAddressSpaces);
        return new(this);
    }

    /// <summary>
    /// Frees system RAM. Every address space must have been disposed first: freeing the arena under
    /// a live one would leave its CPUs translating into freed native memory.
    /// </summary>
    public void Dispose()
    {
        if (LiveAddressSpaces != 0)
        {
            throw new InvalidOperationException($"HostKernel.Dispose: {LiveAddressSpaces} address space(s) still alive; dispose them first.");
        }

        Memory.Dispose();
    }

    /// <summary>
    /// The teardown audit: call it once every address space is disposed (before <see cref="Dispose"/>).
    /// It reports address spaces still alive, system frames still allocated, device pagemaps still
    /// registered (with their frames in use), interval notifiers never removed, an unbalanced zero
    /// page, folios freed while still mapped, frames left pointing at a freed or split large folio,
    /// and the lock validator's report. A leaked THP counts all its 512 frames.
    /// </summary>
    public TeardownAudit Audit() => new()
    {
        LiveAddressSpaces = LiveAddressSpaces,
        LeakedFrames = FramesInUse,
        LeakedDeviceFrames = Memory.Pagemaps.Sum(m => (long)m.FramesInUse),
        RegisteredPagemaps = Memory.Pagemaps.Count,
        LiveNotifiers = LiveNotifiers,
        ZeroPageRefCountDrift = ZeroPage.RefCount - 1,
        BadPages = Memory.BadPages.Count,
        CompoundErrors = Memory.CompoundErrors(),
        BadPageReports = Memory.BadPages.Reports,
        Lockdep = Sync.Validator.Report,
    };

    /// <summary>Called by <see cref="Notifiers.MmuNotifierSubscriptions"/> on insert (+1) and remove (-1).</summary>
    internal void NotifierCountChanged(int delta) => Interlocked.Add(ref _liveNotifiers, delta);

    /// <summary>Called once by <see cref="AddressSpace.Dispose"/>.</summary>
    internal void AddressSpaceExited() => Interlocked.Decrement(ref _liveAddressSpaces);
}
