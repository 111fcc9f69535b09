using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Migrate;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Hmm;

/// <summary>
/// HMM mirroring (mm/hmm.c): <see cref="HmmRangeFault"/> fills <see cref="HmmRange.HmmPfns"/> with the
/// CPU's view of a range, faulting in what the request flags ask for, so that a device can mirror
/// it. The driver then takes its own lock and calls
/// <see cref="Notifiers.MmuIntervalNotifier.ReadRetry"/> before using the result.
/// </summary>
public static class HmmMirror
{
    private const int NeedFault = 1;
    private const int NeedWriteFault = 2;

    /// <summary>
    /// <c>hmm_range_fault()</c>. The PTEs are read without their lock, as the kernel's walk does;
    /// consistency comes from the notifier sequence: the walk restarts after every fault it takes
    /// and returns -EBUSY only when that sequence moved. Per page: an empty or non-present entry
    /// reads 0 unless a fault is required; a device-private page of
    /// <see cref="HmmRange.DevPrivateOwner"/> is reported (Valid, Write if writable) and never
    /// faulted; other device-private, device-exclusive and migration entries are faulted (a
    /// migration entry: waited for) only when a fault is required. A huge PMD is one entry for its
    /// span, its pages reported with order 9 (<see cref="HmmPfn.Order"/>). The caller holds the mmap
    /// lock for read.
    /// </summary>
    /// <returns>
    /// -EBUSY: the notifier sequence moved; read it again and retry. -EFAULT: a required fault over
    /// a hole, a VMA without read permission, or a fault that failed. -EPERM: a required write fault
    /// in a VMA without write permission. -EINVAL: an unaligned or empty range, or an array too short.
    /// </returns>
    public static Errno HmmRangeFault(HmmRange range)
    {
        ArgumentNullException.ThrowIfNull(range);
        var mm = range.Notifier.Mm;
        var pages = range.End > range.Start ? (range.End - range.Start) >> mm.PageShift : 0;
        if (pages == 0 || ((range.Start | range.End) & mm.PageMask) != 0 || (ulong)range.HmmPfns.Length < pages)
        {
            return Errno.EINVAL;
        }

        var last = range.Start;
        while (true)
        {
            if (range.Notifier.CheckRetry(range.NotifierSeq) || mm.Kernel.FaultInjection.ShouldFail(FaultPoint.Busy))
            {
                return Errno.EBUSY;
            }

            var err = Walk(range, mm, ref last);
            if (err != Errno.EBUSY)
            {
                return err == Errno.Ok && InvalidatedWhileWalking(mm, pages) ? Errno.EBUSY : err;
            }
        }
    }

