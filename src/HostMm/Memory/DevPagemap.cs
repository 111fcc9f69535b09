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

    /// <summary>Frames holding a reference (in use by the driver or mapped).</summary>
    public int FramesInUse => _folios.Count(f => !f.IsFree);

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

    /// <summary>The descriptor of frame <paramref name="pfn"/>, which the caller knows is in the pagemap (<see cref="Contains"/>).</summary>
    internal Folio FolioAt(long pfn) => _folios[pfn - PfnBase];

    /// <summary>
    /// <c>zone_device_folio_init()</c>: the driver takes a free device frame for use; it gets one
    /// reference and comes back locked, as migration destinations must be.
    /// </summary>
    public void ZoneDeviceFolioInit(Folio folio)
    {
        if (folio.Pgmap != this || !folio.IsFree)
        {
            VmBug.OnFolio("ZoneDeviceFolioInit", folio.Pfn, "is not a free frame of this pagemap.");
        }

        folio.Prepare(0, locked: true);
    }

    /// <summary>The CPU address of a device-coherent frame.</summary>
    internal byte* CpuAddress(long pfn) => Kind == PageKind.DeviceCoherent
        ? _cpuBase + ((pfn - PfnBase) * PageSize)
        : throw new InvalidOperationException($"DevPagemap: pfn {pfn} is device-private memory, which the CPU cannot address.");
}
