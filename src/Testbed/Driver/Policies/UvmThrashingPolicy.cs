using System.Diagnostics;
using Testbed.HostMm.Memory;

namespace Testbed.Driver.Policies;

/// <summary>
/// <c>uvm-thrashing</c>: NVIDIA UVM's thrashing detection and mitigation (uvm_perf_thrashing.c),
/// per page. Every fault is an event; an event from a different processor within
/// <see cref="UvmThrashingOptions.Lapse"/> of the previous one is a thrashing event. Once
/// <see cref="UvmThrashingOptions.Threshold"/> consecutive thrashing events are seen, the page is
/// thrashing and the faulting processor is throttled for <see cref="UvmThrashingOptions.Nap"/> (a
/// device skips the fault and lets the replay fault again; the CPU sleeps, then migrates) while the
/// other processor keeps the page. After <see cref="UvmThrashingOptions.PinThreshold"/> throttles the
/// page is pinned in system memory for <see cref="UvmThrashingOptions.Pin"/> and devices map it
/// remotely. A page quiet for <see cref="UvmThrashingOptions.Epoch"/> forgets its history, at most
/// <see cref="UvmThrashingOptions.MaxResets"/> times.
/// </summary>
/// <remarks>
/// Differences from UVM: state is per page rather than per 2 MiB VA block (so the epoch and reset
/// count are per page); the pinned residency is always system memory, because the CPU cannot map
/// device-private memory; and an expired pin is forgotten on the page's next fault rather than by
/// unmapping remote mappings from a timer, so a device that mapped a pinned page keeps its remote
/// mapping until an invalidation removes it.
/// </remarks>
public sealed class UvmThrashingPolicy : IResidencyPolicy
{
    private readonly Lock _lock = new();
    private readonly PageState[] _pages;
    private readonly long _lapse;
    private readonly long _nap;
    private readonly long _pin;
    private readonly long _epoch;
    private long _throttles;
    private long _pins;

    /// <summary>A policy for <paramref name="pages"/> pages; <see cref="ArgumentException"/> for options out of UVM's ranges.</summary>
    public UvmThrashingPolicy(long pages, UvmThrashingOptions? options = null)
    {
        Options = options ?? new UvmThrashingOptions();
        if (Options.Validate() is { } problem)
        {
            throw new ArgumentException($"uvm-thrashing: {problem}.", nameof(options));
        }

        _pages = new PageState[pages];
        _lapse = Ticks(Options.Lapse);
        _nap = Ticks(Options.Nap);
        _pin = Ticks(Options.Pin);
        _epoch = Ticks(Options.Epoch);
    }

    /// <summary>The tunables.</summary>
    public UvmThrashingOptions Options { get; }

    /// <summary>Throttle periods started, on any processor.</summary>
    public long Throttles => Volatile.Read(ref _throttles);

    /// <summary>Pages pinned.</summary>
    public long Pins => Volatile.Read(ref _pins);

    /// <inheritdoc/>
    public string Name => "uvm-thrashing";

    /// <inheritdoc/>
    public PageKind DeviceMemoryKind => PageKind.DevicePrivate;

    /// <inheritdoc/>
    public int MigrateTries => 1;

    /// <inheritdoc/>
    public GpuFaultAction OnGpuFault(int processor, long page, FaultAccess access, long now) => Event(page, processor, now, out _) switch
    {
        Hint.Throttle => GpuFaultAction.Throttle,
        Hint.Pin => GpuFaultAction.MapRemote,
        _ => GpuFaultAction.Migrate,
    };

    /// <inheritdoc/>
    public CpuFaultDecision OnCpuFault(long page, long now) =>
        Event(page, 0, now, out var throttleEnd) == Hint.Throttle ? CpuFaultDecision.MigrateAfter(throttleEnd - now) : CpuFaultDecision.MigrateNow;

    /// <inheritdoc/>
    public void OnMigrated(long page, int processor, long now, int attempt)
    {
    }

    private static long Ticks(TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);

    /// <summary>
    /// <c>thrashing_detect</c> then <c>get_hint_for_migration_thrashing</c> for one fault;
    /// <paramref name="throttleEnd"/> is when the page's current throttle period ends.
    /// </summary>
    private Hint Event(long page, int processor, long now, out long throttleEnd)
    {
        lock (_lock)
        {
            ref var s = ref _pages[page];
            var hint = Decide(ref s, processor, now);
            throttleEnd = s.ThrottleEnd;
            return hint;
        }
    }

    private Hint Decide(ref PageState s, int processor, long now)
    {
        if (s.Pinned && now >= s.PinnedUntil)
        {
            s = s with { Pinned = false, Thrashing = false, Events = 0, ThrottleCount = 0 };
        }

        if (s.Seen && now - s.LastTime > _epoch && s.Resets < Options.MaxResets && (s.Thrashing || s.Events > 0))
        {
            s = s with { Thrashing = false, Events = 0, ThrottleCount = 0, Resets = s.Resets + 1 };
        }

        if (s.Seen && now - s.LastTime <= _lapse)
        {
            if (processor != s.LastProcessor)
            {
                s.Events = Math.Min(s.Events + 1, 7);
            }
        }
        else
        {
            s.Events = 0;
        }

        s.Seen = true;
        s.LastTime = now;
        s.LastProcessor = processor;
        s.Thrashing |= s.Events >= Options.Threshold;
        if (!s.Thrashing)
        {
            return Hint.None;
        }

        if (s.Pinned)
        {
            return Hint.Pin;
        }

        if (now < s.ThrottleEnd)
        {
            return processor == s.ThrottledProcessor ? Hint.Throttle : Hint.None;
        }

        if (s.ThrottleCount >= Options.PinThreshold)
        {
            s = s with { Pinned = true, PinnedUntil = now + _pin, ThrottleCount = 0 };
            Interlocked.Increment(ref _pins);
            return Hint.Pin;
        }

        s.ThrottleEnd = now + _nap;
        s.ThrottledProcessor = processor;
        s.ThrottleCount++;
        Interlocked.Increment(ref _throttles);
        return Hint.Throttle;
    }

    private enum Hint
    {
        None,
        Throttle,
        Pin,
    }

    /// <summary><c>page_thrashing_info_t</c>.</summary>
    private record struct PageState
    {
        public bool Seen;
        public long LastTime;
        public int LastProcessor;
        public int Events;
        public bool Thrashing;
        public long ThrottleEnd;
        public int ThrottledProcessor;
        public int ThrottleCount;
        public bool Pinned;
        public long PinnedUntil;
        public int Resets;
    }
}
