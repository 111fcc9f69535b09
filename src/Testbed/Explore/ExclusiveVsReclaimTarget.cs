using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Exclusive;
using Testbed.HostMm.Migrate;

namespace Testbed.Explore;

/// <summary>
/// <c>exclusive-vs-reclaim</c> (seed 000): a device thread makes one page device-exclusive twice
/// (<c>MakeDeviceExclusive</c> under the mmap read lock, then unlock and put the folio, as a driver
/// does after mapping it) while a compaction thread locks and moves the same page twice
/// (<see cref="CompactionAdversary.CompactPage"/>). With <see cref="ExclusiveLocking.TryLock"/> (before
/// the 2025 fix) the explorer finds a schedule in which the device's trylock meets compaction's lock
/// and the call fails with -EBUSY; with <see cref="ExclusiveLocking.LockKillable"/> every call waits
/// and succeeds. A CPU read at the end takes the page back and must see the value written first.
/// </summary>
public sealed class ExclusiveVsReclaimTarget : ExploreTarget
{
    private const int Attempts = 2;

    /// <inheritdoc/>
    public override string Name => "exclusive-vs-reclaim";

    /// <inheritdoc/>
    public override string Summary => "seed 000: MakeDeviceExclusive racing compaction; trylock fails with -EBUSY, lock does not";

    /// <inheritdoc/>
    public override string Buggy => "trylock";

    /// <inheritdoc/>
    public override string Fixed => "lock";

    /// <inheritdoc/>
    public override void Schedule(string variant, ExploreScheduler scheduler)
    {
        var locking = variant == Buggy ? ExclusiveLocking.TryLock : ExclusiveLocking.LockKillable;
        using var world = new ExploreWorld(new HostKernelOptions { ExclusiveLocking = locking });
        const int Value = 0x5eed000;
        var va = world.Map(1, Value);
        var owner = new object();
        world.Kernel.Sync.Scheduler = scheduler;
        ExploreThreads.Run(2, thread =>
        {
            for (var i = 0; i < Attempts; i++)
            {
                if (thread == 1)
                {
                    CompactionAdversary.CompactPage(world.Mm, va, TimeSpan.Zero);
                    scheduler.Completed();
                    continue;
                }

                world.Mm.MmapLock.DownRead();
                var err = DeviceExclusive.MakeDeviceExclusive(world.Mm, va, owner, out var folio, out _);
                world.Mm.MmapLock.UpRead();
                ExploreAssert.That(err == Errno.Ok, $"MakeDeviceExclusive returned {err} (attempt {i + 1}): the folio was locked by compaction");
                folio!.Unlock();
                folio.Put();
                scheduler.Completed();
            }
        });
        world.Kernel.Sync.Scheduler = null;
        using var cpu = new CpuContext(world.Mm);
        var read = cpu.Read(va, out int seen);
        ExploreAssert.That(read == Errno.Ok && seen == Value, $"lost data: the CPU read after the exclusive grants returned {read} and saw 0x{seen:x}, not 0x{Value:x}");
    }
}
