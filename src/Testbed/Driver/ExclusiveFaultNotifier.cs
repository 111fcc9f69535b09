using Testbed.HostMm.Notifiers;

namespace Testbed.Driver;

/// <summary>
/// The interval notifier an atomic fault subscribes over the faulting page alone, for as long as
/// it converts that page (nouveau's <c>nouveau_atomic_range_fault</c> inserts one per fault with
/// <c>nouveau_svm_mni_ops</c> and removes it after). Its callback only moves the sequence, under the
/// device's mutex as <c>ReadRetry</c> is checked; zapping the device's entries stays with the
/// mirror's own notifier. So an invalidation elsewhere in the mirror (a CPU taking back another
/// page, the compaction adversary moving one) does not send the conversion round again; only one
/// of this page does.
/// </summary>
/// <remarks>
/// <para>Two events are skipped. The device's own <c>Exclusive</c> and <c>Migrate</c> events, when
/// owner filtering is on, as the mirror's callback skips them; off, each attempt invalidates itself
/// (seed 002).</para>
/// <para>And every invalidation the converting thread's own <c>MakeDeviceExclusive</c> causes. That
/// call faults the page writable before it converts it, and the fault may restore a
/// device-exclusive entry this device left behind — an earlier attempt converted the page and then
/// lost its <c>ReadRetry</c>, or an invalidation (an mprotect, a failed migration) zapped the
/// device's mapping but left the CPU's entry — with a <c>Clear</c> event that carries no owner, so
/// no owner filter skips it. It falls inside the attempt's own read-begin/retry window: counted,
/// every attempt invalidates itself and the fault gives -EBUSY after the timeout (nouveau's loop has
/// the same shape). Skipping it is safe: the conversion that follows re-checks, under the folio lock
/// and the PTE lock, that the PTE maps the folio writable, and installs the entry the device maps;
/// the same holds for a COW break or a swap-in the fault does. Any other thread's invalidation of
/// the page still moves the sequence. With owner filtering off the device counts every event, this
/// one too, and the conversion never converges (seed 002).</para>
/// </remarks>
internal sealed class ExclusiveFaultNotifier(MirrorDevice device) : IMmuIntervalNotifierOps
{
    private int _convertingThread;

    /// <summary>Marks the calling thread as the one inside <c>MakeDeviceExclusive</c> for this page, until <see cref="EndConversion"/>.</summary>
    public void BeginConversion() => Volatile.Write(ref _convertingThread, Environment.CurrentManagedThreadId);

    /// <summary>Ends <see cref="BeginConversion"/>.</summary>
    public void EndConversion() => Volatile.Write(ref _convertingThread, 0);

    /// <inheritdoc/>
    public bool Invalidate(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq)
    {
        if (device.CausedBySelf(range))
        {
            return true;
        }

        if (device.Options.FilterOwnerEvents && Volatile.Read(ref _convertingThread) == Environment.CurrentManagedThreadId)
        {
            return true;
        }

        if (range.Blockable)
        {
            device.Mutex.Acquire();
        }
        else if (!device.Mutex.TryAcquire())
        {
            return false;
        }

        subscription.SetSeq(curSeq);
        device.Mutex.Release();
        return true;
    }
}
