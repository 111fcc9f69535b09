namespace Testbed.HostMm.Mm;

/// <summary>What <see cref="AddressSpace.MadviseHugePage"/> records on a VMA: its <c>VM_HUGEPAGE</c> / <c>VM_NOHUGEPAGE</c> flag.</summary>
public enum HugePageAdvice
{
    /// <summary>Neither flag: the system setting (<see cref="TransparentHugepage"/>) decides.</summary>
    Default,

    /// <summary><c>MADV_HUGEPAGE</c>: THP wanted (under <see cref="TransparentHugepage.Madvise"/> or <see cref="TransparentHugepage.Always"/>).</summary>
    HugePage,

    /// <summary><c>MADV_NOHUGEPAGE</c>: no new THP here, even under <see cref="TransparentHugepage.Always"/>; THPs already mapped stay.</summary>
    NoHugePage,
}
