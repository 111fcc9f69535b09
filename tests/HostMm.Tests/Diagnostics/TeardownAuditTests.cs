using Testbed.HostMm.Cpu;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Tests.Diagnostics;

/// <summary>
/// <see cref="HostKernel.Audit"/>, the check every test fixture and every scenario ends with: each
/// kind of leak it exists to catch is caught, and a clean teardown is clean.
/// </summary>
public sealed class TeardownAuditTests
{
    [Fact]
    public void A_torn_down_kernel_is_clean()
    {
        var kernel = new HostKernel(new HostKernelOptions { MemoryBytes = 4L << 20 });
        var mm = kernel.CreateAddressSpace();
        Assert.Equal(Errno.Ok, mm.Mmap(0, 4 * 4096, Prot.ReadWrite, MmapFlags.Private, out var a));
        using (var cpu = new CpuContext(mm))
        {
            Assert.Equal(Errno.Ok, cpu.Write(a, 1L));
            Assert.Equal(Errno.Ok, cpu.Read(a + 4096, out long _));
        }

        mm.Dispose();
        var audit = kernel.Audit();
        kernel.Dispose();
        Assert.True(audit.Clean, audit.ToString());
        Assert.True(audit.FramesBalanced);
        Assert.Equal("clean", audit.ToString());
    }

    [Fact]
    public void A_live_address_space_and_its_frames_are_reported()
    {
        var kernel = new HostKernel(new HostKernelOptions { MemoryBytes = 4L << 20 });
        var mm = kernel.CreateAddressSpace();
        Assert.Equal(Errno.Ok, mm.Mmap(0, 4096, Prot.ReadWrite, MmapFlags.Private, out var a));
        using (var cpu = new CpuContext(mm))
        {
            Assert.Equal(Errno.Ok, cpu.Write(a, 1L));
        }

        var audit = kernel.Audit();
        Assert.Equal(1, audit.LiveAddressSpaces);
        Assert.True(audit.LeakedFrames >= 1);
        Assert.Contains(audit.Leaks, l => l.Contains("address space", StringComparison.Ordinal));
        mm.Dispose();
        Assert.True(kernel.Audit().Clean);
        kernel.Dispose();
    }

    [Fact]
    public void A_leaked_thp_counts_all_its_frames_and_a_large_folio_freed_without_its_tails_is_reported()
    {
        var kernel = new HostKernel(new HostKernelOptions { MemoryBytes = 8L << 20 });
        var mm = kernel.CreateAddressSpace();
        Assert.Equal(Errno.Ok, mm.Mmap(0, 4L << 20, Prot.ReadWrite, MmapFlags.Private, out var a));
        var huge = (a + (2UL << 20) - 1) & ~((2UL << 20) - 1);
        Assert.Equal(Errno.Ok, mm.MadviseHugePage(huge, 2UL << 20, HugePageAdvice.HugePage));
        Folio thp;
        using (var cpu = new CpuContext(mm))
        {
            Assert.Equal(Errno.Ok, cpu.Write(huge, 1L));
            thp = kernel.Memory.PfnToFolio(mm.GetPmd(huge).Pfn);
            thp.Get();
        }

        mm.Dispose();
        Assert.Equal(512, kernel.Audit().LeakedFrames);
        Assert.Equal(0, kernel.Audit().CompoundErrors);

        thp.ShrinkToHead();
        thp.Put();
        var audit = kernel.Audit();
        kernel.Dispose();
        Assert.Equal(511, audit.CompoundErrors);
        Assert.False(audit.FramesBalanced);
        Assert.Contains(audit.Leaks, l => l.StartsWith("511 frame(s) left pointing at a freed or split large folio", StringComparison.Ordinal));
    }

    [Fact]
    public void A_frame_nobody_freed_is_reported()
    {
        using var kernel = new HostKernel(new HostKernelOptions { MemoryBytes = 4L << 20 });
        var folio = kernel.Memory.AllocFolio(order: 2)!;
        Assert.Equal(4, kernel.Audit().LeakedFrames);
        folio.Put();
        Assert.True(kernel.Audit().Clean);
    }

    [Fact]
    public void A_notifier_never_removed_is_reported_even_after_the_address_space_is_gone()
    {
        var kernel = new HostKernel(new HostKernelOptions { MemoryBytes = 4L << 20 });
        var mm = kernel.CreateAddressSpace();
        Assert.Equal(Errno.Ok, mm.Notifiers.Insert(0x1000_0000, 4096, new SeqOnly(), out var sub));
        mm.Dispose();
        var audit = kernel.Audit();
        Assert.Equal(1, audit.LiveNotifiers);
        Assert.Contains("1 interval notifier(s) never removed", audit.Leaks);
        sub!.Remove();
        Assert.True(kernel.Audit().Clean);
        kernel.Dispose();
    }

    [Fact]
    public unsafe void A_pagemap_left_registered_is_reported_with_its_frames_in_use()
    {
        using var kernel = new HostKernel(new HostKernelOptions { MemoryBytes = 4L << 20 });
        Assert.Equal(Errno.Ok, kernel.Memory.MemremapPages(PageKind.DevicePrivate, 8, new object(), new NoOps(), null, out var pagemap));
        var frame = pagemap!.PfnToFolio(pagemap.PfnBase + 3);
        pagemap.ZoneDeviceFolioInit(frame);
        frame.Unlock();
        var audit = kernel.Audit();
        Assert.Equal((1, 1L), (audit.RegisteredPagemaps, audit.LeakedDeviceFrames));
        Assert.Equal(Errno.EBUSY, kernel.Memory.MemunmapPages(pagemap));
        frame.Put();
        Assert.Equal(Errno.Ok, kernel.Memory.MemunmapPages(pagemap));
        Assert.True(kernel.Audit().Clean);
    }

    [Fact]
    public void A_folio_freed_while_still_mapped_is_a_bad_page()
    {
        using var kernel = new HostKernel(new HostKernelOptions { MemoryBytes = 4L << 20 });
        var folio = kernel.Memory.AllocFolio()!;
        folio.AddMap();
        folio.Put();
        var audit = kernel.Audit();
        Assert.Equal(0, audit.LeakedFrames);
        Assert.Equal(1, audit.BadPages);
        Assert.False(audit.FramesBalanced);
        Assert.Contains(audit.BadPageReports, r => r.Contains($"pfn {folio.Pfn}: freed with mapcount 1", StringComparison.Ordinal));
        Assert.False(audit.Clean);
    }

    [Fact]
    public void An_extra_reference_on_the_zero_page_is_reported()
    {
        using var kernel = new HostKernel(new HostKernelOptions { MemoryBytes = 4L << 20 });
        kernel.ZeroPage.Get();
        Assert.Equal(1, kernel.Audit().ZeroPageRefCountDrift);
        kernel.ZeroPage.Put();
        Assert.True(kernel.Audit().Clean);
    }

    private sealed class SeqOnly : IMmuIntervalNotifierOps
    {
        public bool Invalidate(MmuIntervalNotifier subscription, in MmuNotifierRange range, ulong curSeq)
        {
            subscription.SetSeq(curSeq);
            return true;
        }
    }

    private sealed class NoOps : IDevPagemapOps
    {
        public Errno MigrateToRam(in VmFault vmf) => Errno.EFAULT;

        public void FolioFree(Folio folio)
        {
        }
    }
}
