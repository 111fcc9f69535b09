using Testbed.HostMm.Memory;

namespace Testbed.Driver.Policies;

/// <summary>
/// <c>migrate</c>: every fault moves the page to the processor that touched it, as
/// <c>dmirror</c> and a first HMM driver do. The ping-pong baseline the other policies are measured
/// against.
/// </summary>
public sealed class MigratePolicy : IResidencyPolicy
{
    /// <inheritdoc/>
    public string Name => "migrate";

    /// <inheritdoc/>
    public PageKind DeviceMemoryKind => PageKind.DevicePrivate;

    /// <inheritdoc/>
    public int MigrateTries => 1;

    /// <inheritdoc/>
    public GpuFaultAction OnGpuFault(int processor, long page, FaultAccess access, long now) => GpuFaultAction.Migrate;

    /// <inheritdoc/>
    public CpuFaultDecision OnCpuFault(long page, long now) => CpuFaultDecision.MigrateNow;

    /// <inheritdoc/>
    public void OnMigrated(long page, int processor, long now, int attempt)
    {
    }
}
