namespace Testbed.HostMm.Notifiers;

/// <summary><c>struct mmu_interval_notifier_ops</c>: what a driver does when its interval is invalidated.</summary>
public interface IMmuIntervalNotifierOps
{
    /// <summary>
    /// Called before the PTEs of an overlapping range change. The driver takes its own lock, calls
    /// <see cref="MmuIntervalNotifier.SetSeq"/> with <paramref name="curSeq"/>, and tears down its
    /// mappings of the range before returning. When <see cref="MmuNotifierRange.Blockable"/> is
    /// false and the driver would have to sleep, it returns false instead and the invalidation
    /// fails with -EAGAIN.
    /// </summary>
    bool Invalidate(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq);
}
