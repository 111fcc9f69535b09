using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Mm;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Explore;

/// <summary>
/// <c>exclusivity</c>: the mirror driver (remote policy) runs device atomic adds on one system page
/// over an emulated non-coherent link while a CPU thread adds to the same word. The property checked
/// after every CPU add is the exclusivity protocol's own: the CPU may hold the page mapped only while
/// no device page-table entry lets the device do atomics on that system frame across the link (the
/// state in which a device read-modify-write and a CPU add overlap and one is lost). With the
/// protocol off the explorer finds a schedule in which the device mapped the page for atomics and the
/// CPU then wrote it; with it on (device-exclusive entries), the CPU's fault always takes the device's
/// entry away first. The totals must also come out exact.
/// </summary>
/// <remarks>
/// The lost update itself needs a CPU add inside one device atomic's read, delay and write; that runs
/// in kernel code, which has no scheduling points (it must compile for every backend), so a
/// serialising scheduler never splits it. The explorer therefore checks the state that permits the loss;
/// the <c>exclusivity</c> scenario counts the losses themselves on free-running threads.
/// </remarks>
public sealed class ExclusivityTarget : ExploreTarget
{
    private const int Adds = 2;

    /// <inheritdoc/>
    public override string Name => "exclusivity";

    /// <inheritdoc/>
    public override string Summary => "CPU and device atomics on one word over a non-coherent link; the protocol off lets the device map a CPU-writable page for atomics, on never does";

    /// <inheritdoc/>
    public override string Buggy => "off";

    /// <inheritdoc/>
    public override string Fixed => "on";

    /// <inheritdoc/>
    public override void Schedule(string variant, ExploreScheduler scheduler)
    {
        using var world = new ExploreWorld(nonCoherent: true);
        var va = world.Map(1, 0);
        var mirror = world.Mirror(va, 1, new RemotePolicy(), new MirrorOptions { ExclusiveAtomics = variant == Fixed });
        var work = DeviceWork.Adds(items: 1, opsPerItem: Adds, firstWord: 0, span: 1, stride: 1);
        world.Kernel.Sync.Scheduler = scheduler;
        ExploreThreads.Run(2, thread =>
        {
            if (thread == 0)
            {
                var err = mirror.Run(work);
                ExploreAssert.That(err == Errno.Ok, $"the device's run returned {err}: {mirror.LastError}");
                scheduler.Completed();
                return;
            }

            using var cpu = new CpuContext(world.Mm);
            for (var i = 0; i < Adds; i++)
            {
                ExploreWorld.Check(cpu.AtomicAdd(va, 1, out int _), "CPU atomic add");
                var entry = mirror.Lookup(va);
                var racy = DevicePte.IsValid(entry) && (entry & DevicePte.Atomic) != 0 && !DevicePte.IsDevice(entry) && world.Mm.GetPte(va).Kind == PteKind.Present;
                ExploreAssert.That(!racy, $"exclusivity: after CPU add {i + 1} the CPU maps the page while the device's entry 0x{entry:x8} allows atomics on the same system frame across the non-coherent link: a device add overlapping this one is lost");
                scheduler.Completed();
            }
        });
        world.Kernel.Sync.Scheduler = null;
        using var check = new CpuContext(world.Mm);
        ExploreWorld.Check(check.Read(va, out int total), "CPU read");
        ExploreAssert.That(total == 2 * Adds, $"lost update: the word holds {total} after {Adds} CPU and {Adds} device adds");
    }
}
