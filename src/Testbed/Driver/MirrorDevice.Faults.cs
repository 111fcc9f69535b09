using System.Diagnostics;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Exclusive;
using Testbed.HostMm.Hmm;
using Testbed.HostMm.Notifiers;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Driver;

public sealed partial class MirrorDevice
{
    /// <summary>The longest a device naps before replaying a batch whose every fault was throttled (1 ms).</summary>
    private static readonly long MaxThrottleNap = Stopwatch.Frequency / 1000;

    /// <summary>The atomic fault's own notifier callbacks, and its interval (see <see cref="MakeExclusive(long, int)"/>).</summary>
    private readonly ExclusiveFaultNotifier _exclusiveOps;
    private readonly MmuIntervalNotifier _exclusiveNotifier;

    /// <summary>
    /// Services the prepared fault batch in slices of <see cref="MirrorOptions.FaultBatchSize"/>:
    /// asks the policy about each page, then services runs of consecutive pages that share an action,
    /// an access kind and a 2 MiB block together. When every fault of the batch was throttled, naps
    /// until the first throttling period ends (at most <see cref="MaxThrottleNap"/>) so the replay
    /// neither spins nor comes late.
    /// </summary>
    private Errno ServiceFaults()
    {
        Activity = "servicing a fault batch";
        var serviced = false;
        var wake = long.MaxValue;
        for (var sliceStart = 0; sliceStart < _batch.Count; sliceStart += Options.FaultBatchSize)
        {
            Counters.FaultBatch();
            var sliceEnd = Math.Min(_batch.Count, sliceStart + Options.FaultBatchSize);
            var now = Stopwatch.GetTimestamp();
            var runStart = sliceStart;
            var runAction = GpuFaultAction.Throttle;
            for (var i = sliceStart; i <= sliceEnd; i++)
            {
                var action = GpuFaultAction.Throttle;
                if (i < sliceEnd)
                {
                    Counters.GpuFault();
                    action = Policy.OnGpuFault(Options.ProcessorId, _batch.Page(i), _batch.Access(i), now);
                    if (action == GpuFaultAction.Throttle)
                    {
                        wake = Math.Min(wake, Policy.ThrottledUntil(_batch.Page(i)));
                    }
                    if (i > runStart
                        && action == runAction
                        && _batch.Access(i) == _batch.Access(runStart)
                        && _batch.Page(i) == _batch.Page(i - 1) + 1
                        && _batch.Page(i) / RangeBlockPages == _batch.Page(runStart) / RangeBlockPages)
                    {
                        continue;
                    }
                }

                if (i > runStart)
                {
                    var err = ServiceRun(_batch.Page(runStart), i - runStart, _batch.Access(runStart), runAction);
                    if (FatalFault.IsFatal(err))
                    {
                        err = CancelFatal(_batch.Page(runStart), i - runStart, _batch.Access(runStart), runAction, err);
                    }

                    if (err != Errno.Ok)
                    {
                        return err;
                    }

                    serviced |= runAction != GpuFaultAction.Throttle;
                }

                runStart = i;
                runAction = action;
            }
        }

        if (!serviced)
        {
            Nap(Math.Clamp(wake - Stopwatch.GetTimestamp(), 0, MaxThrottleNap));
        }

        return Errno.Ok;
    }

    /// <summary>
    /// A run's service failed with a fatal error: finds the pages it came from (servicing the others
    /// one by one; a page that a range marked earlier in this service is not serviced again) and
    /// marks the range each forbids (<see cref="MarkForbidden"/>), so that the work items that reach it
    /// cancel themselves instead of faulting again. A page of an earlier range that faults again lost
    /// its mark to an invalidation (a migration of its 2 MiB block zaps the block's entries, marks
    /// included): it is serviced again, which marks its range again from the mapping as it is now.
    /// A non-fatal error on the way is returned as it is.
    /// </summary>
    private Errno CancelFatal(long page, int count, FaultAccess access, GpuFaultAction action, Errno err)
    {
        for (var p = page; p < page + count; p++)
        {
            if (_pt[p] == DevicePte.Fatal && _fatalRanges.FindIndex(r => r.First <= p && p < r.End) is var covered and >= 0)
            {
                NameFatal(p, _fatalRanges[covered]);
                continue;
            }

            var e = count == 1 ? err : ServiceRun(p, 1, access, action);
            if (e == Errno.Ok)
            {
                continue;
            }

            if (!FatalFault.IsFatal(e))
            {
                return e;
            }

            MarkForbidden(p, access, e, LastError ?? e.ToString());
        }

        return Errno.Ok;
    }

