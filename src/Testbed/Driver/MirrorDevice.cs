using System.Diagnostics;
using System.Globalization;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Locking;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;
using ILGPU;
using ILGPU.Runtime;
using Testbed.Kernels.Algorithms;
using Testbed.Kernels.DeviceCode;
using Testbed.Kernels.HostMemory;
using Testbed.Kernels.Runners;

namespace Testbed.Driver;

/// <summary>
/// The mirror driver (DESIGN §4): the device side of HMM for one accelerator mirroring
/// <c>[Start, Start + Pages * PageSize)</c> of one address space, as lib/test_hmm.c, drm_gpusvm and
/// nvidia-uvm are. It owns the device's memory (<see cref="DeviceMemory"/>, registered with HostMm),
/// a device page table that kernels translate through (<see cref="DeviceMirror"/>), an interval
/// notifier over the range, and the fault-and-replay loop that runs workloads: the testbed's own
/// (<see cref="MirrorWorkload"/>) or a user's ILGPU kernel.
/// </summary>
/// <remarks>
/// <para>Locks, in order: the mmap lock, then the range lock (<c>mirror-&gt;range_lock</c>, one per
/// 2 MiB block, held across a migration of that block), then <see cref="Mutex"/>
/// (<c>mirror-&gt;mutex</c>, guards the device page table). <c>mirror-&gt;mapping</c> is held for read by
/// every launch, which takes the mutex inside it to upload the table; an invalidation zaps entries
/// under the mutex, drops it, and then takes the mapping lock for write to wait until no launch that
/// could use the old entries is in flight.</para>
/// <para>Invalidations of kind <c>Migrate</c> or <c>Exclusive</c> that this device caused are skipped
/// (<see cref="MirrorOptions.FilterOwnerEvents"/>); the driver then zaps and waits itself before
/// copying a page it migrates.</para>
/// <para>The split into files follows the kernel's: launches and replay in
/// <c>MirrorDevice.Launch.cs</c>, fault servicing in <c>.Faults.cs</c>, migration in
/// <c>.Migrate.cs</c>, the notifier callback in <c>.Invalidate.cs</c>, eviction in
/// <c>.Evict.cs</c>.</para>
/// </remarks>
public sealed partial class MirrorDevice : IDevPagemapOps, IMmuIntervalNotifierOps, IDisposable
{
    private static readonly LockClass MutexClass = new("mirror->mutex");
    private static readonly LockClass MappingClass = new("mirror->mapping");
    private static readonly LockClass RangeLockClass = new("mirror->range_lock");

    /// <summary>
    /// The driver's fault-service lock: the device thread holds it while it services a fault batch,
    /// and <see cref="MigrateToDevice(ulong, long)"/> called from any other thread holds it too,
    /// because both use the driver's one HMM range and one migrate descriptor (UVM serialises the
    /// service of a VA block the same way). Outermost of the driver's locks.
    /// </summary>
    private static readonly LockClass ServiceClass = new("mirror->service");
    private readonly HostKernel _kernel;
    private readonly AddressSpace _mm;
    private readonly KernelRunner _runner;
    private readonly int _pageSize;
    private readonly DeviceMemory _memory;
    private readonly HostMapping<int> _system;
    private readonly DevicePageTable _pt;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _noData;
    private readonly DeviceFaultSorter? _sorter;
    private readonly RwSemaphore _mapping;

    /// <summary><see cref="LastError"/> per thread; not disposed, so the error stays readable after <see cref="Dispose"/>.</summary>
    private readonly ThreadLocal<string?> _lastError = new();

    private readonly MmLock[] _rangeLocks;
    private readonly MmLock _service;
    private MmuIntervalNotifier _notifier;
    /// <summary>The fault path's range, used under <see cref="_service"/>; <see cref="Snapshot"/> uses its own.</summary>
    private HostMm.Hmm.HmmRange _hmmRange;
    private bool _disposed;
    private string _activity = "idle";
    private long _activitySince = Stopwatch.GetTimestamp();
    private int _runThread;

