using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Diagnostics;

/// <summary>
/// Event counters of one <see cref="HostKernel"/> (the model's <c>/proc/vmstat</c>): faults by kind,
/// TLB flushes and waits, invalidations by <see cref="MmuNotifierEvent"/>. Counting is one
/// interlocked increment and is never done on the TLB-hit path.
/// </summary>
public sealed class MmCounters
{
    private readonly long[] _events = new long[Enum.GetValues<MmEvent>().Length];
    private readonly long[] _invalidations = new long[Enum.GetValues<MmuNotifierEvent>().Length];

    /// <summary>The count of <paramref name="e"/>.</summary>
    public long this[MmEvent e] => Volatile.Read(ref _events[(int)e]);

    /// <summary>Invalidations started with event <paramref name="e"/>.</summary>
    public long Invalidations(MmuNotifierEvent e) => Volatile.Read(ref _invalidations[(int)e]);

    internal void Count(MmEvent e) => Interlocked.Increment(ref _events[(int)e]);

    internal void Count(MmEvent e, long n)
    {
        if (n != 0)
        {
            Interlocked.Add(ref _events[(int)e], n);
        }
    }

    internal void CountInvalidation(MmuNotifierEvent e) => Interlocked.Increment(ref _invalidations[(int)e]);
}