    /// <summary>
    /// After <paramref name="page"/>'s fatal fault: marks <see cref="DevicePte.Fatal"/> every page of
    /// the mirror next to it that the CPU's mapping forbids <paramref name="access"/> the same way — the
    /// rest of the hole between VMAs, or of the VMAs next to each other without the permission (a hole
    /// next to a read-only VMA is another range, with its own error) — and that has no valid
    /// device entry (a page still mapped for reading faults on its own), as UVM cancels the faulting
    /// context rather than one page per replay. Where the mapping no longer forbids the page (it
    /// changed since the service), only the page itself is marked.
    /// </summary>
    private void MarkForbidden(long page, FaultAccess access, Errno error, string detail)
    {
        var (first, end) = (page, page + 1);
        _mm.MmapLock.DownRead();
        try
        {
            var hole = _mm.FindVma(AddressOf(page)) is null;
            bool Forbidden(long p) => _mm.FindVma(AddressOf(p)) is not { } vma ? hole : !hole && !vma.Permits(write: access != FaultAccess.Read);
            if (Forbidden(page))
            {
                while (first > 0 && Forbidden(first - 1))
                {
                    first--;
                }

                while (end < Pages && Forbidden(end))
                {
                    end++;
                }
            }
        }
        finally
        {
            _mm.MmapLock.UpRead();
        }

        var range = new FatalRange(first, end, access, error, detail);
        using (Mutex.Enter())
        {
            for (var p = first; p < end; p++)
            {
                if (p == page || !DevicePte.IsValid(_pt[p]))
                {
                    _pt.Set(p, DevicePte.Fatal);
                }
            }

            _fatalRanges.Add(range);
        }

        NameFatal(page, range);
    }

    /// <summary>Lists <paramref name="page"/>, which a work item reached, among the run's <see cref="FatalFaults"/> (once), with its range's access and error.</summary>
    private void NameFatal(long page, FatalRange range)
    {
        if (_fatalPages.Add(page))
        {
            _fatalFaults.Add(new FatalFault(AddressOf(page), range.Access, range.Error, range.Detail));
            Counters.FatalFault();
        }
    }

    /// <summary>Pages <c>[First, End)</c> of the mirror, marked fatal together after one of them faulted with <paramref name="Error"/> for <paramref name="Access"/>.</summary>
    private readonly record struct FatalRange(long First, long End, FaultAccess Access, Errno Error, string Detail);

    /// <summary>Services <paramref name="count"/> pages from <paramref name="page"/> as <paramref name="action"/> says.</summary>
    private Errno ServiceRun(long page, int count, FaultAccess access, GpuFaultAction action)
    {
        switch (action)
        {
            case GpuFaultAction.Throttle:
                for (var i = 0; i < count; i++)
                {
                    Counters.Throttled();
                }

                return Errno.Ok;
            case GpuFaultAction.MakeExclusive:
                return MakeExclusive(page, count);
            case GpuFaultAction.Migrate:
                return MigrateAndMap(page, count, access);
            default:
                return MapRange(page, count, access);
        }
    }

