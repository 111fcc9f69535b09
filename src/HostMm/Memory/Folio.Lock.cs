using Testbed.HostMm.Locking;
using Testbed.HostMm.Diagnostics;

namespace Testbed.HostMm.Memory;

/// <summary>
/// The folio lock (<c>PG_locked</c>, mm/filemap.c): a sleeping bit lock that any thread may
/// release, with a waiter count so that an unlock wakes sleepers only when there are some. This is
/// the lock whose <c>TryLock</c> in <c>DoSwapPage</c> ended the 2024 livelock and whose
/// <c>LockKillable</c> in <c>MakeDeviceExclusive</c> replaced a trylock that returned -EBUSY.
/// </summary>
/// <remarks>
/// An unlock with a thread asleep to take the lock hands it over (the lock handoff of
/// <c>folio_wake_bit</c> since Linux 5.9): the lock stays set and the first sleeper to wake owns it,
/// so a thread that relocks in a tight loop — the compaction adversary sweeping the few pages still
/// present — cannot starve a sleeper. Without it, <c>MakeDeviceExclusive</c>'s killable lock waited
/// seconds under the stress test's adversary. A sleeper waiting only for the unlock
/// (<see cref="WaitUnlocked"/>) is woken by every unlock, handed over or not.
/// </remarks>
public sealed partial class Folio
{
    private int _locked;
    private int _waiters;
    private int _lockWaiters;
    private int _unlocks;
    private bool _handoff;

    /// <summary>Whether the folio is locked (<c>folio_test_locked()</c>).</summary>
    public bool IsLocked => Volatile.Read(ref _locked) != 0;

    /// <summary>How many threads sleep on the lock (to lock it or to see it unlocked).</summary>
    public int LockWaiters => Volatile.Read(ref _waiters);

    /// <summary><c>folio_trylock()</c>: locks without sleeping; false if already locked.</summary>
    public bool TryLock() => Interlocked.CompareExchange(ref _locked, 1, 0) == 0;

    /// <summary>
    /// <see cref="TryLock"/> at a site with a fallback for a busy folio, where
    /// <see cref="Diagnostics.FaultPoint.FolioTrylock"/> can make it fail on purpose.
    /// </summary>
    internal bool TryLockOrFallBack() => !_memory.FaultInjection.ShouldFail(Diagnostics.FaultPoint.FolioTrylock) && TryLock();

    /// <summary><c>folio_lock()</c>: sleeps until the folio can be locked.</summary>
    public void Lock()
    {
        if (!TryLock())
        {
            Sleep(acquire: true, CancellationToken.None);
        }
    }

    /// <summary>
    /// <c>folio_lock_killable()</c>: like <see cref="Lock"/>, but a fatal signal (the cancellation of
    /// <paramref name="fatalSignal"/>) ends the wait with <see cref="Errno.EINTR"/>.
    /// </summary>
    public Errno LockKillable(CancellationToken fatalSignal)
    {
        if (TryLock())
        {
            return Errno.Ok;
        }

        return Sleep(acquire: true, fatalSignal) ? Errno.Ok : Errno.EINTR;
    }

    /// <summary>
    /// <c>folio_wait_locked()</c>: sleeps until the folio is unlocked, without locking it or
    /// holding a reference; the caller must re-validate everything afterwards.
    /// </summary>
    public void WaitUnlocked()
    {
        if (IsLocked)
        {
            Sleep(acquire: false, CancellationToken.None);
        }
    }

