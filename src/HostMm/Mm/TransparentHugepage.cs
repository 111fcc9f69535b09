namespace Testbed.HostMm.Mm;

/// <summary>
/// <c>/sys/kernel/mm/transparent_hugepage/enabled</c>: where an anonymous fault may map a 2 MiB
/// transparent huge page with one PMD entry (see <see cref="AddressSpace.HandleMmFault"/>).
/// </summary>
public enum TransparentHugepage
{
    /// <summary><c>never</c>: no THP, whatever the VMA asks.</summary>
    Never,

    /// <summary><c>madvise</c> (the default here, as in most distributions): only in VMAs given <see cref="HugePageAdvice.HugePage"/>.</summary>
    Madvise,

    /// <summary><c>always</c>: in every anonymous VMA not given <see cref="HugePageAdvice.NoHugePage"/>.</summary>
    Always,
}
