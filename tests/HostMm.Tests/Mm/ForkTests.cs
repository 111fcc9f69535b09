using Testbed.HostMm.Cpu;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Tests.Mm;

public sealed class ForkTests
{
    [Fact]
    public void Private_mapping_is_copy_on_write_child_writes_are_invisible_to_the_parent()
    {
        using var t = new MmFixture();
        var a = t.Map(2);
        Assert.Equal(Errno.Ok, t.Cpu.Write(a, 1L));
        Assert.Equal(Errno.Ok, t.Cpu.Write(a + t.PageSize, 2L));
        var parentPfn = t.Mm.GetPte(a).Pfn;

        using var child = t.Mm.ForkOk();
        using var childCpu = new CpuContext(child);
        Assert.Equal(1, t.Kernel.Counters.Invalidations(MmuNotifierEvent.ProtectionPage));
        Assert.False(t.Mm.GetPte(a).Write);
        Assert.Equal(parentPfn, child.GetPte(a).Pfn);
        var shared = t.Kernel.Memory.PfnToFolio(parentPfn);
        Assert.Equal((2, 2), (shared.RefCount, shared.MapCount));
        Assert.Equal(2, child.Rss.AnonPages);

        Assert.Equal(Errno.Ok, childCpu.Write(a, 100L));
        Assert.Equal(Errno.Ok, t.Cpu.Read(a, out long p));
        Assert.Equal(Errno.Ok, childCpu.Read(a, out long c));
        Assert.Equal((1L, 100L), (p, c));
        Assert.NotEqual(parentPfn, child.GetPte(a).Pfn);
        Assert.Equal((1, 1), (shared.RefCount, shared.MapCount));

        // The parent is now the only user: its write reuses the page in place.
        Assert.Equal(Errno.Ok, t.Cpu.Write(a, 3L));
        Assert.Equal(parentPfn, t.Mm.GetPte(a).Pfn);
        Assert.Equal(1, t.Kernel.Counters[MmEvent.FaultWpReuse]);

        Assert.Equal(Errno.Ok, t.Cpu.Write(a + t.PageSize, 20L));
        Assert.Equal(Errno.Ok, childCpu.Read(a + t.PageSize, out long c2));
        Assert.Equal(2, c2);
    }

    [Fact]
    public void Shared_mapping_stays_shared_across_fork_both_ways()
    {
        using var t = new MmFixture();
        var a = t.Map(1, flags: MmapFlags.Shared);
        Assert.Equal(Errno.Ok, t.Cpu.Write(a, 5L));
        using var child = t.Mm.ForkOk();
        using var childCpu = new CpuContext(child);
        Assert.Equal(PteKind.None, child.GetPte(a).Kind);
        Assert.Equal(Errno.Ok, childCpu.AtomicAdd(a, 10L, out _));
        Assert.Equal(Errno.Ok, t.Cpu.Read(a, out long p));
        Assert.Equal(15, p);
        Assert.Equal(Errno.Ok, t.Cpu.AtomicAdd(a, 100L, out _));
        Assert.Equal(Errno.Ok, childCpu.Read(a, out long c));
        Assert.Equal(115, c);
        Assert.Equal(t.Mm.GetPte(a).Pfn, child.GetPte(a).Pfn);
        Assert.Equal(0, t.Kernel.Counters.Invalidations(MmuNotifierEvent.ProtectionPage));
    }

    [Fact]
    public void Shared_pages_survive_the_parents_exit_while_the_child_maps_them()
    {
        var kernel = new HostKernel(new HostKernelOptions { MemoryBytes = 4L << 20 });
        var parent = kernel.CreateAddressSpace();
        Assert.Equal(Errno.Ok, parent.Mmap(0, 4096, Prot.ReadWrite, MmapFlags.Shared, out var a));
        using (var cpu = new CpuContext(parent))
        {
            Assert.Equal(Errno.Ok, cpu.Write(a, 77L));
        }

        var child = parent.ForkOk();
        parent.Dispose();
        using (var cpu = new CpuContext(child))
        {
            Assert.Equal(Errno.Ok, cpu.Read(a, out long v));
            Assert.Equal(77, v);
        }

        Assert.Equal(1, kernel.LiveAddressSpaces);
        Assert.Throws<InvalidOperationException>(kernel.Dispose);
        child.Dispose();
        var audit = kernel.Audit();
        Assert.True(audit.Clean, audit.ToString());
        kernel.Dispose();
    }

    [Fact]
    public void Zero_page_is_shared_by_fork_without_a_reference()
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a, out int _));
        using var child = t.Mm.ForkOk();
        Assert.Equal(t.Kernel.ZeroPage.Pfn, child.GetPte(a).Pfn);
        Assert.Equal(0, child.Rss.AnonPages);
        Assert.Equal(1, t.Kernel.ZeroPage.RefCount);
    }
}
