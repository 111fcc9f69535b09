using System.Runtime.InteropServices;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Tests.Hmm;

/// <summary>
/// The large-folio cases of tools/testing/selftests/mm/hmm-tests.c, under their kernel names, with
/// the kernel's assertions (a buffer of ints, <c>ptr[i] == i</c>), plus what the model can check
/// that the selftest cannot: that the THP really was mapped by a PMD, moved whole or split.
/// </summary>
public sealed class HmmHugeTests : IDisposable
{
    private const int DevicePages = 1024;
    private readonly MmFixture _t = new(memoryBytes: 48L << 20);
    private readonly Dmirror _dev;

    public HmmHugeTests() => _dev = new Dmirror(_t.Kernel, _t.Mm, DevicePages);

    private ulong TwoMeg => _t.Mm.PmdSize;

    private int Npages => (int)(TwoMeg / _t.PageSize);

    public void Dispose()
    {
        _dev.Remove();
        _t.Dispose();
        Assert.Equal(DevicePages, _dev.FreePages);
    }

    [Fact]
    public void anon_write_huge()
    {
        var map = _t.MapHuge(2 * TwoMeg, Prot.ReadWrite, out _);
        var data = Ints(TwoMeg);

        Assert.Equal(Errno.Ok, _dev.Write(map, MemoryMarshal.AsBytes(data.AsSpan())));

        Assert.Equal(1, _dev.FaultCalls);
        Assert.Equal(PteKind.Present, _t.Mm.GetPmd(map).Kind);
        Assert.Equal(PhysicalMemory.MaxOrder, _t.Kernel.Memory.PfnToFolio(_t.Mm.GetPmd(map).Pfn).Order);
        AssertCpuSees(map, TwoMeg, i => i);
    }

    [Fact]
    public void compound()
    {
        var map = _t.MapHuge(2 * TwoMeg, Prot.ReadWrite, out _);
        WriteInts(map, TwoMeg);

        Assert.All(_dev.Snapshot(map, Npages), m => Assert.Equal(DmirrorProt.Write | DmirrorProt.Pmd, m));

        Assert.Equal(Errno.Ok, _t.Mm.Mprotect(map, TwoMeg, Prot.Read));
        Assert.All(_dev.Snapshot(map, Npages), m => Assert.Equal(DmirrorProt.Read | DmirrorProt.Pmd, m));
        Assert.Equal(PteKind.Present, _t.Mm.GetPmd(map).Kind);
    }

    [Fact]
    public void migrate_anon_huge_empty()
    {
        var map = _t.MapHuge(2 * TwoMeg, Prot.Read, out _);

        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(map, (ulong)Npages));
        Assert.Equal(Npages, _dev.Cpages);

