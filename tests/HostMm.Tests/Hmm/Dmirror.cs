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
    private readonly Stack<Folio> _free = new();
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
        for (var i = devicePages - 1; i >= 0; i--)
        {
            _free.Push(Pagemap.PfnToFolio(Pagemap.PfnBase + i));
        }

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

    /// <summary>Exclusive mappings thrown away because the notifier sequence moved.</summary>
    public int ExclusiveRetries { get; private set; }

    public int FreePages
    {
        get
        {
            using (_freeLock.Enter())
            {
                return _free.Count;
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
    /// <c>dmirror_migrate_to_device</c>: migrates <c>[start, start + pages)</c> to device memory and
    /// maps what moved in the device page table. -EINVAL for a missing or unreadable VMA.
    /// </summary>
    public Errno MigrateToDevice(ulong start, ulong pages)
    {
        var end = start + (pages * (ulong)_pageSize);
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
                    Flags = MigrateVmaFlags.SelectSystem,
                };
                var err = MigrateDevice.MigrateVmaSetup(args);
                if (err != Errno.Ok)
                {
                    return err;
                }

                AllocAndCopyToDevice(args);
                MigrateDevice.MigrateVmaPages(args);
                FinalizeAndMap(args);
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
                var err = DeviceExclusive.MakeDeviceExclusive(_mm, va, Owner, out var folio);
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
                        _pt[va / (ulong)_pageSize] = new DeviceEntry(folio!.Pfn, Write: true);
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

    /// <summary><c>dmirror_devmem_fault</c>: brings the faulting page back to system memory.</summary>
    public Errno MigrateToRam(in VmFault vmf)
    {
        var args = new MigrateVma
        {
            Vma = vmf.Vma,
            Start = vmf.Address & ~(ulong)(_pageSize - 1),
            End = (vmf.Address & ~(ulong)(_pageSize - 1)) + (ulong)_pageSize,
            Src = new ulong[1],
            Dst = new ulong[1],
            PgmapOwner = Owner,
            Flags = MigrateVmaFlags.SelectDevicePrivate,
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
            _free.Push(folio);
        }
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

    /// <summary><c>dmirror_migrate_alloc_and_copy</c>.</summary>
    private void AllocAndCopyToDevice(MigrateVma args)
    {
        for (var i = 0; i < args.Npages; i++)
        {
            if ((args.Src[i] & MigratePfn.Migrate) == 0)
            {
                continue;
            }

            Folio? dpage;
            using (_freeLock.Enter())
            {
                _free.TryPop(out dpage);
            }

            if (dpage is null)
            {
                continue;
            }

            Pagemap.ZoneDeviceFolioInit(dpage);
            var bytes = DeviceBytes(dpage.Pfn);
            if (MigratePfn.ToPfn(args.Src[i]) is var spfn and >= 0)
            {
                _kernel.Memory.PfnToFolio(spfn).Bytes.CopyTo(bytes);
            }
            else
            {
                bytes.Clear();
            }

            args.Dst[i] = MigratePfn.Make(dpage.Pfn);
            if ((args.Src[i] & MigratePfn.Write) != 0 || (MigratePfn.ToPfn(args.Src[i]) < 0 && args.Vma!.Writable))
            {
                args.Dst[i] |= MigratePfn.Write;
            }
        }
    }

    /// <summary><c>dmirror_migrate_finalize_and_map</c>: maps what moved in the device page table.</summary>
    private void FinalizeAndMap(MigrateVma args)
    {
        using (Mutex.Enter())
        {
            for (var i = 0; i < args.Npages; i++)
            {
                if ((args.Src[i] & MigratePfn.Migrate) == 0 || MigratePfn.ToPfn(args.Dst[i]) < 0)
                {
                    continue;
                }

                var va = args.Start + ((ulong)i * (ulong)_pageSize);
                _pt[va / (ulong)_pageSize] = new DeviceEntry(MigratePfn.ToPfn(args.Dst[i]), (args.Dst[i] & MigratePfn.Write) != 0);
            }
        }
    }

    /// <summary><c>dmirror_devmem_fault_alloc_and_copy</c> / eviction copy: system pages, locked, with the device bytes.</summary>
    private void AllocAndCopyToRam(ulong[] src, ulong[] dst, long npages, ulong? start)
    {
        for (var i = 0; i < npages; i++)
        {
            if ((src[i] & MigratePfn.Migrate) == 0 || MigratePfn.ToPfn(src[i]) is not (var spfn and >= 0))
            {
                continue;
            }

            var page = _kernel.Memory.AllocFolio(zero: false);
            if (page is null)
            {
                continue;
            }

            page.Lock();
            DeviceBytes(spfn).CopyTo(page.Bytes);
            dst[i] = MigratePfn.Make(page.Pfn);
            if (start is { } s)
            {
                using (Mutex.Enter())
                {
                    _pt.Remove((s / (ulong)_pageSize) + (ulong)i);
                }
            }
        }
    }

    /// <summary>One device page-table entry: the device frame and whether the device may write it.</summary>
    public readonly record struct DeviceEntry(long Pfn, bool Write);
}
