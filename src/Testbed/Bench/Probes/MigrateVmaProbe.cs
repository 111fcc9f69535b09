using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm.Cpu;
using Testbed.Kernels.Accelerators;
using Testbed.Results;
using Testbed.Scenarios;

namespace Testbed.Bench.Probes;

/// <summary>
/// <c>MigrateVmaSetup/Pages/Finalize</c> from system memory to the device in 2 MiB batches (the
/// driver's <c>MigrateToDevice</c>: collect and unmap, allocate device frames, copy through the
/// accelerator, map) against the physical floor of the same 2 MiB, on one accelerator. On the CPU
/// accelerators the floor is a plain memcpy (DESIGN §7); on a GPU it is a plain host-to-device
/// copy through the accelerator, from pageable host memory like the system arena the migration
/// copies from: the H2D limit that a migration can at best reach. The pages are evicted back
/// (untimed) between batches. The bytes the migrating thread allocates per page are reported too: a
/// per-page allocation on this path shows up as GC suspensions in the profile. So is the split of a
/// migration's time (<see cref="MirrorCounters.CopyToDeviceTime"/>): the copy through the
/// accelerator, to set against the floor, and the bookkeeping around it.
/// </summary>
public sealed class MigrateVmaProbe(AcceleratorEntry device) : IBenchProbe
{
    private const int Pages = 512;

    private readonly bool _memcpy = CopyFloor.IsMemcpy(device);

    /// <inheritdoc/>
    public string Name => "migrate-vma";

    /// <inheritdoc/>
    public string Summary { get; } = $"MigrateVma* system -> device of 2 MiB vs {CopyFloor.Of(device)} of 2 MiB";

    /// <inheritdoc/>
    public IReadOnlyList<BenchTarget> Targets { get; } = BenchSettings.Informational(device) ? [] : [new("ratio", 0.5, AtLeast: true, "x", $"of {CopyFloor.Of(device)}")];

    /// <inheritdoc/>
    public PolicyRun Run(BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var rig = new ScenarioRig(settings.Context(device), LinkCoherence.Native, BenchSettings.Kernel());
        var va = rig.Map(Pages);
        var mirror = rig.Mirror(va, Pages, new MigratePolicy(), new MirrorOptions { DevicePages = Pages, ChunkPages = Pages });
        var bytes = (nuint)Pages * (nuint)rig.PageSize;
        using var floor = new CopyFloor(device, rig.Runner, bytes);
        var floors = new List<double>();
        var migrations = new List<double>();
        var deviceCopies = new List<double>();
        var allocated = 0L;
        using (var cpu = new CpuContext(rig.Mm))
        {
            rig.CpuWrite(cpu, va, Enumerable.Range(0, Pages * rig.WordsPerPage).ToArray());
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (migrations.Count < 5 || (clock.Elapsed < settings.Budget && migrations.Count < 10_000))
        {
            floors.Add(Timing.Once(floor.Copy));
            var err = HostMm.Errno.Ok;
            var before = GC.GetAllocatedBytesForCurrentThread();
            var copied = mirror.Counters.CopyToDeviceTime;
            migrations.Add(Timing.Once(() => err = mirror.MigrateToDevice(va, Pages)));
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
            deviceCopies.Add((mirror.Counters.CopyToDeviceTime - copied).TotalSeconds);
            ScenarioRig.Check(err, $"MigrateToDevice: {mirror.LastError}");
            mirror.EvictAll();
        }

        var copy = Timing.Median(floors);
        var migrate = Timing.Median(migrations);
        var deviceCopy = Timing.Median(deviceCopies);
        return BenchRun.Of(this, device.Kind.Name(), new Dictionary<string, Metric>
        {
            ["ratio"] = new(copy / migrate, "x"),
            [_memcpy ? "memcpy_gb_per_s" : "h2d_gb_per_s"] = new(bytes / copy / 1e9, "GB/s"),
            ["migrate_gb_per_s"] = new(bytes / migrate / 1e9, "GB/s"),
            ["allocated_bytes_per_page"] = new((double)allocated / migrations.Count / Pages, "bytes"),
            ["copy_us"] = new(deviceCopy * 1e6, "us"),
            ["bookkeeping_us"] = new(Math.Max(0, migrate - deviceCopy) * 1e6, "us"),
        }, $"2 MiB on {device.Name}: {CopyFloor.Of(device)} {copy * 1e6:0} µs, MigrateToDevice {migrate * 1e6:0} µs = the copy through the accelerator {deviceCopy * 1e6:0} µs + the rest {Math.Max(0, migrate - deviceCopy) * 1e6:0} µs (medians of {migrations.Count} batches)", rig.TearDown());
    }
}
