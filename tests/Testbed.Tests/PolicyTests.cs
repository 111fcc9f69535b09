using System.Diagnostics;
using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Memory;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>The residency policies' rules, on synthetic timestamps, and their effect through the driver.</summary>
public sealed class PolicyTests
{
    private static readonly long Us = Stopwatch.Frequency / 1_000_000;

    [Fact]
    public void Uvm_thrashing_detects_three_migrations_within_the_lapse_then_gives_the_page_to_one_processor_per_nap()
    {
        var policy = new UvmThrashingPolicy(1);
        var t = 1_000_000 * Us;
        policy.OnMigrated(0, 1, t, 0);
        policy.OnMigrated(0, 0, t + (100 * Us), 0);
        policy.OnMigrated(0, 1, t + (200 * Us), 0);
        Assert.Equal(GpuFaultAction.Migrate, policy.OnGpuFault(1, 0, FaultAccess.Write, t + (250 * Us)));
        policy.OnMigrated(0, 0, t + (300 * Us), 0);
        Assert.Equal(1, policy.ThrashingDetected);

        // The device's fault opens a throttling period in which it keeps the page; the CPU waits it out.
        Assert.Equal(GpuFaultAction.Migrate, policy.OnGpuFault(1, 0, FaultAccess.Write, t + (350 * Us)));
        policy.OnMigrated(0, 1, t + (360 * Us), 0);
        var cpu = policy.OnCpuFault(0, t + (400 * Us));
        Assert.False(cpu.Migrate);
        Assert.Equal(450 * Us, cpu.WaitTicks);
        Assert.False(policy.OnCpuFault(0, t + (500 * Us)).Migrate);
        Assert.Equal(1, policy.Throttles);
        Assert.Equal(policy.ThrottledUntil(0), t + (850 * Us));

        // The next period is the CPU's: it migrates, and the device is throttled until it ends.
        Assert.True(policy.OnCpuFault(0, t + (855 * Us)).Migrate);
        policy.OnMigrated(0, 0, t + (860 * Us), 0);
        Assert.Equal(GpuFaultAction.Throttle, policy.OnGpuFault(1, 0, FaultAccess.Write, t + (900 * Us)));
        Assert.Equal(t + (1355 * Us), policy.ThrottledUntil(0));
        Assert.Equal(2, policy.Throttles);
        Assert.Equal(0, policy.Pins);
    }

    [Fact]
    public void Uvm_thrashing_forgets_a_page_that_migrates_slowly_but_keeps_its_throttles_and_pins_it_after_ten()
    {
        var policy = new UvmThrashingPolicy(1);
        var t = 1_000_000 * Us;
        for (var cycle = 1; cycle <= 9; cycle++, t += 2000 * Us)
        {
            ThrashOnce(policy, t);
            Assert.Equal(cycle, policy.Throttles);

            // A migration after more than the lapse: no longer thrashing, and not throttled any more.
            policy.OnMigrated(0, 1, t + (1000 * Us), 0);
            Assert.Equal(GpuFaultAction.Migrate, policy.OnGpuFault(1, 0, FaultAccess.Write, t + (1010 * Us)));
            Assert.True(policy.OnCpuFault(0, t + (1020 * Us)).Migrate);
            Assert.Equal(cycle, policy.ThrashingDetected);
        }

        // The tenth throttle; then the processor not throttled in the period pins the page.
        ThrashOnce(policy, t);
        Assert.Equal(10, policy.Throttles);
        policy.OnGpuFault(1, 0, FaultAccess.Write, t + (400 * Us));
        policy.OnCpuFault(0, t + (410 * Us));
        Assert.Equal(1, policy.Pins);
        Assert.Equal(GpuFaultAction.MapRemote, policy.OnGpuFault(1, 0, FaultAccess.Write, t + (100_000 * Us)));
        Assert.True(policy.OnCpuFault(0, t + (100_000 * Us)).Migrate);
        Assert.Equal(GpuFaultAction.Migrate, policy.OnGpuFault(1, 0, FaultAccess.Write, t + (151_000 * Us)));
    }

