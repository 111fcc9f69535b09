using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Notifiers;

/// <summary>
/// <c>struct mmu_interval_notifier</c> (mm/mmu_notifier.c): a driver's subscription to
/// invalidations of <c>[Start, End)</c> of one address space, and the sequence count with which
/// the driver detects that a mapping it is about to install went stale:
/// <code>
/// seq = sub.ReadBegin();
/// ... fault or look up pages without the driver lock ...
/// driverLock.Acquire();
/// if (sub.ReadRetry(seq)) { driverLock.Release(); goto again; }
/// ... install the device mapping ...
/// driverLock.Release();
/// </code>
/// The callback calls <see cref="SetSeq"/> under the same driver lock, which is what makes the
/// <see cref="ReadRetry"/> check under that lock sufficient.
/// </summary>
public sealed class MmuIntervalNotifier
{
    private readonly MmuNotifierSubscriptions _subscriptions;
    private ulong _invalidateSeq;

    /// <summary>
    /// A notifier on <paramref name="mm"/> that its owner subscribes and unsubscribes itself, as a
    /// driver embeds <c>struct mmu_interval_notifier</c> in a structure of its own (nouveau's atomic
    /// fault keeps one on its stack for the page it converts): see
    /// <see cref="MmuNotifierSubscriptions.Insert(MmuIntervalNotifier, ulong, ulong)"/>. Reused from
    /// one insert to the next, it allocates nothing.
    /// </summary>
    public MmuIntervalNotifier(AddressSpace mm, IMmuIntervalNotifierOps ops)
    {
        ArgumentNullException.ThrowIfNull(mm);
        ArgumentNullException.ThrowIfNull(ops);
        _subscriptions = mm.Notifiers;
        Mm = mm;
        Ops = ops;
    }

    /// <summary>The address space watched.</summary>
    public AddressSpace Mm { get; }

    /// <summary>First byte of the interval (of its latest insert).</summary>
    public ulong Start { get; private set; }

    /// <summary>One past the last byte of the interval (of its latest insert).</summary>
    public ulong End { get; private set; }

    /// <summary>Whether the interval is subscribed now.</summary>
    public bool IsSubscribed { get; internal set; }

    /// <summary>The driver's callbacks.</summary>
    public IMmuIntervalNotifierOps Ops { get; }

    internal ulong Seq
    {
        get => Volatile.Read(ref _invalidateSeq);
        set => Volatile.Write(ref _invalidateSeq, value);
    }

    /// <summary>
    /// <c>mmu_interval_read_begin()</c>: starts a read-side critical section. If an invalidation
    /// that covers this interval is in progress, sleeps until it ends. Returns the sequence to pass
    /// to <see cref="ReadRetry"/>.
    /// </summary>
    public ulong ReadBegin() => _subscriptions.ReadBegin(this);

    /// <summary>
    /// <c>mmu_interval_read_retry()</c>: true if an invalidation started since
    /// <paramref name="seq"/> was read, so whatever was looked up must be thrown away. Call it
    /// under the lock the invalidate callback takes around <see cref="SetSeq"/>.
    /// </summary>
    public bool ReadRetry(ulong seq) => Seq != seq;

    /// <summary>
    /// <c>mmu_interval_check_retry()</c>: the same test without the driver lock, as an early exit
    /// from long work; a false answer proves nothing.
    /// </summary>
    public bool CheckRetry(ulong seq) => Seq != seq;

    /// <summary>
    /// <c>mmu_interval_set_seq()</c>: called by the invalidate callback, under the driver lock,
    /// with the <c>curSeq</c> it was given, so that concurrent readers retry.
    /// </summary>
    public void SetSeq(ulong curSeq) => Seq = curSeq;

    /// <summary>
    /// <c>mmu_interval_notifier_remove()</c>: unsubscribes. If an invalidation is in progress,
    /// waits until it ends, so that no callback runs once this returns. Must not be called from
    /// the callback itself.
    /// </summary>
    public void Remove() => _subscriptions.Remove(this);

    /// <summary>Sets the interval an insert subscribes.</summary>
    internal void Cover(ulong start, ulong end) => (Start, End) = (start, end);

    /// <summary>Whether <c>[start, end)</c> overlaps the interval.</summary>
    internal bool Overlaps(ulong start, ulong end) => start < End && Start < end;
}
