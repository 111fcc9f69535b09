using System.Runtime.CompilerServices;
using Testbed.HostMm.Diagnostics;

namespace Testbed.HostMm.Memory;

/// <summary>
/// A folio (include/linux/mm_types.h): the descriptor of one frame or of a naturally aligned
/// power-of-two run of frames (order 9 = 2 MiB with 4 KiB pages, a THP). Descriptors are made once
/// per frame, like the kernel's memmap, and reused across allocations; a large folio's tail frames
/// resolve to its head (<see cref="PhysicalMemory.PfnToFolio"/>).
/// </summary>
/// <remarks>
/// <para><b>Refcount</b> counts every holder (each mapping PTE, the shmem page cache, a migration or
/// a fault in progress); the folio is freed when it drops to zero. <b>Mapcount</b> counts only the
/// PTEs that map it, so <c>RefCount - MapCount</c> is the number of extra references, the quantity
/// migration checks. The shared zero page is never counted, as <c>vm_normal_page()</c> skips it.</para>
/// <para>The folio lock (<c>PG_locked</c>) is in <c>Folio.Lock.cs</c>.</para>
/// </remarks>
public sealed unsafe partial class Folio
{
    private readonly PhysicalMemory _memory;
    private int _refCount;
    private int _mapCount;
    private int _dirty;
    private int _deferredSplit;

    /// <summary>A pin (<c>FOLL_PIN</c>) adds this many references, as <c>GUP_PIN_COUNTING_BIAS</c> does.</summary>
    public const int PinBias = 1024;

    internal Folio(PhysicalMemory memory, long pfn, DevPagemap? pgmap = null)
    {
        _memory = memory;
        Pfn = pfn;
        Pgmap = pgmap;
    }

    /// <summary>The system memory the folio's descriptor belongs to.</summary>
    internal PhysicalMemory Memory => _memory;

    /// <summary>The first frame's number.</summary>
    public long Pfn { get; }

    /// <summary>Where the bytes live.</summary>
    public PageKind Kind => Pgmap?.Kind ?? PageKind.System;

    /// <summary>The device pagemap of a ZONE_DEVICE folio; null for system RAM.</summary>
    public DevPagemap? Pgmap { get; }

    /// <summary>
    /// The reverse-map owner (<c>folio-&gt;mapping</c>): the <see cref="Mm.AnonVma"/> of an anonymous
    /// folio, the shmem object of a shared one, null while unmapped or for the zero page.
    /// </summary>
    internal object? Mapping { get; set; }

    /// <summary>The page offset in <see cref="Mapping"/> (<c>folio-&gt;index</c>): for anonymous memory, the virtual page number at first fault.</summary>
    internal long Index { get; set; }

    /// <summary>Whether the folio belongs to an anonymous mapping (<c>folio_test_anon()</c>).</summary>
    public bool IsAnon => Mapping is Mm.AnonVma;

    /// <summary><c>folio_maybe_dma_pinned()</c>: a device may be DMA-ing into it; migration must leave it alone.</summary>
    public bool IsMaybeDmaPinned => RefCount >= PinBias;

    /// <summary>log2 of the number of frames.</summary>
    public int Order { get; private set; }

    /// <summary>The number of frames (<c>folio_nr_pages()</c>).</summary>
    public int NrPages => 1 << Order;

    /// <summary>Every reference held (<c>folio_ref_count()</c>).</summary>
    public int RefCount => Volatile.Read(ref _refCount);

    /// <summary>How many PTEs map the folio (<c>folio_mapcount()</c>).</summary>
    public int MapCount => Volatile.Read(ref _mapCount);

    /// <summary>Whether the contents were written since the folio was allocated (<c>folio_test_dirty()</c>).</summary>
    public bool Dirty => Volatile.Read(ref _dirty) != 0;

    /// <summary>Whether this is the shared zero page.</summary>
    public bool IsZeroPage { get; internal set; }