        AssertDeviceSees(map, TwoMeg, _ => 0);
        Assert.Equal(PteKind.DevicePrivate, _t.Mm.GetPmd(map).Kind);
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.ThpMigrationSuccess]);
    }

    [Fact]
    public void migrate_anon_huge_zero()
    {
        var map = _t.MapHuge(2 * TwoMeg, Prot.Read, out _);
        Assert.Equal(Errno.Ok, _t.Cpu.Read(map, out int val));
        Assert.Equal(0, val);

        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(map, (ulong)Npages));
        Assert.Equal(Npages, _dev.Cpages);

        AssertDeviceSees(map, TwoMeg, _ => 0);
        AssertCpuSees(map, TwoMeg, _ => 0);
    }

    [Fact]
    public void migrate_anon_huge_free()
    {
        var map = MigratedInts();
        Assert.Equal(PteKind.DevicePrivate, _t.Mm.GetPmd(map).Kind);

        // MADV_FREE: the model has no lazy free; the pages go at once, as MADV_DONTNEED drops them.
        Assert.Equal(Errno.Ok, _t.Mm.MadviseDontNeed(map, TwoMeg));
        Assert.Equal(DevicePages, _dev.FreePages);
    }

    [Fact]
    public void migrate_anon_huge_fault()
    {
        var map = MigratedInts();

        AssertCpuSees(map, TwoMeg, i => i);
        Assert.Equal(PteKind.Present, _t.Mm.GetPmd(map).Kind);
        Assert.Equal(2, _t.Kernel.Counters[MmEvent.ThpMigrationSuccess]);
        Assert.Equal(DevicePages, _dev.FreePages);
    }

    [Fact]
    public void migrate_anon_huge_err()
    {
        var map = _t.MapHuge(2 * TwoMeg, Prot.ReadWrite, out var oldPtr);
        WriteInts(map, TwoMeg);

        // Migrate memory to device but force a THP allocation error.
        _dev.FailAlloc = true;
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(map, (ulong)Npages));
        Assert.Equal(Npages, _dev.Cpages);
        AssertDeviceSees(map, TwoMeg, i => i);
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.ThpMigrationSplit]);
        Assert.Equal(PteKind.DevicePrivate, _t.Mm.GetPte(map).Kind);

        // Try faulting back a single (PAGE_SIZE) page.
        Assert.Equal(2048, ReadInt(map, 2048));

        // Unmap and remap the region to reset things.
        Assert.Equal(Errno.Ok, _t.Mm.Munmap(oldPtr, 2 * TwoMeg));
        map = _t.MapHuge(2 * TwoMeg, Prot.ReadWrite, out _);
        WriteInts(map, TwoMeg);

        // Migrate THP to device.
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(map, (ulong)Npages));
        Assert.Equal(Npages, _dev.Cpages);
        Assert.Equal(PteKind.DevicePrivate, _t.Mm.GetPmd(map).Kind);

        // Force an allocation error when faulting back a THP resident in the device.
        _dev.FailAlloc = true;
        Assert.Equal(Errno.Ok, _dev.MigrateToSystem(map, (ulong)Npages));
        Assert.Equal(Npages, _dev.Cpages);
        Assert.Equal(2048, ReadInt(map, 2048));
        Assert.Equal(2, _t.Kernel.Counters[MmEvent.ThpMigrationSplit]);
        Assert.Equal(PteKind.Present, _t.Mm.GetPte(map).Kind);
    }

    [Fact]
    public void migrate_anon_huge_zero_err()
    {
        var map = _t.MapHuge(2 * TwoMeg, Prot.Read, out var oldPtr);

        // Migrate memory to device but force a THP allocation error.
        _dev.FailAlloc = true;
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(map, (ulong)Npages));
        Assert.Equal(Npages, _dev.Cpages);
        AssertDeviceSees(map, TwoMeg, _ => 0);

        // Try faulting back a single (PAGE_SIZE) page.
        Assert.Equal(0, ReadInt(map, 2048));

        // Unmap and remap the region to reset things.
        Assert.Equal(Errno.Ok, _t.Mm.Munmap(oldPtr, 2 * TwoMeg));
        map = _t.MapHuge(2 * TwoMeg, Prot.Read, out _);

        // Initialize buffer in system memory (zero THP page).
        Assert.Equal(0, ReadInt(map, 0));

        // Migrate memory to device but force a THP allocation error.
        _dev.FailAlloc = true;
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(map, (ulong)Npages));
        Assert.Equal(Npages, _dev.Cpages);

        // Fault the device memory back and check it.
        AssertCpuSees(map, TwoMeg, _ => 0);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(512 << 10)]
    [InlineData(1 << 20)]
    public void migrate_partial_unmap_fault(ulong offset)
    {
        var size = 2 * TwoMeg;
        var map = _t.MapHuge(2 * size, Prot.ReadWrite, out _, hugeBytes: size);
        WriteInts(map, size);

        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(map, size / _t.PageSize));
        Assert.Equal((long)(size / _t.PageSize), _dev.Cpages);
        AssertDeviceSees(map, size, i => i);
        Assert.Equal(2, _t.Kernel.Counters[MmEvent.ThpMigrationSuccess]);

        Assert.Equal(Errno.Ok, _t.Mm.Munmap(map + offset, 1 << 20));
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.ThpSplitPmd]);

        // Fault pages back to system memory and check them.
        for (var i = 0; i < (int)(size / sizeof(int)); i += 256)
        {
            if ((ulong)i * sizeof(int) < offset || (ulong)i * sizeof(int) >= offset + (1 << 20))
            {
                Assert.Equal(i, ReadInt(map, i));
            }
        }

        Assert.Equal(Errno.EFAULT, _t.Cpu.Read(map + offset, out int _));
    }

    /// <summary>The prologue the huge migration cases share: a THP of ints <c>ptr[i] = i</c> migrated to the device whole-range (<c>cpages == npages</c>), as the device reads it.</summary>
    private ulong MigratedInts()
    {
        var map = _t.MapHuge(2 * TwoMeg, Prot.ReadWrite, out _);
        WriteInts(map, TwoMeg);
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(map, (ulong)Npages));
        Assert.Equal(Npages, _dev.Cpages);
        AssertDeviceSees(map, TwoMeg, i => i);
        return map;
    }

    private static int[] Ints(ulong bytes) => [.. Enumerable.Range(0, (int)(bytes / sizeof(int)))];

    private void WriteInts(ulong va, ulong bytes) =>
        Assert.Equal(Errno.Ok, _t.Cpu.WriteBytes(va, MemoryMarshal.AsBytes(Ints(bytes).AsSpan())));

    private int ReadInt(ulong va, int index)
    {
        Assert.Equal(Errno.Ok, _t.Cpu.Read(va + ((ulong)index * sizeof(int)), out int value));
        return value;
    }

    private void AssertCpuSees(ulong va, ulong bytes, Func<int, int> expected)
    {
        var seen = new int[bytes / sizeof(int)];
        Assert.Equal(Errno.Ok, _t.Cpu.ReadBytes(va, MemoryMarshal.AsBytes(seen.AsSpan())));
        AssertInts(seen, expected);
    }

    private void AssertDeviceSees(ulong va, ulong bytes, Func<int, int> expected)
    {
        var seen = new int[bytes / sizeof(int)];
        Assert.Equal(Errno.Ok, _dev.DeviceRead(va, MemoryMarshal.AsBytes(seen.AsSpan())));
        AssertInts(seen, expected);
    }

    private static void AssertInts(int[] seen, Func<int, int> expected)
    {
        for (var i = 0; i < seen.Length; i++)
        {
            if (seen[i] != expected(i))
            {
                Assert.Fail($"ptr[{i}] = {seen[i]}, expected {expected(i)}");
            }
        }
    }
}
