using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Notifiers;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Tests.Mm;

public sealed class MmapTests
{
    [Fact]
    public void Mmap_places_mappings_bottom_up_and_honours_a_free_hint()
    {
        using var t = new MmFixture();
        var a = t.Map(4);
        var b = t.Map(2);
        Assert.Equal(AddressSpace.MmapBase, a);
        Assert.Equal(a + (4 * t.PageSize), b);
        Assert.Equal(Errno.Ok, t.Mm.Mmap(0x7000_0000, 100, Prot.Read, MmapFlags.Private, out var c));
        Assert.Equal(0x7000_0000UL, c);
        var vmas = t.Mm.SnapshotVmas();
        Assert.Equal(3, vmas.Count);
        Assert.Equal(t.PageSize, vmas[2].Length);
    }

    [Theory]
    [InlineData(0UL, 0UL, Prot.Read, MmapFlags.Private, Errno.EINVAL)]
    [InlineData(0UL, 4096UL, (Prot)4, MmapFlags.Private, Errno.EINVAL)]
    [InlineData(0UL, 4096UL, Prot.Read, MmapFlags.None, Errno.EINVAL)]
    [InlineData(0UL, 4096UL, Prot.Read, MmapFlags.Private | MmapFlags.Shared, Errno.EINVAL)]
    [InlineData(0UL, 4096UL, Prot.Read, (MmapFlags)64 | MmapFlags.Private, Errno.EINVAL)]
    [InlineData(0x1000_0001UL, 4096UL, Prot.Read, MmapFlags.Private | MmapFlags.Fixed, Errno.EINVAL)]
    [InlineData(0UL, ulong.MaxValue, Prot.Read, MmapFlags.Private, Errno.ENOMEM)]
    [InlineData(AddressSpace.TaskSize - 4096, 8192UL, Prot.Read, MmapFlags.Private | MmapFlags.Fixed, Errno.ENOMEM)]
    public void Bad_mmap_arguments_get_the_kernels_errno_and_map_nothing(ulong addr, ulong len, Prot prot, MmapFlags flags, Errno expected)
    {
        using var t = new MmFixture();
        Assert.Equal(expected, t.Mm.Mmap(addr, len, prot, flags, out var mapped));
        Assert.Equal(0UL, mapped);
        Assert.Empty(t.Mm.SnapshotVmas());
    }

