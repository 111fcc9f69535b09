namespace Testbed.HostMm.Memory;

/// <summary>
/// Where a frame's bytes live (the kernel's <c>MEMORY_DEVICE_*</c> pagemap types plus ordinary RAM).
/// </summary>
public enum PageKind
{
    /// <summary>Ordinary system RAM: a frame of the <see cref="PhysicalMemory"/> arena.</summary>
    System,

    /// <summary>ZONE_DEVICE memory the CPU cannot map (<c>MEMORY_DEVICE_PRIVATE</c>): a CPU access faults and migrates it back.</summary>
    DevicePrivate,

    /// <summary>ZONE_DEVICE memory the CPU maps directly (<c>MEMORY_DEVICE_COHERENT</c>: CXL, MI300A, Grace Hopper).</summary>
    DeviceCoherent,
}
