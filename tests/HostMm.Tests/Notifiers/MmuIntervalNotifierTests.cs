using Testbed.HostMm.Locking;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Tests.Notifiers;

public sealed class MmuIntervalNotifierTests
{
    private static readonly LockClass TestDriverLock = new("test-driver->lock");

    /// <summary>
    /// A driver-like subscriber: records every call and sets the sequence under its own lock, as
    /// the kernel requires. <see cref="Refuse"/> runs first (a non-blockable callback that cannot
    /// take its lock); <see cref="AfterSetSeq"/> runs after the sequence is set, as a driver that
    /// then waits for its device to drop the mappings.
    /// </summary>
    private sealed class Recorder(SyncDomain sync) : IMmuIntervalNotifierOps
    {
        public readonly MmLock DriverLock = new(sync, TestDriverLock);
        public readonly List<MmuNotifierRange> Calls = [];
        public readonly List<ulong> Seqs = [];
        public Func<MmuNotifierRange, bool>? Refuse;
        public Action? AfterSetSeq;

        public bool Invalidate(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq)
        {
            if (Refuse is { } refuse && refuse(range))
            {
                return false;
            }

            using (DriverLock.Enter())
            {
                subscription.SetSeq(curSeq);
                Calls.Add(range);
                Seqs.Add(curSeq);
            }

            AfterSetSeq?.Invoke();
            return true;
        }
    }

    /// <summary>
    /// A munmap on a model thread whose invalidation is held inside <paramref name="rec"/>'s callback,
    /// after it set the sequence, until <see cref="BlockedMunmap.Release"/> (bounded, so a failing test
    /// cannot hang).
    /// </summary>
    private sealed class BlockedMunmap : IDisposable
    {
        private readonly ManualResetEventSlim _inCallback = new();
        private readonly ManualResetEventSlim _release = new();
        private readonly TestThread<Errno> _munmap;

        public BlockedMunmap(MmFixture t, Recorder rec, ulong addr, ulong len)
        {
            rec.AfterSetSeq = () =>
            {
                _inCallback.Set();
                Assert.True(_release.Wait(TimeSpan.FromSeconds(10)));
            };
            _munmap = TestThread.Run(() => t.Mm.Munmap(addr, len));
            Assert.True(_inCallback.Wait(TimeSpan.FromSeconds(10)));
        }

        /// <summary>Lets the invalidation finish and checks munmap succeeded.</summary>
        public void Release()
        {
            _release.Set();
            Assert.Equal(Errno.Ok, _munmap.Result);
        }

        public void Dispose()
        {
            _release.Set();
            _inCallback.Dispose();
        }
    }

    [Fact]
    public void Sequence_starts_even_goes_odd_during_an_invalidation_and_ReadRetry_sees_it()
    {
        using var t = new MmFixture();
        var a = t.Map(4);
        var rec = new Recorder(t.Kernel.Sync);
        Assert.Equal(2UL, t.Mm.Notifiers.InvalidateSeq);
        Assert.Equal(Errno.Ok, t.Mm.Notifiers.Insert(a, 2 * t.PageSize, rec, out var sub));
        var seq = sub!.ReadBegin();
        Assert.Equal(1UL, seq);
        Assert.False(sub.ReadRetry(seq));

        Assert.Equal(Errno.Ok, t.Cpu.Write(a, 1));
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(a, t.PageSize, Prot.Read));
        Assert.Single(rec.Seqs);
        Assert.Equal(3UL, rec.Seqs[0]);
        Assert.Equal(4UL, t.Mm.Notifiers.InvalidateSeq);
        Assert.True(sub.ReadRetry(seq));
        Assert.True(sub.CheckRetry(seq));
        var again = sub.ReadBegin();
        Assert.Equal(3UL, again);
        Assert.False(sub.ReadRetry(again));

