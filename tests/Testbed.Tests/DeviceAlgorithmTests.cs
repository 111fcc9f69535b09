using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>
/// The driver's use of ILGPU.Algorithms: a fault batch sorted and coalesced on the device services the
/// same faults as one the host sorts, and a range's sum reduced on the device equals what the CPU reads.
/// Run on ILGPU's CPU accelerator (GPUs use the same code; the direct cpu runner sorts and sums on the host).
/// </summary>
public sealed class DeviceAlgorithmTests
{
    [Fact]
    public void A_fault_batch_sorted_on_the_device_services_the_same_faults_as_one_sorted_by_the_host()
    {
        var host = FaultRun(FaultSortPlace.Host);
        var device = FaultRun(FaultSortPlace.Device);
        Assert.Equal(0, host.Sorted);
        Assert.True(device.Sorted > 0, "no batch was sorted on the device");
        Assert.Equal(host.Faults, device.Faults);
        Assert.Equal(host.Batches, device.Batches);
        Assert.Equal(host.Migrations, device.Migrations);
    }

    [Fact]
    public void Sorting_faults_on_the_device_is_refused_where_ilgpu_algorithms_cannot_run()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(1);
        var e = Assert.Throws<ArgumentException>(() => MirrorDevice.Create(t.Mm, t.Runner, va, 1, new MigratePolicy(), new MirrorOptions { DevicePages = 16, ChunkPages = 16, FaultSort = FaultSortPlace.Device }, out _));
        Assert.Contains("fault sort on the device needs ILGPU.Algorithms, which do not run on cpu", e.Message, StringComparison.Ordinal);
        Assert.False(new MirrorOptions().SortsFaultsOnDevice(t.Runner));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void The_device_sum_of_a_range_is_what_the_cpu_reads(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        const int Pages = 3;
        var va = t.Map(Pages);
        var values = Enumerable.Range(0, Pages * t.WordsPerPage).Select(i => (i * 7919) - 1_000_000).ToArray();
        t.CpuWrite(va, values);
        var mirror = t.Mirror(va, Pages, new RemotePolicy());
        Assert.Equal(Errno.Ok, mirror.Run(DeviceWork.Adds(items: 16, opsPerItem: 8, firstWord: 0, span: Pages * t.WordsPerPage, stride: 97, value: int.MaxValue)));
        Assert.Equal(Errno.Ok, mirror.Sum(va, Pages * t.WordsPerPage, out var sum));
        Assert.Equal(t.CpuRead(va, Pages * t.WordsPerPage).Sum(v => (long)v), sum);
        Assert.Equal(Errno.Ok, mirror.Sum(va + 8, 5, out var part));
        Assert.Equal(values.Skip(2).Take(5).Sum(v => (long)v), part);
        Assert.Equal(Errno.EINVAL, mirror.Sum(va + 2, 5, out _));
    }

    private static (long Faults, long Batches, long Migrations, long Sorted) FaultRun(FaultSortPlace place)
    {
        using var t = new DriverFixture(AcceleratorKind.IlgpuCpu);
        const int Pages = 48;
        var va = t.Map(Pages);
        var mirror = t.Mirror(va, Pages, new MigratePolicy(), new MirrorOptions { DevicePages = 64, ChunkPages = 16, FaultSort = place, DeviceFaultSortMinimum = 2, OpsPerLaunch = 8 });
        var work = DeviceWork.Adds(items: 96, opsPerItem: 8, firstWord: 0, span: Pages * t.WordsPerPage, stride: (t.WordsPerPage / 2) + 1);
        Assert.Equal(Errno.Ok, mirror.Run(work));
        var expected = new long[Pages * t.WordsPerPage];
        for (var i = 0; i < work.Items; i++)
        {
            for (var k = 0; k < work.OpsPerItem; k++)
            {
                expected[work.Target(i, k)]++;
            }
        }

        Assert.Equal(expected, t.CpuRead(va, Pages * t.WordsPerPage).Select(v => (long)v));
        return (mirror.Counters.GpuFaults, mirror.Counters.FaultBatches, mirror.Counters.Migrations, mirror.Counters.DeviceSortedBatches);
    }
}
