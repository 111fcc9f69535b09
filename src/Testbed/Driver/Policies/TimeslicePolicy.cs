using System.Diagnostics;
using Testbed.HostMm.Memory;

namespace Testbed.Driver.Policies;

/// <summary>
/// <c>timeslice</c>, after drm_gpusvm/drm_pagemap (xe): a page stays at least <see cref="Timeslice"/>
/// where it was migrated. A CPU fault on a device page before its timeslice expires does not migrate
/// it: the CPU is told to wait out the rest and fault again. A device fault on a page that came back
/// to system memory within its timeslice maps it remotely instead of migrating. A device migration is
/// attempted up to 3 times, and the timeslice it grants doubles with each retry, as xe's fault handler
/// does (<c>timeslice_ms &lt;&lt;= !!migrate_try_count</c>).
/// </summary>
public sealed class TimeslicePolicy : IResidencyPolicy
{
    private readonly Lock _lock = new();
    private readonly long[] _expiry;
    private readonly int[] _location;
    private readonly long _timesliceTicks;

    /// <summary>A policy for <paramref name="pages"/> pages with the given timeslice (default 5 ms).</summary>
    public TimeslicePolicy(long pages, TimeSpan? timeslice = null)
    {
        Timeslice = timeslice ?? TimeSpan.FromMilliseconds(5);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Timeslice, TimeSpan.Zero, nameof(timeslice));
        _timesliceTicks = (long)(Timeslice.TotalSeconds * Stopwatch.Frequency);
        _expiry = new long[pages];
        _location = new int[pages];
    }

    /// <summary>How long a migrated page stays put.</summary>
    public TimeSpan Timeslice { get; }

    /// <inheritdoc/>
    public string Name => "timeslice";

    /// <inheritdoc/>
    public PageKind DeviceMemoryKind => PageKind.DevicePrivate;

    /// <inheritdoc/>
    public int MigrateTries => 3;

    /// <inheritdoc/>
    public GpuFaultAction OnGpuFault(int processor, long page, FaultAccess access, long now)
    {
        lock (_lock)
        {
            return _location[page] == 0 && now < _expiry[page] ? GpuFaultAction.MapRemote : GpuFaultAction.Migrate;
        }
    }

    /// <inheritdoc/>
    public CpuFaultDecision OnCpuFault(long page, long now)
    {
        lock (_lock)
        {
            return _location[page] != 0 && now < _expiry[page] ? CpuFaultDecision.Refuse(_expiry[page] - now) : CpuFaultDecision.MigrateNow;
        }
    }

    /// <inheritdoc/>
    public void OnMigrated(long page, int processor, long now, int attempt)
    {
        lock (_lock)
        {
            _location[page] = processor;
            _expiry[page] = now + (_timesliceTicks << Math.Min(attempt, 2));
        }
    }
}
