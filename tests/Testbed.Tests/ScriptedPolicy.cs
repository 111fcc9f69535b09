using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm.Memory;

namespace Testbed.Tests;

/// <summary>
/// A test policy that answers device faults with <see cref="OnGpu"/>, a function of the page the
/// test may change between runs (a policy bug to provoke, then one to fix); CPU faults migrate.
/// It records the migrations it hears of in <see cref="Migrations"/>, the first legs of staged copies
/// in <see cref="Staged"/>, and whom each <c>migrate_to_ram</c> asked about in <see cref="Asked"/>.
/// </summary>
internal sealed class ScriptedPolicy(Func<long, GpuFaultAction> onGpu) : IResidencyPolicy
{
    /// <summary>The answer to a device fault on a page.</summary>
    public Func<long, GpuFaultAction> OnGpu { get; set; } = onGpu;

    public string Name => "scripted";

    public PageKind DeviceMemoryKind => PageKind.DevicePrivate;

    public int MigrateTries => 1;

    public GpuFaultAction OnGpuFault(int processor, long page, FaultAccess access, long now) => OnGpu(page);

    public CpuFaultDecision OnCpuFault(long page, long now) => Ask(page, 0);

    public CpuFaultDecision OnStagingFault(int processor, long page, long now) => Ask(page, processor);

    /// <summary>Each page a <c>migrate_to_ram</c> asked about, and for whom: 0 for a CPU fault, else the device staging it.</summary>
    public List<(long Page, int Processor)> Asked { get; } = [];

    /// <summary>Each first leg of a staged copy: the page, and the device it is on its way to.</summary>
    public List<(long Page, int Processor)> Staged { get; } = [];

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

    public void OnStaged(long page, int processor, long now)
    {
        lock (Staged)
        {
            Staged.Add((page, processor));
        }
    }

    private CpuFaultDecision Ask(long page, int processor)
    {
        lock (Asked)
        {
            Asked.Add((page, processor));
        }

        return CpuFaultDecision.MigrateNow;
    }
}
