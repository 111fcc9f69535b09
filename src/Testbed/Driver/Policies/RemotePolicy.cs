using Testbed.HostMm.Memory;

namespace Testbed.Driver.Policies;

/// <summary>
/// <c>remote</c>: pages never move; devices map system pages over the link. Device atomics then need
/// exclusive access unless the link is coherent — the driver upgrades an atomic fault to
/// <c>MakeDeviceExclusive</c> when its exclusivity protocol is on, and with the protocol off maps the
/// page for atomics anyway, which is how the exclusivity scenario shows lost updates.
/// </summary>
public sealed class RemotePolicy : IResidencyPolicy
{
    /// <inheritdoc/>
    public string Name => "remote";

    /// <inheritdoc/>
    public PageKind DeviceMemoryKind => PageKind.DevicePrivate;

    /// <inheritdoc/>
    public int MigrateTries => 1;

    /// <inheritdoc/>
    public GpuFaultAction OnGpuFault(int processor, long page, FaultAccess access, long now) => GpuFaultAction.MapRemote;

    /// <inheritdoc/>
    public CpuFaultDecision OnCpuFault(long page, long now) => CpuFaultDecision.MigrateNow;

    /// <inheritdoc/>
    public void OnMigrated(long page, int processor, long now, int attempt)
    {
    }
}
