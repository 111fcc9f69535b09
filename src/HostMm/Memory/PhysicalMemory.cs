using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.InteropServices;
using Testbed.HostMm.Locking;
using Testbed.HostMm.Diagnostics;

namespace Testbed.HostMm.Memory;

/// <summary>
/// System RAM: one pinned, page-aligned native arena split into page frames, handed out by a
/// buddy allocator under the zone lock. The arena is native memory, never moved by the GC, and
/// aligned to the largest folio so that an order-9 folio is a naturally aligned 2 MiB run; an
/// accelerator can therefore map it directly (<c>CL_MEM_USE_HOST_PTR</c>, <c>cuMemHostRegister</c>).
/// </summary>
public sealed unsafe class PhysicalMemory : IDisposable
{
    /// <summary>The largest folio order: 9, a 2 MiB THP with 4 KiB pages.</summary>
    public const int MaxOrder = 9;

    private readonly Folio[] _descriptors;
    private readonly Folio[] _memmap;
    private readonly BuddyAllocator _buddy;
    private readonly MmLock _zoneLock;
    private byte* _arena;
    private DevPagemap[] _pagemaps = [];

    /// <summary>Creates the arena.</summary>
    /// <param name="sync">The domain its zone lock and folio locks report to.</param>
    /// <param name="totalBytes">Arena size; a multiple of <paramref name="pageSize"/>.</param>
    /// <param name="pageSize">A power of two from 4 KiB to 64 KiB.</param>
    public PhysicalMemory(SyncDomain sync, long totalBytes, int pageSize = 4096)
    {
        if (pageSize < 4096 || pageSize > 65536 || !BitOperations.IsPow2(pageSize))
        {
            throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, "PhysicalMemory: page size must be a power of two from 4096 to 65536.");
        }