        var call = rec.Calls[0];
        Assert.Equal((a, a + t.PageSize, MmuNotifierEvent.ProtectionVma, true), (call.Start, call.End, call.Event, call.Blockable));
        Assert.Same(t.Mm, call.Mm);
        Assert.Null(call.Owner);
        sub.Remove();
        Assert.Equal(0, t.Mm.Notifiers.Count);
    }

    [Fact]
    public void A_notifier_the_caller_owns_moves_from_page_to_page_and_is_called_for_its_current_one_only()
    {
        using var t = new MmFixture();
        var a = t.Map(4);
        var rec = new Recorder(t.Kernel.Sync);
        var sub = new MmuIntervalNotifier(t.Mm, rec);
        Assert.False(sub.IsSubscribed);
        for (var page = 0UL; page < 3; page++)
        {
            var va = a + (page * t.PageSize);
            Assert.Equal(Errno.Ok, t.Mm.Notifiers.Insert(sub, va, t.PageSize));
            Assert.True(sub.IsSubscribed);
            Assert.Equal((va, va + t.PageSize), (sub.Start, sub.End));
            Assert.Equal(1, t.Mm.Notifiers.Count);
            var seq = sub.ReadBegin();
            Assert.Equal(Errno.Ok, t.Mm.Mprotect(a + ((page + 1) * t.PageSize), t.PageSize, Prot.Read));
            Assert.False(sub.ReadRetry(seq));
            Assert.Equal(Errno.Ok, t.Mm.Mprotect(va, t.PageSize, Prot.Read));
            Assert.True(sub.ReadRetry(seq));
            Assert.Equal(va, Assert.Single(rec.Calls).Start);
            rec.Calls.Clear();
            sub.Remove();
            Assert.False(sub.IsSubscribed);
            Assert.Equal(0, t.Mm.Notifiers.Count);
        }

        Assert.Throws<InvalidOperationException>(sub.Remove);
    }

    [Fact]
    public void A_caller_owned_notifier_cannot_be_subscribed_twice_or_to_another_address_space()
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        var rec = new Recorder(t.Kernel.Sync);
        var sub = new MmuIntervalNotifier(t.Mm, rec);
        Assert.Equal(Errno.EINVAL, t.Mm.Notifiers.Insert(sub, a, 0));
        Assert.False(sub.IsSubscribed);
        Assert.Equal(Errno.Ok, t.Mm.Notifiers.Insert(sub, a, t.PageSize));
        Assert.Throws<InvalidOperationException>(() => t.Mm.Notifiers.Insert(sub, a, t.PageSize));
        using (var other = t.Kernel.CreateAddressSpace())
        {
            Assert.Throws<ArgumentException>(() => other.Notifiers.Insert(sub, a, t.PageSize));
        }

        sub.Remove();
    }

    /// <summary>
    /// nouveau's atomic fault subscribes an interval over the page it converts and removes it after,
    /// page after page; with the notifier the caller's own, that allocates nothing once warm, beside
    /// another subscriber (a mirror over the whole range) too.
    /// </summary>
    [Fact]
    public void Inserting_and_removing_the_same_notifier_page_after_page_allocates_nothing()
    {
        using var t = new MmFixture();
        var a = t.Map(8);
        Assert.Equal(Errno.Ok, t.Mm.Notifiers.Insert(a, 8 * t.PageSize, new Recorder(t.Kernel.Sync), out var mirror));
        var sub = new MmuIntervalNotifier(t.Mm, new Recorder(t.Kernel.Sync));
        var (allocated, failed, counted) = (0L, 0, 0);
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var page = 0UL; page < 8; page++)
            {
                failed += t.Mm.Notifiers.Insert(sub, a + (page * t.PageSize), t.PageSize) == Errno.Ok ? 0 : 1;
                counted += t.Mm.Notifiers.Count;
                sub.Remove();
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal((0, 3 * 8 * 2), (failed, counted));
        Assert.Equal(0, allocated);
        Assert.Equal(1, t.Mm.Notifiers.Count);
        mirror!.Remove();
    }

    [Fact]
    public void Non_overlapping_invalidations_do_not_call_or_move_the_sequence()
    {
        using var t = new MmFixture();
        var a = t.Map(4);
        var rec = new Recorder(t.Kernel.Sync);
        Assert.Equal(Errno.Ok, t.Mm.Notifiers.Insert(a, t.PageSize, rec, out var sub));
        var seq = sub!.ReadBegin();
        Assert.Equal(Errno.Ok, t.Mm.Munmap(a + (2 * t.PageSize), 2 * t.PageSize));
        Assert.Empty(rec.Calls);
        Assert.False(sub.ReadRetry(seq));
        Assert.Equal(2UL, t.Mm.Notifiers.InvalidateSeq);
        sub.Remove();
    }

    [Fact]
    public void Each_syscall_fires_the_event_the_kernel_fires()
    {
        using var t = new MmFixture();
        var rec = new Recorder(t.Kernel.Sync);
        Assert.Equal(Errno.Ok, t.Mm.Notifiers.Insert(AddressSpace.MmapBase, 1UL << 30, rec, out var sub));
        var a = t.Map(4);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a, out int _));
        Assert.Equal(Errno.Ok, t.Cpu.Write(a, 1));
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(a, t.PageSize, Prot.Read));
        using (t.Mm.ForkOk())
        {
        }

        Assert.Equal(Errno.Ok, t.Mm.MadviseDontNeed(a, t.PageSize));
        Assert.Equal(Errno.Ok, t.Mm.Munmap(a, 4 * t.PageSize));
        Assert.Equal(
            [MmuNotifierEvent.Clear, MmuNotifierEvent.ProtectionVma, MmuNotifierEvent.ProtectionPage, MmuNotifierEvent.ProtectionPage, MmuNotifierEvent.Clear, MmuNotifierEvent.Unmap],
            rec.Calls.Select(c => c.Event));
        var b = t.Map(1);
        rec.Calls.Clear();
        t.Mm.Dispose();
        Assert.Equal([MmuNotifierEvent.Release, MmuNotifierEvent.Unmap], rec.Calls.Select(c => c.Event));
        Assert.Equal((0UL, AddressSpace.TaskSize), (rec.Calls[0].Start, rec.Calls[0].End));
        Assert.Equal((b, b + t.PageSize), (rec.Calls[1].Start, rec.Calls[1].End));
        sub!.Remove();
    }

    [Fact]
    public void ReadBegin_sleeps_while_an_invalidation_of_the_interval_runs()
    {
        using var t = new MmFixture();
        var a = t.Map(2);
        var rec = new Recorder(t.Kernel.Sync);
        Assert.Equal(Errno.Ok, t.Mm.Notifiers.Insert(a, t.PageSize, rec, out var sub));
        using (var munmap = new BlockedMunmap(t, rec, a, t.PageSize))
        {
            Assert.Equal(3UL, t.Mm.Notifiers.InvalidateSeq);
            var reader = TestThread.Run(sub!.ReadBegin);
            Assert.False(reader.Join(200));
            munmap.Release();
            Assert.Equal(3UL, reader.Result);
        }

        Assert.Equal(4UL, t.Mm.Notifiers.InvalidateSeq);
        sub.Remove();
    }

    [Fact]
    public void Interval_inserted_during_an_invalidation_waits_for_it_in_ReadBegin()
    {
        using var t = new MmFixture();
        var a = t.Map(2);
        var first = new Recorder(t.Kernel.Sync);
        Assert.Equal(Errno.Ok, t.Mm.Notifiers.Insert(a, t.PageSize, first, out var sub1));
        var late = new Recorder(t.Kernel.Sync);
        MmuIntervalNotifier? sub2;
        using (var munmap = new BlockedMunmap(t, first, a, 2 * t.PageSize))
        {
            Assert.Equal(Errno.Ok, t.Mm.Notifiers.Insert(a + t.PageSize, t.PageSize, late, out sub2));
            var reader = TestThread.Run(sub2!.ReadBegin);
            Assert.False(reader.Join(200));
            munmap.Release();
            Assert.True(reader.Join(TimeSpan.FromSeconds(10)));
        }

        Assert.Empty(late.Calls);
        sub1!.Remove();
        sub2.Remove();
    }

    [Fact]
    public void Remove_during_an_invalidation_returns_only_after_it_ends()
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        var rec = new Recorder(t.Kernel.Sync);
        Assert.Equal(Errno.Ok, t.Mm.Notifiers.Insert(a, t.PageSize, rec, out var sub));
        using (var munmap = new BlockedMunmap(t, rec, a, t.PageSize))
        {
            var remove = TestThread.Run(sub!.Remove);
            Assert.False(remove.Join(200));
            munmap.Release();
            Assert.True(remove.Join(TimeSpan.FromSeconds(10)));
        }

        Assert.Equal(0, t.Mm.Notifiers.Count);
        Assert.Throws<InvalidOperationException>(sub.Remove);
    }

    [Fact]
    public void Non_blockable_invalidation_refused_by_the_callback_is_EAGAIN_and_ends_cleanly()
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        var rec = new Recorder(t.Kernel.Sync) { Refuse = r => !r.Blockable };
        Assert.Equal(Errno.Ok, t.Mm.Notifiers.Insert(a, t.PageSize, rec, out var sub));
        var range = new MmuNotifierRange(t.Mm, a, a + t.PageSize, MmuNotifierEvent.Clear, Blockable: false);
        Assert.Equal(Errno.EAGAIN, t.Mm.Notifiers.InvalidateRangeStart(range));
        Assert.Equal(4UL, t.Mm.Notifiers.InvalidateSeq);
        Assert.Throws<InvalidOperationException>(t.Mm.Notifiers.InvalidateRangeEnd);
        sub!.Remove();
    }

    /// <summary>
    /// The OOM reaper, the kernel's one source of non-blockable invalidations: a refusing callback
    /// makes it back off with -EAGAIN and nothing is reaped; a contended mmap lock does too; once
    /// both let go, private pages are reaped and shared ones kept.
    /// </summary>
    [Fact]
    public void OomReap_backs_off_on_a_refusal_or_a_busy_mmap_lock_and_then_reaps_private_memory()
    {
        using var t = new MmFixture();
        var priv = t.Map(2);
        var shared = t.Map(1, flags: MmapFlags.Shared);
        Assert.Equal(Errno.Ok, t.Cpu.Write(priv, 11L));
        Assert.Equal(Errno.Ok, t.Cpu.Write(shared, 22L));
        var refuse = true;
        var rec = new Recorder(t.Kernel.Sync) { Refuse = r => refuse && !r.Blockable };
        Assert.Equal(Errno.Ok, t.Mm.Notifiers.Insert(priv, 2 * t.PageSize, rec, out var sub));
        Assert.Equal(Errno.EAGAIN, t.Mm.OomReap());
        Assert.Equal(Errno.Ok, t.Cpu.Read(priv, out long kept));
        Assert.Equal(11, kept);

        refuse = false;
        var writer = TestThread.Run(() =>
        {
            t.Mm.MmapLock.DownWrite();
            Thread.Sleep(300);
            t.Mm.MmapLock.UpWrite();
        });
        while (!t.Mm.MmapLock.IsWriteLocked)
        {
            Thread.Yield();
        }

        Assert.Equal(Errno.EAGAIN, t.Mm.OomReap());
        Assert.True(writer.Join(TimeSpan.FromSeconds(10)));

        Assert.Equal(Errno.Ok, t.Mm.OomReap());
        Assert.Equal(Errno.Ok, t.Cpu.Read(priv, out long reaped));
        Assert.Equal(0, reaped);
        Assert.Equal(Errno.Ok, t.Cpu.Read(shared, out long still));
        Assert.Equal(22, still);
        sub!.Remove();
    }

    [Fact]
    public void Bad_intervals_are_EINVAL()
    {
        using var t = new MmFixture();
        var rec = new Recorder(t.Kernel.Sync);
        Assert.Equal(Errno.EINVAL, t.Mm.Notifiers.Insert(0x1000, 0, rec, out var none));
        Assert.Null(none);
        Assert.Equal(Errno.EINVAL, t.Mm.Notifiers.Insert(ulong.MaxValue - 10, 4096, rec, out _));
        Assert.Equal(0, t.Mm.Notifiers.Count);
    }
}
