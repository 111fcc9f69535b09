using System.Runtime.CompilerServices;

namespace Testbed.HostMm.Locking;

/// <summary>
/// A mutual-exclusion lock of the model: the kernel's <c>spinlock_t</c> (page-table locks, zone
/// lock, notifier lock) or a driver's mutex. It checks its order with the domain's validator and
/// passes the scheduler seam before it may block. It is owned by the thread that took it.
/// </summary>
/// <remarks>
/// It is a <see cref="Monitor"/> on a private object rather than a <see cref="System.Threading.Lock"/>:
/// Coyote's rewriting (<c>testbed explore</c>) controls <see cref="Monitor"/> but not
/// <see cref="System.Threading.Lock"/>, whose contended waits it cannot see and reports as hangs.
/// First-touch, swap-fault, hmm-range-fault and fault-batch measured with both, alternating, show no
/// difference beyond run-to-run noise (docs/results/mmlock-monitor.md).
/// </remarks>
public sealed class MmLock
{
    private readonly object _lock = new();
    private readonly SyncDomain _domain;
    private readonly LockClass _class;

    /// <summary>Creates a lock of class <paramref name="cls"/> reporting to <paramref name="domain"/>.</summary>
    public MmLock(SyncDomain domain, LockClass cls)
    {
        _domain = domain;
        _class = cls;
    }

    /// <summary>The lock's class.</summary>
    public LockClass Class => _class;

    /// <summary>Whether the calling thread holds the lock.</summary>
    public bool IsHeldByCurrentThread => Monitor.IsEntered(_lock);

    /// <summary>
    /// Takes the lock; <paramref name="subclass"/> tells apart two locks of one class held together.
    /// The lock is reentrant, so a recursive acquisition the validator reports does not also hang.
    /// </summary>
    public void Acquire(int subclass = 0, [CallerMemberName] string member = "", [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        _domain.BeforeAcquire(_class, subclass, this, new AcquireSite(member, file, line));
        Monitor.Enter(_lock);
    }

    /// <summary><c>mutex_trylock()</c>: takes the lock if it is free, never waiting.</summary>
    public bool TryAcquire(int subclass = 0, [CallerMemberName] string member = "", [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        if (!Monitor.TryEnter(_lock))
        {
            return false;
        }

        _domain.Validator.TryAcquired(_class, subclass, this, new AcquireSite(member, file, line));
        return true;
    }

    /// <summary>Releases the lock. Throws if the calling thread does not hold it (a programming error).</summary>
    public void Release()
    {
        Monitor.Exit(_lock);
        _domain.Validator.Release(this);
    }

    /// <summary>Takes the lock for a <c>using</c> scope.</summary>
    public Scope Enter(int subclass = 0, [CallerMemberName] string member = "", [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        Acquire(subclass, member, file, line);
        return new Scope(this);
    }

    /// <summary>Releases the lock when disposed.</summary>
    public readonly ref struct Scope
    {
        private readonly MmLock _owner;

        internal Scope(MmLock owner) => _owner = owner;

        /// <summary>Releases the lock.</summary>
        public void Dispose() => _owner.Release();
    }
}
