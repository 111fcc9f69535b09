using Testbed.HostMm.Locking;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Tests.Memory;

public sealed class FolioLockTests : IDisposable
{
    private readonly PhysicalMemory _mem = new(new SyncDomain(validate: true), 1L << 20);

    public void Dispose() => _mem.Dispose();

    [Fact]
    public void TryLock_fails_while_locked_and_unlock_of_an_unlocked_folio_throws()
    {
        var f = _mem.AllocFolio()!;
        Assert.True(f.TryLock());
        Assert.False(f.TryLock());
        f.Unlock();
        Assert.False(f.IsLocked);
        Assert.Throws<InvalidOperationException>(f.Unlock);
        f.Put();
    }

    [Fact]
    public void Unlock_hands_the_lock_to_a_sleeper_so_a_thread_relocking_at_once_cannot_take_it()
    {
        var f = _mem.AllocFolio()!;
        f.Lock();
        var sleeper = TestThread.Run(() => { f.Lock(); return true; });
        SpinWait.SpinUntil(() => f.LockWaiters == 1, TimeSpan.FromSeconds(5));

        // Holding the folio's wait queue (its monitor) keeps the sleeper from running: whatever the
        // unlocker sees next is what the unlock itself left. Handed over, the folio never looks
        // unlocked, and a relock at once (the compaction adversary's loop) fails.
        lock (f)
        {
            f.Unlock();
            Assert.True(f.IsLocked);
            Assert.False(f.TryLock());
        }

        Assert.True(sleeper.Join(TimeSpan.FromSeconds(5)) && sleeper.Result);
        Assert.Equal(0, f.LockWaiters);
        f.Unlock();
        Assert.False(f.IsLocked);
        f.Put();
    }

    [Fact]
    public void A_sleeper_waiting_for_the_unlock_is_woken_by_a_handover_too()
    {
        var f = _mem.AllocFolio()!;
        f.Lock();
        var watcher = TestThread.Run(() => { f.WaitUnlocked(); return true; });
        SpinWait.SpinUntil(() => f.LockWaiters == 1, TimeSpan.FromSeconds(5));
        var locker = TestThread.Run(() => { f.Lock(); return true; });
        SpinWait.SpinUntil(() => f.LockWaiters == 2, TimeSpan.FromSeconds(5));
        f.Unlock();
        Assert.True(locker.Join(TimeSpan.FromSeconds(5)) && locker.Result);
        Assert.True(watcher.Join(TimeSpan.FromSeconds(5)) && watcher.Result);
        Assert.True(f.IsLocked);
        f.Unlock();
        f.Put();
    }

    [Fact]
    public void Lock_sleeps_as_a_waiter_until_another_thread_unlocks()
    {
        var f = _mem.AllocFolio()!;
        f.Lock();
        var locker = TestThread.Run(() => { f.Lock(); return f.IsLocked; });
        SpinWait.SpinUntil(() => f.LockWaiters == 1, TimeSpan.FromSeconds(5));
        Assert.Equal(1, f.LockWaiters);
        Assert.False(locker.IsCompleted);
        f.Unlock();
        Assert.True(locker.Join(TimeSpan.FromSeconds(5)) && locker.Result);
        Assert.Equal(0, f.LockWaiters);
        f.Unlock();
        f.Put();
    }

    [Fact]
    public void WaitUnlocked_waits_without_taking_the_lock()
    {
        var f = _mem.AllocFolio()!;
        f.Lock();
        var waiter = TestThread.Run(f.WaitUnlocked);
        SpinWait.SpinUntil(() => f.LockWaiters == 1, TimeSpan.FromSeconds(5));
        f.Unlock();
        Assert.True(waiter.Join(TimeSpan.FromSeconds(5)));
        Assert.False(f.IsLocked);
        f.Put();
    }

    [Fact]
    public void A_waiter_still_wakes_when_the_folio_is_freed_and_reallocated_before_it_runs_again()
    {
        // The pingpong stall: a CPU fault waits for a device page's lock; the migration unlocks it,
        // the page is freed and taken again as a new migration's locked destination before the
        // waiter runs. Reallocation must not forget the waiter, or the next unlock wakes no one.
        var f = _mem.AllocFolio()!;
        f.Lock();
        var waiter = TestThread.Run(f.WaitUnlocked);
        SpinWait.SpinUntil(() => f.LockWaiters == 1, TimeSpan.FromSeconds(5));
        Folio again;
        lock (f)
        {
            // Holding the folio's wait queue keeps the woken waiter from running meanwhile.
            f.Unlock();
            f.Put();
            again = _mem.AllocFolio()!;
            Assert.Same(f, again);
            again.Lock();
        }

        again.Unlock();
        Assert.True(waiter.Join(TimeSpan.FromSeconds(5)), "the waiter was never woken");
        Assert.Equal(0, again.LockWaiters);
        again.Put();
    }

