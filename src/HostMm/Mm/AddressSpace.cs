using Testbed.HostMm.Locking;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Mm;

/// <summary>
/// <c>struct mm_struct</c>: one process's address space — its mmap lock, its VMAs, its page table
/// with split PTE locks, its MMU notifier subscriptions, its RSS counters and the CPU contexts
/// running in it. The syscalls are in the partial files named after them; faults are in
/// <c>AddressSpace.Fault.cs</c>, TLB shootdown in <c>AddressSpace.Tlb.cs</c>.
/// </summary>
/// <remarks>
/// Lock order, outermost first, as in the kernel: mmap lock → (notifier callbacks, driver locks) →
/// page-table lock → shmem page cache / zone lock. Fork nests the child's mmap lock and page-table
/// locks inside the parent's with subclass 1. The validator checks it.
/// </remarks>
public sealed partial class AddressSpace : IDisposable
{
    /// <summary>Where <see cref="Mmap"/> starts looking for free space (it allocates bottom-up).</summary>
    public const ulong MmapBase = 0x1000_0000;

    /// <summary>One past the highest user address (<c>TASK_SIZE</c>, 47-bit user space).</summary>
    public const ulong TaskSize = 1UL << 47;

    private readonly List<Vma> _vmas = [];

    internal AddressSpace(HostKernel kernel)
    {
        Kernel = kernel;
        Memory = kernel.Memory;
        PageSize = Memory.PageSize;
        PageShift = Memory.PageShift;
        PageMask = (ulong)PageSize - 1;
        MmapLock = new RwSemaphore(kernel.Sync, LockClasses.MmapLock);
        PageTable = new PageTable(kernel.Sync, PageShift);
        Notifiers = new MmuNotifierSubscriptions(this, kernel.Sync, kernel.Counters);
        _cpumaskLock = new MmLock(kernel.Sync, LockClasses.MmCpumask);
        TlbGeneration = 1;
    }

    /// <summary>The kernel this address space belongs to.</summary>
    public HostKernel Kernel { get; }

    /// <summary>The mmap lock (<c>mm-&gt;mmap_lock</c>).</summary>
    public RwSemaphore MmapLock { get; }

    /// <summary>MMU notifier subscriptions (<c>mm-&gt;notifier_subscriptions</c>).</summary>
    public MmuNotifierSubscriptions Notifiers { get; }

    /// <summary>Resident-set counters.</summary>
    public RssCounters Rss { get; } = new();

    /// <summary>Whether the address space has been torn down (<see cref="Dispose"/>).</summary>
    public bool IsDead { get; private set; }

    /// <summary>Bytes per page.</summary>
    public int PageSize { get; }

    internal int PageShift { get; }

    internal ulong PageMask { get; }

    internal PhysicalMemory Memory { get; }

    internal PageTable PageTable { get; }

    /// <summary><c>vma_lookup()</c>: the VMA containing <paramref name="addr"/>, or null. The caller holds the mmap lock.</summary>
    public Vma? FindVma(ulong addr)
    {
        var i = IndexOfVmaEndingAfter(addr);
        return i < _vmas.Count && _vmas[i].Start <= addr ? _vmas[i] : null;
    }

    /// <summary>The start of the first VMA at or above <paramref name="addr"/>, capped at <paramref name="limit"/>. The caller holds the mmap lock.</summary>
    public ulong NextVmaStart(ulong addr, ulong limit)
    {
        var i = IndexOfVmaEndingAfter(addr);
        return i < _vmas.Count ? Math.Min(limit, Math.Max(addr, _vmas[i].Start)) : limit;
    }

    /// <summary>A copy of the VMA list, taken under the mmap read lock.</summary>
    public IReadOnlyList<Vma> SnapshotVmas()
    {
        MmapLock.DownRead();
        try
        {
            return [.. _vmas.Select(v => new Vma(this, v.Start, v.End, v.Prot, v.Shmem, v.AnonVma, v.PgOff) { HugePage = v.HugePage })];
        }
        finally
        {
            MmapLock.UpRead();
        }
    }

    /// <summary>
    /// The PTE for <paramref name="addr"/> as the hardware walker would read it (no lock), or
    /// <see cref="Pte.None"/> when no page table covers it.
    /// </summary>
    public Pte GetPte(ulong addr)
    {
        var table = PageTable.Find(addr);
        return table?.Get(PageTable.PteIndex(addr)) ?? Pte.None;
    }

