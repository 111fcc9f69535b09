using Testbed.HostMm;

namespace Testbed.Driver;

/// <summary>
/// A device fault the driver could not service because the CPU's own mapping forbids the access — no
/// VMA at the address (-EFAULT), or no permission for it (-EPERM, or -EFAULT from
/// <c>MakeDeviceExclusive</c>'s write lookup). As UVM does with a fatal fault, the driver does not
/// replay it: it cancels the work items that access the page (a targeted fault cancel) and lets every
/// other item run to completion, then <see cref="MirrorDevice.Run"/> reports the fault.
/// </summary>
/// <param name="Address">The faulting page's virtual address.</param>
/// <param name="Access">What the device tried to do there.</param>
/// <param name="Error">Why it could not be serviced.</param>
/// <param name="Detail">The driver's one-line account of the failed service.</param>
public readonly record struct FatalFault(ulong Address, FaultAccess Access, Errno Error, string Detail)
{
    /// <summary>Whether <paramref name="err"/>, from servicing a device fault, means the access itself is not allowed.</summary>
    public static bool IsFatal(Errno err) => err is Errno.EFAULT or Errno.EPERM;

    /// <summary>"fatal device fault: Atomic at 0x…: …".</summary>
    public override string ToString() => $"fatal device fault: {Access} at 0x{Address:x}: {Detail}";
}
