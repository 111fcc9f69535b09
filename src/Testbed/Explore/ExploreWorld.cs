using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Mm;
using Testbed.Kernels.Runners;

namespace Testbed.Explore;

/// <summary>
/// One schedule's world, the explorer's <see cref="Scenarios.ScenarioRig"/>: a small HostMm kernel
/// (4 MiB, lock validator on), an address space, a direct cpu runner with one thread (a launch runs on
/// the thread that starts it, so every thread of the schedule is one the engine controls) and the
/// mirrors on it. <see cref="Dispose"/> tears it down and asserts the teardown audit: every frame free,
/// every notifier removed, the lock validator silent.
/// </summary>
public sealed class ExploreWorld : IDisposable
{
    private readonly List<MirrorDevice> _mirrors = [];
    private readonly CpuRunner _runner = new() { Parallelism = 1 };

    /// <summary>
    /// Boots the kernel with <paramref name="options"/> (its memory size is replaced by 4 MiB);
    /// <paramref name="nonCoherent"/> emulates a PCIe-like link, where device atomics on system pages need exclusive access.
    /// </summary>
    public ExploreWorld(HostKernelOptions? options = null, bool nonCoherent = false)
    {
        if (nonCoherent)
        {
            _runner.EmulateNonCoherentLink(Scenarios.ScenarioContext.LinkDelaySteps);
        }

        Kernel = new HostKernel((options ?? new HostKernelOptions()) with { MemoryBytes = 4L << 20, ValidateLocks = true });
        Mm = Kernel.CreateAddressSpace();
    }

    /// <summary>The kernel.</summary>
    public HostKernel Kernel { get; }

    /// <summary>The address space.</summary>
    public AddressSpace Mm { get; }

    /// <summary>Maps <paramref name="pages"/> private anonymous read-write pages and writes <c>first + page</c> into each page's first word.</summary>
    public ulong Map(int pages, int first)
    {
        Check(Mm.Mmap(0, (ulong)pages * (ulong)Mm.PageSize, Prot.ReadWrite, MmapFlags.Private, out var va), "mmap");
        using var cpu = new CpuContext(Mm);
        for (var p = 0; p < pages; p++)
        {
            Check(cpu.Write(va + ((ulong)p * (ulong)Mm.PageSize), first + p), "write");
        }

        return va;
    }

    /// <summary>A mirror of <paramref name="pages"/> pages from <paramref name="va"/> with 16 device pages, torn down with the world.</summary>
    public MirrorDevice Mirror(ulong va, int pages, IResidencyPolicy policy, MirrorOptions? options = null)
    {
        // No wall-clock limit may decide anything in a schedule: the explorer's own bound is the liveness check.
        var o = (options ?? new MirrorOptions()) with { DevicePages = 16, ChunkPages = 16, FaultTimeout = TimeSpan.FromHours(1), ReplayStallTimeout = TimeSpan.FromHours(1) };
        Check(MirrorDevice.Create(Mm, _runner, va, pages, policy, o, out var mirror), "MirrorDevice.Create");
        _mirrors.Add(mirror!);
        return mirror!;
    }

    /// <summary>Anything but Ok from a set-up step is a bug in the harness, reported as the schedule's failure.</summary>
    public static void Check(Errno err, string what) => ExploreAssert.That(err == Errno.Ok, $"harness: {what} returned {err}");

    /// <summary>Tears everything down and asserts the teardown audit.</summary>
    public void Dispose()
    {
        foreach (var m in _mirrors)
        {
            m.Dispose();
        }

        Mm.Dispose();
        var audit = Kernel.Audit();
        ExploreAssert.That(audit.Lockdep is null, $"lock validator: {audit.Lockdep}");
        ExploreAssert.That(audit.FramesBalanced, $"teardown audit: {string.Join("; ", audit.Leaks)}");
        ExploreAssert.That(audit.LiveNotifiers == 0, $"teardown audit: {audit.LiveNotifiers} interval notifier(s) still registered");
        _runner.Dispose();
        Kernel.Dispose();
    }
}
