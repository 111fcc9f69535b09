using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Mm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Runners;
using Testbed.Scenarios;

namespace Testbed.Tests;

/// <summary>
/// A kernel, one address space, a CPU and a kernel runner for a driver test, and the audit every test
/// ends with (<see cref="HostKernel.Audit"/>): after the mirrors and the address space are torn down
/// every frame is free, every device frame came back and its pagemap is unregistered, no notifier is
/// left, no folio was freed while mapped, and the lock validator has nothing to report.
/// </summary>
internal sealed class DriverFixture : IDisposable
{
    private readonly List<MirrorDevice> _mirrors = [];
    private readonly List<KernelRunner> _runners = [];

    public DriverFixture(AcceleratorKind kind, bool nonCoherent = false, long memoryBytes = 32L << 20)
    {
        Kernel = new HostKernel(new HostKernelOptions { MemoryBytes = memoryBytes });
        Mm = Kernel.CreateAddressSpace();
        Cpu = new CpuContext(Mm);
        Runner = NewRunner(kind, nonCoherent);
    }

    public HostKernel Kernel { get; }

    public AddressSpace Mm { get; }

    public CpuContext Cpu { get; }

    public KernelRunner Runner { get; }

    public int PageSize => Mm.PageSize;

    public int WordsPerPage => Mm.PageSize / sizeof(int);

    /// <summary>Another runner of <paramref name="kind"/>, disposed with the fixture; <paramref name="nonCoherent"/> emulates a PCIe-like link, as the scenarios do.</summary>
    public KernelRunner NewRunner(AcceleratorKind kind, bool nonCoherent = false)
    {
        var runner = Accelerators.Create(kind);
        if (nonCoherent)
        {
            runner.EmulateNonCoherentLink(ScenarioContext.LinkDelaySteps);
        }

        _runners.Add(runner);
        return runner;
    }

    public ulong Map(long pages, Prot prot = Prot.ReadWrite, MmapFlags flags = MmapFlags.Private)
    {
        Assert.Equal(Errno.Ok, Mm.Mmap(0, (ulong)pages * (ulong)PageSize, prot, flags, out var addr));
        return addr;
    }

    public MirrorDevice Mirror(ulong start, long pages, IResidencyPolicy? policy = null, MirrorOptions? options = null, KernelRunner? runner = null)
    {
        Assert.Equal(Errno.Ok, MirrorDevice.Create(Mm, runner ?? Runner, start, pages, policy ?? new MigratePolicy(), options ?? new MirrorOptions { DevicePages = 64, ChunkPages = 16 }, out var mirror));
        _mirrors.Add(mirror!);
        return mirror!;
    }

    /// <summary>Writes <paramref name="values"/> from the CPU, word by word.</summary>
    public void CpuWrite(ulong va, ReadOnlySpan<int> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal(Errno.Ok, Cpu.Write(va + ((ulong)i * sizeof(int)), values[i]));
        }
    }

    /// <summary>Reads <paramref name="words"/> words from the CPU.</summary>
    public int[] CpuRead(ulong va, int words)
    {
        var result = new int[words];
        for (var i = 0; i < words; i++)
        {
            Assert.Equal(Errno.Ok, Cpu.Read(va + ((ulong)i * sizeof(int)), out result[i]));
        }

        return result;
    }

    public void Dispose()
    {
        foreach (var m in _mirrors)
        {
            m.Dispose();
        }

        Cpu.Dispose();
        Mm.Dispose();
        var audit = Kernel.Audit();
        foreach (var runner in _runners)
        {
            runner.Dispose();
        }

        Kernel.Dispose();
        Assert.True(audit.Clean, audit.ToString());
        Assert.All(_mirrors, m => Assert.Equal(0, m.Pagemap.FramesInUse));
    }
}
