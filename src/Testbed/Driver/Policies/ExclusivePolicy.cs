using Testbed.HostMm.Memory;

namespace Testbed.Driver.Policies;

/// <summary>
/// <c>exclusive</c>: pages stay in system memory; a device atomic makes the page device-exclusive in
/// place (<c>MakeDeviceExclusive</c>, as nouveau does for SVM atomics) and a CPU touch revokes it.
/// Loads and stores are mapped remotely. No bytes are copied, only access changes hands.
/// </summary>
public sealed class ExclusivePolicy : IResidencyPolicy
{
    /// <inheritdoc/>
    public string Name => "exclusive";

    /// <inheritdoc/>
    public PageKind DeviceMemoryKind => PageKind.DevicePrivate;

    /// <inheritdoc/>
    public int MigrateTries => 1;

    /// <inheritdoc/>
    public GpuFaultAction OnGpuFault(int processor, long page, FaultAccess access, long now) =>
        access == FaultAccess.Atomic ? GpuFaultAction.MakeExclusive : GpuFaultAction.MapRemote;

    /// <inheritdoc/>
    public CpuFaultDecision OnCpuFault(long page, long now) => CpuFaultDecision.MigrateNow;

    /// <inheritdoc/>
    public void OnMigrated(long page, int processor, long now, int attempt)
    {
    }
}
