namespace Testbed.Driver;

/// <summary>What a device access needs from its page-table entry; stronger kinds include the weaker.</summary>
public enum FaultAccess
{
    /// <summary>A load: the entry must be valid.</summary>
    Read = 0,

    /// <summary>A store: valid and writable.</summary>
    Write = 1,

    /// <summary>An atomic read-modify-write: valid, writable and atomic.</summary>
    Atomic = 2,
}