    /// <summary>
    /// <c>migration_entry_wait_on_locked()</c> (Linux 5.19): called with <paramref name="ptl"/> held
    /// and the folio locked; queues as a waiter, releases <paramref name="ptl"/>, then sleeps until
    /// the folio is unlocked. It holds no reference: the PTE lock keeps the folio locked and in use
    /// until the waiter is queued (<c>remove_migration_ptes</c> needs it before the migration can
    /// unlock), and the unlock that ends the migration wakes the waiter even if the frame is freed and
    /// reused right after. A waiter holding a reference made the migration it waited on fail on the
    /// reference count, so a page touched while migrating never moved.
    /// </summary>
    internal void WaitUnlockedReleasing(Locking.MmLock ptl)
    {
        int unlocks;
        lock (this)
        {
            Interlocked.Increment(ref _waiters);
            unlocks = _unlocks;
        }

        ptl.Release();
        try
        {
            _memory.Sync.BeforeWait(null, this);
            lock (this)
            {
                while (IsLocked && _unlocks == unlocks)
                {
                    Monitor.Wait(this);
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
        }
    }

    /// <summary>
    /// <c>folio_unlock()</c>: any thread may unlock; wakes the sleepers, and hands the lock to one
    /// that sleeps to take it, if any.
    /// </summary>
    public void Unlock()
    {
        if (Volatile.Read(ref _lockWaiters) > 0 && IsLocked)
        {
            lock (this)
            {
                if (_lockWaiters > 0 && !_handoff)
                {
                    _handoff = true;
                    _unlocks++;
                    Monitor.PulseAll(this);
                    return;
                }
            }
        }

        if (Interlocked.Exchange(ref _locked, 0) == 0)
        {
            VmBug.OnFolio("Folio.Unlock", Pfn, "is not locked.");
        }

        if (Volatile.Read(ref _waiters) > 0)
        {
            lock (this)
            {
                _unlocks++;
                Monitor.PulseAll(this);
            }
        }
    }

    /// <summary>
    /// <see cref="Unlock"/> and the last <see cref="PutTestZero"/> in one atomic operation, for a
    /// locked system folio whose only reference the caller holds and that nobody waits on: the count
    /// is frozen at zero (<c>folio_ref_freeze(folio, 1)</c>), then the lock is cleared with a plain
    /// store, as <c>shrink_folio_list()</c> clears it with <c>__folio_clear_locked()</c> on a folio it
    /// is about to free. True: the folio must be freed, as after <see cref="PutTestZero"/>. False,
    /// with nothing changed, when someone else holds a reference or waits: the caller unlocks and
    /// puts as usual.
    /// </summary>
    /// <remarks>
    /// At zero nobody can take a reference (<see cref="TryGet"/> fails). A thread waits on a system
    /// folio's lock either holding a reference, which fails the freeze, or through a migration entry
    /// (<see cref="WaitUnlockedReleasing"/>), counted as a waiter before it lets the PTE lock go: the
    /// caller must have replaced the folio's migration entries under their PTE locks first, so that
    /// every such waiter is counted when the count is read. A device folio never qualifies: a CPU
    /// fault on a device-private page waits for its unlock holding neither a reference nor the PTE
    /// lock (<see cref="WaitUnlocked"/> in <c>DoSwapPage</c>), so only the atomic unlock is sure to see
    /// it. While frozen, a speculative <see cref="TryGet"/> fails, as it does in the kernel.
    /// </remarks>
    internal bool TryUnlockFreeze()
    {
        if (!IsLocked)
        {
            VmBug.OnFolio("Folio.TryUnlockFreeze", Pfn, "is not locked.");
        }

        if (Pgmap is not null || Interlocked.CompareExchange(ref _refCount, 0, 1) != 1)
        {
            return false;
        }

        if (Volatile.Read(ref _waiters) != 0)
        {
            Volatile.Write(ref _refCount, 1);
            return false;
        }

        _locked = 0;
        Freed();
        return true;
    }

    /// <summary>
    /// A frame being taken for a new use must come back unlocked. Its waiters are left alone: a
    /// thread still sleeping from the frame's previous use (a fault that waited on a migration which
    /// freed the page) is woken by the next unlock like any other; forgetting it there made that
    /// unlock wake no one.
    /// </summary>
    private void CheckUnlockedForReuse()
    {
        if (IsLocked)
        {
            VmBug.OnFolio("Folio", Pfn, "was freed while locked.");
        }
    }

    /// <summary>
    /// Sleeps until the folio is unlocked (and locks it when <paramref name="acquire"/>, taking a
    /// handed-over lock first); false if killed. A killed sleeper that was handed the lock unlocks it
    /// again, which hands it on.
    /// </summary>
    private bool Sleep(bool acquire, CancellationToken fatalSignal)
    {
        _memory.Sync.BeforeWait(null, this);
        using var wake = fatalSignal.CanBeCanceled ? fatalSignal.Register(WakeAll) : default;
        lock (this)
        {
            Interlocked.Increment(ref _waiters);
            if (acquire)
            {
                Interlocked.Increment(ref _lockWaiters);
            }

            var unlocks = _unlocks;
            try
            {
                while (true)
                {
                    if (acquire && _handoff)
                    {
                        _handoff = false;
                        if (!fatalSignal.IsCancellationRequested)
                        {
                            return true;
                        }

                        Interlocked.Decrement(ref _lockWaiters);
                        acquire = false;
                        Unlock();
                        return false;
                    }

                    if (acquire ? TryLock() : !IsLocked || _unlocks != unlocks)
                    {
                        return true;
                    }

                    if (fatalSignal.IsCancellationRequested)
                    {
                        return false;
                    }

                    Monitor.Wait(this);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _waiters);
                if (acquire)
                {
                    Interlocked.Decrement(ref _lockWaiters);
                }
            }
        }
    }

    private void WakeAll()
    {
        lock (this)
        {
            Monitor.PulseAll(this);
        }
    }
}
