using Testbed.HostMm.Notifiers;

namespace Testbed.Driver;

public sealed partial class MirrorDevice
{
    /// <summary>
    /// Bumped under the mutex by every <see cref="ZapAndWait"/>: the sequence of invalidations the
    /// driver did itself. Fault servicing samples it without the mutex (a stale sample only causes a
    /// retry) and compares it under the mutex.
    /// </summary>
    private long _zapSeq;

    /// <summary>
    /// The interval notifier callback (DESIGN §4.3): skips <c>Migrate</c> and <c>Exclusive</c>
    /// events this device caused when filtering is on; otherwise bumps the sequence and zaps the
    /// affected entries under the mutex, then waits until no launch that could still use them is in
    /// flight — the model of a GPU TLB invalidation — before letting core mm go on.
    /// </summary>
    public bool Invalidate(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq)
    {
        if (Options.FilterOwnerEvents && range.Event is MmuNotifierEvent.Migrate or MmuNotifierEvent.Exclusive && range.Owner == Owner)
        {
            return true;
        }

        var first = range.Start <= Start ? 0 : PageOf(range.Start);
        var end = range.End >= AddressOf(Pages) ? Pages : PageOf(range.End + (ulong)_pageSize - 1);
        using (Mutex.Enter())
        {
            subscription.SetSeq(curSeq);
            if (first < end && _pt.Zap(first, end))
            {
                Counters.Invalidation();
            }
        }

        WaitForLaunches();
        return true;
    }

    /// <summary>
    /// Zaps <paramref name="count"/> entries from <paramref name="page"/> and waits for launches: what
    /// the driver does itself before copying a page whose invalidation it filtered out. The notifier
    /// sequence does not move for a filtered event, so the driver's own <see cref="_zapSeq"/> does, and
    /// fault servicing checks both: a page found on the device just before the CPU migrated it back
    /// must not be mapped from the stale frame.
    /// </summary>
    private void ZapAndWait(long page, long count)
    {
        using (Mutex.Enter())
        {
            _pt.Zap(page, page + count);
            Volatile.Write(ref _zapSeq, _zapSeq + 1);
        }

        WaitForLaunches();
    }
}