    [Fact]
    public void Uvm_thrashing_ignores_migrations_further_apart_than_the_lapse_and_validates_its_options()
    {
        var policy = new UvmThrashingPolicy(1);
        var now = 1_000_000 * Us;
        for (var n = 0; n < 20; n++, now += 600 * Us)
        {
            Assert.Equal(GpuFaultAction.Migrate, policy.OnGpuFault(1, 0, FaultAccess.Read, now));
            policy.OnMigrated(0, n % 2, now + (10 * Us), 0);
        }

        Assert.Equal(0, policy.ThrashingDetected);
        Assert.Equal(0, policy.Throttles);
        Assert.Throws<ArgumentException>(() => new UvmThrashingPolicy(1, new UvmThrashingOptions { Threshold = 8 }));
        Assert.Throws<ArgumentException>(() => new UvmThrashingPolicy(1, new UvmThrashingOptions { Lapse = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => policy.OnGpuFault(MirrorOptions.MaxProcessorId + 1, 0, FaultAccess.Read, now));
    }

    [Fact]
    public void Uvm_thrashing_resets_a_thrashing_page_on_a_user_migration_and_leaves_other_pages_history_alone()
    {
        var policy = new UvmThrashingPolicy(2);
        var t = 1_000_000 * Us;

        // Page 1 is not thrashing: a user migration between its fault migrations is no event, and
        // the next fault migration is measured from the one before it (550 µs: past the lapse).
        policy.OnMigrated(1, 1, t, 0);
        policy.OnMigrated(1, 0, t + (100 * Us), 0);
        policy.OnUserMigrated(1, 1, t + (500 * Us));
        policy.OnMigrated(1, 0, t + (650 * Us), 0);
        policy.OnMigrated(1, 1, t + (700 * Us), 0);
        Assert.Equal(0, policy.ThrashingDetected);

        // Page 0 is thrashing and throttled: the user's migration clears it, so the throttled
        // processor may migrate at once and the next fault migration starts a new history.
        ThrashOnce(policy, t);
        Assert.Equal(1, policy.ThrashingDetected);
        policy.OnUserMigrated(0, 1, t + (370 * Us));
        Assert.Equal(GpuFaultAction.Migrate, policy.OnGpuFault(1, 0, FaultAccess.Write, t + (380 * Us)));
        Assert.True(policy.OnCpuFault(0, t + (390 * Us)).Migrate);
        for (var i = 0; i < 3; i++)
        {
            policy.OnMigrated(0, i % 2, t + ((400 + (i * 10)) * Us), 0);
        }

        Assert.Equal(1, policy.ThrashingDetected);
        policy.OnMigrated(0, 1, t + (430 * Us), 0);
        Assert.Equal(2, policy.ThrashingDetected);
        Assert.Throws<ArgumentOutOfRangeException>(() => policy.OnUserMigrated(0, MirrorOptions.MaxProcessorId + 1, t));
    }

    [Fact]
    public void Uvm_thrashing_counts_a_hop_between_devices_once_and_never_throttles_its_staging_leg()
    {
        var policy = new UvmThrashingPolicy(1);
        var t = 1_000_000 * Us;

        // Device 1 -> 2 -> 1 -> 2 within the lapse, each hop staged through system memory: one
        // event a hop, thrashing on the third (counting the first legs too, it was on the second).
        policy.OnMigrated(0, 1, t, 0);
        for (var hop = 1; hop <= 3; hop++)
        {
            var to = 1 + (hop % 2);
            Assert.True(policy.OnStagingFault(to, 0, t + (hop * 100 * Us) - (50 * Us)).Migrate);
            policy.OnStaged(0, to, t + (hop * 100 * Us) - (40 * Us));
            policy.OnMigrated(0, to, t + (hop * 100 * Us), 0);
            Assert.Equal(hop == 3 ? 1 : 0, policy.ThrashingDetected);
        }

        // Device 1's fault opens a throttling period in which it keeps the page: it migrates at once,
        // staging included, while device 2 and the CPU wait.
        Assert.Equal(GpuFaultAction.Migrate, policy.OnGpuFault(1, 0, FaultAccess.Write, t + (350 * Us)));
        Assert.True(policy.OnStagingFault(1, 0, t + (355 * Us)).Migrate);
        Assert.Equal(GpuFaultAction.Throttle, policy.OnGpuFault(2, 0, FaultAccess.Write, t + (360 * Us)));
        Assert.False(policy.OnCpuFault(0, t + (370 * Us)).Migrate);
        Assert.Throws<ArgumentOutOfRangeException>(() => policy.OnStaged(0, MirrorOptions.MaxProcessorId + 1, t));
        Assert.Throws<ArgumentOutOfRangeException>(() => policy.OnStagingFault(MirrorOptions.MaxProcessorId + 1, 0, t));
    }

    [Fact]
    public void The_driver_tells_the_policy_which_migrations_the_user_asked_for()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(2);
        var policy = new ScriptedPolicy(_ => GpuFaultAction.Migrate);
        var mirror = t.Mirror(va, 2, policy, new MirrorOptions { DevicePages = 16, ChunkPages = 16 });
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, 1));
        Assert.Equal(Errno.Ok, mirror.Run(DeviceWork.Adds(items: 1, opsPerItem: 1, firstWord: t.WordsPerPage, span: 1, stride: 1)));
        Assert.Equal([0], t.CpuRead(va, 1));
        Assert.Equal([(0L, 1, true), (1L, 1, false), (0L, 0, false)], policy.Migrations);
    }

    [Fact]
    public void Timeslice_refuses_a_cpu_migration_before_expiry_and_doubles_per_retry()
    {
        var policy = new TimeslicePolicy(2);
        var now = 1_000_000 * Us;
        policy.OnMigrated(0, 1, now, attempt: 0);
        var early = policy.OnCpuFault(0, now + (1000 * Us));
        Assert.False(early.Migrate);
        Assert.Equal(4000 * Us, early.WaitTicks);
        Assert.Equal(early, ((IResidencyPolicy)policy).OnStagingFault(2, 0, now + (1000 * Us)));
        Assert.True(policy.OnCpuFault(0, now + (5000 * Us)).Migrate);
        policy.OnMigrated(1, 1, now, attempt: 2);
        Assert.False(policy.OnCpuFault(1, now + (19_000 * Us)).Migrate);
        Assert.True(policy.OnCpuFault(1, now + (20_000 * Us)).Migrate);
        policy.OnMigrated(0, 0, now, attempt: 0);
        Assert.Equal(GpuFaultAction.MapRemote, policy.OnGpuFault(1, 0, FaultAccess.Write, now + (1000 * Us)));
        Assert.Equal(GpuFaultAction.Migrate, policy.OnGpuFault(1, 0, FaultAccess.Write, now + (6000 * Us)));
    }

    [Fact]
    public void Timeslice_makes_an_early_cpu_touch_wait_for_expiry_through_the_driver()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(1);
        var mirror = t.Mirror(va, 1, new TimeslicePolicy(1, TimeSpan.FromMilliseconds(50)), new MirrorOptions { DevicePages = 16, ChunkPages = 16 });
        Assert.Equal(Errno.Ok, mirror.Run(DeviceWork.Adds(1, 1, 0, 1, 1)));
        var clock = Stopwatch.StartNew();
        Assert.Equal([1], t.CpuRead(va, 1));
        Assert.True(clock.ElapsedMilliseconds >= 25, $"the CPU got the page after {clock.ElapsedMilliseconds} ms");
        Assert.True(mirror.Counters.CpuFaultsDeferred >= 1);
        Assert.Equal(1, mirror.Counters.MigrationsToRam);
    }

    [Fact]
    public void Migrate_does_not_map_remotely_a_page_the_cpu_took_back_while_the_device_fault_was_serviced()
    {
        const int pages = 16;
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(pages);
        var mirror = t.Mirror(va, pages, new MigratePolicy(), new MirrorOptions { DevicePages = 2 * pages, ChunkPages = pages });
        var stop = 0;
        var sweeps = 0;
        var cpu = new Thread(() =>
        {
            using var c = new CpuContext(t.Mm);
            while (Volatile.Read(ref stop) == 0)
            {
                for (var p = 0; p < pages; p++)
                {
                    Assert.Equal(Errno.Ok, c.AtomicAdd(va + (ulong)((p * t.PageSize) + sizeof(int)), 1, out int _));
                }

                Interlocked.Increment(ref sweeps);
            }
        });
        cpu.Start();
        SpinWait.SpinUntil(() => Volatile.Read(ref sweeps) > 0, TimeSpan.FromSeconds(30));

        // At least 300 rounds, and on a loaded machine until the CPU thread has taken pages back often.
        var remote = 0;
        var rounds = 0;
        var clock = Stopwatch.StartNew();
        for (; rounds < 300 || (mirror.Counters.MigrationsToRam < 10 * pages && clock.Elapsed < TimeSpan.FromSeconds(30)); rounds++)
        {
            Assert.Equal(Errno.Ok, mirror.Run(DeviceWork.Adds(items: pages, opsPerItem: 1, firstWord: 0, span: pages * t.WordsPerPage, stride: t.WordsPerPage)));
            for (var p = 0; p < pages; p++)
            {
                var entry = mirror.Lookup(va + (ulong)(p * t.PageSize));
                remote += DevicePte.IsValid(entry) && !DevicePte.IsDevice(entry) ? 1 : 0;
            }
        }

        Volatile.Write(ref stop, 1);
        cpu.Join();
        Assert.Equal(0, remote);
        Assert.True(mirror.Counters.MigrationsToRam >= 10 * pages, $"the CPU took pages back {mirror.Counters.MigrationsToRam} times in {rounds} rounds");
        var words = t.CpuRead(va, pages * t.WordsPerPage);
        for (var p = 0; p < pages; p++)
        {
            Assert.Equal((rounds, sweeps), (words[p * t.WordsPerPage], words[(p * t.WordsPerPage) + 1]));
        }
    }

    [Fact]
    public void Policies_are_created_by_name()
    {
        Assert.All(ResidencyPolicies.Names, n => Assert.Equal(n, ResidencyPolicies.Create(n, 4)!.Name));
        Assert.Null(ResidencyPolicies.Create("lru", 4));
        Assert.Equal(PageKind.DeviceCoherent, ResidencyPolicies.Create("coherent", 4)!.DeviceMemoryKind);
    }

    [Fact]
    public void Coherent_memory_is_mapped_by_the_cpu_without_faults()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(4);
        var mirror = t.Mirror(va, 4, new CoherentPolicy());
        Assert.Equal(Errno.Ok, mirror.Run(DeviceWork.Adds(items: 16, opsPerItem: 8, firstWord: 0, span: 4 * t.WordsPerPage, stride: t.WordsPerPage)));
        Assert.Equal(4, mirror.Counters.MigrationsToDevice);
        var words = t.CpuRead(va, 4 * t.WordsPerPage);
        Assert.Equal(128, words.Sum());
        Assert.Equal(0, mirror.Counters.CpuFaults);
        Assert.True(DevicePte.IsDevice(mirror.Lookup(va)));
    }

    [Fact]
    public void Coherent_memory_needs_a_coherent_link()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu, nonCoherent: true);
        var va = t.Map(1);
        Assert.Equal(Errno.EOPNOTSUPP, MirrorDevice.Create(t.Mm, t.Runner, va, 1, new CoherentPolicy(), new MirrorOptions(), out _));
    }

    /// <summary>
    /// Four migrations 100 µs apart from <paramref name="t"/> (the page thrashes), then a device
    /// fault and a CPU fault in the same throttling period: exactly one of them is throttled.
    /// </summary>
    private static void ThrashOnce(UvmThrashingPolicy policy, long t)
    {
        for (var i = 0; i < 4; i++)
        {
            policy.OnMigrated(0, i % 2, t + (i * 100 * Us), 0);
        }

        var gpuThrottled = policy.OnGpuFault(1, 0, FaultAccess.Write, t + (350 * Us)) == GpuFaultAction.Throttle;
        var cpuThrottled = !policy.OnCpuFault(0, t + (360 * Us)).Migrate;
        Assert.True(gpuThrottled != cpuThrottled, $"device throttled: {gpuThrottled}, CPU throttled: {cpuThrottled}");
    }
}