    /// <summary>
    /// Whether an invalidation is injected while the walk ran: an armed <see cref="FaultPoint.Busy"/>
    /// is reached once for each page of the range, as a real invalidation can come at any point of a
    /// walk, so a walk over more pages is interrupted more often. Asked after the walk, so the walk's
    /// per-page cost is what it is with nothing armed.
    /// </summary>
    private static bool InvalidatedWhileWalking(AddressSpace mm, ulong pages)
    {
        var injection = mm.Kernel.FaultInjection;
        if (!injection.IsArmed(FaultPoint.Busy))
        {
            return false;
        }

        for (var i = 0UL; i < pages; i++)
        {
            if (injection.ShouldFail(FaultPoint.Busy))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One <c>walk_page_range()</c> from <paramref name="last"/>; -EBUSY after a fault (restart from <paramref name="last"/>).</summary>
    private static Errno Walk(HmmRange range, AddressSpace mm, ref ulong last)
    {
        var page = (ulong)mm.PageSize;
        for (var addr = last; addr < range.End;)
        {
            var vma = mm.FindVma(addr);
            if (vma is null)
            {
                var holeEnd = mm.NextVmaStart(addr, range.End);
                if (RangeNeedFault(range, addr, holeEnd, 0) != 0)
                {
                    return Errno.EFAULT;
                }

                Fill(range, addr, holeEnd, HmmPfn.Error);
                addr = holeEnd;
                continue;
            }

            var vmaEnd = Math.Min(range.End, vma.End);
            if (!vma.Permits(write: false))
            {
                if (RangeNeedFault(range, addr, vmaEnd, 0) != 0)
                {
                    return Errno.EFAULT;
                }

                Fill(range, addr, vmaEnd, HmmPfn.Error);
                addr = vmaEnd;
                continue;
            }

            while (addr < vmaEnd)
            {
                // One walk to the PTE table per 2 MiB span: its PMD entry, or its PTEs one by one.
                var pmdEnd = mm.PageTable.PmdAddrEnd(addr, vmaEnd);
                var table = mm.PageTable.Find(addr);
                if (table?.GetPmd() is { Kind: not PteKind.None } pmd)
                {
                    var err = HandlePmd(range, mm, vma, addr, pmdEnd, pmd, ref last);
                    if (err != Errno.Ok)
                    {
                        return err;
                    }

                    addr = pmdEnd;
                    continue;
                }

                for (; addr < pmdEnd; addr += page)
                {
                    var err = HandlePte(range, mm, vma, addr, vmaEnd, table?.Get(mm.PageTable.PteIndex(addr)) ?? Pte.None, ref last);
                    if (err != Errno.Ok)
                    {
                        return err;
                    }
                }
            }
        }

        return Errno.Ok;
    }

    /// <summary>
    /// <c>hmm_vma_handle_pmd()</c> for <c>[addr, end)</c> under one huge PMD entry: a present THP (or a
    /// device-private one of <see cref="HmmRange.DevPrivateOwner"/>) is reported page by page with
    /// order 9 (<see cref="HmmPfn.Order"/>), so a driver can map it with one large device entry;
    /// anything the request needs that the PMD lacks is faulted, as for PTEs.
    /// </summary>
    private static Errno HandlePmd(HmmRange range, AddressSpace mm, Vma vma, ulong addr, ulong end, Pte pmd, ref ulong last)
    {
        ulong cpuFlags;
        switch (pmd.Kind)
        {
            case PteKind.Present:
                cpuFlags = pmd.ProtNone ? 0 : HmmPfn.Valid | (pmd.Write ? HmmPfn.Write : 0);
                break;
            case PteKind.DevicePrivate when mm.Memory.PfnToFolio(pmd.Pfn).Pgmap!.Owner == range.DevPrivateOwner:
                cpuFlags = HmmPfn.Valid | (pmd.Write ? HmmPfn.Write : 0);
                break;
            default:
                cpuFlags = 0;
                break;
        }

        var required = pmd.Kind == PteKind.DevicePrivate && cpuFlags != 0 ? 0 : RangeNeedFault(range, addr, end, cpuFlags);
        if (required == 0)
        {
            var first = (addr - range.Start) >> mm.PageShift;
            var offset = (long)((addr & (mm.PmdSize - 1)) >> mm.PageShift);
            var order = (ulong)PhysicalMemory.MaxOrder << HmmPfn.OrderShift;
            for (var i = 0UL; i < (end - addr) >> mm.PageShift; i++)
            {
                range.HmmPfns[first + i] = cpuFlags == 0 ? 0 : (ulong)(pmd.Pfn + offset + (long)i) | cpuFlags | order;
            }

            return Errno.Ok;
        }

        if (pmd.Kind == PteKind.Migration)
        {
            last = addr;
            MigrationEntries.Wait(mm, addr);
            return Errno.EBUSY;
        }

        return Fault(mm, vma, addr, end, required, ref last);
    }

    /// <summary><c>hmm_vma_handle_pte()</c> for the page at <paramref name="addr"/>, whose entry the walk read as <paramref name="pte"/>.</summary>
    private static Errno HandlePte(HmmRange range, AddressSpace mm, Vma vma, ulong addr, ulong end, Pte pte, ref ulong last)
    {
        var i = (addr - range.Start) >> mm.PageShift;
        var request = range.HmmPfns[i];
        int required;
        switch (pte.Kind)
        {
            case PteKind.None:
                required = NeedsFault(range, request, 0);
                if (required == 0)
                {
                    range.HmmPfns[i] = 0;
                    return Errno.Ok;
                }

                break;
            case PteKind.DevicePrivate when mm.Memory.PfnToFolio(pte.Pfn).Pgmap!.Owner == range.DevPrivateOwner:
                range.HmmPfns[i] = (ulong)pte.Pfn | HmmPfn.Valid | (pte.Write ? HmmPfn.Write : 0);
                return Errno.Ok;
            case PteKind.DevicePrivate or PteKind.DeviceExclusive or PteKind.Migration:
                required = NeedsFault(range, request, 0);
                if (required == 0)
                {
                    range.HmmPfns[i] = 0;
                    return Errno.Ok;
                }

                if (pte.Kind == PteKind.Migration)
                {
                    last = addr;
                    MigrationEntries.Wait(mm, addr);
                    return Errno.EBUSY;
                }

                break;
            default:
                var cpuFlags = pte.ProtNone ? 0 : HmmPfn.Valid | (pte.Write ? HmmPfn.Write : 0);
                required = NeedsFault(range, request, cpuFlags);
                if (required == 0)
                {
                    range.HmmPfns[i] = (ulong)pte.Pfn | cpuFlags;
                    return Errno.Ok;
                }

                break;
        }

        return Fault(mm, vma, addr, end, required, ref last);
    }

    /// <summary>
    /// <c>hmm_vma_fault()</c>: faults every page of <c>[addr, end)</c> (up to the end of the current
    /// PTE table, as the kernel does; stopping early once a huge PMD maps the rest, as after a THP
    /// fault) and returns -EBUSY so the walk restarts at <paramref name="addr"/>.
    /// </summary>
    private static Errno Fault(AddressSpace mm, Vma vma, ulong addr, ulong end, int required, ref ulong last)
    {
        last = addr;
        var write = (required & NeedWriteFault) != 0;
        if (write && !vma.Writable)
        {
            return Errno.EPERM;
        }

        end = mm.PageTable.PmdAddrEnd(addr, end);
        for (var a = addr; a < end; a += (ulong)mm.PageSize)
        {
            if (mm.HandleMmFault(vma, a, write ? FaultFlags.Write : FaultFlags.None) != Errno.Ok)
            {
                return Errno.EFAULT;
            }

            if (mm.GetPmd(a).Permits(write))
            {
                break;
            }
        }

        return Errno.EBUSY;
    }

    /// <summary><c>hmm_pte_need_fault()</c>: what the request (masked, plus the defaults) needs that <paramref name="cpuFlags"/> lacks.</summary>
    private static int NeedsFault(HmmRange range, ulong request, ulong cpuFlags)
    {
        request = (request & range.PfnFlagsMask) | range.DefaultFlags;
        if ((request & HmmPfn.ReqFault) == 0)
        {
            return 0;
        }

        if ((request & HmmPfn.ReqWrite) != 0 && (cpuFlags & HmmPfn.Write) == 0)
        {
            return NeedFault | NeedWriteFault;
        }

        return (cpuFlags & HmmPfn.Valid) == 0 ? NeedFault : 0;
    }

    /// <summary><c>hmm_range_need_fault()</c> over <c>[start, end)</c>.</summary>
    private static int RangeNeedFault(HmmRange range, ulong start, ulong end, ulong cpuFlags)
    {
        var shift = range.Notifier.Mm.PageShift;
        var required = 0;
        for (var i = (start - range.Start) >> shift; i < (end - range.Start) >> shift; i++)
        {
            required |= NeedsFault(range, range.HmmPfns[i], cpuFlags);
        }

        return required;
    }

    private static void Fill(HmmRange range, ulong start, ulong end, ulong value)
    {
        var shift = range.Notifier.Mm.PageShift;
        for (var i = (start - range.Start) >> shift; i < (end - range.Start) >> shift; i++)
        {
            range.HmmPfns[i] = value;
        }
    }
}
