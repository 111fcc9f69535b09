namespace Testbed.HostMm.Mm;

/// <summary>What a page-table entry holds.</summary>
public enum PteKind : byte
{
    /// <summary><c>pte_none()</c>: nothing mapped; the first access faults.</summary>
    None = 0,

    /// <summary><c>pte_present()</c>: a system (or device-coherent) frame the CPU can reach.</summary>
    Present = 1,

    /// <summary>A device-private swap entry: the page lives in device memory; a CPU access faults into <c>DoSwapPage</c>.</summary>
    DevicePrivate = 2,

    /// <summary>A device-exclusive entry: the page stays in RAM but the CPU may not touch it while a device does atomics.</summary>
    DeviceExclusive = 3,

    /// <summary>A migration entry: the page is being moved; a CPU access waits for the move to finish.</summary>
    Migration = 4,
}
