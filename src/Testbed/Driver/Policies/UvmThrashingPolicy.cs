using System.Diagnostics;
using Testbed.HostMm.Memory;

namespace Testbed.Driver.Policies;

/// <summary>
/// <c>uvm-thrashing</c>: NVIDIA UVM's thrashing detection and mitigation (uvm_perf_thrashing.c),
/// rule by rule, per page.
/// <para>
/// Detection (<c>thrashing_event_cb</c>) runs on every fault-driven migration
/// (<see cref="OnMigrated"/>; a user migration, <see cref="OnUserMigrated"/>, is none, and resets a
/// page detected thrashing; the first leg of a staged copy between two devices,
/// <see cref="OnStaged"/>, is none either): a migration within <see cref="UvmThrashingOptions.Lapse"/> of the
/// page's previous one is a thrashing event, whichever processors took part. The count saturates at
/// 7 and is not reset by a slow migration until the page has reached
/// <see cref="UvmThrashingOptions.Threshold"/>; a page that had, and then migrates after more than
/// the lapse, is no longer thrashing: its events, throttling period and pin are cleared, but not its
/// throttling count.
/// </para>
/// <para>
/// Mitigation (<c>uvm_perf_thrashing_get_hint</c>) runs on every fault of a thrashing page whose
/// last migration was within the lapse. The first fault after a throttling period ends starts the
/// next one, of <see cref="UvmThrashingOptions.Nap"/>, and names a processor that is not throttled
/// during it: the faulting one, unless it had that role in the period before (UVM avoids choosing the
/// same processor twice in a row). Every other processor that faults during the period is throttled
/// — a device skips the fault and lets the replay fault again; the CPU sleeps until the period ends
/// and faults again — so the page changes hands at most once a period, alternating. Each processor
/// throttled in a period counts once; once <see cref="UvmThrashingOptions.PinThreshold"/> are counted
/// (across resets), the next fault of the processor not throttled pins the page in system memory for
/// <see cref="UvmThrashingOptions.Pin"/>, and devices map it remotely.
/// A page thrashing at least once whose last thrashing event is older than
/// <see cref="UvmThrashingOptions.Epoch"/> has its state reset, at most
/// <see cref="UvmThrashingOptions.MaxResets"/> times.
/// </para>
/// </summary>
/// <remarks>
/// Differences from UVM: state is per page rather than per 2 MiB VA block (so the epoch, its
/// reset count are per page, and there is no block-level gate before pages are tracked); no preferred
/// location, accessed-by or NVLINK, so a pinned page's residency is always system memory (the CPU
/// cannot map device-private memory, and every device can map system memory); revocations
/// (system-wide atomics) are not events; and an expired pin is forgotten on the page's next fault rather than by unmapping remote mappings
/// from a timer, so a device that mapped a pinned page keeps its remote mapping until an
/// invalidation removes it.
/// </remarks>
public sealed class UvmThrashingPolicy : IResidencyPolicy
{
    private const int MaxEvents = 7;
    private const int MaxThrottlingCount = 255;
    private const int Nobody = -1;

    private readonly Lock _lock = new();
    private readonly PageState[] _pages;
    private readonly long _lapse;
    private readonly long _nap;
    private readonly long _pin;
    private readonly long _epoch;
    private long _throttles;
    private long _pins;
    private long _thrashingDetected;

    /// <summary>A policy for <paramref name="pages"/> pages; <see cref="ArgumentException"/> for options out of UVM's ranges.</summary>
    public UvmThrashingPolicy(long pages, UvmThrashingOptions? options = null)
    {
        Options = options ?? new UvmThrashingOptions();
        if (Options.Validate() is { } problem)
        {
            throw new ArgumentException($"uvm-thrashing: {problem}.", nameof(options));
        }

        _pages = new PageState[pages];
        Array.Fill(_pages, new PageState { DoNotThrottle = Nobody });
        _lapse = Ticks(Options.Lapse);
        _nap = Ticks(Options.Nap);
        _pin = Ticks(Options.Pin);
        _epoch = Ticks(Options.Epoch);
    }

    /// <summary>The tunables.</summary>
    public UvmThrashingOptions Options { get; }

