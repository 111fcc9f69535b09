using Testbed.HostMm.Cpu;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Tests;

/// <summary>
/// A kernel with one address space for a test, and the audit every test ends with
/// (<see cref="HostKernel.Audit"/>): after the address space is torn down every frame is free, no
/// folio was freed while mapped, no pagemap or notifier is left registered, and the lock validator
/// has nothing to report.
/// </summary>
internal sealed class MmFixture : IDisposable
{
    private readonly List<Action> _teardown = [];

    public MmFixture(long memoryBytes = 16L << 20, int pageSize = 4096)
    {
        Kernel = new HostKernel(new HostKernelOptions { MemoryBytes = memoryBytes, PageSize = pageSize });
        Mm = Kernel.CreateAddressSpace();
        Cpu = new CpuContext(Mm);
    }

    public HostKernel Kernel { get; }

    public AddressSpace Mm { get; }

    public CpuContext Cpu { get; }

    public ulong PageSize => (ulong)Mm.PageSize;

    /// <summary>Set by a test whose point is a lock validator report, so the teardown audit does not fail on it.</summary>
    public bool ExpectLockdepReport { get; set; }

    /// <summary>Runs <paramref name="step"/> after the address space is torn down and before the audit (a driver unregistering its pagemap).</summary>
    public void AtTeardown(Action step) => _teardown.Add(step);

    public ulong Map(ulong pages, Prot prot = Prot.ReadWrite, MmapFlags flags = MmapFlags.Private)
    {
        Assert.Equal(Errno.Ok, Mm.Mmap(0, pages * PageSize, prot, flags, out var addr));
        return addr;
    }

    /// <summary>
    /// mmap (private) of <paramref name="bytes"/>, then <paramref name="advice"/> on the first 2 MiB-aligned
    /// <paramref name="hugeBytes"/> (default 2 MiB) inside it; returns that aligned address, and the
    /// mapping's own start in <paramref name="mapping"/> (to unmap it whole).
    /// </summary>
    public ulong MapHuge(ulong bytes, Prot prot, out ulong mapping, HugePageAdvice advice = HugePageAdvice.HugePage, ulong hugeBytes = 0)
    {
        var huge = Mm.PmdSize;
        Assert.Equal(Errno.Ok, Mm.Mmap(0, bytes, prot, MmapFlags.Private, out mapping));
        var map = (mapping + huge - 1) & ~(huge - 1);
        Assert.Equal(Errno.Ok, Mm.MadviseHugePage(map, hugeBytes == 0 ? huge : hugeBytes, advice));
        return map;
    }

    public void Dispose()
    {
        Cpu.Dispose();
        Mm.Dispose();
        _teardown.ForEach(step => step());
        var audit = Kernel.Audit();
        Kernel.Dispose();
        Assert.True(audit.Leaks.Count == 0, audit.ToString());
        Assert.True(ExpectLockdepReport == (audit.Lockdep is not null), audit.Lockdep?.ToString() ?? "expected a lock validator report");
    }
}

/// <summary>Test shorthands.</summary>
internal static class AddressSpaceTestExtensions
{
    /// <summary>Forks and asserts it worked.</summary>
    public static AddressSpace ForkOk(this AddressSpace mm)
    {
        Assert.Equal(Errno.Ok, mm.Fork(out var child));
        return child!;
    }
}
