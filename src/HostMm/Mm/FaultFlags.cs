namespace Testbed.HostMm.Mm;

/// <summary><c>FAULT_FLAG_*</c> passed to <see cref="AddressSpace.HandleMmFault"/>.</summary>
[Flags]
public enum FaultFlags
{
    /// <summary>A read fault.</summary>
    None = 0,

    /// <summary><c>FAULT_FLAG_WRITE</c>: the access is a write.</summary>
    Write = 1,
}
