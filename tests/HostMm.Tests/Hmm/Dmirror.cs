using Testbed.HostMm.Exclusive;
using Testbed.HostMm.Hmm;
using Testbed.HostMm.Locking;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Migrate;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Tests.Hmm;

/// <summary>
/// A test mirror driver after lib/test_hmm.c's dmirror: device memory emulated by a byte array
/// behind a device-private pagemap, a device page table keyed by virtual page (the xarray), one
/// interval notifier over the whole address space that zaps the table and skips Migrate events of
/// its own owner, migration to the device with <c>MigrateVma*</c>, <c>migrate_to_ram</c> for CPU
/// faults, and eviction of every device page with <c>MigrateDeviceRange</c>.
/// </summary>
internal sealed class Dmirror : IDevPagemapOps, IMmuIntervalNotifierOps
{
    private static readonly LockClass MutexClass = new("dmirror->mutex");
    private static readonly LockClass FreeListClass = new("dmirror->free_lock");
    private readonly HostKernel _kernel;
    private readonly AddressSpace _mm;
    private readonly byte[] _deviceMemory;
    private readonly bool[] _used;
    private int _freeCount;
    private readonly MmLock _freeLock;
    private readonly Dictionary<ulong, DeviceEntry> _pt = [];
    private readonly MmuIntervalNotifier _notifier;
    private readonly int _pageSize;

    public unsafe Dmirror(HostKernel kernel, AddressSpace mm, int devicePages)
    {
        _kernel = kernel;
        _mm = mm;
        _pageSize = kernel.Memory.PageSize;
        _deviceMemory = new byte[devicePages * _pageSize];
        Mutex = new MmLock(kernel.Sync, MutexClass);
        _freeLock = new MmLock(kernel.Sync, FreeListClass);
        Assert.Equal(Errno.Ok, kernel.Memory.MemremapPages(PageKind.DevicePrivate, devicePages, Owner, this, null, out var pagemap));
        Pagemap = pagemap!;
        _used = new bool[devicePages];
        _freeCount = devicePages;

        Assert.Equal(Errno.Ok, mm.Notifiers.Insert(0, AddressSpace.TaskSize, this, out var notifier));
        _notifier = notifier!;
    }

    /// <summary>The interval notifier over the whole address space.</summary>
    public MmuIntervalNotifier Notifier => _notifier;

    /// <summary>The owner token (<c>dmirror-&gt;mdevice</c>).</summary>
    public object Owner { get; } = new();

    public DevPagemap Pagemap { get; }

    /// <summary><c>dmirror-&gt;mutex</c>: guards the device page table; the invalidate callback takes it.</summary>
    public MmLock Mutex { get; }

    /// <summary>Whether the callback skips Migrate and Exclusive invalidations this device caused (seed 002 turns it off).</summary>
    public bool FilterOwnEvents { get; set; } = true;

    /// <summary>
    /// <c>HMM_DMIRROR_FLAG_FAIL_ALLOC</c>: the next 2 MiB allocation (device or system) fails, so the
    /// migration falls back to 4 KiB pages and splits the THP. Cleared by that allocation.
    /// </summary>
    public bool FailAlloc { get; set; }

    /// <summary>Pages the last <see cref="MigrateToDevice"/> or <see cref="MigrateToSystem"/> moved (hmm-tests' <c>cpages</c>, a THP counting 512).</summary>
    public long Cpages { get; private set; }

    /// <summary>Exclusive mappings thrown away because the notifier sequence moved.</summary>
    public int ExclusiveRetries { get; private set; }

    public int FreePages
    {
        get
        {
            using (_freeLock.Enter())
            {
                return _freeCount;
            }
        }
    }

    public int Invalidations { get; private set; }

    /// <summary>
    /// <c>dmirror_device_remove</c>: the notifier goes, every device page is evicted to system
    /// memory, and the pagemap is unregistered (the teardown audit fails on a pagemap left behind).
    /// </summary>
    public void Remove()
    {
        _notifier.Remove();
        EvictAll();
        Assert.Equal(Errno.Ok, _kernel.Memory.MemunmapPages(Pagemap));
    }

