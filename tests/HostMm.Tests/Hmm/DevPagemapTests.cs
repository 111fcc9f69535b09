using System.Runtime.InteropServices;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Migrate;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Tests.Hmm;

/// <summary>MemremapPages and device-coherent memory, which the CPU maps directly.</summary>
public sealed unsafe class DevPagemapTests : IDisposable
{
    private const int Pages = 8;
    private readonly MmFixture _t = new();
    private readonly byte* _coherent;
    private readonly Ops _ops = new();
    private readonly DevPagemap _pagemap;
    private readonly object _owner = new();

    public DevPagemapTests()
    {
        _coherent = (byte*)NativeMemory.AllocZeroed((nuint)(Pages * _t.Mm.PageSize));
        Assert.Equal(Errno.Ok, _t.Kernel.Memory.MemremapPages(PageKind.DeviceCoherent, Pages, _owner, _ops, _coherent, out var pagemap));
        _pagemap = pagemap!;
        _t.AtTeardown(() =>
        {
            if (_t.Kernel.Memory.Pagemaps.Contains(_pagemap))
            {
                Assert.Equal(Errno.Ok, _t.Kernel.Memory.MemunmapPages(_pagemap));
            }
        });
    }

    public void Dispose()
    {
        _t.Dispose();
        Assert.All(Enumerable.Range(0, Pages), i => Assert.True(_pagemap.PfnToFolio(_pagemap.PfnBase + i).IsFree));
        NativeMemory.Free(_coherent);
    }

    [Fact]
    public void MemremapPages_numbers_device_frames_above_ram_and_rejects_bad_registrations()
    {
        Assert.True(_pagemap.PfnBase >= _t.Kernel.Memory.TotalFrames);
        Assert.Equal(0, _pagemap.PfnBase % 512);
        var folio = _t.Kernel.Memory.PfnToFolio(_pagemap.PfnBase + 3);
        Assert.Same(_pagemap, folio.Pgmap);
        Assert.Equal((PageKind.DeviceCoherent, true), (folio.Kind, folio.IsFree));
        Assert.Equal(Errno.EINVAL, _t.Kernel.Memory.MemremapPages(PageKind.System, 1, _owner, _ops, null, out _));
        Assert.Equal(Errno.EINVAL, _t.Kernel.Memory.MemremapPages(PageKind.DevicePrivate, 0, _owner, _ops, null, out _));
        Assert.Equal(Errno.EINVAL, _t.Kernel.Memory.MemremapPages(PageKind.DevicePrivate, 1, _owner, _ops, _coherent, out _));
        Assert.Equal(Errno.EINVAL, _t.Kernel.Memory.MemremapPages(PageKind.DeviceCoherent, 1, _owner, _ops, null, out var none));
        Assert.Null(none);
        Assert.Single(_t.Kernel.Memory.Pagemaps);
        Assert.Throws<ArgumentOutOfRangeException>(() => _t.Kernel.Memory.PfnToFolio(_pagemap.PfnBase + Pages));
    }

    [Fact]
    public void MemunmapPages_refuses_while_a_frame_is_in_use()
    {
        var folio = _pagemap.PfnToFolio(_pagemap.PfnBase);
        _pagemap.ZoneDeviceFolioInit(folio);
        Assert.Equal(1, _pagemap.FramesInUse);
        Assert.Equal(Errno.EBUSY, _t.Kernel.Memory.MemunmapPages(_pagemap));
        folio.Unlock();
        folio.Put();
        Assert.Equal(Errno.Ok, _t.Kernel.Memory.MemunmapPages(_pagemap));
        Assert.Empty(_t.Kernel.Memory.Pagemaps);
        Assert.Equal(Errno.EINVAL, _t.Kernel.Memory.MemunmapPages(_pagemap));
        Assert.Throws<ArgumentOutOfRangeException>(() => _t.Kernel.Memory.PfnToFolio(_pagemap.PfnBase));
    }

    [Fact]
    public void Coherent_pages_are_mapped_present_and_the_cpu_reaches_them_directly()
    {
        var a = _t.Map(2);
        Assert.Equal(Errno.Ok, _t.Cpu.Write(a, 1234L));
        Assert.Equal(Errno.Ok, _t.Cpu.Write(a + _t.PageSize, 5678L));
        _t.Mm.MmapLock.DownRead();
        var args = new MigrateVma { Vma = _t.Mm.FindVma(a), Start = a, End = a + (2 * _t.PageSize), Src = new ulong[2], Dst = new ulong[2], Flags = MigrateVmaFlags.SelectSystem, PgmapOwner = _owner };
        Assert.Equal(Errno.Ok, MigrateDevice.MigrateVmaSetup(args));
        for (var i = 0; i < 2; i++)
        {
            var dst = _pagemap.PfnToFolio(_pagemap.PfnBase + i);
            _pagemap.ZoneDeviceFolioInit(dst);
            _t.Kernel.Memory.PfnToFolio(MigratePfn.ToPfn(args.Src[i])).Bytes.CopyTo(dst.Bytes);
            args.Dst[i] = MigratePfn.Make(dst.Pfn);
        }

        MigrateDevice.MigrateVmaPages(args);
        MigrateDevice.MigrateVmaFinalize(args);
        _t.Mm.MmapLock.UpRead();

        var pte = _t.Mm.GetPte(a);
        Assert.Equal((PteKind.Present, _pagemap.PfnBase), (pte.Kind, pte.Pfn));
        Assert.Equal(1234L, *(long*)_coherent);
        Assert.Equal(Errno.Ok, _t.Cpu.AtomicAdd(a, 1L, out long sum));
        Assert.Equal(1235L, sum);
        Assert.Equal(1235L, *(long*)_coherent);
        Assert.Equal(0, _t.Kernel.Counters[MmEvent.FaultDevicePrivate]);
        Assert.Equal(2, _t.Kernel.Counters[MmEvent.MigratedToDevice]);

        // Only the owner's coherent pages are selected, and only with SelectDeviceCoherent.
        _t.Mm.MmapLock.DownRead();
        foreach (var (flags, owner, expected) in new[] { (MigrateVmaFlags.SelectSystem, _owner, 0L), (MigrateVmaFlags.SelectDeviceCoherent, new object(), 0L), (MigrateVmaFlags.SelectDeviceCoherent, _owner, 1L) })
        {
            var probe = new MigrateVma { Vma = _t.Mm.FindVma(a), Start = a, End = a + _t.PageSize, Src = new ulong[1], Dst = new ulong[1], Flags = flags, PgmapOwner = owner };
            Assert.Equal(Errno.Ok, MigrateDevice.MigrateVmaSetup(probe));
            Assert.Equal(expected, probe.Cpages);
            MigrateDevice.MigrateVmaPages(probe);
            MigrateDevice.MigrateVmaFinalize(probe);
        }

        _t.Mm.MmapLock.UpRead();
        Assert.Equal(Errno.Ok, _t.Cpu.Read(a + _t.PageSize, out long second));
        Assert.Equal(5678L, second);
        Assert.Equal(Errno.Ok, _t.Mm.Munmap(a, 2 * _t.PageSize));
        Assert.Equal(2, _ops.Freed.Count);
    }

    private sealed class Ops : IDevPagemapOps
    {
        public List<Folio> Freed { get; } = [];

        public Errno MigrateToRam(in VmFault vmf) => throw new InvalidOperationException("coherent memory never faults");

        public void FolioFree(Folio folio) => Freed.Add(folio);
    }
}
