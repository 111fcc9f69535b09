using System.Diagnostics.CodeAnalysis;
using Testbed.HostMm.Diagnostics;

namespace Testbed.HostMm.Memory;

/// <summary>
/// <c>struct dev_pagemap</c> (include/linux/memremap.h): a run of ZONE_DEVICE frames a driver
/// registered with <see cref="PhysicalMemory.MemremapPages"/>. HostMm keeps one folio descriptor
/// per frame; the bytes belong to the driver. A device-private pagemap has no CPU address; a
/// device-coherent one gives the CPU a direct address for every frame.
/// </summary>
/// <remarks>
/// Device folios are free (refcount 0) until the driver takes one with
/// <see cref="ZoneDeviceFolioInit"/>; when their last reference goes, <see cref="IDevPagemapOps.FolioFree"/>
/// gives them back. The kernel counts one more reference on ZONE_DEVICE pages (and adds it back in
/// <c>migrate_vma_check_page</c>); this model counts only real holders, so that check needs no
/// adjustment.
/// </remarks>
public sealed unsafe class DevPagemap
{
    private readonly Folio[] _folios;
    private readonly Folio[] _memmap;
    private readonly byte* _cpuBase;

    internal DevPagemap(PhysicalMemory memory, PageKind kind, long pfnBase, int nrPages, object owner, IDevPagemapOps ops, byte* cpuBase)
    {
        Kind = kind;
        PfnBase = pfnBase;
        NrPages = nrPages;
        Owner = owner;
        Ops = ops;
        _cpuBase = cpuBase;
        PageSize = memory.PageSize;
        _folios = new Folio[nrPages];
        for (var i = 0; i < nrPages; i++)
        {
            _folios[i] = new Folio(memory, pfnBase + i, this);
        }

        _memmap = (Folio[])_folios.Clone();
    }

    /// <summary><see cref="PageKind.DevicePrivate"/> or <see cref="PageKind.DeviceCoherent"/>.</summary>
    public PageKind Kind { get; }

    /// <summary>The first frame number (above every system frame).</summary>
    public long PfnBase { get; }

    /// <summary>Frames in the pagemap.</summary>
    public int NrPages { get; }

    /// <summary>The owner token: HMM reports (never faults) a device-private page whose owner matches the caller's.</summary>
    public object Owner { get; }

    /// <summary>The driver's callbacks.</summary>
    public IDevPagemapOps Ops { get; }

    /// <summary>Bytes per frame.</summary>
    public int PageSize { get; }

    /// <summary>Frames in use by the driver or mapped: those of folios holding a reference (a large folio counts all its frames).</summary>
    public int FramesInUse => _folios.Where(f => !f.IsFree).Sum(f => f.NrPages);

    /// <summary>Whether <paramref name="pfn"/> belongs to this pagemap.</summary>
    public bool Contains(long pfn) => pfn >= PfnBase && pfn < PfnBase + NrPages;

    /// <summary>The descriptor of frame <paramref name="pfn"/>.</summary>
    public Folio PfnToFolio(long pfn)
    {
        if (!Contains(pfn))
        {
            ThrowOutside(pfn);
        }

        return FolioAt(pfn);
    }

    [DoesNotReturn]
    private void ThrowOutside(long pfn) =>
        throw new ArgumentOutOfRangeException(nameof(pfn), pfn, $"DevPagemap: pfn outside [{PfnBase}, {PfnBase + NrPages}).");

    /// <summary>The folio holding frame <paramref name="pfn"/> (its head for a tail of a large folio), which the caller knows is in the pagemap (<see cref="Contains"/>).</summary>
    internal Folio FolioAt(long pfn) => _memmap[pfn - PfnBase];

    /// <summary>
    /// <c>zone_device_folio_init()</c>: the driver takes free device frames for use, one frame or a
    /// naturally aligned run of 2^<paramref name="order"/> (a device THP, order 9); the folio gets one
    /// reference and comes back locked, as migration destinations must be.
    /// </summary>
    public void ZoneDeviceFolioInit(Folio folio, int order = 0)
    {
        var first = folio.Pfn - PfnBase;
        if (folio.Pgmap != this || order < 0 || order > PhysicalMemory.MaxOrder || (first & ((1L << order) - 1)) != 0 ||
            first + (1L << order) > NrPages || !AllFree(first, 1 << order))
        {
            VmBug.OnFolio("ZoneDeviceFolioInit", folio.Pfn, $"is not the first of 2^{order} free, aligned frames of this pagemap.");
        }

        for (var i = 1; i < 1 << order; i++)
        {
            _memmap[first + i] = folio;
        }

        folio.Prepare(order, locked: true);
    }

    /// <summary>Whether frames <c>[first, first + count)</c> are free and each its own folio (no one's tail).</summary>
    private bool AllFree(long first, int count)
    {
        for (var i = first; i < first + count; i++)
        {
            if (!_memmap[i].IsFree || _memmap[i] != _folios[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The last reference to <paramref name="folio"/> went: a large folio's tail frames get their own
    /// descriptors back, then the driver's <see cref="IDevPagemapOps.FolioFree"/> takes the folio
    /// (whose <see cref="Folio.NrPages"/> frames are all free again).
    /// </summary>
    internal void Release(Folio folio)
    {
        var first = folio.Pfn - PfnBase;
        for (var i = 1; i < folio.NrPages; i++)
        {
            _memmap[first + i] = _folios[first + i];
        }

        Ops.FolioFree(folio);
    }

    /// <summary>A tail frame of a large folio being split gets its own descriptor back (see <see cref="PhysicalMemory.SplitUnmapped"/>).</summary>
    internal Folio Detach(long pfn) => _memmap[pfn - PfnBase] = _folios[pfn - PfnBase];

    /// <summary>The CPU address of a device-coherent frame.</summary>
    internal byte* CpuAddress(long pfn) => Kind == PageKind.DeviceCoherent
        ? _cpuBase + ((pfn - PfnBase) * PageSize)
        : throw new InvalidOperationException($"DevPagemap: pfn {pfn} is device-private memory, which the CPU cannot address.");
}
