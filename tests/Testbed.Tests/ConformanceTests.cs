using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Mm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>
/// The hmm-tests conformance cases (tools/testing/selftests/mm/hmm-tests.c) re-run through the mirror
/// driver, with device reads and writes done by kernels translating through the device page table,
/// on the direct cpu runner and on ILGPU's CPU accelerator (and a GPU where one exists).
/// </summary>
public sealed class ConformanceTests
{
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Anon_read_sees_what_the_cpu_wrote(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(4);
        var pattern = Enumerable.Range(0, 4 * t.WordsPerPage).ToArray();
        t.CpuWrite(va, pattern);
        var mirror = t.Mirror(va, 4, new RemotePolicy());
        var read = new int[pattern.Length];
        Assert.Equal(Errno.Ok, mirror.Read(va, read));
        Assert.Equal(pattern, read);
        Assert.True(mirror.Counters.GpuFaults >= 4);
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Anon_read_multiple_sees_each_new_cpu_write(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(4);
        var mirror = t.Mirror(va, 4);
        for (var round = 0; round < 3; round++)
        {
            var pattern = Enumerable.Range(round, 4 * t.WordsPerPage).ToArray();
            t.CpuWrite(va, pattern);
            var read = new int[pattern.Length];
            Assert.Equal(Errno.Ok, mirror.Read(va, read));
            Assert.Equal(pattern, read);
        }

        Assert.Equal(12, mirror.Counters.MigrationsToDevice);
        Assert.Equal(8, mirror.Counters.MigrationsToRam);
    }

    /// <summary>
    /// hmm-tests' snapshot (two devices): per page, what device 0 sees without faulting: a PROT_NONE
    /// page and a hole are errors, then a read-only zero page, a read-only page, a writable page,
    /// a page in device 0's memory, and one in device 1's memory, which device 0 cannot map.
    /// </summary>
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Snapshot_reports_each_kind_of_page(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var page = (ulong)t.PageSize;
        var p = t.Map(7, Prot.None);
        var dev0 = t.Mirror(p, 7);
        var dev1 = t.Mirror(p, 7, runner: t.NewRunner(kind));
        Assert.Equal(Errno.Ok, t.Mm.Munmap(p + page, page));
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(p + (2 * page), page, Prot.Read));
        Assert.Equal(0, t.CpuRead(p + (2 * page), 1)[0]);
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(p + (3 * page), page, Prot.ReadWrite));
        t.CpuWrite(p + (3 * page), [3]);
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(p + (3 * page), page, Prot.Read));
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(p + (4 * page), 3 * page, Prot.ReadWrite));
        t.CpuWrite(p + (4 * page), [4]);
        t.CpuWrite(p + (5 * page), [5]);
        t.CpuWrite(p + (6 * page), [6]);
        Assert.Equal(Errno.Ok, dev0.MigrateToDevice(p + (5 * page), 1));
        Assert.Equal(Errno.Ok, dev1.MigrateToDevice(p + (6 * page), 1));

        var snapshot = new PageSnapshot[7];
        Assert.Equal(Errno.Ok, dev0.Snapshot(p, snapshot));
        Assert.Equal(
            [PageSnapshot.Error, PageSnapshot.Error, PageSnapshot.Zero | PageSnapshot.Read, PageSnapshot.Read, PageSnapshot.Write, PageSnapshot.DevicePrivateLocal | PageSnapshot.Write, PageSnapshot.None],
            snapshot);
        Assert.Equal(0, dev0.Counters.GpuFaults);
        Assert.Equal(Errno.EINVAL, dev0.Snapshot(p + page, new PageSnapshot[7]));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Anon_write_is_seen_by_the_cpu(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(4);
        var mirror = t.Mirror(va, 4, new RemotePolicy());
        var pattern = Enumerable.Range(0, 4 * t.WordsPerPage).Select(i => i * 7).ToArray();
        Assert.Equal(Errno.Ok, mirror.Write(va, pattern));
        Assert.Equal(pattern, t.CpuRead(va, pattern.Length));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Read_only_pages_refuse_device_writes(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(2);
        t.CpuWrite(va, [42]);
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(va, 2 * (ulong)t.PageSize, Prot.Read));
        var mirror = t.Mirror(va, 2, new RemotePolicy());
        var read = new int[1];
        Assert.Equal(Errno.Ok, mirror.Read(va, read));
        Assert.Equal(42, read[0]);
        Assert.Equal(Errno.EPERM, mirror.Write(va, [1]));
        Assert.Contains("0x", mirror.LastError);
        Assert.Equal(42, t.CpuRead(va, 1)[0]);
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Munmap_zaps_the_device_mapping_and_later_access_faults(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(4);
        var mirror = t.Mirror(va, 4, new RemotePolicy());
        Assert.Equal(Errno.Ok, mirror.Write(va, new int[4 * t.WordsPerPage]));
        Assert.True(DevicePte.IsValid(mirror.Lookup(va)));
        Assert.Equal(Errno.Ok, t.Mm.Munmap(va, 4 * (ulong)t.PageSize));
        Assert.False(DevicePte.IsValid(mirror.Lookup(va)));
        Assert.Equal(Errno.EFAULT, mirror.Read(va, new int[1]));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Migrate_moves_pages_to_the_device_and_a_cpu_touch_brings_them_back(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(8);
        var pattern = Enumerable.Range(0, 8 * t.WordsPerPage).Select(i => i ^ 0x5a5a).ToArray();
        t.CpuWrite(va, pattern);
        var mirror = t.Mirror(va, 8);
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, 8));
        Assert.Equal(8, mirror.Counters.MigrationsToDevice);
        Assert.All(Enumerable.Range(0, 8), p => Assert.True(DevicePte.IsDevice(mirror.Lookup(va + ((ulong)p * (ulong)t.PageSize)))));
        var read = new int[pattern.Length];
        Assert.Equal(Errno.Ok, mirror.Read(va, read));
        Assert.Equal(pattern, read);
        Assert.Equal(pattern, t.CpuRead(va, pattern.Length));
        Assert.Equal(8, mirror.Counters.CpuFaults);
        Assert.Equal(8, mirror.Counters.MigrationsToRam);
        Assert.False(DevicePte.IsValid(mirror.Lookup(va)));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Device_writes_to_migrated_pages_survive_the_trip_back(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(4);
        var mirror = t.Mirror(va, 4);
        var pattern = Enumerable.Range(1, 4 * t.WordsPerPage).ToArray();
        Assert.Equal(Errno.Ok, mirror.Write(va, pattern));
        Assert.Equal(4, mirror.Counters.MigrationsToDevice);
        Assert.Equal(pattern, t.CpuRead(va, pattern.Length));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Fork_gives_the_child_a_copy_the_device_does_not_see(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(2);
        t.CpuWrite(va, [1, 2, 3]);
        var mirror = t.Mirror(va, 2);
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, 2));
        Assert.Equal(Errno.Ok, t.Mm.Fork(out var child));
        using (child)
        using (var childCpu = new HostMm.Cpu.CpuContext(child!))
        {
            Assert.Equal(Errno.Ok, childCpu.Read(va, out int seen));
            Assert.Equal(1, seen);
            Assert.Equal(Errno.Ok, childCpu.Write(va, 100));
        }

        var read = new int[3];
        Assert.Equal(Errno.Ok, mirror.Read(va, read));
        Assert.Equal([1, 2, 3], read);
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Exclusive_atomics_stay_in_place_and_a_cpu_touch_revokes_them(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind, nonCoherent: true);
        var va = t.Map(2);
        var mirror = t.Mirror(va, 2, new ExclusivePolicy());
        Assert.Equal(Errno.Ok, mirror.Run(DeviceWork.Adds(items: 16, opsPerItem: 10, firstWord: 0, span: 4, stride: 1)));
        var entry = mirror.Lookup(va);
        Assert.True(DevicePte.IsValid(entry) && !DevicePte.IsDevice(entry) && (entry & DevicePte.Atomic) != 0);
        Assert.Equal(1, mirror.Counters.ExclusiveGrants);
        Assert.Equal(0, mirror.Counters.Migrations);
        Assert.Equal([40, 40, 40, 40], t.CpuRead(va, 4));
        Assert.False(DevicePte.IsValid(mirror.Lookup(va)));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void An_atomic_fault_on_a_page_still_exclusive_from_before_does_not_invalidate_itself(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind, nonCoherent: true);
        var va = t.Map(1);
        var options = new MirrorOptions { DevicePages = 16, ChunkPages = 16, FaultTimeout = TimeSpan.FromMilliseconds(200) };
        var mirror = t.Mirror(va, 1, new ExclusivePolicy(), options);
        var work = DeviceWork.Adds(items: 16, opsPerItem: 10, firstWord: 0, span: 4, stride: 1);
        Assert.Equal(Errno.Ok, mirror.Run(work));

        // An mprotect that changes nothing still invalidates: the device loses its mapping, the CPU's
        // device-exclusive entry stays. The next atomic fault's MakeDeviceExclusive restores that entry
        // itself before converting again; that restore must not count against its own attempt.
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(va, (ulong)t.PageSize, Prot.ReadWrite));
        Assert.False(DevicePte.IsValid(mirror.Lookup(va)));
        Assert.Equal(PteKind.DeviceExclusive, t.Mm.GetPte(va).Kind);
        Assert.Equal(Errno.Ok, mirror.Run(work));
        Assert.Equal(2, mirror.Counters.ExclusiveGrants);
        Assert.Equal(0, mirror.Counters.ExclusiveRetries);
        Assert.Equal([80, 80, 80, 80], t.CpuRead(va, 4));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Without_owner_filtering_exclusive_mapping_never_converges(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind, nonCoherent: true);
        var va = t.Map(1);
        var options = new MirrorOptions { DevicePages = 16, ChunkPages = 16, FilterOwnerEvents = false, FaultTimeout = TimeSpan.FromMilliseconds(100) };
        var mirror = t.Mirror(va, 1, new ExclusivePolicy(), options);
        Assert.Equal(Errno.EBUSY, mirror.Run(DeviceWork.Adds(1, 1, 0, 1, 1)));
        Assert.Contains("owner filtering is off", mirror.LastError);
        Assert.True(mirror.Counters.ExclusiveRetries > 0);
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Migrate_multiple_round_trips_keep_the_data(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(4);
        var mirror = t.Mirror(va, 4);
        var pattern = Enumerable.Range(0, 4 * t.WordsPerPage).ToArray();
        t.CpuWrite(va, pattern);
        for (var round = 0; round < 5; round++)
        {
            Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, 4));
            Assert.Equal(pattern, t.CpuRead(va, pattern.Length));
        }

        Assert.Equal(20, mirror.Counters.MigrationsToDevice);
        Assert.Equal(20, mirror.Counters.MigrationsToRam);
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Double_map_two_devices_read_the_same_pages(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(2);
        var pattern = Enumerable.Range(5, 2 * t.WordsPerPage).ToArray();
        t.CpuWrite(va, pattern);
        var a = t.Mirror(va, 2, new RemotePolicy());
        var b = t.Mirror(va, 2, new RemotePolicy(), runner: t.NewRunner(kind));
        var readA = new int[pattern.Length];
        var readB = new int[pattern.Length];
        Assert.Equal(Errno.Ok, a.Read(va, readA));
        Assert.Equal(Errno.Ok, b.Read(va, readB));
        Assert.Equal(pattern, readA);
        Assert.Equal(pattern, readB);
        Assert.Equal(a.Lookup(va) & ~DevicePte.Atomic, b.Lookup(va) & ~DevicePte.Atomic);
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Anon_teardown_with_device_mappings_frees_everything(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        for (var round = 0; round < 4; round++)
        {
            var va = t.Map(4);
            var mirror = t.Mirror(va, 4);
            Assert.Equal(Errno.Ok, mirror.Write(va, Enumerable.Range(0, 4 * t.WordsPerPage).ToArray()));
            Assert.Equal(Errno.Ok, t.Mm.Munmap(va, 4 * (ulong)t.PageSize));
            Assert.Equal(mirror.Pagemap.NrPages, mirror.FreeDevicePages);
        }
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Bad_ranges_are_rejected_with_errno(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(2);
        Assert.Equal(Errno.EINVAL, MirrorDevice.Create(t.Mm, t.Runner, va + 1, 2, new MigratePolicy(), new MirrorOptions(), out _));
        Assert.Equal(Errno.EINVAL, MirrorDevice.Create(t.Mm, t.Runner, va, 0, new MigratePolicy(), new MirrorOptions(), out _));
        Assert.Equal(Errno.EINVAL, MirrorDevice.Create(t.Mm, t.Runner, AddressSpace.TaskSize - (ulong)t.PageSize, 2, new MigratePolicy(), new MirrorOptions(), out _));
        Assert.Throws<ArgumentException>(() => MirrorDevice.Create(t.Mm, t.Runner, va, 2, new MigratePolicy(), new MirrorOptions { DevicePages = 10, ChunkPages = 3 }, out _));
        var mirror = t.Mirror(va, 2);
        Assert.Equal(Errno.EINVAL, mirror.MigrateToDevice(va, 3));
        Assert.Equal(Errno.EINVAL, mirror.Read(va + 2, new int[1]));
        Assert.Equal(Errno.EINVAL, mirror.Run(DeviceWork.Adds(1, 1, 0, (2 * t.WordsPerPage) + 1, 1)));
        Assert.NotNull(mirror.LastError);
    }
}
