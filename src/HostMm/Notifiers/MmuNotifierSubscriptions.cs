using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Locking;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Notifiers;

/// <summary>
/// <c>struct mmu_notifier_subscriptions</c> of one address space, with the kernel's sequence rules:
/// the address space's <c>invalidate_seq</c> starts at 2; an invalidation that overlaps any interval
/// makes it odd for as long as any invalidation is active; when the last one ends it becomes even
/// again and <see cref="MmuIntervalNotifier.ReadBegin"/> sleepers wake. An interval whose own
/// sequence equals the odd address-space sequence is being invalidated.
/// </summary>
/// <remarks>
/// The intervals are kept in a copy-on-write array rather than an interval tree; an invalidation
/// iterates the array it found when it started, so an interval inserted meanwhile is not called
/// (the kernel's deferred insertion) and one removed meanwhile may still be called until its
/// <see cref="Remove"/> returns.
/// </remarks>
public sealed class MmuNotifierSubscriptions
{
    private readonly MmLock _lock;
    private readonly object _waitQueue = new();
    private readonly AddressSpace _mm;
    private readonly MmCounters _counters;
    private readonly SyncDomain _sync;
    private MmuIntervalNotifier[] _intervals = [];

    /// <summary>The array the last insert replaced, and the one it made (see <see cref="Insert(MmuIntervalNotifier, ulong, ulong)"/>).</summary>
    private MmuIntervalNotifier[]? _insertedInto;
    private MmuIntervalNotifier[]? _inserted;
    private ulong _invalidateSeq = 2;
    private int _activeInvalidateRanges;

    internal MmuNotifierSubscriptions(AddressSpace mm, SyncDomain sync, MmCounters counters)
    {
        _mm = mm;
        _sync = sync;
        _counters = counters;
        _lock = new MmLock(sync, LockClasses.NotifierSubscriptions);
    }

    /// <summary>The address space's <c>invalidate_seq</c>: even when idle, odd while an overlapping invalidation runs.</summary>
    public ulong InvalidateSeq => Volatile.Read(ref _invalidateSeq);

    /// <summary>How many intervals are subscribed.</summary>
    public int Count => Volatile.Read(ref _intervals).Length;

    /// <summary>
    /// <c>mmu_interval_notifier_insert()</c>: subscribes <paramref name="ops"/> to
    /// <c>[start, start + length)</c>. Returns -EINVAL for an empty or wrapping range.
    /// </summary>
    public Errno Insert(ulong start, ulong length, IMmuIntervalNotifierOps ops, out MmuIntervalNotifier? subscription)
    {
        ArgumentNullException.ThrowIfNull(ops);
        subscription = null;
        var sub = new MmuIntervalNotifier(_mm, ops);
        if (Insert(sub, start, length) is var err && err != Errno.Ok)
        {
            return err;
        }

        subscription = sub;
        return Errno.Ok;
    }

    /// <summary>
    /// <c>mmu_interval_notifier_insert()</c> of a notifier the caller owns (created with
    /// <see cref="MmuIntervalNotifier(AddressSpace, IMmuIntervalNotifierOps)"/>, not subscribed now),
    /// over <c>[start, start + length)</c>. Returns -EINVAL for an empty or wrapping range.
    /// </summary>
    /// <remarks>
    /// The kernel's insert allocates nothing: the caller provides the structure. Here the intervals
    /// are a copy-on-write array, so an insert makes a new one; but the last insert's arrays, the one
    /// it replaced and the one it made, are kept, and inserting the same notifier into the same array
    /// again reuses the second, while removing it goes back to the first. A fault's short-lived
    /// interval, inserted and removed around each page, therefore allocates nothing once warm. An
    /// invalidation still walking an array from before the notifier's last remove may call it for its
    /// new interval, when the two overlap: a spurious retry for the reader, never a missed one.
    /// </remarks>
    public Errno Insert(MmuIntervalNotifier interval, ulong start, ulong length)
    {
        ArgumentNullException.ThrowIfNull(interval);
        if (interval.Mm != _mm)
        {
            throw new ArgumentException("MmuNotifierSubscriptions.Insert: the notifier belongs to another address space.", nameof(interval));
        }

        if (length == 0 || start + length < start)
        {
            return Errno.EINVAL;
        }

        using (_lock.Enter())
        {
            if (interval.IsSubscribed)
            {
                throw new InvalidOperationException("MmuNotifierSubscriptions.Insert: the notifier is already subscribed.");
            }

            interval.Cover(start, start + length);
            interval.IsSubscribed = true;
            if (_activeInvalidateRanges > 0)
            {
                // An invalidation is running and may already cover this range: the interval takes
                // the odd sequence, so a reader that begins now waits for that invalidation to end.
                _invalidateSeq |= 1;
                interval.Seq = _invalidateSeq;
            }
            else
            {
                // Odd, so never equal to the even address-space sequence: ReadBegin does not wait.
                interval.Seq = _invalidateSeq - 1;
            }

            if (ReferenceEquals(_intervals, _insertedInto) && _inserted![^1] == interval)
            {
                Volatile.Write(ref _intervals, _inserted);
            }
            else
            {
                _insertedInto = _intervals;
                _inserted = [.. _intervals, interval];
                Volatile.Write(ref _intervals, _inserted);
            }
        }

        _mm.Kernel.NotifierCountChanged(+1);
        return Errno.Ok;
    }

