using System.Diagnostics;
using Testbed.HostMm;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Migrate;
using Testbed.HostMm.Mm;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Driver;

public sealed partial class MirrorDevice
{
    private readonly MigrateVma _migrate = new() { Src = new ulong[RangeBlockPages], Dst = new ulong[RangeBlockPages] };
    private readonly long[] _migrateFrames = new long[RangeBlockPages];
    private readonly long[] _fallbackFrames = new long[RangeBlockPages];
    private readonly int[] _pageMigrations;

    /// <summary>When each page last migrated (<see cref="Stopwatch"/> ticks; 0: never), for <see cref="MirrorCounters.Stays"/>.</summary>
    private readonly long[] _lastMove;

    /// <summary>
    /// The one-page migration of <see cref="MigrateToRam"/>, one per CPU thread (CPU faults on
    /// different pages migrate at once), so a CPU fault allocates nothing; it holds no reference
    /// between faults.
    /// </summary>
    [ThreadStatic]
    private static MigrateVma? t_ramMigrate;

    /// <summary>The 2 MiB migration of <see cref="MigrateToRam"/> for a CPU fault on a device THP, one per CPU thread.</summary>
    [ThreadStatic]
    private static MigrateVma? t_hugeRamMigrate;

    /// <summary>
    /// The processor id of the device whose migration is bringing pages back from other devices'
    /// private memory on this thread (<see cref="StageThroughRam"/>); 0 when none. The owner's
    /// <see cref="MigrateToRam"/>, called on the same thread by <c>HmmRangeFault</c>, reads it to tell
    /// its policy that this is the first leg of a staged copy, not a CPU fault: the per-thread analog
    /// of UVM's <c>make_resident</c> context, whose destination its migration events carry, since
    /// <c>handle_mm_fault</c> passes <c>migrate_to_ram</c> nothing of the faulting device.
    /// </summary>
    [ThreadStatic]
    private static int t_stagingFor;

    /// <summary>
    /// Set by <see cref="MigrateBlock"/> for each page it moved here, at the page's index within its
    /// 2 MiB block: the fault path clears the marks of the pages it migrates and reads them when it
    /// maps (<see cref="MigrateAndMap"/>). Used under the service lock only.
    /// </summary>
    private readonly bool[] _movedHere = new bool[RangeBlockPages];

    /// <summary>How many times the page at index <paramref name="page"/> of the range moved, either way (evictions not counted).</summary>
    public int MigrationsOf(long page) => Volatile.Read(ref _pageMigrations[page]);

    /// <summary>
    /// Counts a migration of <paramref name="page"/> at <paramref name="now"/>; returns how long the
    /// page stayed since its previous one, or -1 for its first. Called between
    /// <c>MigrateVmaPages</c> and <c>MigrateVmaFinalize</c>, while the move holds the page's source
    /// and destination locked and a migration entry in its PTE: the next move of the page cannot
    /// start before this one's finalize, so the moves of a page are serialised and plain
    /// read-modify-writes count them exactly, with no interlocked add per page.
    /// </summary>
    private long CountMove(long page, long now)
    {
        _pageMigrations[page]++;
        var last = _lastMove[page];
        _lastMove[page] = now;
        return last == 0 ? -1 : now - last;
    }

    /// <summary>
    /// Migrates the pages of <c>[va, va + pages * PageSize)</c> into device memory and maps what moved
    /// (<c>dmirror_migrate_to_device</c>), evicting chunks first if device memory is short. Pages
    /// already here, or that cannot move, stay where they are. The policy hears of each page moved as
    /// a migration the user asked for (<see cref="Policies.IResidencyPolicy.OnUserMigrated"/>).
    /// </summary>
    /// <remarks>
    /// Unlike lib/test_hmm.c, whose migration selects system pages only and so fails with -ENOENT on
    /// another device's private page, a page another device holds is brought here through system
    /// memory, as a device fault on it would be (DESIGN §4, two devices).
    /// </remarks>
    /// <returns>
    /// -EINVAL for a range that is unaligned, outside the mirror, or not covered by readable VMAs
    /// (nothing is migrated then); -ENOENT when some page did not end up in device memory (a shared
    /// page, one pinned or busy, or no device memory left), with the count in <see cref="LastError"/>.
    /// </returns>
    public Errno MigrateToDevice(ulong va, long pages)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (va < Start || va % (ulong)_pageSize != 0 || pages <= 0 || PageOf(va) + pages > Pages)
        {
            return Fail(Errno.EINVAL, $"MigrateToDevice: [0x{va:x}, +{pages} pages) is not an aligned range inside the mirror");
        }