    [Fact]
    public void LockKillable_returns_EINTR_on_a_fatal_signal_and_Ok_when_the_lock_comes()
    {
        var f = _mem.AllocFolio()!;
        f.Lock();
        using var signal = new CancellationTokenSource();
        var killed = TestThread.Run(() => f.LockKillable(signal.Token));
        SpinWait.SpinUntil(() => f.LockWaiters == 1, TimeSpan.FromSeconds(5));
        signal.Cancel();
        Assert.Equal(Errno.EINTR, killed.Result);
        Assert.True(f.IsLocked);

        var patient = TestThread.Run(() => f.LockKillable(CancellationToken.None));
        SpinWait.SpinUntil(() => f.LockWaiters == 1, TimeSpan.FromSeconds(5));
        f.Unlock();
        Assert.Equal(Errno.Ok, patient.Result);
        Assert.True(f.IsLocked);
        f.Unlock();
        f.Put();
    }

    [Fact]
    public void Many_lockers_are_mutually_exclusive()
    {
        var f = _mem.AllocFolio()!;
        var inside = 0;
        var maxInside = 0;
        var counter = 0;
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 2000; i++)
            {
                f.Lock();
                var n = Interlocked.Increment(ref inside);
                maxInside = Math.Max(maxInside, n);
                counter++;
                Interlocked.Decrement(ref inside);
                f.Unlock();
            }
        });
        Assert.Equal(1, maxInside);
        Assert.Equal(8000, counter);
        f.Put();
    }

    [Fact]
    public void TryUnlockFreeze_unlocks_and_drops_the_last_reference_only_with_nobody_else_there()
    {
        var f = _mem.AllocFolio()!;
        Assert.Throws<InvalidOperationException>(() => f.TryUnlockFreeze());
        f.Lock();

        // Another reference: nothing changes, and the caller unlocks and puts as usual.
        f.Get();
        Assert.False(f.TryUnlockFreeze());
        Assert.True(f.IsLocked);
        Assert.Equal(2, f.RefCount);
        f.Put();

        // A waiter without a reference (a fault on a migration entry): the count comes back, the
        // lock stays, and only the atomic unlock wakes the waiter.
        var watcher = TestThread.Run(() => { f.WaitUnlocked(); return true; });
        Assert.True(SpinWait.SpinUntil(() => f.LockWaiters == 1, TimeSpan.FromSeconds(5)));
        Assert.False(f.TryUnlockFreeze());
        Assert.True(f.IsLocked);
        Assert.Equal(1, f.RefCount);
        Assert.True(f.TryGet());
        f.Put();
        f.Unlock();
        Assert.True(watcher.Join(TimeSpan.FromSeconds(5)) && watcher.Result);

        // Nobody else: unlocked and frozen at zero, so no speculative reference can be taken.
        f.Lock();
        Assert.True(f.TryUnlockFreeze());
        Assert.False(f.IsLocked);
        Assert.True(f.IsFree);
        Assert.False(f.TryGet());
        _mem.Free([f]);
        Assert.Equal(_mem.TotalFrames, _mem.FreeFrames);
    }

    [Fact]
    public unsafe void TryUnlockFreeze_leaves_a_device_folio_to_the_atomic_unlock()
    {
        var ops = new NoOps();
        Assert.Equal(Errno.Ok, _mem.MemremapPages(PageKind.DevicePrivate, 1, ops, ops, null, out var pagemap));
        var device = pagemap!.PfnToFolio(pagemap.PfnBase);
        pagemap.ZoneDeviceFolioInit(device);
        Assert.False(device.TryUnlockFreeze());
        Assert.True(device.IsLocked);
        Assert.Equal(1, device.RefCount);
    }

    [Fact]
    public void Freeing_a_locked_folio_is_a_programming_error()
    {
        var f = _mem.AllocFolio()!;
        f.Lock();
        Assert.Throws<InvalidOperationException>(f.Put);
    }

    private sealed class NoOps : IDevPagemapOps
    {
        public Errno MigrateToRam(in VmFault vmf) => Errno.Ok;

        public void FolioFree(Folio folio)
        {
        }
    }
}
