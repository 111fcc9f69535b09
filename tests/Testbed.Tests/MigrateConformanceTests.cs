using Testbed.Driver;
using Testbed.HostMm;
using Testbed.HostMm.Mm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>
/// hmm-tests' migration cases over mixed, shared and released ranges, through the mirror driver on
/// every available accelerator.
/// </summary>
public sealed class MigrateConformanceTests
{
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Migrate_release_evicts_everything_back_to_system_memory(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(4);
        var pattern = Enumerable.Range(0, 4 * t.WordsPerPage).Select(i => i * 3).ToArray();
        t.CpuWrite(va, pattern);
        var mirror = t.Mirror(va, 4);
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, 4));
        Assert.Equal(4, mirror.EvictAll());
        Assert.Equal(mirror.Pagemap.NrPages, mirror.FreeDevicePages);
        Assert.False(DevicePte.IsValid(mirror.Lookup(va)));
        Assert.Equal(pattern, t.CpuRead(va, pattern.Length));
        Assert.Equal(0, mirror.Counters.CpuFaults);
    }

    /// <summary>
    /// The per-page move counts and the stay histogram are kept without an atomic add per page
    /// (each move is counted while it holds the page locked): with the device migrating the range
    /// while a CPU thread keeps faulting it back, every move is still counted exactly once.
    /// </summary>
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public async Task Per_page_move_counts_stay_exact_while_the_cpu_and_the_device_race(AcceleratorKind kind)
    {
        const int pages = 4, rounds = 200, cpuMoves = 20;
        using var t = new DriverFixture(kind);
        var va = t.Map(pages);
        t.CpuWrite(va, new int[pages * t.WordsPerPage]);
        var mirror = t.Mirror(va, pages);
        var deviceDone = false;
        using var cpuStarted = new ManualResetEventSlim();
        var cpu = Task.Run(() =>
        {
            using var context = new HostMm.Cpu.CpuContext(t.Mm);
            var sweeps = 0;
            while (!Volatile.Read(ref deviceDone))
            {
                sweeps++;
                for (var p = 0; p < pages; p++)
                {
                    Assert.Equal(Errno.Ok, context.Write(va + (ulong)(p * t.PageSize), sweeps));
                }

                cpuStarted.Set();
            }

            return sweeps;
        });
        try
        {
            while (!cpuStarted.Wait(10) && !cpu.IsCompleted)
            {
            }

            // At least `rounds` migrations, and on until the CPU has taken pages back a few times
            // (a loaded machine may not run the CPU thread at all during the first ones).
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (var r = 0; (r < rounds || mirror.Counters.MigrationsToRam < cpuMoves) && !cpu.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(30); r++)
            {
                var err = mirror.MigrateToDevice(va, pages);
                Assert.True(err is Errno.Ok or Errno.ENOENT, $"{err}: {mirror.LastError}");
            }
        }
        finally
        {
            Volatile.Write(ref deviceDone, true);
        }

        var lastSweep = await cpu;
        var perPage = Enumerable.Range(0, pages).Select(p => (long)mirror.MigrationsOf(p)).ToArray();
        Assert.True(mirror.Counters.MigrationsToRam >= cpuMoves, $"the CPU took pages back {mirror.Counters.MigrationsToRam} times in 30 s: too little race was run");
        Assert.Equal(mirror.Counters.MigrationsToDevice + mirror.Counters.MigrationsToRam, perPage.Sum());
        Assert.Equal(perPage.Sum() - perPage.Count(n => n > 0), mirror.Counters.Stays().Sum());
        Assert.Equal(Enumerable.Repeat(lastSweep, pages), t.CpuRead(va, pages * t.WordsPerPage).Where((_, i) => i % t.WordsPerPage == 0));
    }

    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Migrate_shared_memory_moves_nothing_and_says_so(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var va = t.Map(2, flags: MmapFlags.Shared);
        t.CpuWrite(va, [7, 8]);
        var mirror = t.Mirror(va, 2);
        Assert.Equal(Errno.ENOENT, mirror.MigrateToDevice(va, 2));
        Assert.Contains("2 of 2 pages", mirror.LastError);
        Assert.Equal(0, mirror.Counters.MigrationsToDevice);
        Assert.Equal([7, 8], t.CpuRead(va, 2));
    }

    /// <summary>
    /// hmm-tests' migrate_mixed: a PROT_NONE range and a range with a hole are refused with -EINVAL;
    /// a read-only zero page, a read-only page and two writable pages all move to device 1. The last
    /// step differs on purpose: hmm-tests expects -ENOENT when device 0 is asked for a page device 1
    /// holds, because dmirror migrates system pages only; this driver brings it over through system
    /// memory, as it does for a device fault (see <see cref="MirrorDevice.MigrateToDevice"/>).
    /// </summary>
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Migrate_mixed_protections_and_a_page_on_the_other_device(AcceleratorKind kind)
    {
        using var t = new DriverFixture(kind);
        var page = (ulong)t.PageSize;
        var p = t.Map(6, Prot.None);
        var dev0 = t.Mirror(p, 6);
        var dev1 = t.Mirror(p, 6, runner: t.NewRunner(kind));
        Assert.Equal(Errno.EINVAL, dev1.MigrateToDevice(p, 6));
        Assert.Equal(Errno.Ok, t.Mm.Munmap(p + page, page));
        Assert.Equal(Errno.EINVAL, dev1.MigrateToDevice(p, 3));
        Assert.Contains($"0x{p:x}", dev1.LastError);

        Assert.Equal(Errno.Ok, t.Mm.Mprotect(p + (2 * page), page, Prot.Read));
        Assert.Equal(0, t.CpuRead(p + (2 * page), 1)[0]);
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(p + (3 * page), page, Prot.ReadWrite));
        t.CpuWrite(p + (3 * page), [3]);
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(p + (3 * page), page, Prot.Read));
        Assert.Equal(Errno.Ok, t.Mm.Mprotect(p + (4 * page), 2 * page, Prot.ReadWrite));
        t.CpuWrite(p + (4 * page), [4]);
        t.CpuWrite(p + (5 * page), [5]);

        Assert.Equal(Errno.Ok, dev1.MigrateToDevice(p + (2 * page), 4));
        Assert.Equal(4, dev1.Counters.MigrationsToDevice);
        Assert.All(Enumerable.Range(2, 4), i => Assert.True(DevicePte.IsDevice(dev1.Lookup(p + ((ulong)i * page)))));
        Assert.Equal(0u, dev1.Lookup(p + (2 * page)) & DevicePte.Write);
        Assert.Equal(0u, dev1.Lookup(p + (3 * page)) & DevicePte.Write);
        Assert.NotEqual(0u, dev1.Lookup(p + (4 * page)) & DevicePte.Write);

        Assert.Equal(Errno.Ok, dev0.MigrateToDevice(p + (5 * page), 1));
        Assert.True(DevicePte.IsDevice(dev0.Lookup(p + (5 * page))));
        Assert.False(DevicePte.IsValid(dev1.Lookup(p + (5 * page))));
        var read = new int[1];
        Assert.Equal(Errno.Ok, dev0.Read(p + (5 * page), read));
        Assert.Equal(5, read[0]);

        Assert.Equal([0, 3, 4, 5], new[] { 2, 3, 4, 5 }.Select(i => t.CpuRead(p + ((ulong)i * page), 1)[0]));
    }

    [Fact]
    public void Last_error_is_per_thread_so_a_failed_migration_elsewhere_leaves_a_run_error_alone()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(2);
        var mirror = t.Mirror(va, 2, new Driver.Policies.MigratePolicy());
        Assert.Equal(Errno.EINVAL, mirror.Run(DeviceWork.Adds(items: 1, opsPerItem: 1, firstWord: 0, span: 3 * t.WordsPerPage, stride: 1)));
        var runError = mirror.LastError;
        Assert.Contains("does not fit the mirrored range", runError, StringComparison.Ordinal);

        string? before = "unset", otherError = null;
        var otherErr = Errno.Ok;
        var other = new Thread(() =>
        {
            before = mirror.LastError;
            otherErr = mirror.MigrateToDevice(va + 1, 1);
            otherError = mirror.LastError;
        });
        other.Start();
        other.Join();

        Assert.Null(before);
        Assert.Equal(Errno.EINVAL, otherErr);
        Assert.Contains("MigrateToDevice", otherError, StringComparison.Ordinal);
        Assert.Equal(runError, mirror.LastError);
    }
}