    /// <summary>
    /// <c>mmu_notifier_invalidate_range_start()</c>: calls every overlapping interval's callback.
    /// Returns -EAGAIN, with the invalidation already ended, when the range is not blockable and a
    /// callback refused. Every successful call is paired with <see cref="InvalidateRangeEnd"/>.
    /// </summary>
    public Errno InvalidateRangeStart(in MmuNotifierRange range)
    {
        _counters.CountInvalidation(range.Event);
        MmuIntervalNotifier[] intervals;
        ulong seq;
        using (_lock.Enter())
        {
            _activeInvalidateRanges++;
            intervals = _intervals;
            foreach (var sub in intervals)
            {
                if (sub.Overlaps(range.Start, range.End))
                {
                    _invalidateSeq |= 1;
                    break;
                }
            }

            seq = _invalidateSeq;
        }

        foreach (var sub in intervals)
        {
            if (!sub.Overlaps(range.Start, range.End) || sub.Ops.Invalidate(sub, range, seq))
            {
                continue;
            }

            if (range.Blockable)
            {
                throw new InvalidOperationException($"{sub.Ops.GetType().Name}.Invalidate refused a blockable {range.Event} invalidation; only non-blockable ones may fail.");
            }

            InvalidateRangeEnd();
            return Errno.EAGAIN;
        }

        return Errno.Ok;
    }

    /// <summary>
    /// <c>mmu_notifier_invalidate_range_end()</c>: when the last active invalidation ends, the
    /// sequence becomes even again and readers sleeping in <c>ReadBegin</c> wake.
    /// </summary>
    public void InvalidateRangeEnd()
    {
        bool wake;
        using (_lock.Enter())
        {
            if (_activeInvalidateRanges <= 0)
            {
                throw new InvalidOperationException("InvalidateRangeEnd without a matching InvalidateRangeStart.");
            }

            wake = --_activeInvalidateRanges == 0 && (_invalidateSeq & 1) != 0;
            if (wake)
            {
                Volatile.Write(ref _invalidateSeq, _invalidateSeq + 1);
            }
        }

        if (wake)
        {
            lock (_waitQueue)
            {
                Monitor.PulseAll(_waitQueue);
            }
        }
    }

    internal ulong ReadBegin(MmuIntervalNotifier sub)
    {
        ulong seq;
        bool invalidating;
        using (_lock.Enter())
        {
            seq = sub.Seq;
            invalidating = seq == _invalidateSeq;
        }

        if (invalidating)
        {
            WaitForSeqChange(seq);
        }

        return seq;
    }

    internal void Remove(MmuIntervalNotifier sub)
    {
        ulong waitSeq = 0;
        using (_lock.Enter())
        {
            var i = Array.IndexOf(_intervals, sub);
            if (i < 0)
            {
                throw new InvalidOperationException("MmuIntervalNotifier.Remove: the interval is not subscribed (removed twice?).");
            }

            sub.IsSubscribed = false;
            if (ReferenceEquals(_intervals, _inserted) && i == _inserted.Length - 1)
            {
                Volatile.Write(ref _intervals, _insertedInto!);
            }
            else
            {
                var rest = new MmuIntervalNotifier[_intervals.Length - 1];
                Array.Copy(_intervals, rest, i);
                Array.Copy(_intervals, i + 1, rest, i, rest.Length - i);
                Volatile.Write(ref _intervals, rest);
            }

            if ((_invalidateSeq & 1) != 0)
            {
                waitSeq = _invalidateSeq;
            }
        }

        _mm.Kernel.NotifierCountChanged(-1);

        if (waitSeq != 0)
        {
            WaitForSeqChange(waitSeq);
        }
    }

    private void WaitForSeqChange(ulong seq)
    {
        _sync.BeforeWait(LockClasses.NotifierSubscriptions, _waitQueue);
        lock (_waitQueue)
        {
            while (Volatile.Read(ref _invalidateSeq) == seq)
            {
                Monitor.Wait(_waitQueue);
            }
        }
    }
}
