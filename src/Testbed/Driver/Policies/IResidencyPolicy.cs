using Testbed.HostMm.Memory;

namespace Testbed.Driver.Policies;

/// <summary>
/// Where a page should live when a processor faults on it (DESIGN §4.4). One instance serves every
/// device mirroring the same range, so that its per-page history sees every processor. Pages are
/// indexes into the mirrored range; processor 0 is the CPU, devices are 1 and up; timestamps are
/// <see cref="System.Diagnostics.Stopwatch"/> ticks. Calls may come from several threads at once.
/// </summary>
public interface IResidencyPolicy
{
    /// <summary>The name <see cref="ResidencyPolicies.Create"/> knows it by.</summary>
    string Name { get; }

    /// <summary>The device memory the policy needs: device-private, or device-coherent for <c>coherent</c>.</summary>
    PageKind DeviceMemoryKind { get; }

    /// <summary>Attempts at migrating a page to a device before mapping it remotely (drm_pagemap retries 3 times).</summary>
    int MigrateTries { get; }

    /// <summary>What a device does about a fault on <paramref name="page"/>.</summary>
    GpuFaultAction OnGpuFault(int processor, long page, FaultAccess access, long now);

    /// <summary>
    /// When a device fault that <see cref="OnGpuFault"/> throttled on <paramref name="page"/> can be
    /// serviced (a <see cref="System.Diagnostics.Stopwatch"/> timestamp; 0 when it is not throttled).
    /// A device whose whole batch was throttled sleeps until the earliest before replaying, as a
    /// GPU's replays would find the faults throttled until then.
    /// </summary>
    long ThrottledUntil(long page) => 0;

    /// <summary>
    /// What the CPU does about a fault on <paramref name="page"/>, which lives in device-private
    /// memory: migrate it now, or wait <see cref="CpuFaultDecision.WaitTicks"/> and fault again.
    /// </summary>
    CpuFaultDecision OnCpuFault(long page, long now);

    /// <summary>
    /// <paramref name="page"/> moved to <paramref name="processor"/>'s memory (0: system memory) at
    /// <paramref name="now"/>, on the given 0-based attempt.
    /// </summary>
    void OnMigrated(long page, int processor, long now, int attempt);

    /// <summary>
    /// <paramref name="page"/> moved to <paramref name="processor"/>'s memory at <paramref name="now"/>
    /// because the user asked (<see cref="MirrorDevice.MigrateToDevice(ulong, long)"/>, UVM's
    /// <c>UvmMigrate</c>, cause <c>API_MIGRATE</c>), not because a processor faulted. By default a
    /// migration like any other (a timeslice starts from it, as drm_gpusvm's does from a prefetch);
    /// a policy whose heuristics only read fault-driven migrations overrides it.
    /// </summary>
    void OnUserMigrated(long page, int processor, long now) => OnMigrated(page, processor, now, 0);

    /// <summary>
    /// <paramref name="processor"/>, a device, is migrating <paramref name="page"/> into its memory,
    /// and the page lives in another device's private memory: the owner's <c>migrate_to_ram</c>
    /// brings it to system memory first, the first leg of a staged copy. What the owner does about
    /// it, as for <see cref="OnCpuFault"/>. By default what it does for a CPU fault: drm_pagemap's
    /// timeslice check sits in <c>migrate_to_ram</c>, which sees a device's fault through
    /// <c>HmmRangeFault</c> like any other.
    /// </summary>
    CpuFaultDecision OnStagingFault(int processor, long page, long now) => OnCpuFault(page, now);

    /// <summary>
    /// The first leg of a staged migration of <paramref name="page"/> to <paramref name="processor"/>
    /// (see <see cref="OnStagingFault"/>) left it in system memory at <paramref name="now"/>;
    /// <see cref="OnMigrated"/> or <see cref="OnUserMigrated"/> follows when the second leg lands. By
    /// default a migration to system memory like any other.
    /// </summary>
    void OnStaged(long page, int processor, long now) => OnMigrated(page, 0, now, 0);
}
