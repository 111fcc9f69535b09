using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Explore;

/// <summary>
/// <c>owner-filter</c> (seed 002): the mirror driver runs device atomics on two pages under the
/// <c>exclusive</c> policy over a non-coherent link, so each device fault makes its page
/// device-exclusive, and <c>MakeDeviceExclusive</c>'s own invalidation reaches the driver's notifier;
/// a CPU thread reads the same pages meanwhile, taking them back. With owner filtering off the driver's
/// <c>ReadRetry</c> loop sees its own invalidation on every attempt and never converges: the explorer
/// reports the livelock. With it on, every schedule completes and the words hold exactly the device's
/// adds.
/// </summary>
public sealed class OwnerFilterTarget : ExploreTarget
{
    private const int Pages = 2;

    /// <inheritdoc/>
    public override string Name => "owner-filter";

    /// <inheritdoc/>
    public override string Summary => "seed 002: exclusive device atomics with the notifier's owner filter off (never converges) and on";

    /// <inheritdoc/>
    public override string Buggy => "off";

    /// <inheritdoc/>
    public override string Fixed => "on";

    /// <inheritdoc/>
    public override void Schedule(string variant, ExploreScheduler scheduler)
    {
        using var world = new ExploreWorld(nonCoherent: true);
        var va = world.Map(Pages, 0);
        var mirror = world.Mirror(va, Pages, new ExclusivePolicy(), new MirrorOptions { FilterOwnerEvents = variant == Fixed });
        var wpp = world.Mm.PageSize / sizeof(int);
        var work = DeviceWork.Adds(items: Pages, opsPerItem: 1, firstWord: 1, span: ((long)Pages * wpp) - 1, stride: wpp);
        world.Kernel.Sync.Scheduler = scheduler;
        ExploreThreads.Run(2, thread =>
        {
            if (thread == 0)
            {
                var err = mirror.Run(work);
                ExploreAssert.That(err == Errno.Ok, $"the device's run returned {err}: {mirror.LastError}");
            }
            else
            {
                using var cpu = new CpuContext(world.Mm);
                for (var p = 0; p < Pages; p++)
                {
                    ExploreWorld.Check(cpu.Read(va + ((ulong)p * (ulong)world.Mm.PageSize), out int _), "CPU read");
                }
            }

            scheduler.Completed();
        });
        world.Kernel.Sync.Scheduler = null;
        using var check = new CpuContext(world.Mm);
        for (var p = 0; p < Pages; p++)
        {
            ExploreWorld.Check(check.Read(va + ((ulong)p * (ulong)world.Mm.PageSize) + sizeof(int), out int seen), "CPU read");
            ExploreAssert.That(seen == 1, $"lost update: page {p}'s word 1 is {seen} after one device add");
        }
    }
}
