using System.Diagnostics;
using System.Numerics;

namespace Testbed.Driver;

/// <summary>What one <see cref="MirrorDevice"/> did: the numbers the scenarios report. Updated atomically.</summary>
public sealed class MirrorCounters
{
    /// <summary>
    /// Buckets of <see cref="Stays"/>: bucket <c>b</c> counts stays of at least <c>2^(b-1)</c> and
    /// under <c>2^b</c> microseconds; bucket 0 those under 1 µs, the last everything longer.
    /// </summary>
    public const int StayBuckets = 32;

    private static readonly double MicrosecondsPerTick = 1e6 / Stopwatch.Frequency;

    private readonly long[] _stays = new long[StayBuckets];
    private long _launches;
    private long _replays;
    private long _gpuFaults;
    private long _faultBatches;
    private long _cpuFaults;
    private long _cpuFaultsDeferred;
    private long _migrationsToDevice;
    private long _migrationsToRam;
    private long _exclusiveGrants;
    private long _exclusiveRetries;
    private long _throttledFaults;
    private long _invalidations;
    private long _evictedPages;
    private long _evictedChunks;
    private long _faultRetries;
    private long _faultServiceTicks;
    private long _copyToDeviceTicks;
    private long _stagedOut;
    private long _fatalFaults;
    private long _invalidationsRefused;
    private long _deviceSortedBatches;
    private long _atomicsAcrossLink;
    private long _cancelledItems;

    /// <summary>Kernel launches.</summary>
    public long Launches => Volatile.Read(ref _launches);

    /// <summary>Launches after the first of a run: replays after servicing faults or resuming bounded work.</summary>
    public long Replays => Volatile.Read(ref _replays);

    /// <summary>Device faults serviced or throttled, after coalescing.</summary>
    public long GpuFaults => Volatile.Read(ref _gpuFaults);

    /// <summary>Fault batches serviced.</summary>
    public long FaultBatches => Volatile.Read(ref _faultBatches);

    /// <summary>CPU faults on this device's private pages (<c>migrate_to_ram</c> calls; another device's staging is <see cref="StagedOut"/>).</summary>
    public long CpuFaults => Volatile.Read(ref _cpuFaults);

    /// <summary>CPU faults the policy deferred (timeslice not expired).</summary>
    public long CpuFaultsDeferred => Volatile.Read(ref _cpuFaultsDeferred);

    /// <summary>Pages migrated into this device's memory.</summary>
    public long MigrationsToDevice => Volatile.Read(ref _migrationsToDevice);

    /// <summary>Pages migrated from this device's memory to system memory (CPU faults and eviction).</summary>
    public long MigrationsToRam => Volatile.Read(ref _migrationsToRam);

    /// <summary>Pages made device-exclusive and mapped for atomics.</summary>
    public long ExclusiveGrants => Volatile.Read(ref _exclusiveGrants);

    /// <summary>Exclusive mappings thrown away because the notifier sequence moved.</summary>
    public long ExclusiveRetries => Volatile.Read(ref _exclusiveRetries);

    /// <summary>Device faults a policy throttled.</summary>
    public long ThrottledFaults => Volatile.Read(ref _throttledFaults);

    /// <summary>Invalidation callbacks that zapped entries (owner-filtered ones excluded).</summary>
    public long Invalidations => Volatile.Read(ref _invalidations);

    /// <summary>Pages evicted from device memory.</summary>
    public long EvictedPages => Volatile.Read(ref _evictedPages);

    /// <summary>Chunks chosen for eviction.</summary>
    public long EvictedChunks => Volatile.Read(ref _evictedChunks);

    /// <summary><c>MmuIntervalReadRetry</c> or -EBUSY retries while servicing faults.</summary>
    public long FaultRetries => Volatile.Read(ref _faultRetries);

    /// <summary>
    /// Pages another device's migration took from this device's memory, through system memory (the
    /// first legs of staged device-to-device copies; also in <see cref="MigrationsToRam"/>).
    /// </summary>
    public long StagedOut => Volatile.Read(ref _stagedOut);

    /// <summary>Pages migrated in either direction.</summary>
    public long Migrations => MigrationsToDevice + MigrationsToRam;

    /// <summary>Time spent servicing fault batches (policy decisions, migrations, mapping), launches not included.</summary>
    public TimeSpan FaultServiceTime => System.Diagnostics.Stopwatch.GetElapsedTime(0, Volatile.Read(ref _faultServiceTicks));

    /// <summary>
    /// Time spent copying pages into device memory through the accelerator (the copy engine's share
    /// of a migration to the device), so that a migration's time splits into the copy and the
    /// bookkeeping around it.
    /// </summary>
    public TimeSpan CopyToDeviceTime => System.Diagnostics.Stopwatch.GetElapsedTime(0, Volatile.Read(ref _copyToDeviceTicks));

    /// <summary>Pages whose device fault was fatal (<see cref="FatalFault"/>), counted once per page per run.</summary>
    public long FatalFaults => Volatile.Read(ref _fatalFaults);

    /// <summary>Work items cancelled because they reached a page with a fatal fault.</summary>
    public long CancelledItems => Volatile.Read(ref _cancelledItems);

    /// <summary>Non-blockable invalidations refused because a launch was in flight or the mutex was taken.</summary>
    public long InvalidationsRefused => Volatile.Read(ref _invalidationsRefused);

