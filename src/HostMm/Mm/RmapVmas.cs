using Testbed.HostMm.Locking;

namespace Testbed.HostMm.Mm;

/// <summary>
/// The VMAs a reverse-map walk visits: the anon_vma chain of anonymous memory, <c>i_mmap</c> of a
/// shmem object. Walks work on a snapshot of the list, so the callbacks they fire run without this
/// lock; a VMA unmapped meanwhile is harmless because its PTEs no longer map the folio.
/// </summary>
internal class RmapVmas(SyncDomain sync, LockClass cls)
{
    private readonly MmLock _lock = new(sync, cls);
    private Vma[] _vmas = [];

    public void Link(Vma vma)
    {
        using (_lock.Enter())
        {
            _vmas = [.. _vmas, vma];
        }
    }

    /// <summary>Unlinks <paramref name="vma"/>; returns how many remain.</summary>
    public int Unlink(Vma vma)
    {
        using (_lock.Enter())
        {
            _vmas = [.. _vmas.Where(v => v != vma)];
            return _vmas.Length;
        }
    }

    public Vma[] Snapshot()
    {
        using (_lock.Enter())
        {
            return _vmas;
        }
    }
}
