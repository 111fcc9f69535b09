using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Mm;

namespace Testbed.Explore;

/// <summary>
/// <c>swap-fault</c> (seed 001): <see cref="Threads"/> CPU threads read one device-private page at
/// once, so every one enters <c>DoSwapPage</c>. Under <see cref="SwapFaultLocking.Legacy"/> (get_page,
/// then <c>migrate_to_ram</c> with no lock) each fault's reference makes the others' migrations fail
/// on extra references and they all retry: the explorer finds a schedule in which no read completes
/// (a livelock). Under <see cref="SwapFaultLocking.Locked"/> (the 2024 fix: trylock first, wait
/// without a reference) one migration succeeds in every schedule. Every read must see the value
/// written before the page moved to the device. The driver runs without its per-range migration lock,
/// as lib/test_hmm.c's dmirror does (the lock is UVM's own mitigation).
/// </summary>
public sealed class SwapFaultTarget(int threads) : ExploreTarget
{
    /// <summary>Faulting threads (2 to 4).</summary>
    public int Threads { get; } = threads;

    /// <inheritdoc/>
    public override string Name => "swap-fault";

    /// <inheritdoc/>
    public override string Summary => $"seed 001: {Threads} CPU threads fault one device-private page; legacy DoSwapPage livelocks, locked does not";

    /// <inheritdoc/>
    public override string Buggy => "legacy";

    /// <inheritdoc/>
    public override string Fixed => "locked";

    /// <inheritdoc/>
    public override void Schedule(string variant, ExploreScheduler scheduler)
    {
        var locking = variant == Buggy ? SwapFaultLocking.Legacy : SwapFaultLocking.Locked;
        using var world = new ExploreWorld(new HostKernelOptions { SwapFaultLocking = locking });
        const int Value = 0x5eed001;
        var va = world.Map(1, Value);
        var mirror = world.Mirror(va, 1, new MigratePolicy(), new MirrorOptions { SerializeMigrations = false });
        ExploreWorld.Check(mirror.MigrateToDevice(va, 1), "MigrateToDevice");
        ExploreAssert.That(world.Mm.GetPte(va).Kind == PteKind.DevicePrivate, "harness: the page did not move to the device");
        world.Kernel.Sync.Scheduler = scheduler;
        ExploreThreads.Run(Threads, _ =>
        {
            using var cpu = new CpuContext(world.Mm);
            var err = cpu.Read(va, out int seen);
            ExploreAssert.That(err == Errno.Ok && seen == Value, $"lost data: a faulting read returned {err} and saw 0x{seen:x}, not 0x{Value:x}");
            scheduler.Completed();
        });
        world.Kernel.Sync.Scheduler = null;
    }
}