    public bool Invalidate(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq)
    {
        if (FilterOwnEvents && range.Event is MmuNotifierEvent.Migrate or MmuNotifierEvent.Exclusive && range.Owner == Owner)
        {
            return true;
        }

        using (Mutex.Enter())
        {
            subscription.SetSeq(curSeq);
            Invalidations++;
            var (first, last) = (range.Start / (ulong)_pageSize, range.End / (ulong)_pageSize);
            foreach (var vpn in _pt.Keys.Where(v => v >= first && v < last).ToArray())
            {
                _pt.Remove(vpn);
            }
        }

        return true;
    }

    /// <summary>The device page-table entry for <paramref name="va"/>, if mapped.</summary>
    public DeviceEntry? Lookup(ulong va)
    {
        using (Mutex.Enter())
        {
            return _pt.TryGetValue(va / (ulong)_pageSize, out var e) ? e : null;
        }
    }

    /// <summary>
    /// <c>dmirror_migrate_to_device</c>: migrates <c>[start, start + pages)</c> to device memory, THPs
    /// whole where a 2 MiB device folio is free, and maps what moved in the device page table.
    /// -EINVAL for a missing or unreadable VMA.
    /// </summary>
    public Errno MigrateToDevice(ulong start, ulong pages) =>
        Migrate(start, pages, MigrateVmaFlags.SelectSystem | MigrateVmaFlags.SelectCompound, toDevice: true);

    /// <summary><c>dmirror_migrate_to_system</c>: brings this device's pages in <c>[start, start + pages)</c> back to system memory, THPs whole where a 2 MiB folio is free.</summary>
    public Errno MigrateToSystem(ulong start, ulong pages) =>
        Migrate(start, pages, MigrateVmaFlags.SelectDevicePrivate | MigrateVmaFlags.SelectCompound, toDevice: false);

    private Errno Migrate(ulong start, ulong pages, MigrateVmaFlags flags, bool toDevice)
    {
        var end = start + (pages * (ulong)_pageSize);
        Cpages = 0;
        _mm.MmapLock.DownRead();
        try
        {
            for (var addr = start; addr < end;)
            {
                var vma = _mm.FindVma(addr);
                if (vma is null || !vma.Permits(write: false))
                {
                    return Errno.EINVAL;
                }

                var next = Math.Min(end, vma.End);
                var n = (int)((next - addr) / (ulong)_pageSize);
                var args = new MigrateVma
                {
                    Vma = vma,
                    Start = addr,
                    End = next,
                    Src = new ulong[n],
                    Dst = new ulong[n],
                    PgmapOwner = Owner,
                    Flags = flags,
                };
                var err = MigrateDevice.MigrateVmaSetup(args);
                if (err != Errno.Ok)
                {
                    return err;
                }

                if (toDevice)
                {
                    AllocAndCopyToDevice(args);
                }
                else
                {
                    AllocAndCopyToRam(args.Src, args.Dst, args.Npages, args.Start);
                }

                MigrateDevice.MigrateVmaPages(args);
                if (toDevice)
                {
                    FinalizeAndMap(args);
                }

                Cpages += Migrated(args);
                MigrateDevice.MigrateVmaFinalize(args);
                addr = next;
            }

            return Errno.Ok;
        }
        finally
        {
            _mm.MmapLock.UpRead();
        }
    }

    /// <summary><c>dmirror_successful_migrated_pages</c>: the pages whose source is still marked to migrate and has a destination, a 2 MiB one counting 512.</summary>
    private long Migrated(MigrateVma args)
    {
        long n = 0;
        for (var i = 0; i < args.Npages; i++)
        {
            if ((args.Src[i] & MigratePfn.Migrate) != 0 && MigratePfn.ToPfn(args.Dst[i]) is var pfn and >= 0)
            {
                n += _kernel.Memory.PfnToFolio(pfn).NrPages;
            }
        }

        return n;
    }

    /// <summary>Calls of <see cref="Fault"/> (hmm-tests' <c>faults</c>) and the -EBUSY retries inside them.</summary>
    public int FaultCalls { get; private set; }

    public int FaultRetries { get; private set; }

