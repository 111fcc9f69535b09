namespace Testbed.HostMm.Hmm;

/// <summary>
/// <c>enum hmm_pfn_flags</c> (include/linux/hmm.h): the encoding of <see cref="HmmRange.HmmPfns"/>.
/// Output: a frame number in the low bits, <see cref="Valid"/>, <see cref="Write"/>,
/// <see cref="Error"/> and an order. Input: the request flags <see cref="ReqFault"/> and
/// <see cref="ReqWrite"/>, which share the bits of <see cref="Valid"/> and <see cref="Write"/>.
/// </summary>
public static class HmmPfn
{
    /// <summary>The entry maps a page the device may read.</summary>
    public const ulong Valid = 1UL << 63;

    /// <summary>The device may also write it.</summary>
    public const ulong Write = 1UL << 62;

    /// <summary>The address cannot be mirrored (no VMA, no read permission, or a special entry).</summary>
    public const ulong Error = 1UL << 61;

    /// <summary>Where the mapping order starts (5 bits).</summary>
    public const int OrderShift = 53;

    /// <summary>Input: fault the page in if it is not valid for the CPU.</summary>
    public const ulong ReqFault = Valid;

    /// <summary>Input: fault it in writable.</summary>
    public const ulong ReqWrite = Write;

    /// <summary>Every flag bit (<c>HMM_PFN_FLAGS</c>): all bits from the order up.</summary>
    public const ulong Flags = ~((1UL << OrderShift) - 1);

    /// <summary>The frame number of an output entry.</summary>
    public static long ToPfn(ulong entry) => (long)(entry & ~Flags);

    /// <summary><c>hmm_pfn_to_map_order()</c>: log2 of the pages the CPU maps with one entry there (9 under a huge PMD, else 0).</summary>
    public static int Order(ulong entry) => (int)((entry >> OrderShift) & 0x1F);
}
