using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Runners;

namespace Testbed.Driver;

/// <summary>How one <see cref="MirrorDevice"/> is set up; each value says which driver knob it models.</summary>
public sealed record MirrorOptions
{
    /// <summary>Device memory in pages (what <c>MemremapPages</c> registers).</summary>
    public int DevicePages { get; init; } = 1024;

    /// <summary>Pages per chunk, the unit of eviction (UVM's 2 MiB root chunk: 512 pages of 4 KiB).</summary>
    public int ChunkPages { get; init; } = 512;

    /// <summary>
    /// 2 MiB device folios (UVM's big pages, AMD's 2 MiB granularity): migrations select compound
    /// pages (<c>MIGRATE_VMA_SELECT_COMPOUND</c>), a THP moves whole into a 2 MiB device folio — a whole
    /// free chunk — and back into a THP, falling back to 4 KiB frames (splitting it) when none is free;
    /// and a device fault that migrates migrates the whole aligned 2 MiB block. Needs 512-page chunks.
    /// </summary>
    public bool Thp { get; init; }

    /// <summary>Faults serviced per batch after coalescing (UVM's default fault batch, 256).</summary>
    public int FaultBatchSize { get; init; } = 256;

    /// <summary>Fault records the device buffer holds per launch; faults past it are dropped and re-fault on replay.</summary>
    public int FaultBufferCapacity { get; init; } = 4096;

    /// <summary>The most operations a work item performs per launch, which bounds how long an invalidation waits.</summary>
    public int OpsPerLaunch { get; init; } = 64;

    /// <summary>Skip <c>Migrate</c> and <c>Exclusive</c> invalidations this device caused (seed 002 turns it off).</summary>
    public bool FilterOwnerEvents { get; init; } = true;

    /// <summary>
    /// The exclusivity protocol: on a non-coherent link, device atomics on system pages get a
    /// device-exclusive mapping. Off, they are mapped remotely and race the CPU (lost updates).
    /// </summary>
    public bool ExclusiveAtomics { get; init; } = true;

    /// <summary>Serialise migrations of the same 2 MiB block with a driver range lock, as UVM does.</summary>
    public bool SerializeMigrations { get; init; } = true;

    /// <summary>How long servicing one fault may keep retrying (<c>HMM_RANGE_DEFAULT_TIMEOUT</c>, 1000 ms).</summary>
    public TimeSpan FaultTimeout { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>
    /// How long <see cref="MirrorDevice.Run"/> may keep replaying without any work item advancing
    /// before it gives up with -EBUSY (10 s): a policy that throttles a fault forever, or pages taken
    /// back before every relaunch, is a livelock to report, not a hang. Checked once per period, from
    /// the items' progress counters, so a run that stopped advancing midway gives up within two
    /// periods.
    /// </summary>
    public TimeSpan ReplayStallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where a fault batch is sorted and coalesced: <see cref="FaultSortPlace.Auto"/> on the device for
    /// GPUs (ILGPU.Algorithms' radix sort and unique, so only distinct faults cross back), by the host
    /// elsewhere, as UVM's host-side batch preparation does.
    /// </summary>
    public FaultSortPlace FaultSort { get; init; } = FaultSortPlace.Auto;

    /// <summary>The smallest batch sorted on the device when <see cref="FaultSort"/> puts it there; smaller ones cost less to copy back whole.</summary>
    public int DeviceFaultSortMinimum { get; init; } = 256;

    /// <summary>This device's processor id for policies (1 to <see cref="MaxProcessorId"/>; 0 is the CPU).</summary>
    public int ProcessorId { get; init; } = 1;

    /// <summary>The highest processor id: policies keep per-page processor masks of 64 bits (UVM's hold 33 processors).</summary>
    public const int MaxProcessorId = 63;

    /// <summary>Null when the options are usable, else what is wrong.</summary>
    public string? Validate() =>
        DevicePages <= 0 ? "device pages must be positive"
        : ChunkPages <= 0 || DevicePages % ChunkPages != 0 ? $"device pages ({DevicePages}) must be a positive multiple of chunk pages ({ChunkPages})"
        : Thp && ChunkPages != MirrorDevice.RangeBlockPages ? $"THP needs chunks of {MirrorDevice.RangeBlockPages} pages, one 2 MiB device folio each (chunk pages: {ChunkPages})"
        : FaultBatchSize <= 0 ? "fault batch size must be positive"
        : FaultBufferCapacity <= 0 ? "fault buffer capacity must be positive"
        : OpsPerLaunch <= 0 ? "ops per launch must be positive"
        : FaultTimeout <= TimeSpan.Zero ? "fault timeout must be positive"
        : ReplayStallTimeout <= TimeSpan.Zero ? "replay stall timeout must be positive"
        : ProcessorId is <= 0 or > MaxProcessorId ? $"processor id must be 1 to {MaxProcessorId} (0 is the CPU)"
        : DeviceFaultSortMinimum <= 0 ? "the device fault sort minimum must be positive"
        : !Enum.IsDefined(FaultSort) ? $"fault sort {FaultSort} is not a place"
        : null;

    /// <summary>Whether a mirror on <paramref name="runner"/> sorts fault batches on the device; <see cref="ArgumentException"/> when <see cref="FaultSortPlace.Device"/> is asked of a runner that cannot.</summary>
    public bool SortsFaultsOnDevice(KernelRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        return FaultSort switch
        {
            FaultSortPlace.Host => false,
            FaultSortPlace.Device when !runner.RunsAlgorithms => throw new ArgumentException($"MirrorOptions: fault sort on the device needs ILGPU.Algorithms, which do not run on {runner.Kind.Name()}.", nameof(runner)),
            FaultSortPlace.Device => true,
            _ => runner.Kind is AcceleratorKind.Cuda or AcceleratorKind.OpenCl,
        };
    }
}
