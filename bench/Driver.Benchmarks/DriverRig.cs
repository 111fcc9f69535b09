using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Runners;
using Testbed.Scenarios;

namespace Testbed.Driver.Benchmarks;

/// <summary>
/// What every driver benchmark sets up: HostMm with the lock validator off (as the ratio suite runs
/// it), a runner on one accelerator, <see cref="Pages"/> written pages and a mirror over them
/// under the <c>migrate</c> policy. Disposing it runs the teardown audit and throws if anything
/// leaked, so a benchmark of a broken path fails instead of reporting a number.
/// </summary>
public sealed class DriverRig : IDisposable
{
    private readonly ScenarioRig _rig;

    /// <summary>Builds the rig on <paramref name="backend"/>.</summary>
    public DriverRig(AcceleratorKind backend, int pages, MirrorOptions options, long memoryBytes = 64L << 20)
    {
        var device = AcceleratorCatalog.Find(backend);
        if (!device.IsAvailable)
        {
            throw new InvalidOperationException($"{backend.Name()}: unavailable: {device.UnavailableReason}");
        }

        _rig = new ScenarioRig(new ScenarioContext(new ScenarioSettings(), device), LinkCoherence.Native, new HostKernelOptions { MemoryBytes = memoryBytes, ValidateLocks = false });
        Pages = pages;
        Va = _rig.Map(pages);
        Cpu = new CpuContext(_rig.Mm);
        _rig.CpuWrite(Cpu, Va, Enumerable.Range(1, pages * _rig.WordsPerPage).ToArray());
        Mirror = _rig.Mirror(Va, pages, new MigratePolicy(), options);
    }

    /// <summary>The pages mapped.</summary>
    public int Pages { get; }

    /// <summary>Where they start.</summary>
    public ulong Va { get; }

    /// <summary>A CPU of the address space.</summary>
    public CpuContext Cpu { get; }

    /// <summary>The device mirror.</summary>
    public MirrorDevice Mirror { get; }

    /// <summary>The runner the device's kernels run on.</summary>
    public KernelRunner Runner => _rig.Runner;

    /// <summary>32-bit words per page.</summary>
    public int WordsPerPage => _rig.WordsPerPage;

    /// <summary>Bytes per page.</summary>
    public int PageSize => _rig.PageSize;

    /// <summary>Every accelerator this machine offers.</summary>
    public static IEnumerable<AcceleratorKind> Backends() => [.. AcceleratorKinds.All.Where(k => AcceleratorCatalog.Find(k).IsAvailable)];

    /// <summary>Throws unless <paramref name="err"/> is Ok.</summary>
    public void Check(Errno err, string what)
    {
        if (err != Errno.Ok)
        {
            throw new InvalidOperationException($"{what}: {err} ({Mirror.LastError})");
        }
    }

    /// <summary>Tears down and audits.</summary>
    public void Dispose()
    {
        Cpu.Dispose();
        var failed = _rig.TearDown().Where(i => !i.Held).ToList();
        if (failed.Count > 0)
        {
            throw new InvalidOperationException("teardown audit: " + string.Join("; ", failed.Select(i => $"{i.Name}: {i.Detail}")));
        }
    }
}
