namespace Testbed.HostMm.Mm;

/// <summary>
/// <c>struct vm_area_struct</c>: one anonymous mapping <c>[Start, End)</c> with its protection,
/// private (copy-on-write across fork) or shared (backed by a shmem object). VMAs change only under
/// the mmap lock held for write; readers hold it for read. Adjacent VMAs are not merged
/// (<c>vma_merge</c> is not modelled): a mapping stays as it was made and split.
/// </summary>
public sealed class Vma
{
    internal Vma(AddressSpace mm, ulong start, ulong end, Prot prot, ShmemObject? shmem, AnonVma? anonVma, long pgoff)
    {
        Mm = mm;
        AnonVma = anonVma;
        Start = start;
        End = end;
        Prot = prot;
        Shmem = shmem;
        PgOff = pgoff;
    }

    /// <summary>The address space the VMA belongs to (<c>vm_mm</c>).</summary>
    public AddressSpace Mm { get; }

    /// <summary>First address.</summary>
    public ulong Start { get; internal set; }

    /// <summary>One past the last address.</summary>
    public ulong End { get; internal set; }

    /// <summary>Protection.</summary>
    public Prot Prot { get; internal set; }

    /// <summary>Whether the mapping is <c>MAP_SHARED</c>.</summary>
    public bool IsShared => Shmem is not null;

    /// <summary>The VMA's THP flag (<c>VM_HUGEPAGE</c> / <c>VM_NOHUGEPAGE</c>), set by <see cref="AddressSpace.MadviseHugePage"/> and kept by splits and fork.</summary>
    public HugePageAdvice HugePage { get; internal set; }

    /// <summary>Whether the VMA allows writes (<c>VM_WRITE</c>).</summary>
    public bool Writable => (Prot & Prot.Write) != 0;

    /// <summary>Length in bytes.</summary>
    public ulong Length => End - Start;

    /// <summary>Whether the VMA is anonymous in the kernel's sense (<c>vma_is_anonymous()</c>): private. Shared anonymous memory is shmem-backed.</summary>
    public bool IsAnonymous => AnonVma is not null;

    /// <summary>The shmem object of a shared mapping.</summary>
    internal ShmemObject? Shmem { get; }

    /// <summary>The reverse map of a private mapping.</summary>
    internal AnonVma? AnonVma { get; }

    /// <summary>The reverse map this VMA is linked into: the anon_vma or the shmem object's VMA list.</summary>
    internal RmapVmas Rmap => (RmapVmas?)AnonVma ?? Shmem!.Vmas;

    /// <summary>The page index a folio mapped at <paramref name="va"/> gets (<c>linear_page_index()</c>).</summary>
    internal long LinearPageIndex(ulong va) => PgOff + (long)((va - Start) >> Mm.PageShift);

    /// <summary>Page offset of <see cref="Start"/> (<c>vm_pgoff</c>): in the shmem object, or the virtual page number at mmap for anonymous memory.</summary>
    internal long PgOff { get; set; }

    /// <summary>Whether an access of this kind is allowed (<c>access_error()</c> inverted).</summary>
    public bool Permits(bool write) => write ? Writable : Prot != Prot.None;

    /// <inheritdoc/>
    public override string ToString() => $"[{Start:x}, {End:x}) {Prot} {(IsShared ? "shared" : "private")}";
}
