namespace Testbed.HostMm.Mm;

/// <summary><c>MAP_*</c> flags of <see cref="AddressSpace.Mmap"/>. Every mapping is anonymous.</summary>
[Flags]
public enum MmapFlags
{
    /// <summary>No flag; invalid alone: one of <see cref="Private"/> or <see cref="Shared"/> is required.</summary>
    None = 0,

    /// <summary><c>MAP_PRIVATE</c>: copy-on-write across fork.</summary>
    Private = 1,

    /// <summary><c>MAP_SHARED</c>: one shmem object, shared with the children of a fork.</summary>
    Shared = 2,

    /// <summary><c>MAP_FIXED</c>: map exactly at the address, unmapping whatever was there.</summary>
    Fixed = 4,

    /// <summary><c>MAP_FIXED_NOREPLACE</c>: map exactly at the address; -EEXIST if anything is there.</summary>
    FixedNoReplace = 8,
}