    /// <summary>Whether the folio is free (refcount zero, back in the buddy allocator).</summary>
    public bool IsFree => RefCount == 0;

    /// <summary>The CPU address of the first byte (system RAM or device-coherent memory; device-private memory has none).</summary>
    public byte* Address => _memory.FrameAddress(Pfn);

    /// <summary>The folio's bytes.</summary>
    public Span<byte> Bytes => new(Address, _memory.PageSize << Order);

    /// <summary><c>folio_get()</c>: takes a reference. The caller must already hold one (or the PTL of a PTE mapping it).</summary>
    public void Get()
    {
        if (Interlocked.Increment(ref _refCount) <= 1)
        {
            VmBug.OnFolio("Folio.Get", Pfn, "was free (refcount 0); use TryGet without a reference.");
        }
    }

    /// <summary><c>folio_try_get()</c>: takes a reference unless the folio is being freed.</summary>
    public bool TryGet()
    {
        var c = Volatile.Read(ref _refCount);
        while (c > 0)
        {
            var seen = Interlocked.CompareExchange(ref _refCount, c + 1, c);
            if (seen == c)
            {
                return true;
            }

            c = seen;
        }

        return false;
    }

    /// <summary>
    /// <c>folio_put()</c>: drops a reference and frees the folio on the last one (system RAM goes
    /// back to the buddy allocator, a device folio to its driver's <see cref="IDevPagemapOps.FolioFree"/>).
    /// </summary>
    public void Put()
    {
        if (PutTestZero())
        {
            if (Pgmap is { } pgmap)
            {
                pgmap.Release(this);
            }
            else
            {
                var self = this;
                _memory.Free(new ReadOnlySpan<Folio>(in self));
            }
        }
    }

    /// <summary>
    /// Drops a reference; true when it was the last, and the caller must free the folio (as
    /// <see cref="Put"/> does, or in bulk as <see cref="FolioBatch"/> does). A folio freed while a PTE
    /// still maps it is reported to <see cref="PhysicalMemory.BadPages"/>.
    /// </summary>
    internal bool PutTestZero()
    {
        var c = Interlocked.Decrement(ref _refCount);
        if (c > 0)
        {
            return false;
        }

        if (c < 0)
        {
            VmBug.OnFolio("Folio.Put", Pfn, "refcount underflow.");
        }

        Freed();
        return true;
    }

    /// <summary>The last reference went: a folio a PTE still maps is a bad page, and the reverse map forgets it.</summary>
    private void Freed()
    {
        if (MapCount != 0)
        {
            ReportFreedMapped();
        }

        Mapping = null;
        Volatile.Write(ref _deferredSplit, 0);
    }

    /// <summary>Marks the folio queued for a deferred split; false if it already was (<c>folio_test_partially_mapped()</c>).</summary>
    internal bool TryMarkDeferredSplit() => Interlocked.CompareExchange(ref _deferredSplit, 1, 0) == 0;

    /// <summary>Takes the folio off the deferred split queue's books; false if it was not on them (freed, or reused, since it was queued).</summary>
    internal bool ClearDeferredSplit() => Interlocked.Exchange(ref _deferredSplit, 0) != 0;

    /// <summary><c>bad_page()</c>, out of line: the message is built only when there is one.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReportFreedMapped() => _memory.BadPages.Report(Pfn, $"freed with mapcount {MapCount}");

    /// <summary><c>pin_user_pages()</c> on this folio: a long-term reference that migration refuses to move.</summary>
    public void Pin()
    {
        Get();
        Interlocked.Add(ref _refCount, PinBias - 1);
    }

    /// <summary><c>unpin_user_page()</c>.</summary>
    public void Unpin()
    {
        Interlocked.Add(ref _refCount, -(PinBias - 1));
        Put();
    }

    /// <summary>Adds a PTE mapping (<c>folio_add_*_rmap_pte()</c>). The caller holds the PTL.</summary>
    internal void AddMap() => Interlocked.Increment(ref _mapCount);