        if (totalBytes <= 0 || totalBytes % pageSize != 0 || totalBytes / pageSize > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(totalBytes), totalBytes, $"PhysicalMemory: size must be a positive multiple of the page size ({pageSize}) and at most 2^31 frames.");
        }

        Sync = sync;
        PageSize = pageSize;
        PageShift = BitOperations.Log2((uint)pageSize);
        TotalFrames = totalBytes / pageSize;
        _arena = (byte*)NativeMemory.AlignedAlloc((nuint)totalBytes, (nuint)pageSize << MaxOrder);
        _descriptors = new Folio[TotalFrames];
        for (var pfn = 0; pfn < _descriptors.Length; pfn++)
        {
            _descriptors[pfn] = new Folio(this, pfn);
        }

        _memmap = (Folio[])_descriptors.Clone();

        _buddy = new BuddyAllocator((int)TotalFrames, MaxOrder);
        _zoneLock = new MmLock(sync, LockClasses.ZoneLock);
    }

    /// <summary>The domain the model's locks report to.</summary>
    public SyncDomain Sync { get; }

    /// <summary>Where failures are injected on purpose (tests of the fallbacks).</summary>
    public Diagnostics.FaultInjection FaultInjection { get; } = new();

    /// <summary>Folios freed in a state no free folio may be in (<c>bad_page()</c>).</summary>
    public Diagnostics.BadPageLog BadPages { get; } = new();

    /// <summary>Bytes per frame.</summary>
    public int PageSize { get; }

    /// <summary>log2 of <see cref="PageSize"/>.</summary>
    public int PageShift { get; }

    /// <summary>Frames in the arena.</summary>
    public long TotalFrames { get; }

    /// <summary>The first byte of the arena.</summary>
    public byte* Base => _arena;

    /// <summary>The arena's length in bytes.</summary>
    public long Length => TotalFrames * PageSize;

    /// <summary>Frames currently free.</summary>
    public long FreeFrames
    {
        get
        {
            using (_zoneLock.Enter())
            {
                return _buddy.FreeFrames;
            }
        }
    }

    /// <summary>Free blocks of exactly <paramref name="order"/> (for tests of splitting and merging).</summary>
    public int FreeBlocks(int order)
    {
        using (_zoneLock.Enter())
        {
            return _buddy.FreeBlocks(order);
        }
    }

    /// <summary>
    /// Allocates a folio of 2^<paramref name="order"/> frames with one reference, zero-filled when
    /// <paramref name="zero"/> (anonymous memory is always zeroed before it is mapped). Returns
    /// null when no block that large is free (the caller's -ENOMEM).
    /// </summary>
    public Folio? AllocFolio(int order = 0, bool zero = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(order);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(order, MaxOrder);
        int pfn;
        using (_zoneLock.Enter())
        {
            pfn = _buddy.Alloc(order);
        }

        if (pfn < 0)
        {
            return null;
        }

        var folio = _memmap[pfn];
        for (var i = 1; i < 1 << order; i++)
        {
            _memmap[pfn + i] = folio;
        }

        folio.Prepare(order);
        if (zero)
        {
            NativeMemory.Clear(FrameAddress(pfn), (nuint)PageSize << order);
        }

        return folio;
    }

    /// <summary>
    /// <c>page_folio(pfn_to_page(pfn))</c>: the folio that holds frame <paramref name="pfn"/> (the
    /// head for a tail frame of a large folio).
    /// </summary>
    public Folio PfnToFolio(long pfn)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pfn);
        return pfn < TotalFrames ? _memmap[pfn] : PfnToPagemap(pfn).FolioAt(pfn);
    }

    /// <summary>
    /// The CPU address of frame <paramref name="pfn"/>: in the arena for system RAM, in the driver's
    /// memory for a device-coherent frame. Device-private frames have none (a programming error).
    /// </summary>
    public byte* FrameAddress(long pfn) => pfn < TotalFrames ? _arena + (pfn << PageShift) : PfnToPagemap(pfn).CpuAddress(pfn);

    /// <summary>The registered device pagemaps.</summary>
    public IReadOnlyList<DevPagemap> Pagemaps => Volatile.Read(ref _pagemaps);

    /// <summary>
    /// <c>memremap_pages()</c>: registers <paramref name="nrPages"/> ZONE_DEVICE frames of
    /// <paramref name="kind"/> for a driver, numbered above every system frame. A device-coherent
    /// pagemap must give the CPU address of its first frame (<paramref name="cpuBase"/>, with
    /// <c>nrPages * PageSize</c> bytes behind it); a device-private one must not.
    /// </summary>
    /// <returns>-EINVAL: kind System, no owner, a non-positive size, or a CPU address that does not fit the kind.</returns>
    public Errno MemremapPages(PageKind kind, int nrPages, object owner, IDevPagemapOps ops, byte* cpuBase, out DevPagemap? pagemap)
    {
        ArgumentNullException.ThrowIfNull(ops);
        pagemap = null;
        if (kind == PageKind.System || owner is null || nrPages <= 0 || (kind == PageKind.DeviceCoherent) != (cpuBase != null))
        {
            return Errno.EINVAL;
        }

        using (_zoneLock.Enter())
        {
            var maps = _pagemaps;
            var end = maps.Length == 0 ? TotalFrames : maps[^1].PfnBase + maps[^1].NrPages;
            var basePfn = (end + (1 << MaxOrder) - 1) & ~((1L << MaxOrder) - 1);
            pagemap = new DevPagemap(this, kind, basePfn, nrPages, owner, ops, cpuBase);
            Volatile.Write(ref _pagemaps, [.. maps, pagemap]);
        }

        return Errno.Ok;
    }

    /// <summary>
    /// <c>memunmap_pages()</c>: unregisters <paramref name="pagemap"/>, whose frames the driver is
    /// about to release. The kernel waits for the last page reference; the model returns -EBUSY while
    /// any frame is still in use, so the driver evicts first, and -EINVAL for a pagemap that is not
    /// registered.
    /// </summary>
    public Errno MemunmapPages(DevPagemap pagemap)
    {
        ArgumentNullException.ThrowIfNull(pagemap);
        using (_zoneLock.Enter())
        {
            var maps = _pagemaps;
            if (Array.IndexOf(maps, pagemap) < 0)
            {
                return Errno.EINVAL;
            }

            if (pagemap.FramesInUse != 0)
            {
                return Errno.EBUSY;
            }

            Volatile.Write(ref _pagemaps, [.. maps.Where(m => m != pagemap)]);
        }

        return Errno.Ok;
    }

    /// <summary>The registered device pagemap holding frame <paramref name="pfn"/>; null if none does.</summary>
    internal DevPagemap? FindPagemap(long pfn)
    {
        foreach (var map in Volatile.Read(ref _pagemaps))
        {
            if (map.Contains(pfn))
            {
                return map;
            }
        }

        return null;
    }

    private DevPagemap PfnToPagemap(long pfn) => FindPagemap(pfn) ?? ThrowNoFrame(pfn);

    [DoesNotReturn]
    private DevPagemap ThrowNoFrame(long pfn) =>
        throw new ArgumentOutOfRangeException(nameof(pfn), pfn, $"PhysicalMemory: pfn is neither system RAM [0, {TotalFrames}) nor in a registered device pagemap.");

    /// <summary>Releases the arena. Every folio must have been freed; frames still in use are a leak the caller's audit reports.</summary>
    public void Dispose()
    {
        if (_arena != null)
        {
            NativeMemory.AlignedFree(_arena);
            _arena = null;
        }
    }

    /// <summary>
    /// Frames, system and device, whose folio is not a live large folio covering them: a tail frame
    /// left pointing at a head that was freed or split without giving the tails their own
    /// descriptors back. Zero in a consistent model; counted by the teardown audit.
    /// </summary>
    public long CompoundErrors()
    {
        long errors = 0;
        for (var pfn = 0L; pfn < TotalFrames; pfn++)
        {
            errors += CompoundError(_memmap[pfn], pfn) ? 1 : 0;
        }

        foreach (var map in Pagemaps)
        {
            for (var pfn = map.PfnBase; pfn < map.PfnBase + map.NrPages; pfn++)
            {
                errors += CompoundError(map.FolioAt(pfn), pfn) ? 1 : 0;
            }
        }

        return errors;
    }

    private static bool CompoundError(Folio folio, long pfn) =>
        folio.Pfn != pfn && (folio.IsFree || pfn >= folio.Pfn + folio.NrPages);

    /// <summary>
    /// The descriptor half of <c>split_folio()</c> (<c>__split_unmapped_folio()</c>): the large folio
    /// <paramref name="folio"/>, locked and mapped by nothing but migration entries, becomes
    /// <see cref="Folio.NrPages"/> order-0 folios. The head keeps its references and lock; every tail
    /// comes back locked with one reference, which the caller owns. Works on system RAM and on
    /// device frames alike.
    /// </summary>
    internal void SplitUnmapped(Folio folio)
    {
        if (folio.Order == 0 || !folio.IsLocked || folio.MapCount != 0)
        {
            VmBug.OnFolio("SplitUnmapped", folio.Pfn, "is not a locked, unmapped large folio.");
        }

        var n = folio.NrPages;
        for (var i = 1; i < n; i++)
        {
            var tail = folio.Pgmap is { } pgmap ? pgmap.Detach(folio.Pfn + i) : _memmap[folio.Pfn + i] = _descriptors[folio.Pfn + i];
            tail.PrepareTail(folio, i);
        }

        folio.ShrinkToHead();
    }

    /// <summary>
    /// Returns folios whose refcount dropped to zero to the buddy allocator under one hold of the
    /// zone lock (<c>free_unref_folios()</c>); tail frames get their own descriptors back.
    /// </summary>
    internal void Free(ReadOnlySpan<Folio> folios)
    {
        foreach (var folio in folios)
        {
            if (folio.IsLocked)
            {
                VmBug.OnFolio("PhysicalMemory.Free", folio.Pfn, "freed while locked.");
            }

            var pfn = (int)folio.Pfn;
            for (var i = 1; i < folio.NrPages; i++)
            {
                _memmap[pfn + i] = _descriptors[pfn + i];
            }
        }

        using (_zoneLock.Enter())
        {
            foreach (var folio in folios)
            {
                _buddy.Free((int)folio.Pfn, folio.Order);
            }
        }
    }
}