    /// <summary>Times a processor was throttled for a period (each counts once per period), on any page.</summary>
    public long Throttles => Volatile.Read(ref _throttles);

    /// <summary>Pages pinned.</summary>
    public long Pins => Volatile.Read(ref _pins);

    /// <summary>Times a page was detected thrashing (its events reached the threshold).</summary>
    public long ThrashingDetected => Volatile.Read(ref _thrashingDetected);

    /// <inheritdoc/>
    public string Name => "uvm-thrashing";

    /// <inheritdoc/>
    public PageKind DeviceMemoryKind => PageKind.DevicePrivate;

    /// <inheritdoc/>
    public int MigrateTries => 1;

    /// <inheritdoc/>
    public GpuFaultAction OnGpuFault(int processor, long page, FaultAccess access, long now) => Hint(page, processor, now, out _) switch
    {
        Kind.Throttle => GpuFaultAction.Throttle,
        Kind.Pin => GpuFaultAction.MapRemote,
        _ => GpuFaultAction.Migrate,
    };

    /// <inheritdoc/>
    public long ThrottledUntil(long page)
    {
        lock (_lock)
        {
            return _pages[page].ThrottlingEnd;
        }
    }

    /// <inheritdoc/>
    public CpuFaultDecision OnCpuFault(long page, long now) =>
        Hint(page, 0, now, out var throttlingEnd) == Kind.Throttle ? CpuFaultDecision.Refuse(Math.Max(1, throttlingEnd - now)) : CpuFaultDecision.MigrateNow;

    /// <summary>
    /// <c>thrashing_event_cb</c> for a fault migration of <paramref name="page"/> to
    /// <paramref name="processor"/>. A pinned page moving to its pinned residency
    /// (<c>is_pinned_pages_update</c>) is not an event.
    /// </summary>
    public void OnMigrated(long page, int processor, long now, int attempt)
    {
        CheckProcessor(processor);
        lock (_lock)
        {
            ref var s = ref _pages[page];
            if (s.Pinned)
            {
                return;
            }

            var last = s.LastTime;
            s.LastTime = now;
            if (last == 0)
            {
                return;
            }

            if (now - last <= _lapse)
            {
                s.Events = Math.Min(s.Events + 1, MaxEvents);
                if (s.Events == Options.Threshold)
                {
                    _thrashingDetected++;
                }

                if (s.Events >= Options.Threshold)
                {
                    s.LastThrashingTime = now;
                }
            }
            else if (s.Events >= Options.Threshold)
            {
                s = ResetPage(s);
            }
        }
    }

    /// <summary>
    /// <c>thrashing_event_cb</c> for a user migration (cause <c>API_MIGRATE</c>): not an event. UVM
    /// leaves its heuristics to the user's command here: a page detected thrashing is reset
    /// (<c>thrashing_reset_pages_in_region</c>: events, timestamp, throttling period and pin cleared;
    /// the throttling count kept), and any other page's history is left as it was, its last fault
    /// migration still the one the next is measured from.
    /// </summary>
    public void OnUserMigrated(long page, int processor, long now)
    {
        CheckProcessor(processor);
        lock (_lock)
        {
            ref var s = ref _pages[page];
            if (s.Events >= Options.Threshold)
            {
                s = ResetPage(s);
            }
        }
    }

    /// <summary>
    /// The first leg of a device's migration of a page another device holds. UVM moves it in one
    /// <c>make_resident</c> for the faulting device, whose own fault (<see cref="OnGpuFault"/>) has
    /// already been through the thrashing hint: the CPU's throttling is not asked, and the page
    /// migrates now.
    /// </summary>
    public CpuFaultDecision OnStagingFault(int processor, long page, long now)
    {
        CheckProcessor(processor);
        return CpuFaultDecision.MigrateNow;
    }

    /// <summary>
    /// <c>thrashing_event_cb</c> for the first leg of a staged copy (its destination, system memory,
    /// is not the <c>make_resident</c>'s): not an event, and the page's history is left as it was;
    /// the second leg, to <paramref name="processor"/>, is measured from the migration before this.
    /// </summary>
    public void OnStaged(long page, int processor, long now) => CheckProcessor(processor);

