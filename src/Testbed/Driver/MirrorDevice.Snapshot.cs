using System.Diagnostics;
using Testbed.HostMm;
using Testbed.HostMm.Hmm;
using Testbed.HostMm.Memory;

namespace Testbed.Driver;

public sealed partial class MirrorDevice
{
    /// <summary>
    /// <c>dmirror_snapshot</c>: reports, per page of <c>[va, va + result.Length * PageSize)</c>, what the
    /// CPU page table holds as <c>HmmRangeFault</c> sees it with no fault requested, in 2 MiB blocks
    /// under the <c>ReadBegin</c>/<c>ReadRetry</c> loop. Nothing is faulted in, migrated or mapped on
    /// the device.
    /// </summary>
    /// <returns>-EINVAL for a range that is unaligned or outside the mirror; -EBUSY when the range
    /// kept changing for <see cref="MirrorOptions.FaultTimeout"/>.</returns>
    public Errno Snapshot(ulong va, Span<PageSnapshot> result)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (va < Start || va % (ulong)_pageSize != 0 || result.IsEmpty || PageOf(va) + result.Length > Pages)
        {
            return Fail(Errno.EINVAL, $"Snapshot: [0x{va:x}, +{result.Length} pages) is not an aligned range inside the mirror");
        }

        // Its own range: a snapshot may run on any thread while the device thread faults with _hmmRange.
        var range = new HostMm.Hmm.HmmRange { Notifier = _notifier, HmmPfns = new ulong[Math.Min(result.Length, RangeBlockPages)] };
        for (var done = 0; done < result.Length;)
        {
            var page = PageOf(va) + done;
            var n = (int)Math.Min(result.Length - done, RangeBlockPages - (page % RangeBlockPages));
            var err = SnapshotBlock(range, page, result.Slice(done, n));
            if (err != Errno.Ok)
            {
                return err;
            }

            done += n;
        }

        return Errno.Ok;
    }

    private Errno SnapshotBlock(HostMm.Hmm.HmmRange range, long page, Span<PageSnapshot> result)
    {
        range.Start = AddressOf(page);
        range.End = AddressOf(page + result.Length);
        range.DefaultFlags = 0;
        range.DevPrivateOwner = Owner;
        var deadline = Stopwatch.GetTimestamp() + (long)(Options.FaultTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() <= deadline)
        {
            Array.Clear(range.HmmPfns, 0, result.Length);
            range.NotifierSeq = _notifier.ReadBegin();
            _mm.MmapLock.DownRead();
            var err = HmmMirror.HmmRangeFault(range);
            _mm.MmapLock.UpRead();
            if (err == Errno.EBUSY)
            {
                continue;
            }

            if (err != Errno.Ok)
            {
                return Fail(err, $"Snapshot at 0x{range.Start:x}: HmmRangeFault returned {err}");
            }

            using (Mutex.Enter())
            {
                if (_notifier.ReadRetry(range.NotifierSeq))
                {
                    continue;
                }

                for (var i = 0; i < result.Length; i++)
                {
                    result[i] = Describe(range.HmmPfns[i]);
                }
            }

            return Errno.Ok;
        }

        return Fail(Errno.EBUSY, $"Snapshot at 0x{range.Start:x}: the range kept changing for {Options.FaultTimeout.TotalMilliseconds} ms");
    }

    /// <summary><c>dmirror_mkentry</c>: one <c>hmm_pfns</c> entry as a <see cref="PageSnapshot"/>.</summary>
    private PageSnapshot Describe(ulong entry)
    {
        if ((entry & HmmPfn.Error) != 0)
        {
            return PageSnapshot.Error;
        }

        if ((entry & HmmPfn.Valid) == 0)
        {
            return PageSnapshot.None;
        }

        var pfn = HmmPfn.ToPfn(entry);
        var access = (entry & HmmPfn.Write) != 0 ? PageSnapshot.Write : PageSnapshot.Read;
        if (pfn == _kernel.ZeroPage.Pfn)
        {
            return PageSnapshot.Zero | access;
        }

        if (pfn < _kernel.Memory.TotalFrames)
        {
            return access;
        }

        var local = Pagemap.Contains(pfn);
        return access | (_kernel.Memory.PfnToFolio(pfn).Pgmap!.Kind, local) switch
        {
            (PageKind.DeviceCoherent, true) => PageSnapshot.DeviceCoherentLocal,
            (PageKind.DeviceCoherent, false) => PageSnapshot.DeviceCoherentRemote,
            _ => PageSnapshot.DevicePrivateLocal,
        };
    }
}
