using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Diagnostics;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>
/// Every <see cref="FaultPoint"/> and the non-blockable invalidation, injected into the driver on
/// every available accelerator: each fallback is the one the kernel or the driver documents, and
/// not a word is lost (the fixture's teardown audit also checks that nothing leaked).
/// </summary>
public sealed class FaultInjectionTests
{
    private const int Pages = 8;

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Device_allocation_failure_maps_the_pages_remotely_and_every_add_lands(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(Pages);
        Assert.Equal(Errno.ENOMEM, ArmedCreate(t, va));
        var mirror = t.Mirror(va, Pages);
        t.Kernel.FaultInjection.Arm(FaultPoint.DeviceAlloc);
        var work = DeviceWork.Adds(64, 16, 0, Pages * t.WordsPerPage, 131);
        Assert.Equal(Errno.Ok, mirror.Run(work));
        t.Kernel.FaultInjection.Disarm(FaultPoint.DeviceAlloc);
        Assert.True(t.Kernel.FaultInjection.Injected(FaultPoint.DeviceAlloc) >= Pages);
        Assert.Equal(0, mirror.Counters.MigrationsToDevice);
        Assert.Equal(Expected(work, Pages * t.WordsPerPage), t.CpuRead(va, Pages * t.WordsPerPage));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Frames_that_fail_within_one_batch_allocation_leave_exactly_their_pages_behind(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(Pages);
        var pattern = Enumerable.Range(0, Pages * t.WordsPerPage).Select(i => (i * 7) - 3).ToArray();
        t.CpuWrite(va, pattern);
        var mirror = t.Mirror(va, Pages);

        // Every second frame of the batch fails: exactly those pages stay in system memory.
        t.Kernel.FaultInjection.Arm(FaultPoint.DeviceAlloc, times: Pages / 2, interval: 2);
        Assert.Equal(Errno.ENOENT, mirror.MigrateToDevice(va, Pages));
        Assert.Equal(Pages / 2, t.Kernel.FaultInjection.Injected(FaultPoint.DeviceAlloc));
        Assert.All(Enumerable.Range(0, Pages), p => Assert.Equal(p % 2 == 0 ? 1 : 0, mirror.MigrationsOf(p)));

        // The next migration moves them; every page holds its own words.
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, Pages));
        Assert.All(Enumerable.Range(0, Pages), p => Assert.Equal(1, mirror.MigrationsOf(p)));
        var read = new int[pattern.Length];
        Assert.Equal(Errno.Ok, mirror.Read(va, read));
        Assert.Equal(pattern, read);
        Assert.Equal(pattern, t.CpuRead(va, pattern.Length));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Copy_failure_leaves_each_page_where_it_was_in_both_directions(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(Pages);
        var pattern = Enumerable.Range(0, Pages * t.WordsPerPage).Select(i => (i * 31) + 5).ToArray();
        t.CpuWrite(va, pattern);
        var mirror = t.Mirror(va, Pages);

        t.Kernel.FaultInjection.Arm(FaultPoint.DeviceCopy, interval: 2);
        Assert.Equal(Errno.ENOENT, mirror.MigrateToDevice(va, Pages));
        t.Kernel.FaultInjection.Disarm(FaultPoint.DeviceCopy);
        Assert.Equal(Pages / 2, mirror.Counters.MigrationsToDevice);
        var read = new int[pattern.Length];
        Assert.Equal(Errno.Ok, mirror.Read(va, read));
        Assert.Equal(pattern, read);

        // Back to RAM: the CPU fault's copy fails three times; the fault is retried and reads the right word.
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, Pages));
        t.Kernel.FaultInjection.Arm(FaultPoint.DeviceCopy, times: 3);
        Assert.Equal(pattern, t.CpuRead(va, pattern.Length));
        Assert.Equal(3, t.Kernel.FaultInjection.Injected(FaultPoint.DeviceCopy) - (Pages / 2));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Trylock_failure_skips_the_page_in_migration_and_retries_the_cpu_fault(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(Pages);
        var pattern = Enumerable.Range(0, Pages * t.WordsPerPage).Select(i => i ^ 0x5a5a).ToArray();
        t.CpuWrite(va, pattern);
        var mirror = t.Mirror(va, Pages);

        // The migrate policy tries twice: the two pages skipped the first time move the second.
        t.Kernel.FaultInjection.Arm(FaultPoint.FolioTrylock, times: 2);
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, Pages));
        Assert.Equal(2, t.Kernel.Counters[MmEvent.MigrateFailLocked]);
        Assert.Equal(Pages, mirror.Counters.MigrationsToDevice);
        var read = new int[pattern.Length];
        Assert.Equal(Errno.Ok, mirror.Read(va, read));
        Assert.Equal(pattern, read);

        t.Kernel.FaultInjection.Arm(FaultPoint.FolioTrylock, times: 2);
        var busyBefore = t.Kernel.Counters[MmEvent.FaultDevicePrivateBusy];
        Assert.Equal(pattern, t.CpuRead(va, pattern.Length));
        Assert.Equal(2, t.Kernel.Counters[MmEvent.FaultDevicePrivateBusy] - busyBefore);
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Forced_ebusy_is_retried_until_it_clears_and_every_atomic_lands(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind, nonCoherent: true);
        var va = t.Map(Pages);
        var mirror = t.Mirror(va, Pages, new ExclusivePolicy());
        t.Kernel.FaultInjection.Arm(FaultPoint.Busy, times: 20);
        var work = DeviceWork.Adds(32, 8, 0, Pages * t.WordsPerPage, 257);
        Assert.Equal(Errno.Ok, mirror.Run(work));
        Assert.Equal(20, t.Kernel.FaultInjection.Injected(FaultPoint.Busy));
        Assert.True(mirror.Counters.FaultRetries >= 20, $"{mirror.Counters.FaultRetries} retries");
        Assert.True(mirror.Counters.ExclusiveGrants > 0);
        Assert.Equal(Expected(work, Pages * t.WordsPerPage), t.CpuRead(va, Pages * t.WordsPerPage));
    }

    /// <summary>
    /// A mirror invalidated faster than <c>HmmRangeFault</c> can walk a whole fault run (every fifth
    /// check, one before each walk and one for each page a walk covered, is busy — as CPU threads and
    /// a migration thread invalidate all the time in the stress scenario at 65536 pages; the mirror's
    /// notifier covers its whole range, as test_hmm's does): a walk over 512 pages never finished and the run
    /// failed with -EBUSY once the fault timeout passed; tried again in halves down to a page, each
    /// piece finishes between two injected invalidations and every add lands.
    /// </summary>
    [Fact]
    public void A_range_invalidated_faster_than_it_can_be_walked_is_faulted_in_smaller_pieces()
    {
        const int pages = 512;
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(pages);
        var mirror = t.Mirror(va, pages, new ScriptedPolicy(_ => GpuFaultAction.MapRemote), new MirrorOptions { DevicePages = 64, ChunkPages = 16, FaultBatchSize = pages, FaultTimeout = TimeSpan.FromMilliseconds(300) });
        var work = DeviceWork.Adds(pages, 1, 0, pages * t.WordsPerPage, t.WordsPerPage);
        t.Kernel.FaultInjection.Arm(FaultPoint.Busy, interval: 5);
        var err = mirror.Run(work);
        t.Kernel.FaultInjection.Disarm(FaultPoint.Busy);
        Assert.True(err == Errno.Ok, $"{err}: {mirror.LastError} ({mirror.Counters.FaultRetries} retries)");
        Assert.True(t.Kernel.FaultInjection.Injected(FaultPoint.Busy) > pages / 4);
        Assert.Equal(Expected(work, pages * t.WordsPerPage), t.CpuRead(va, pages * t.WordsPerPage));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void A_non_blockable_invalidation_is_refused_while_the_driver_is_busy_and_loses_nothing(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(Pages);
        var pattern = Enumerable.Range(1, Pages * t.WordsPerPage).ToArray();
        t.CpuWrite(va, pattern);
        var mirror = t.Mirror(va, Pages);
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, Pages));

        using (var holding = new ManualResetEventSlim())
        using (var release = new ManualResetEventSlim())
        {
            var holder = new Thread(() =>
            {
                using (mirror.Mutex.Enter())
                {
                    holding.Set();
                    release.Wait();
                }
            });
            holder.Start();
            holding.Wait();
            Assert.Equal(Errno.EAGAIN, t.Mm.OomReap());
            release.Set();
            holder.Join();
        }

        Assert.Equal(1, mirror.Counters.InvalidationsRefused);
        var read = new int[pattern.Length];
        Assert.Equal(Errno.Ok, mirror.Read(va, read));
        Assert.Equal(pattern, read);

        // Idle, the reaper gets through: the device entries are gone and the private memory with them.
        Assert.Equal(Errno.Ok, t.Mm.OomReap());
        Assert.False(DevicePte.IsValid(mirror.Lookup(va)));
        Assert.Equal(mirror.Pagemap.NrPages, mirror.FreeDevicePages);
        Assert.All(t.CpuRead(va, pattern.Length), v => Assert.Equal(0, v));
    }

    private static Errno ArmedCreate(DriverFixture t, ulong va)
    {
        t.Kernel.FaultInjection.Arm(FaultPoint.DeviceAlloc, times: 1);
        var err = MirrorDevice.Create(t.Mm, t.Runner, va, Pages, new MigratePolicy(), new MirrorOptions { DevicePages = 64, ChunkPages = 16 }, out var mirror);
        Assert.Null(mirror);
        return err;
    }

    private static int[] Expected(DeviceWork work, int words)
    {
        var expected = new int[words];
        for (var i = 0; i < work.Items; i++)
        {
            for (var k = 0; k < work.OpsPerItem; k++)
            {
                expected[work.Target(i, k)] += work.Value;
            }
        }

        return expected;
    }
}
