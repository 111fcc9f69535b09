using Testbed.HostMm.Locking;
using Testbed.HostMm.Memory;

namespace Testbed.HostMm.Mm;

/// <summary>
/// The object behind a shared anonymous mapping (mm/shmem.c): a page cache indexed by page offset,
/// and the VMAs that map it (<c>i_mmap</c>, its reverse map), in the parent and in every forked
/// child. The cache holds one reference on each of its folios, so pages survive
/// <c>MADV_DONTNEED</c> and partial munmaps and are freed when the last VMA is unlinked.
/// </summary>
internal sealed class ShmemObject
{
    private readonly Dictionary<long, Folio> _pages = [];
    private readonly MmLock _lock;
    private readonly PhysicalMemory _memory;

    public ShmemObject(PhysicalMemory memory)
    {
        _memory = memory;
        _lock = new MmLock(memory.Sync, LockClasses.ShmemPages);
        Vmas = new RmapVmas(memory.Sync, LockClasses.ShmemMmap);
    }

    /// <summary>The VMAs mapping the object (<c>i_mmap</c>).</summary>
    public RmapVmas Vmas { get; }

    /// <summary>
    /// <c>shmem_get_folio()</c>: the folio at <paramref name="pgoff"/>, allocated zeroed if absent,
    /// with a reference for the caller. Null when memory is exhausted.
    /// </summary>
    public Folio? GetFolio(long pgoff)
    {
        using (_lock.Enter())
        {
            if (!_pages.TryGetValue(pgoff, out var folio))
            {
                folio = _memory.AllocFolio();
                if (folio is null)
                {
                    return null;
                }

                folio.Mapping = this;
                folio.Index = pgoff;
                _pages.Add(pgoff, folio);
            }

            folio.Get();
            return folio;
        }
    }

    /// <summary>A VMA stops mapping the object; the last one frees the cached pages.</summary>
    public void Unlink(Vma vma)
    {
        if (Vmas.Unlink(vma) != 0)
        {
            return;
        }

        Folio[] folios;
        using (_lock.Enter())
        {
            folios = [.. _pages.Values];
            _pages.Clear();
        }

        foreach (var f in folios)
        {
            f.Put();
        }
    }
}
