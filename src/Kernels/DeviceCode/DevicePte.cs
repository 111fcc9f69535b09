namespace Testbed.Kernels.DeviceCode;

/// <summary>
/// The 32-bit device page-table entry of DESIGN §4.1, one per virtual page of the mirrored range:
/// what a GPU's page-table walker reads (<see cref="DeviceMirror"/> in kernels; the driver writes
/// them). Bits 31..28 are valid, write, atomic and location (set: a frame of this device's memory;
/// clear: a system frame); bits 27..0 the frame index (a system pfn, or a frame within this
/// device's memory).
/// </summary>
/// <remarks>
/// The atomic bit is separate from write because a PCIe-like link cannot make a device atomic on
/// system memory atomic with respect to the CPU: the driver grants it on a system frame only when the
/// link is coherent, when the page is device-exclusive, or when the exclusivity protocol is off.
/// </remarks>
public static class DevicePte
{
    /// <summary>The entry translates.</summary>
    public const uint Valid = 1u << 31;

    /// <summary>Stores are allowed.</summary>
    public const uint Write = 1u << 30;

    /// <summary>Atomics are allowed.</summary>
    public const uint Atomic = 1u << 29;

    /// <summary>The frame is in this device's memory.</summary>
    public const uint Device = 1u << 28;

    /// <summary>
    /// Valid clear, write and atomic set — an entry no mapping produces: the page took a fatal fault
    /// in the current run, so an access to it cancels the work item instead of faulting again (UVM's
    /// targeted fault cancel). The driver clears it when the run ends.
    /// </summary>
    public const uint Fatal = Write | Atomic;

    /// <summary>The frame index bits.</summary>
    public const uint FrameMask = Device - 1;

    /// <summary>The largest frame index an entry holds.</summary>
    public const long MaxFrame = FrameMask;

    /// <summary>An entry for <paramref name="frame"/> with the given permissions.</summary>
    public static uint Make(long frame, bool device, bool write, bool atomic)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(frame);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(frame, MaxFrame);
        return Valid | (uint)frame | (device ? Device : 0) | (write ? Write : 0) | (atomic ? Atomic : 0);
    }

    /// <summary>Whether <paramref name="entry"/> translates.</summary>
    public static bool IsValid(uint entry) => (entry & Valid) != 0;

    /// <summary>Whether <paramref name="entry"/> names a frame of device memory.</summary>
    public static bool IsDevice(uint entry) => (entry & Device) != 0;
}
