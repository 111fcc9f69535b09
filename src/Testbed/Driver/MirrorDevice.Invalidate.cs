using Testbed.HostMm.Migrate;
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
    /// flight — the model of a GPU TLB invalidation — before letting core mm go on. A non-blockable
    /// invalidation (the OOM reaper's) may not sleep: it is refused, touching nothing, when a launch
    /// is in flight or the mutex is taken, as amdgpu and nouveau refuse one with a trylock.
    /// </summary>
    public bool Invalidate(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq)
    {
        if (CausedBySelf(range))
        {
            return true;
        }

        if (!range.Blockable)
        {
            return InvalidateNonBlocking(subscription, range, curSeq);
        }

        using (Mutex.Enter())
        {
            ZapLocked(subscription, range, curSeq);
        }

        WaitForLaunches();
        return true;
    }

    /// <summary>
    /// Whether <paramref name="range"/> is a <c>Migrate</c> or <c>Exclusive</c> event this device
    /// caused and owner filtering is on: its callbacks skip it (DESIGN §4.3).
    /// </summary>
    internal bool CausedBySelf(in MmuNotifierRange range) =>
        Options.FilterOwnerEvents && range.Event is MmuNotifierEvent.Migrate or MmuNotifierEvent.Exclusive && range.Owner == Owner;

    private bool InvalidateNonBlocking(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq)
    {
        if (!_mapping.TryDownWrite())
        {
            Counters.InvalidationRefused();
            return false;
        }

        try
        {
            if (!Mutex.TryAcquire())
            {
                Counters.InvalidationRefused();
                return false;
            }

            try
            {
                ZapLocked(subscription, range, curSeq);
            }
            finally
            {
                Mutex.Release();
            }
        }
        finally
        {
            _mapping.UpWrite();
        }

        return true;
    }

    /// <summary>Under the mutex: moves the interval's sequence and zaps the mirrored pages <paramref name="range"/> covers.</summary>
    private void ZapLocked(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq)
    {
        subscription.SetSeq(curSeq);
        var first = range.Start <= Start ? 0 : PageOf(range.Start);
        var end = range.End >= AddressOf(Pages) ? Pages : PageOf(range.End + (ulong)_pageSize - 1);
        if (first < end && _pt.Zap(first, end))
        {
            Counters.Invalidation();
        }
    }

    /// <summary>
    /// Zaps the entries of the pages a migration collected (<paramref name="src"/>, from
    /// <paramref name="page"/>) and waits for launches: what the driver does itself before copying a
    /// page whose invalidation it filtered out. Pages the migration did not collect keep their entries
    /// (a device page already here stays mapped). The notifier
    /// sequence does not move for a filtered event, so the driver's own <see cref="_zapSeq"/> does, and
    /// fault servicing checks both: a page found on the device just before the CPU migrated it back
    /// must not be mapped from the stale frame.
    /// </summary>
    private void ZapAndWait(long page, ReadOnlySpan<ulong> src)
    {
        using (Mutex.Enter())
        {
            for (var i = 0; i < src.Length; i++)
            {
                if ((src[i] & MigratePfn.Migrate) != 0)
                {
                    _pt.Zap(page + i, page + i + PagesOf(src[i]));
                }
            }

            Volatile.Write(ref _zapSeq, _zapSeq + 1);
        }

        WaitForLaunches();
    }
}