    /// <summary>
    /// Migrates the run to the device and maps it — with <see cref="MirrorOptions.Thp"/>, the whole
    /// 2 MiB block around it — one chunk's worth of pages at a time: under
    /// oversubscription a later piece may evict an earlier one, whose pages then fault again and
    /// migrate back (the thrashing UVM shows), instead of being mapped remotely from where the
    /// eviction left them.
    /// </summary>
    /// <remarks>
    /// The migration maps what it moved; <see cref="MapRange"/> then maps the rest where it is — a
    /// page the migration could not take is mapped remotely, the fallback of an HMM driver. A page
    /// that did move but that the CPU took back in between (a CPU fault on it as soon as the range
    /// lock was dropped) is not: it is left unmapped and the replay faults it again, so it migrates
    /// again, as UVM services a fault entirely under the VA block lock. Mapping it remotely turned
    /// the <c>migrate</c> policy into <c>remote</c> for every page a CPU thread touched at the wrong
    /// moment, for good, since nothing invalidates a remote mapping of a page the CPU keeps using.
    /// </remarks>
    private Errno MigrateAndMap(long page, int count, FaultAccess access)
    {
        if (Options.Thp)
        {
            // The whole 2 MiB block moves, so that a THP backing it moves as one folio; only the run
            // is mapped (a page of the block the run did not touch may be a hole, whose error is not
            // the run's), and the block's other pages, when they fault, find themselves here. A run
            // never crosses a block (ServiceFaults cuts runs at block boundaries).
            var first = page - (page % RangeBlockPages);
            var n = (int)Math.Min(RangeBlockPages, Pages - first);
            if (NotHere(page, count) == 0)
            {
                // Faults recorded before an earlier batch of this launch moved and mapped the block.
                return MapRange(page, count, access);
            }

            _movedHere.AsSpan(0, n).Clear();
            MigrateToDevice(first, n, user: false);
            return MapRange(page, count, access, _movedHere.AsSpan((int)(page - first), count));
        }

        for (var done = 0; done < count;)
        {
            var n = Math.Min(count - done, _memory.ChunkPages);
            var moved = _movedHere.AsSpan((int)((page + done) % RangeBlockPages), n);
            moved.Clear();
            MigrateToDevice(page + done, n, user: false);
            var err = MapRange(page + done, n, access, moved);
            if (err != Errno.Ok)
            {
                return err;
            }

            done += n;
        }

        return Errno.Ok;
    }

    /// <summary>
    /// Maps <paramref name="count"/> pages from <paramref name="page"/> where they are, with the
    /// standard mirror loop (<see cref="MapOnce"/>), piece by piece: a piece that an invalidation
    /// interrupted is tried again at half its size, down to one page, and each mapped piece restarts
    /// the <see cref="MirrorOptions.FaultTimeout"/> clock.
    /// </summary>
    /// <remarks>
    /// The mirror's notifier covers its whole range, as test_hmm's does, so an invalidation of any of
    /// its pages retries every fault in flight. With CPU threads and a migration thread invalidating
    /// all the time (the stress scenario at 65536 pages), one <c>HmmRangeFault</c> over a 2 MiB block
    /// almost never finished between two of them and the fault gave up after 1000 ms; a page or a
    /// few take microseconds, so the fault keeps advancing however busy the range is.
    /// </remarks>
    private Errno MapRange(long page, int count, FaultAccess access, ReadOnlySpan<bool> movedHere = default)
    {
        var timeout = (long)(Options.FaultTimeout.TotalSeconds * Stopwatch.Frequency);
        var deadline = Stopwatch.GetTimestamp() + timeout;
        var piece = count;
        for (var done = 0; done < count;)
        {
            var n = Math.Min(piece, count - done);
            var err = MapOnce(page + done, n, access, movedHere.IsEmpty ? default : movedHere.Slice(done, n));
            if (err == Errno.EAGAIN)
            {
                Counters.FaultRetry();
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    return Fail(Errno.EBUSY, $"device fault at 0x{AddressOf(page + done):x}: HmmRangeFault did not settle within {Options.FaultTimeout.TotalMilliseconds} ms, even one page at a time");
                }

                piece = Math.Max(1, n / 2);
                continue;
            }

            if (err != Errno.Ok)
            {
                return err;
            }

            done += n;
            deadline = Stopwatch.GetTimestamp() + timeout;
        }

