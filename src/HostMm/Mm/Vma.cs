namespace Testbed.HostMm.Mm;

/// <summary>
/// <c>struct vm_area_struct</c>: one anonymous mapping <c>[Start, End)</c> with its protection,
/// private (copy-on-write across fork) or shared (backed by a shmem object). VMAs change only under
/// the mmap lock held for write; readers hold it for read. Adjacent VMAs are not merged
/// (<c>vma_merge</c> is not modelled): a mapping stays as it was made and split.
/// </summary>
public sealed class Vma
{
    internal Vma(ulong start, ulong end, Prot prot, ShmemObject? shmem, long pgoff)
    {
        Start = start;
        End = end;
        Prot = prot;
        Shmem = shmem;
        PgOff = pgoff;
    }

    /// <summary>First address.</summary>
    public ulong Start { get; internal set; }

    /// <summary>One past the last address.</summary>
    public ulong End { get; internal set; }

    /// <summary>Protection.</summary>
    public Prot Prot { get; internal set; }

    /// <summary>Whether the mapping is <c>MAP_SHARED</c>.</summary>
    public bool IsShared => Shmem is not null;

    /// <summary>Whether the VMA allows writes (<c>VM_WRITE</c>).</summary>
    public bool Writable => (Prot & Prot.Write) != 0;

    /// <summary>Length in bytes.</summary>
    public ulong Length => End - Start;

    /// <summary>The shmem object of a shared mapping.</summary>
    internal ShmemObject? Shmem { get; }

    /// <summary>Page offset of <see cref="Start"/> in the shmem object (<c>vm_pgoff</c>).</summary>
    internal long PgOff { get; set; }

    /// <summary>Whether an access of this kind is allowed (<c>access_error()</c> inverted).</summary>
    public bool Permits(bool write) => write ? Writable : Prot != Prot.None;

    /// <inheritdoc/>
    public override string ToString() => $"[{Start:x}, {End:x}) {Prot} {(IsShared ? "shared" : "private")}";
}
