using Testbed.HostMm.Cpu;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Tests.Hmm;

/// <summary>
/// Device mirroring through <c>HmmRangeFault</c> and the test mirror driver, named after their
/// tools/testing/selftests/mm/hmm-tests.c counterparts.
/// </summary>
public sealed class MirrorTests : IDisposable
{
    private const int DevicePages = 32;
    private readonly MmFixture _t = new();
    private readonly Dmirror _dev0;
    private readonly Dmirror _dev1;

    public MirrorTests()
    {
        _dev0 = new Dmirror(_t.Kernel, _t.Mm, DevicePages);
        _dev1 = new Dmirror(_t.Kernel, _t.Mm, DevicePages);
    }

    private ulong Page => _t.PageSize;

    public void Dispose()
    {
        _dev0.Remove();
        _dev1.Remove();
        _t.Dispose();
        Assert.Equal(DevicePages, _dev0.FreePages);
        Assert.Equal(DevicePages, _dev1.FreePages);
    }

    private static byte[] Pattern(int bytes, int seed) => [.. Enumerable.Range(0, bytes).Select(i => (byte)((i * 31) + seed))];

    [Fact]
    public void anon_read()
    {
        var a = _t.Map(4);
        var data = Pattern(4 * (int)Page, 1);
        Assert.Equal(Errno.Ok, _t.Cpu.WriteBytes(a, data));
        var seen = new byte[data.Length];
        Assert.Equal(Errno.Ok, _dev0.Read(a, seen));
        Assert.Equal(data, seen);
        Assert.Equal(1, _dev0.FaultCalls);
        Assert.True(_dev0.Lookup(a)!.Value.Write);
        Assert.Equal(_t.Mm.GetPte(a).Pfn, _dev0.Lookup(a)!.Value.Pfn);
    }

    [Fact]
    public void anon_read_multiple()
    {
        var a = _t.Map(2);
        for (var round = 0; round < 5; round++)
        {
            var data = Pattern(2 * (int)Page, round);
            Assert.Equal(Errno.Ok, _t.Cpu.WriteBytes(a, data));
            var seen = new byte[data.Length];
            Assert.Equal(Errno.Ok, _dev0.Read(a, seen));
            Assert.Equal(data, seen);
        }

        Assert.Equal(1, _dev0.FaultCalls);
    }

    [Fact]
    public void anon_read_of_untouched_memory_maps_the_zero_page_read_only()
    {
        var a = _t.Map(1);
        var seen = new byte[8];
        Array.Fill(seen, (byte)7);
        Assert.Equal(Errno.Ok, _dev0.Read(a, seen));
        Assert.Equal(new byte[8], seen);
        Assert.Equal((_t.Kernel.ZeroPage.Pfn, false), (_dev0.Lookup(a)!.Value.Pfn, _dev0.Lookup(a)!.Value.Write));
    }

    [Fact]
    public void anon_write()
    {
        var a = _t.Map(3);
        var data = Pattern(3 * (int)Page, 9);
        Assert.Equal(Errno.Ok, _dev0.Write(a, data));
        var seen = new byte[data.Length];
        Assert.Equal(Errno.Ok, _t.Cpu.ReadBytes(a, seen));
        Assert.Equal(data, seen);
        Assert.Equal(3, _t.Mm.Rss.AnonPages);
        Assert.True(_t.Mm.GetPte(a).Write);
    }

    [Fact]
    public void anon_read_prot()
    {
        var a = _t.Map(1, Prot.None);
        Assert.Equal(Errno.EFAULT, _dev0.Read(a, new byte[4]));
        Assert.Null(_dev0.Lookup(a));
    }

    [Fact]
    public void anon_write_prot()
    {
        var a = _t.Map(1, Prot.Read);
        Assert.Equal(Errno.Ok, _dev0.Read(a, new byte[4]));
        Assert.Equal(Errno.EPERM, _dev0.Write(a, [1, 2, 3, 4]));
        Assert.Equal(Errno.Ok, _t.Mm.Mprotect(a, Page, Prot.ReadWrite));
        Assert.Equal(Errno.Ok, _dev0.Write(a, [1, 2, 3, 4]));
        Assert.Equal(Errno.Ok, _t.Cpu.Read(a, out int v));
        Assert.Equal(0x04030201, v);
    }

