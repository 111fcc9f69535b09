using Testbed.HostMm.Cpu;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Locking;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Tests.Hmm;

/// <summary>
/// Seed 001: many CPU threads fault one device-private page. Under the legacy <c>DoSwapPage</c> every
/// fault holds a reference, so each migration sees the others' references as pins and gives up; with
/// the threads lined up no thread ever completes. Under the locked <c>DoSwapPage</c>, same schedule,
/// one thread migrates the page exactly once and the others wait for it without a reference.
/// This is the historical interleaving, written out on purpose; <c>testbed explore swap-fault</c>
/// (Testbed.Tests' <c>ExploreTests</c>) finds the livelock by search instead.
/// </summary>
public sealed class SwapFaultRaceTests
{
    private const int Threads = 8;

    private static (MmFixture T, Dmirror Dev, ulong Addr) DevicePage(SwapFaultLocking locking)
    {
        var t = new MmFixture();
        t.Kernel.SwapFaultLocking = locking;
        var dev = new Dmirror(t.Kernel, t.Mm, 4);
        var a = t.Map(1);
        Assert.Equal(Errno.Ok, t.Cpu.Write(a, 0x5eed001L));
        Assert.Equal(Errno.Ok, dev.MigrateToDevice(a, 1));
        Assert.Equal(PteKind.DevicePrivate, t.Mm.GetPte(a).Kind);
        return (t, dev, a);
    }

    private static TestThread<bool>[] Faulters(MmFixture t, ulong a, Action done)
    {
        // Not disposed here: a thread may reach its Wait after this method returned (a disposed
        // event made one fault throw ObjectDisposedException in a CI run). Set, it holds no handle.
        var go = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, Threads).Select(_ => TestThread.Run(() =>
        {
            using var cpu = new CpuContext(t.Mm);
            Assert.True(go.Wait(TimeSpan.FromSeconds(10)));
            Assert.Equal(Errno.Ok, cpu.Read(a, out long v));
            Assert.Equal(0x5eed001L, v);
            done();
        })).ToArray();
        go.Set();
        return threads;
    }

    [Fact]
    public void Legacy_lined_up_faults_never_complete_and_count_migration_failures()
    {
        var (t, dev, a) = DevicePage(SwapFaultLocking.Legacy);
        var scheduler = new LineUpScheduler(Threads, TimeSpan.FromMilliseconds(300));
        t.Kernel.Sync.Scheduler = scheduler;
        var completed = 0;
        var threads = Faulters(t, a, () => Interlocked.Increment(ref completed));
        try
        {
            Thread.Sleep(TimeSpan.FromSeconds(1.5));
            Assert.Equal(0, Volatile.Read(ref completed));
            Assert.Equal(0, t.Kernel.Counters[MmEvent.MigratedToRam]);
            Assert.True(t.Kernel.Counters[MmEvent.MigrateFailRefs] >= 3, $"failures: {t.Kernel.Counters[MmEvent.MigrateFailRefs]}");
            Assert.True(t.Kernel.Counters[MmEvent.FaultDevicePrivate] >= 3 * Threads);
        }
        finally
        {
            // Without the adversarial schedule the faults get through: the livelock needs the lineup.
            scheduler.Disable();
            Assert.All(threads, th => Assert.True(th.Join(TimeSpan.FromSeconds(30))));
        }

        Assert.Equal(Threads, completed);
        Assert.Equal(1, t.Kernel.Counters[MmEvent.MigratedToRam]);
        dev.Remove();
        t.Dispose();
    }

    [Fact]
    public void Locked_lined_up_faults_all_complete_with_exactly_one_migration()
    {
        var (t, dev, a) = DevicePage(SwapFaultLocking.Locked);
        t.Kernel.Sync.Scheduler = new LineUpScheduler(Threads, TimeSpan.FromMilliseconds(300));
        var completed = 0;
        var threads = Faulters(t, a, () => Interlocked.Increment(ref completed));
        Assert.All(threads, th => Assert.True(th.Join(TimeSpan.FromSeconds(30))));
        Assert.Equal(Threads, completed);
        Assert.Equal(1, t.Kernel.Counters[MmEvent.MigratedToRam]);
        Assert.Equal(1, t.Kernel.Counters[MmEvent.FaultDevicePrivate]);
        Assert.Equal(0, t.Kernel.Counters[MmEvent.MigrateFailRefs]);
        Assert.Equal(PteKind.Present, t.Mm.GetPte(a).Kind);
        dev.Remove();
        t.Dispose();
    }
}