    private static long Ticks(TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);

    private static ulong Bit(int processor) => 1UL << processor;

    private static void CheckProcessor(int processor) =>
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)processor, (uint)MirrorOptions.MaxProcessorId + 1, nameof(processor));

    /// <summary>
    /// <c>thrashing_reset_page</c>: the page is no longer thrashing — events, timestamp, throttling
    /// period and pin are cleared — but it keeps its throttling count and the processor not to
    /// throttle, so a page that keeps starting to thrash again is pinned in the end.
    /// </summary>
    private static PageState ResetPage(in PageState s) =>
        s with { LastTime = 0, Events = 0, Throttled = 0, ThrottlingEnd = 0, Pinned = false, PinnedUntil = 0 };

    /// <summary>
    /// <c>uvm_perf_thrashing_get_hint</c> for a fault on <paramref name="page"/> by
    /// <paramref name="requester"/>; <paramref name="throttlingEnd"/> is when the page's current
    /// throttling period ends.
    /// </summary>
    private Kind Hint(long page, int requester, long now, out long throttlingEnd)
    {
        CheckProcessor(requester);
        lock (_lock)
        {
            ref var s = ref _pages[page];
            var hint = Decide(ref s, requester, now);
            throttlingEnd = s.ThrottlingEnd;
            return hint;
        }
    }

    private Kind Decide(ref PageState s, int requester, long now)
    {
        var bit = Bit(requester);
        if (s.Pinned && now >= s.PinnedUntil)
        {
            s = ResetPage(s);
        }

        if (s.LastThrashingTime != 0 && now - s.LastThrashingTime > _epoch && !s.Pinned && s.Resets < Options.MaxResets)
        {
            s = new PageState { DoNotThrottle = Nobody, Resets = s.Resets + 1 };
            return Kind.None;
        }

        if (s.Events < Options.Threshold)
        {
            return Kind.None;
        }

        if ((s.Throttled & bit) != 0)
        {
            if (now < s.ThrottlingEnd && requester != s.DoNotThrottle)
            {
                return Kind.Throttle;
            }

            EndThrottle(ref s, bit);
        }

        if (now - s.LastTime > _lapse && !s.Pinned)
        {
            return Kind.None;
        }

        if (now > s.ThrottlingEnd)
        {
            s.ThrottlingEnd = now + _nap;
            s.DoNotThrottle = s.DoNotThrottle == requester ? Nobody : requester;
        }
        else if (s.DoNotThrottle == Nobody)
        {
            s.DoNotThrottle = requester;
        }

        if (s.Pinned)
        {
            return Kind.Pin;
        }

        if (requester == s.DoNotThrottle)
        {
            if (s.ThrottlingCount < Options.PinThreshold)
            {
                return Kind.None;
            }

            s.Throttled = 0;
            s.ThrottlingEnd = 0;
            s.ThrottlingCount = 0;
            s.Pinned = true;
            s.PinnedUntil = now + _pin;
            _pins++;
            return Kind.Pin;
        }

        if ((s.Throttled & bit) == 0)
        {
            s.Throttled |= bit;
            s.ThrottlingCount = Math.Min(s.ThrottlingCount + 1, MaxThrottlingCount);
            _throttles++;
        }

        return Kind.Throttle;
    }

    /// <summary><c>thrashing_throttle_end_processor</c>: the last throttled processor out ends the period.</summary>
    private static void EndThrottle(ref PageState s, ulong bit)
    {
        s.Throttled &= ~bit;
        if (s.Throttled == 0)
        {
            s.ThrottlingEnd = 0;
        }
    }

    private enum Kind
    {
        None,
        Throttle,
        Pin,
    }

    /// <summary><c>page_thrashing_info_t</c>, plus the per-block fields UVM keeps (here per page).</summary>
    private record struct PageState
    {
        public long LastTime;
        public int Events;
        public ulong Throttled;
        public long ThrottlingEnd;
        public int ThrottlingCount;
        public int DoNotThrottle;
        public bool Pinned;
        public long PinnedUntil;
        public long LastThrashingTime;
        public int Resets;
    }
}