    [Fact]
    public void MapFixed_replaces_and_FixedNoReplace_refuses()
    {
        using var t = new MmFixture();
        var a = t.Map(4);
        Assert.Equal(Errno.Ok, t.Cpu.Write(a + t.PageSize, 42L));
        Assert.Equal(Errno.EEXIST, t.Mm.Mmap(a, t.PageSize, Prot.Read, MmapFlags.Private | MmapFlags.FixedNoReplace, out _));
        Assert.Equal(Errno.Ok, t.Mm.Mmap(a + t.PageSize, t.PageSize, Prot.ReadWrite, MmapFlags.Private | MmapFlags.Fixed, out var m));
        Assert.Equal(a + t.PageSize, m);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a + t.PageSize, out long v));
        Assert.Equal(0, v);
        Assert.Equal(3, t.Mm.SnapshotVmas().Count);
        Assert.Equal(1, t.Kernel.Counters.Invalidations(MmuNotifierEvent.Unmap));
    }

    [Fact]
    public void Munmap_splits_the_vma_frees_pages_and_later_access_faults()
    {
        using var t = new MmFixture();
        var a = t.Map(3);
        for (ulong i = 0; i < 3; i++)
        {
            Assert.Equal(Errno.Ok, t.Cpu.Write(a + (i * t.PageSize), (int)i + 1));
        }

        var pfn = t.Mm.GetPte(a + t.PageSize).Pfn;
        Assert.Equal(3, t.Mm.Rss.AnonPages);
        Assert.Equal(Errno.Ok, t.Mm.Munmap(a + t.PageSize, t.PageSize));
        Assert.True(t.Kernel.Memory.PfnToFolio(pfn).IsFree);
        Assert.Equal(2, t.Mm.Rss.AnonPages);
        Assert.Equal(PteKind.None, t.Mm.GetPte(a + t.PageSize).Kind);
        Assert.Equal(Errno.EFAULT, t.Cpu.Read(a + t.PageSize, out int _));
        Assert.Equal(Errno.Ok, t.Cpu.Read(a + (2 * t.PageSize), out int third));
        Assert.Equal(3, third);
        Assert.Equal(2, t.Mm.SnapshotVmas().Count);
        Assert.Equal(Errno.Ok, t.Mm.Munmap(a + (10 * t.PageSize), t.PageSize));
    }

    [Theory]
    [InlineData(1UL, 4096UL)]
    [InlineData(0x1000_0000UL, 0UL)]
    [InlineData(AddressSpace.TaskSize - 4096, 8192UL)]
    public void Bad_munmap_arguments_are_EINVAL(ulong addr, ulong len)
    {
        using var t = new MmFixture();
        t.Map(1);
        Assert.Equal(Errno.EINVAL, t.Mm.Munmap(addr, len));
        Assert.Single(t.Mm.SnapshotVmas());
    }

    [Fact]
    public void Write_to_a_read_only_mapping_fails_cleanly_and_changes_nothing()
    {
        using var t = new MmFixture();
        var a = t.Map(1, Prot.Read);
        Assert.Equal(Errno.EFAULT, t.Cpu.Write(a, 7));
        Assert.Equal(Errno.EFAULT, t.Cpu.AtomicAdd(a, 1, out int _));
        Assert.Equal(Errno.Ok, t.Cpu.Read(a, out int v));
        Assert.Equal(0, v);
        Assert.Same(t.Kernel.ZeroPage, t.Kernel.Memory.PfnToFolio(t.Mm.GetPte(a).Pfn));
        Assert.Equal(2, t.Kernel.Counters[MmEvent.FaultSegv]);
        Assert.Equal(0, t.Mm.Rss.AnonPages);
    }

    [Fact]
    public void Mprotect_downgrades_ptes_flushes_and_notifies_then_write_works_after_upgrade()
    {
        using var t = new MmFixture();
        var a = t.Map(4);
        Assert.Equal(Errno.Ok, t.Cpu.Write(a + t.PageSize, 5));
        var flushes = t.Kernel.Counters[MmEvent.TlbFlush];
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(a + t.PageSize, t.PageSize, Prot.Read));
        Assert.Equal(flushes + 1, t.Kernel.Counters[MmEvent.TlbFlush]);
        Assert.Equal(1, t.Kernel.Counters.Invalidations(MmuNotifierEvent.ProtectionVma));
        Assert.False(t.Mm.GetPte(a + t.PageSize).Write);
        Assert.Equal(3, t.Mm.SnapshotVmas().Count);
        Assert.Equal(Errno.EFAULT, t.Cpu.Write(a + t.PageSize, 6));
        Assert.Equal(Errno.Ok, t.Cpu.Write(a, 1));

        Assert.Equal(Errno.Ok, t.Mm.Mprotect(a + t.PageSize, t.PageSize, Prot.None));
        Assert.True(t.Mm.GetPte(a + t.PageSize).ProtNone);
        Assert.Equal(Errno.EFAULT, t.Cpu.Read(a + t.PageSize, out int _));

        Assert.Equal(Errno.Ok, t.Mm.Mprotect(a + t.PageSize, t.PageSize, Prot.ReadWrite));
        Assert.Equal(Errno.Ok, t.Cpu.Read(a + t.PageSize, out int kept));
        Assert.Equal(5, kept);
        Assert.Equal(Errno.Ok, t.Cpu.Write(a + t.PageSize, 6));
        Assert.Equal(1, t.Kernel.Counters[MmEvent.FaultWpReuse]);
    }

    [Fact]
    public void Mprotect_rejects_bad_arguments_and_unmapped_holes()
    {
        using var t = new MmFixture();
        var a = t.Map(2);
        Assert.Equal(Errno.EINVAL, t.Mm.Mprotect(a + 1, t.PageSize, Prot.Read));
        Assert.Equal(Errno.EINVAL, t.Mm.Mprotect(a, t.PageSize, (Prot)8));
        Assert.Equal(Errno.ENOMEM, t.Mm.Mprotect(a, 3 * t.PageSize, Prot.Read));
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(a, 0, Prot.Read));
        Assert.All(t.Mm.SnapshotVmas(), v => Assert.Equal(Prot.ReadWrite, v.Prot));
    }

    [Fact]
    public void MadviseDontNeed_drops_private_pages_to_zero_and_keeps_shared_contents()
    {
        using var t = new MmFixture();
        var priv = t.Map(2);
        var shared = t.Map(2, flags: MmapFlags.Shared);
        Assert.Equal(Errno.Ok, t.Cpu.Write(priv, 11L));
        Assert.Equal(Errno.Ok, t.Cpu.Write(shared, 22L));
        Assert.Equal(1, t.Mm.Rss.AnonPages);
        Assert.Equal(1, t.Mm.Rss.ShmemPages);
        Assert.Equal(Errno.Ok, t.Mm.MadviseDontNeed(priv, 2 * t.PageSize));
        Assert.Equal(Errno.Ok, t.Mm.MadviseDontNeed(shared, 2 * t.PageSize));
        Assert.Equal(0, t.Mm.Rss.Total);
        Assert.Equal(2, t.Kernel.Counters.Invalidations(MmuNotifierEvent.Clear));
        Assert.Equal(Errno.Ok, t.Cpu.Read(priv, out long p));
        Assert.Equal(Errno.Ok, t.Cpu.Read(shared, out long s));
        Assert.Equal(0, p);
        Assert.Equal(22, s);
        Assert.Equal(Errno.ENOMEM, t.Mm.MadviseDontNeed(shared, 8 * t.PageSize));
        Assert.Equal(Errno.EINVAL, t.Mm.MadviseDontNeed(shared + 8, t.PageSize));
    }
}