    private unsafe MirrorDevice(AddressSpace mm, KernelRunner runner, ulong start, long pages, IResidencyPolicy policy, MirrorOptions options, bool sortFaultsOnDevice, DeviceMemory memory, object owner)
    {
        Owner = owner;
        _kernel = mm.Kernel;
        _mm = mm;
        _runner = runner;
        _pageSize = mm.PageSize;
        _memory = memory;
        Start = start;
        Pages = pages;
        Policy = policy;
        Options = options;
        WordsPerPage = _pageSize / sizeof(int);
        _pageMigrations = new int[pages];
        _lastMove = new long[pages];
        _system = runner.MapHost((int*)_kernel.Memory.Base, _kernel.Memory.Length / sizeof(int));
        _pt = new DevicePageTable(runner, pages);
        _noData = runner.Allocate1D<int>(1);
        _control = runner.Allocate1D<int>(DeviceMirror.ControlFaults + options.FaultBufferCapacity);
        _controlHost = new int[DeviceMirror.ControlFaults + options.FaultBufferCapacity];
        _sorter = sortFaultsOnDevice ? new DeviceFaultSorter(runner, options.FaultBufferCapacity) : null;
        _batch = new FaultBatch(options.FaultBufferCapacity);
        Mutex = new MmLock(_kernel.Sync, MutexClass);
        _service = new MmLock(_kernel.Sync, ServiceClass);
        _mapping = new RwSemaphore(_kernel.Sync, MappingClass);
        _rangeLocks = [.. Enumerable.Range(0, (int)((pages + RangeBlockPages - 1) / RangeBlockPages)).Select(_ => new MmLock(_kernel.Sync, RangeLockClass))];
        _exclusiveOps = new ExclusiveFaultNotifier(this);
        _exclusiveNotifier = new MmuIntervalNotifier(mm, _exclusiveOps);
        _launch = runner.LoadAutoGroupedStreamKernel<DeviceMirror, DeviceWork, ArrayView<int>>(MirrorWorkload.DeviceOps);
        _notifier = null!;
        _hmmRange = null!;
    }

    /// <summary>Pages per range lock: a 2 MiB block of 4 KiB pages, UVM's VA block.</summary>
    public const int RangeBlockPages = 512;

    /// <summary>The first mirrored address.</summary>
    public ulong Start { get; }

    /// <summary>Mirrored pages.</summary>
    public long Pages { get; }

    /// <summary>32-bit words per page, the unit <see cref="DeviceWork"/> addresses in.</summary>
    public int WordsPerPage { get; }

    /// <summary>The residency policy.</summary>
    public IResidencyPolicy Policy { get; }

    /// <summary>The settings.</summary>
    public MirrorOptions Options { get; }

    /// <summary>The owner token of this device's pages and invalidations (<c>pgmap-&gt;owner</c>).</summary>
    public object Owner { get; }

    /// <summary>The device's frames as HostMm knows them.</summary>
    public DevPagemap Pagemap => _memory.Pagemap;

    /// <summary><c>mirror-&gt;mutex</c>: guards the device page table; the invalidate callback takes it.</summary>
    public MmLock Mutex { get; }

    /// <summary>What the driver did.</summary>
    public MirrorCounters Counters { get; } = new();

    /// <summary>Device frames not in use.</summary>
    public int FreeDevicePages => _memory.FreePages;

    /// <summary>Whether device atomics on system memory are atomic with respect to the CPU (the accelerator's link).</summary>
    public bool LinkCoherent => _runner.HostAtomicsCoherent;

    /// <summary>The accelerator the device's kernels run on.</summary>
    public KernelRunner Runner => _runner;

    /// <summary>
    /// What went wrong, in one line, after a call on the calling thread returned an error; null
    /// before any, and again once a <see cref="Run"/> starts. Kept per thread, as <c>errno</c> is: a
    /// migration or eviction failing on one thread does not overwrite the error a run returned on
    /// another.
    /// </summary>
    public string? LastError => _lastError.Value;