    /// <summary>
    /// The PMD entry of the 2 MiB span holding <paramref name="addr"/>, read as the walker would (no
    /// lock): none unless a transparent huge page (or a migration or device-private entry for one)
    /// maps the whole span.
    /// </summary>
    public Pte GetPmd(ulong addr) => PageTable.Find(addr)?.GetPmd() ?? Pte.None;

    /// <summary><c>exit_mmap()</c>: releases every notifier's interest, unmaps everything and frees every page.</summary>
    public void Dispose()
    {
        MmapLock.DownWrite();
        try
        {
            if (IsDead)
            {
                return;
            }

            var release = new MmuNotifierRange(this, 0, TaskSize, MmuNotifierEvent.Release);
            Notifiers.InvalidateRangeStart(release);
            Notifiers.InvalidateRangeEnd();
            UnmapRangeLocked(0, TaskSize);
            IsDead = true;
            Kernel.AddressSpaceExited();
        }
        finally
        {
            MmapLock.UpWrite();
        }
    }

    /// <summary>Index of the first VMA whose End is above <paramref name="addr"/>.</summary>
    private int IndexOfVmaEndingAfter(ulong addr)
    {
        int lo = 0, hi = _vmas.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_vmas[mid].End <= addr)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>The VMAs overlapping <c>[start, end)</c>, in order. Caller holds the mmap lock.</summary>
    private List<Vma> VmasIn(ulong start, ulong end)
    {
        var list = new List<Vma>();
        for (var i = IndexOfVmaEndingAfter(start); i < _vmas.Count && _vmas[i].Start < end; i++)
        {
            list.Add(_vmas[i]);
        }

        return list;
    }

    /// <summary>Whether <c>[start, end)</c> is covered by VMAs without a hole.</summary>
    private bool FullyMapped(List<Vma> vmas, ulong start, ulong end)
    {
        var cur = start;
        foreach (var v in vmas)
        {
            if (v.Start > cur)
            {
                return false;
            }

            cur = Math.Max(cur, v.End);
        }

        return cur >= end;
    }

    /// <summary>
    /// <c>vma_modify()</c>'s first step for a change of <c>[start, end)</c>: the range must be covered by
    /// VMAs without a hole (false, nothing changed, when it is not), whose ends are then split so that
    /// the change applies to whole VMAs. Caller holds the mmap lock for write.
    /// </summary>
    private bool IsolateVmas(ulong start, ulong end)
    {
        if (!FullyMapped(VmasIn(start, end), start, end))
        {
            return false;
        }

        SplitVmaAt(start);
        SplitVmaAt(end);
        return true;
    }

    /// <summary>
    /// <c>split_vma()</c>: makes <paramref name="addr"/> a VMA boundary, first splitting a huge PMD the
    /// boundary would cut (<c>vma_adjust_trans_huge()</c>). Caller holds the mmap lock for write.
    /// </summary>
    private void SplitVmaAt(ulong addr)
    {
        var i = IndexOfVmaEndingAfter(addr);
        if (i >= _vmas.Count || _vmas[i].Start >= addr)
        {
            return;
        }

        var vma = _vmas[i];
        SplitHugePmdAt(addr);
        var tail = new Vma(this, addr, vma.End, vma.Prot, vma.Shmem, vma.AnonVma, vma.LinearPageIndex(addr)) { HugePage = vma.HugePage };
        vma.Rmap.Link(tail);
        vma.End = addr;
        _vmas.Insert(i + 1, tail);
    }

    private void InsertVma(Vma vma) => _vmas.Insert(IndexOfVmaEndingAfter(vma.Start), vma);

    /// <summary>Validates a page-aligned range argument; <paramref name="end"/> is <c>addr + PAGE_ALIGN(len)</c>.</summary>
    private bool TryRange(ulong addr, ulong len, out ulong end)
    {
        end = 0;
        if ((addr & PageMask) != 0)
        {
            return false;
        }

        var aligned = (len + PageMask) & ~PageMask;
        if (aligned < len || addr + aligned < addr || addr + aligned > TaskSize)
        {
            return false;
        }

        end = addr + aligned;
        return true;
    }
}