        if (FirstUnreadable(va, AddressOf(PageOf(va) + pages)) is { } hole)
        {
            return Fail(Errno.EINVAL, $"MigrateToDevice: 0x{hole:x} has no VMA or no read permission");
        }

        using (_service.Enter())
        {
            for (var p = PageOf(va); p < PageOf(va) + pages;)
            {
                var n = (int)Math.Min(PageOf(va) + pages - p, RangeBlockPages - (p % RangeBlockPages));
                MigrateToDevice(p, n, user: true);
                p += n;
            }
        }

        var left = 0L;
        using (Mutex.Enter())
        {
            for (var p = PageOf(va); p < PageOf(va) + pages; p++)
            {
                left += DevicePte.IsDevice(_pt[p]) ? 0 : 1;
            }
        }

        return left == 0 ? Errno.Ok : Fail(Errno.ENOENT, $"MigrateToDevice: {left} of {pages} pages from 0x{va:x} are not in device memory (shared, pinned or busy, or device memory is full)");
    }

    /// <summary>The first address of <c>[start, end)</c> with no VMA or a VMA without read permission; null when there is none.</summary>
    private ulong? FirstUnreadable(ulong start, ulong end)
    {
        _mm.MmapLock.DownRead();
        try
        {
            for (var addr = start; addr < end;)
            {
                var vma = _mm.FindVma(addr);
                if (vma is null || vma.Start > addr || !vma.Permits(write: false))
                {
                    return addr;
                }

                addr = vma.End;
            }

            return null;
        }
        finally
        {
            _mm.MmapLock.UpRead();
        }
    }

    /// <summary>
    /// Migrates up to <paramref name="count"/> pages from <paramref name="page"/> (one 2 MiB block at
    /// most) into device memory, one <c>MigrateVma*</c> pass per VMA the block crosses (holes and
    /// unreadable VMAs are skipped) and per chunk's worth of pages, so that under oversubscription
    /// each piece can evict a chunk (UVM evicts a root chunk when a VA block's allocation fails).
    /// <paramref name="user"/>: the user asked (the public <see cref="MigrateToDevice(ulong, long)"/>),
    /// and the policy hears of each move through <see cref="Policies.IResidencyPolicy.OnUserMigrated"/>;
    /// else a device fault did.
    /// </summary>
    private void MigrateToDevice(long page, int count, bool user)
    {
        while (count > 0)
        {
            var covered = (int)Math.Max(1, MigrateVmaPart(page, Math.Min(count, _memory.ChunkPages), user));
            page += covered;
            count -= covered;
        }
    }

    /// <summary>
    /// Migrates the pages from <paramref name="page"/> that the VMA there covers, with
    /// <c>MigrateVmaSetup/Pages/Finalize</c> retried <see cref="Policies.IResidencyPolicy.MigrateTries"/>
    /// times. A page another device holds is first faulted back to system memory by
    /// <c>HmmRangeFault</c> (so it moves through system memory, <see cref="StageThroughRam"/>), then
    /// migrated here.
    /// </summary>
    /// <returns>How many pages the VMA covered (0: no readable VMA at <paramref name="page"/>).</returns>
    private long MigrateVmaPart(long page, int count, bool user)
    {
        var faultedIn = false;
        var covered = 0L;
        var need = count;
        if (Options.Thp)
        {
            // A whole block is asked for, some of it possibly here already: make room for the rest
            // only (a chunk wholly free when all of it comes, for a THP), or do nothing.
            need = NotHere(page, count);
            if (need == 0)
            {
                return count;
            }
        }

        for (var attempt = 0; attempt < Policy.MigrateTries; attempt++)
        {
            EnsureFreePages(need, wholeChunk: need == RangeBlockPages && Options.Thp);
            var (collected, moved, npages) = MigrateBlock(page, count, attempt, user);
            covered = npages;
            if (moved == npages || npages == 0)
            {
                break;
            }

            if (collected < npages && !faultedIn && FreeDevicePages > 0)
            {
                faultedIn = true;
                attempt--;
                StageThroughRam(page, (int)npages);
            }
        }

        return covered;
    }

    /// <summary>How many of the <paramref name="count"/> pages from <paramref name="page"/> this device's page table does not map to its own memory.</summary>
    private int NotHere(long page, int count)
    {
        var n = 0;
        using (Mutex.Enter())
        {
            for (var p = page; p < page + count; p++)
            {
                n += DevicePte.IsDevice(_pt[p]) ? 0 : 1;
            }
        }

        return n;
    }

    /// <summary>
    /// The first leg of a staged copy: faults the pages from <paramref name="page"/> that other
    /// devices hold back to system memory, through their <see cref="MigrateToRam"/>, which tell the
    /// policy of a staging fault and a staged page (<see cref="Policies.IResidencyPolicy.OnStagingFault"/>,
    /// <see cref="Policies.IResidencyPolicy.OnStaged"/>) rather than of a CPU fault and a migration
    /// to system memory.
    /// </summary>
    private void StageThroughRam(long page, int count)
    {
        t_stagingFor = Options.ProcessorId;
        try
        {
            MapRange(page, count, FaultAccess.Read);
        }
        finally
        {
            t_stagingFor = 0;
        }
    }

    /// <summary>One <c>MigrateVma*</c> pass over a block: how many pages were collected, how many moved, and how many the VMA covered.</summary>
    private (long Collected, long Moved, long Npages) MigrateBlock(long page, int count, int attempt, bool user)
    {
        Activity = "migrating to the device: taking the mmap lock (read) and the range lock";
        _mm.MmapLock.DownRead();
        var rangeLock = Options.SerializeMigrations ? RangeLock(page) : null;
        rangeLock?.Acquire();
        try
        {
            Activity = "migrating to the device: MigrateVmaSetup/Pages/Finalize";
            var start = AddressOf(page);
            var vma = _mm.FindVma(start);
            if (vma is null || vma.Start > start || !vma.Permits(write: false))
            {
                return (0, 0, 0);
            }

            var args = _migrate;
            args.Vma = vma;
            args.Start = start;
            args.End = Math.Min(AddressOf(page + count), vma.End);
            args.PgmapOwner = Owner;
            args.Flags = MigrateVmaFlags.SelectSystem | (Options.Thp ? MigrateVmaFlags.SelectCompound : 0);
            args.FaultPage = null;
            if (MigrateDevice.MigrateVmaSetup(args) != Errno.Ok)
            {
                return (0, 0, 0);
            }

            var collected = args.Cpages;
            if (collected > 0)
            {
                ZapAndWait(page, args.Src.AsSpan(0, (int)args.Npages));
                CopyToDevice(args);
            }

            MigrateDevice.MigrateVmaPages(args);
            var now = Stopwatch.GetTimestamp();
            var moved = MapMigrated(args, page, now);
            MigrateDevice.MigrateVmaFinalize(args);
            for (var i = 0; i < args.Npages; i++)
            {
                for (var p = page + i; p < page + i + MovedPages(args, i); p++)
                {
                    _movedHere[p % RangeBlockPages] = true;
                    if (user)
                    {
                        Policy.OnUserMigrated(p, Options.ProcessorId, now);
                    }
                    else
                    {
                        Policy.OnMigrated(p, Options.ProcessorId, now, attempt);
                    }
                }
            }

            Counters.MigratedToDevice(moved);
            return (collected, moved, args.Npages);
        }
        finally
        {
            rangeLock?.Release();
            _mm.MmapLock.UpRead();
        }
    }

    private static bool Moved(MigrateVma args, int i) => (args.Src[i] & MigratePfn.Migrate) != 0 && MigratePfn.ToPfn(args.Dst[i]) >= 0;

    /// <summary>How many pages entry <paramref name="i"/> moved: 0, 1, or 512 for a 2 MiB destination (<see cref="MigratePfn.Compound"/>).</summary>
    private static int MovedPages(MigrateVma args, int i) => !Moved(args, i) ? 0 : PagesOf(args.Dst[i]);

    /// <summary>The pages a <c>MigratePfn</c> entry stands for: 512 for a compound one, else 1.</summary>
    private static int PagesOf(ulong entry) => (entry & MigratePfn.Compound) != 0 ? RangeBlockPages : 1;

    /// <summary>
    /// <c>migrate_to_ram</c> (<see cref="IDevPagemapOps"/>): a CPU touched one of this device's
    /// private pages, or another device is staging it through system memory on its way there
    /// (<see cref="StageThroughRam"/>). The policy may make the faulting thread wait (UVM throttling)
    /// or refuse the migration until a timeslice expires (the fault is then retried); otherwise the
    /// page is copied back under the block's range lock, which serialises it against other
    /// migrations of the block. With no free system page the fault fails with -ENOMEM (the CPU
    /// access returns it) instead of being retried for ever.
    /// </summary>
    public Errno MigrateToRam(in VmFault vmf)
    {
        var fault = vmf.Address & ~(ulong)(_pageSize - 1);
        var span = (ulong)_pageSize * (ulong)vmf.Page.NrPages;
        var address = Math.Max(vmf.Vma.Start, vmf.Address & ~(span - 1));
        var end = Math.Min(vmf.Vma.End, (vmf.Address & ~(span - 1)) + span);
        var page = PageOf(address);
        var inRange = address >= Start && PageOf(end - 1) < Pages;
        var stagingFor = t_stagingFor;
        var decision = !inRange ? Policies.CpuFaultDecision.MigrateNow
            : stagingFor != 0 ? Policy.OnStagingFault(stagingFor, PageOf(fault), Stopwatch.GetTimestamp())
            : Policy.OnCpuFault(PageOf(fault), Stopwatch.GetTimestamp());
        if (stagingFor == 0)
        {
            Counters.CpuFault(deferred: !decision.Migrate);
        }
        if (decision.WaitTicks > 0)
        {
            Nap(decision.WaitTicks);
        }

        if (!decision.Migrate)
        {
            return Errno.Ok;
        }

        var rangeLock = Options.SerializeMigrations && inRange ? RangeLock(page) : null;
        rangeLock?.Acquire();
        var huge = vmf.Page.Order > 0;
        var args = huge
            ? t_hugeRamMigrate ??= new MigrateVma { Src = new ulong[RangeBlockPages], Dst = new ulong[RangeBlockPages] }
            : t_ramMigrate ??= new MigrateVma { Src = new ulong[1], Dst = new ulong[1] };
        try
        {
            args.Vma = vmf.Vma;
            args.Start = address;
            args.End = end;
            Array.Clear(args.Dst);
            args.PgmapOwner = Owner;
            args.Flags = MigrateVmaFlags.SelectDevicePrivate | (huge ? MigrateVmaFlags.SelectCompound : 0);
            args.FaultPage = vmf.Page;
            if (MigrateDevice.MigrateVmaSetup(args) != Errno.Ok)
            {
                return Errno.EFAULT;
            }

            if (args.Cpages > 0 && inRange)
            {
                ZapAndWait(page, args.Src.AsSpan(0, (int)args.Npages));
            }

            var noMemory = CopyToRam(args.Src, args.Dst, args.Npages) > 0;
            MigrateDevice.MigrateVmaPages(args);
            var now = Stopwatch.GetTimestamp();
            var moved = 0L;
            for (var i = 0; i < args.Npages; i++)
            {
                for (var p = page + i; p < page + i + MovedPages(args, i); p++)
                {
                    moved++;
                    if (inRange && CountMove(p, now) is var stay and >= 0)
                    {
                        Counters.Stay(stay);
                    }
                }
            }

            MigrateDevice.MigrateVmaFinalize(args);
            if (noMemory)
            {
                // nouveau's migrate_to_ram answers a failed alloc_page_vma with VM_FAULT_SIGBUS: the
                // page stays on the device, and retrying the fault would only spin.
                return Fail(Errno.ENOMEM, $"migrate_to_ram of 0x{fault:x}: no free system page ({_kernel.Memory.TotalFrames} frames of {_pageSize / 1024} KiB, all in use)");
            }

            if (moved > 0)
            {
                Counters.MigratedToRam(moved);
            }

            for (var i = 0; i < args.Npages; i++)
            {
                for (var p = page + i; p < page + i + MovedPages(args, i); p++)
                {
                    if (stagingFor != 0)
                    {
                        Counters.Staged();
                    }

                    if (!inRange)
                    {
                        continue;
                    }

                    if (stagingFor != 0)
                    {
                        Policy.OnStaged(p, stagingFor, now);
                    }
                    else
                    {
                        Policy.OnMigrated(p, 0, now, 0);
                    }
                }
            }

            return Errno.Ok;
        }
        finally
        {
            (args.Vma, args.PgmapOwner, args.FaultPage) = (null, null, null);
            rangeLock?.Release();
        }
    }

    /// <summary><c>folio_free</c> (<see cref="IDevPagemapOps"/>): the frame is free again.</summary>
    public void FolioFree(Folio folio) => _memory.Free(folio);

    /// <summary>
    /// <c>dmirror_migrate_alloc_and_copy</c>: for each collected page, a device frame (none left: the
    /// page stays) filled through the accelerator from the system frame, or from the zero page for an
    /// empty entry.
    /// The frames are allocated together, one per collected page (<see cref="MigrateVma.Cpages"/> counts
    /// them), and the copies go out as runs:
    /// pages whose system frames and device frames both follow on are one copy, as UVM coalesces a
    /// block's copies into one push per contiguous region. A failed copy
    /// (<see cref="FaultPoint.DeviceCopy"/>) frees the frame and leaves the page where it is, as
    /// nouveau does.
    /// </summary>
    private unsafe void CopyToDevice(MigrateVma args)
    {
        var compound = 0;
        for (var i = 0; i < args.Npages; i++)
        {
            compound += (args.Src[i] & (MigratePfn.Migrate | MigratePfn.Compound)) == (MigratePfn.Migrate | MigratePfn.Compound) ? 1 : 0;
        }

        var frames = _migrateFrames.AsSpan(0, (int)args.Cpages - compound);
        _memory.Alloc(frames);
        var run = default(CopyRun);
        for (int i = 0, next = 0; i < args.Npages; i++)
        {
            if ((args.Src[i] & MigratePfn.Migrate) == 0)
            {
                continue;
            }

            var write = (args.Src[i] & MigratePfn.Write) != 0 || (MigratePfn.ToPfn(args.Src[i]) < 0 && args.Vma!.Writable) ? MigratePfn.Write : 0;
            if ((args.Src[i] & MigratePfn.Compound) != 0)
            {
                CopyRunToDevice(run);
                run = default;
                CopyCompoundToDevice(args, i, write);
                i += RangeBlockPages - 1;
                continue;
            }

            if (frames[next++] is not (var frame and >= 0) || !CopyPageToDevice(args.Src[i], 0, frame, ref run))
            {
                continue;
            }

            args.Dst[i] = MigratePfn.Make(_memory.Pagemap.PfnBase + frame) | write;
        }

        CopyRunToDevice(run);
    }

    /// <summary>
    /// A compound source at <paramref name="i"/>: one 2 MiB device folio filled with one copy when a
    /// chunk is wholly free; else 512 frames, one per page (the migration then splits the source), or
    /// nothing if even those are short.
    /// </summary>
    private void CopyCompoundToDevice(MigrateVma args, int i, ulong write)
    {
        var huge = _memory.AllocHuge();
        if (huge >= 0)
        {
            var run = default(CopyRun);
            if (!CopyPagesToDevice(args.Src[i], huge, ref run))
            {
                return;
            }

            CopyRunToDevice(run);
            args.Dst[i] = MigratePfn.Make(_memory.Pagemap.PfnBase + huge) | MigratePfn.Compound | write;
            return;
        }

        var frames = _fallbackFrames.AsSpan();
        _memory.Alloc(frames);
        var small = default(CopyRun);
        for (var j = 0; j < RangeBlockPages; j++)
        {
            if (frames[j] >= 0 && CopyPageToDevice(args.Src[i], j, frames[j], ref small))
            {
                args.Dst[i + j] = MigratePfn.Make(_memory.Pagemap.PfnBase + frames[j]) | write;
            }
        }

        CopyRunToDevice(small);
    }

    /// <summary>The 512 pages of a compound source into the device folio from <paramref name="frame"/>, as one run (a THP) or page by page from the zero page (an empty span); false, the folio freed, when the copy failed.</summary>
    private bool CopyPagesToDevice(ulong src, long frame, ref CopyRun run)
    {
        if (_kernel.FaultInjection.ShouldFail(FaultPoint.DeviceCopy))
        {
            var dpage = _memory.Folio(frame);
            dpage.Unlock();
            dpage.Put();
            return false;
        }

        for (var j = 0; j < RangeBlockPages; j++)
        {
            var spfn = MigratePfn.ToPfn(src) is var pfn and >= 0 ? pfn + j : _kernel.ZeroPage.Pfn;
            if (!run.Extend(spfn, frame + j))
            {
                CopyRunToDevice(run);
                run = new CopyRun(spfn, frame + j);
            }
        }

        return true;
    }

    /// <summary>
    /// Adds page <paramref name="offset"/> of source entry <paramref name="src"/> (the zero page for an
    /// empty one) to the copy run into <paramref name="frame"/>; false, the frame freed, when the copy
    /// failed (<see cref="FaultPoint.DeviceCopy"/>).
    /// </summary>
    private bool CopyPageToDevice(ulong src, int offset, long frame, ref CopyRun run)
    {
        if (_kernel.FaultInjection.ShouldFail(FaultPoint.DeviceCopy))
        {
            var dpage = _memory.Folio(frame);
            dpage.Unlock();
            dpage.Put();
            return false;
        }

        var spfn = MigratePfn.ToPfn(src) is var pfn and >= 0 ? pfn + offset : _kernel.ZeroPage.Pfn;
        if (!run.Extend(spfn, frame))
        {
            CopyRunToDevice(run);
            run = new CopyRun(spfn, frame);
        }

        return true;
    }

    /// <summary>Copies one run of pages from system memory into device memory (timed: <see cref="MirrorCounters.CopyToDeviceTime"/>).</summary>
    private unsafe void CopyRunToDevice(CopyRun run)
    {
        if (run.Pages > 0)
        {
            var start = Stopwatch.GetTimestamp();
            _runner.CopyFromCPU(
                _memory.Words.SubView(run.Frame * WordsPerPage, run.Pages * WordsPerPage),
                new ReadOnlySpan<int>(_kernel.Memory.FrameAddress(run.Pfn), run.Pages * WordsPerPage));
            Counters.CopiedToDevice(Stopwatch.GetTimestamp() - start);
        }
    }

    /// <summary>Pages to copy with one call: system frames from <see cref="Pfn"/>, device frames from <see cref="Frame"/>.</summary>
    private struct CopyRun(long pfn, long frame)
    {
        public long Pfn = pfn;
        public long Frame = frame;
        public int Pages = 1;

        /// <summary>Adds the next page if both its frames follow on from the run's; false if it starts a new run.</summary>
        public bool Extend(long pfn, long frame)
        {
            if (Pages == 0 || pfn != Pfn + Pages || frame != Frame + Pages)
            {
                return false;
            }

            Pages++;
            return true;
        }
    }

    /// <summary>
    /// <c>dmirror_migrate_finalize_and_map</c>: maps what moved and counts each move at
    /// <paramref name="now"/> (<see cref="CountMove"/>); returns how many pages moved.
    /// </summary>
    private long MapMigrated(MigrateVma args, long page, long now)
    {
        var moved = 0L;
        Span<int> stays = stackalloc int[MirrorCounters.StayBuckets];
        using (Mutex.Enter())
        {
            for (var i = 0; i < args.Npages; i++)
            {
                if (!Moved(args, i))
                {
                    continue;
                }

                var write = (args.Dst[i] & MigratePfn.Write) != 0;
                var frame = _memory.FrameOf(MigratePfn.ToPfn(args.Dst[i]));
                for (var j = 0; j < PagesOf(args.Dst[i]); j++)
                {
                    _pt.Set(page + i + j, DevicePte.Make(frame + j, device: true, write, atomic: write));
                    moved++;
                    if (CountMove(page + i + j, now) is var stay and >= 0)
                    {
                        stays[MirrorCounters.StayBucket(stay)]++;
                    }
                }
            }
        }

        Counters.AddStays(stays);
        return moved;
    }

    /// <summary>
    /// <c>dmirror_devmem_fault_alloc_and_copy</c> and the eviction copy: for each collected device page,
    /// a locked system page filled through the accelerator from the device frame. With no system page,
    /// or a failed copy (<see cref="FaultPoint.DeviceCopy"/>), the page stays on the device: an
    /// eviction leaves it for the next one; a CPU fault is retried after a failed copy, and fails with
    /// -ENOMEM when there was no system page (see <see cref="MigrateToRam"/>).
    /// </summary>
    /// <returns>How many pages found no system page.</returns>
    private unsafe int CopyToRam(ulong[] src, ulong[] dst, long npages)
    {
        var noMemory = 0;
        for (var i = 0; i < npages; i++)
        {
            if ((src[i] & MigratePfn.Migrate) == 0 || MigratePfn.ToPfn(src[i]) is not (var spfn and >= 0))
            {
                continue;
            }

            var pages = PagesOf(src[i]);
            if (pages > 1 && _kernel.Memory.AllocFolio(PhysicalMemory.MaxOrder, zero: false) is { } huge)
            {
                dst[i] = CopyFolioToRam(huge, spfn) ? MigratePfn.Make(huge.Pfn) | MigratePfn.Compound : 0;
                i += pages - 1;
                continue;
            }

            for (var j = 0; j < pages; j++)
            {
                if (_kernel.Memory.AllocFolio(zero: false) is not { } page)
                {
                    noMemory++;
                    continue;
                }

                if (CopyFolioToRam(page, spfn + j))
                {
                    dst[i + j] = MigratePfn.Make(page.Pfn);
                }
            }

            i += pages - 1;
        }

        return noMemory;
    }

    /// <summary>Locks <paramref name="page"/> (a fresh system folio) and fills it through the accelerator from the device frames from <paramref name="spfn"/>; false, the folio freed, when the copy failed (<see cref="FaultPoint.DeviceCopy"/>).</summary>
    private unsafe bool CopyFolioToRam(Folio page, long spfn)
    {
        page.Lock();
        if (_kernel.FaultInjection.ShouldFail(FaultPoint.DeviceCopy))
        {
            page.Unlock();
            page.Put();
            return false;
        }

        var words = page.NrPages * WordsPerPage;
        _runner.CopyToCPU(_memory.Words.SubView(_memory.FrameOf(spfn) * WordsPerPage, words), new Span<int>(_kernel.Memory.FrameAddress(page.Pfn), words));
        return true;
    }
}
