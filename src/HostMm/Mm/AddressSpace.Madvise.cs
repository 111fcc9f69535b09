using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Mm;

public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>madvise(addr, len, MADV_DONTNEED)</c> (mm/madvise.c): drops the pages of the range. Each
    /// VMA gets a <see cref="MmuNotifierEvent.Clear"/> invalidation; PTEs are cleared, the TLBs
    /// flushed and the pages released. The next read of a private page sees zeroes; a shared page
    /// keeps its contents in its shmem object. Takes the mmap lock for read, like the kernel.
    /// </summary>
    /// <returns>-EINVAL: unaligned address or a range that leaves user space. -ENOMEM: part of the range is not mapped (the mapped parts are still dropped).</returns>
    public Errno MadviseDontNeed(ulong addr, ulong len)
    {
        if (!TryRange(addr, len, out var end))
        {
            return Errno.EINVAL;
        }

        if (len == 0)
        {
            return Errno.Ok;
        }

        MmapLock.DownRead();
        try
        {
            var vmas = VmasIn(addr, end);
            var tlb = new MmuGather(this);
            foreach (var vma in vmas)
            {
                var s = Math.Max(addr, vma.Start);
                var e = Math.Min(end, vma.End);
                Notifiers.InvalidateRangeStart(new MmuNotifierRange(this, s, e, MmuNotifierEvent.Clear));
                ZapPteRange(vma, s, e, tlb);
                tlb.Finish();
                Notifiers.InvalidateRangeEnd();
            }

            return FullyMapped(vmas, addr, end) ? Errno.Ok : Errno.ENOMEM;
        }
        finally
        {
            MmapLock.UpRead();
        }
    }
}