    /// <summary>
    /// <c>dmirror_range_fault</c>: the standard mirror loop — <c>ReadBegin</c>, <c>HmmRangeFault</c>
    /// under the mmap read lock, then under the driver mutex <c>ReadRetry</c> and the device page
    /// table update — bounded by 1000 ms like <c>HMM_RANGE_DEFAULT_TIMEOUT</c>.
    /// </summary>
    public Errno Fault(ulong start, ulong end, bool write)
    {
        FaultCalls++;
        var range = new HmmRange
        {
            Notifier = _notifier,
            Start = start,
            End = end,
            HmmPfns = new ulong[(end - start) / (ulong)_pageSize],
            DefaultFlags = HmmPfn.ReqFault | (write ? HmmPfn.ReqWrite : 0),
            DevPrivateOwner = Owner,
        };
        var deadline = Environment.TickCount64 + 1000;
        while (true)
        {
            if (Environment.TickCount64 > deadline)
            {
                return Errno.EBUSY;
            }

            range.NotifierSeq = _notifier.ReadBegin();
            _mm.MmapLock.DownRead();
            var err = HmmMirror.HmmRangeFault(range);
            _mm.MmapLock.UpRead();
            if (err == Errno.EBUSY)
            {
                FaultRetries++;
                continue;
            }

            if (err != Errno.Ok)
            {
                return err;
            }

            using (Mutex.Enter())
            {
                if (_notifier.ReadRetry(range.NotifierSeq))
                {
                    FaultRetries++;
                    continue;
                }

                for (var i = 0; i < range.HmmPfns.Length; i++)
                {
                    var e = range.HmmPfns[i];
                    if ((e & HmmPfn.Valid) != 0)
                    {
                        _pt[(start / (ulong)_pageSize) + (ulong)i] = new DeviceEntry(HmmPfn.ToPfn(e), (e & HmmPfn.Write) != 0);
                    }
                }
            }

            return Errno.Ok;
        }
    }

    /// <summary><c>dmirror_read</c>: reads through the device page table, faulting missing pages in.</summary>
    public Errno Read(ulong va, Span<byte> destination) => Access(va, destination, write: false);

    /// <summary><c>dmirror_write</c>: writes through the device page table, write-faulting pages in.</summary>
    public Errno Write(ulong va, ReadOnlySpan<byte> source)
    {
        var copy = source.ToArray();
        return Access(va, copy, write: true);
    }

    /// <summary>
    /// A device read without the fault path (<c>dmirror_do_read</c>): -ENOENT if a page is not mapped
    /// on the device.
    /// </summary>
    public Errno DeviceRead(ulong va, Span<byte> destination) => Copy(va, destination, write: false);

    /// <summary><c>dmirror_snapshot</c>: what the device would see, without faulting anything.</summary>
    public DmirrorProt[] Snapshot(ulong start, int pages)
    {
        var range = new HmmRange
        {
            Notifier = _notifier,
            Start = start,
            End = start + ((ulong)pages * (ulong)_pageSize),
            HmmPfns = new ulong[pages],
            DevPrivateOwner = Owner,
        };
        while (true)
        {
            range.NotifierSeq = _notifier.ReadBegin();
            _mm.MmapLock.DownRead();
            var err = HmmMirror.HmmRangeFault(range);
            _mm.MmapLock.UpRead();
            if (err == Errno.EBUSY)
            {
                continue;
            }

            Assert.Equal(Errno.Ok, err);
            using (Mutex.Enter())
            {
                if (!_notifier.ReadRetry(range.NotifierSeq))
                {
                    return [.. range.HmmPfns.Select(MkEntry)];
                }
            }
        }
    }

    /// <summary><c>dmirror_mkentry</c>.</summary>
    private DmirrorProt MkEntry(ulong entry)
    {
        if ((entry & HmmPfn.Error) != 0)
        {
            return DmirrorProt.Error;
        }

        if ((entry & HmmPfn.Valid) == 0)
        {
            return DmirrorProt.None;
        }

        var folio = _kernel.Memory.PfnToFolio(HmmPfn.ToPfn(entry));
        var perm = folio.Kind == PageKind.DevicePrivate
            ? folio.Pgmap == Pagemap ? DmirrorProt.DevPrivateLocal : DmirrorProt.DevPrivateRemote
            : folio.IsZeroPage ? DmirrorProt.Zero : DmirrorProt.None;
        perm |= HmmPfn.Order(entry) == PhysicalMemory.MaxOrder ? DmirrorProt.Pmd : DmirrorProt.None;
        return perm | ((entry & HmmPfn.Write) != 0 ? DmirrorProt.Write : DmirrorProt.Read);
    }

