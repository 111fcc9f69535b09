using Testbed.HostMm.Memory;

namespace Testbed.Driver.Policies;

/// <summary>
/// <c>coherent</c>: device memory is device-coherent (<c>MEMORY_DEVICE_COHERENT</c>, as on a
/// CXL- or NVLink-C2C-attached device). Device faults migrate pages into it and the CPU then maps the
/// device frames directly, so the CPU never faults and nothing moves back until eviction. Needs a
/// coherent link; the driver refuses it otherwise.
/// </summary>
public sealed class CoherentPolicy : IResidencyPolicy
{
    /// <inheritdoc/>
    public string Name => "coherent";

    /// <inheritdoc/>
    public PageKind DeviceMemoryKind => PageKind.DeviceCoherent;

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
