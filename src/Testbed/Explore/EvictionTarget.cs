using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;

namespace Testbed.Explore;

/// <summary>
/// <c>eviction</c> (seed 004): two pages live in the mirror driver's device memory; one thread
/// evicts every device page with <c>MigrateDeviceRange</c> (physical frames and the reverse map, no
/// VMA) while a CPU thread reads both pages back. In the <c>holding</c> baseline the evicting driver
/// holds <c>mirror-&gt;mutex</c> — the lock its own invalidate callback takes — across the eviction,
/// the shape the 2024 gpusvm review rejected: the explorer finds the lock validator's report (the
/// callback re-taking the mutex under the eviction's unmap) or a deadlock with the CPU fault's
/// migration. In the <c>unlocked</c> variant the driver evicts as it does (and as gpusvm does), with
/// no driver lock held. Both pages must read back the values written before they moved.
/// </summary>
public sealed class EvictionTarget : ExploreTarget
{
    private const int Pages = 2;

    /// <inheritdoc/>
    public override string Name => "eviction";

    /// <inheritdoc/>
    public override string Summary => "seed 004: device eviction racing CPU faults; evicting while holding the invalidate lock is reported, evicting without it is clear";

    /// <inheritdoc/>
    public override string Buggy => "holding";

    /// <inheritdoc/>
    public override string Fixed => "unlocked";

    /// <inheritdoc/>
    public override void Schedule(string variant, ExploreScheduler scheduler)
    {
        using var world = new ExploreWorld();
        const int Value = 0x5eed004;
        var va = world.Map(Pages, Value);
        var mirror = world.Mirror(va, Pages, new MigratePolicy());
        ExploreWorld.Check(mirror.MigrateToDevice(va, Pages), "MigrateToDevice");
        world.Kernel.Sync.Scheduler = scheduler;
        ExploreThreads.Run(2, thread =>
        {
            if (thread == 0)
            {
                if (variant == Buggy)
                {
                    using (mirror.Mutex.Enter())
                    {
                        mirror.EvictAll();
                    }
                }
                else
                {
                    mirror.EvictAll();
                }
            }
            else
            {
                using var cpu = new CpuContext(world.Mm);
                for (var p = 0; p < Pages; p++)
                {
                    var err = cpu.Read(va + ((ulong)p * (ulong)world.Mm.PageSize), out int seen);
                    ExploreAssert.That(err == Errno.Ok && seen == Value + p, $"lost data: page {p} read {err}, 0x{seen:x}, not 0x{Value + p:x}");
                }
            }

            scheduler.Completed();
        });
        world.Kernel.Sync.Scheduler = null;
    }
}