    private Errno Access(ulong va, Span<byte> buffer, bool write)
    {
        var end = (va + (ulong)buffer.Length + (ulong)_pageSize - 1) & ~(ulong)(_pageSize - 1);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var err = Copy(va, buffer, write);
            if (err != Errno.ENOENT)
            {
                return err;
            }

            err = Fault(va & ~(ulong)(_pageSize - 1), end, write);
            if (err != Errno.Ok)
            {
                return err;
            }
        }

        return Errno.EBUSY;
    }

    /// <summary>Copies through the device page table under the mutex; -ENOENT for a missing (or, writing, read-only) entry.</summary>
    private unsafe Errno Copy(ulong va, Span<byte> buffer, bool write)
    {
        using (Mutex.Enter())
        {
            while (!buffer.IsEmpty)
            {
                if (!_pt.TryGetValue(va / (ulong)_pageSize, out var e) || (write && !e.Write))
                {
                    return Errno.ENOENT;
                }

                var offset = (int)(va % (ulong)_pageSize);
                var n = Math.Min(buffer.Length, _pageSize - offset);
                var frame = Pagemap.Contains(e.Pfn) ? DeviceBytes(e.Pfn) : new Span<byte>(_kernel.Memory.FrameAddress(e.Pfn), _pageSize);
                if (write)
                {
                    buffer[..n].CopyTo(frame[offset..]);
                }
                else
                {
                    frame.Slice(offset, n).CopyTo(buffer);
                }

                va += (ulong)n;
                buffer = buffer[n..];
            }
        }

        return Errno.Ok;
    }

    /// <summary>
    /// Maps <c>[start, start + pages)</c> for device atomics, the way nouveau does: per page,
    /// <c>ReadBegin</c>, <c>MakeDeviceExclusive</c> under the mmap read lock, then under the mutex
    /// <c>ReadRetry</c> and the device mapping; the folio is unlocked and put after. A page whose
    /// sequence keeps moving is retried up to <paramref name="maxRetries"/> times, then -EBUSY.
    /// </summary>
    public Errno MakeExclusive(ulong start, int pages, int maxRetries = 16)
    {
        for (var p = 0; p < pages; p++)
        {
            var va = start + ((ulong)p * (ulong)_pageSize);
            for (var attempt = 0; ; attempt++)
            {
                if (attempt == maxRetries)
                {
                    return Errno.EBUSY;
                }

                var seq = _notifier.ReadBegin();
                _mm.MmapLock.DownRead();
                var err = DeviceExclusive.MakeDeviceExclusive(_mm, va, Owner, out var folio, out var pfn);
                _mm.MmapLock.UpRead();
                if (err != Errno.Ok)
                {
                    return err;
                }

                bool mapped;
                using (Mutex.Enter())
                {
                    mapped = !_notifier.ReadRetry(seq);
                    if (mapped)
                    {
                        _pt[va / (ulong)_pageSize] = new DeviceEntry(pfn, Write: true);
                    }
                }

                folio!.Unlock();
                folio.Put();
                if (mapped)
                {
                    break;
                }

                ExclusiveRetries++;
            }
        }

        return Errno.Ok;
    }

    /// <summary>
    /// <c>dmirror_devmem_fault</c>: brings the faulting page back to system memory — the whole
    /// aligned 2 MiB span, as one THP or (without a free 2 MiB block) as 512 pages, when the fault
    /// page is a device THP.
    /// </summary>
    public Errno MigrateToRam(in VmFault vmf)
    {
        var span = (ulong)_pageSize << vmf.Page.Order;
        var start = Math.Max(vmf.Vma.Start, vmf.Address & ~(span - 1));
        var end = Math.Min(vmf.Vma.End, (vmf.Address & ~(span - 1)) + span);
        var n = (int)((end - start) / (ulong)_pageSize);
        var args = new MigrateVma
        {
            Vma = vmf.Vma,
            Start = start,
            End = end,
            Src = new ulong[n],
            Dst = new ulong[n],
            PgmapOwner = Owner,
            Flags = MigrateVmaFlags.SelectDevicePrivate | (vmf.Page.Order > 0 ? MigrateVmaFlags.SelectCompound : 0),
            FaultPage = vmf.Page,
        };
        if (MigrateDevice.MigrateVmaSetup(args) != Errno.Ok)
        {
            return Errno.EFAULT;
        }

        AllocAndCopyToRam(args.Src, args.Dst, args.Npages, args.Start);
        MigrateDevice.MigrateVmaPages(args);
        MigrateDevice.MigrateVmaFinalize(args);
        return Errno.Ok;
    }

    public void FolioFree(Folio folio)
    {
        using (_freeLock.Enter())
        {
            var first = (int)(folio.Pfn - Pagemap.PfnBase);
            Array.Fill(_used, false, first, folio.NrPages);
            _freeCount += folio.NrPages;
        }
    }

    /// <summary>
    /// A free device folio of 2^<paramref name="order"/> frames (the lowest free frame, or the lowest
    /// free aligned 2 MiB run), taken with <see cref="DevPagemap.ZoneDeviceFolioInit"/>; null when
    /// none is free, or when <see cref="FailAlloc"/> fails this 2 MiB allocation.
    /// </summary>
    private Folio? AllocDevice(int order)
    {
        if (order > 0 && ConsumeFailAlloc())
        {
            return null;
        }

        int first;
        using (_freeLock.Enter())
        {
            var n = 1 << order;
            first = -1;
            for (var i = 0; i + n <= _used.Length && first < 0; i += n)
            {
                if (Array.IndexOf(_used, true, i, n) < 0)
                {
                    first = i;
                }
            }

            if (first < 0)
            {
                return null;
            }

            Array.Fill(_used, true, first, n);
            _freeCount -= n;
        }

        var folio = Pagemap.PfnToFolio(Pagemap.PfnBase + first);
        Pagemap.ZoneDeviceFolioInit(folio, order);
        return folio;
    }

    /// <summary>A system folio of 2^<paramref name="order"/> pages, locked, for a migration to RAM; null when none is free or <see cref="FailAlloc"/> fails this 2 MiB allocation.</summary>
    private Folio? AllocSystem(int order)
    {
        if (order > 0 && ConsumeFailAlloc())
        {
            return null;
        }

        var page = _kernel.Memory.AllocFolio(order, zero: false);
        page?.Lock();
        return page;
    }

    private bool ConsumeFailAlloc()
    {
        var fail = FailAlloc;
        FailAlloc = false;
        return fail;
    }

    /// <summary>
    /// <c>dmirror_device_evict_chunk</c>: moves every device page back to system memory using only
    /// frame numbers and the reverse map. Must be called without <see cref="Mutex"/> held.
    /// </summary>
    public void EvictAll()
    {
        var n = Pagemap.NrPages;
        var src = new ulong[n];
        var dst = new ulong[n];
        Assert.Equal(Errno.Ok, MigrateDevice.MigrateDeviceRange(_kernel, src, Pagemap.PfnBase, n));
        AllocAndCopyToRam(src, dst, n, null);
        MigrateDevice.MigrateDevicePages(_kernel, src, dst, n);
        MigrateDevice.MigrateDeviceFinalize(_kernel, src, dst, n);
    }

    private Span<byte> DeviceBytes(long pfn) => _deviceMemory.AsSpan((int)(pfn - Pagemap.PfnBase) * _pageSize, _pageSize);

    /// <summary>
    /// <c>dmirror_migrate_alloc_and_copy</c>: a device page per source page; a 2 MiB device folio for
    /// a compound source, or (none free) 512 small pages, which makes the migration split the source.
    /// </summary>
    private void AllocAndCopyToDevice(MigrateVma args)
    {
        for (var i = 0; i < args.Npages; i++)
        {
            if ((args.Src[i] & MigratePfn.Migrate) == 0)
            {
                continue;
            }

            var write = (args.Src[i] & MigratePfn.Write) != 0 || (MigratePfn.ToPfn(args.Src[i]) < 0 && args.Vma!.Writable) ? MigratePfn.Write : 0;
            var compound = (args.Src[i] & MigratePfn.Compound) != 0;
            if (compound && AllocDevice(PhysicalMemory.MaxOrder) is { } huge)
            {
                CopyToDevice(args.Src[i], 0, huge.Pfn, huge.NrPages);
                args.Dst[i] = MigratePfn.Make(huge.Pfn) | MigratePfn.Compound | write;
                i += huge.NrPages - 1;
                continue;
            }

            var pages = compound ? PteTable.Entries : 1;
            for (var j = 0; j < pages; j++)
            {
                if (AllocDevice(0) is not { } dpage)
                {
                    continue;
                }

                CopyToDevice(args.Src[i], j, dpage.Pfn, 1);
                args.Dst[i + j] = MigratePfn.Make(dpage.Pfn) | write;
            }

            i += pages - 1;
        }
    }

    /// <summary>Copies <paramref name="pages"/> pages, from page <paramref name="offset"/> of the source entry (zeroes for an empty one), to device frames from <paramref name="dpfn"/>.</summary>
    private unsafe void CopyToDevice(ulong src, int offset, long dpfn, int pages)
    {
        for (var j = 0; j < pages; j++)
        {
            var bytes = DeviceBytes(dpfn + j);
            if (MigratePfn.ToPfn(src) is var spfn and >= 0)
            {
                new Span<byte>(_kernel.Memory.FrameAddress(spfn + offset + j), _pageSize).CopyTo(bytes);
            }
            else
            {
                bytes.Clear();
            }
        }
    }

    /// <summary><c>dmirror_migrate_finalize_and_map</c>: maps what moved in the device page table, page by page.</summary>
    private void FinalizeAndMap(MigrateVma args)
    {
        using (Mutex.Enter())
        {
            for (var i = 0; i < args.Npages; i++)
            {
                if ((args.Src[i] & MigratePfn.Migrate) == 0 || MigratePfn.ToPfn(args.Dst[i]) is not (var dpfn and >= 0))
                {
                    continue;
                }

                var va = args.Start + ((ulong)i * (ulong)_pageSize);
                var n = _kernel.Memory.PfnToFolio(dpfn).NrPages;
                for (var j = 0; j < n; j++)
                {
                    _pt[(va / (ulong)_pageSize) + (ulong)j] = new DeviceEntry(dpfn + j, (args.Dst[i] & MigratePfn.Write) != 0);
                }
            }
        }
    }

    /// <summary>
    /// <c>dmirror_devmem_fault_alloc_and_copy</c> / eviction copy: system pages, locked, with the
    /// device bytes; a 2 MiB folio for a compound source, or 512 pages when none is free.
    /// </summary>
    private unsafe void AllocAndCopyToRam(ulong[] src, ulong[] dst, long npages, ulong? start)
    {
        for (var i = 0; i < npages; i++)
        {
            if ((src[i] & MigratePfn.Migrate) == 0 || MigratePfn.ToPfn(src[i]) is not (var spfn and >= 0))
            {
                continue;
            }

            var compound = (src[i] & MigratePfn.Compound) != 0;
            if (compound && AllocSystem(PhysicalMemory.MaxOrder) is { } huge)
            {
                CopyToRam(spfn, huge.Pfn, huge.NrPages, start, i);
                dst[i] = MigratePfn.Make(huge.Pfn) | MigratePfn.Compound;
                i += huge.NrPages - 1;
                continue;
            }

            var pages = compound ? PteTable.Entries : 1;
            for (var j = 0; j < pages; j++)
            {
                if (AllocSystem(0) is { } page)
                {
                    CopyToRam(spfn + j, page.Pfn, 1, start, i + j);
                    dst[i + j] = MigratePfn.Make(page.Pfn);
                }
            }

            i += pages - 1;
        }
    }

    /// <summary>Copies <paramref name="pages"/> device pages from <paramref name="spfn"/> to system frames from <paramref name="pfn"/> and forgets the device mappings of the entries from <paramref name="index"/>.</summary>
    private unsafe void CopyToRam(long spfn, long pfn, int pages, ulong? start, long index)
    {
        for (var j = 0; j < pages; j++)
        {
            DeviceBytes(spfn + j).CopyTo(new Span<byte>(_kernel.Memory.FrameAddress(pfn + j), _pageSize));
        }

        if (start is { } s)
        {
            using (Mutex.Enter())
            {
                for (var j = 0; j < pages; j++)
                {
                    _pt.Remove((s / (ulong)_pageSize) + (ulong)index + (ulong)j);
                }
            }
        }
    }

    /// <summary>One device page-table entry: the device frame and whether the device may write it.</summary>
    public readonly record struct DeviceEntry(long Pfn, bool Write);
}