    /// <summary>
    /// What the thread running <see cref="Run"/> is doing right now and for how long ("idle, for 2.5 s"
    /// outside a run): the step a progress watchdog reports when a run stalls, so a hang names the
    /// lock or loop it is in, and a slow step (one launch of thousands of items on ILGPU's CPU
    /// accelerator, on a loaded machine) reads as slow rather than stuck. Steps other threads take
    /// through this device (a user's <see cref="MigrateToDevice(ulong, long)"/> or <see cref="EvictAll"/>) are not
    /// recorded: they left their step behind after they returned, and a stall report named an
    /// eviction that had finished. Written with string constants and a timestamp, so the hot path
    /// allocates nothing; reading it formats the time. The writes are plain: only the running thread
    /// writes and compares them, and a stall report may read them a moment late. With volatile
    /// writes here, <c>testbed explore</c> (on Coyote-rewritten assemblies) no longer found the
    /// exclusivity baseline within its 1,000 schedules with any of its 3 seeds; with plain ones it
    /// finds it as before.
    /// </summary>
    public string Activity
    {
        get => $"{Volatile.Read(ref _activity)}, for {Stopwatch.GetElapsedTime(Volatile.Read(ref _activitySince)).TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";
        private set
        {
            if (Environment.CurrentManagedThreadId == _runThread)
            {
                _activity = value;
                _activitySince = Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>
    /// Sets up a mirror of <paramref name="pages"/> pages from <paramref name="start"/> on
    /// <paramref name="runner"/>'s accelerator: allocates and registers device memory, maps HostMm's
    /// arena into the accelerator and registers the interval notifier.
    /// </summary>
    /// <returns>
    /// -EINVAL for an unaligned, empty, oversized or out-of-range range; -EOPNOTSUPP for the
    /// <c>coherent</c> policy on a non-coherent link; -ENOMEM when the device memory cannot be
    /// allocated. <see cref="ArgumentException"/> for invalid options (a programming error).
    /// </returns>
    public static Errno Create(AddressSpace mm, KernelRunner runner, ulong start, long pages, IResidencyPolicy policy, MirrorOptions options, out MirrorDevice? device)
    {
        ArgumentNullException.ThrowIfNull(mm);
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } problem)
        {
            throw new ArgumentException($"MirrorOptions: {problem}.", nameof(options));
        }

        var sortFaultsOnDevice = options.SortsFaultsOnDevice(runner);

        device = null;
        var pageSize = (ulong)mm.PageSize;
        if (pages <= 0 || pages > DevicePte.MaxFrame || start % pageSize != 0 || start >= AddressSpace.TaskSize || (ulong)pages > (AddressSpace.TaskSize - start) / pageSize)
        {
            return Errno.EINVAL;
        }

        if (policy.DeviceMemoryKind == PageKind.DeviceCoherent && !runner.HostAtomicsCoherent)
        {
            return Errno.EOPNOTSUPP;
        }

        var owner = new DeferredOps();
        var err = DeviceMemory.Create(runner, mm.Kernel.Memory, policy.DeviceMemoryKind, options.DevicePages, options.ChunkPages, owner, owner, out var memory);
        if (err != Errno.Ok)
        {
            return err;
        }

        var mirror = new MirrorDevice(mm, runner, start, pages, policy, options, sortFaultsOnDevice, memory!, owner);
        owner.Target = mirror;
        err = mm.Notifiers.Insert(start, (ulong)pages * pageSize, mirror, out var notifier);
        if (err != Errno.Ok)
        {
            mirror.ReleaseResources();
            return err;
        }

        mirror._notifier = notifier!;
        mirror._hmmRange = new HostMm.Hmm.HmmRange { Notifier = notifier!, HmmPfns = new ulong[RangeBlockPages] };
        device = mirror;
        return Errno.Ok;
    }

    /// <summary>The device page-table entry of the page holding <paramref name="va"/> (0 when not mapped or outside the range).</summary>
    public uint Lookup(ulong va)
    {
        if (va < Start || (va - Start) / (ulong)_pageSize >= (ulong)Pages)
        {
            return 0;
        }

        using (Mutex.Enter())
        {
            return _pt[(long)((va - Start) / (ulong)_pageSize)];
        }
    }

    /// <summary>Evicts every device page, unregisters the notifier and the device memory, and frees the buffers.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        EvictAll();
        _notifier.Remove();
        ReleaseResources();
    }

    private void ReleaseResources()
    {
        if (_memory.Unregister() is var err && err != Errno.Ok)
        {
            throw new InvalidOperationException($"MirrorDevice.Dispose: {Pagemap.FramesInUse} device frames are still in use after eviction ({err}).");
        }

        _pt.Dispose();
        _system.Dispose();
        _noData.Dispose();
        _control.Dispose();
        _sorter?.Dispose();
    }

    private long PageOf(ulong va) => (long)((va - Start) / (ulong)_pageSize);

    private ulong AddressOf(long page) => Start + ((ulong)page * (ulong)_pageSize);

    private MmLock RangeLock(long page) => _rangeLocks[page / RangeBlockPages];

    /// <summary>
    /// The pagemap's callbacks, registered before the driver exists (MemremapPages comes first, as in
    /// a real probe) and pointed at it once it does.
    /// </summary>
    private sealed class DeferredOps : IDevPagemapOps
    {
        public MirrorDevice? Target { get; set; }

        public Errno MigrateToRam(in VmFault vmf) => Target?.MigrateToRam(vmf) ?? Errno.EFAULT;

        public void FolioFree(Folio folio)
        {
            if (Target is { } t)
            {
                t.FolioFree(folio);
            }
        }
    }
}