    [Fact]
    public void anon_write_child()
    {
        var a = _t.Map(1);
        Assert.Equal(Errno.Ok, _t.Cpu.Write(a, 100));
        using var child = _t.Mm.ForkOk();
        var childDev = new Dmirror(_t.Kernel, child, 4);
        Assert.Equal(Errno.Ok, childDev.Write(a, BitConverter.GetBytes(200)));
        using (var childCpu = new CpuContext(child))
        {
            Assert.Equal(Errno.Ok, childCpu.Read(a, out int c));
            Assert.Equal(200, c);
        }

        Assert.Equal(Errno.Ok, _t.Cpu.Read(a, out int p));
        Assert.Equal(100, p);
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.FaultCowCopy]);
        childDev.Remove();
    }

    [Fact]
    public void anon_write_child_shared()
    {
        var a = _t.Map(1, flags: MmapFlags.Shared);
        Assert.Equal(Errno.Ok, _t.Cpu.Write(a, 100));
        using var child = _t.Mm.ForkOk();
        var childDev = new Dmirror(_t.Kernel, child, 4);
        Assert.Equal(Errno.Ok, childDev.Write(a, BitConverter.GetBytes(200)));
        Assert.Equal(Errno.Ok, _t.Cpu.Read(a, out int p));
        Assert.Equal(200, p);
        childDev.Remove();
    }

    [Fact]
    public void double_map()
    {
        var a = _t.Map(3);
        var data = Pattern(3 * (int)Page, 3);
        Assert.Equal(Errno.Ok, _t.Cpu.WriteBytes(a, data));
        Assert.Equal(Errno.Ok, _t.Mm.Mprotect(a, 3 * Page, Prot.Read));
        var seen0 = new byte[data.Length];
        var seen1 = new byte[data.Length];
        Assert.Equal(Errno.Ok, _dev0.Read(a, seen0));
        Assert.Equal(Errno.Ok, _dev1.Read(a, seen1));
        Assert.Equal(data, seen0);
        Assert.Equal(data, seen1);
        Assert.False(_dev0.Lookup(a)!.Value.Write);
        Assert.Equal(_dev0.Lookup(a)!.Value.Pfn, _dev1.Lookup(a)!.Value.Pfn);
    }

    [Fact]
    public void migrate_mixed()
    {
        var a = _t.Map(2);
        var data = Pattern(2 * (int)Page, 5);
        Assert.Equal(Errno.Ok, _t.Cpu.WriteBytes(a, data));
        Assert.Equal(Errno.Ok, _dev0.MigrateToDevice(a, 2));
        Assert.Equal(DevicePages - 2, _dev0.FreePages);

        // Device 1 cannot select device 0's pages; reading them faults them back through system memory.
        var seen = new byte[data.Length];
        Assert.Equal(Errno.Ok, _dev1.Read(a, seen));
        Assert.Equal(data, seen);
        Assert.Equal(DevicePages, _dev0.FreePages);
        Assert.Equal(Errno.Ok, _dev1.MigrateToDevice(a, 2));
        Assert.Equal(DevicePages - 2, _dev1.FreePages);
        Assert.Same(_dev1.Pagemap, _t.Kernel.Memory.PfnToFolio(_t.Mm.GetPte(a).Pfn).Pgmap);
        Assert.Equal(Errno.Ok, _dev1.DeviceRead(a, seen));
        Assert.Equal(data, seen);
        Assert.Equal(2, _t.Kernel.Counters[MmEvent.MigratedToRam]);
        Assert.Equal(4, _t.Kernel.Counters[MmEvent.MigratedToDevice]);
    }

    /// <summary>hmm2/snapshot: the 7-page table, owner mismatch included.</summary>
    [Fact]
    public void snapshot()
    {
        var p = _t.Map(7, Prot.None);
        Assert.Equal(Errno.Ok, _t.Mm.Munmap(p + Page, Page));
        Assert.Equal(Errno.Ok, _t.Mm.Mprotect(p + (2 * Page), Page, Prot.Read));
        Assert.Equal(Errno.Ok, _t.Cpu.Read(p + (2 * Page), out int zero));
        Assert.Equal(0, zero);
        Assert.Equal(Errno.Ok, _t.Mm.Mprotect(p + (3 * Page), Page, Prot.ReadWrite));
        Assert.Equal(Errno.Ok, _t.Cpu.Write(p + (3 * Page), 3));
        Assert.Equal(Errno.Ok, _t.Mm.Mprotect(p + (3 * Page), Page, Prot.Read));
        Assert.Equal(Errno.Ok, _t.Mm.Mprotect(p + (4 * Page), 3 * Page, Prot.ReadWrite));
        Assert.Equal(Errno.Ok, _t.Cpu.Write(p + (4 * Page), 3));
        Assert.Equal(Errno.Ok, _dev0.MigrateToDevice(p + (5 * Page), 1));
        Assert.Equal(Errno.Ok, _dev1.MigrateToDevice(p + (6 * Page), 1));

        var m = _dev0.Snapshot(p, 7);
        Assert.Equal(
            [
                DmirrorProt.Error,
                DmirrorProt.Error,
                DmirrorProt.Zero | DmirrorProt.Read,
                DmirrorProt.Read,
                DmirrorProt.Write,
                DmirrorProt.DevPrivateLocal | DmirrorProt.Write,
                DmirrorProt.None,
            ],
            m);
        Assert.Equal(PteKind.DevicePrivate, _t.Mm.GetPte(p + (6 * Page)).Kind);
    }

    [Fact]
    public void invalidation_between_fault_and_update_makes_the_driver_retry()
    {
        var a = _t.Map(1);
        Assert.Equal(Errno.Ok, _t.Cpu.Read(a, out int _));

        // A read fault of the device maps the zero page; a write then needs a COW break, whose
        // Clear invalidation moves the sequence under the walk: HmmRangeFault returns -EBUSY once.
        Assert.Equal(Errno.Ok, _dev0.Write(a, [9]));
        Assert.True(_dev0.FaultRetries >= 1);
        Assert.Equal(Errno.Ok, _t.Cpu.Read(a, out byte b));
        Assert.Equal(9, b);
    }

    [Fact]
    public void anon_teardown()
    {
        for (var round = 0; round < 20; round++)
        {
            var a = _t.Map(4);
            Assert.Equal(Errno.Ok, _t.Cpu.WriteBytes(a, Pattern(4 * (int)Page, round)));
            var reader = TestThread.Run(() =>
            {
                var buffer = new byte[4 * (int)Page];
                var err = _dev0.Read(a, buffer);
                Assert.True(err is Errno.Ok or Errno.EFAULT, $"device read: {err}");
                if (err == Errno.Ok)
                {
                    Assert.Equal(Pattern(4 * (int)Page, round), buffer);
                }
            });
            Assert.Equal(Errno.Ok, _t.Mm.Munmap(a, 4 * Page));
            Assert.True(reader.Join(TimeSpan.FromSeconds(10)));
            Assert.Null(_dev0.Lookup(a));
        }

        Assert.Equal(0, _t.Mm.Rss.Total);
    }
}
