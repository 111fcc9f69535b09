using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>
/// <c>Snapshot</c> runs on any thread while the device thread services faults: before, both used
/// the mirror's one HMM range, and a pingpong sampler at 256 pages overwrote the fault path's range
/// bounds mid-walk (IndexOutOfRange in HmmRangeFault, or a page mapped from the wrong entry).
/// </summary>
public sealed class SnapshotRaceTests
{
    [Fact]
    public void Snapshots_beside_device_faults_neither_throw_nor_disturb_the_totals()
    {
        using var f = new DriverFixture(AcceleratorKind.Cpu, memoryBytes: 64L << 20);
        const int pages = 1024;
        var va = f.Map(pages);
        f.CpuWrite(va, new int[pages * f.WordsPerPage]);
        using var mirror = f.Mirror(va, pages, new MigratePolicy(), new MirrorOptions { DevicePages = 512, ChunkPages = 64, FaultBatchSize = 32 });
        var work = DeviceWork.Adds(items: pages, opsPerItem: 4, firstWord: 0, span: (long)pages * f.WordsPerPage, stride: f.WordsPerPage + 1);
        var stop = 0;
        var snapshots = 0;
        Exception? failure = null;
        var sampler = new Thread(() =>
        {
            var result = new PageSnapshot[pages];
            try
            {
                while (Volatile.Read(ref stop) == 0)
                {
                    var err = mirror.Snapshot(va, result);
                    Assert.True(err is Errno.Ok or Errno.EBUSY, $"{err}: {mirror.LastError}");
                    snapshots++;
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        sampler.Start();
        for (var round = 0; round < 5; round++)
        {
            Assert.Equal(Errno.Ok, mirror.Run(work));
            mirror.EvictAll();
        }

        Volatile.Write(ref stop, 1);
        sampler.Join();
        Assert.Null(failure);
        Assert.True(snapshots > 0);
        var expected = new long[pages * f.WordsPerPage];
        for (var i = 0; i < work.Items; i++)
        {
            for (var k = 0; k < work.OpsPerItem; k++)
            {
                expected[work.Target(i, k)] += 5;
            }
        }

        Assert.Equal(expected.Select(v => (int)v), f.CpuRead(va, pages * f.WordsPerPage));
    }
}