        return Errno.Ok;
    }

    /// <summary>
    /// One try of the standard mirror loop over <paramref name="count"/> pages from
    /// <paramref name="page"/>: <c>MmuIntervalReadBegin</c>, <c>HmmRangeFault</c> under the mmap read
    /// lock, then under the mutex <c>MmuIntervalReadRetry</c> and the page-table update; -EAGAIN when
    /// an invalidation came in between (the caller tries again). A system page faulted for an atomic
    /// on a non-coherent link, with the protocol on, is made device-exclusive instead.
    /// </summary>
    /// <remarks>
    /// <c>HmmRangeFault</c> reports this device's own private pages as they are, without faulting,
    /// even when the access needs more (mm/hmm.c leaves that to the driver). A write or atomic that
    /// finds its own page read-only — COW-shared after a fork, or in a read-only VMA — asks again
    /// without the owner, so the CPU's fault path brings the page to system memory and breaks COW,
    /// or refuses the write (-EPERM, a fatal fault); mapping it read-only would fault forever.
    /// A page marked in <paramref name="movedHere"/> that is found in system memory is left unmapped
    /// for the replay (see <see cref="MigrateAndMap"/>).
    /// </remarks>
    private Errno MapOnce(long page, int count, FaultAccess access, ReadOnlySpan<bool> movedHere)
    {
        var range = _hmmRange;
        range.Start = AddressOf(page);
        range.End = AddressOf(page + count);
        range.DefaultFlags = HmmPfn.ReqFault | (access != FaultAccess.Read ? HmmPfn.ReqWrite : 0);
        range.DevPrivateOwner = Owner;
        var atomicNeedsExclusive = access == FaultAccess.Atomic && !LinkCoherent && Options.ExclusiveAtomics;

        // Atomics on a system page across a non-coherent link are granted only without the protocol;
        // with it, only a device-exclusive mapping (MakeSystemPagesExclusive) grants them, also when the
        // page was first mapped for a store.
        var systemAtomics = LinkCoherent || !Options.ExclusiveAtomics;
        while (true)
        {
            Activity = "mapping: HmmRangeFault under the mmap lock (read)";
            Array.Clear(range.HmmPfns, 0, count);
            var zapSeq = Volatile.Read(ref _zapSeq);
            range.NotifierSeq = _notifier.ReadBegin();
            _mm.MmapLock.DownRead();
            var err = HmmMirror.HmmRangeFault(range);
            _mm.MmapLock.UpRead();
            if (err == Errno.EBUSY)
            {
                return Errno.EAGAIN;
            }

            if (err != Errno.Ok)
            {
                return Fail(err, $"device {access} fault at 0x{range.Start:x}: HmmRangeFault returned {err} (no VMA, or no {access} permission)");
            }

            if (access != FaultAccess.Read && range.DevPrivateOwner is not null && OwnPageReadOnly(range, count))
            {
                range.DevPrivateOwner = null;
                Counters.FaultRetry();
                continue;
            }

            Activity = "mapping: taking the mutex for MmuIntervalReadRetry";
            using (Mutex.Enter())
            {
                if (_notifier.ReadRetry(range.NotifierSeq) || _zapSeq != zapSeq)
                {
                    return Errno.EAGAIN;
                }

                for (var i = 0; i < count; i++)
                {
                    var e = range.HmmPfns[i];
                    var pfn = HmmPfn.ToPfn(e);
                    var write = (e & HmmPfn.Write) != 0;
                    if (Pagemap.Contains(pfn))
                    {
                        _pt.Set(page + i, DevicePte.Make(_memory.FrameOf(pfn), device: true, write, atomic: write));
                    }
                    else if (pfn < _kernel.Memory.TotalFrames)
                    {
                        if (!movedHere.IsEmpty && movedHere[i])
                        {
                            continue;
                        }

                        _pt.Set(page + i, DevicePte.Make(pfn, device: false, write, atomic: write && systemAtomics));
                        if (write && !LinkCoherent && systemAtomics)
                        {
                            Counters.AtomicsAcrossLink();
                        }
                    }
                    else
                    {
                        return Fail(Errno.EOPNOTSUPP, $"device fault at 0x{AddressOf(page + i):x}: the page is in another device's coherent memory, which this device cannot address");
                    }
                }
            }

            return atomicNeedsExclusive ? MakeSystemPagesExclusive(page, count) : Errno.Ok;
        }
    }

    /// <summary>Whether <paramref name="range"/> reported one of this device's pages without write permission.</summary>
    private bool OwnPageReadOnly(HmmRange range, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var e = range.HmmPfns[i];
            if ((e & HmmPfn.Write) == 0 && Pagemap.Contains(HmmPfn.ToPfn(e)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Makes the pages of the run that were mapped from system memory device-exclusive.</summary>
    private Errno MakeSystemPagesExclusive(long page, int count)
    {
        for (var p = page; p < page + count; p++)
        {
            uint entry;
            using (Mutex.Enter())
            {
                entry = _pt[p];
            }

            if (DevicePte.IsValid(entry) && !DevicePte.IsDevice(entry) && MakeExclusive(p, 1) is var err && err != Errno.Ok)
            {
                return err;
            }
        }

        return Errno.Ok;
    }

    /// <summary>
    /// Maps <paramref name="count"/> pages from <paramref name="page"/> for device atomics the way
    /// nouveau does: per page, an interval notifier over that page alone
    /// (<see cref="ExclusiveFaultNotifier"/>; one per device, inserted and removed around each page
    /// as nouveau's lives on the fault's stack, the fault service lock making it the only one), then
    /// <c>ReadBegin</c>, <c>MakeDeviceExclusive</c> under the mmap read lock, and under the mutex
    /// <c>ReadRetry</c> and the mapping; the folio is unlocked and put after, and the notifier removed. A page whose sequence keeps moving (owner filtering
    /// off: its own invalidation) gives -EBUSY after <see cref="MirrorOptions.FaultTimeout"/>.
    /// </summary>
    private Errno MakeExclusive(long page, int count)
    {
        for (var p = page; p < page + count; p++)
        {
            var va = AddressOf(p);
            if (_mm.Notifiers.Insert(_exclusiveNotifier, va, (ulong)_pageSize) is var inserted && inserted != Errno.Ok)
            {
                return Fail(inserted, $"MakeDeviceExclusive at 0x{va:x}: the fault's interval notifier could not be inserted ({inserted})");
            }

            try
            {
                if (MakeExclusive(p, va, _exclusiveNotifier, _exclusiveOps) is var err && err != Errno.Ok)
                {
                    return err;
                }
            }
            finally
            {
                _exclusiveNotifier.Remove();
            }
        }

        return Errno.Ok;
    }

    /// <summary>One page of <see cref="MakeExclusive(long, int)"/>, with the fault's own notifier.</summary>
    private Errno MakeExclusive(long p, ulong va, MmuIntervalNotifier notifier, ExclusiveFaultNotifier ops)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Options.FaultTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                return Fail(Errno.EBUSY, $"MakeDeviceExclusive at 0x{va:x}: the notifier sequence kept moving for {Options.FaultTimeout.TotalMilliseconds} ms{(Options.FilterOwnerEvents ? string.Empty : " (owner filtering is off, so each attempt invalidates itself)")}");
            }

            Activity = "MakeDeviceExclusive under the mmap lock (read)";
            var zapSeq = Volatile.Read(ref _zapSeq);
            var seq = notifier.ReadBegin();
            _mm.MmapLock.DownRead();
            ops.BeginConversion();
            var err = DeviceExclusive.MakeDeviceExclusive(_mm, va, Owner, out var folio, out var pfn);
            ops.EndConversion();
            _mm.MmapLock.UpRead();
            if (err == Errno.EBUSY)
            {
                Counters.FaultRetry();
                continue;
            }

            if (err != Errno.Ok)
            {
                return Fail(err, $"MakeDeviceExclusive at 0x{va:x} returned {err}");
            }

            bool mapped;
            using (Mutex.Enter())
            {
                mapped = !notifier.ReadRetry(seq) && _zapSeq == zapSeq;
                if (mapped)
                {
                    _pt.Set(p, DevicePte.Make(pfn, device: false, write: true, atomic: true));
                }
            }

            folio!.Unlock();
            folio.Put();
            if (mapped)
            {
                Counters.ExclusiveGrant();
                break;
            }

            Counters.ExclusiveRetry();
        }

        return Errno.Ok;
    }
}
