using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm.Memory;

namespace Testbed.Tests;

/// <summary>
/// A test policy that answers device faults with <see cref="OnGpu"/>, a function of the page the
/// test may change between runs (a policy bug to provoke, then one to fix); CPU faults migrate.
/// It records the migrations it hears of in <see cref="Migrations"/>.
/// </summary>
internal sealed class ScriptedPolicy(Func<long, GpuFaultAction> onGpu) : IResidencyPolicy
{
    /// <summary>The answer to a device fault on a page.</summary>
    public Func<long, GpuFaultAction> OnGpu { get; set; } = onGpu;

    public string Name => "scripted";

    public PageKind DeviceMemoryKind => PageKind.DevicePrivate;

    public int MigrateTries => 1;

    public GpuFaultAction OnGpuFault(int processor, long page, FaultAccess access, long now) => OnGpu(page);

    public CpuFaultDecision OnCpuFault(long page, long now) => CpuFaultDecision.MigrateNow;

    /// <summary>Each migration reported: the page, where it went, and whether the user asked for it.</summary>
    public List<(long Page, int Processor, bool User)> Migrations { get; } = [];

    public void OnMigrated(long page, int processor, long now, int attempt)
    {
        lock (Migrations)
        {
            Migrations.Add((page, processor, false));
        }
    }

    public void OnUserMigrated(long page, int processor, long now)
    {
        lock (Migrations)
        {
            Migrations.Add((page, processor, true));
        }
    }
}