    /// <summary>
    /// <see cref="AddMap"/> for the first mapping of a folio the caller just allocated and holds
    /// locked, which nothing maps yet: nobody else can add a mapping of it (they would need a PTE
    /// mapping it, or its lock), so the count is set with a plain store, as
    /// <c>folio_add_new_anon_rmap()</c> sets a new folio's with <c>atomic_set</c>. The store is published
    /// with the PTE, by the release of the PTL.
    /// </summary>
    internal void AddFirstMap()
    {
        if (_mapCount != 0)
        {
            VmBug.OnFolio("Folio.AddFirstMap", Pfn, "is already mapped.");
        }

        _mapCount = 1;
    }

    /// <summary>
    /// <see cref="RemoveMap"/> by a caller that holds the folio lock and the PTL of the mapping it
    /// removes, on an anonymous folio: when that is its only mapping, nobody else can change the count
    /// (adding a mapping of an anonymous folio takes a PTE that maps it — fork copies one under its
    /// PTL — or the folio lock; removing one takes the PTL of that mapping), so it is cleared with a
    /// plain store; otherwise the decrement is atomic.
    /// </summary>
    internal void RemoveMapLocked()
    {
        if (_mapCount == 1 && IsAnon)
        {
            _mapCount = 0;
            return;
        }

        RemoveMap();
    }

    /// <summary>Removes a PTE mapping (<c>folio_remove_rmap_pte()</c>). The caller holds the PTL.</summary>
    internal void RemoveMap()
    {
        if (Interlocked.Decrement(ref _mapCount) < 0)
        {
            VmBug.OnFolio("Folio.RemoveMap", Pfn, "mapcount underflow.");
        }
    }

    /// <summary>
    /// Adds <paramref name="n"/> references and as many mappings at once: a huge PMD became
    /// <paramref name="n"/> + 1 PTEs (<c>__split_huge_pmd_locked()</c>), each holding what the PMD held.
    /// The caller holds the PTL of the PMD, which holds one of each already.
    /// </summary>
    internal void AddMappedRefs(int n)
    {
        Interlocked.Add(ref _refCount, n);
        Interlocked.Add(ref _mapCount, n);
    }

    /// <summary>
    /// Turns this head of a large folio into an order-0 folio, keeping its references, lock and
    /// metadata; the caller (<see cref="PhysicalMemory.SplitUnmapped"/>) makes the tails folios of their own.
    /// </summary>
    internal void ShrinkToHead() => Order = 0;

    /// <summary>
    /// Makes a free tail descriptor of a large folio being split an order-0 folio of its own: locked,
    /// one reference (the splitter's), and the head's reverse-map owner, dirty bit and index plus
    /// <paramref name="offset"/> (<c>__split_folio_to_order()</c>).
    /// </summary>
    internal void PrepareTail(Folio head, int offset)
    {
        Prepare(0, locked: true);
        Mapping = head.Mapping;
        Index = head.Index + offset;
        if (head.Dirty)
        {
            _dirty = 1;
        }
    }

    /// <summary><c>folio_mark_dirty()</c>.</summary>
    internal void MarkDirty() => Volatile.Write(ref _dirty, 1);

    /// <summary>
    /// Makes a free descriptor the head of a fresh allocation with one reference, and
    /// <paramref name="locked"/> if asked. The lock is set with a plain store before the reference is
    /// published: a free folio cannot be locked (locking needs a reference), and anyone who takes a
    /// speculative reference afterwards (<see cref="TryGet"/>) sees it locked.
    /// </summary>
    internal void Prepare(int order, bool locked = false)
    {
        CheckUnlockedForReuse();
        Order = order;
        Mapping = null;
        Index = 0;
        _mapCount = 0;
        _dirty = 0;
        _deferredSplit = 0;
        _locked = locked ? 1 : 0;
        Volatile.Write(ref _refCount, 1);
    }
}