    /// <summary>
    /// System pages mapped for device atomics across a non-coherent link without exclusive access
    /// (the exclusivity protocol off): the mappings through which a CPU update can be lost. Zero means
    /// the race could not happen in the run.
    /// </summary>
    public long AtomicMapsAcrossLink => Volatile.Read(ref _atomicsAcrossLink);

    /// <summary>Fault batches sorted and coalesced on the device before they crossed back (<see cref="MirrorOptions.FaultSort"/>).</summary>
    public long DeviceSortedBatches => Volatile.Read(ref _deviceSortedBatches);

    internal void Launch(bool replay)
    {
        Interlocked.Increment(ref _launches);
        if (replay)
        {
            Interlocked.Increment(ref _replays);
        }
    }

    internal void FaultServiced(long ticks) => Interlocked.Add(ref _faultServiceTicks, ticks);

    internal void CopiedToDevice(long ticks) => Interlocked.Add(ref _copyToDeviceTicks, ticks);

    internal void GpuFault() => Interlocked.Increment(ref _gpuFaults);

    internal void FaultBatch() => Interlocked.Increment(ref _faultBatches);

    internal void SortedOnDevice() => Interlocked.Increment(ref _deviceSortedBatches);

    internal void AtomicsAcrossLink() => Interlocked.Increment(ref _atomicsAcrossLink);

    /// <summary>
    /// How long pages stayed where a migration put them before the next migration moved them (a
    /// page's first migration has no stay; evictions are not counted), as counts per power-of-two
    /// bucket of microseconds (<see cref="StayBuckets"/>). Ping-pong fills the low buckets; UVM takes
    /// a move within 500 µs of the page's previous one for thrashing.
    /// </summary>
    public long[] Stays()
    {
        var copy = new long[StayBuckets];
        for (var b = 0; b < StayBuckets; b++)
        {
            copy[b] = Volatile.Read(ref _stays[b]);
        }

        return copy;
    }

    /// <summary>The median of <see cref="Stays"/> in microseconds, as the upper bound of its bucket (<c>2^b</c>); 0 with no stays.</summary>
    public double MedianStayMicroseconds() => MedianStayMicroseconds(Stays());

    /// <summary>The median of a <see cref="Stays"/> histogram (several devices' added up), as <see cref="MedianStayMicroseconds()"/>.</summary>
    public static double MedianStayMicroseconds(IReadOnlyList<long> stays)
    {
        ArgumentNullException.ThrowIfNull(stays);
        var total = stays.Sum();
        var seen = 0L;
        for (var b = 0; b < StayBuckets && total > 0; b++)
        {
            seen += stays[b];
            if (2 * seen >= total)
            {
                return Math.Pow(2, b);
            }
        }

        return 0;
    }

    /// <summary>A page moved again <paramref name="ticks"/> (<see cref="Stopwatch"/> ticks) after its previous migration.</summary>
    internal void Stay(long ticks) => Interlocked.Increment(ref _stays[StayBucket(ticks)]);

    /// <summary>
    /// Adds a migration's tally of stays, one count per bucket of <see cref="Stays"/>: a block
    /// migration counts its pages' stays locally and adds them here once, rather than with an
    /// interlocked add per page.
    /// </summary>
    internal void AddStays(ReadOnlySpan<int> tally)
    {
        for (var b = 0; b < tally.Length; b++)
        {
            if (tally[b] != 0)
            {
                Interlocked.Add(ref _stays[b], tally[b]);
            }
        }
    }

    /// <summary>The bucket of <see cref="Stays"/> a stay of <paramref name="ticks"/> (<see cref="Stopwatch"/> ticks) falls in.</summary>
    internal static int StayBucket(long ticks)
    {
        var us = (ulong)(Math.Max(0, ticks) * MicrosecondsPerTick);
        return Math.Min(StayBuckets - 1, 64 - BitOperations.LeadingZeroCount(us));
    }

    internal void CpuFault(bool deferred)
    {
        Interlocked.Increment(ref _cpuFaults);
        if (deferred)
        {
            Interlocked.Increment(ref _cpuFaultsDeferred);
        }
    }

    internal void MigratedToDevice(long pages) => Interlocked.Add(ref _migrationsToDevice, pages);

    internal void MigratedToRam(long pages) => Interlocked.Add(ref _migrationsToRam, pages);

    internal void Staged() => Interlocked.Increment(ref _stagedOut);

    internal void ExclusiveGrant() => Interlocked.Increment(ref _exclusiveGrants);

    internal void ExclusiveRetry() => Interlocked.Increment(ref _exclusiveRetries);

    internal void Throttled() => Interlocked.Increment(ref _throttledFaults);

    internal void Invalidation() => Interlocked.Increment(ref _invalidations);

    internal void Evicted(long pages)
    {
        Interlocked.Increment(ref _evictedChunks);
        Interlocked.Add(ref _evictedPages, pages);
    }

    internal void FaultRetry() => Interlocked.Increment(ref _faultRetries);

    internal void InvalidationRefused() => Interlocked.Increment(ref _invalidationsRefused);

    internal void FatalFault() => Interlocked.Increment(ref _fatalFaults);

    internal void Cancelled(long items) => Interlocked.Add(ref _cancelledItems, items);
}
