using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>Exactly-once replay: totals stay exact while CPU faults keep pulling pages away from the device.</summary>
public sealed class ReplayTests
{
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Every_add_lands_exactly_once_over_thousands_of_replays(AcceleratorKind kind)
    {
        const int Pages = 8;
        using var t = new DriverFixture(kind);
        var va = t.Map(Pages);
        var mirror = t.Mirror(va, Pages, new MigratePolicy(), new MirrorOptions { DevicePages = 16, ChunkPages = 16, OpsPerLaunch = 1 });
        var work = DeviceWork.Adds(items: 32, opsPerItem: 1500, firstWord: 0, span: Pages * t.WordsPerPage, stride: t.WordsPerPage + 3);
        var stop = 0;
        var cpuTouches = 0L;
        var cpu = new Thread(() =>
        {
            using var ctx = new HostMm.Cpu.CpuContext(t.Mm);
            for (var n = 0; Volatile.Read(ref stop) == 0; n++)
            {
                Assert.Equal(Errno.Ok, ctx.Read(va + ((ulong)(n % Pages) * (ulong)t.PageSize), out int _));
                cpuTouches++;
            }
        });
        cpu.Start();

        // Rounds until the CPU thread has faulted on a device page mid-run at least once (on a fast
        // machine one run can finish before it gets a time slice), so the interference is certain.
        var rounds = 0;
        do
        {
            Assert.Equal(Errno.Ok, mirror.Run(work));
            rounds++;
        }
        while (rounds < 50 && mirror.Counters.CpuFaults == 0);

        Volatile.Write(ref stop, 1);
        cpu.Join();

        var expected = new int[Pages * t.WordsPerPage];
        for (var i = 0; i < work.Items; i++)
        {
            for (var k = 0; k < work.OpsPerItem; k++)
            {
                expected[work.Target(i, k)] += work.Value * rounds;
            }
        }

        Assert.Equal(expected, t.CpuRead(va, expected.Length));
        Assert.True(mirror.Counters.Replays >= 1000, $"{mirror.Counters.Replays} replays");
        Assert.True(mirror.Counters.FaultBatches > 0 && mirror.Counters.GpuFaults >= mirror.Counters.FaultBatches);
        Assert.True(mirror.Counters.CpuFaults > 0 && cpuTouches > 0, $"{mirror.Counters.CpuFaults} CPU faults pulled pages back");
    }

    [Fact]
    public void Fault_batches_are_sorted_and_coalesced_to_the_strongest_access()
    {
        var batch = new FaultBatch(16);
        batch.Load([(7 * 4) + 0, (3 * 4) + 2, (7 * 4) + 1, (3 * 4) + 0, (5 * 4) + 0, (7 * 4) + 0]);
        Assert.Equal(3, batch.Count);
        Assert.Equal((3L, FaultAccess.Atomic), (batch.Page(0), batch.Access(0)));
        Assert.Equal((5L, FaultAccess.Read), (batch.Page(1), batch.Access(1)));
        Assert.Equal((7L, FaultAccess.Write), (batch.Page(2), batch.Access(2)));
    }

    /// <summary>
    /// The stall window counts replays only: a first launch that takes longer than the window (here a
    /// window of 100 ns, shorter than any launch) is not a stall, as long as every replay advances. The
    /// window used to open before the first launch, so a cold first launch on a loaded machine ended a
    /// healthy run with -EBUSY before any fault was serviced (seen in a fresh-clone CI run).
    /// </summary>
    [Fact]
    public void The_stall_window_opens_with_the_first_replay()
    {
        const int Pages = 8;
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(Pages);
        var mirror = t.Mirror(va, Pages, options: new MirrorOptions { DevicePages = 16, ChunkPages = 16, ReplayStallTimeout = TimeSpan.FromTicks(1) });
        var data = Enumerable.Range(1, Pages * t.WordsPerPage).ToArray();

        Assert.True(Errno.Ok == mirror.Write(va, data), mirror.LastError);
        Assert.Equal(data, t.CpuRead(va, data.Length));
    }

    [Fact]
    public void A_run_whose_faults_are_never_serviced_ends_with_ebusy_instead_of_replaying_forever()
    {
        // A policy bug: every device fault is throttled, with no period that ends.
        const int Pages = 4;
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(Pages);
        t.CpuWrite(va, [5]);
        var mirror = t.Mirror(va, Pages, new ScriptedPolicy(_ => GpuFaultAction.Throttle), new MirrorOptions { DevicePages = 16, ChunkPages = 16, ReplayStallTimeout = TimeSpan.FromMilliseconds(200) });

        Assert.Equal(Errno.EBUSY, mirror.Run(DeviceWork.Adds(items: 8, opsPerItem: 4, firstWord: 0, span: Pages * t.WordsPerPage, stride: t.WordsPerPage)));
        Assert.Contains("no work item advanced in 200 ms of replays", mirror.LastError, StringComparison.Ordinal);
        Assert.Contains("0 of 32 operations applied", mirror.LastError, StringComparison.Ordinal);
        Assert.True(mirror.Counters.ThrottledFaults > 0);

        // Nothing was applied and nothing was lost; the device is ready for the next run.
        Assert.Equal([5, 0], t.CpuRead(va, 2));
        var bad = Assert.Throws<ArgumentException>(() => MirrorDevice.Create(t.Mm, t.Runner, va, Pages, new ScriptedPolicy(_ => GpuFaultAction.Throttle), new MirrorOptions { ReplayStallTimeout = TimeSpan.Zero }, out _));
        Assert.Contains("replay stall timeout must be positive", bad.Message, StringComparison.Ordinal);
    }
}
