using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Mm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>
/// hmm-tests' fork, copy-on-write and mprotect cases (anon_write_child_shared, exclusive_cow,
/// hmm_cow_in_device, exclusive_mprotect) through the mirror driver on every available accelerator.
/// </summary>
public sealed class CowConformanceTests
{
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Anon_write_child_shared_device_writes_in_the_child_reach_the_parent(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var words = 2 * t.WordsPerPage;
        var va = t.Map(2, flags: MmapFlags.Shared);
        t.CpuWrite(va, Enumerable.Range(0, words).ToArray());
        Assert.Equal(Errno.Ok, t.Mm.Fork(out var child));
        using (child)
        {
            using var childCpu = new CpuContext(child!);
            Assert.Equal(Errno.Ok, MirrorDevice.Create(child!, t.Runner, va, 2, new MigratePolicy(), new MirrorOptions { DevicePages = 16, ChunkPages = 16 }, out var mirror));
            using (mirror)
            {
                Assert.Equal(Errno.Ok, mirror!.Write(va, Enumerable.Range(0, words).Select(i => -i).ToArray()));
                Assert.Equal(0, mirror.Counters.MigrationsToDevice);
                Assert.Equal(Errno.Ok, childCpu.Read(va + 4, out int seen));
                Assert.Equal(-1, seen);
            }
        }

        Assert.Equal(Enumerable.Range(0, words).Select(i => -i).ToArray(), t.CpuRead(va, words));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Exclusive_cow_fork_restores_the_pages_and_each_side_keeps_its_copy(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind, nonCoherent: true);
        var words = 2 * t.WordsPerPage;
        var va = t.Map(2);
        t.CpuWrite(va, Enumerable.Range(0, words).ToArray());
        var mirror = t.Mirror(va, 2, new ExclusivePolicy());
        Assert.Equal(Errno.Ok, mirror.Run(DeviceWork.Adds(words, 1, 0, words, 1)));
        Assert.Equal(2, mirror.Counters.ExclusiveGrants);

        Assert.Equal(Errno.Ok, t.Mm.Fork(out var child));
        using (child)
        using (var childCpu = new CpuContext(child!))
        {
            Assert.False(DevicePte.IsValid(mirror.Lookup(va)));
            t.CpuWrite(va, t.CpuRead(va, words).Select(v => v + 1).ToArray());
            Assert.Equal(Errno.Ok, mirror.Run(DeviceWork.Adds(words, 1, 0, words, 1)));
            for (var i = 0; i < words; i += 97)
            {
                Assert.Equal(Errno.Ok, childCpu.Read(va + ((ulong)i * sizeof(int)), out int old));
                Assert.Equal(i + 1, old);
            }
        }

        Assert.Equal(Enumerable.Range(0, words).Select(i => i + 3).ToArray(), t.CpuRead(va, words));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Hmm_cow_in_device_a_parent_write_copies_the_page_back_to_system_memory(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var words = 4 * t.WordsPerPage;
        var va = t.Map(4);
        t.CpuWrite(va, Enumerable.Range(0, words).ToArray());
        var mirror = t.Mirror(va, 4);
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, 4));
        Assert.Equal(Errno.Ok, t.Mm.Fork(out var child));
        using (child)
        using (var childCpu = new CpuContext(child!))
        {
            t.CpuWrite(va, Enumerable.Range(0, words).Select(i => i + 1000).ToArray());
            var snapshot = new PageSnapshot[4];
            Assert.Equal(Errno.Ok, mirror.Snapshot(va, snapshot));
            Assert.All(snapshot, s => Assert.Equal(PageSnapshot.Write, s));
            Assert.Equal(Errno.Ok, childCpu.Read(va + (ulong)(3 * t.PageSize), out int old));
            Assert.Equal(3 * t.WordsPerPage, old);
        }

        var read = new int[words];
        Assert.Equal(Errno.Ok, mirror.Read(va, read));
        Assert.Equal(Enumerable.Range(0, words).Select(i => i + 1000).ToArray(), read);
    }

    /// <summary>
    /// The device's own write to its own page after a fork: <c>HmmRangeFault</c> reports the page
    /// read-only (COW-shared) without faulting it, so the driver asks again as the CPU would, which
    /// brings the page to system memory and breaks COW; the child keeps the old bytes.
    /// </summary>
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void A_device_write_to_its_own_page_shared_by_fork_breaks_cow_through_system_memory(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var words = 2 * t.WordsPerPage;
        var va = t.Map(2);
        t.CpuWrite(va, Enumerable.Range(0, words).ToArray());
        var mirror = t.Mirror(va, 2);
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, 2));
        Assert.Equal(Errno.Ok, t.Mm.Fork(out var child));
        using (child)
        using (var childCpu = new CpuContext(child!))
        {
            Assert.Equal(Errno.Ok, mirror.Write(va, Enumerable.Range(0, words).Select(i => -i).ToArray()));
            Assert.Empty(mirror.FatalFaults);
            Assert.Equal(Enumerable.Range(0, words).Select(i => -i).ToArray(), t.CpuRead(va, words));
            Assert.Equal(Errno.Ok, childCpu.Read(va + (ulong)t.PageSize + 8, out int old));
            Assert.Equal(t.WordsPerPage + 2, old);
        }
    }

    /// <summary>
    /// hmm-tests' exclusive_mprotect: after the pages are made read-only, a device write gets
    /// -EPERM from <c>HmmRangeFault</c>; a device atomic gets -EFAULT, because
    /// <c>MakeDeviceExclusive</c> looks the page up for write as the kernel's GUP with
    /// <c>FOLL_WRITE</c> does. Neither changes the data.
    /// </summary>
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Exclusive_mprotect_read_only_refuses_further_device_writes_and_atomics(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind, nonCoherent: true);
        var va = t.Map(2);
        var mirror = t.Mirror(va, 2, new ExclusivePolicy());
        Assert.Equal(Errno.Ok, mirror.Run(DeviceWork.Adds(8, 1, 0, 8, 1)));
        Assert.NotEqual(0u, mirror.Lookup(va) & DevicePte.Atomic);
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(va, 2 * (ulong)t.PageSize, Prot.Read));
        Assert.False(DevicePte.IsValid(mirror.Lookup(va)));
        Assert.Equal(Errno.EPERM, mirror.Write(va, [100]));
        Assert.Equal(Errno.EFAULT, mirror.Run(DeviceWork.Adds(8, 1, 0, 8, 1)));
        Assert.Contains("MakeDeviceExclusive", mirror.LastError);
        Assert.Equal(Enumerable.Repeat(1, 8).ToArray(), t.CpuRead(va, 8));
    }
}
